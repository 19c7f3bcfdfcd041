"""End to end: the TUI runs the real plain runner through the core launcher (a few seconds)."""

from __future__ import annotations

import time

from mlops_compare import criteria
from mlops_compare.store import Store
from mlops_compare.tui.app import MlopsCompareApp
from mlops_compare.tui.runs import launcher_starter
from textual.widgets import DataTable
from tui_support import criteria_copy, settle


async def test_real_plain_runner_from_the_tui(tmp_path):
    store = Store(tmp_path / ".mlops-compare")
    app = MlopsCompareApp(
        criteria.load(criteria_copy(tmp_path)),
        store=store,
        starter=launcher_starter(store, tmp_path / "work"),
        runners=["plain"],
        cwd=tmp_path,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right_square_bracket", "R")  # the plain tab, run the selected runner
        pane = app.main.pane("plain")
        deadline = time.monotonic() + 120
        while not (pane.record and pane.record.finished and not app.runs.active):
            assert time.monotonic() < deadline, "the plain runner did not finish in 2 minutes"
            await pilot.pause(0.1)
        await settle(app, pilot)
        assert pane.record.status == "passed", pane.record.reason
        assert pane.query_one(".metrics", DataTable).row_count == 9
        assert "passed" in str(pane.query_one(".run-status").render())
        assert str(app.main.query_one("#view-runner-plain").label) == "plain ✓"
    stored = store.latest()["plain"]
    assert stored.status == "passed" and len(stored.metrics) == 9 and stored.log
