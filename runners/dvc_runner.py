"""The DVC runner: the exam as a DVC pipeline in a git repository, the way DVC's docs teach it.

The workspace becomes a git + DVC repository; ``train.py`` is one stage in ``dvc.yaml``
(deps, params from ``params.yaml``, the model as a cached output, ``metrics.json`` as an
uncached metric). The grid is queued as experiments (``dvc exp run --queue -S ...``, one
sweep command) and run by DVC's own queue workers (``dvc queue start -j 2``); results are
read back with ``dvc exp show --json``. Models and data are versioned by DVC's cache and
pointer files in git, and read back with ``dvc.api.open`` / ``dvc checkout``.

DVC's queue workers detach into their own process groups (dvc-task's ``setpgid``), so the
launcher's process-group kill would not reach them: this runner stops them itself and
kills by pid any process still running inside the workspace before it reports a result.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlops_compare.example import common
from mlops_compare.runners.base import Context, Outcome, Runner

METRICS = ("rmse", "mae", "r2")
JOBS = 2  # queue workers: the machine the study used has two cores
QUEUE_TIMEOUT = (120.0, 60.0)  # give up on the queue after 120 s + 60 s per grid point
IGNORED = ("/home/", "/tmp/", "/_plain/")  # launcher/runner folders kept out of git
VAR_TMP = Path("/var/tmp")
SITE_CACHE = Path(".dvc") / "tmp" / "site_cache"  # DVC's site cache, moved inside the workspace


def _tool_env() -> dict[str, str]:
    """Run the `dvc` of this interpreter (queue workers call `dvc` from PATH too)."""
    bindir = str(Path(sys.executable).parent)
    return {"PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


def _var_tmp_snapshot() -> set[str]:
    """Every path under /var/tmp/dvc (DVC's default site cache dir on Linux)."""
    root = VAR_TMP / "dvc"
    if not root.exists():
        return set()
    return {str(p) for p in [root, *root.rglob("*")]}


def _site_cache_leaks(workspace: Path, before: set[str]) -> tuple[int, int]:
    """New paths under /var/tmp/dvc since *before*: (all of them, those of this workspace's repos).

    Other DVC users on the machine may write there too; DVC names each repository's folder
    by a token, and the tokens of this workspace's repos are the folders DVC made in the
    site cache dir configured inside the workspace.
    """
    new = _var_tmp_snapshot() - before
    mine_dir = workspace / SITE_CACHE / "repo"
    tokens = {p.name for p in mine_dir.iterdir()} if mine_dir.is_dir() else set()
    mine = {p for p in new if any(f"/repo/{t}" in p for t in tokens)}
    return len(new), len(mine)


def _stat(pid: int | str) -> tuple[int, int]:
    """(parent pid, start time in clock ticks since boot) of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[19])


def _workspace_processes(workspace: Path) -> list[int]:
    """Processes this runner left behind: started after it, not its ancestors, working inside the workspace.

    DVC's queue workers and the experiments they run detach from the runner (new process
    groups, re-parented), so they are found by their working directory instead.
    """
    me = os.getpid()
    ancestors, pid = {me}, me
    while pid > 1:
        try:
            pid = _stat(pid)[0]
        except (OSError, ValueError, IndexError):
            break
        ancestors.add(pid)
    my_start = _stat(me)[1]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ancestors:
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            started = _stat(entry.name)[1]
        except (OSError, ValueError, IndexError):
            continue
        if started >= my_start and (cwd == workspace or workspace in cwd.parents):
            found.append(int(entry.name))
    return found


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(float(a[m]) == float(b[m]) for m in METRICS)


EXP_SHOW_TIMEOUT = 60  # seconds for one `dvc exp show --json`


class DvcRunner(Runner):
    name = "dvc"
    requires = ("dvc",)
    install = "pip install dvc"
    example = "dvc"
    process_setup = "subprocess"
    commands = (
        "git init && dvc init",
        "dvc add data.csv && git add . && git commit",
        "dvc exp run --queue -S alpha=A1,A2,... -S l1_ratio=L1,L2,...",
        "dvc queue start -j 2",
        "dvc exp show --json",
        "dvc add tree.pkl",
        "dvc repro",
        "git checkout REV -- data.csv.dvc && dvc checkout data.csv",
        "dvc exp apply NAME",
    )

    def __init__(self) -> None:
        super().__init__()
        self.v1_rev = ""
        self.var_tmp_before: set[str] = set()
        self.queued: list[str] = []
        self.experiments: dict[str, dict[str, Any]] = {}  # point_key -> {name, rev, params, metrics}

    # --- helpers ---------------------------------------------------------------------
    def _dvc(self, ctx: Context, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        return ctx.run(["dvc", *args], env={**_tool_env(), **(env or {})}, check=check)

    def _git(self, ctx: Context, *args: str) -> str:
        return ctx.run(["git", *args])

    def _git_out(self, ctx: Context, *args: str) -> str:
        """A quiet git query (not logged line by line)."""
        return subprocess.run(
            ["git", *args], cwd=ctx.workspace, check=True, capture_output=True, text=True
        ).stdout.strip()

    def _queue_start(self, ctx: Context) -> None:
        """`dvc queue start -j N`, its output through a file: the workers it forks inherit the
        command's stdout, so a pipe (as ctx.run uses) would stay open until they exit."""
        argv = ["dvc", "queue", "start", "-j", str(JOBS)]
        ctx.log("$ " + " ".join(argv))
        out = ctx.workspace / ".dvc" / "tmp" / "queue-start.out"
        with open(out, "wb") as handle:
            code = subprocess.run(
                argv,
                cwd=ctx.workspace,
                env={**os.environ, **_tool_env()},
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            ).returncode
        text = out.read_text(errors="replace")
        for line in text.splitlines():
            ctx.emitter.log(line, stream="stdout")
        if code != 0:
            raise RuntimeError(f"`dvc queue start` exited with {code}: {text.strip()[-300:]}")

    def _exp_show(self, ctx: Context, *extra: str) -> list[dict[str, Any]]:
        """`dvc exp show --json` parsed; the command is logged, its (long) JSON is not."""
        argv = ["dvc", "exp", "show", "--json", *extra]
        ctx.log("$ " + " ".join(argv))
        proc = subprocess.run(
            argv,
            cwd=ctx.workspace,
            env={**os.environ, **_tool_env()},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=EXP_SHOW_TIMEOUT,  # seen once: stuck on a lock held by a queue worker
        )
        for line in proc.stderr.splitlines():
            ctx.emitter.log(line, stream="stderr")
        if proc.returncode != 0:
            raise RuntimeError(f"`dvc exp show --json` exited with {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return json.loads(proc.stdout)

    @staticmethod
    def _experiments(show: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Flatten `dvc exp show --json`: one dict per experiment under any baseline commit."""
        out = []
        for baseline in show:
            for exp in baseline.get("experiments") or []:
                executor = exp.get("executor") or {}
                for rev in exp.get("revs") or []:
                    data = rev.get("data") or {}
                    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
                    metrics = ((data.get("metrics") or {}).get("metrics.json") or {}).get("data") or {}
                    out.append(
                        {
                            "name": rev.get("name") or exp.get("name"),
                            "rev": rev.get("rev"),
                            "baseline": baseline.get("rev"),
                            "state": executor.get("state") or "success",
                            "params": params,
                            "metrics": metrics,
                            "deps": data.get("deps") or {},
                            "outs": data.get("outs") or {},
                        }
                    )
        return out

    def _exp_refs(self, ctx: Context) -> set[str]:
        """Experiment refs (refs/exps/<xx>/<baseline>/<name>): cheap to poll, no DVC start-up."""
        text = self._git_out(ctx, "for-each-ref", "--format=%(refname)", "refs/exps")
        return {ref for ref in text.splitlines() if len(ref.split("/")) == 5}

    def _stop_queue(self, ctx: Context, kill: bool = False) -> dict[str, int]:
        """Stop DVC's queue workers and make sure no process is left running in the workspace."""
        left = _workspace_processes(ctx.workspace)
        numbers = {"processes_found": len(left), "killed": 0}
        if left:
            self._dvc(ctx, "queue", "stop", *(["--kill"] if kill else []), check=False)
            deadline = time.monotonic() + 20
            while (left := _workspace_processes(ctx.workspace)) and time.monotonic() < deadline:
                time.sleep(0.5)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for pid in left:
                    try:
                        os.kill(pid, sig)
                        numbers["killed"] += sig == signal.SIGTERM
                    except ProcessLookupError:
                        pass
                if left:
                    time.sleep(2)
                left = _workspace_processes(ctx.workspace)
        numbers["processes_left"] = len(left)
        return numbers

    def _metrics_file(self, ctx: Context) -> dict[str, float]:
        return json.loads((ctx.workspace / "metrics.json").read_text())

    def _reap(self, ctx: Context) -> None:
        """SIGKILL, by pid, whatever this runner left running in the workspace (no time for DVC)."""
        for pid in _workspace_processes(ctx.workspace):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def run_exam(self, ctx: Context) -> str:
        # The launcher ends a run (timeout, cancel) with SIGTERM to our process group, which
        # DVC's detached queue workers are not in: reap them before going.
        def on_term(signum: int, frame: Any) -> None:
            self._reap(ctx)
            raise SystemExit(128 + signum)

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            return super().run_exam(ctx)
        finally:
            signal.signal(signal.SIGTERM, previous)
            numbers = self._stop_queue(ctx, kill=True)
            ctx.log(f"dvc runner cleanup: {numbers}")

    # --- checks ----------------------------------------------------------------------
    def setup(self, ctx: Context) -> Outcome:
        start = time.perf_counter()
        self.var_tmp_before = _var_tmp_snapshot()
        files = ctx.copy_example("dvc")
        site_cache = ctx.workspace / SITE_CACHE
        self._git(ctx, "init", "-q")
        with open(ctx.workspace / ".git" / "info" / "exclude", "a") as handle:
            handle.write("".join(f"{p}\n" for p in IGNORED))
        # `dvc init` itself touches the site cache dir before any config exists: point it in.
        self._dvc(ctx, "init", "-q", env={"DVC_SITE_CACHE_DIR": str(site_cache)})
        self._dvc(ctx, "config", "--local", "core.analytics", "false")
        self._dvc(ctx, "config", "--local", "core.site_cache_dir", str(site_cache))
        self._dvc(ctx, "add", "-q", common.DATA_FILE)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "exam v1: code, pipeline, data pointer")
        self.v1_rev = self._git_out(ctx, "rev-parse", "HEAD")
        tracked = self._git_out(ctx, "ls-files").splitlines()
        leaks, mine = _site_cache_leaks(ctx.workspace, self.var_tmp_before)
        seconds = time.perf_counter() - start
        evidence = (
            f"dvc {self.tool_version()}: git init + dvc init (.dvc/, .dvcignore); in .dvc/config.local "
            f"core.analytics=false and core.site_cache_dir={site_cache.relative_to(ctx.workspace)}; "
            f"dvc add data.csv (data.csv.dvc + .gitignore); 1 git commit of {len(tracked)} files "
            f"({', '.join(tracked)}); copied {', '.join(files)}; 5 commands (git init, dvc init, dvc add, git add, "
            f"git commit) + 2 `dvc config` for isolation, {seconds:.1f} s; "
            f"new paths under /var/tmp/dvc: {mine} from this workspace ({leaks} in all)"
        )
        numbers = {"commands": 5, "git_files": len(tracked), "var_tmp_new": leaks, "var_tmp_mine": mine}
        return Outcome("pass", evidence, numbers)

    def grid(self, ctx: Context) -> Outcome:
        alphas = list(dict.fromkeys(float(p["alpha"]) for p in ctx.points))
        ratios = list(dict.fromkeys(float(p["l1_ratio"]) for p in ctx.points))
        start = time.perf_counter()
        # One sweep command queues the whole grid (DVC's Hydra-style "-S key=v1,v2" syntax).
        out = self._dvc(
            ctx,
            "exp",
            "run",
            "--queue",
            "-S",
            "alpha=" + ",".join(map(repr, alphas)),
            "-S",
            "l1_ratio=" + ",".join(map(repr, ratios)),
        )
        self.queued = re.findall(r"Queued experiment '([^']+)'", out)
        queue_seconds = time.perf_counter() - start
        n = len(ctx.points)
        if len(self.queued) != n:
            return Outcome("fail", f"queued {len(self.queued)} experiment(s) for {n} grid points")
        ctx.progress(0, n, "grid")
        self._queue_start(ctx)
        landed: set[str] = set()
        failed: set[str] = set()
        refs_seen: set[str] = set()
        last_show = time.monotonic()
        polls = 0
        limit = QUEUE_TIMEOUT[0] + QUEUE_TIMEOUT[1] * n
        deadline = time.monotonic() + limit
        no_metrics: dict[str, int] = {}
        try:
            while len(landed) + len(failed) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the queue did not finish in {limit:g} s")
                refs = self._exp_refs(ctx)
                if refs == refs_seen and time.monotonic() - last_show < 10:
                    time.sleep(0.5)
                    continue
                refs_seen = refs
                last_show = time.monotonic()
                polls += 1
                try:
                    shown = self._exp_show(ctx)
                except subprocess.TimeoutExpired:
                    ctx.log(f"exp show took over {EXP_SHOW_TIMEOUT} s (a queue worker holds a lock?); polling again")
                    continue
                except RuntimeError as exc:
                    # While the queue runs, `exp show` can race a worker removing its temporary
                    # copy (.dvc/tmp/exps/...: "No such file or directory"); poll again.
                    if "No such file or directory" not in str(exc):
                        raise
                    ctx.log(f"exp show raced the queue ({exc}); polling again")
                    time.sleep(0.5)
                    continue
                for exp in self._experiments(shown):
                    name = exp["name"]
                    if name not in self.queued or name in landed or name in failed:
                        continue
                    if exp["state"] == "failed":
                        failed.add(name)
                    elif exp["state"] == "success" and not exp["metrics"]:
                        no_metrics[name] = no_metrics.get(name, 0) + 1
                        if no_metrics[name] > 1:  # seen twice: the stage wrote no readable metrics.json
                            failed.add(name)
                    elif exp["state"] == "success" and exp["metrics"]:
                        landed.add(name)
                        point = {"alpha": float(exp["params"]["alpha"]), "l1_ratio": float(exp["params"]["l1_ratio"])}
                        ctx.metric(point["alpha"], point["l1_ratio"], exp["metrics"])
                        ctx.progress(len(landed), n, "grid")
        except BaseException:
            self._stop_queue(ctx, kill=True)
            raise
        seconds = time.perf_counter() - start
        idle = len(_workspace_processes(ctx.workspace))
        numbers = {
            "points": n,
            "succeeded": len(landed),
            "failed": len(failed),
            "jobs": JOBS,
            "queue_seconds": round(queue_seconds, 2),
            "seconds": round(seconds, 2),
            "exp_show_polls": polls,
            "worker_processes_idle": idle,
        }
        evidence = (
            f"{n} points queued with one `dvc exp run --queue -S alpha=... -S l1_ratio=...` sweep "
            f"({queue_seconds:.1f} s), run by `dvc queue start -j {JOBS}` workers (each experiment in its own "
            f"temporary git clone), {len(landed)} succeeded, {len(failed)} failed, {seconds:.1f} s in all; "
            f"metrics sent live from `dvc exp show --json` as experiment refs appeared ({polls} polls); {idle} worker process(es) still idling (they exit after 10 s "
            "idle; the runner stops and reaps any left before it reports)"
        )
        if failed:
            return Outcome("fail", evidence + f"; failed: {', '.join(sorted(failed))}", numbers)
        return Outcome("pass", evidence, numbers)

    def retrieve(self, ctx: Context) -> Outcome:
        import yaml

        exps = [e for e in self._experiments(self._exp_show(ctx)) if e["name"] in self.queued]
        wanted = {common.point_key(**p) for p in ctx.points}
        params_ok = metrics_ok = 0
        problems = []
        for exp in exps:
            key = common.point_key(float(exp["params"]["alpha"]), float(exp["params"]["l1_ratio"]))
            self.experiments[key] = exp
            self.retrieved[key] = {m: float(exp["metrics"][m]) for m in METRICS}
            # What the stage wrote, read straight from the experiment's git commit.
            written = json.loads(self._git_out(ctx, "show", f"{exp['rev']}:metrics.json"))
            params_file = yaml.safe_load(self._git_out(ctx, "show", f"{exp['rev']}:params.yaml"))
            if {k: float(params_file[k]) for k in ("alpha", "l1_ratio")} == {
                k: float(exp["params"][k]) for k in ("alpha", "l1_ratio")
            }:
                params_ok += 1
            else:
                problems.append(f"{exp['name']}: params differ")
            if _same(written, exp["metrics"]):
                metrics_ok += 1
            else:
                problems.append(f"{exp['name']}: metrics differ")
        missing = sorted(wanted - set(self.retrieved))
        numbers = {
            "experiments": len(exps),
            "params_match": params_ok,
            "metrics_match": metrics_ok,
            "missing": len(missing),
        }
        evidence = (
            f"`dvc exp show --json` lists {len(exps)} experiment(s) with params (alpha, l1_ratio) and metrics "
            f"(rmse, mae, r2); params equal params.yaml and metrics equal metrics.json in each experiment's "
            f"git commit for {params_ok}/{len(exps)} and {metrics_ok}/{len(exps)}"
        )
        if missing or problems:
            return Outcome("fail", evidence + f"; missing: {missing}; {'; '.join(problems)}", numbers)
        return Outcome("pass", evidence, numbers)

    def models(self, ctx: Context) -> Outcome:
        import dvc.api
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        rs = ctx.exam["random_state"]
        train_x, test_x, train_y, test_y = common.load_split(ctx.workspace)
        if not self.experiments:
            return Outcome("fail", "no experiment to take the ElasticNet model from")
        key, exp = sorted(self.experiments.items())[-1]
        # 1. ElasticNet: the `model.pkl` output of a grid experiment, read from DVC's cache at that commit.
        with dvc.api.open("model.pkl", repo=str(ctx.workspace), rev=exp["rev"], mode="rb") as handle:
            enet = pickle.load(handle)
        alpha, l1_ratio = float(exp["params"]["alpha"]), float(exp["params"]["l1_ratio"])
        fresh = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=rs).fit(train_x, train_y)
        enet_same = bool((enet.predict(test_x) == fresh.predict(test_x)).all())
        enet_metrics = common.eval_metrics(test_y, enet.predict(test_x))
        enet_record = _same(enet_metrics, exp["metrics"])
        # 2. A second model type, versioned with `dvc add`, committed, removed, read back at that commit.
        tree = DecisionTreeRegressor(max_depth=5, random_state=rs).fit(train_x, train_y)
        path = ctx.workspace / "tree.pkl"
        path.write_bytes(pickle.dumps(tree))
        self._dvc(ctx, "add", "-q", "tree.pkl")
        self._git(ctx, "add", "tree.pkl.dvc", ".gitignore")
        self._git(ctx, "commit", "-q", "-m", "DecisionTreeRegressor model")
        rev = self._git_out(ctx, "rev-parse", "HEAD")
        path.unlink()
        with dvc.api.open("tree.pkl", repo=str(ctx.workspace), rev=rev, mode="rb") as handle:
            loaded = pickle.load(handle)
        tree_same = bool((loaded.predict(test_x) == tree.predict(test_x)).all())
        self._dvc(ctx, "checkout", "-q", "tree.pkl")  # and back into the workspace from the cache
        restored = (
            path.is_file()
            and pickle.loads(path.read_bytes()).predict(test_x).tolist() == loaded.predict(test_x).tolist()
        )
        numbers = {
            "models": 2,
            "test_rows": len(test_x),
            "elasticnet_identical": int(enet_same),
            "elasticnet_metrics_equal_record": int(enet_record),
            "tree_identical": int(tree_same),
            "tree_checkout_identical": int(bool(restored)),
        }
        evidence = (
            f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}) = stage output model.pkl of experiment "
            f"{exp['name']} ({key}), loaded with dvc.api.open(rev=<exp commit>): predictions "
            f"{'identical' if enet_same else 'DIFFERENT'} to a fresh fit on {len(test_x)} test rows, metrics "
            f"{'equal' if enet_record else 'NOT equal'} to the experiment's record; DecisionTreeRegressor(max_depth=5) "
            f"via `dvc add tree.pkl` + git commit, workspace file deleted, loaded with dvc.api.open(rev=<commit>): "
            f"predictions {'identical' if tree_same else 'DIFFERENT'}; `dvc checkout tree.pkl` restores it "
            f"{'identically' if restored else 'WRONGLY'}. DVC stores files, not models: no flavors or signatures"
        )
        ok = enet_same and enet_record and tree_same and restored
        # stored, versioned and loaded back through DVC, but as files: no model format or serving
        return Outcome("partial" if ok else "fail", evidence, numbers)

    def data_versioning(self, ctx: Context) -> Outcome:
        data = ctx.workspace / common.DATA_FILE
        sha_v1 = common.sha256_file(data)
        # v1: run the pipeline (params.yaml defaults) and commit the result.
        self._dvc(ctx, "repro", "-q")
        m1 = self._metrics_file(ctx)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "run on data v1")
        # v2: one more row (a copy of the last one), re-registered with `dvc add`, re-run, committed.
        lines = data.read_text().splitlines(keepends=True)
        last = lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"
        if not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        data.write_text("".join(lines) + last)
        sha_v2 = common.sha256_file(data)
        self._dvc(ctx, "add", "-q", common.DATA_FILE)
        self._dvc(ctx, "repro", "-q")
        m2 = self._metrics_file(ctx)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "data v2: one row added")
        # Roll back through the tool: the v1 pointer from git, the v1 bytes from DVC's cache.
        self._git(ctx, "checkout", self.v1_rev, "--", "data.csv.dvc")
        self._dvc(ctx, "checkout", common.DATA_FILE)
        sha_back = common.sha256_file(data)
        # --force: really execute the stage (DVC's run cache could otherwise restore the v1 result).
        self._dvc(ctx, "repro", "-q", "--force")
        m3 = self._metrics_file(ctx)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "roll back to data v1")
        sha_ok = sha_back == sha_v1 == ctx.dataset.get("sha256", sha_v1)
        metrics_back = _same(m3, m1)
        changed = not _same(m2, m1) and sha_v2 != sha_v1
        numbers = {
            "rows_v1": ctx.dataset.get("rows", 0),
            "rows_v2": ctx.dataset.get("rows", 0) + 1,
            "sha256_restored": int(sha_ok),
            "metrics_restored": int(metrics_back),
            "v2_changed_metrics": int(changed),
            "rmse_v1": m1["rmse"],
            "rmse_v2": m2["rmse"],
            "rmse_back": m3["rmse"],
        }
        evidence = (
            f"v1 registered with `dvc add` and committed; v2 = v1 + a copy of the last row, `dvc add` + `dvc repro` "
            f"(rmse {m1['rmse']:.6f} -> {m2['rmse']:.6f}); rolled back with `git checkout <v1> -- data.csv.dvc` + "
            f"`dvc checkout data.csv`: sha256 {'==' if sha_ok else '!='} v1 ({sha_back[:12]}), "
            f"`dvc repro --force` metrics {'==' if metrics_back else '!='} v1 metrics"
        )
        return Outcome("pass" if sha_ok and metrics_back and changed else "fail", evidence, numbers)

    def reproduce(self, ctx: Context) -> Outcome:
        import yaml

        # The record: an experiment as `dvc exp show` lists it (experiments of the v1 commit).
        exps = [e for e in self._experiments(self._exp_show(ctx, "--rev", self.v1_rev)) if e["metrics"]]
        if not exps:
            return Outcome("fail", "`dvc exp show` lists no finished experiment to reproduce")
        exp = sorted(exps, key=lambda e: (float(e["params"]["alpha"]), float(e["params"]["l1_ratio"])))[0]
        self._dvc(ctx, "exp", "apply", exp["name"])
        (ctx.workspace / "metrics.json").unlink(missing_ok=True)
        self._dvc(ctx, "repro", "-q", "--force")
        got = self._metrics_file(ctx)
        params = yaml.safe_load((ctx.workspace / "params.yaml").read_text())
        params_ok = all(float(params[k]) == float(exp["params"][k]) for k in ("alpha", "l1_ratio"))
        lock = yaml.safe_load((ctx.workspace / "dvc.lock").read_text())["stages"]["train"]
        deps_now = {d["path"]: d.get("md5") for d in lock.get("deps", [])}
        deps_then = {path: info.get("hash") for path, info in exp["deps"].items()}
        deps_ok = deps_now == deps_then
        same = _same(got, exp["metrics"])
        leaks, mine = _site_cache_leaks(ctx.workspace, self.var_tmp_before)
        numbers = {
            "experiment": exp["name"],
            "alpha": float(exp["params"]["alpha"]),
            "l1_ratio": float(exp["params"]["l1_ratio"]),
            "metrics_equal": int(same),
            "params_equal": int(params_ok),
            "deps_hashes_equal": int(deps_ok),
            "max_abs_diff": max(abs(float(got[m]) - float(exp["metrics"][m])) for m in METRICS),
            "var_tmp_new": leaks,
            "var_tmp_mine": mine,
        }
        evidence = (
            f"took experiment {exp['name']} (alpha={numbers['alpha']:g}, l1_ratio={numbers['l1_ratio']:g}) from "
            f"`dvc exp show --json --rev <v1>`, `dvc exp apply {exp['name']}` then `dvc repro --force`: metrics "
            f"{'equal' if same else 'DIFFER from'} the record (max |diff| {numbers['max_abs_diff']:.3g}); "
            f"params {'match' if params_ok else 'differ'}; dependency hashes (code, data, exam) "
            f"{'match' if deps_ok else 'differ from'} the experiment's; new paths under /var/tmp/dvc during "
            f"the whole exam: {mine} from this workspace ({leaks} in all)"
        )
        return Outcome("pass" if same and params_ok and deps_ok else "fail", evidence, numbers)

    def store_paths(self, ctx: Context) -> list[Path]:
        # DVC's cache and queue state live in .dvc/; experiments are git commits and refs in .git/.
        return [ctx.workspace / ".dvc", ctx.workspace / ".git"]


if __name__ == "__main__":
    raise SystemExit(DvcRunner.main())
