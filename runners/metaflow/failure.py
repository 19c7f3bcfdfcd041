"""Metaflow's `failure` check: a foreach branch that fails, found with the client, then `resume`.

The failing grid (`operations.failing_grid`) runs with ``--max-workers 1`` so the failing
task comes after every good one: Metaflow stops a run at its first failed task and kills
the tasks still running, so with more workers which points "finished" would be a race.
The client then shows the run unsuccessful and the failed task with its exception and its
stderr (the traceback). Parameters are frozen on ``resume`` (it reuses the origin run's), so
a bad value cannot be corrected there: the fix goes into the code (``alpha < 0`` is fitted
at 0), and ``python flow.py resume --origin-run-id ID`` clones the tasks that succeeded and
runs the rest. The check works in a copy of the example (``failure/``), so the flow the
later checks use stays the one in example/metaflow/.
"""

from __future__ import annotations

import shutil

from mlops_compare.example import common
from mlops_compare.runners.checks.operations import ERROR, TRACEBACK, failing_grid, failure_outcome, is_bad
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, FLOW_FILE, _floats
from mlops_compare.runners.metaflow.timed_runs import TimedRuns

FIT = "        model.fit(train_x, train_y)\n"
FIX = "        if self.alpha < 0:  # the fix: ElasticNet needs alpha >= 0\n            model.set_params(alpha=0.0)\n"


class FailureCheck(TimedRuns):
    def failure(self, ctx: Context) -> Outcome:
        folder = ctx.workspace / "failure"
        folder.mkdir(exist_ok=True)
        for name in (FLOW_FILE, "common.py", common.EXAM_FILE, common.DATA_FILE):
            shutil.copy2(ctx.workspace / name, folder / name)
        grid = failing_grid(ctx.exam["grid"])
        points = common.grid_points(grid)
        good = [common.point_key(**p) for p in points if not is_bad(p)]
        args = ["--alphas", _floats(grid["alpha"]), "--l1_ratios", _floats(grid["l1_ratio"])]

        failed_run, first_seconds, _ = self._timed_flow(ctx, "run", args, max_workers=1, cwd=folder, check=False)
        ctx.progress(1, 2, "failure")
        run = self._run(failed_run)
        failed = [t for t in run["train"].tasks() if not t.successful]
        finished = [t for t in run["train"].tasks() if t.successful]
        stderr = failed[0].stderr.splitlines() if failed else []
        traceback = stderr[next((i for i, line in enumerate(stderr) if TRACEBACK in line), len(stderr)) :]
        found = not run.successful and bool(failed) and failed[0].data.alpha < 0
        exception = failed[0].exception if failed else None

        text = (folder / FLOW_FILE).read_text()
        if text.count(FIT) != 1:
            raise RuntimeError(f"cannot apply the fix: {FIT.strip()!r} is not in {FLOW_FILE} exactly once")
        (folder / FLOW_FILE).write_text(text.replace(FIT, FIX + FIT))
        resumed, resume_seconds, _ = self._timed_flow(
            ctx, "resume", ["--origin-run-id", failed_run], max_workers=1, cwd=folder
        )
        ctx.progress(2, 2, "failure")
        tasks = {common.point_key(t.data.alpha, t.data.l1_ratio): t for t in self._run(resumed)["train"].tasks()}
        cloned = [key for key, task in tasks.items() if task.origin_pathspec]
        redone = [key for key in good if key in tasks and not tasks[key].origin_pathspec]
        complete = self._run(resumed).successful and len(tasks) == len(points)
        evidence = (
            f"failing grid ({len(points)} points, alpha {grid['alpha'][-1]:g} last) as {FLOW}/{failed_run} with "
            f"--max-workers 1: Run.successful {run.successful}, {len(finished)} train task(s) finished, the failed one "
            f"found through the client with its exception ({type(exception).__name__ if exception else 'none'}) "
            f"and a {len(traceback)}-line traceback in Task.stderr"
            + (f" naming {ERROR}" if any(ERROR in line for line in traceback) else "")
            + f"; Parameters are frozen on resume, so the fix went into the code (alpha < 0 fitted at 0); "
            f"`python flow.py resume --origin-run-id {failed_run}` ({FLOW}/{resumed}) cloned {len(cloned)} train "
            f"task(s), ran {len(redone)} finished point(s) again, "
            + ("completed the grid" if complete else "did NOT complete the grid")
        )
        outcome = failure_outcome(
            found,
            len(traceback),
            len(finished),
            len(redone) if complete else None,
            first_seconds,
            resume_seconds if complete else None,
            evidence,
        )
        outcome.numbers.update({"failed_run": failed_run, "resumed_run": resumed, "cloned_tasks": len(cloned)})
        return outcome
