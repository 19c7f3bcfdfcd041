"""Pilot tests of what a TUI run leaves behind and in what order: stored records, forgotten tokens, NaN.

Every run that was queued ends as a record in the results store (defect 4), a plan error
too; a run's events reach the app before its result (asserted on the messages posted,
through Textual's message hook); a finished run's process group and token are forgotten
(defect 9b); a NaN metric is shown as ``nan``; a cancelled rerun leaves the measured
ratings of the checks it did not run alone.
"""

from __future__ import annotations

import math
import os

from mlops_compare import events, registry
from mlops_compare.results import RunRecord
from mlops_compare.store import Store
from mlops_compare.tui.charts import ChartsView
from mlops_compare.tui.checkpoint_table import CheckpointTable
from mlops_compare.tui.messages import EventsArrived, RunFinished, RunQueued, RunStarted
from mlops_compare.tui.runs import NOT_STARTED, launcher_starter
from mlops_compare.tui.scoreboard import Scoreboard
from mlops_compare.tui.textline import TextLine
from textual.widgets import DataTable
from tui_support import ReplayStarter, criteria_copy, make_app, recorded, settle, wait_for

SIZE = (80, 24)
RUN_MESSAGES = (RunQueued, RunStarted, EventsArrived, RunFinished)


def finished(app, tool: str) -> bool:
    pane = app.main.pane(tool)
    return pane.record is not None and pane.record.finished and not app.runs.is_active(tool)


def status_text(app, tool: str) -> str:
    return str(app.main.pane(tool).query_one(".run-status", TextLine).render())


def assert_events_before_result(messages: list, tool: str, events_sent: int) -> None:
    """Queued, started, every event batch, then the result, and nothing of that run after it."""
    kinds = [type(m) for m in messages if isinstance(m, RUN_MESSAGES) and m.tool == tool]
    assert kinds[:2] == [RunQueued, RunStarted] and kinds[-1] is RunFinished and kinds.count(RunFinished) == 1
    assert set(kinds[2:-1]) == {EventsArrived}
    batches = [m for m in messages if isinstance(m, EventsArrived) and m.tool == tool]
    assert sum(len(m.events) for m in batches) == events_sent  # none lost, none repeated


async def test_cancelling_a_queued_run_stores_it(tmp_path):
    """Defect 4: jobs=1, two runs; the queued one is cancelled: stored "cancelled before it started"."""
    store = Store(tmp_path / ".mlops-compare")
    starter = ReplayStarter(store=store, hold_after=5)
    app = make_app(tmp_path, starter, runners=["mlflow", "plain"], store=store, jobs=1)  # longest first: plain queues
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: app.runs.queued == {"plain"})
        await pilot.press("right_square_bracket", "right_square_bracket", "C")  # the plain tab: cancel it
        await wait_for(pilot, lambda: finished(app, "plain"))
        assert app.main.pane("plain").record.reason == NOT_STARTED and "cancelled" in status_text(app, "plain")
        assert not starter.handles["plain"].started
        stored = store.latest()["plain"]
        assert stored.status == "cancelled" and stored.reason == NOT_STARTED and stored.started_at
        await pilot.press("c")
        await wait_for(pilot, lambda: not app.runs.active)
    assert store.latest()["mlflow"].status == "cancelled"


async def test_a_starter_that_raises_ends_as_a_stored_error(tmp_path):
    """Defect 4: no worker error, no crash: an "error" record in the pane and in the store."""
    store = Store(tmp_path / ".mlops-compare")

    def starter(tool, criteria, on_event):
        raise RuntimeError("the starter broke")

    app = make_app(tmp_path, starter, runners=["plain"], store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket", "R")
        await wait_for(pilot, lambda: finished(app, "plain"))
        assert app.main.pane("plain").record.status == "error"
        assert "ERROR" in status_text(app, "plain") and "RuntimeError: the starter broke" in status_text(app, "plain")
        assert str(app.main.query_one("#view-runner-plain").label) == "plain !"
    stored = store.latest()["plain"]
    assert stored.status == "error" and stored.reason == "RuntimeError: the starter broke"


async def test_a_missing_data_file_is_refused_before_any_run(tmp_path):
    """The data is checked once before ``R`` queues a run (issue 18): a toast names the file, nothing starts or is stored."""
    path = criteria_copy(tmp_path)
    path.write_text(path.read_text().replace('data = "sklearn:diabetes"', 'data = "missing/wine.csv"'))
    store = Store(tmp_path / ".mlops-compare")
    starter = launcher_starter(store, tmp_path / "work")
    app = make_app(tmp_path, starter, runners=["plain"], store=store, criteria_path=path)
    toasts = []
    real = app.notify
    app.notify = lambda message, *a, **k: (toasts.append(str(message)), real(message, *a, **k))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket", "R")
        await pilot.pause(0.2)
        assert not app.runs.active
    [toast] = [t for t in toasts if "no such data file" in t]
    assert "exam.data 'missing/wine.csv'" in toast
    assert str(tmp_path / "missing" / "wine.csv") in toast  # resolved next to the criteria file
    assert store.history() == []
    assert starter.relay.proc is None  # refused before anything started


async def test_events_arrive_before_their_result(tmp_path):
    """Message order is the contract: every run's events, then its result (four runners at once, no delay)."""
    stream = recorded()
    messages = []
    app = make_app(tmp_path, ReplayStarter(stream=stream), jobs=4)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: all(finished(app, t) for t in app.tools))
        await settle(app, pilot)
        for tool in app.tools:
            assert_events_before_result(messages, tool, len(stream))
            assert len(app.main.pane(tool).record.metrics) == 9  # the record was not folded into twice


QUICK_RUNNER = """
import time
print('{"v": 1, "type": "log", "line": "working", "stream": "runner"}', flush=True)
time.sleep(0.5)
print('{"v": 1, "type": "metric", "alpha": 0.5, "l1_ratio": 0.0, "rmse": 1.0, "mae": 1.0, "r2": "nan"}', flush=True)
print('{"v": 1, "type": "result", "status": "passed", "reason": "", "tool": "quick", "tool_version": ""}', flush=True)
"""


async def test_relay_forgets_finished_runs_and_keeps_the_order(tmp_path, monkeypatch):
    """Defect 9b: a finished run's group and token are dropped (quitting sweeps only live runs).

    Through the real relay: its Started, Events and Finished arrive in order as messages of
    the app, and a NaN sent by the runner arrives as a NaN.
    """
    (tmp_path / "quick_runner.py").write_text(QUICK_RUNNER)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setattr(registry, "available", lambda: {"quick": registry.RunnerInfo("quick", "quick_runner", "X")})
    store = Store(tmp_path / ".mlops-compare")
    starter = launcher_starter(store, tmp_path / "work")
    relay = starter.relay
    messages = []
    app = make_app(tmp_path, starter, runners=["quick"], store=store)
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        for _ in range(2):
            await pilot.press("r")
            await wait_for(pilot, lambda: relay.tokens, 30)  # started: known while it runs
            assert len(relay.tokens) == 1 and len(relay.pgids) == 1
            await wait_for(pilot, lambda: finished(app, "quick"), 30)
            assert not relay.tokens and not relay.pgids
            assert_events_before_result(messages, "quick", 3)
            messages.clear()
        record = app.main.pane("quick").record
        assert record.status == "passed" and math.isnan(record.metrics[0]["r2"])


async def test_nan_metric_is_shown_as_nan(tmp_path):
    """A NaN R2 (constant target) in the pane's metrics table and in the charts, without breaking either."""
    stream = [dict(e) for e in recorded()]
    first = next(e for e in stream if e["type"] == "metric")
    first["r2"] = math.nan
    app = make_app(tmp_path, ReplayStarter(stream=stream), runners=["plain"])
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.main.pane("plain")
        await wait_for(pilot, lambda: pane.is_mounted)
        assert [str(k.value) for k in pane.query_one(".checks", DataTable).rows] == list(events.CHECK_IDS)
        assert str(pane.query_one(".evidence", TextLine).render()) == f"setup: {events.CHECKS[0].title}: not run"
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(app, "plain"))
        metrics = pane.query_one(".metrics", DataTable)
        assert str(metrics.get_row_at(0)[-1]) == "nan" and str(metrics.get_row_at(1)[-1]) != "nan"
        await pilot.press("right_square_bracket", "right_square_bracket", "m", "m")  # charts, r2
        await settle(app, pilot)
        assert app.main.query_one(ChartsView).metric == "r2"
        app.save_screenshot(str(tmp_path / "nan.svg"))  # drawing must not raise


async def test_a_cancelled_rerun_keeps_the_measured_ratings(tmp_path):
    """A run cancelled in the TUI is stored and shown, but the checks it did not run keep their older measurements."""
    store = Store(tmp_path / ".mlops-compare")
    old = RunRecord(tool="metaflow", status="passed", tool_version="2.19.0", started_at="2025-11-20T09:30:00+00:00")
    passed = {"status": "pass", "seconds": 1.0, "evidence": "read back", "numbers": {}}
    old.checks = {"retrieve": dict(passed), "baseline_match": dict(passed)}
    store.save(old)
    starter = ReplayStarter(store=store, hold_after=0)  # holds before its first event
    app = make_app(tmp_path, starter, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.main.query_one(CheckpointTable)
        measured = table.cell("tracking", "tool-metaflow")
        assert "m" in measured
        app.start_run("metaflow")
        await wait_for(pilot, lambda: "metaflow" in starter.handles and starter.handles["metaflow"].started)
        app.runs.cancel("metaflow")
        await wait_for(pilot, lambda: finished(app, "metaflow"))
        await settle(app, pilot)
        assert app.main.pane("metaflow").record.status == "cancelled"
        assert table.cell("tracking", "tool-metaflow") == measured
    assert store.latest()["metaflow"].status == "cancelled"


async def test_a_tool_with_measurements_but_no_ratings_is_named_not_scored(tmp_path):
    """A runner without ratings in criteria.toml (a new plugin) is named on the scoreboard, not left out."""
    store = Store(tmp_path / ".mlops-compare")
    record = RunRecord(tool="notebook-log", status="passed", started_at="2025-11-20T09:30:00+00:00")
    record.checks = {"retrieve": {"status": "pass", "seconds": 1.0, "evidence": "read back", "numbers": {}}}
    store.save(record)
    app = make_app(tmp_path, ReplayStarter(store=store, hold_after=0), store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        board = app.main.query_one(Scoreboard)
        assert board.unscored(board.summary) == ["notebook-log"]
        assert "Not scored: notebook-log has measurements but no ratings" in str(board.render())
