"""MLflow under many writers: each task runs train() of train.py for one point, logging straight to a store on the shared path.

Mixed into `MlflowRunner`. No server: what a user on a cluster does when the centre forbids
long-running processes on the login node. Both variants name the experiment with
``MLFLOW_EXPERIMENT_NAME``, so the first tasks also race to create it.

1. The SQLite store (MLflow's default backend since 3.x), created fresh by the tasks
   themselves: ``MLFLOW_TRACKING_URI=sqlite:///<shared>/mlflow.db``. Every task that finds no
   schema runs the migrations (the `duplicate column name` race users report).
2. The old file store (``file:<shared>/mlruns``), which MLflow 3 refuses unless
   ``MLFLOW_ALLOW_FILE_STORE=true``: the workaround HPC users asked for. Whether this
   version still refuses it without the flag is recorded.

Read back afterwards with `MlflowClient` on the same store (no server is needed to read).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import concurrency as many
from mlops_compare.runners.context import Context, Outcome

EXPERIMENT = "concurrency"
# train() of example/mlflow/train.py for one point: params, metrics and the data set's input,
# without the model (its requirement inference starts one more Python per task).
TASK = "import sys; from train import train; train(float(sys.argv[1]), float(sys.argv[2]))"
INPUTS = ("train.py", "common.py", common.EXAM_FILE, common.DATA_FILE)


def _runs(uri: str, env: dict[str, str]) -> list[many.Found]:
    """Every run of the store's experiments, with its point and metrics, read through MlflowClient."""
    from mlflow import MlflowClient

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = MlflowClient(uri)
        found = []
        for exp in client.search_experiments():
            for run in client.search_runs([exp.experiment_id], max_results=10_000):
                params, metrics = run.data.params, run.data.metrics
                if {"alpha", "l1_ratio"} <= set(params):
                    key = common.point_key(float(params["alpha"]), float(params["l1_ratio"]))
                else:
                    key = "?"
                has = all(m in metrics for m in many.METRICS)
                found.append(many.Found(key, {m: metrics[m] for m in many.METRICS} if has else None))
        return found
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _file_store_refused(folder: Path) -> str:
    """This MLflow's answer to a file store without MLFLOW_ALLOW_FILE_STORE: its message's first sentence, or ""."""
    from mlflow.store.tracking.file_store import FileStore

    saved = os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    try:
        FileStore(str(folder))
        return ""
    except Exception as exc:  # MlflowException: "The filesystem tracking backend ... is in maintenance mode ..."
        return str(exc).split(". ")[0].strip()
    finally:
        if saved is not None:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = saved


class ConcurrencyCheck:
    def concurrency(self, ctx: Context) -> Outcome:
        import mlflow

        def build(root: Path) -> list[many.Variant]:
            return [self._sqlite(ctx, root), self._file_store(ctx, root)]

        return many.check(ctx, "mlflow", build, note=f"mlflow {mlflow.__version__}")

    def _tasks(self, ctx: Context, folder: Path, env: dict[str, str | None]) -> list[many.Task]:
        many.copy_inputs(ctx, folder, INPUTS)
        # The runner's own experiment and run (set by its setup) are not the task's.
        env = {"MLFLOW_EXPERIMENT_NAME": EXPERIMENT, "MLFLOW_EXPERIMENT_ID": None, "MLFLOW_RUN_ID": None, **env}
        return [
            many.Task(i, p, [sys.executable, "-c", TASK, repr(p["alpha"]), repr(p["l1_ratio"])], folder, env)
            for i, p in enumerate(many.points(ctx))
        ]

    def _sqlite(self, ctx: Context, root: Path) -> many.Variant:
        folder = many.fresh(root / "mlflow-sqlite")
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        tasks = self._tasks(ctx, folder, {"MLFLOW_TRACKING_URI": uri})
        return many.Variant(
            "SQLite store, created fresh by the tasks",
            True,
            "sqlite:///<shared>/mlflow.db",
            tasks,
            lambda: _runs(uri, {}),
        )

    def _file_store(self, ctx: Context, root: Path) -> many.Variant:
        folder = many.fresh(root / "mlflow-files")
        uri = f"file:{folder / 'mlruns'}"
        env: dict[str, str | None] = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_ALLOW_FILE_STORE": "true"}
        refused = _file_store_refused(folder / "probe")
        note = (
            f"without MLFLOW_ALLOW_FILE_STORE this MLflow refuses the file store: {refused!r}"
            if refused
            else "this MLflow still opens the file store without MLFLOW_ALLOW_FILE_STORE"
        )
        return many.Variant(
            "file store (./mlruns) with MLFLOW_ALLOW_FILE_STORE=true",
            False,
            "file:<shared>/mlruns",
            self._tasks(ctx, folder, env),
            lambda: _runs(uri, {"MLFLOW_ALLOW_FILE_STORE": "true"}),
            note=note,
        )
