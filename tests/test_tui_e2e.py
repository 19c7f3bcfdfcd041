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


async def test_relative_data_path_is_resolved_from_the_criteria_file(tmp_path, monkeypatch):
    """Defect 2: criteria.toml's ``data = "data/tiny.csv"`` means next to criteria.toml, from the TUI too.

    The TUI, the relay and the runner each run somewhere else (the runner in its workspace),
    so only a path resolved by the run plan reaches the file.
    """
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    rows = ["x1,x2,y"] + [f"{i},{(i * 7) % 11},{2 * i + (i * 7) % 11 + (i % 3)}" for i in range(40)]
    (folder / "data" / "tiny.csv").write_text("\n".join(rows) + "\n")
    path = criteria_copy(folder)
    text = path.read_text().replace('data = "sklearn:diabetes"', 'data = "data/tiny.csv"')
    path.write_text(text.replace('target = "target"', 'target = "y"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the user started mlops-compare from another folder
    store = Store(tmp_path / ".mlops-compare")
    app = MlopsCompareApp(
        criteria.load(path), store=store, starter=launcher_starter(store, tmp_path / "work"), runners=["plain"]
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right_square_bracket", "R")
        pane = app.main.pane("plain")
        deadline = time.monotonic() + 120
        while not (pane.record and pane.record.finished and not app.runs.active):
            assert time.monotonic() < deadline, "the plain runner did not finish in 2 minutes"
            await pilot.pause(0.1)
        assert pane.record.status == "passed", pane.record.reason
    stored = store.latest()["plain"]
    assert stored.status == "passed" and len(stored.metrics) == 9
    assert stored.dataset.get("rows") == 40, stored.dataset
