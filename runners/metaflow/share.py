"""Metaflow's `share` check: a second user reads the first user's runs from the shared datastore.

A Metaflow team shares a datastore and a metadata service (S3 + the metadata service in
production); here the first user's local datastore (``<workspace>/.metaflow`` with its local
metadata, IncludeFile data in ``<workspace>/data``) plays that part. A second user with its
own HOME and user name points its client at it: in its default namespace (``user:user2``) it
sees none of the first user's runs; switching namespace shows them, with their metrics, model
and data, and the ``user:`` tag of each run says whose it is.
"""

from __future__ import annotations

import json
import time

from mlops_compare.example import common
from mlops_compare.runners.checks.share import SecondUser
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, USER, MetaflowFlows

# Run as the second user against the shared datastore. Prints one JSON line.
READ_SHARED = r"""
import hashlib, json, sys

import pandas as pd
from metaflow import Flow, Run, get_namespace, namespace
from metaflow.exception import MetaflowNamespaceMismatch

rows, flow, run_id, first_user = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
default = get_namespace()
try:
    own = [r.id for r in Flow(flow)]  # runs visible in the default namespace (user:<me>)
except MetaflowNamespaceMismatch:
    own = []  # the flow has no run in it at all
namespace(f"user:{first_user}")  # the first user's runs, as a teammate looks them up
runs = [{"id": r.id, "users": [t for t in r.system_tags if t.startswith("user:")], "ok": r.successful} for r in Flow(flow)]
run = Run(f"{flow}/{run_id}")
tasks = {f"{t.data.alpha}/{t.data.l1_ratio}": t.data.metrics for t in run["train"].tasks()}
task = next(iter(run["train"].tasks()))
predictions = task.data.model.predict(pd.DataFrame(rows["data"], columns=rows["columns"])).ravel().tolist()
print(json.dumps({
    "default_namespace": default, "own_runs": len(own), "runs": runs, "tasks": tasks,
    "model_point": [task.data.alpha, task.data.l1_ratio], "predictions": predictions,
    "data_sha256": hashlib.sha256(run.data.data).hexdigest(),
}))
"""


class ShareCheck(MetaflowFlows):
    def share(self, ctx: Context) -> Outcome:
        from sklearn.linear_model import ElasticNet

        start = time.perf_counter()
        env = self._environment(ctx.workspace)  # the shared datastore root, local metadata
        user = SecondUser(ctx)
        env.update(
            METAFLOW_USER=user.name,
            USERNAME=user.name,
            METAFLOW_CLIENT_CACHE_PATH=str(user.home / ".cache" / "metaflow_client"),
            METAFLOW_HOME=str(user.home / ".metaflowconfig"),
        )
        user.env.update(env)
        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        rows = user.root / "rows.json"
        rows.write_text(json.dumps({"columns": list(test_x.columns), "data": test_x.head(5).values.tolist()}))
        got = user.script("read_shared.py", READ_SHARED, str(rows), FLOW, str(self.grid_run), USER)
        seconds = time.perf_counter() - start

        reference = self.retrieved or ctx.baseline
        same = 0
        for key, metrics in got["tasks"].items():
            alpha, l1_ratio = (float(x) for x in key.split("/"))
            known = reference.get(common.point_key(alpha, l1_ratio))
            same += (
                known is not None and bool(known) and all(float(metrics[m]) == known[m] for m in ("rmse", "mae", "r2"))
            )
        alpha, l1_ratio = got["model_point"]
        fresh = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=ctx.exam["random_state"]).fit(train_x, train_y)
        model_ok = fresh.predict(test_x.head(5)).ravel().tolist() == got["predictions"]
        data_ok = got["data_sha256"] == common.sha256_file(ctx.workspace / common.DATA_FILE)
        owners = sorted({u for run in got["runs"] for u in run["users"]})
        numbers = {
            "runs_shared": len(got["runs"]),
            "own_namespace_runs": got["own_runs"],
            "metrics_equal": same,
            "model_identical": int(model_ok),
            "data_identical": int(data_ok),
            "seconds": round(seconds, 2),
        }
        evidence = (
            f"a second user (HOME {user.home.relative_to(ctx.workspace)}, METAFLOW_USER {user.name}) with its client "
            f"on the first user's datastore (the local datastore and metadata standing for the team's S3 + metadata "
            f"service): its default namespace {got['default_namespace']!r} shows {got['own_runs']} {FLOW} run(s); "
            f"namespace('user:{USER}') shows {len(got['runs'])}, each tagged {', '.join(owners)}; run {self.grid_run}: "
            f"{same} of {len(ctx.points)} train tasks' metrics equal the first user's, the pickled model of "
            f"alpha={alpha:g}, l1_ratio={l1_ratio:g} gives {'identical' if model_ok else 'DIFFERENT'} predictions, the "
            f"IncludeFile data artifact is {'identical to' if data_ok else 'DIFFERENT from'} data.csv (sha256); "
            f"whose run: the user: tag and namespaces; {seconds:.1f} s"
        )
        ok = same == len(ctx.points) and model_ok and data_ok and owners == [f"user:{USER}"]
        return Outcome("pass" if ok else "fail", evidence, numbers)
