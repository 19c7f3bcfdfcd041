"""The TUI's side of the relay: start it, send it runs and cancels, turn its batches into events.

`relay_starter` is the default starter of the app (see `runs`): each run is a `RelayRun`
handle, awaited in the UI loop while the relay process (`mlops_compare.tui.relay`) does
the work. The relay reports every runner's process group as it starts, so the TUI can
kill those groups itself on exit even if the relay is gone (`kill_all`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlops_compare.criteria import Criteria
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

_LIVE: set[Relay] = set()


class Relay:
    """One relay process per app, started on the first run."""

    def __init__(self, store: Store | None, workdir: Path | None = None):
        self.store = store
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.runs: dict[str, RelayRun] = {}
        self.pgids: set[int] = set()
        self.tokens: set[str] = set()  # run tokens: reach processes that left their group
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

    async def send(self, message: dict[str, Any]) -> None:
        if self.proc is None or self.proc.stdin is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write((json.dumps(message) + "\n").encode())
            await self.proc.stdin.drain()

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            message = json.loads(line)
            run = self.runs.get(message.get("tool", ""))
            if run is None:
                continue
            op = message.get("op")
            if op == "events":
                run.on_event(run.tool, message["items"])  # the whole batch at once
            elif op == "started":
                run.pgid = message["pgid"]
                self.pgids.add(run.pgid)
                self.tokens.add(message.get("token", ""))
            elif op == "finished":
                self.pgids.discard(run.pgid or 0)
                run.done(RunRecord.from_dict(message["record"]))
        await proc.wait()
        self._stderr.seek(0)
        tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        reason = f"the relay process ended (exit code {proc.returncode}) {tail[0]}".strip()
        for run in list(self.runs.values()):
            run.done(RunRecord(tool=run.tool, status="error", reason=reason))
        self.kill()

    def kill(self) -> None:
        """Kill every runner group the relay reported, then the relay (no waiting: used on exit)."""
        for pgid in list(self.pgids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        self.pgids.clear()
        from mlops_compare.launcher import sweep

        for token in filter(None, self.tokens):
            sweep(token)
        self.tokens.clear()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        _LIVE.discard(self)


class RelayRun:
    """A run handle (see `runs.RunHandle`) whose runner lives in the relay."""

    def __init__(self, relay: Relay, tool: str, command: dict[str, Any], on_event):
        self.relay, self.tool, self.command, self.on_event = relay, tool, command, on_event
        self.pgid: int | None = None
        self._result: asyncio.Future[RunRecord] | None = None

    async def run(self) -> RunRecord:
        self._result = asyncio.get_running_loop().create_future()
        self.relay.runs[self.tool] = self
        try:
            await self.relay.ensure()
            await self.relay.send(self.command)
            return await self._result
        except asyncio.CancelledError:
            await asyncio.shield(self.relay.send({"op": "cancel", "tool": self.tool, "reason": "cancelled"}))
            raise
        finally:
            if self.relay.runs.get(self.tool) is self:
                del self.relay.runs[self.tool]

    def done(self, record: RunRecord) -> None:
        if self._result is not None and not self._result.done():
            self._result.set_result(record)

    def cancel(self, reason: str = "cancelled by the user") -> None:
        asyncio.ensure_future(self.relay.send({"op": "cancel", "tool": self.tool, "reason": reason}))


def relay_starter(store: Store | None, workdir: Path | None = None):
    """The real thing: each run is a runner process started by the core launcher, in the relay."""
    relay = Relay(store, workdir)

    def start(tool: str, criteria: Criteria, on_event) -> RelayRun:
        from mlops_compare import registry

        spec = criteria.tools.get(tool)
        info = registry.available().get(tool)
        command = {
            "op": "run",
            "tool": tool,
            "runner": {"name": info.name, "module": info.module, "attr": info.attr} if info else None,
            "request": {
                "exam": criteria.exam.to_dict(),
                "python": (spec.python if spec is not None else "") or sys.executable,
                "timeout": criteria.exam.timeout,
                "workdir": str(workdir) if workdir is not None else None,
            },
            "store": str(store.root) if store is not None else None,
        }
        return RelayRun(relay, tool, command, on_event)

    start.relay = relay  # type: ignore[attr-defined]
    return start


def kill_all() -> None:
    """Kill every relay and every runner group they reported (called on exit)."""
    for relay in list(_LIVE):
        relay.kill()
