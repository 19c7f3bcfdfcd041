"""Metaflow's `languages` check: a flow defined and run in a notebook, with a step calling a shell script.

Metaflow's way into notebooks is ``NBRunner``: a FlowSpec defined in a notebook cell runs as
a real flow. The notebook (executed headless by ``jupyter execute``) defines ``NotebookFlow``:
one step trains a grid point, the next calls ``stats.sh`` with subprocess and keeps its
output as an artifact. The run, its artifacts and the shell step's stdout are read back
through the client API.
"""

from __future__ import annotations

import time

from mlops_compare.runners.checks import languages as steps
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import MetaflowFlows

NOTEBOOK_FLOW = "NotebookFlow"


class LanguagesCheck(MetaflowFlows):
    def languages(self, ctx: Context) -> Outcome:
        start = time.perf_counter()
        folder, point = steps.prepare(ctx, "notebook_metaflow.ipynb")
        ctx.run(steps.execute_argv(), cwd=folder, timeout=300)
        seconds = time.perf_counter() - start

        client = self._client()
        run = client.Flow(NOTEBOOK_FLOW).latest_run
        trained, shell = run["start"].task, run["shell"].task
        expected = steps.expected_stats(ctx)
        shell_ok = steps.stats_match(shell.data.stats, expected) and "rows:" in shell.stdout
        notebook_ok = (
            run.successful
            and {"alpha": trained.data.alpha, "l1_ratio": trained.data.l1_ratio} == point
            and steps.metrics_match(ctx, point, trained.data.metrics)
        )
        numbers = {
            "shell_rows": int(shell.data.stats.get("rows", -1)),
            "shell_ok": int(shell_ok),
            "notebook_ok": int(notebook_ok),
            "run_id": run.id,
            "r": 0,
            "seconds": round(seconds, 2),
        }
        evidence = (
            f"`jupyter execute notebook.ipynb`: a cell defines {NOTEBOOK_FLOW} and runs it with NBRunner as run "
            f"{run.pathspec} ({'successful' if run.successful else 'NOT successful'}); its step 'shell' called "
            f"`sh stats.sh` (POSIX sh + awk) with subprocess: artifact stats {shell.data.stats} "
            f"({'equal to' if shell_ok else 'NOT'} the data's) and the script's output in the task's stdout log; "
            f"its step 'start' trained alpha={point['alpha']:g}, l1_ratio={point['l1_ratio']:g}: metrics artifact "
            f"{'equal to' if notebook_ok else 'NOT equal to'} the plain baseline; read back with the client API; "
            f"{steps.r_step()} (a step would call Rscript the same way); {seconds:.1f} s"
        )
        return Outcome(steps.status(shell_ok, notebook_ok), evidence, numbers)
