"""Pilot tests of the verdict in the TUI at 80x24: measured ratings and flags, profiles side by side, trust.

The slow ones read the records of the real runners (the session's `exam_run`); the others
need no stored results. Assertions read the text the widgets render.
"""

from __future__ import annotations

import re

import pytest
from mlops_compare import criteria
from mlops_compare.evidence import Evidence, agreement
from mlops_compare.scoring.summary import all_profiles
from mlops_compare.store import Store
from mlops_compare.tui.all_profiles_screen import ProfilesScreen
from mlops_compare.tui.app import MlopsCompareApp
from mlops_compare.tui.checkpoint_table import CheckpointTable
from mlops_compare.tui.checkpoints import CheckpointDetail
from mlops_compare.tui.scoreboard import Scoreboard
from mlops_compare.tui.textline import TextLine
from mlops_compare.tui.trust_screen import EMPTY, TrustScreen
from tui_support import RUNNERS, ReplayStarter, criteria_copy, settle

SIZE = (80, 24)


def make_app(path, store: Store) -> MlopsCompareApp:
    return MlopsCompareApp(criteria.load(path), store=store, starter=ReplayStarter(), runners=RUNNERS)


def stale_metaflow_copy(tmp_path):
    """The shipped criteria with Metaflow's ratings written for an older release (as in test_exam_e2e)."""
    path = criteria_copy(tmp_path)
    text = path.read_text()
    old = 'name = "Metaflow"\nversion = "2.19"'
    assert old in text
    path.write_text(text.replace(old, 'name = "Metaflow"\nversion = "2.0"'))
    return path


async def select(app, pilot, checkpoint: str) -> str:
    """Put the cursor on *checkpoint*; return the detail pane's text."""
    table = app.main.query_one(CheckpointTable)
    table.move_cursor([c.id for c in app.session.criteria.checkpoints].index(checkpoint))
    await pilot.pause()
    return str(app.main.query_one(CheckpointDetail).render())


def profile_rows(text: str) -> dict[str, list[tuple[str, int]]]:
    """The profiles table as {row label: [(cell number, rank), ...]} in the header's tool order."""
    lines = text.splitlines()
    rows = {}
    for line in lines[1:]:
        cells = re.findall(r"(\d+(?:\.\d\d)?)(?: pts)? #(\d+)", line)
        label = re.split(r"\s{2,}", line.strip())[0]
        rows[label.removesuffix(" (current)").removesuffix(" *")] = [(n, int(r)) for n, r in cells]
    return rows


def expected_rows(c, ranking, tools) -> dict[str, list[tuple[str, int]]]:
    rows = {pid: [(f"{p['scores'][t]:.2f}", p["ranks"][t]) for t in tools] for pid, p in ranking["profiles"].items()}
    rows["Borda compromise"] = [(str(ranking["borda"][t]), ranking["compromise"][t]) for t in tools]
    return rows


def header_tools(c, text: str) -> list[str]:
    by_name = {t.name: t.id for t in c.tools.values()}
    return [by_name[name] for name in text.splitlines()[0].split()[1:]]


# --- with the real runners' records ----------------------------------------------------


@pytest.mark.slow
async def test_measured_markers_and_contradiction(exam_run, tmp_path):
    app = make_app(criteria_copy(tmp_path), exam_run.store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.main.query_one(CheckpointTable)
        for tool in (t for t in app.session.criteria.tools if t in exam_run.records):  # the rest: own fixtures
            assert table.cell("tracking", f"tool-{tool}").endswith(("m", "m!", "m?", "m!?")), tool
            assert "m" not in table.cell("design", f"tool-{tool}"), tool
        assert table.cell("tracking", "tool-metaflow") == "5m!"  # expert 3; retrieve and baseline_match pass

        detail = await select(app, pilot, "tracking")
        flow = detail[detail.index("\nMetaflow ") :]
        expert_why = app.session.criteria.tools["metaflow"].ratings["tracking"].why
        assert "Metaflow CONTRADICTION (expert 3, measured 5)" in detail  # the flags line
        assert flow.startswith("\nMetaflow 5m! (measured) CONTRADICTION")
        joined = " ".join(flow.split())
        assert f"expert 3 ({expert_why}) / measured 5 (" in joined and "retrieve pass" in joined
        assert exam_run.records["metaflow"].checks["retrieve"]["evidence"][:30] in flow

        detail = await select(app, pilot, "design")  # no evidence: the expert's reason only
        assert "measured" not in detail and "CONTRADICTION" not in detail


@pytest.mark.slow
async def test_stale_ratings_are_marked(exam_run, tmp_path):
    app = make_app(stale_metaflow_copy(tmp_path), exam_run.store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.main.query_one(CheckpointTable)
        for checkpoint in app.session.criteria.checkpoints:
            assert table.cell(checkpoint.id, "tool-metaflow").endswith("?"), checkpoint.id
            assert not table.cell(checkpoint.id, "tool-mlflow").endswith("?"), checkpoint.id
        detail = await select(app, pilot, "tracking")
        flagged = next(line for line in detail.splitlines() if line.startswith("Flagged: "))
        assert re.search(r"(: |; )Metaflow [^;]*STALE", flagged) and flagged.count("STALE") == 1
        metaflow = detail[detail.index("\nMetaflow ") :]
        assert "STALE (ratings written for 2.0)" in metaflow.splitlines()[1]
        assert "STALE" not in detail[detail.index("\nMLflow ") : detail.index("\nMetaflow ")]


@pytest.mark.slow
async def test_profiles_screen_shows_every_profile_and_borda(exam_run, tmp_path):
    path = criteria_copy(tmp_path)
    app = make_app(path, exam_run.store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        assert isinstance(app.screen, ProfilesScreen)
        text = app.screen.query_one("#profiles-table", TextLine).text.plain
        c = criteria.load(path)
        ranking = all_profiles(c, Evidence.from_store(exam_run.store.root))
        assert profile_rows(text) == expected_rows(c, ranking, header_tools(c, text))
        assert set(profile_rows(text)) == {*c.profiles, "Borda compromise"}
        await pilot.press("escape")
        assert app.screen is app.main


@pytest.mark.slow
async def test_trust_screen_shows_agreement_and_dataset(exam_run, tmp_path):
    app = make_app(criteria_copy(tmp_path), exam_run.store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrustScreen)
        text = app.screen.query_one("#trust-body", TextLine).text.plain
        dataset = exam_run.records["plain"].dataset
        assert f"normalised copy sha256 {dataset['normalised_sha256']}" in text  # sklearn data: no source file
        assert f"rows     {dataset['rows']}" in text
        assert "alpha    [0.0, 0.5]" in text and "l1_ratio [0.5]" in text
        assert "Cross-tool agreement: PASS" in text
        assert text.count("largest difference") == 1 + len(agreement(Evidence(exam_run.records))[0])
        for tool, record in exam_run.records.items():
            status = record.checks["reproduce"]["status"].upper()
            assert re.search(rf"^  {tool}\s+{status}  ", text, re.MULTILINE), tool
        await pilot.press("escape")
        assert app.screen is app.main


# --- without stored results ------------------------------------------------------------


async def test_trust_screen_empty_state(tmp_path):
    app = make_app(criteria_copy(tmp_path), Store(tmp_path / ".mlops-compare"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one("#trust-body", TextLine).text.plain == EMPTY
        await pilot.press("t")
        assert app.screen is app.main


async def test_profiles_screen_applies_unsaved_edits(tmp_path):
    path = criteria_copy(tmp_path)
    app = make_app(path, Store(tmp_path / ".mlops-compare"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "0")  # versioning 10 -> 0 under research-institute
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        text = app.screen.query_one("#profiles-table", TextLine).text.plain
        assert "research-institute * (current)" in text
        c = criteria.load(path)
        edited = {**c.profiles, "research-institute": c.profiles["research-institute"].with_weights({"versioning": 0})}
        ranking = all_profiles(criteria_with(c, edited), Evidence())
        tools = header_tools(c, text)
        assert profile_rows(text) == expected_rows(c, ranking, tools)
        shown = dict(app.main.query_one(Scoreboard).summary.scores)
        assert profile_rows(text)["research-institute"] == [
            (f"{shown[t]:.2f}", ranking["profiles"]["research-institute"]["ranks"][t]) for t in tools
        ]


def criteria_with(c, profiles):
    import dataclasses
    from types import MappingProxyType

    return dataclasses.replace(c, profiles=MappingProxyType(profiles))


async def test_palette_and_help_list_the_new_screens(tmp_path):
    app = make_app(criteria_copy(tmp_path), Store(tmp_path / ".mlops-compare"))
    async with app.run_test(size=(100, 50)) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Profiles side by side", "Trust checks"} <= titles
        await pilot.press("question_mark")
        await pilot.pause()
        rows = {what: keys for keys, what in app.screen.rows}
        assert rows["every profile side by side, with a compromise"] == "P"
        assert rows["trust checks: data set, grid, agreement, reproduce"] == "t"
