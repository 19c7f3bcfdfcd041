"""MLflow's `fan_out` check: MLflow has no parallelism of its own to fan a grid out with.

A tracking library: each run is logged by whatever process runs it. `mlflow run` starts one
project run (``synchronous=False`` returns at once and leaves bounding the parallelism to the
caller); no worker pool, no ``--max-workers``. What reaches past this machine are the project
backends, read here from MLflow's own code (built in: local, databricks, kubernetes; plugins
under the ``mlflow.project_backend`` entry point group, e.g. the third-party mlflow-slurm).
So: ``partial``, nothing to time (the plain runner's hand-written pool shows the speed-up a
user would write), with the backends the installed MLflow offers.
"""

from __future__ import annotations

import importlib.metadata

from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import MlflowTracking

# Dispatched by name inside mlflow.projects (not in its backend loader's table).
BUILT_IN = ("databricks", "kubernetes")


class FanOutCheck(MlflowTracking):
    def fan_out(self, ctx: Context) -> Outcome:
        from mlflow.projects.backend import loader

        plugins = sorted(e.name for e in importlib.metadata.entry_points(group=loader.ENTRYPOINT_GROUP_NAME))
        backends = [*loader.MLFLOW_BACKENDS, *BUILT_IN, *plugins]
        slurm = any("slurm" in name.lower() for name in plugins)
        numbers = {"points": len(ctx.points), "backends": ", ".join(backends), "backend_plugins": len(plugins)}
        numbers["slurm_backend"] = int(slurm)
        evidence = (
            "MLflow has no fan-out of its own: no worker pool or --max-workers; `mlflow run` starts one run "
            "(synchronous=False leaves bounding the parallelism to the caller), so a grid runs in parallel only "
            f"through a pool you write (see the plain runner's). Project backends in the installed MLflow: "
            f"{', '.join(backends)} ({len(plugins)} plugin(s) installed; "
            f"{'a Slurm backend is among them' if slurm else 'no Slurm backend: that is the third-party mlflow-slurm plugin'}); "
            "Slurm: the hpc check, also evidence for scaling"
        )
        return Outcome("partial", evidence, numbers)
