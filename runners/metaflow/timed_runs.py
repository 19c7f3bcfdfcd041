"""Timed ``python flow.py run|resume`` with a chosen ``--max-workers``, for `fan_out` and `failure`.

Unlike `flows.MetaflowFlows._flow` (the exam's runs), these may run in another folder (a
copy of the example a check edits) and may fail on purpose: the run id and exit code come
back either way, with the wall seconds from start to Metaflow's exit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mlops_compare.runners.context import Context
from mlops_compare.runners.metaflow.flows import FLOW_FILE, FLOW_TIMEOUT, RUN_START, MetaflowFlows


class TimedRuns(MetaflowFlows):
    def _timed_flow(
        self,
        ctx: Context,
        command: str,
        args: list[str],
        max_workers: int,
        cwd: Path | None = None,
        check: bool = True,
    ) -> tuple[str, float, list[str]]:
        """``python flow.py COMMAND --max-workers N ARGS``: (run id, seconds, output lines)."""
        argv = [sys.executable, FLOW_FILE, "--no-pylint", command, "--max-workers", str(max_workers), *args]
        start = time.perf_counter()
        output = ctx.run(argv, cwd=cwd, check=check, timeout=FLOW_TIMEOUT)
        seconds = time.perf_counter() - start
        found = RUN_START.search(output)
        if found is None:
            raise RuntimeError(f"`python flow.py {command}` printed no run id")
        return found.group(1), seconds, output.splitlines()
