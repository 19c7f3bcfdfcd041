"""Unit tests of the TUI's plain-Python parts: sanitising, the session rules, the run manager."""

from __future__ import annotations

import asyncio

import pytest
from mlops_compare import criteria
from mlops_compare.results import RunRecord
from mlops_compare.tui import status
from mlops_compare.tui.runs import RunManager
from mlops_compare.tui.sanitize import MAX_LINE, clean, literal
from mlops_compare.tui.session import Session
from tui_support import ReplayStarter, criteria_copy, log_events, result_event


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("[bold red]x[/]", "[bold red]x[/]"),
        ("\x1b[1;31mred\x1b[0m", "red"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("a\tb", "a   b"),
        ("10%\r50%\r100%", "100%"),
        ("one\ntwo", "one\ufffdtwo"),
        ("nul\x00 bell\x07 del\x7f c1\x9b", "nul\ufffd bell\ufffd del\ufffd c1\ufffd"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("bidi \u202e override \u2066", "bidi \ufffd override \ufffd"),
    ],
)
def test_clean(raw, shown):
    assert clean(raw) == shown


def test_clean_cuts_long_lines_with_a_marker():
    assert clean("x" * 600) == "x" * MAX_LINE + " … [100 more characters]"
    huge = clean("y" * 1_000_000)
    assert huge.startswith("y" * MAX_LINE) and huge.endswith("[999,500 more characters]")


def test_literal_is_never_markup():
    text = literal("[bold]not bold[/bold]")
    assert text.plain == "[bold]not bold[/bold]" and not text.spans


def test_session_clamps_refuses_all_zero_and_keeps_edits_per_profile(tmp_path):
    session = Session(criteria.load(criteria_copy(tmp_path)))
    assert session.set_weight("design", 42) is None and session.weight("design") == 10
    assert session.set_weight("design", -3) is None and session.weight("design") == 0
    session.switch("production-team")
    assert not session.dirty("production-team") and session.dirty()
    session.switch("research-institute")
    assert session.weight("design") == 0
    for checkpoint in session.criteria.checkpoints[:-1]:
        session.set_weight(checkpoint.id, 0)
    assert "above 0" in session.set_weight(session.criteria.checkpoints[-1].id, 0)
    session.reset_weight("design")
    assert not session.is_edited("design")


def test_status_words_and_labels():
    record = RunRecord(tool="dvc", status="running", progress={"k": 3, "n": 9, "label": "grid"})
    assert status.progress(record) == "3/9 grid" and status.tab_label("dvc", record) == "dvc ▶"
    record.checks = {"setup": {"status": "pass"}, "grid": {"status": "pass"}}
    assert status.progress(record) == "retrieve…" and status.tab_label("dvc", record) == "dvc ▶"
    assert status.tab_label("dvc", None, queued=True) == "dvc …"
    assert str(status.check_cell("fail")) == "✗ FAIL" and str(status.check_cell("partial")) == "~ partial"
    assert status.stored_date(RunRecord(tool="x", started_at="2025-01-02T03:04:05+00:00")) == "2025-01-02 03:04 UTC"


async def test_run_manager_queues_buffers_and_cancels_before_start(tmp_path):
    loaded = criteria.load(criteria_copy(tmp_path))
    starter = ReplayStarter(stream=log_events(["a", "b"]) + [result_event()], hold_after=1)
    runs = RunManager(starter, jobs=1)
    first = asyncio.ensure_future(runs.submit("plain", loaded))
    second = asyncio.ensure_future(runs.submit("mlflow", loaded))
    with pytest.raises(RuntimeError):
        runs.submit("plain", loaded)
    await asyncio.sleep(0.05)
    assert runs.active == ["plain", "mlflow"] and runs.queued == {"mlflow"}
    assert runs.drain() == {"plain": log_events(["a"])} and runs.drain() == {}
    assert runs.cancel("mlflow")  # still queued: never starts
    assert runs.cancel("plain")
    records = await asyncio.gather(first, second)
    assert [r.status for r in records] == ["cancelled", "cancelled"]
    assert records[1].reason == "cancelled by the user" and not starter.handles["mlflow"].started
    assert not runs.active and not runs.cancel("plain")
