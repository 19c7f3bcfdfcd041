"""The exam through Metaflow: a FlowSpec with a foreach over the grid, local datastore and metadata.

Everything Metaflow writes stays in the workspace: the datastore and the local metadata
(``.metaflow/``), the IncludeFile blobs (``data/``), the client's file cache and the
(unused) ``METAFLOW_HOME`` config folder. The flow runs as ``python flow.py run`` in a
subprocess whose log lines are streamed as they come; each finished ``train`` task is read
back through the client API (``Task(...).data``) and reported as a live metric.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.context import Context

FLOW = "TrainFlow"
FLOW_FILE = "flow.py"
USER = "mlops-compare"
MAX_WORKERS = 2
FLOW_TIMEOUT = 600.0  # seconds for one `python flow.py run`: the launcher's timeout is the outer bound
TREE = "DecisionTreeRegressor"
# "2026-01-01 12:00:00.000 [1795715590695343/train/2 (pid 6020)] Task finished successfully."
TASK_DONE = re.compile(r"\[(\d+)/(\w+)/(\d+) \(pid \d+\)\] Task finished successfully")
RUN_START = re.compile(r"Workflow starting \(run-id (\d+)\)")


def _floats(values: list[Any]) -> str:
    return json.dumps([float(v) for v in values])


class MetaflowRunner(Runner):
    name = "metaflow"
    requires = ("metaflow",)
    install = "pip install metaflow"
    example = "metaflow"
    process_setup = "subprocess"
    commands = (
        "python flow.py run --alphas '[...]' --l1_ratios '[...]'",
        "python flow.py run --model_type DecisionTreeRegressor",
        "Run('TrainFlow/<run-id>').data.data -> data.csv (client API, for the rollback)",
    )

    def __init__(self) -> None:
        super().__init__()
        self.grid_run: str | None = None
        self.logged: dict[str, dict[str, float]] = {}
        self.v2_run: str | None = None

    # --- helpers -----------------------------------------------------------------------
    @staticmethod
    def _environment(workspace: Path) -> dict[str, str]:
        """Metaflow's local datastore, local metadata and caches, all inside the workspace."""
        return {
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DEFAULT_METADATA": "local",
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(workspace),
            "METAFLOW_CLIENT_CACHE_PATH": str(workspace / "home" / ".cache" / "metaflow_client"),
            "METAFLOW_HOME": str(workspace / "home" / ".metaflowconfig"),
            "METAFLOW_USER": USER,
            "USERNAME": USER,
        }

    def _client(self):
        import metaflow

        metaflow.namespace(f"user:{USER}")
        return metaflow

    def _flow(self, ctx: Context, args: list[str], on_task=None) -> str:
        """``python flow.py run ARGS``, streaming its lines; returns the run id.

        *on_task(run_id, step, task_id)* is called as each task finishes.
        """
        argv = [sys.executable, FLOW_FILE, "--no-pylint", "run", "--max-workers", str(MAX_WORKERS), *args]
        found: list[str] = []

        def on_line(line: str) -> None:
            if not found and (match := RUN_START.search(line)):
                found.append(match.group(1))
            elif (match := TASK_DONE.search(line)) and on_task is not None:
                on_task(match.group(1), match.group(2), match.group(3))

        ctx.run(argv, on_line=on_line, timeout=FLOW_TIMEOUT)
        if not found:
            raise RuntimeError("`python flow.py run` printed no run id")
        return found[0]

    def _run(self, run_id: str):
        return self._client().Run(f"{FLOW}/{run_id}")

    def _train_tasks(self, run_id: str) -> dict[str, Any]:
        """{point_key: Task} of a run's train step, through the client API."""
        return {
            common.point_key(task.data.alpha, task.data.l1_ratio): task for task in self._run(run_id)["train"].tasks()
        }

    # --- checks ------------------------------------------------------------------------
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

    def models(self, ctx: Context) -> Outcome:
        import numpy as np
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        train_x, test_x, train_y, test_y = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        point = next((p for p in ctx.points if p == {"alpha": 0.5, "l1_ratio": 0.5}), ctx.points[0])
        tree_run = self._flow(
            ctx,
            ["--alphas", _floats([point["alpha"]]), "--l1_ratios", _floats([point["l1_ratio"]])]
            + ["--model_type", TREE],
        )
        stored = {
            "ElasticNet": (self._train_tasks(self.grid_run)[common.point_key(**point)], ElasticNet(**point)),
            TREE: (next(iter(self._run(tree_run)["train"].tasks())), DecisionTreeRegressor()),
        }
        report, same_all = [], True
        for label, (task, reference) in stored.items():
            model = task.data.model  # unpickled from the datastore by the client
            reference.set_params(random_state=seed).fit(train_x, train_y)
            predictions = model.predict(test_x)
            same = (
                type(model) is type(reference)
                and np.array_equal(predictions, reference.predict(test_x))
                and common.eval_metrics(test_y, predictions) == task.data.metrics
            )
            same_all &= same
            report.append(f"{label} from {task.pathspec}: {'identical' if same else 'DIFFERENT'}")
        numbers = {"model_types": len(stored), "identical": sum("identical" in r for r in report)}
        evidence = (
            "; ".join(report) + " predictions (vs a fresh fit in this process, and the stored metrics recomputed "
            "from the loaded model). Models are plain pickled artifacts (self.model): no model format, "
            "signature, registry or serving"
        )
        # stored and loaded back through Metaflow, but as pickles: no model format or serving
        return Outcome("partial" if same_all else "fail", evidence, numbers)

    def data_versioning(self, ctx: Context) -> Outcome:
        data_file = ctx.workspace / common.DATA_FILE
        point = ctx.points[0]
        key = common.point_key(**point)
        args = ["--alphas", _floats([point["alpha"]]), "--l1_ratios", _floats([point["l1_ratio"]])]
        v1_sha = common.sha256_file(data_file)
        v1_metrics = self._train_tasks(self.grid_run)[key].data.metrics
        stored_v1 = self._run(self.grid_run).data.data
        original = data_file.read_bytes()
        try:
            # v2: one row more (the last row duplicated), run again
            last = original.rstrip(b"\n").rsplit(b"\n", 1)[-1]
            data_file.write_bytes(original.rstrip(b"\n") + b"\n" + last + b"\n")
            v2_sha = common.sha256_file(data_file)
            self.v2_run = self._flow(ctx, args)
            v2_metrics = self._train_tasks(self.v2_run)[key].data.metrics
            stored_v2 = self._run(self.v2_run).data.data
            # roll back: the first run's IncludeFile artifact, read through the client, written back
            data_file.write_bytes(self._run(self.grid_run).data.data)
            restored_sha = common.sha256_file(data_file)
            check_run = self._flow(ctx, args)
            restored_metrics = self._train_tasks(check_run)[key].data.metrics
        finally:
            if data_file.read_bytes() != original:  # leave v1 for the next checks whatever happened
                data_file.write_bytes(original)
        numbers = {
            "v1_sha256": v1_sha[:12],
            "v2_sha256": v2_sha[:12],
            "restored_sha256": restored_sha[:12],
            "v1_run": self.grid_run,
            "v2_run": self.v2_run,
            "rollback_run": check_run,
            "v1_rmse": v1_metrics["rmse"],
            "v2_rmse": v2_metrics["rmse"],
            "restored_rmse": restored_metrics["rmse"],
        }
        problems = []
        if hashlib.sha256(stored_v1).hexdigest() != v1_sha:
            problems.append("the first run's data artifact does not match the v1 file")
        if hashlib.sha256(stored_v2).hexdigest() != v2_sha:
            problems.append("the second run's data artifact does not match the v2 file")
        if restored_sha != v1_sha:
            problems.append(f"restored file sha256 {restored_sha[:12]} != v1 {v1_sha[:12]}")
        if restored_metrics != v1_metrics:
            problems.append(f"metrics after the rollback {restored_metrics} != v1 {v1_metrics}")
        if problems:
            return Outcome("fail", "; ".join(problems), numbers)
        changed = "changed" if v2_metrics != v1_metrics else "did not change"
        return Outcome(
            "pass",
            f"data.csv is an IncludeFile Parameter, stored byte for byte with every run (content-addressed, "
            f"deduplicated). v1 sha256 {v1_sha[:12]} (run {self.grid_run}); v2 with one row added "
            f"{v2_sha[:12]} (run {self.v2_run}; rmse {changed}: {v2_metrics['rmse']:.6g} vs "
            f"{v1_metrics['rmse']:.6g}); rolled back by reading Run('{FLOW}/{self.grid_run}').data.data "
            f"through the client and writing it out: sha256 equal to v1, and a new run on it "
            f"({check_run}) gives v1's metrics exactly. Versions hang on runs, not on files: there is no "
            f"checkout/diff command for data, the restore is a line of client code",
            numbers,
        )

    def reproduce(self, ctx: Context) -> Outcome:
        data_file = ctx.workspace / common.DATA_FILE
        past = self.v2_run or self.grid_run
        run = self._run(past)
        params = run["_parameters"].task.data  # the Parameters exactly as the run received them
        original = {key: task.data.metrics for key, task in self._train_tasks(past).items()}
        current = data_file.read_bytes()
        data_file.write_bytes(params.data)  # the run's own data, from its IncludeFile artifact
        try:
            again = self._flow(
                ctx,
                ["--alphas", json.dumps(params.alphas), "--l1_ratios", json.dumps(params.l1_ratios)]
                + ["--model_type", params.model_type, "--data", common.DATA_FILE],
            )
        finally:
            data_file.write_bytes(current)
        repeated = {key: task.data.metrics for key, task in self._train_tasks(again).items()}
        code = "recorded" if run.code is not None else "not recorded (Metaflow packages code only for remote steps)"
        numbers = {
            "original_run": past,
            "rerun": again,
            "points": len(original),
            "code_in_record": int(run.code is not None),
        }
        if repeated != original:
            return Outcome("fail", f"run {again} gave {repeated}, the original {past} gave {original}", numbers)
        # Same numbers, but the code came from the workspace, not from the record: partial.
        return Outcome(
            "pass" if run.code is not None else "partial",
            f"re-ran {FLOW}/{past} from its record: Parameters from its _parameters task "
            f"(alphas={params.alphas}, l1_ratios={params.l1_ratios}, model_type={params.model_type}) and its "
            f"data from its IncludeFile artifact ({len(params.data)} bytes); the new run {again} gives the "
            f"same metrics for all {len(original)} point(s), bit for bit. Code: {code}; flow.py in the "
            f"workspace was reused",
            numbers,
        )

    def store_paths(self, ctx: Context) -> list[Path]:
        # the datastore with the local metadata, and the IncludeFile blobs (the client cache is a copy)
        return [ctx.workspace / ".metaflow", ctx.workspace / "data"]


if __name__ == "__main__":
    raise SystemExit(MetaflowRunner.main())
