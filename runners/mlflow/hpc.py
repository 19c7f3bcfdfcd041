"""MLflow on Slurm: the Slurm backend for MLflow Projects first, then the pattern HPC centres use.

1. `mlflow-slurm` (`mlflow run -b slurm`), installed with `pip --no-deps --target` into the
   workspace so the project's environment is never changed; the tool's own error is the
   evidence when it does not work with the installed MLflow.
2. No server at all while the jobs run (many centres forbid long-running services on login
   nodes): one batch script per grid point logs to MLflow's file store on the shared path;
   afterwards the client reads the store back (`mlflow ui --backend-store-uri` on it would
   show the same). MLflow 3 keeps the file store in maintenance mode and refuses it unless
   ``MLFLOW_ALLOW_FILE_STORE=true``: that is part of the route's configuration.
3. A tracking server on the login node (`mlflow server`, here on 127.0.0.1) and one batch
   script per grid point, submitted with sbatch, whose `python train.py` logs to it: a wrapper
   the user writes, for sites that allow such a server.
Results are read back with `MlflowClient.search_runs` and compared with the plain baseline.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

from mlops_compare.runners.checks import hpc as slurm_jobs
from mlops_compare.runners.context import CommandError, Context, Outcome
from mlops_compare.runners.mlflow.tracking import MlflowServer, MlflowTracking

PLUGIN = "mlflow-slurm"
FILE_STORE_FLAG = "MLFLOW_ALLOW_FILE_STORE"  # MLflow 3 refuses its file store without it
RUN_TIMEOUT = 180.0  # one `mlflow run -b slurm`: it returns once the job is submitted
ERROR_LINE = re.compile(r"\b(\w+(?:Error|Exception)\b.*)")


def _mlflow_version() -> str:
    """The MLflow of this runner's environment (the jobs' python_env pins the same)."""
    from importlib.metadata import version

    return version("mlflow")


def _tool_error(message: str) -> str:
    """The last `SomethingError: ...` in a command's failure message, else the message."""
    found = ERROR_LINE.findall(message)
    return found[-1].strip() if found else message


class HpcCheck(MlflowTracking):
    def hpc(self, ctx: Context) -> Outcome:
        from mlflow import MlflowClient

        if (down := slurm_jobs.unavailable(ctx)) is not None:
            return down
        jobs = slurm_jobs.SlurmJobs(ctx)
        folder = ctx.workspace / "hpc"
        project = folder / "project"
        project.mkdir(parents=True, exist_ok=True)
        for name in ("train.py", "common.py", "MLproject", "exam.json", "data.csv"):
            shutil.copy2(ctx.workspace / name, project / name)
        server = MlflowServer(ctx, self.tracking_uri(ctx), self.artifacts(ctx))
        routes = []
        up_seconds = 0.0
        with jobs.cancel_on_term():
            files = self._serverless_route(ctx, jobs, folder, project)  # before any server exists
            try:
                up, up_seconds, why = server.start()
                if up:
                    client = MlflowClient(server.url)
                    routes.append(self._plugin(ctx, jobs, client, server.url, folder, project))
                    routes.append(files)
                    routes.append(self._sbatch(ctx, jobs, client, server.url, folder, project))
                    note = f"tracking server `mlflow server` on the login node ({server.url}, up in {up_seconds:.1f} s)"
                else:
                    routes.append(files)
                    note = f"the tracking server for the server routes did not start: {why}"
            finally:
                server.stop()
        note += "; from the site: sbatch on the login node, a shared path for the project and the file store"
        return slurm_jobs.verdict(routes, note=note)

    # --- route 1: the MLflow Projects backend ---------------------------------------------
    def _plugin(self, ctx: Context, jobs, client, url: str, folder: Path, project: Path) -> slurm_jobs.Route:
        route = slurm_jobs.Route(f"{PLUGIN} (`mlflow run -b slurm`, MLflow Projects backend)", native=True)
        start = time.perf_counter()
        plugins = folder / "plugins"
        version = slurm_jobs.installed(PLUGIN)
        if version is not None:  # the tool environment holds it ([tool.NAME] requires = [..., "mlflow-slurm"])
            route.installed = f"{PLUGIN} {version} in the tool's environment (requires in criteria.toml)"
        else:
            version, route.why = slurm_jobs.install_plugin(ctx, PLUGIN, plugins)
            if version is None:
                return route
            route.installed = (
                f"{PLUGIN} {version} with `pip install --no-deps --target` into the workspace (it requires only "
                "mlflow-skinny and jinja2, both present; the project's environment is not changed)"
            )
        route.name = f"{PLUGIN} {version} (`mlflow run -b slurm`, MLflow Projects backend, MLflow {_mlflow_version()})"
        # The backend knows only python_env and conda projects: `--env-manager local` is not honoured.
        env_file = (
            f"python: {platform.python_version()}\nbuild_dependencies:\n  - pip\n"
            f"dependencies:\n  - mlflow=={_mlflow_version()}\n  - scikit-learn\n  - pandas\n"
        )
        (project / "python_env.yaml").write_text(env_file)
        with open(project / "MLproject", "a") as handle:
            handle.write("python_env: python_env.yaml\n")
        config = {k: v for k, v in self._backend_config(jobs).items() if v is not None}
        (project / "slurm_config.json").write_text(json.dumps(config, indent=2) + "\n")
        route.glue_lines = len(env_file.splitlines()) + 1 + len(json.dumps(config, indent=2).splitlines())
        route.configured = (
            "python_env.yaml and a `python_env:` line in MLproject (the backend runs only python_env or conda "
            f"projects), slurm_config.json {json.dumps(config)}, PYTHONPATH to the plugin"
        )
        route.tracked = f"the tracking server ({url})"
        route.site = "a tracking server the jobs reach, sbatch, a shared path for the project (run from its folder)"
        experiment = client.create_experiment("exam-hpc-plugin")
        env = {"PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        env["MLFLOW_TRACKING_URI"] = url
        with jobs.watching("mlflow run -b slurm", len(ctx.points)) as ids:
            try:
                for point in ctx.points:
                    argv = [sys.executable, "-m", "mlflow", "run", str(project), "-b", "slurm"]
                    argv += ["--backend-config", str(project / "slurm_config.json"), "--experiment-id", experiment]
                    argv += ["-P", f"alpha={point['alpha']!r}", "-P", f"l1_ratio={point['l1_ratio']!r}"]
                    ctx.run(argv, cwd=project, env=env, timeout=RUN_TIMEOUT)
                jobs.wait(ids)
            except CommandError as exc:
                route.why = f"`mlflow run -b slurm` failed with the tool's own error: {_tool_error(str(exc))}"
            except TimeoutError as exc:
                route.why = str(exc)
        route.seconds = time.perf_counter() - start
        route.jobs = jobs.records(ids)
        if not route.why:
            slurm_jobs.check_metrics(ctx, route, self._tracked(client, experiment))
        return route

    def _backend_config(self, jobs: slurm_jobs.SlurmJobs) -> dict:
        s = jobs.settings
        options = jobs.options()
        return {"partition": s.get("partition"), "account": s.get("account"), "mem": s.get("mem")} | {
            "time": options["time_limit"]
        }

    # --- route 2: sbatch scripts logging to a file store on the shared path, no server -------
    def _serverless_route(self, ctx: Context, jobs, folder: Path, project: Path) -> slurm_jobs.Route:
        from mlflow import MlflowClient

        store = folder / "mlruns"
        uri = store.resolve().as_uri()
        route = slurm_jobs.Route(
            "sbatch scripts logging to MLflow's file store on the shared path (no server while the jobs run)",
            native=False,
            site="sbatch on the login node and a shared path for the project and the file store; no server",
            tracked=f"MLflow's file store on the shared path ({uri}), read back by the client afterwards",
            configured=(
                "the store's file: URI, the experiment id and MLFLOW_ALLOW_FILE_STORE=true exported in each job "
                "script (MLflow 3 refuses its file store without it: maintenance mode)"
            ),
        )
        start = time.perf_counter()
        os.environ[FILE_STORE_FLAG] = "true"  # this process reads the store back too
        try:
            client = MlflowClient(uri)
            experiment = client.create_experiment("exam-hpc-files")
        except Exception as exc:  # the tool's own refusal is the evidence
            route.why = f"MLflow could not open a file store: {_tool_error(str(exc))}"
            return route
        exports = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_ID": experiment, FILE_STORE_FLAG: "true"}
        self._run_scripts(ctx, jobs, route, "sbatch jobs logging to a file store", exports, project, folder / "files")
        route.seconds = time.perf_counter() - start
        if not route.why:
            slurm_jobs.check_metrics(ctx, route, self._tracked(client, experiment))
        return route

    @staticmethod
    def _run_scripts(
        ctx: Context, jobs, route: slurm_jobs.Route, label: str, exports: dict[str, str], project: Path, out: Path
    ) -> None:
        """One sbatch script per grid point (*exports*, `cd`, `python train.py A L`): submitted, waited for, recorded."""
        with jobs.watching(label, len(ctx.points)) as ids:
            try:
                submitted = []
                for k, point in enumerate(ctx.points):
                    script = "".join(f"export {name}={shlex.quote(str(value))}\n" for name, value in exports.items())
                    script += f"cd {shlex.quote(str(project))}\n"
                    script += f"{shlex.quote(sys.executable)} train.py {point['alpha']!r} {point['l1_ratio']!r}\n"
                    route.glue_lines = len(script.splitlines())
                    output = out.with_name(f"{out.name}-{k}.out")
                    submitted.append(jobs.submit(script, name="mlops-compare-mlflow", chdir=project, output=output))
                jobs.wait(submitted)
            except TimeoutError as exc:
                route.why = str(exc)
        route.jobs = jobs.records(ids)

    # --- route 3: sbatch scripts logging to the tracking server ---------------------------
    def _sbatch(self, ctx: Context, jobs, client, url: str, folder: Path, project: Path) -> slurm_jobs.Route:
        route = slurm_jobs.Route(
            "sbatch scripts logging to the tracking server on the login node",
            native=False,
            tracked=f"the tracking server ({url})",
            site="a long-running `mlflow server` on the login node that compute nodes reach, sbatch, a shared path",
        )
        experiment = client.create_experiment("exam-hpc-sbatch")
        start = time.perf_counter()
        exports = {"MLFLOW_TRACKING_URI": url, "MLFLOW_EXPERIMENT_ID": experiment}
        self._run_scripts(ctx, jobs, route, "sbatch jobs logging to mlflow server", exports, project, folder / "sbatch")
        route.seconds = time.perf_counter() - start
        route.configured = "the tracking server's URL and the experiment id exported in each job script"
        if not route.why:
            slurm_jobs.check_metrics(ctx, route, self._tracked(client, experiment))
        return route

    @staticmethod
    def _tracked(client, experiment: str) -> dict[str, dict[str, float]]:
        """{point_key: metrics} of the experiment's runs, read back from the server."""
        out = {}
        for run in client.search_runs([experiment], max_results=1000):
            if {"alpha", "l1_ratio"} <= set(run.data.params) and {"rmse", "mae", "r2"} <= set(run.data.metrics):
                out[slurm_jobs.point_of(run.data.params)] = {k: run.data.metrics[k] for k in ("rmse", "mae", "r2")}
        return out
