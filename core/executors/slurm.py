"""The Slurm executor: each runner as one batch job, followed through its events file.

`SlurmJob` is a `launcher.RunnerProcess` whose process is a batch job: `run_many`, the
headless progress and the TUI relay drive it exactly like a local runner (`cancel`,
`started`, the record and the store). The job runs `python -m mlops_compare.executors.slurm_job`
(see there) in a folder on the shared path:

    <folder>/exam.json  job.json  events.jsonl  job.out  workspace/

The parent follows ``events.jsonl`` (`event_tail.EventTail`) and asks Slurm for the job's
state every `SlurmOptions.poll` seconds; each change (pending and why, running on which
node, how it ended) becomes a ``log`` event of stream ``slurm``. The runner's timeout counts
from the job's start, the queue wait has its own limit, and a controller that stops
answering is given `SlurmOptions.controller_grace` seconds: each ends as a stored record
with the reason, and the job is `scancel`-ed. A job that ends without a ``result`` event
(failed, over its time limit, cancelled outside, node failure, out of memory, gone) gets
a record whose reason carries Slurm's state and reason.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_compare import events, registry
from mlops_compare.executors import local as launcher
from mlops_compare.executors.event_tail import EventTail
from mlops_compare.executors.slurm_options import SlurmOptions
from mlops_compare.infra import slurm

JOB_MODULE = "mlops_compare.executors.slurm_job"
TICK = 0.25  # seconds between reads of the events file
CANCEL_WAIT = 60.0  # seconds to wait for a cancelled job to leave the queue
RESULT_GRACE = 30.0  # seconds a job may stay in the queue after its result before it is cancelled
_LIVE_JOBS: dict[str, dict[str, str]] = {}  # job id -> env of its Slurm commands, while followed


class SlurmJob(launcher.RunnerProcess):
    """One runner as one batch job. With *job_id*, follows a job submitted earlier (attach)."""

    def __init__(
        self,
        request: launcher.RunRequest,
        on_event: launcher.EventCallback | None = None,
        store=None,
        *,
        options: SlurmOptions,
        folder: str | Path,
        job_id: str | None = None,
        submitted: str | None = None,  # ISO time of the submission, for an attached job
    ):
        super().__init__(request, on_event, store)
        self.options = options
        self.folder = Path(folder).resolve()
        self.job_id = job_id
        self.submitted = submitted
        self.state: slurm.JobState | None = None
        self.events_path = self.folder / "events.jsonl"
        self.workspace = self.folder / "workspace"
        self._tail = EventTail(self.events_path)
        self._wake = asyncio.Event()
        self._submitted_at: float | None = None  # monotonic
        self._running_at: float | None = None  # monotonic, when the job was first seen running
        self._last_runner_line = ""
        self._detached = False  # stop following and leave the job running (SIGHUP: see `detach`)
        self.record.workspace = str(self.workspace)

    # --- submission -----------------------------------------------------------------------

    def submit(self) -> str:
        """Write the job's files and sbatch it (blocking; raises slurm.SlurmError); return the job id."""
        request = self.request
        module = request.module
        if module is None:
            runner = registry.available().get(request.tool)
            if runner is None:
                raise slurm.SlurmError(
                    f"no runner called {request.tool!r} (installed: {', '.join(registry.available())})"
                )
            module = runner.module
        self.workspace.mkdir(parents=True, exist_ok=True)
        (self.folder / "exam.json").write_text(json.dumps(request.exam))
        job = {
            "module": module,
            "exam": str(self.folder / "exam.json"),
            "workspace": str(self.workspace),
            "events": str(self.events_path),
            "token": self.token,
            "env": dict(request.env or {}),
        }
        job_file = self.folder / "job.json"
        job_file.touch(mode=0o600)  # extra environment may hold site settings: the user's eyes only
        job_file.write_text(json.dumps(job, indent=1))
        self.job_id = slurm.submit(
            [request.python, "-m", JOB_MODULE, str(job_file)],
            name=f"mlops-compare-{request.tool}",
            chdir=self.workspace,
            output=self.folder / "job.out",
            partition=self.options.partition,
            account=self.options.account,
            time_limit=self.options.time_for(request.timeout),
            cpus=self.options.cpus,
            mem=self.options.mem,
            extra=self.options.options,
            env=self.options.env,
            timeout=self.options.command_timeout,
        )
        self._submitted_at = time.monotonic()
        self.submitted = datetime.now(UTC).isoformat(timespec="seconds")
        return self.job_id

    def submit_detached(self) -> bool:
        """Submit without following (``--detach``); when sbatch refuses, store the record with its message."""
        self.record.start()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.submit()
        except (slurm.SlurmError, OSError) as exc:
            self.record.executor = self.info()
            self._finish("error", str(exc))
            self._save()
            return False
        return True

    async def _submit(self) -> bool:
        """Submit from a thread; False (record finished) when sbatch refused."""
        self.folder.mkdir(parents=True, exist_ok=True)
        future = asyncio.ensure_future(asyncio.to_thread(self.submit))
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            # sbatch cannot be interrupted half-way: let it answer, then take the job out again
            with contextlib.suppress(Exception):
                await asyncio.wait_for(future, self.options.command_timeout + 5)
            if self.job_id is not None:
                self._scancel_now()
            raise
        except (slurm.SlurmError, OSError) as exc:
            self._finish("error", str(exc))
            return False
        self._note(f"submitted as Slurm job {self.job_id} ({' '.join(self.sbatch_args()) or 'site defaults'})")
        return True

    def sbatch_args(self) -> list[str]:
        return self.options.sbatch_args(self.request.timeout)

    # --- following ------------------------------------------------------------------------

    def cancel(self, reason: str = "cancelled by the user", status: str = "cancelled") -> None:
        """Stop the job (scancel) from anywhere; `run` then returns with *status*."""
        if self._stop_reason is None:
            self._stop_reason = (status, reason)
        self._wake.set()

    def detach(self) -> None:
        """Stop following the job and leave it queued or running (a dropped terminal, SIGHUP).

        `run` then returns without storing a record, unless the result is already in; the
        caller writes a detached run's state file (`detached.save`) so `run --attach` collects it.
        """
        self._detached = True
        self._wake.set()

    @property
    def left_running(self) -> bool:
        """True when `detach` ended the following with the job still to be collected."""
        return self._detached and self.job_id is not None and not self.record.finished

    async def run(self):
        self.record.start()
        self.record.executor = self.info()
        if self._stop_reason is not None:  # cancelled before it was submitted
            self._finish(*self._stop_reason)
            return self._save()
        if self.job_id is None:
            if self._detached:  # the terminal went away before this job was submitted: never submit it
                self._finish("cancelled", "not submitted: mlops-compare was detached (SIGHUP) before its turn")
                return self._save()
            # the tool environment is found or built here, on the login node (a shared envs folder
            # makes it the compute node's too); the job runs with its interpreter
            if self.request.environment is not None and not await self.environment():
                return self._save()
            if not await self._submit():
                return self._save()
        else:
            self._note(f"following Slurm job {self.job_id} (submitted {self.submitted or 'earlier'})")
        self.started.set()
        _LIVE_JOBS[self._job_id] = dict(self.options.env)
        try:
            await self._follow()
            if self.left_running:  # detached: the job runs on, `run --attach` stores its record
                self._emit_all(self._tail.read())
                if self.left_running:
                    self._note(f"detached from Slurm job {self.job_id}: it keeps running")
                    return self.record
        except asyncio.CancelledError:
            self._stop_reason = self._stop_reason or ("cancelled", "cancelled by the user (interrupted)")
            try:
                await self._scancel_and_wait(limit=launcher.KILL_GRACE * 2)
            except asyncio.CancelledError:  # cancelled again while stopping: no more waiting
                self._scancel_now()
            self._conclude()
            raise
        finally:
            _LIVE_JOBS.pop(self._job_id, None)
        self._conclude()
        return self.record

    async def _follow(self) -> None:
        options = self.options
        began = self._submitted_at or time.monotonic() - _age(self.submitted)
        next_query = 0.0
        lost_since: float | None = None
        result_at: float | None = None
        while True:
            self._emit_all(self._tail.read())
            now = time.monotonic()
            if self._stop_reason is not None:
                await self._scancel_and_wait()
                return
            if self._detached and not self.record.finished:
                return
            if self.record.finished:  # the result is in: the job ends by itself in a moment
                result_at = result_at or now
                if now - result_at > RESULT_GRACE:
                    self._note(f"job {self.job_id} still {self._state_name()} {RESULT_GRACE:g} s after its result")
                    await self._scancel_and_wait()
                    return
            if now >= next_query:
                next_query = now + (min(options.poll, 0.5) if self.record.finished else options.poll)
                try:
                    current = await asyncio.to_thread(self._query)
                except slurm.SlurmError as exc:
                    lost_since = lost_since or now
                    if now - lost_since >= options.controller_grace:
                        self._stop_reason = (
                            "error",
                            f"lost contact with Slurm for {now - lost_since:.0f} s ({exc}); Slurm job {self.job_id} "
                            f"may still be running: scancel {self.job_id} once the controller is back",
                        )
                        with contextlib.suppress(slurm.SlurmError):
                            await asyncio.to_thread(self._scancel_now)
                        return
                else:
                    lost_since = None
                    if current.finished or current.state == "UNKNOWN":
                        return
            if not self.record.finished:
                self._check_limits(now, began)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK)
            self._wake.clear()

    def _check_limits(self, now: float, began: float) -> None:
        if self._running_at is None and now - began > self.options.queue_timeout:
            why = self.state.reason if self.state is not None and self.state.reason else "no reason given"
            self._stop_reason = (
                "timeout",
                f"Slurm job {self.job_id} still waiting in the queue after {self.options.queue_timeout:g} s ({why})",
            )
        elif (
            self._running_at is not None
            and self.request.timeout is not None
            and now - self._running_at > self.request.timeout
        ):
            self._stop_reason = ("timeout", f"timed out after {self.request.timeout:g} s (Slurm job {self.job_id})")
        else:
            return
        self._wake.set()

    @property
    def _job_id(self) -> str:
        """The job's id, for what runs only once it was submitted."""
        assert self.job_id is not None, "not submitted"
        return self.job_id

    def _query(self) -> slurm.JobState:
        current = slurm.state(self._job_id, env=self.options.env, timeout=self.options.command_timeout)
        self._observe(current)
        return current

    def _observe(self, current: slurm.JobState) -> None:
        previous = self.state
        self.state = current
        if self._running_at is None and (current.state in ("RUNNING", "COMPLETING") or current.finished):
            # an attached job may have started long ago: its timeout counts from Slurm's start time
            started = current.start.timestamp() if current.start is not None else time.time()
            self._running_at = time.monotonic() - max(0.0, time.time() - started)
        if previous is None or (previous.state, previous.reason) != (current.state, current.reason):
            where = f" on {current.node}" if current.node and current.state == "RUNNING" else ""
            self._note(
                f"Slurm job {self.job_id}: {current.state}" + (f" ({current.reason})" if current.reason else "") + where
            )
        self.record.executor = self.info()

    async def _scancel_and_wait(self, limit: float = CANCEL_WAIT) -> None:
        """scancel the job and wait (up to *limit* s) until it has left the queue."""
        try:
            await asyncio.to_thread(
                slurm.cancel, self._job_id, env=self.options.env, timeout=self.options.command_timeout
            )
        except slurm.SlurmError as exc:
            self._note(f"scancel {self.job_id} failed: {exc}")
            return
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                current = await asyncio.to_thread(self._query)
            except slurm.SlurmError:
                return
            if current.finished or current.state == "UNKNOWN":
                return
            await asyncio.sleep(0.3)

    def _scancel_now(self) -> None:
        with contextlib.suppress(slurm.SlurmError):
            slurm.cancel(self._job_id, env=self.options.env, timeout=self.options.command_timeout)

    # --- the record -----------------------------------------------------------------------

    def _emit_all(self, found: list[dict[str, Any]]) -> None:
        for event in found:
            if event.get("type") == "log" and event.get("stream") != "slurm" and str(event.get("line", "")).strip():
                self._last_runner_line = str(event["line"]).strip()
            if self._running_at is None:  # the runner writes: the job is running, whatever squeue said last
                self._running_at = time.monotonic()
            self._emit(event)

    def _note(self, line: str) -> None:
        self._emit(events.make("log", line=line, stream="slurm", job_id=self.job_id or "", state=self._state_name()))

    def _state_name(self) -> str:
        return self.state.state if self.state is not None else ("SUBMITTED" if self.job_id else "")

    def info(self) -> dict[str, Any]:
        """What the record keeps about the job (`RunRecord.executor`)."""
        current = self.state
        queued = None
        if self._submitted_at is not None and self._running_at is not None:
            queued = round(max(self._running_at - self._submitted_at, 0.0), 3)
        return {
            "name": "slurm",
            "job_id": self.job_id or "",
            "state": self._state_name(),
            "reason": (current.reason or "") if current is not None else "",
            "exit_code": current.exit_code if current is not None else None,
            "node": (current.node or "") if current is not None else "",
            "submitted": self.submitted or "",
            "queue_seconds": queued,
            "folder": str(self.folder),
            "sbatch": self.sbatch_args(),
        }

    def _conclude(self) -> None:
        self._emit_all(self._tail.finish())
        self.record.executor = self.info()
        if not self.record.finished:  # a result that arrived before the stop stands
            self._finish(*(self._stop_reason or self._ended_without_result()))
        self._save()

    def _ended_without_result(self) -> tuple[str, str]:
        current = self.state
        job = f"Slurm job {self.job_id}"
        if current is None:
            return "error", f"{job}: Slurm never reported its state"
        why = f" ({current.reason})" if current.reason else ""
        last = self._last_words()
        tail = f": {last}" if last else ""
        state = current.state
        if state == "COMPLETED":
            return "error", f"{job} COMPLETED without a result{tail}"
        if state == "FAILED":
            return "error", f"{job} FAILED{why}, exit code {current.exit_code}{tail}"
        if state == "TIMEOUT":
            return (
                "timeout",
                f"{job} TIMEOUT: reached its Slurm time limit (--time={self.options.time_for(self.request.timeout)})",
            )
        if state == "CANCELLED":
            return "cancelled", f"{job} CANCELLED outside mlops-compare{why}"
        if state == "NODE_FAIL":
            return "error", f"{job} NODE_FAIL: node {current.node or '?'} failed{why}"
        if state == "OUT_OF_MEMORY":
            return (
                "error",
                f"{job} OUT_OF_MEMORY: the runner needed more than --mem={self.options.mem or 'the default'}",
            )
        if state == "UNKNOWN":
            return "error", f"{job} is no longer known to Slurm and wrote no result{tail}"
        return "error", f"{job} ended {state}{why}{tail}"

    def _last_words(self) -> str:
        """The runner's last own log line, else the last line the job printed (its output file)."""
        last = self._last_runner_line
        if not last:
            with contextlib.suppress(OSError):
                lines = (self.folder / "job.out").read_text(errors="replace").splitlines()
                last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        if "No module named" in last and "mlops_compare" in last:
            python = self.request.python
            return f"mlops-compare is not installed for {python} on the compute node: {python} -m pip install mlops-compare"
        return last[:300]


def _age(iso: str | None) -> float:
    """Seconds since an ISO time (0 when unknown)."""
    try:
        return max(0.0, (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()) if iso else 0.0
    except ValueError:
        return 0.0


@atexit.register
def _cancel_live_jobs() -> None:
    """A job being followed never outlives mlops-compare (detached runs are not followed)."""
    for job_id, env in list(_LIVE_JOBS.items()):
        with contextlib.suppress(slurm.SlurmError):
            slurm.cancel(job_id, env=env, timeout=10)
        _LIVE_JOBS.pop(job_id, None)
