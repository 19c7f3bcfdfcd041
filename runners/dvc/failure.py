"""DVC's `failure` check: a queued experiment that fails, found with `dvc exp show` and `dvc queue logs`.

The failing grid (`operations.failing_grid`) is queued as one sweep with ``--force`` (so the
first attempt really runs every point) and run by the grid's ``-j 2`` workers. The failed
experiment shows in ``dvc exp show --json`` with state ``failed`` and its parameters, and
``dvc queue logs NAME`` prints the stage's output with its traceback. The user then corrects
the bad value and queues the corrected grid again with the same command (without
``--force``): DVC's run cache knows the finished points (same code, data and params) and
restores their results instead of running the stage (or finds the stage unchanged against
the baseline's dvc.lock), which each experiment's log says.
"""

from __future__ import annotations

from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks.operations import (
    BAD_ALPHA,
    ERROR,
    TRACEBACK,
    corrected_grid,
    failing_grid,
    failure_outcome,
    is_bad,
)
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import JOBS, _tool_env
from mlops_compare.runners.dvc.sweeps import DvcSweeps

RAN = "Running stage 'train'"  # else the log says "is cached - skipping run" or "didn't change, skipping"


class FailureCheck(DvcSweeps):
    def failure(self, ctx: Context) -> Outcome:
        grid = failing_grid(ctx.exam["grid"])
        names = self._sweep(ctx, grid, force=True)
        first_seconds, states = self._run_queue(ctx, names, JOBS)
        self._release_workers(ctx)  # they leave while the failure is looked up
        ctx.progress(1, 2, "failure")
        shown = {e["name"]: e for e in self._experiments(self._exp_show(ctx)) if e["name"] in names}
        bad = [n for n, e in shown.items() if float(e["params"].get("alpha", 0)) == BAD_ALPHA]
        finished = [n for n in names if states.get(n) == "success"]
        found = bool(bad) and all(shown[n]["state"] == "failed" and states.get(n) == "failed" for n in bad)
        logs = ctx.run(["dvc", "queue", "logs", bad[0]], env=_tool_env(), output="capture", check=False) if bad else ""
        lines = logs.splitlines()
        traceback = lines[next((i for i, line in enumerate(lines) if TRACEBACK in line), len(lines)) :]

        fixed = corrected_grid(ctx.exam["grid"])
        again = self._sweep(ctx, fixed)
        resume_seconds, again_states = self._run_queue(ctx, again, JOBS)
        self._release_workers(ctx)  # they leave while the later checks run
        ctx.progress(2, 2, "failure")
        show = self._exp_show(ctx)
        params = {e["name"]: e["params"] for e in self._experiments(show) if e["name"] in again}
        logged = self._logs(show)
        good = {common.point_key(p["alpha"], p["l1_ratio"]) for p in common.grid_points(grid) if not is_bad(p)}
        restored = redone = 0
        for name in again:
            key = common.point_key(float(params[name]["alpha"]), float(params[name]["l1_ratio"]))
            text = Path(logged[name]).read_text(errors="replace") if name in logged else ""
            if key in good:  # restored from the run cache, or unchanged against dvc.lock; no log: count it redone
                redone += RAN in text or not text
                restored += bool(text) and RAN not in text
        complete = len(again) == len(names) and all(s == "success" for s in again_states.values())
        evidence = (
            f"failing grid ({len(names)} points, alpha {BAD_ALPHA:g} last) queued with one sweep (--force) and run "
            f"by `dvc queue start -j {JOBS}`: {len(finished)} succeeded; `dvc exp show --json` lists "
            f"{', '.join(bad) or 'no failed experiment'} with state {shown[bad[0]]['state'] if bad else '-'} and its "
            f"params, `dvc queue logs {bad[0] if bad else 'NAME'}` prints a {len(traceback)}-line traceback"
            + (f" naming {ERROR}" if any(ERROR in line for line in traceback) else "")
            + f"; the corrected grid (alpha {BAD_ALPHA:g} -> {fixed['alpha'][-1]:g}) queued again without --force: "
            f"DVC restored {restored} finished point(s) (run cache, or unchanged against dvc.lock), {redone} ran again, "
            + ("all succeeded" if complete else "NOT all succeeded")
        )
        return failure_outcome(
            found,
            len(traceback),
            len(finished),
            redone if complete else None,
            first_seconds,
            resume_seconds if complete else None,
            evidence,
        )

    @staticmethod
    def _logs(show: list[dict]) -> dict[str, str]:
        """{experiment name: its queue log file}, as `dvc exp show --json` records them."""
        out = {}
        for baseline in show:
            for exp in baseline.get("experiments") or []:
                log = ((exp.get("executor") or {}).get("local") or {}).get("log")
                for rev in exp.get("revs") or []:
                    if log and rev.get("name"):
                        out[rev["name"]] = log
        return out
