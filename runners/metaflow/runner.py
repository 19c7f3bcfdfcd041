"""Metaflow's runner: setup, grid and retrieve; the other checks are mixed in."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.context import Context
from mlops_compare.runners.metaflow.concurrency import ConcurrencyCheck
from mlops_compare.runners.metaflow.data import DataChecks
from mlops_compare.runners.metaflow.failure import FailureCheck
from mlops_compare.runners.metaflow.fan_out import FanOutCheck
from mlops_compare.runners.metaflow.flows import FLOW, MAX_WORKERS, _floats
from mlops_compare.runners.metaflow.hpc import HpcCheck
from mlops_compare.runners.metaflow.languages import LanguagesCheck
from mlops_compare.runners.metaflow.large_data import LargeDataCheck
from mlops_compare.runners.metaflow.models import ModelsCheck
from mlops_compare.runners.metaflow.share import ShareCheck
from mlops_compare.runners.metaflow.storage import StorageCheck
from mlops_compare.runners.metaflow.ui import UiCheck


class MetaflowRunner(
    ConcurrencyCheck,
    ModelsCheck,
    DataChecks,
    HpcCheck,
    LargeDataCheck,
    StorageCheck,
    FanOutCheck,
    FailureCheck,
    UiCheck,
    ShareCheck,
    LanguagesCheck,
    Runner,
):
    name = "metaflow"
    typical_seconds = 153.0  # its wall time in the default exam of 2026-12-06 02:53 (README)
    requires = ("metaflow",)
    install = "pip install metaflow"
    requirements = ("metaflow>=2.12", "asyncssh")  # asyncssh: metaflow-slurm's SSH client (hpc check)
    example = "metaflow"
    process_setup = "subprocess"
    commands = (
        "python flow.py run --alphas '[...]' --l1_ratios '[...]'",
        "python flow.py run --model_type DecisionTreeRegressor",
        "Run('TrainFlow/<run-id>').data.data -> data.csv (client API, for the rollback)",
    )
    config_files = ("home/.metaflowconfig/config.json",)
    env_prefixes = ("METAFLOW_",)

    def __init__(self) -> None:
        super().__init__()
        self.grid_run = ""
        self.logged: dict[str, dict[str, float]] = {}
        self.v2_run = ""

    # --- checks ----------------------------------------------------------------------
    def setup(self, ctx: Context) -> Outcome:
        already = "metaflow" in sys.modules
        for key in [k for k in os.environ if k.startswith("METAFLOW_")]:
            del os.environ[key]
        os.environ.update(self._environment(ctx.workspace))
        tmp = ctx.workspace / "tmp"
        if not Path(os.environ.get("TMPDIR", "/tmp")).resolve().is_relative_to(ctx.workspace):
            tmp.mkdir(exist_ok=True)
            os.environ["TMPDIR"] = str(tmp)
            tempfile.tempdir = None
        files = ctx.copy_example(self.example)

        import metaflow
        from metaflow import metaflow_config

        if already:
            return Outcome("fail", "metaflow was imported before its configuration was set; the stores would leak")
        root = Path(metaflow_config.DATASTORE_SYSROOT_LOCAL or "")
        if root != ctx.workspace or metaflow_config.DEFAULT_METADATA != "local":
            return Outcome("fail", f"Metaflow did not take the workspace configuration (datastore root {root})")
        return Outcome(
            "pass",
            f"Metaflow {metaflow.__version__}: no init command, no server, no config file; the local datastore "
            f"and local metadata (.metaflow/, created by the first run) and the client cache are pointed into "
            f"the workspace with {len(self._environment(ctx.workspace)) - 1} METAFLOW_* variables "
            f"(DEFAULT_DATASTORE, DEFAULT_METADATA, DATASTORE_SYSROOT_LOCAL, CLIENT_CACHE_PATH, HOME, USER); "
            f"copied {', '.join(files)}",
            {"files": len(files), "commands": 0, "env_vars": len(self._environment(ctx.workspace)) - 1},
        )

    def grid(self, ctx: Context) -> Outcome:
        n = len(ctx.points)
        client = self._client()

        def on_task(run_id: str, step: str, task_id: str) -> None:
            if step != "train":
                return
            data = client.Task(f"{FLOW}/{run_id}/train/{task_id}").data
            self.logged[common.point_key(data.alpha, data.l1_ratio)] = dict(data.metrics)
            ctx.metric(data.alpha, data.l1_ratio, data.metrics)
            ctx.progress(len(self.logged), n, "grid")

        grid = ctx.exam["grid"]
        self.grid_run = self._flow(
            ctx, ["--alphas", _floats(grid["alpha"]), "--l1_ratios", _floats(grid["l1_ratio"])], on_task
        )
        run = self._run(self.grid_run)
        if not run.successful:
            return Outcome("fail", f"run {FLOW}/{self.grid_run} did not succeed")
        missing = [common.point_key(**p) for p in ctx.points if common.point_key(**p) not in self.logged]
        numbers = {"points": n, "live_metrics": len(self.logged), "max_workers": MAX_WORKERS, "run_id": self.grid_run}
        if missing:
            return Outcome("fail", f"no finished train task seen for {', '.join(missing)}", numbers)
        return Outcome(
            "pass",
            f"one run {FLOW}/{self.grid_run}: a foreach over {n} grid point(s), {n} train task(s) "
            f"with --max-workers {MAX_WORKERS}; each point reported live from its task's artifacts (client API) "
            f"as Metaflow logged 'Task finished successfully'",
            numbers,
        )

    def retrieve(self, ctx: Context) -> Outcome:
        run = self._run(self.grid_run)
        params = run["_parameters"].task.data
        grid = ctx.exam["grid"]
        params_ok = params.alphas == [float(a) for a in grid["alpha"]] and params.l1_ratios == [
            float(r) for r in grid["l1_ratio"]
        ]
        tasks = self._train_tasks(self.grid_run)
        results = run.data.results  # the join step's summary, read from the end task
        mismatches = []
        for key, task in tasks.items():
            metrics = {k: float(v) for k, v in task.data.metrics.items()}
            self.retrieved[key] = metrics
            if metrics != self.logged.get(key):
                mismatches.append(f"{key} differs from what was logged live")
            if results.get((task.data.alpha, task.data.l1_ratio)) != task.data.metrics:
                mismatches.append(f"{key} differs in the join's results artifact")
        expected = {common.point_key(**p) for p in ctx.points}
        missing = sorted(expected - set(tasks))
        numbers = {"runs": 1, "tasks": len(tasks), "params_match": int(params_ok), "mismatches": len(mismatches)}
        if missing or mismatches or not params_ok:
            problems = mismatches + [f"{key} missing" for key in missing]
            if not params_ok:
                problems.append(f"parameters read back as alphas={params.alphas}, l1_ratios={params.l1_ratios}")
            return Outcome("fail", "; ".join(problems), numbers)
        return Outcome(
            "pass",
            f"Run('{FLOW}/{self.grid_run}'): Parameters alphas={params.alphas}, l1_ratios={params.l1_ratios} "
            f"from the _parameters task; alpha, l1_ratio and metrics artifacts of {len(tasks)} train task(s) "
            f"equal what was logged live and the join's results artifact, bit for bit",
            numbers,
        )

    def store_paths(self, ctx: Context) -> list[Path]:
        # the datastore with the local metadata, and the IncludeFile blobs (the client cache is a copy)
        return [ctx.workspace / ".metaflow", ctx.workspace / "data"]
