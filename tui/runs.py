"""Starting, queueing, cancelling and listening to runners for the TUI (no Textual here).

Runs go through a *starter*: a callable ``starter(tool, criteria, on_event)`` returning a
handle with ``async run() -> RunRecord`` and ``cancel(reason)``. The default starter is the
core launcher (`mlops_compare.executors.local.RunnerProcess`) fed by the core run plan, the same
path as ``mlops-compare run``; tests and benchmarks pass their own (a recorded event stream
replayed, a flood of lines) without registering anything.

Every run that was queued ends as a record in the results store, as with the CLI: the
handle's own (the launcher saves it), or one the manager writes when the run ended here
before it started (cancelled while queued, a starter that refused or broke).

Events are not forwarded one by one: `on_event` appends to a per-tool buffer and the app
drains it on a timer (`drain`), so the UI work per second does not grow with the rate a
runner prints at. The launcher's side (reading the pipes, decoding every line, folding
records, saving them) runs in a helper process, the relay (`relay`, `relay_client`), so a
runner printing 20,000 lines a second never queues in front of a key press.

An event is a dict of the runner event schema, or a plain str: the text of a log line
(the relay sends log lines that way, it is cheaper to forward).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from mlops_compare import events
from mlops_compare.criteria import Criteria
from mlops_compare.errors import UserError
from mlops_compare.events import EventCallback
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

DEFAULT_JOBS = 2  # as `mlops-compare run`: two tools at a time keeps the timings honest on a laptop
NOT_STARTED = "cancelled before it started"  # the reason `mlops-compare run` stores, too


class RunHandle(Protocol):
    async def run(self) -> RunRecord: ...

    def cancel(self, reason: str = ...) -> None: ...


Starter = Callable[[str, Criteria, EventCallback], RunHandle]


def launcher_starter(store: Store | None, workdir: Path | None = None, executor: dict | None = None) -> Starter:
    """The real thing: runner processes started by the core launcher (or Slurm jobs), inside the relay process."""
    return _RelayStarter(store, workdir, executor)


class _RelayStarter:
    """`relay_client.relay_starter`, made at the first run: the relay's modules stay off the first frame."""

    def __init__(self, store: Store | None, workdir: Path | None, executor: dict | None):
        self._args = (store, workdir, executor)
        self._start: Any = None

    @property
    def relay(self) -> Any:
        """The relay client behind the runs (made now if no run has started yet)."""
        return self._starter().relay

    def _starter(self) -> Any:
        if self._start is None:
            from mlops_compare.tui.relay_client import relay_starter

            self._start = relay_starter(*self._args)
        return self._start

    def __call__(self, tool: str, criteria: Criteria, on_event: EventCallback) -> RunHandle:
        return self._starter()(tool, criteria, on_event)


class RunManager:
    """Runs at most *jobs* runners at once, buffers their events until drained, stores what ends here."""

    def __init__(self, starter: Starter, jobs: int = DEFAULT_JOBS, store: Store | None = None):
        self.starter = starter
        self.jobs = max(1, jobs)
        self.store = store
        self.handles: dict[str, RunHandle] = {}
        self.queued: set[str] = set()
        self._cancelled: set[str] = set()
        self._pending: dict[str, list[dict[str, Any] | str]] = {}
        self._pending_lock = threading.Lock()  # on_event may be called from the runs thread
        self._running = 0  # runs holding one of the *jobs* slots
        self._waiting: dict[str, asyncio.Future[bool]] = {}  # queued runs in order: True = your turn
        self._idle: asyncio.Event | None = None  # set while nothing is queued or running

    # --- events -------------------------------------------------------------------
    def on_event(self, tool: str, event: dict[str, Any] | str | list) -> None:
        """Buffer one event (a dict, or a str log line), or a list of them at once."""
        with self._pending_lock:
            buffer = self._pending.setdefault(tool, [])
            if isinstance(event, list):
                buffer.extend(event)
            else:
                buffer.append(event)

    def drain(self, tool: str | None = None) -> dict[str, list[dict[str, Any] | str]]:
        """Take the buffered events (of one tool, or all) in arrival order."""
        with self._pending_lock:
            if tool is not None:
                batch = self._pending.pop(tool, None)
                return {tool: batch} if batch else {}
            pending, self._pending = self._pending, {}
            return pending

    # --- runs ---------------------------------------------------------------------
    @property
    def active(self) -> list[str]:
        """Tools queued or running, in the order they were started."""
        return list(self.handles)

    def is_active(self, tool: str) -> bool:
        return tool in self.handles

    def submit(
        self, tool: str, criteria: Criteria, on_start: Callable[[str], object] | None = None
    ) -> Coroutine[Any, Any, RunRecord]:
        """Queue *tool* now (so it counts as active at once); await the result to run it.

        The record comes back whatever happens, including a cancel while still queued and a
        starter that raises (a `UserError` from the run plan: its message is the reason).
        """
        if tool in self.handles:
            raise RuntimeError(f"{tool} is already queued or running")
        try:
            handle = self.starter(tool, criteria, self.on_event)
        except Exception as exc:  # refused before queueing: a stored result at once, never a crash
            return _ready(self.ended(tool, "error", _reason(exc)))
        self.handles[tool] = handle
        self.queued.add(tool)
        if self._idle is not None:
            self._idle.clear()
        return self._run(tool, handle, on_start)

    async def _run(self, tool: str, handle: RunHandle, on_start: Callable[[str], object] | None) -> RunRecord:
        started = False
        try:
            if not await self._turn(tool):
                return self.ended(tool, "cancelled", NOT_STARTED)
            started = True
            if on_start is not None:
                on_start(tool)
            return await handle.run()
        except asyncio.CancelledError:
            if not started:  # the app is closing with this run still queued
                self.ended(tool, "cancelled", NOT_STARTED)
            raise
        except Exception as exc:  # a broken handle: its run ends as a stored error, like any failure
            return self.ended(tool, "error", _reason(exc))
        finally:
            if started:
                self._release()
            self.queued.discard(tool)
            self._cancelled.discard(tool)
            self.handles.pop(tool, None)
            if not self.handles and self._idle is not None:
                self._idle.set()

    async def _turn(self, tool: str) -> bool:
        """Wait for a free slot (True), or for this queued run to be cancelled (False: at once, not when a slot frees)."""
        try:
            if tool in self._cancelled:
                return False
            if self._running < self.jobs and all(t.done() for t in self._waiting.values()):  # no one before it
                self._running += 1
                return True
            turn = self._waiting[tool] = asyncio.get_running_loop().create_future()
            try:
                return await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled() and turn.result():
                    self._release()  # the slot was handed over as the wait was cancelled: pass it on
                raise
        finally:
            self._waiting.pop(tool, None)
            self.queued.discard(tool)

    def _release(self) -> None:
        """A run ended: its slot goes to the first queued run, else it is free."""
        for turn in self._waiting.values():
            if not turn.done():
                turn.set_result(True)
                return
        self._running -= 1

    def ended(self, tool: str, status: str, reason: str) -> RunRecord:
        """The record of a run that ended in the TUI rather than in a runner, saved to the store."""
        record = RunRecord(tool=tool)
        record.start()
        record.apply(events.make("result", status=status, reason=reason, tool=tool, tool_version=""))
        if self.store is not None:
            try:
                self.store.save(record)
            except OSError as exc:
                record.reason += f"; not saved to the results store: {exc.strerror or exc}"
        return record

    def cancel(self, tool: str, reason: str = "cancelled by the user") -> bool:
        handle = self.handles.get(tool)
        if handle is None:
            return False
        if tool in self.queued:
            self._cancelled.add(tool)
            turn = self._waiting.get(tool)
            if turn is not None and not turn.done():
                turn.set_result(False)
        else:
            handle.cancel(reason)
        return True

    def cancel_all(self, reason: str = "cancelled by the user") -> list[str]:
        return [tool for tool in list(self.handles) if self.cancel(tool, reason)]

    def detach_all(self, reason: str) -> list[str]:
        """SIGHUP: leave running Slurm jobs running (handles with a `detach`), cancel the rest; the tools."""
        tools = []
        for tool, handle in list(self.handles.items()):
            detach = getattr(handle, "detach", None)
            if detach is not None and tool not in self.queued:
                detach(reason)
                tools.append(tool)
            elif self.cancel(tool, reason):
                tools.append(tool)
        return tools

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running (True), or for *timeout* seconds (False)."""
        if not self.handles:
            return True
        if self._idle is None:
            self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


def _reason(exc: Exception) -> str:
    # a UserError says what to do, as the CLI prints it; anything else is a bug: name its type
    return "; ".join(map(str, exc.problems)) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


async def _ready(record: RunRecord) -> RunRecord:
    return record
