"""Metaflow's `fan_out` check: the foreach over the grid's corner at ``--max-workers 1`` and ``--max-workers 2``.

Both runs are whole ``python flow.py run`` commands (start, one train task per point, join,
end), timed from start to exit: the speed-up a user waiting for the grid sees. The bigger
backends are the installed compute decorators (``@batch``, ``@kubernetes``; Slurm only with
the separate metaflow-slurm extension), read from Metaflow's own plugin list.
"""

from __future__ import annotations

from mlops_compare.runners.checks.operations import WORKERS, fan_out_grid, speedup_outcome
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, _floats
from mlops_compare.runners.metaflow.timed_runs import TimedRuns

REMOTE = ("batch", "kubernetes", "slurm")  # step decorators that run a task off this machine


class FanOutCheck(TimedRuns):
    def fan_out(self, ctx: Context) -> Outcome:
        from metaflow.plugins import STEP_DECORATORS

        grid = fan_out_grid(ctx.exam)
        points = len(grid["alpha"]) * len(grid["l1_ratio"])
        args = ["--alphas", _floats(grid["alpha"]), "--l1_ratios", _floats(grid["l1_ratio"])]
        seconds, runs = {}, {}
        for k, workers in enumerate(WORKERS, 1):
            runs[workers], seconds[workers], _ = self._timed_flow(ctx, "run", args, max_workers=workers)
            ctx.progress(k, len(WORKERS), "fan_out")
        tasks = {w: len(list(self._run(r)["train"].tasks())) for w, r in runs.items()}
        ok = all(self._run(r).successful for r in runs.values()) and set(tasks.values()) == {points}
        installed = {d.name for d in STEP_DECORATORS}
        backends = [f"@{name}" for name in REMOTE if name in installed]
        text = ", ".join(backends) or "none"
        if "slurm" not in installed:
            text += " (no Slurm: that is the separate metaflow-slurm extension, not installed)"
        outcome = speedup_outcome(
            f"foreach over the grid, `python flow.py run --max-workers N` (runs {FLOW}/{runs[1]} and {runs[2]})",
            seconds,
            points,
            text,
            ok,
            of=len(ctx.points),
        )
        outcome.numbers["slurm_backend"] = int("slurm" in installed)
        return outcome
