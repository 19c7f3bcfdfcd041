"""The relay client: the TUI's side of the relay. It starts the relay, sends it runs and cancels, and turns its messages into events.

`relay_starter` is the default starter of the app (see `runs`): it makes each run's
request with the core run plan (`mlops_compare.plan`, the same as ``mlops-compare run``:
data paths relative to the criteria file, the tool's interpreter, the runner module) and
returns a `RelayRun` handle, awaited in the UI loop while the relay process
(`mlops_compare.tui.relay`) does the work. The relay reports every runner's process
group and run token as it starts, so the TUI can kill what is left itself on exit even
if the relay is gone (`kill_all`); a finished run's group and token are forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

from mlops_compare.criteria import Criteria
from mlops_compare.results import RunRecord
from mlops_compare.store import Store
from mlops_compare.tui import relay_protocol as protocol

_LIVE: set[RelayClient] = set()


class RelayClient:
    """One relay process per app, started on the first run."""

    def __init__(self, store: Store | None):
        self.store = store
        self.proc: asyncio.subprocess.Process | None = None
        self.runs: dict[str, RelayRun] = {}
        self.pgids: set[int] = set()  # process groups of runs not finished yet
        self.tokens: set[str] = set()  # their run tokens: reach processes that left their group
        self.jobs: dict[str, dict[str, str]] = {}  # Slurm jobs of runs not finished yet -> env to scancel them
        self._starting: asyncio.Lock | None = None
        self._stderr = tempfile.TemporaryFile()

    async def ensure(self) -> None:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self.proc is not None and self.proc.returncode is None:
                return
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mlops_compare.tui.relay",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=self._stderr,  # never the terminal: it belongs to the TUI
                limit=1 << 26,
                start_new_session=True,
            )
            _LIVE.add(self)
            asyncio.ensure_future(self._read(self.proc))

    async def send(self, message: protocol.ToRelay) -> None:
        if self.proc is None or self.proc.stdin is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(protocol.encode(message))
            await self.proc.stdin.drain()

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            try:
                message = protocol.decode(line)
            except protocol.ProtocolError:
                continue  # not ours (a stray print in the relay): the runs go on
            run = self.runs.get(message.tool)
            if run is None:
                continue
            if isinstance(message, protocol.Events):
                run.on_event(run.tool, message.items)  # the whole batch at once
            elif isinstance(message, protocol.Started):
                run.pgid, run.token = message.pgid, message.token
                self.pgids.add(message.pgid)
                self.tokens.add(message.token)
            elif isinstance(message, protocol.Submitted):
                run.job_id = message.job_id
                self.jobs[message.job_id] = message.env
            elif isinstance(message, protocol.Finished):
                self.forget(run)
                run.done(message.record)
        await proc.wait()
        self._stderr.seek(0)
        tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        reason = f"the relay process ended (exit code {proc.returncode}) {tail[0]}".strip()
        for run in list(self.runs.values()):
            record = RunRecord(tool=run.tool)
            record.start()
            record.status, record.reason = "error", reason
            if self.store is not None:  # the relay could not save it: a result all the same
                with contextlib.suppress(OSError):
                    self.store.save(record)
            run.done(record)
        self.kill()

    def forget(self, run: RelayRun) -> None:
        """A finished run's process group and token are gone: no need to look for them on exit."""
        self.pgids.discard(run.pgid or 0)
        self.tokens.discard(run.token or "")
        self.jobs.pop(run.job_id or "", None)

    def kill(self) -> None:
        """Kill every runner group the relay reported, then the relay (no waiting: used on exit)."""
        for pgid in list(self.pgids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        self.pgids.clear()
        if self.tokens:
            from mlops_compare.executors.local import sweep

            for token in self.tokens:
                sweep(token)
            self.tokens.clear()
        if self.jobs:  # the relay scancels its jobs when it can; this is for when it could not
            from mlops_compare.infra import slurm

            for job_id, env in self.jobs.items():
                with contextlib.suppress(slurm.SlurmError):
                    slurm.cancel(job_id, env=env, timeout=5)
            self.jobs.clear()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        _LIVE.discard(self)


class RelayRun:
    """A run handle (see `runs.RunHandle`) whose runner lives in the relay."""

    def __init__(self, relay: RelayClient, command: protocol.Run, on_event):
        self.relay, self.tool, self.command, self.on_event = relay, command.tool, command, on_event
        self.pgid: int | None = None
        self.token: str | None = None
        self.job_id: str | None = None  # with the Slurm executor
        self._result: asyncio.Future[RunRecord] | None = None
        self._sent = False  # the Run message is on its way: a Cancel sent now comes after it
        self._cancel: str | None = None  # cancelled before that: sent right after it

    async def run(self) -> RunRecord:
        self._result = asyncio.get_running_loop().create_future()
        self.relay.runs[self.tool] = self
        try:
            await self.relay.ensure()
            await self._send(self.command)
            if self._cancel is not None:  # the relay's launcher then ends it without starting it
                await self._send(protocol.Cancel(self.tool, self._cancel))
            return await self._result
        except asyncio.CancelledError:
            await asyncio.shield(self._send(protocol.Cancel(self.tool, self._cancel or "cancelled")))
            raise
        finally:
            if self.relay.runs.get(self.tool) is self:
                del self.relay.runs[self.tool]

    async def _send(self, message: protocol.ToRelay) -> None:
        if isinstance(message, protocol.Run):
            self._sent = True
        await self.relay.send(message)

    def done(self, record: RunRecord) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(record)

    def cancel(self, reason: str = "cancelled by the user") -> None:
        if self._cancel is None:
            self._cancel = reason
        if self._sent:
            asyncio.ensure_future(self.relay.send(protocol.Cancel(self.tool, reason)))

    def detach(self, reason: str) -> None:
        """SIGHUP: a Slurm job is left running for `run --attach` (the relay writes its state file), a local run cancelled."""
        if self._sent and (self.command.executor or {}).get("name") == "slurm":
            asyncio.ensure_future(self.relay.send(protocol.Detach(self.tool, reason)))
        else:  # not sent yet (the relay would start it) or a local run: cancel it
            self.cancel(reason)


def relay_starter(store: Store | None, workdir: Path | None = None, executor: dict | None = None):
    """The real thing: each run is a runner process started by the core launcher, in the relay.

    *executor* is a `mlops_compare.executors` spec: with Slurm's, each run is a batch job.

    The request comes from the core run plan; a bad choice (a data file that is not there)
    raises its `UserError` here, which the run manager turns into a stored "error" record.
    """
    relay = RelayClient(store)

    def start(tool: str, criteria: Criteria, on_event) -> RelayRun:
        from mlops_compare.plan import Choices, plan

        [request] = plan(criteria, Choices(tools=(tool,), workdir=workdir))
        command = protocol.Run.of(request, store.root if store is not None else None, executor)
        return RelayRun(relay, command, on_event)

    start.relay = relay  # type: ignore[attr-defined]
    return start


def kill_all() -> None:
    """Kill every relay and every runner group they reported (called on exit)."""
    for relay in list(_LIVE):
        relay.kill()
