"""Timed sweeps through DVC's queue, for the grid, `fan_out` and `failure`: queue a grid, start N workers, wait.

`_sweep` ends any worker left from an earlier start (idle workers would take the new
experiments, and ``-j N`` adds N workers to those still alive), then queues a grid with one
``dvc exp run --queue -S alpha=... -S l1_ratio=...`` command; `_run_queue` starts ``dvc queue
start -j N`` and waits until every queued experiment has finished, timing from the start
command to the last one. Finished is read from git, cheaply, so polling does not slow the
workers: a success is an experiment ref (``refs/exps/../<baseline>/<name>``), a failure an
entry in the reflog of DVC's failed-queue stash (``refs/exps/celery/failed``); ``dvc queue
status`` is asked now and then as well, in case DVC keeps failures elsewhere one day.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable

from mlops_compare.infra import proctree
from mlops_compare.runners.context import Context
from mlops_compare.runners.dvc.repo import QUEUE_START_TIMEOUT, QUEUE_TIMEOUT, DvcRepo, _tool_env

QUEUED = re.compile(r"Queued experiment '([^']+)'")
FAILED_REF = "refs/exps/celery/failed"
STATUS_EVERY = 30.0  # seconds between `dvc queue status` calls (a fallback; each starts DVC: seconds when busy)
POLL = 0.25
GRACE = 10.0  # seconds an idle worker gets to exit on SIGTERM before SIGKILL


class DvcSweeps(DvcRepo):
    def _sweep(self, ctx: Context, grid: dict[str, list[float]], force: bool = False) -> list[str]:
        """Queue the grid's points (``--force``: run the stage even if DVC's run cache has the result).

        Workers left from an earlier start are ended first: idle ones would pick up the new
        experiments at once, and ``-j N`` adds N workers to those still alive. Not with ``dvc
        queue stop``: its shutdown broadcast stays in the queue's broker when the workers are
        already gone, and the next workers then stop after their first experiment (their log:
        "Got shutdown from remote"), leaving the rest queued. SIGTERM is a worker's warm shutdown.
        """
        proctree.kill(self._leftovers(ctx), grace=GRACE)
        out = self._dvc(
            ctx,
            "exp",
            "run",
            "--queue",
            *(["--force"] if force else []),
            "-S",
            "alpha=" + ",".join(repr(float(a)) for a in grid["alpha"]),
            "-S",
            "l1_ratio=" + ",".join(repr(float(r)) for r in grid["l1_ratio"]),
        )
        return QUEUED.findall(out)

    def _release_workers(self, ctx: Context) -> None:
        """Tell the queue's idle workers to go (SIGTERM, celery's warm shutdown), without waiting.

        Called where other work follows a finished queue: an idle worker needs about 3.5 s to
        notice (its broker loop), which then passes during that work instead of in the next
        `_sweep`, which waits for them. A worker still finishing an experiment completes it first.
        """
        proctree.terminate(self._leftovers(ctx))

    def _run_queue(
        self, ctx: Context, names: list[str], jobs: int, on_done: Callable[[str, str, str], None] | None = None
    ) -> tuple[float, dict[str, str]]:
        """Run the queue with *jobs* workers until every experiment of *names* is done.

        Returns the seconds from ``dvc queue start`` to the last one done and {name: "success" | "failed"}.
        *on_done(name, state, ref)* is called once per experiment as it is found done (*ref*: its
        experiment ref, "" for a failure); the grid sends each point's metrics from there.
        """
        start = time.perf_counter()
        ctx.run(["dvc", "queue", "start", "-j", str(jobs)], env=_tool_env(), output="file", timeout=QUEUE_START_TIMEOUT)
        limit = QUEUE_TIMEOUT[0] + QUEUE_TIMEOUT[1] * len(names)
        states: dict[str, str] = {}
        asked = time.monotonic()
        while True:
            done = {ref.rsplit("/", 1)[-1]: ref for ref in self._exp_refs(ctx)}
            failed = self._failed_names(ctx)
            if time.monotonic() - asked > STATUS_EVERY:
                failed |= set(self._queue_failed(ctx, [n for n in names if n not in states and n not in done]))
                asked = time.monotonic()
            for name in names:
                if name in states:
                    continue
                if name in done or name in failed:
                    states[name] = "success" if name in done else "failed"
                    if on_done is not None:
                        on_done(name, states[name], done.get(name, ""))
            if len(states) == len(names):
                return time.perf_counter() - start, states
            if time.perf_counter() - start > limit:
                raise TimeoutError(f"the queue did not finish {len(names)} experiment(s) in {limit:g} s")
            time.sleep(POLL)

    def _failed_names(self, ctx: Context) -> set[str]:
        """Experiments DVC's queue recorded as failed (reflog messages ``dvc-exp:<rev>:<rev>:<name>``)."""
        proc = subprocess.run(
            ["git", "log", "-g", "--format=%gs", FAILED_REF], cwd=ctx.workspace, capture_output=True, text=True
        )
        return {line.rsplit(":", 1)[-1] for line in proc.stdout.splitlines()} if proc.returncode == 0 else set()

    def _queue_failed(self, ctx: Context, names: list[str]) -> dict[str, str]:
        """The failed ones among *names*, as ``dvc queue status`` shows them."""
        out = ctx.run(["dvc", "queue", "status"], env=_tool_env(), output="capture", timeout=60)
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1] in names and parts[-1] == "Failed":
                found[parts[1]] = "failed"
        return found
