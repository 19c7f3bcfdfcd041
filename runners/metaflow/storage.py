"""Metaflow's `remote_storage` check: the grid flow with its datastore on the remote, read back by a fresh client.

What a Metaflow user does: no code change, only the datastore's variables. The shared file
system is the local datastore rooted there (``METAFLOW_DEFAULT_DATASTORE=local``,
``METAFLOW_DATASTORE_SYSROOT_LOCAL``), which also holds the local metadata; S3 is the S3
datastore (``METAFLOW_DEFAULT_DATASTORE=s3``, ``METAFLOW_DATASTORE_SYSROOT_S3``,
``METAFLOW_S3_ENDPOINT_URL``, credentials from the AWS variables) with Metaflow's S3
retries cut so that a dead endpoint fails in seconds (``METAFLOW_S3_RETRY_COUNT``,
``METAFLOW_S3_TRANSIENT_RETRY_COUNT``, ``METAFLOW_S3_CLIENT_RETRY_CONFIG``).

Per remote: run the example flow there at the grid's middle point (the flow writes every
artifact, the model and the IncludeFile'd data to the datastore as it runs: that is the
"push"; one point, as MLflow's check logs one example run and large_data trains one: the
whole grid adds eight more train tasks of the same kind, and 30 s of S3 writes to the local
endpoint); then a second client (a fresh process in an empty folder with an empty client
cache) reads the run back through the client API: the parameters, the point's metrics
(equal to the plain baseline, bit for bit), its model's predictions (equal to a fresh fit)
and the data (its sha256). With the S3 datastore the run's metadata stays local (Metaflow's
local metadata provider writes to the local sysroot; sharing it takes Metaflow's metadata
service): the reader is first tried with the S3 settings alone, which is recorded, then with
the local metadata folder too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mlops_compare.example import common
from mlops_compare.runners.checks import remote_storage as remotes
from mlops_compare.runners.checks.operations import middle_point
from mlops_compare.runners.context import CommandError, Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, USER, MetaflowFlows, _floats

STEPS = 3  # flow run, second client, verify
RESULT_MARK = "mlops-compare-second-client: "
S3_RETRIES = {
    "METAFLOW_S3_RETRY_COUNT": "1",
    "METAFLOW_S3_TRANSIENT_RETRY_COUNT": "1",
    "METAFLOW_S3_CLIENT_RETRY_CONFIG": json.dumps({"max_attempts": 2, "mode": "standard"}),
}


class StorageCheck(MetaflowFlows):
    def remote_storage(self, ctx: Context) -> Outcome:
        return remotes.run_check(ctx, self.name, self._storage_trip, STEPS, _summary)

    @staticmethod
    def _datastore(remote: remotes.Remote) -> dict[str, str]:
        """The variables that move Metaflow's datastore to *remote* (and nothing else)."""
        if remote.path is not None:
            return {"METAFLOW_DEFAULT_DATASTORE": "local", "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(remote.path)}
        assert remote.s3 is not None
        env = {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_DATASTORE_SYSROOT_S3": remote.url}
        if remote.s3.endpoint_url:  # else AWS's own endpoint
            env["METAFLOW_S3_ENDPOINT_URL"] = remote.s3.endpoint_url
        return env

    def _storage_trip(self, ctx: Context, remote: remotes.Remote, trip: remotes.Trip, step) -> None:
        from sklearn.linear_model import ElasticNet

        datastore = self._datastore(remote)
        env = {**datastore, **remote.env, **(S3_RETRIES if remote.s3 else {})}
        trip.configured.append(", ".join(f"{k}={v}" for k, v in datastore.items()))
        if remote.s3:
            trip.configured.append(f"retries cut: {', '.join(S3_RETRIES)}")

        step(remote, "python flow.py run (datastore on the remote)")
        point = middle_point(ctx.points)
        start = time.perf_counter()
        run_id = self._flow(
            ctx, ["--alphas", _floats([point["alpha"]]), "--l1_ratios", _floats([point["l1_ratio"]])], env=env
        )
        trip.push_seconds = time.perf_counter() - start
        trip.note(
            f"run {FLOW}/{run_id} of the unchanged flow.py at the grid's middle point "
            f"({common.point_key(**point)}) wrote to the datastore in {trip.push_seconds:.1f} s"
        )
        trip.measure()

        step(remote, "a second client with an empty cache reads the run")
        request = {"workspace": str(ctx.workspace), "pathspec": f"{FLOW}/{run_id}"}
        reader = {**env, "METAFLOW_DEFAULT_METADATA": "local"}
        alone_ok = True
        if remote.s3:
            # The run's metadata is in the local sysroot (the workspace): first without it.
            alone = ctx.workspace / "tmp" / "second-client-no-metadata"
            try:
                self._read(ctx, remote, request, {**reader, "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(alone)}, alone)
                trip.note("a reader with the S3 settings alone found the run")
            except CommandError as exc:
                trip.note(
                    f"a reader with the S3 settings alone cannot find the run ({remotes.tool_message(str(exc))}): "
                    "the metadata stays in the local .metaflow folder unless Metaflow's metadata service runs"
                )
                alone_ok = False
            reader["METAFLOW_DATASTORE_SYSROOT_LOCAL"] = str(ctx.workspace)
        result = self._read(ctx, remote, request, reader, ctx.workspace / "tmp" / f"second-client-{remote.kind}")
        trip.pull_seconds = result["seconds"]

        step(remote, "verify")
        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        same = 0
        for key, got in result["points"].items():
            fresh = ElasticNet(alpha=got["alpha"], l1_ratio=got["l1_ratio"], random_state=seed).fit(train_x, train_y)
            same += got["metrics"] == ctx.baseline.get(key) and got["predictions"] == fresh.predict(test_x).tolist()
        data_same = result["data_sha256"] == common.sha256_file(ctx.workspace / common.DATA_FILE)
        trip.files, trip.identical = 2, same + int(data_same)  # the one train task's model, and the data
        trip.note(
            f"second client (own process, empty folder and client cache): {same} of 1 train task(s) "
            f"with metrics equal to the plain baseline and models predicting identically, the IncludeFile'd data "
            f"sha256 {'identical' if data_same else 'DIFFERENT'}; parameters {result['parameters']}"
        )
        trip.verdict(
            "" if alone_ok else "the reader also needed the local metadata folder (METAFLOW_DATASTORE_SYSROOT_LOCAL)"
        )

    def _read(self, ctx: Context, remote: remotes.Remote, request: dict, env: dict, folder: Path) -> dict[str, Any]:
        folder.mkdir(parents=True, exist_ok=True)
        code = "from mlops_compare.runners.metaflow.storage import second_client; second_client()"
        out = ctx.run(
            [sys.executable, "-c", code, json.dumps(request)],
            cwd=folder,
            env={**env, "METAFLOW_CLIENT_CACHE_PATH": str(folder / "client-cache"), "TMPDIR": str(folder)},
            output="capture",
            timeout=remote.timeout * 4,
        )
        line = next(line for line in out.splitlines() if line.startswith(RESULT_MARK))
        return json.loads(line[len(RESULT_MARK) :])


def _summary(ctx: Context, trips: list[remotes.Trip]) -> tuple[str, dict[str, Any]]:
    changed = remotes.example_lines_changed(ctx, "metaflow", ["flow.py"])
    text = (
        f"switch local -> remote: {changed} line(s) changed in the example (flow.py); only environment variables "
        "(2 for the shared folder, 3 for S3 plus the AWS credentials)"
    )
    return text, {"example_lines_changed": changed}


def second_client() -> None:
    """A fresh Metaflow client: read the run named in argv[1] (JSON) back; print what it found."""
    import hashlib

    request = json.loads(sys.argv[1])
    start = time.perf_counter()
    from metaflow import Run, namespace

    imported = time.perf_counter()
    namespace(f"user:{os.environ.get('METAFLOW_USER', USER)}")
    run = Run(request["pathspec"])
    _, test_x, _, _ = common.load_split(Path(request["workspace"]))
    points = {}
    for task in run["train"].tasks():
        data = task.data
        points[common.point_key(data.alpha, data.l1_ratio)] = {
            "alpha": data.alpha,
            "l1_ratio": data.l1_ratio,
            "metrics": dict(data.metrics),
            "predictions": data.model.predict(test_x).tolist(),
        }
    parameters = run["_parameters"].task.data
    result = {
        "points": points,
        "parameters": {"alphas": parameters.alphas, "l1_ratios": parameters.l1_ratios},
        "data_sha256": hashlib.sha256(run["start"].task.data.data).hexdigest(),
        "seconds": time.perf_counter() - imported,
        "import_seconds": imported - start,
    }
    print(RESULT_MARK + json.dumps(result), flush=True)
