"""Snapshot tests of the main screen at 80x24 and 160x48, replaying a recorded plain-runner stream.

Deterministic by construction: the replay carries no timestamps (no "last run" date, no
run duration), the store is an empty folder under tmp_path, scores are seeded. Update
the snapshots after an intended change with ``pytest --snapshot-update`` and look at the
SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import time

from mlops_compare import criteria
from mlops_compare.store import Store
from mlops_compare.tui.app import MlopsCompareApp
from tui_support import RUNNERS, ReplayStarter, criteria_copy, settle


def replay_app(tmp_path) -> MlopsCompareApp:
    return MlopsCompareApp(
        criteria.load(criteria_copy(tmp_path)),
        store=Store(tmp_path / ".mlops-compare"),
        starter=ReplayStarter(),  # not saved; the finished replays still count as evidence (measured "m" ratings)
        runners=RUNNERS,
        jobs=len(RUNNERS),
        cwd=tmp_path,
    )


def after(*keys: str):
    """run_before for snap_compare: run every runner to the end of the replay, then press *keys*."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        await pilot.press("r")
        deadline = time.monotonic() + 20
        while not all(app.main.pane(t).record and app.main.pane(t).record.finished for t in RUNNERS):
            assert time.monotonic() < deadline, "the replay did not finish"
            await pilot.pause(0.05)
        await settle(app, pilot)
        if keys:
            await pilot.press(*keys)
        await settle(app, pilot)
        await pilot.pause(0.5)  # the tab underline animation

    return run_before


def test_scores_80x24(snap_compare, tmp_path):
    assert snap_compare(replay_app(tmp_path), terminal_size=(80, 24), run_before=after("down", "0"))


def test_runner_pane_80x24(snap_compare, tmp_path):
    assert snap_compare(replay_app(tmp_path), terminal_size=(80, 24), run_before=after("right_square_bracket"))


def test_side_by_side_160x48(snap_compare, tmp_path):
    assert snap_compare(replay_app(tmp_path), terminal_size=(160, 48), run_before=after())


def test_charts_160x48(snap_compare, tmp_path):
    assert snap_compare(replay_app(tmp_path), terminal_size=(160, 48), run_before=after("left_square_bracket"))
