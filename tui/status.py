"""How a run's state and a check's outcome are written: a symbol and a word, colour only as extra.

Meaning never rests on colour alone (NO_COLOR users, monochrome terminals, screen
readers): every status has a symbol and a word; colour is a third, optional cue.
"""

from __future__ import annotations

from mlops_compare.results import RunRecord
from rich.text import Text

# check status -> (symbol, word, style)
CHECK = {
    "pass": ("✓", "pass", "green"),
    "partial": ("~", "partial", "yellow"),
    "fail": ("✗", "FAIL", "bold red"),
    "skip": ("-", "skip", "dim"),
}
PENDING = ("·", "", "dim")

# run status -> (symbol, word, style)
RUN = {
    "idle": ("·", "idle", "dim"),
    "queued": ("…", "queued", "dim"),
    "starting": ("▶", "starting", "cyan"),
    "running": ("▶", "running", "cyan"),
    "passed": ("✓", "passed", "green"),
    "failed": ("✗", "FAILED", "bold red"),
    "error": ("!", "ERROR", "bold red"),
    "timeout": ("!", "TIMEOUT", "bold red"),
    "cancelled": ("■", "cancelled", "yellow"),
    "unavailable": ("?", "unavailable", "yellow"),
}


def run_state(record: RunRecord | None, queued: bool = False) -> str:
    if queued:
        return "queued"
    return record.status if record is not None and record.status in RUN else ("idle" if record is None else "error")


def current_check(record: RunRecord) -> str:
    """The check a running runner is on: the first one it has not reported (they run in order)."""
    from mlops_compare.events import CHECK_IDS

    return next((c for c in CHECK_IDS if c not in record.checks), "")


def progress(record: RunRecord) -> str:
    """'3/9 grid' while the grid runs, then the check in progress; empty when not running."""
    if record.status not in ("running", "starting"):
        return ""
    p = record.progress or {}
    if p.get("n") and "grid" not in record.checks:
        return f"{p.get('k', 0)}/{p.get('n')} {p.get('label') or ''}".rstrip()
    return f"{check}…" if (check := current_check(record)) and record.checks else ""


def stored_date(record: RunRecord) -> str:
    """'2025-11-26 17:50 UTC' from the record's ISO start time (empty when unknown)."""
    stamp = record.started_at or ""
    if len(stamp) < 16:
        return stamp
    return f"{stamp[:10]} {stamp[11:16]} UTC"


def tab_label(tool: str, record: RunRecord | None, queued: bool = False) -> str:
    """A runner's tab title: name and state symbol, e.g. 'mlflow ▶' or 'dvc ✗'.

    No progress figures: a tab label that changes width re-lays out the whole screen, and
    the pane's status line says "running 3/9 grid" anyway.
    """
    return f"{tool} {RUN[run_state(record, queued)][0]}"


def check_cell(status: str | None) -> Text:
    symbol, word, style = CHECK.get(status or "", PENDING)
    return Text(f"{symbol} {word}".rstrip(), style=style)
