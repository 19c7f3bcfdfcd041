"""MLflow's runner: setup, grid and retrieve; the other checks are mixed in."""

from __future__ import annotations

import contextlib
import os
import sys
import time

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.checks.cost import Telemetry
from mlops_compare.runners.context import Context
from mlops_compare.runners.mlflow.concurrency import ConcurrencyCheck
from mlops_compare.runners.mlflow.data import DataChecks
from mlops_compare.runners.mlflow.failure import FailureCheck
from mlops_compare.runners.mlflow.fan_out import FanOutCheck
from mlops_compare.runners.mlflow.hpc import HpcCheck
from mlops_compare.runners.mlflow.languages import LanguagesCheck
from mlops_compare.runners.mlflow.large_data import LargeDataCheck
from mlops_compare.runners.mlflow.models import ModelsCheck
from mlops_compare.runners.mlflow.share import ShareCheck
from mlops_compare.runners.mlflow.storage import StorageCheck
from mlops_compare.runners.mlflow.tracking import EXPERIMENT, _same
from mlops_compare.runners.mlflow.ui import UiCheck


class MlflowRunner(
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
    name = "mlflow"
    typical_seconds = 132.0  # its wall time in the default exam of 2026-12-06 02:53 (README)
    requires = ("mlflow",)
    install = "pip install mlflow"
    requirements = ("mlflow>=3.0",)
    example = "mlflow"
    process_setup = "in-process"
    commands = (
        "export MLFLOW_TRACKING_URI=sqlite:///mlflow.db; python train.py ALPHA L1_RATIO",
        "mlflow server --backend-store-uri sqlite:///mlflow.db",
        "mlflow run . -P alpha=ALPHA -P l1_ratio=L1_RATIO --env-manager local",
    )
    telemetry = (
        Telemetry("MLflow usage telemetry", "config.mlflow-telemetry.io", ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")),
    )
    config_files = ("home/.databrickscfg", "home/.mlflow/credentials")
    env_prefixes = ("MLFLOW_", "DATABRICKS_")

    def __init__(self) -> None:
        super().__init__()
        self.experiment_id = ""
        self.run_ids: dict[str, str] = {}  # point key -> MLflow run id
        self.logged: dict[str, dict[str, float]] = {}  # point key -> metrics train() logged
        self._train = None

    # --- checks ----------------------------------------------------------------------
    def setup(self, ctx: Context) -> Outcome:
        start = time.perf_counter()
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        # Fail fast instead of MLflow's default 7 retries with backoff when the server is gone.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
        files = ctx.copy_example(self.example)
        # MLflow tags each run with its "source" (sys.argv[0]) and that file's git commit. Run
        # in-process, the source would be this runner and MLflow would run git in the repository
        # holding it (outside the workspace); point it at the script the runs really come from.
        sys.argv[0] = str(ctx.workspace / "train.py")
        import mlflow

        import_seconds = time.perf_counter() - start
        uri = self.tracking_uri(ctx)
        os.environ["MLFLOW_TRACKING_URI"] = uri  # also for the `mlflow run` subprocess later
        mlflow.set_tracking_uri(uri)
        store_start = time.perf_counter()
        self.experiment_id = self.experiment(ctx, EXPERIMENT)
        store_seconds = time.perf_counter() - store_start

        import sqlite3

        with contextlib.closing(sqlite3.connect(ctx.workspace / "mlflow.db")) as db:
            tables = db.execute("select count(*) from sqlite_master where type = 'table'").fetchone()[0]
            (revision,) = db.execute("select version_num from alembic_version").fetchone()
        seconds = time.perf_counter() - start
        evidence = (
            f"mlflow {mlflow.__version__}; copied {', '.join(files)}; created the SQLite tracking store "
            f"mlflow.db ({tables} tables, schema migrated to alembic revision {revision}, {store_seconds:.1f} s) "
            f"and experiment {EXPERIMENT!r} (id {self.experiment_id}) with artifacts in mlartifacts/{EXPERIMENT}; "
            f"import mlflow {import_seconds:.1f} s; no server needed for logging; {seconds:.1f} s in all"
        )
        numbers = {
            "version": mlflow.__version__,
            "files": len(files),
            "tables": tables,
            "store_seconds": round(store_seconds, 3),
            "seconds": round(seconds, 3),
            "servers": 0,
        }
        return Outcome("pass", evidence, numbers)

    def grid(self, ctx: Context) -> Outcome:
        for k, point in enumerate(ctx.points, 1):
            metrics, run_id = self.train(ctx, point)
            key = common.point_key(**point)
            self.run_ids[key], self.logged[key] = run_id, metrics
            ctx.metric(point["alpha"], point["l1_ratio"], metrics)
            ctx.progress(k, len(ctx.points), "grid")
        n = len(ctx.points)
        return Outcome(
            "pass",
            f"{n} MLflow runs in experiment {EXPERIMENT!r}, one per point, each with log_params, log_metrics and "
            f"log_input (data set digest), run in-process by calling train() from example/mlflow/train.py",
            {"points": n, "runs": len(set(self.run_ids.values()))},
        )

    def retrieve(self, ctx: Context) -> Outcome:
        from mlflow import MlflowClient

        runs: list = []
        up, up_seconds, why = False, 0.0, "it was not started"
        try:
            server = self.tracking_server(ctx, "retrieve")
            up, up_seconds, why = server.started
            pid = server.proc.pid if server.proc else 0
            if up:
                via, client = f"the REST API of `mlflow server` at {server.url}", MlflowClient(server.url)
                runs = client.search_runs([self.experiment_id], max_results=1000)
        finally:
            after = self.release_server(ctx, "retrieve")
        if not up:  # fall back to the store itself
            via, client = "the SQLite store directly", MlflowClient(self.tracking_uri(ctx))
            runs = client.search_runs([self.experiment_id], max_results=1000)

        wanted = set(self.run_ids.values())
        runs = [run for run in runs if run.info.run_id in wanted]
        param_errors = metric_errors = 0
        for run in runs:
            params, metrics = run.data.params, run.data.metrics
            point = {"alpha": float(params["alpha"]), "l1_ratio": float(params["l1_ratio"])}
            key = common.point_key(**point)
            if self.run_ids.get(key) != run.info.run_id:
                param_errors += 1
                continue
            self.retrieved[key] = {k: float(metrics[k]) for k in ("rmse", "mae", "r2")}
            metric_errors += not _same(self.retrieved[key], self.logged[key])
        numbers = {
            "runs": len(runs),
            "param_mismatches": param_errors,
            "metric_mismatches": metric_errors,
            "via": "server" if up else "sqlite",
            "server_start_seconds": round(up_seconds, 2),
        }
        counted = (
            f"{len(runs)} of {len(wanted)} runs read through {via} with MlflowClient.search_runs; "
            f"params (strings, e.g. alpha={runs[0].data.params['alpha']!r}) and metrics compared with what train() "
            f"logged: {param_errors} param and {metric_errors} metric mismatch(es)"
            + (" (metrics equal bit for bit)" if not metric_errors else "")
            if runs
            else f"no runs came back through {via}"
        )
        if not runs or len(runs) != len(wanted) or param_errors or metric_errors:
            return Outcome("fail", counted, numbers)
        if not up:
            return Outcome(
                "partial", counted + f"; fallback because the tracking server did not come up: {why}", numbers
            )
        if server.exit_code is not None:
            numbers["server_exit_code"] = server.exit_code
        return Outcome(
            "pass",
            counted + f"; server pid {pid} (backend sqlite mlflow.db, artifacts mlartifacts/) answered /health after "
            f"{up_seconds:.1f} s; {after}",
            numbers,
        )
