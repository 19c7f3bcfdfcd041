"""DVC's runner: setup (git + DVC in the workspace), the grid as queued experiments, retrieve."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.checks.cost import Telemetry
from mlops_compare.runners.context import Context
from mlops_compare.runners.dvc.concurrency import ConcurrencyCheck
from mlops_compare.runners.dvc.data import DataChecks
from mlops_compare.runners.dvc.failure import FailureCheck
from mlops_compare.runners.dvc.fan_out import FanOutCheck
from mlops_compare.runners.dvc.hpc import HpcCheck
from mlops_compare.runners.dvc.languages import LanguagesCheck
from mlops_compare.runners.dvc.large_data import LargeDataCheck
from mlops_compare.runners.dvc.models import ModelsCheck
from mlops_compare.runners.dvc.repo import (
    IGNORED,
    JOBS,
    METRICS,
    SITE_CACHE,
    _same,
    _site_cache_leaks,
    _var_tmp_snapshot,
)
from mlops_compare.runners.dvc.share import ShareCheck
from mlops_compare.runners.dvc.storage import StorageCheck
from mlops_compare.runners.dvc.ui import UiCheck


class DvcRunner(
    ConcurrencyCheck,
    ModelsCheck,
    DataChecks,
    HpcCheck,
    LargeDataCheck,
    StorageCheck,
    ShareCheck,
    LanguagesCheck,
    FanOutCheck,
    FailureCheck,
    UiCheck,
    Runner,
):
    name = "dvc"
    typical_seconds = 196.0  # its wall time in the default exam of 2026-12-06 02:53 (README)
    requires: ClassVar[tuple[str, ...]] = ("dvc",)
    install = "pip install dvc"
    requirements: ClassVar[tuple[str, ...]] = ("dvc>=3.50", "dvc-s3>=3.0")  # dvc-s3: the S3 remote
    example = "dvc"
    process_setup = "subprocess"
    commands: ClassVar[tuple[str, ...]] = (
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
    telemetry: ClassVar[tuple[Telemetry, ...]] = (
        Telemetry("DVC usage analytics", "analytics.dvc.org", ("DVC_NO_ANALYTICS",)),
    )
    config_files: ClassVar[tuple[str, ...]] = (".dvc/config", ".dvc/config.local", "home/.config/dvc/config")
    env_prefixes: ClassVar[tuple[str, ...]] = ("DVC_",)

    def __init__(self) -> None:
        super().__init__()
        self.v1_rev = ""
        self.var_tmp_before: set[str] = set()
        self.queued: list[str] = []
        self.experiments: dict[str, dict[str, Any]] = {}  # point_key -> {name, rev, params, metrics}

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
        files = ctx.copy_example(self.example)
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
        import yaml

        start = time.perf_counter()
        # One sweep command queues the whole grid (DVC's Hydra-style "-S key=v1,v2" syntax).
        self.queued = self._sweep(ctx, ctx.exam["grid"])
        queue_seconds = time.perf_counter() - start
        n = len(self.queued)
        if n != len(ctx.points):
            return Outcome("fail", f"queued {n} experiment(s) for {len(ctx.points)} grid points")
        ctx.progress(0, n, "grid")
        landed: set[str] = set()
        unreadable: set[str] = set()

        def on_done(name: str, state: str, ref: str) -> None:
            """Each point's metrics as its experiment lands: the commit DVC made, read with git (no DVC start-up)."""
            if state != "success":
                return
            try:
                metrics = json.loads(self._git_out(ctx, "show", f"{ref}:metrics.json"))
                params = yaml.safe_load(self._git_out(ctx, "show", f"{ref}:params.yaml"))
                ctx.metric(float(params["alpha"]), float(params["l1_ratio"]), {m: float(metrics[m]) for m in METRICS})
            except (subprocess.CalledProcessError, ValueError, KeyError, TypeError) as exc:
                unreadable.add(name)  # the stage wrote no readable metrics.json: a failed point
                ctx.log(f"{name}: no metrics in its commit ({type(exc).__name__})")
                return
            landed.add(name)
            ctx.progress(len(landed), n, "grid")

        try:
            run_seconds, states = self._run_queue(ctx, self.queued, JOBS, on_done)
        except BaseException:
            self._stop_queue(ctx, kill=True)
            raise
        failed = sorted(name for name, state in states.items() if state != "success") + sorted(unreadable)
        seconds = time.perf_counter() - start
        idle = len(self._leftovers(ctx))
        self._release_workers(ctx)  # they leave while retrieve, models, ... run
        numbers = {
            "points": n,
            "succeeded": len(landed),
            "failed": len(failed),
            "jobs": JOBS,
            "queue_seconds": round(queue_seconds, 2),
            "run_seconds": round(run_seconds, 2),
            "seconds": round(seconds, 2),
            "worker_processes_idle": idle,
        }
        evidence = (
            f"{n} points queued with one `dvc exp run --queue -S alpha=... -S l1_ratio=...` sweep "
            f"({queue_seconds:.1f} s), run by `dvc queue start -j {JOBS}` workers (each experiment in its own "
            f"temporary git clone) in {run_seconds:.1f} s, {len(landed)} succeeded, {len(failed)} failed, "
            f"{seconds:.1f} s in all; metrics sent live as each experiment's git ref appeared (metrics.json and "
            "params.yaml of the commit DVC made; `retrieve` reads them back with `dvc exp show`); "
            f"{idle} worker process(es) still idling (they exit after 10 s idle; the runner stops and reaps any "
            "left before it reports)"
        )
        if failed:
            return Outcome("fail", evidence + f"; failed: {', '.join(failed)}", numbers)
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

    def store_paths(self, ctx: Context) -> list[Path]:
        # DVC's cache and queue state live in .dvc/; experiments are git commits and refs in .git/.
        return [ctx.workspace / ".dvc", ctx.workspace / ".git"]
