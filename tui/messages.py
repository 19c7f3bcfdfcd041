"""The TUI's message vocabulary: every change of state reaches widgets as one of these.

Messages are small dataclasses named in the past tense. Runner events arrive batched
(`EventsArrived` carries everything one runner sent since the last flush), so a runner
printing 20,000 lines a second costs the UI a dozen messages a second, not 20,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_compare.results import RunRecord
from mlops_compare.scoring.summary import Summary
from textual.message import Message

if TYPE_CHECKING:
    from mlops_compare.evidence import Evidence


@dataclass
class ScreenMounted(Message):
    """The main screen is composed: scoring and loading stored results can begin."""


@dataclass
class WeightChanged(Message):
    """A weight key was handled: the session already holds the new weight, or *refused* says why not.

    The table applies the change to the session itself, at once, so a key pressed right after
    (``s`` to save, ``e`` to export) always sees it; this message only tells the app to rescore.
    """

    checkpoint: str
    refused: str | None = None


@dataclass
class ScoresComputed(Message):
    """A fresh summary for the current profile and weights is ready."""

    summary: Summary
    generation: int


@dataclass
class StoredResultsLoaded(Message):
    """The results store, read at start: per tool its newest record (``evidence.records``, shown
    in the panes) and per check the newest run in which it ran (the measured ratings)."""

    evidence: Evidence


@dataclass
class RunQueued(Message):
    tool: str


@dataclass
class RunStarted(Message):
    tool: str


@dataclass
class EventsArrived(Message):
    """Every event one runner sent since the previous flush, in order; all of a run's come before its `RunFinished`."""

    tool: str
    events: list[dict[str, Any] | str]  # a log line may come as its text alone


@dataclass
class RunFinished(Message):
    """A run ended (any status); *record* is what the store holds."""

    tool: str
    record: RunRecord


@dataclass
class ProfilesRanked(Message):
    """Every profile scored (`summary.all_profiles` with the session's unsaved edits applied)."""

    ranking: dict[str, Any]
