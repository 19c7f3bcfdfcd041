"""The MLflow runner: the exam through MLflow Tracking, Models, Projects and mlflow.data.

- setup: a SQLite tracking store (``mlflow.db``) and an experiment whose artifacts live in
  ``mlartifacts/``, both in the workspace (MLflow 3 refuses a plain ``./mlruns`` file store
  unless MLFLOW_ALLOW_FILE_STORE=true);
- grid: the example's ``train`` (``example/mlflow/train.py``) in-process, one MLflow run per
  point, in one experiment;
- retrieve: a real ``mlflow server`` on 127.0.0.1 and a free port, read through its REST API
  with ``MlflowClient``; if it does not come up, the SQLite store is read directly (partial);
- models: ``mlflow.sklearn.log_model`` for ElasticNet and a DecisionTreeRegressor, loaded
  back with ``mlflow.sklearn.load_model`` and ``mlflow.pyfunc.load_model``;
- data_versioning: ``mlflow.data.from_pandas`` + ``mlflow.log_input`` record a digest per
  version, but MLflow keeps no copy of the data, so v1 cannot be restored through it (partial);
- reproduce: one past run's parameters from the store, re-run with
  ``mlflow.projects.run(..., env_manager="local")`` against the example's ``MLproject``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mlops_compare import proctree
from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.context import Context

EXPERIMENT = "exam"
SERVER_TIMEOUT = 60.0
# The tree's node storage is not trusted by skops (MLflow 3's default sklearn format) unless named.
TREE_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(float(a[k]) == float(b[k]) for k in ("rmse", "mae", "r2"))


class MlflowServer:
    """`mlflow server` in the runner's own process group; its output goes to the log."""

    def __init__(self, ctx: Context, backend_uri: str, artifacts: Path):
        self.ctx = ctx
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            backend_uri,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None

    def start(self, timeout: float | None = None) -> tuple[bool, float, str]:
        """Start and wait for /health; returns (up, seconds, why-not)."""
        timeout = SERVER_TIMEOUT if timeout is None else timeout
        # Job execution would start a huey consumer and a queue folder in /dev/shm (outside the
        # workspace); the exam needs neither.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.ctx.log("$ " + " ".join(self.argv))
        start = time.perf_counter()
        # Not a new session: the server stays in the runner's process group, so the core's
        # group kill reaches it whatever happens. stdout/stderr are inherited: they are the
        # runner's log pipe.
        self.proc = subprocess.Popen(self.argv, cwd=self.ctx.workspace, env=env, stdin=subprocess.DEVNULL)
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                return False, time.perf_counter() - start, f"mlflow server exited with code {self.proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return True, time.perf_counter() - start, ""
            except OSError:
                pass
            time.sleep(0.25)
        return False, time.perf_counter() - start, f"no answer on {self.url}/health within {timeout:g} s"

    def stop(self) -> None:
        if self.proc is None:
            return
        descendants = proctree.descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # `mlflow server` forwards it to uvicorn
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        proctree.kill(descendants)  # only what this server started


class MlflowRunner(Runner):
    name = "mlflow"
    requires = ("mlflow",)
    install = "pip install mlflow"
    example = "mlflow"
    process_setup = "in-process"
    commands = (
        "export MLFLOW_TRACKING_URI=sqlite:///mlflow.db; python train.py ALPHA L1_RATIO",
        "mlflow server --backend-store-uri sqlite:///mlflow.db",
        "mlflow run . -P alpha=ALPHA -P l1_ratio=L1_RATIO --env-manager local",
    )

    def __init__(self) -> None:
        super().__init__()
        self.experiment_id = ""
        self.run_ids: dict[str, str] = {}  # point key -> MLflow run id
        self.logged: dict[str, dict[str, float]] = {}  # point key -> metrics train() logged
        self._train = None

    # --- helpers ---------------------------------------------------------------------
    @staticmethod
    def tracking_uri(ctx: Context) -> str:
        return f"sqlite:///{ctx.workspace / 'mlflow.db'}"

    @staticmethod
    def artifacts(ctx: Context) -> Path:
        return ctx.workspace / "mlartifacts"

    def store_paths(self, ctx: Context) -> list[Path]:
        return [ctx.workspace / "mlflow.db", self.artifacts(ctx)]

    def train(self, ctx: Context, point: dict[str, float]) -> tuple[dict[str, float], str]:
        """The example's train() on one point; returns its metrics and the MLflow run id."""
        import mlflow

        if self._train is None:
            self._train = ctx.load_module(ctx.workspace / "train.py", "_mlops_compare_mlflow_train").train
        metrics = self._train(point["alpha"], point["l1_ratio"])
        return metrics, mlflow.last_active_run().info.run_id

    def experiment(self, ctx: Context, name: str) -> str:
        """Create experiment *name* (artifacts under mlartifacts/<name>) and make it active."""
        import mlflow

        experiment_id = mlflow.create_experiment(name, artifact_location=(self.artifacts(ctx) / name).as_uri())
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id

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

        server = MlflowServer(ctx, self.tracking_uri(ctx), self.artifacts(ctx))
        up, up_seconds, why, runs = False, 0.0, "it was not started", []
        try:
            up, up_seconds, why = server.start()
            pid = server.proc.pid if server.proc else 0
            if up:
                via, client = f"the REST API of `mlflow server` at {server.url}", MlflowClient(server.url)
                runs = client.search_runs([self.experiment_id], max_results=1000)
        finally:
            server.stop()
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
        numbers["server_exit_code"] = server.exit_code if server.exit_code is not None else -1
        return Outcome(
            "pass",
            counted + f"; server pid {pid} (backend sqlite mlflow.db, artifacts mlartifacts/) answered /health after "
            f"{up_seconds:.1f} s and was stopped at the end (exit code {server.exit_code})",
            numbers,
        )

    def models(self, ctx: Context) -> Outcome:
        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn
        import numpy as np
        import sklearn
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        candidates = {
            "elasticnet": (ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=seed), None),
            "decision_tree": (DecisionTreeRegressor(random_state=seed), TREE_TRUSTED_TYPES),
        }
        # Pinned requirements: MLflow's automatic inference (a subprocess that reloads the model)
        # costs about 6 s per model on this machine and pins every package it sees imported.
        requirements = [f"scikit-learn=={sklearn.__version__}"]
        self.experiment(ctx, "models_check")
        lines, all_same, formats = [], True, set()
        with mlflow.start_run(run_name="models"):
            for name, (model, trusted) in candidates.items():
                model.fit(train_x, train_y)
                expected = np.asarray(model.predict(test_x)).ravel()
                info = mlflow.sklearn.log_model(
                    model,
                    name=name,
                    input_example=test_x.head(3),
                    pip_requirements=requirements,
                    skops_trusted_types=trusted,
                )
                formats.add(info.flavors["sklearn"].get("serialization_format", "?"))
                native = np.asarray(mlflow.sklearn.load_model(info.model_uri).predict(test_x)).ravel()
                pyfunc = np.asarray(mlflow.pyfunc.load_model(info.model_uri).predict(test_x)).ravel()
                same = np.array_equal(native, expected) and np.array_equal(pyfunc, expected)
                all_same &= bool(same)
                lines.append(
                    f"{type(model).__name__} -> {info.model_uri} ({'identical' if same else 'DIFFERENT'} predictions "
                    f"on {len(expected)} test rows via mlflow.sklearn.load_model and mlflow.pyfunc.load_model)"
                )
        mlflow.set_experiment(experiment_id=self.experiment_id)
        evidence = (
            "mlflow.sklearn.log_model: "
            + "; ".join(lines)
            + f"; stored as {'/'.join(sorted(formats))} with signature and input example; the tree needed "
            f"skops_trusted_types={TREE_TRUSTED_TYPES} to be saved at all; requirements pinned with pip_requirements "
            f"(scikit-learn=={sklearn.__version__}; MLflow adds mlflow=={mlflow.__version__}) instead of the slow inference"
        )
        return Outcome(
            "pass" if all_same else "fail", evidence, {"models": len(candidates), "identical": int(all_same)}
        )

    def data_versioning(self, ctx: Context) -> Outcome:
        import mlflow
        from mlflow import MlflowClient

        data = ctx.workspace / common.DATA_FILE
        point = ctx.points[len(ctx.points) // 2]
        client = MlflowClient()
        self.experiment(ctx, "data_versioning")
        sha_v1 = common.sha256_file(data)
        kept = ctx.workspace / "data_v1.csv.kept-by-hand"
        shutil.copy2(data, kept)  # MLflow keeps no copy, so the rollback below needs one
        try:
            metrics_v1, run_v1 = self.train(ctx, point)
            text = data.read_bytes()
            data.write_bytes(text + text.splitlines(keepends=True)[-1])  # v2: the last row twice
            sha_v2 = common.sha256_file(data)
            metrics_v2, run_v2 = self.train(ctx, point)

            record_v1 = client.get_run(run_v1).inputs.dataset_inputs[0]
            record_v2 = client.get_run(run_v2).inputs.dataset_inputs[0]
            digest_v1, digest_v2 = record_v1.dataset.digest, record_v2.dataset.digest
            # "Roll back through the tool": all the record offers is the source, a path.
            source = mlflow.data.get_source(record_v1)
            loaded = Path(source.load())
            sha_loaded = common.sha256_file(loaded)
            digest_loaded = mlflow.data.from_pandas(common.read_csv(loaded)).digest
        finally:
            shutil.copy2(kept, data)  # roll back by hand
            kept.unlink()
        sha_back = common.sha256_file(data)
        digest_back = mlflow.data.from_pandas(common.read_csv(data)).digest
        metrics_back, run_back = self.train(ctx, point)
        mlflow.set_experiment(experiment_id=self.experiment_id)

        rows = [json.loads(r.dataset.profile or "{}").get("num_rows", -1) for r in (record_v1, record_v2)]
        consistent = (
            sha_v1 == ctx.dataset["sha256"]
            and sha_v1 != sha_v2
            and digest_v1 != digest_v2
            and sha_back == sha_v1
            and digest_back == digest_v1
            and _same(metrics_back, metrics_v1)
        )
        evidence = (
            f"mlflow.log_input recorded digest {digest_v1} ({rows[0]} rows) for v1 and {digest_v2} ({rows[1]} rows) "
            f"for v2 (one duplicated row; rmse {metrics_v1['rmse']:.6g} -> {metrics_v2['rmse']:.6g}); "
            f"the record keeps only the source path {source.to_dict().get('uri')!r}, schema and row count, no content: "
            f"mlflow.data.get_source(v1).load() returned the current file (sha256 {sha_loaded[:12]}, digest "
            f"{digest_loaded}, i.e. v2), so MLflow cannot restore v1; v1 was restored from a copy kept by hand "
            f"(sha256 {sha_back[:12]} {'=' if sha_back == sha_v1 else '!='} original, digest {digest_back} "
            f"{'matches' if digest_back == digest_v1 else 'does NOT match'} the recorded v1 digest) and the re-run "
            f"gave {'the same' if _same(metrics_back, metrics_v1) else 'DIFFERENT'} metrics as v1 "
            f"(runs {run_v1[:8]}, {run_v2[:8]}, {run_back[:8]})"
        )
        numbers = {
            "digest_v1": digest_v1,
            "digest_v2": digest_v2,
            "rows_v1": rows[0],
            "rows_v2": rows[1],
            "restored_by_tool": 0,
            "restored_by_hand_matches": int(consistent),
        }
        return Outcome("partial" if consistent else "fail", evidence, numbers)

    def reproduce(self, ctx: Context) -> Outcome:
        import mlflow
        import mlflow.projects
        from mlflow import MlflowClient

        client = MlflowClient()
        point = ctx.points[len(ctx.points) // 2]
        past = client.get_run(self.run_ids[common.point_key(**point)])
        params, tags = dict(past.data.params), past.data.tags
        commit = tags.get("mlflow.source.git.commit", "")
        recorded_digest = past.inputs.dataset_inputs[0].dataset.digest
        current_digest = mlflow.data.from_pandas(common.read_csv(ctx.workspace / common.DATA_FILE)).digest
        start = time.perf_counter()
        submitted = mlflow.projects.run(
            uri=str(ctx.workspace),
            entry_point="main",
            parameters=params,
            env_manager="local",
            experiment_id=self.experiment_id,
            run_name=f"reproduce-{past.info.run_id[:8]}",
            synchronous=True,
        )
        seconds = time.perf_counter() - start
        again = client.get_run(submitted.run_id)
        old = {k: past.data.metrics[k] for k in ("rmse", "mae", "r2")}
        new = {k: again.data.metrics.get(k, float("nan")) for k in ("rmse", "mae", "r2")}
        new_digest = again.inputs.dataset_inputs[0].dataset.digest if again.inputs.dataset_inputs else ""
        models = [
            m.name for m in client.search_logged_models([self.experiment_id]) if m.source_run_id == again.info.run_id
        ]
        same = _same(old, new)
        evidence = (
            f"params {params} of run {past.info.run_id[:8]} read from the tracking store and re-run with "
            f"mlflow.projects.run(MLproject entry point 'main', env_manager='local') as run {again.info.run_id[:8]} "
            f"(status {again.info.status}, {seconds:.1f} s, logged model(s): {', '.join(models) or 'none'}): "
            f"{'identical' if same else 'DIFFERENT'} metrics (rmse {old['rmse']!r} vs {new['rmse']!r}); data digest "
            f"recorded {recorded_digest}, current {current_digest}, re-run {new_digest}; the past run records source "
            f"{Path(tags.get('mlflow.source.name', '?')).name!r} and "
            + (
                f"git commit {commit[:12]}"
                if commit
                else "no git commit (the workspace is not a git repo), so the code re-run is the project's train.py as it is now"
            )
        )
        ok = same and recorded_digest == current_digest == new_digest and again.info.status == "FINISHED"
        numbers = {
            "seconds": round(seconds, 2),
            "identical": int(same),
            "digest_match": int(recorded_digest == new_digest),
        }
        # Same numbers but no code version in the record (as for Metaflow's local runs): partial.
        return Outcome(("pass" if commit else "partial") if ok else "fail", evidence, numbers)


if __name__ == "__main__":
    raise SystemExit(MlflowRunner.main())
