"""A runner split in two under the Slurm executor: a batch job, then a login-node side.

Checks whose work is more Slurm jobs (the hpc grid; the concurrency check's job array when
[exam.hpc] is set) would, inside a runner's batch job, hold its allocation while their own
jobs queue behind it on a full partition. Such a check says so in its core module
(``SUBMITS_JOBS = True`` in ``core/checks/<id>.py``); `split_exam` sends it to the login-node
side and `SplitRun` runs the job part first, then those checks in a local runner process.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Set
from typing import Any

from mlops_compare import checks, events
from mlops_compare.executors import local as launcher
from mlops_compare.executors.slurm import SlurmJob

_FINAL_ORDER = ("passed", "failed", "unavailable", "timeout", "error", "cancelled")  # the worse wins


def login_side_checks() -> tuple[str, ...]:
    """The checks that submit Slurm jobs themselves (``SUBMITS_JOBS`` in their core module), in table order."""
    return tuple(c.id for c in events.CHECKS if getattr(checks.rules(c.id), "SUBMITS_JOBS", False))


def split_exam(exam: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the batch job's exam, the login side's exam): either may be None when it has nothing to do.

    Only checks that are chosen and switched on (their `[exam.*]` table present) go to the
    login side; the job runs the rest. A job left with setup alone is not submitted.
    """
    chosen = events.selected(exam.get("checks"))
    login = [c for c in login_side_checks() if c in chosen and exam.get(events.CHECKS_BY_ID[c].enabled_by) is not None]
    if not login or exam.get("hpc") is None:
        return dict(exam), None
    rest = [c for c in events.CHECK_IDS if c in chosen and c not in login]
    job = {**exam, "checks": rest} if set(rest) - {"setup"} else None
    return job, {**exam, "checks": login}


class SplitRun(launcher.RunnerProcess):
    """A runner whose checks include some that submit Slurm jobs themselves (`login_side_checks`).

    First the batch job (`SlurmJob`) runs every other check; then, on this side (the login
    node), a local runner process runs those checks: it submits their jobs and waits for them
    without holding any allocation. One record for both: the job's checks, metrics and Slurm
    state, then the login-side checks; the worse of the two results. SIGHUP during the job
    detaches it as any `SlurmJob` (`run --attach` runs the login-side part once it is collected).
    """

    def __init__(self, request, on_event=None, store=None, *, job: SlurmJob | None, login_exam: dict[str, Any]):
        super().__init__(request, on_event, store)
        self.job = job
        self.login_exam = login_exam
        self.local: launcher.RunnerProcess | None = None
        self._results: list[tuple[str, str]] = []  # (status, reason) of each part
        if job is not None:
            job.on_event = self._from_job
            job.store = None
            self.token = job.token
            self.record.workspace = job.record.workspace

    # what `detached.ticket` and the headless summary read, as from a SlurmJob
    job_id = property(lambda self: self.job.job_id if self.job else None)
    submitted = property(lambda self: self.job.submitted if self.job else None)
    folder = property(lambda self: self.job.folder if self.job else None)
    left_running = property(lambda self: bool(self.job and self.job.left_running))

    def detach(self) -> None:
        if self.job is not None and self.local is None:
            self.job.detach()
        else:
            self.cancel("stopped by SIGHUP: the terminal or SSH session was closed")

    def cancel(self, reason: str = "cancelled by the user", status: str = "cancelled") -> None:
        if self._stop_reason is None:
            self._stop_reason = (status, reason)
        if self.local is not None:
            self.local.cancel(reason, status)
        elif self.job is not None:
            self.job.cancel(reason, status)

    def _relay(self, event: dict[str, Any], own: set[str] | None, drop: Set[str] = frozenset()) -> None:
        kind = event.get("type")
        if kind == "result":
            self._results.append((event.get("status", "error"), event.get("reason", "")))
            if event.get("tool_version"):
                self.record.tool_version = event["tool_version"]
            return
        if kind == "check" and ((own is not None and event.get("id") not in own) or event.get("id") in drop):
            return  # the other part's check, reported here as skipped ("not chosen")
        if kind == "metric" and own is not None:
            return  # the login side's setup re-runs nothing of the grid; the job's metrics stand
        self._emit(event)

    def _from_job(self, tool: str, event: dict[str, Any]) -> None:
        self._relay(event, None, set(self.login_exam["checks"]))

    def _from_local(self, tool: str, event: dict[str, Any]) -> None:
        self._relay(event, set(self.login_exam["checks"]))

    def submit_detached(self) -> bool:
        """``--detach``: submit the job part; the login-side part runs when the run is attached."""
        if self.job is None:
            self.record.start()
            checks = ", ".join(self.login_exam["checks"])
            self._finish("error", f"--detach: {checks} run on the login-node side, not as a job: run without --detach")
            self._save()
            return False
        if self.job.submit_detached():
            return True
        self.record.executor = self.job.record.executor
        self._finish(*self._combined())
        self._save()
        return False

    async def run(self):
        try:
            return await self._run()
        except asyncio.CancelledError:
            if not self.record.finished:
                self._finish(*(self._stop_reason or ("cancelled", "cancelled by the user (interrupted)")))
                self._save()
            raise

    async def _run(self):
        self.record.start()
        if self.job is not None:
            self.record.executor = self.job.info()
            self.started.set()
            await self.job.run()
            self.record.executor = self.job.record.executor
            if self.job.left_running:
                return self.record  # detached (SIGHUP): attach finishes it
            status = self._results[-1][0] if self._results else "error"
            if status not in ("passed", "failed") or self._stop_reason is not None:
                self._finish(*self._combined())
                return self._save()
        if self._stop_reason is not None:
            self._finish(*self._stop_reason)
            return self._save()
        checks = ", ".join(self.login_exam["checks"])
        self._emit(
            events.make("log", line=f"{checks}: run on this (login-node) side, not inside a job", stream="slurm")
        )
        request = dataclasses.replace(self.request, exam=self.login_exam)
        self.local = launcher.RunnerProcess(request, self._from_local, None)
        self.local.token = self.token
        waiter = asyncio.ensure_future(self.local.started.wait())
        task = asyncio.ensure_future(self.local.run())
        await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
        self.pgid = self.local.pgid
        self.started.set()
        if self.job is None:
            self.record.workspace = self.local.record.workspace
        await task
        self._finish(*self._combined())
        return self._save()

    def _combined(self) -> tuple[str, str]:
        if not self._results:
            return self._stop_reason or ("error", "neither the job nor the login side reported a result")
        status = max((s for s, _ in self._results), key=lambda s: _FINAL_ORDER.index(s) if s in _FINAL_ORDER else 4)
        reasons = "; ".join(r for _, r in self._results if r)
        return status, reasons
