"""MLflow's `share` check: a second user reads the first user's runs and model from a shared tracking server.

A team shares MLflow through one tracking server. Here `mlflow server` serves the first
user's store on 127.0.0.1 with proxied artifacts; the first user logs a model through it (as
any teammate would, with MLFLOW_TRACKING_URI pointing at the server), and a second user in
its own HOME, with only the server's URL, reads the grid's runs, loads the model, finds the
data record, logs a run of its own and tells the runs apart by their ``mlflow.user`` tag.
"""

from __future__ import annotations

import json
import time

from mlops_compare.example import common
from mlops_compare.runners.checks.share import SecondUser
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import EXPERIMENT, MlflowTracking

SHARED = "shared"

# Run as the second user, with MLFLOW_TRACKING_URI = the server. Prints one JSON line.
READ_SHARED = r"""
import json, sys

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient

rows = json.load(open(sys.argv[1]))
client = MlflowClient()
exam = client.get_experiment_by_name(sys.argv[2])
shared = client.get_experiment_by_name(sys.argv[3])
runs = [
    {
        "id": r.info.run_id,
        "user": r.data.tags.get("mlflow.user"),
        "params": r.data.params,
        "metrics": r.data.metrics,
        "datasets": [json.loads(d.dataset.source or "{}").get("uri", d.dataset.source) for d in r.inputs.dataset_inputs],
        "digests": [d.dataset.digest for d in r.inputs.dataset_inputs],
    }
    for r in client.search_runs([exam.experiment_id], max_results=1000)
]
logged = client.search_logged_models([shared.experiment_id])
model = mlflow.sklearn.load_model(f"models:/{logged[0].model_id}")
predictions = model.predict(pd.DataFrame(rows["data"], columns=rows["columns"])).ravel().tolist()
with mlflow.start_run(experiment_id=shared.experiment_id, run_name="second user"):
    mlflow.log_metric("runs_seen", len(runs))
users = {}
for run in client.search_runs([exam.experiment_id, shared.experiment_id], max_results=1000):
    users.setdefault(run.data.tags.get("mlflow.user", "?"), []).append(run.info.run_id)
mine = client.search_runs([shared.experiment_id], filter_string="tags.`mlflow.user` = 'user2'")
print(json.dumps({
    "runs": runs, "predictions": predictions, "model_location": logged[0].artifact_location,
    "users": {u: len(ids) for u, ids in users.items()}, "found_by_user_filter": len(mine),
}))
"""


class ShareCheck(MlflowTracking):
    def share(self, ctx: Context) -> Outcome:
        import mlflow
        import mlflow.sklearn
        import sklearn
        from sklearn.linear_model import ElasticNet

        start = time.perf_counter()
        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        point = ctx.points[-1]
        server = self.tracking_server(ctx, "share")
        if not server.started[0]:
            raise RuntimeError(f"the tracking server did not come up: {server.started[2]}")
        try:
            # First user: a model logged through the server (artifacts proxied: mlflow-artifacts:/).
            mlflow.set_tracking_uri(server.url)
            experiment_id = mlflow.create_experiment(SHARED)
            model = ElasticNet(**point, random_state=ctx.exam["random_state"]).fit(train_x, train_y)
            with mlflow.start_run(experiment_id=experiment_id, run_name="shared model"):
                mlflow.sklearn.log_model(model, name="model", pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
            # Second user: its own HOME and USER, nothing but the server's URL.
            user = SecondUser(ctx, env={"MLFLOW_TRACKING_URI": server.url})
            rows = user.root / "rows.json"
            rows.write_text(json.dumps({"columns": list(test_x.columns), "data": test_x.head(5).values.tolist()}))
            got = user.script("read_shared.py", READ_SHARED, str(rows), EXPERIMENT, SHARED)
        finally:
            mlflow.set_tracking_uri(self.tracking_uri(ctx))
            self.release_server(ctx, "share")
        seconds = time.perf_counter() - start

        grid = [r for r in got["runs"] if r["id"] in set(self.run_ids.values())]
        reference = self.retrieved or ctx.baseline
        same = 0
        for run in grid:
            known = reference.get(common.point_key(float(run["params"]["alpha"]), float(run["params"]["l1_ratio"])))
            same += (
                known is not None
                and bool(known)
                and all(float(run["metrics"][m]) == known[m] for m in ("rmse", "mae", "r2"))
            )
        model_ok = got["predictions"] == model.predict(test_x.head(5)).ravel().tolist()
        proxied = str(got["model_location"]).startswith("mlflow-artifacts:")
        sources = sorted({s for run in grid for s in run["datasets"]})
        digests = sorted({d for run in grid for d in run["digests"]})
        # The data record is a digest and a source path; the bytes stay where the first user had them.
        data_shared = bool(sources) and not any(str(s).startswith(str(ctx.workspace)) for s in sources)
        users = got["users"]
        numbers = {
            "runs_shared": len(grid),
            "metrics_equal": same,
            "model_identical": int(model_ok),
            "model_via_server": int(proxied),
            "data_shared": int(data_shared),
            "users": len(users),
            "found_by_user_filter": got["found_by_user_filter"],
            "seconds": round(seconds, 2),
        }
        source_text = ", ".join(s.replace(str(ctx.workspace), "<first user's workspace>") for s in sources) or "none"
        evidence = (
            f"`mlflow server` on {server.url} (the team's server, artifacts proxied) over the first user's store; "
            f"the first user logged an ElasticNet through it; a second user (HOME {user.home.relative_to(ctx.workspace)}, "
            f"USER {user.name}, only MLFLOW_TRACKING_URI) read {len(grid)} grid run(s) ({same} with metrics equal "
            f"to the first user's), loaded the model from {got['model_location']} with identical predictions: "
            f"{'yes' if model_ok else 'NO'}; data: the runs' dataset record has digest {', '.join(digests) or 'none'} "
            f"and source {source_text}: MLflow keeps no copy of the data, so the second user gets its digest, not "
            f"its bytes (log the file as an artifact to share it); whose run: tag mlflow.user "
            f"({', '.join(f'{u}: {n} run(s)' for u, n in sorted(users.items()))}), "
            f"filter tags.`mlflow.user` = 'user2' found {got['found_by_user_filter']}; {seconds:.1f} s"
        )
        ok = same == len(ctx.points) == len(grid) and model_ok and proxied and len(users) >= 2
        if not ok:
            return Outcome("fail", evidence, numbers)
        return Outcome("pass" if data_shared else "partial", evidence, numbers)
