"""Starting, queueing, cancelling and listening to runners for the TUI (no Textual here).

Runs go through a *starter*: a callable ``starter(tool, criteria, on_event)`` returning a
handle with ``async run() -> RunRecord`` and ``cancel(reason)``. The default starter is the
core launcher (`mlops_compare.launcher.RunnerProcess`), the same path as
``mlops-compare run``; tests and benchmarks pass their own (a recorded event stream
replayed, a flood of lines) without registering anything.

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

from mlops_compare.criteria import Criteria
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

EventCallback = Callable[[str, dict[str, Any]], None]
DEFAULT_JOBS = 2  # as `mlops-compare run`: two tools at a time keeps the timings honest on a laptop


class RunHandle(Protocol):
    async def run(self) -> RunRecord: ...

    def cancel(self, reason: str = ...) -> None: ...


Starter = Callable[[str, Criteria, EventCallback], RunHandle]


def launcher_starter(store: Store | None, workdir: Path | None = None) -> Starter:
    """The real thing: runner processes started by the core launcher, inside the relay process."""
    from mlops_compare.tui.relay_client import relay_starter

    return relay_starter(store, workdir)


class RunManager:
    """Runs at most *jobs* runners at once and buffers their events until drained."""

    def __init__(self, starter: Starter, jobs: int = DEFAULT_JOBS):
        self.starter = starter
        self.jobs = max(1, jobs)
        self.handles: dict[str, RunHandle] = {}
        self.queued: set[str] = set()
        self._cancelled: dict[str, str] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._pending_lock = threading.Lock()  # on_event may be called from the runs thread
        self._gate: asyncio.Semaphore | None = None

    # --- events -------------------------------------------------------------------
    def on_event(self, tool: str, event: dict[str, Any] | str | list) -> None:
        """Buffer one event (a dict, or a str log line), or a list of them at once."""
        with self._pending_lock:
            buffer = self._pending.setdefault(tool, [])
            if isinstance(event, list):
                buffer.extend(event)
            else:
                buffer.append(event)

    def drain(self, tool: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Take the buffered events (of one tool, or all) in arrival order."""
        with self._pending_lock:
            if tool is not None:
                events = self._pending.pop(tool, None)
                return {tool: events} if events else {}
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
        self, tool: str, criteria: Criteria, on_start: Callable[[str], None] | None = None
    ) -> Coroutine[Any, Any, RunRecord]:
        """Queue *tool* now (so it counts as active at once); await the result to run it.

        The record comes back whatever happens, including a cancel while still queued.
        """
        if tool in self.handles:
            raise RuntimeError(f"{tool} is already queued or running")
        handle = self.starter(tool, criteria, self.on_event)
        self.handles[tool] = handle
        self.queued.add(tool)
        return self._run(tool, handle, on_start)

    async def _run(self, tool: str, handle: RunHandle, on_start: Callable[[str], None] | None) -> RunRecord:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.jobs)
        try:
            async with self._gate:
                self.queued.discard(tool)
                if tool in self._cancelled:
                    return RunRecord(tool=tool, status="cancelled", reason=self._cancelled[tool])
                if on_start is not None:
                    on_start(tool)
                return await handle.run()
        finally:
            self.queued.discard(tool)
            self._cancelled.pop(tool, None)
            self.handles.pop(tool, None)

    def cancel(self, tool: str, reason: str = "cancelled by the user") -> bool:
        handle = self.handles.get(tool)
        if handle is None:
            return False
        if tool in self.queued:
            self._cancelled[tool] = reason
        else:
            handle.cancel(reason)
            if getattr(handle, "pgid", 0) is None:
                # its process is being started right now: the launcher can only kill it once it exists
                asyncio.get_running_loop().call_later(0.2, self._cancel_again, tool, handle, reason)
        return True

    def _cancel_again(self, tool: str, handle: RunHandle, reason: str) -> None:
        if self.handles.get(tool) is handle:
            self.cancel(tool, reason)

    def cancel_all(self, reason: str = "cancelled by the user") -> list[str]:
        return [tool for tool in list(self.handles) if self.cancel(tool, reason)]
