"""DVC's `fan_out` check: the grid's corner through DVC's own queue with ``-j 1`` and with ``-j 2`` workers.

The same sweep command as the grid, on the grid's corner (`fan_out_grid`), queued twice with
``--force`` (the grid put every point in DVC's run cache, which would otherwise restore the
results instead of running them), run by one worker and then by two. Each experiment runs
in its own temporary git clone, so the speed-up includes that per-experiment overhead, as a
user waiting for the grid sees it. DVC has no compute backend of its own: a stage is a shell
command (it may call ``sbatch``, which is what the hpc check measures).
"""

from __future__ import annotations

from mlops_compare.runners.checks.operations import WORKERS, fan_out_grid, speedup_outcome
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.sweeps import DvcSweeps


class FanOutCheck(DvcSweeps):
    def fan_out(self, ctx: Context) -> Outcome:
        grid = fan_out_grid(ctx.exam)
        points = len(grid["alpha"]) * len(grid["l1_ratio"])
        seconds, failed, queued = {}, [], []
        for k, jobs in enumerate(WORKERS, 1):
            names = self._sweep(ctx, grid, force=True)
            seconds[jobs], states = self._run_queue(ctx, names, jobs)
            failed += [name for name, state in states.items() if state != "success"]
            queued.append(len(names))
            ctx.progress(k, len(WORKERS), "fan_out")
        ok = queued == [points] * len(WORKERS)
        outcome = speedup_outcome(
            "`dvc exp run --queue --force -S ...` then `dvc queue start -j N` (one temporary git clone per experiment)",
            seconds,
            points,
            "none of its own (a stage is a shell command; it may call sbatch)",
            ok and not failed,
            extra=f"failed: {', '.join(failed)}" if failed else "",
            of=len(ctx.points),
        )
        outcome.numbers["slurm_backend"] = 0
        return outcome
