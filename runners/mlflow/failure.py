"""MLflow's `failure` check: a run that raises inside ``mlflow.start_run()``, found by its status.

The failing grid (`operations.failing_grid`) goes through the example's ``train()`` in an
experiment of its own, as the grid did. ``mlflow.start_run()`` used as a context manager ends
a run whose block raised with status FAILED, and ``MlflowClient.search_runs`` finds it by that
status. What the record holds besides is read back: params (the tutorial logs them after
``fit()``, so the failed run has none), tags and artifacts (MLflow stores no traceback or log
of its own). MLflow has nothing to resume with: which points finished is for the user's code
to work out from the FINISHED runs, so nothing is timed for a resume.
"""

from __future__ import annotations

import time

from mlops_compare.example import common
from mlops_compare.runners.checks.operations import ERROR, TRACEBACK, failing_grid, failure_outcome, is_bad
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import MlflowTracking

FAILED = "attributes.status = 'FAILED'"


class FailureCheck(MlflowTracking):
    def failure(self, ctx: Context) -> Outcome:
        import mlflow
        from mlflow import MlflowClient

        points = common.grid_points(failing_grid(ctx.exam["grid"]))
        experiment_id = self.experiment(ctx, "failure")
        raised: dict[str, str] = {}  # run id -> the exception the user saw
        start = time.perf_counter()
        try:
            for point in points:
                try:
                    self.train(ctx, point)
                except Exception as exc:  # what the user's loop would die of
                    raised[mlflow.last_active_run().info.run_id] = f"{type(exc).__name__}: {exc}"
        finally:
            first_seconds = time.perf_counter() - start
            mlflow.set_experiment(experiment_id=self.experiment_id)
        client = MlflowClient()
        failed = client.search_runs([experiment_id], filter_string=FAILED)
        finished = client.search_runs([experiment_id], filter_string="attributes.status = 'FINISHED'")
        found = {run.info.run_id for run in failed} == set(raised) and len(raised) == sum(map(is_bad, points))
        kept = [
            value
            for run in failed
            for value in [*run.data.tags.values(), *(a.path for a in client.list_artifacts(run.info.run_id))]
            if TRACEBACK in value or ERROR in value
        ]
        params = sum(len(run.data.params) for run in failed)
        evidence = (
            f"failing grid ({len(points)} points, alpha {points[-1]['alpha']:g} last) through train(): "
            f"{len(raised)} run(s) raised {next(iter(raised.values()), 'nothing').split(':')[0]} and ended FAILED, "
            f'found with MlflowClient.search_runs(filter_string="{FAILED}") ({len(failed)} run(s)); '
            f"{len(finished)} FINISHED; the failed runs keep {params} param(s)"
            + (" (train() logs them after fit(): the record does not say which point failed)" if not params else "")
            + (
                f"; {len(kept)} tag(s) or artifact(s) hold the traceback"
                if kept
                else "; no traceback or log in tags or artifacts (MLflow records the status; the traceback went to "
                "the caller only)"
            )
            + "; no resume: which points finished is for your own code to work out from the FINISHED runs"
        )
        outcome = failure_outcome(found, len(kept), len(finished), None, first_seconds, None, evidence)
        outcome.numbers.update({"failed_runs": len(failed), "failed_run_params": params})
        return outcome
