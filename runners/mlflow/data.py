"""MLflow's `data_versioning` and `reproduce` checks."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import MlflowTracking, _same


class DataChecks(MlflowTracking):
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
            sha_v1 == ctx.dataset["normalised_sha256"]
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
