"""Test doubles for the TUI: runner starters that replay a recorded event stream.

A starter is what `MlopsCompareApp(starter=...)` calls to start a run (see
`mlops_compare.tui.runs`); these never start a process, so pilot and snapshot tests are
fast and deterministic (no timestamps, no durations that vary).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from conftest import without_large_data, without_storage, without_tool
from mlops_compare import events
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

DATA = Path(__file__).parent / "data"
PLAIN_STREAM = DATA / "plain.jsonl"
SHIPPED = Path(__file__).resolve().parent.parent / "criteria.toml"
RUNNERS = ["plain", "mlflow", "dvc", "metaflow"]


def recorded(path: Path = PLAIN_STREAM) -> list[dict[str, Any]]:
    return [events.decode(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Replay:
    """A run that replays *stream*; `hold_after` pauses it after that many events until cancelled."""

    def __init__(self, tool, stream, on_event, store=None, delay=0.0, hold_after=None):
        self.tool, self.stream, self.on_event, self.store = tool, stream, on_event, store
        self.delay, self.hold_after = delay, hold_after
        self.cancelled: str | None = None
        self._wake = asyncio.Event()
        self.started = False

    def _emit(self, record: RunRecord, event: dict[str, Any]) -> None:
        record.apply(event)
        self.on_event(self.tool, event)

    async def run(self) -> RunRecord:
        self.started = True
        record = RunRecord(tool=self.tool, status="starting")
        for index, event in enumerate(self.stream):
            if index == self.hold_after:
                await self._wake.wait()
            if self.cancelled:
                break
            if event.get("type") == "result":  # the recorded stream is plain's: no tool version to compare
                event = {**event, "tool": self.tool, "tool_version": ""}
            self._emit(record, event)
            await asyncio.sleep(self.delay)
        if self.cancelled:
            self._emit(
                record,
                {
                    "v": 1,
                    "type": "result",
                    "status": "cancelled",
                    "reason": self.cancelled,
                    "tool": self.tool,
                    "tool_version": "",
                },
            )
        if self.store is not None:
            self.store.save(record)
        return record

    def cancel(self, reason: str = "cancelled by the user") -> None:
        self.cancelled = reason
        self._wake.set()


class ReplayStarter:
    """starter(tool, criteria, on_event) -> Replay; keeps the handles so tests can look at them."""

    def __init__(self, stream=None, store: Store | None = None, delay: float = 0.0, hold_after: int | None = None):
        self.stream = stream if stream is not None else recorded()
        self.store, self.delay, self.hold_after = store, delay, hold_after
        self.handles: dict[str, Replay] = {}

    def __call__(self, tool, criteria, on_event) -> Replay:
        handle = Replay(tool, self.stream, on_event, self.store, self.delay, self.hold_after)
        self.handles[tool] = handle
        return handle


def criteria_copy(folder: Path) -> Path:
    """The shipped criteria without ``[exam.large_data]`` and ``[exam.storage]``: a real run from the TUI stays seconds long.

    Also without the DVC + MLflow combination's ratings: the TUI's scores and snapshots are
    worked out for the study's three tools (the combination's pane and score: test_unscored.py).
    """
    path = folder / "criteria.toml"
    path.write_text(without_tool(without_storage(without_large_data(SHIPPED.read_text())), "dvc-mlflow"))
    return path


def log_events(lines: list[str]) -> list[dict[str, Any]]:
    return [{"v": 1, "type": "log", "line": line, "stream": "stdout"} for line in lines]


def result_event(status: str = "passed") -> dict[str, Any]:
    return {"v": 1, "type": "result", "status": status, "reason": "", "tool": "x", "tool_version": ""}


def dump(stream: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in stream)


async def settle(app, pilot, rounds: int = 20) -> None:
    """Let the workers (scoring, store reads) finish and the screen catch up.

    Each round waits for the workers, hands buffered runner events on (what the app's flush
    timer does) and waits for the app to be idle (Textual's own idle wait); done when a round
    ends with no worker left, which is when the screen shows what the workers computed. Fixed
    0.1 s pauses were mostly idle time: ~0.3 s per call, 50 calls in the suite.
    """
    from textual.worker import WorkerCancelled

    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive scoring worker replaced by a newer one
            continue
        if flush := getattr(app, "flush_events", None):
            flush()
        await pilot.pause()
        if all(worker.is_finished for worker in app.workers):
            return


def make_app(tmp_path: Path, starter, runners=RUNNERS, **kwargs):
    """The app on a copy of the shipped criteria and a store under *tmp_path* (unless given)."""
    from mlops_compare import criteria
    from mlops_compare.tui.app import MlopsCompareApp

    store = kwargs.pop("store", None) or Store(tmp_path / ".mlops-compare")
    path = kwargs.pop("criteria_path", None) or criteria_copy(tmp_path)
    return MlopsCompareApp(criteria.load(path), store=store, starter=starter, runners=runners, **kwargs)


async def wait_for(pilot, condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)
