"""Unit tests of the TUI's plain-Python parts: sanitising, the session rules, the run manager, the relay protocol."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from mlops_compare import criteria
from mlops_compare.errors import UserError
from mlops_compare.executors.local import RunRequest
from mlops_compare.results import RunRecord
from mlops_compare.store import Store
from mlops_compare.tui import relay_protocol as protocol
from mlops_compare.tui import status
from mlops_compare.tui.runs import NOT_STARTED, RunManager
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
    store = Store(tmp_path / "store")
    starter = ReplayStarter(stream=log_events(["a", "b"]) + [result_event()], hold_after=1, store=store)
    runs = RunManager(starter, jobs=1, store=store)
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
    assert records[1].reason == "cancelled before it started" and not starter.handles["mlflow"].started
    assert not runs.active and not runs.cancel("plain")
    stored = store.latest()  # both ended as records, as `mlops-compare run` stores them (defect 4)
    assert stored["mlflow"].status == "cancelled" and stored["mlflow"].reason == "cancelled before it started"
    assert stored["mlflow"].started_at and stored["plain"].reason == "cancelled by the user"


class Broken:
    """A run handle whose run raises: a bug in a starter, not a runner failure."""

    async def run(self):
        raise RuntimeError("handle broke")

    def cancel(self, reason: str = "") -> None:
        pass


async def test_run_manager_stores_runs_that_end_before_a_runner_does(tmp_path):
    """Defect 4: a starter that refuses (UserError) or raises, or a handle that breaks, ends as a stored error."""
    loaded = criteria.load(criteria_copy(tmp_path))
    store = Store(tmp_path / "store")

    def starter(tool, criteria, on_event):
        if tool == "plain":
            raise UserError("criteria.toml: exam.data 'gone.csv': no such data file")
        if tool == "mlflow":
            raise ValueError("starter broke")
        return Broken()

    runs = RunManager(starter, jobs=1, store=store)
    records = [await runs.submit(tool, loaded) for tool in ("plain", "mlflow", "dvc")]
    assert [r.status for r in records] == ["error"] * 3
    # the user's message as the CLI prints it
    assert records[0].reason == "mlops-compare: criteria.toml: exam.data 'gone.csv': no such data file"
    assert records[1].reason == "ValueError: starter broke" and records[2].reason == "RuntimeError: handle broke"
    stored = store.latest()
    assert {t: (r.status, r.reason) for t, r in stored.items()} == {r.tool: (r.status, r.reason) for r in records}
    assert not runs.active


async def test_run_manager_stores_a_queued_run_when_the_app_closes(tmp_path):
    """The worker awaiting a queued run is cancelled (the app exits): its record is stored all the same."""
    loaded = criteria.load(criteria_copy(tmp_path))
    store = Store(tmp_path / "store")
    runs = RunManager(ReplayStarter(hold_after=1), jobs=1, store=store)
    first = asyncio.ensure_future(runs.submit("plain", loaded))
    second = asyncio.ensure_future(runs.submit("mlflow", loaded))
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert store.latest()["mlflow"].reason == NOT_STARTED
    runs.cancel("plain")
    await first
    assert await runs.wait_idle(1)


def test_relay_protocol_round_trip():
    exam = {"data": "/d.csv", "grid": {"alpha": [0.5]}}
    request = RunRequest("plain", exam, "/py", 60.0, Path("/w"), None, "m.plain")
    run = protocol.Run.of(request, "/store")
    assert protocol.decode(protocol.encode(run)) == run and run.request() == request
    record = RunRecord(tool="plain", status="passed", metrics=[{"alpha": 0.5, "r2": float("nan")}])
    messages = [
        protocol.Cancel("plain", "cancelled by the user"),
        protocol.Started("plain", 1234, "token"),
        protocol.Events("plain", ["a line \ud800", {"v": 1, "type": "metric", "alpha": 0.5, "l1_ratio": 0.0}]),
    ]
    for message in messages:
        assert protocol.decode(protocol.encode(message)) == message
    nan_metric = {"v": 1, "type": "metric", "alpha": 0.0, "l1_ratio": 0.0, "rmse": 1.0, "mae": 1.0, "r2": float("nan")}
    line = protocol.encode(protocol.Events("plain", [nan_metric]))
    assert b"NaN" not in line and line.isascii() and line.endswith(b"\n")  # strict JSON, one line
    assert math.isnan(protocol.decode(line).items[0]["r2"])
    finished = protocol.decode(protocol.encode(protocol.Finished("plain", record)))
    assert finished.record.status == "passed" and math.isnan(finished.record.metrics[0]["r2"])


@pytest.mark.parametrize(
    "line", [b"not json", b"[1]", b'{"op": "nope"}', b'{"op": ["run"]}', b'{"op": "started", "tool": "x"}']
)
def test_relay_protocol_rejects_what_it_does_not_know(line):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(line)
