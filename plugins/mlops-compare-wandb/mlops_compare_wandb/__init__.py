"""The exam through Weights & Biases 0.31 offline: a runner plugin of mlops-compare (docs/runners.md).

No account, no API key, no network: ``WANDB_MODE=offline`` makes every run a folder
``wandb/offline-run-*`` in the workspace with its transaction log (``run-<id>.wandb``),
written by W&B's own service process (``wandb-core``, a Go binary). The runner reads the
runs back from those files through W&B's own reader (``wandb leet inspect --summary
--json``), shows them in W&B's terminal viewer (``wandb leet``) inside a tmux pane, and
keeps that screen as text and as a PNG. W&B's web UI needs the hosted service or the
W&B Server image (not open source, a licence key); neither is used.

Checks measured: setup, grid, retrieve, models (artifacts logged offline, found through
the run's record), reproduce (a run's config from its log, re-run), ui (``wandb leet``), cost (plus the sockets of ``wandb-core``, which the
Python audit hook cannot see). This plugin has no method for data_versioning,
fan_out, failure, share, languages, remote_storage, large_data and hpc: each is ``skip``
"not implemented by this runner" (docs/runners.md, section 3) and the expert rating stands.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import pickle
import shutil
import sys
import threading
import time
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.checks import ui as browser
from mlops_compare.runners.checks.operations import metrics_shown
from mlops_compare.runners.context import CommandError, Context

PROJECT = "elasticnet-exam"
LEET_SECONDS = 90.0  # at most, for `wandb leet` to read the runs and draw them
RUNS_OPENED = 3  # runs shown one by one with their summary (each is a new `wandb leet`)
SIZE = (160, 48)  # the terminal's columns and rows


# The runner's own instruments among its child processes, by executable: Chromium takes the ui
# check's pictures (the browsers `ui` looks for; Google's binary is `chrome`) and tmux gives
# `wandb leet` its terminal. What they connect to is not W&B's.
INSTRUMENTS = frozenset({*browser.BROWSERS, "chrome", "tmux"})


def _instrument(exe: str) -> bool:
    return os.path.basename(exe) in INSTRUMENTS


class CoreSockets:
    """Samples the sockets of this process's children (W&B's Go `wandb-core`) while it runs.

    Each remote address is kept with the names of the processes that held it; those of the
    runner's own instruments (`INSTRUMENTS`, told by their executable: Chromium's helpers are
    named ``exe``) apart from W&B's.
    """

    def __init__(self) -> None:
        self.samples = 0
        self.remote: dict[str, set[str]] = {}  # "ip:port" -> W&B's (or Python's) processes that held it
        self.instruments: dict[str, set[str]] = {}  # the same for Chromium and tmux
        self.processes: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wandb-core-sockets", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            try:
                for child in me.children(recursive=True):
                    name = child.name()
                    self.processes.add(name)
                    try:
                        exe = child.exe()  # the link /proc/PID/exe, resolved: Chromium's helpers too
                    except psutil.Error:
                        exe = ""
                    held = self.instruments if _instrument(exe) else self.remote
                    for conn in child.net_connections(kind="inet"):
                        if conn.raddr and not str(conn.raddr.ip).startswith(("127.", "::1")):
                            held.setdefault(f"{conn.raddr.ip}:{conn.raddr.port}", set()).add(name)
                self.samples += 1
            except Exception:  # a child that ended between listing and reading
                pass
            self._stop.wait(0.2)


def _held(found: dict[str, set[str]]) -> str:
    return ", ".join(f"{address} (by {', '.join(sorted(names))})" for address, names in sorted(found.items()))


class WandbRunner(Runner):
    name = "wandb"
    typical_seconds = 18.0  # its wall time in the default exam of 2026-12-06 02:53 (README)
    requires = ("wandb",)
    requirements = ("wandb==0.31.*",)  # its tool environment (core/envs.py)
    install = "pip install 'wandb==0.31.*' ./plugins/mlops-compare-wandb"
    distribution = "wandb"
    example = "example"
    example_package = "mlops_compare_wandb"
    process_setup = "in-process"
    commands = ("export WANDB_MODE=offline", "python train.py ALPHA L1_RATIO", "wandb leet ./wandb")
    config_files = ("home/.netrc", "home/.config/wandb/settings", "wandb/settings")
    env_prefixes = ("WANDB_",)

    def __init__(self) -> None:
        super().__init__()
        self.run_dirs: dict[str, Path] = {}  # point key -> offline run folder
        self.logged: dict[str, dict[str, float]] = {}
        self.sockets = CoreSockets()
        self.tmux_servers = 0  # how many tmux servers leet() started (one socket each)

    # --- helpers ---------------------------------------------------------------------
    @staticmethod
    def wandb_dir(ctx: Context) -> Path:
        return ctx.workspace / "wandb"

    def store_paths(self, ctx: Context) -> list[Path]:
        return [self.wandb_dir(ctx)]

    @staticmethod
    def cli() -> str:
        found = Path(sys.executable).parent / "wandb"  # the console script of this environment
        return str(found) if found.exists() else "wandb"

    def inspect(self, ctx: Context, run_dir: Path, *extra: str) -> str:
        return ctx.run([self.cli(), "leet", "inspect", *extra, "--json", str(run_dir)], output="capture", timeout=120)

    # --- checks ----------------------------------------------------------------------
    def setup(self, ctx: Context) -> Outcome:
        start = time.perf_counter()
        os.environ["WANDB_MODE"] = "offline"  # as the docs teach: no account, runs stay on disk
        for name in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY"):  # nothing to log in with
            os.environ.pop(name, None)
        os.environ.setdefault("WANDB_DIR", str(ctx.workspace))
        files = ctx.copy_example(self.example_dir())
        import wandb

        core = Path(wandb.__file__).parent / "bin" / "wandb-core"
        self.sockets.start()  # for cost: wandb-core is not Python, the audit hook cannot see it
        seconds = time.perf_counter() - start
        evidence = (
            f"wandb {wandb.__version__}; copied {', '.join(files)}; WANDB_MODE=offline, no API key, no login; runs "
            f"go to wandb/offline-run-* in the workspace, written by {core.name} (W&B's Go service, "
            f"{'present' if core.exists() else 'missing'}); nothing to initialise, no server; {seconds:.1f} s"
        )
        return Outcome("pass", evidence, {"version": wandb.__version__, "files": len(files), "servers": 0})

    def grid(self, ctx: Context) -> Outcome:
        train = ctx.load_module(ctx.workspace / "train.py", "_mlops_compare_wandb_train").train
        latest = self.wandb_dir(ctx) / "latest-run"
        for k, point in enumerate(ctx.points, 1):
            metrics = train(point["alpha"], point["l1_ratio"])
            key = common.point_key(**point)
            self.run_dirs[key], self.logged[key] = latest.resolve(), metrics
            ctx.metric(point["alpha"], point["l1_ratio"], metrics)
            ctx.progress(k, len(ctx.points), "grid")
        n = len(ctx.points)
        folders = len(set(self.run_dirs.values()))
        return Outcome(
            "pass",
            f"{n} W&B runs in project {PROJECT!r}, one per point (wandb.init with the parameters as config, run.log "
            f"of rmse/mae/r2, run.finish), offline: {folders} folders wandb/offline-run-*",
            {"points": n, "runs": folders},
        )

    def retrieve(self, ctx: Context) -> Outcome:
        runs = sorted(self.wandb_dir(ctx).glob("offline-run-*"))
        param_errors = metric_errors = 0
        found = 0
        for run_dir in runs:
            record = json.loads(self.inspect(ctx, run_dir, "--summary"))
            if record.get("project") != PROJECT:
                continue
            found += 1
            config, summary = record["config"], record["summary"]
            key = common.point_key(float(config["alpha"]), float(config["l1_ratio"]))
            if self.run_dirs.get(key) != run_dir.resolve():
                param_errors += 1
                continue
            self.retrieved[key] = {k: float(summary[k]) for k in ("rmse", "mae", "r2")}
            metric_errors += self.retrieved[key] != self.logged[key]
        numbers = {
            "runs": found,
            "param_mismatches": param_errors,
            "metric_mismatches": metric_errors,
            "servers": 0,
        }
        evidence = (
            f"{found} of {len(self.run_dirs)} offline runs read back from their transaction logs "
            f"(wandb/offline-run-*/run-*.wandb) with W&B's own reader `wandb leet inspect --summary --json`: "
            f"config (alpha, l1_ratio) and summary metrics; {param_errors} parameter and {metric_errors} metric "
            "mismatch(es) with what train() logged; no server, no account (wandb.Api needs the hosted service)"
        )
        ok = found == len(self.run_dirs) and not param_errors and not metric_errors
        return Outcome("pass" if ok else "fail", evidence, numbers)

    def reproduce(self, ctx: Context) -> Outcome:
        key, run_dir = next(iter(self.run_dirs.items()))
        record = json.loads(self.inspect(ctx, run_dir, "--summary"))
        config, summary = record["config"], record["summary"]
        train = ctx.load_module(ctx.workspace / "train.py", "_mlops_compare_wandb_again").train
        again = train(float(config["alpha"]), float(config["l1_ratio"]))
        same = all(float(summary[k]) == again[k] for k in ("rmse", "mae", "r2"))
        files = sorted(p.name for p in (run_dir / "files").iterdir()) if (run_dir / "files").is_dir() else []
        evidence = (
            f"run {record['run_id']}: config {config} read from its offline log (`wandb leet inspect --summary "
            f"--json`), train() run again with it: metrics {'identical' if same else 'DIFFERENT'} to the run's "
            f"summary; the offline run keeps {', '.join(files) or 'no files'} beside the log, not the data or "
            "the script (code saving is off by default), so the rest of the record comes from outside the tool"
        )
        return Outcome("partial" if same else "fail", evidence, {"identical": int(same)})

    def models(self, ctx: Context) -> Outcome:
        import numpy as np
        import wandb
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        candidates = {
            "elasticnet": ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=seed),
            "decision_tree": DecisionTreeRegressor(random_state=seed),
        }
        folder = ctx.workspace / "models"
        folder.mkdir(exist_ok=True)
        expected = {}
        run = wandb.init(project=PROJECT, job_type="models")
        for name, model in candidates.items():
            model.fit(train_x, train_y)
            expected[name] = np.asarray(model.predict(test_x)).ravel()
            path = folder / f"{name}.pkl"
            path.write_bytes(pickle.dumps(model))
            artifact = wandb.Artifact(name, type="model")
            artifact.add_file(str(path))
            run.log_artifact(artifact)
        run.finish()
        run_dir = (self.wandb_dir(ctx) / "latest-run").resolve()
        shutil.rmtree(folder)  # what comes back must come from W&B's side
        records = [json.loads(line) for line in self.inspect(ctx, run_dir).splitlines() if line.startswith("{")]
        artifacts = [r["artifact"] for r in records if r.get("type") == "artifact"]
        lines, same_all = [], True
        for artifact in artifacts:
            [entry] = artifact["manifest"]["contents"]
            staged = Path(entry["local_path"])
            digest = base64.b64encode(hashlib.md5(staged.read_bytes()).digest()).decode()
            model = pickle.loads(staged.read_bytes())
            same = digest == entry["digest"] and np.array_equal(
                np.asarray(model.predict(test_x)).ravel(), expected[artifact["name"]]
            )
            same_all &= bool(same)
            lines.append(
                f"{artifact['name']} ({artifact['type']}, {entry['path']}, md5 {'matches' if digest == entry['digest'] else 'DIFFERS'}) "
                f"-> {'identical' if same else 'DIFFERENT'} predictions on {len(test_x)} test rows"
            )
        evidence = (
            f"wandb.Artifact(type='model') + run.log_artifact for two models, offline: {len(artifacts)} artifact "
            f"record(s) in the run's log (`wandb leet inspect --json`), files from W&B's staging folder "
            f"(<workspace>/home/.local/share/wandb/artifacts/staging) by the manifest's local_path: "
            + "; ".join(lines)
            + "; use_artifact/Artifact.download need the server (after `wandb sync`), so the load is by hand; "
            "no serving of its own"
        )
        if len(artifacts) != 2 or not same_all:
            return Outcome("fail", evidence, {"models": len(artifacts)})
        return Outcome("partial", evidence, {"models": len(artifacts)})

    def leet(self, ctx: Context, path: Path, until: str) -> tuple[str, float]:
        """`wandb leet PATH` in a new tmux pane; the screen once it shows *until* (or at the time limit), seconds."""
        # a new tmux server (socket) per call: kill-server returns before the old server is gone,
        # and a client reaching the dying one fails with "server exited unexpectedly" (seen in CI)
        self.tmux_servers += 1
        sock = ctx.workspace / "tmp" / f"tmux-{self.tmux_servers}.sock"
        sock.parent.mkdir(exist_ok=True)
        base = [str(shutil.which("tmux")), "-S", str(sock)]
        command = f"{self.cli()} leet {path}"
        ctx.run([*base, "new-session", "-d", "-x", str(SIZE[0]), "-y", str(SIZE[1]), command], timeout=60)
        start = time.monotonic()
        try:
            while True:
                time.sleep(1.0)
                screen = ctx.run([*base, "capture-pane", "-p", "-t", "0"], output="capture", timeout=30)
                if until in screen or time.monotonic() - start > LEET_SECONDS:
                    return screen, time.monotonic() - start
        finally:
            ctx.run([*base, "kill-server"], check=False, timeout=30)

    def ui(self, ctx: Context) -> Outcome:
        if shutil.which("tmux") is None:
            return Outcome("skip", "no tmux to give `wandb leet` a terminal: apt-get install tmux")
        out = ctx.workspace / "ui"
        out.mkdir(exist_ok=True)
        listing, seconds = self.leet(ctx, self.wandb_dir(ctx), "Runs [")
        # the run list shows each folder's name cut to its first characters (date, time, id's start)
        names = [d.name[:31] for d in self.run_dirs.values()]
        listed = sum(name in listing for name in names)
        opened = list(self.run_dirs.items())[:RUNS_OPENED]  # `wandb leet RUN_DIR`: that run's charts and summary
        screens = [listing]
        found = 0
        for key, run_dir in opened:
            screen, _ = self.leet(ctx, run_dir, "Summary [")
            screens.append(screen)
            found += metrics_shown({key: self.logged[key]}, screen)[0]
        (out / "wandb-leet.txt").write_text(("\n" + "-" * SIZE[0] + "\n").join(screens))
        png = ""
        if browser.find() is not None:  # the same screens as pictures: the text in a page, Chromium's screenshot
            for name, text in (("wandb-leet", listing), ("wandb-leet-run", screens[-1])):
                page = out / f"{name}.html"
                page.write_text(
                    "<html><body style='background:#111;color:#ddd;margin:8px'><pre style='font:13px monospace'>"
                    + html.escape(text)
                    + "</pre></body></html>"
                )
                try:
                    browser.capture(ctx, page.as_uri(), out / f"{name}.png", size=(1400, 900))
                    png += f", ui/{name}.png"
                except CommandError as exc:
                    ctx.log(f"no PNG of the terminal: {exc}")
        numbers = {"runs_listed": listed, "runs": len(names), "runs_opened": len(opened), "runs_with_metrics": found}
        evidence = (
            f"`wandb leet ./wandb` (W&B's terminal viewer) in a {SIZE[0]}x{SIZE[1]} tmux pane: {listed} of "
            f"{len(names)} grid runs listed (drawn after {seconds:.0f} s); `wandb leet <run folder>` for "
            f"{len(opened)} of them: rmse, mae and r2 in the run's Summary (beside its charts) for {found}; "
            f"screens in ui/wandb-leet.txt{png}; the web UI needs the hosted service or W&B Server "
            "(not open source, licence key), not used"
        )
        if listed == len(names) and found == len(opened):
            return Outcome("pass", evidence, numbers)
        return Outcome("partial" if listed or found else "fail", evidence, numbers)

    def cost(self, ctx: Context) -> Outcome:
        self.sockets.stop()
        outcome = super().cost(ctx)
        remote, ours = self.sockets.remote, self.sockets.instruments
        outcome.evidence += (
            f"; the runner's child processes ({', '.join(sorted(self.sockets.processes)) or 'none seen'}; wandb-core "
            f"is Go, not seen by the audit hook) sampled {self.sockets.samples} times every 0.2 s from setup on: "
            + (f"connected to {_held(remote)}" if remote else "no connection to any host but loopback")
            + (
                f" (the runner's own Chromium and tmux, not W&B, connected to {_held(ours)}: not counted)"
                if ours
                else ""
            )
            + "; no prompt for an API key (WANDB_MODE=offline)"
        )
        outcome.numbers["core_samples"] = self.sockets.samples
        outcome.numbers["core_remote_hosts"] = len(remote)
        outcome.numbers["instrument_remote_hosts"] = len(ours)
        if remote and outcome.status == "pass":
            outcome.status = "partial"
        return outcome
