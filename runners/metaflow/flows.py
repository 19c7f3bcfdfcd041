"""Running the example's flow and reading it back through Metaflow's client: the helpers the checks share."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, ClassVar

from mlops_compare.example import common
from mlops_compare.runners.context import Context

FLOW = "TrainFlow"
FLOW_FILE = "flow.py"
USER = "mlops-compare"
MAX_WORKERS = 2
FLOW_TIMEOUT = 600.0  # seconds for one `python flow.py run`: the launcher's timeout is the outer bound
TREE = "DecisionTreeRegressor"
# "2026-01-01 12:00:00.000 [1795715590695343/train/2 (pid 6020)] Task finished successfully."
TASK_DONE = re.compile(r"\[(\d+)/(\w+)/(\d+) \(pid \d+\)\] Task finished successfully")
RUN_START = re.compile(r"Workflow starting \(run-id (\d+)\)")


def _floats(values: list[Any]) -> str:
    return json.dumps([float(v) for v in values])


class MetaflowFlows:
    """Helpers every check of this runner uses; mixed into `MetaflowRunner`."""

    # The runner's state the checks share (set by `MetaflowRunner`) and its class attributes (`Runner`).
    name: ClassVar[str]
    grid_run: str  # "" until `grid` ran
    logged: dict[str, dict[str, float]]
    retrieved: dict[str, dict[str, float]]

    @staticmethod
    def _environment(workspace: Path) -> dict[str, str]:
        """Metaflow's local datastore, local metadata and caches, all inside the workspace."""
        return {
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DEFAULT_METADATA": "local",
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(workspace),
            "METAFLOW_CLIENT_CACHE_PATH": str(workspace / "home" / ".cache" / "metaflow_client"),
            "METAFLOW_HOME": str(workspace / "home" / ".metaflowconfig"),
            "METAFLOW_USER": USER,
            "USERNAME": USER,
        }

    def _client(self):
        import metaflow

        metaflow.namespace(f"user:{USER}")
        return metaflow

    def _flow(
        self,
        ctx: Context,
        args: list[str],
        on_task=None,
        env: dict[str, str] | None = None,
        timeout: float = FLOW_TIMEOUT,
    ) -> str:
        """``python flow.py run ARGS``, streaming its lines; returns the run id.

        *on_task(run_id, step, task_id)* is called as each task finishes; *env* is added to the
        flow's environment (e.g. another datastore).
        """
        argv = [sys.executable, FLOW_FILE, "--no-pylint", "run", "--max-workers", str(MAX_WORKERS), *args]
        found: list[str] = []

        def on_line(line: str) -> None:
            if not found and (match := RUN_START.search(line)):
                found.append(match.group(1))
            elif (match := TASK_DONE.search(line)) and on_task is not None:
                on_task(match.group(1), match.group(2), match.group(3))

        ctx.run(argv, on_line=on_line, env=env, timeout=timeout)
        if not found:
            raise RuntimeError("`python flow.py run` printed no run id")
        return found[0]

    def _run(self, run_id: str):
        return self._client().Run(f"{FLOW}/{run_id}")

    def _train_tasks(self, run_id: str) -> dict[str, Any]:
        """{point_key: Task} of a run's train step, through the client API."""
        return {
            common.point_key(task.data.alpha, task.data.l1_ratio): task for task in self._run(run_id)["train"].tasks()
        }
