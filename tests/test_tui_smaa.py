"""The all-profiles view (``P``) shows the current profile's rank acceptability table (SMAA)."""

from __future__ import annotations

import re

from mlops_compare import criteria
from mlops_compare.evidence import measured_cells
from mlops_compare.scoring import smaa
from mlops_compare.store import Store
from mlops_compare.tui.app import MlopsCompareApp
from mlops_compare.tui.textline import TextLine
from tui_support import RUNNERS, ReplayStarter, criteria_copy, settle


async def test_profiles_view_shows_rank_acceptability(tmp_path):
    path = criteria_copy(tmp_path)
    app = MlopsCompareApp(
        criteria.load(path), store=Store(tmp_path / ".mlops-compare"), starter=ReplayStarter(), runners=RUNNERS
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        text = app.screen.query_one("#profiles-smaa", TextLine).text.plain
    c = criteria.load(path)
    profile = c.profiles[c.default_profile]
    ratings = {t: {k: cell.value for k, cell in per.items()} for t, per in measured_cells(c, profile).items()}
    expected = smaa.analyse(profile.weights, ratings)
    assert f"Rank acceptability under {c.default_profile}" in text and "confidence" in text and "Lahdelma" in text
    for tool in c.tools:
        row = next(line for line in text.splitlines() if line.startswith(c.tools[tool].name + " "))
        shares = [int(v) for v in re.findall(r"(\d+)%", row)][: len(c.tools)]
        assert shares == [round(100 * v) for v in expected.acceptability[tool]], row
