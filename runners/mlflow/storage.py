"""MLflow's `remote_storage` check: a tracking server whose artifact store is the remote.

What an MLflow team does to keep artifacts on the institute's storage: one ``mlflow server
--artifacts-destination <remote>`` (a folder on the shared file system, or ``s3://...``
with ``MLFLOW_S3_ENDPOINT_URL`` and the credentials in the *server's* environment); clients
know only ``MLFLOW_TRACKING_URI`` and upload and download artifacts through the server
(``mlflow-artifacts:/``), so they need no storage credentials.

Per remote: start such a server; log an ElasticNet and a DecisionTreeRegressor model and the
data file as an artifact from this process; on the last remote also run the example itself
(``python train.py 0.5 0.5``, unchanged: it logs its own model) with no AWS variable in its
environment; then a second client (a fresh process, empty temporary folder, no AWS
variables, no ``MLFLOW_S3_ENDPOINT_URL``) loads every model and downloads the artifact
through the server. Pass when every model predicts identically to one fitted here and the
artifact's sha256 equals the data's. When the store fails, clients only see an HTTP error:
the store's own message is taken from the server's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mlops_compare.example import common
from mlops_compare.runners.checks import remote_storage as remotes
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import TREE_TRUSTED_TYPES, MlflowServer, MlflowTracking

STEPS = 5  # server, log from here, the example (last remote), second client, verify
EXAMPLE_POINT = (0.5, 0.5)  # the example's own default point
RESULT_MARK = "mlops-compare-second-client: "


class StorageCheck(MlflowTracking):
    def remote_storage(self, ctx: Context) -> Outcome:
        self._servers: dict[str, MlflowServer] = {}
        try:
            return remotes.run_check(ctx, self.name, self._storage_trip, STEPS, _summary, self._launch_servers)
        finally:
            for server in self._servers.values():
                server.stop()

    def _launch_servers(self, ctx: Context, remotes_: list[remotes.Remote]) -> None:
        """One `mlflow server --artifacts-destination` per remote, started side by side (each takes seconds)."""
        for remote in remotes_:
            destination = str(remote.path / "mlartifacts") if remote.path else remote.url
            env = dict(remote.env)
            if remote.s3 is not None:
                # The server alone talks to the store; botocore's own retries are cut to fail in seconds.
                env.update(AWS_MAX_ATTEMPTS="2", AWS_RETRY_MODE="standard")
                if remote.s3.endpoint_url:  # else AWS's own endpoint
                    env["MLFLOW_S3_ENDPOINT_URL"] = remote.s3.endpoint_url
            backend = f"sqlite:///{ctx.workspace / f'storage-{remote.kind}.db'}"
            self._servers[remote.kind] = server = MlflowServer(ctx, backend, destination, env)
            server.launch()

    def _storage_trip(self, ctx: Context, remote: remotes.Remote, trip: remotes.Trip, step) -> None:
        step(remote, "mlflow server --artifacts-destination")
        server = self._servers[remote.kind]
        try:
            up, _, why = server.wait()
            if not up:
                raise remotes.ToolFailure(f"mlflow server did not come up: {why} {server.error()}".strip())
            where = " with MLFLOW_S3_ENDPOINT_URL and AWS_* credentials in its environment" if remote.s3 else ""
            trip.configured.append(f"`mlflow server --artifacts-destination {server.destination}`{where}")
            trip.note("server up")
            self._storage_round_trip(ctx, remote, trip, step, server)
        finally:
            server.stop()

    def _storage_round_trip(self, ctx, remote, trip, step, server: MlflowServer) -> None:
        import mlflow
        import mlflow.sklearn
        import sklearn
        from mlflow import MlflowClient
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        experiment = f"remote-{remote.kind}"
        client = MlflowClient(server.url)
        experiment_id = client.create_experiment(experiment)
        # Clients know the server's URL and nothing about the store: no credentials, no endpoint.
        client_env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AWS_")}
        client_env.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_EXPERIMENT_NAME=experiment)
        client_env["MLFLOW_S3_ENDPOINT_URL"] = None

        step(remote, "log_model x2 + log_artifact through the server")
        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        fitted = {
            "elasticnet": ElasticNet(alpha=EXAMPLE_POINT[0], l1_ratio=EXAMPLE_POINT[1], random_state=seed),
            "decision_tree": DecisionTreeRegressor(max_depth=5, random_state=seed),
        }
        expected = {name: model.fit(train_x, train_y).predict(test_x).tolist() for name, model in fitted.items()}
        uris = {}
        start = time.perf_counter()
        with _tracking(server.url, self.tracking_uri(ctx)), mlflow.start_run(experiment_id=experiment_id) as run:
            try:
                for name, model in fitted.items():
                    uris[name] = mlflow.sklearn.log_model(
                        model,
                        name=name,
                        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                        skops_trusted_types=TREE_TRUSTED_TYPES if name == "decision_tree" else None,
                    ).model_uri
                mlflow.log_artifact(str(ctx.workspace / common.DATA_FILE))
            except Exception as exc:
                raise remotes.ToolFailure(_failure(server, exc)) from None
        trip.push_seconds = time.perf_counter() - start
        trip.note(f"this process logged 2 models and {common.DATA_FILE} in {trip.push_seconds:.2f} s")

        if trip.last:  # once per check: the example itself, as a user runs it
            step(remote, "the example logs its model through the server")
            start = time.perf_counter()
            try:
                ctx.run(
                    [sys.executable, "train.py", *map(str, EXAMPLE_POINT)], env=client_env, timeout=remote.timeout * 4
                )
            except Exception as exc:
                raise remotes.ToolFailure(_failure(server, exc)) from None
            runs = client.search_runs([experiment_id], filter_string=f"attributes.run_id != '{run.info.run_id}'")
            uris["example"] = f"runs:/{runs[0].info.run_id}/model"
            expected["example"] = expected["elasticnet"]  # the same point, the same seed
            trip.note(
                f"the unchanged example (`python train.py 0.5 0.5` with MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME "
                f"only) logged its model in {time.perf_counter() - start:.1f} s"
            )
        trip.measure()

        step(remote, "a second client with an empty cache loads them back")
        request = {
            "workspace": str(ctx.workspace),
            "models": uris,
            "artifact": [run.info.run_id, common.DATA_FILE],
        }
        fresh = ctx.workspace / "tmp" / f"second-client-{remote.kind}"
        fresh.mkdir(parents=True, exist_ok=True)
        code = "from mlops_compare.runners.mlflow.storage import second_client; second_client()"
        try:
            out = ctx.run(
                [sys.executable, "-c", code, json.dumps(request)],
                cwd=fresh,
                env={**client_env, "TMPDIR": str(fresh), "HOME": str(fresh)},
                output="capture",
                timeout=remote.timeout * 4,
            )
        except Exception as exc:
            raise remotes.ToolFailure(_failure(server, exc)) from None
        result = json.loads(next(line for line in out.splitlines() if line.startswith(RESULT_MARK))[len(RESULT_MARK) :])
        trip.pull_seconds = result["seconds"]

        step(remote, "verify")
        same = [name for name, values in expected.items() if result["predictions"].get(name) == values]
        data_same = result["artifact_sha256"] == common.sha256_file(ctx.workspace / common.DATA_FILE)
        trip.files, trip.identical = len(expected) + 1, len(same) + int(data_same)
        trip.note(
            f"second client (own process, empty TMPDIR, no AWS_* nor MLFLOW_S3_ENDPOINT_URL): {len(same)} of "
            f"{len(expected)} models ({', '.join(expected)}) predict identically on {len(test_x)} test rows, "
            f"artifact {common.DATA_FILE} sha256 {'identical' if data_same else 'DIFFERENT'}"
        )
        trip.verdict()


def _failure(server: MlflowServer, exc: BaseException) -> str:
    """The store's own error as the server logged it (clients only see an HTTP failure), then the client's."""
    client = remotes.tool_message(str(exc))
    stored = server.error()
    return f"the server's artifact store: {stored} (the client saw: {client})" if stored else client


def _summary(ctx: Context, trips: list[remotes.Trip]) -> tuple[str, dict[str, Any]]:
    changed = remotes.example_lines_changed(ctx, "mlflow", ["train.py", "MLproject"])
    text = (
        f"switch local -> remote: {changed} line(s) changed in the example (train.py, MLproject); a client must "
        "know only MLFLOW_TRACKING_URI (the server proxies artifacts as mlflow-artifacts:/); without a proxying "
        "server (--default-artifact-root s3://... or a file store) every client would need MLFLOW_S3_ENDPOINT_URL "
        "and the credentials itself"
    )
    return text, {"example_lines_changed": changed, "client_variables": 1}


@contextlib.contextmanager
def _tracking(uri: str, restore: str):
    import mlflow

    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(restore)


def second_client() -> None:
    """A fresh MLflow client: load the models and download the artifact named in argv[1] (JSON); print the result."""
    import hashlib

    request = json.loads(sys.argv[1])
    start = time.perf_counter()
    import mlflow.artifacts
    import mlflow.sklearn

    imported = time.perf_counter()
    _, test_x, _, _ = common.load_split(Path(request["workspace"]))
    predictions = {
        name: mlflow.sklearn.load_model(uri).predict(test_x).tolist() for name, uri in request["models"].items()
    }
    run_id, name = request["artifact"]
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=name, dst_path=os.getcwd())
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    result = {
        "predictions": predictions,
        "artifact_sha256": digest,
        "seconds": time.perf_counter() - imported,
        "import_seconds": imported - start,
    }
    print(RESULT_MARK + json.dumps(result), flush=True)
