"""MLflow's `languages` check: a shell step logged with curl to the REST API, and a notebook logging a run.

MLflow has clients for Python, R, Java and a REST API; its CLI has no command to log a run.
The shell step (``stats.sh``) is logged by ``mlflow_log.sh``, curl against a tracking
server's REST API; the notebook trains one grid point and logs it with the Python client,
executed headless by ``jupyter execute``. Both runs are then read back through the server.
"""

from __future__ import annotations

import time

from mlops_compare.runners.checks import languages as steps
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import MlflowTracking, started_in


class LanguagesCheck(MlflowTracking):
    def languages(self, ctx: Context) -> Outcome:
        from mlflow import MlflowClient

        start = time.perf_counter()
        folder, point = steps.prepare(ctx, "notebook_mlflow.ipynb", "mlflow_log.sh")
        server = self.tracking_server(ctx, "languages")  # the one `retrieve` started, or a new one
        if not server.started[0]:
            raise RuntimeError(f"the tracking server did not come up: {server.started[2]}")
        try:
            client = MlflowClient(server.url)
            experiment_id = client.create_experiment(steps.FOLDER)
            ctx.run(["sh", "stats.sh", "../data.csv", ctx.exam["target"], "stats.yaml"], cwd=folder)
            ctx.run(["sh", "mlflow_log.sh", server.url, experiment_id, "stats.yaml"], cwd=folder)
            env = {"MLFLOW_TRACKING_URI": server.url, "MLFLOW_EXPERIMENT_ID": experiment_id}
            ctx.run(steps.execute_argv(), cwd=folder, env=env, timeout=300)
            runs = {run.info.run_name: run for run in client.search_runs([experiment_id])}
        finally:
            after = self.release_server(ctx, "languages")
        seconds = time.perf_counter() - start

        shell, notebook = runs.get("shell-stats"), runs.get("notebook")
        expected = steps.expected_stats(ctx)
        shell_ok = (
            shell is not None and shell.info.status == "FINISHED" and steps.stats_match(shell.data.metrics, expected)
        )
        params_ok = notebook is not None and {k: float(v) for k, v in notebook.data.params.items()} == point
        notebook_ok = params_ok and notebook is not None and steps.metrics_match(ctx, point, notebook.data.metrics)
        numbers = {
            "shell_rows": int(shell.data.metrics.get("rows", -1)) if shell else -1,
            "shell_ok": int(shell_ok),
            "notebook_ok": int(notebook_ok),
            "runs": len(runs),
            "r": 0,
            "seconds": round(seconds, 2),
        }
        if server.exit_code is not None:
            numbers["server_exit_code"] = server.exit_code
        evidence = (
            f"shell: `sh stats.sh` (POSIX sh + awk) then `sh mlflow_log.sh`, curl to the REST API of `mlflow server` "
            f"(runs/create, runs/log-batch, runs/update; MLflow's CLI cannot log): run 'shell-stats' "
            f"{'FINISHED with rows and target_mean equal to the data' if shell_ok else 'missing or wrong'}; notebook: "
            f"`jupyter execute notebook.ipynb` logging with the Python client to MLFLOW_TRACKING_URI: run 'notebook' "
            f"with params alpha={point['alpha']:g}, l1_ratio={point['l1_ratio']:g} and metrics "
            f"{'equal to' if notebook_ok else 'NOT equal to'} the plain baseline; both read back with "
            f"MlflowClient.search_runs through the server{started_in(server, 'languages')}, {after}; "
            f"{steps.r_step()} (MLflow has an R client); {seconds:.1f} s"
        )
        return Outcome(steps.status(shell_ok, notebook_ok), evidence, numbers)
