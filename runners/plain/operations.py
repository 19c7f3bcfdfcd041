"""The plain baseline's `fan_out`, `failure` and `ui`: what a user gets with no tool at all.

fan_out: the example's ``train()`` per point from a multiprocessing pool written by hand, at 1
and 2 workers (forked from the runner, so each point is the training alone: no start-up). failure: the failing point's traceback goes to stderr
and nowhere else; nothing records which points finished, so continuing is by hand. ui: none.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable

from mlops_compare.example import common
from mlops_compare.runners.checks.operations import (
    ERROR,
    TRACEBACK,
    WORKERS,
    failing_grid,
    fan_out_grid,
    is_bad,
    speedup_outcome,
)
from mlops_compare.runners.context import Context, Outcome

# the example's train(), for the forked pool workers (a function loaded from a file cannot be pickled)
_train: Callable[[float, float], dict[str, float]] | None = None


def _train_point(alpha: float, l1_ratio: float) -> dict[str, float]:
    assert _train is not None, "set before the pool forks"
    return _train(alpha, l1_ratio)


class PlainOperations:
    def _train_command(self, point: dict[str, float]) -> list[str]:
        return [sys.executable, "train.py", repr(point["alpha"]), repr(point["l1_ratio"])]

    def fan_out(self, ctx: Context) -> Outcome:
        global _train
        _train = ctx.load_module(ctx.workspace / "train.py", "_mlops_compare_plain_fan_out").train
        points = common.grid_points(fan_out_grid(ctx.exam))
        seconds = {}
        for k, workers in enumerate(WORKERS, 1):
            start = time.perf_counter()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                pool.starmap(_train_point, [(p["alpha"], p["l1_ratio"]) for p in points])
            seconds[workers] = time.perf_counter() - start
            ctx.progress(k, len(WORKERS), "fan_out")
        outcome = speedup_outcome(
            "no tool: train() per point from a multiprocessing pool written by hand (forked, so imports are shared)",
            seconds,
            len(points),
            "none (no tool)",
            ok=True,
            of=len(ctx.points),
        )
        return Outcome("partial", outcome.evidence, outcome.numbers)  # parallel, but only by hand

    def failure(self, ctx: Context) -> Outcome:
        bad = next(p for p in common.grid_points(failing_grid(ctx.exam["grid"])) if is_bad(p))
        start = time.perf_counter()
        output = ctx.run(self._train_command(bad), check=False)  # stdout and stderr, as the user sees them
        seconds = time.perf_counter() - start
        lines = output.splitlines()
        traceback = lines[next((i for i, line in enumerate(lines) if TRACEBACK in line), len(lines)) :]
        numbers = {
            "found": 0,
            "traceback": int(bool(traceback)),
            "traceback_lines": len(traceback),
            "first_seconds": round(seconds, 2),
        }
        evidence = (
            f"no tool: `python train.py {bad['alpha']:g} {bad['l1_ratio']:g}` printed a {len(traceback)}-line traceback "
            f"({'naming ' + ERROR if any(ERROR in line for line in traceback) else 'see the log'}) on stderr "
            "and nothing else: no record of which points finished or failed; continuing means re-running points by hand"
        )
        return Outcome("partial", evidence, numbers)

    def ui(self, ctx: Context) -> Outcome:
        return Outcome("skip", "baseline, no tool: no UI; results exist only as printed output")
