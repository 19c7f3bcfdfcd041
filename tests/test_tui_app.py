"""Pilot tests of the TUI at 80x24: weights, profiles, export, save, help, palette, start-up errors."""

from __future__ import annotations

import contextlib
import io
import tomllib

import pytest
from mlops_compare import cli, criteria, export
from mlops_compare.evidence import Evidence
from mlops_compare.scoring.summary import summarize
from mlops_compare.store import Store
from mlops_compare.tui.app import MlopsCompareApp, run_app
from mlops_compare.tui.checkpoint_table import CheckpointTable
from mlops_compare.tui.export_screen import ExportScreen
from mlops_compare.tui.help_screen import HelpScreen
from mlops_compare.tui.main_screen import MainScreen
from mlops_compare.tui.scoreboard import Scoreboard
from tui_support import RUNNERS, ReplayStarter, criteria_copy, settle

SIZE = (80, 24)


def make_app(tmp_path, **kwargs) -> MlopsCompareApp:
    path = kwargs.pop("criteria_path", None) or criteria_copy(tmp_path)
    store = Store(tmp_path / ".mlops-compare")
    kwargs.setdefault("starter", ReplayStarter(store=store))
    return MlopsCompareApp(criteria.load(path), store=store, runners=RUNNERS, cwd=tmp_path, **kwargs)


STUDY = ("mlflow", "dvc", "metaflow")  # the tools the hand-worked sums below are for


def shown_scores(app, tools: tuple[str, ...] | None = None) -> dict[str, float]:
    """The scoreboard's scores (of *tools* only, when given)."""
    scores = dict(app.main.query_one(Scoreboard).summary.scores)
    return scores if tools is None else {tool: scores[tool] for tool in tools}


async def test_weight_change_gives_exact_new_scores(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # research-institute by hand: sum(w) = 85; sum(w*r) = MLflow 331, DVC 358, Metaflow 278
        assert shown_scores(app, STUDY) == pytest.approx({"mlflow": 331 / 85, "dvc": 358 / 85, "metaflow": 278 / 85})
        await pilot.press("down", "0")  # versioning (weight 10, ratings 3/5/3) to 0
        await settle(app, pilot)
        assert shown_scores(app, STUDY) == pytest.approx({"mlflow": 301 / 75, "dvc": 308 / 75, "metaflow": 248 / 75})
        await pilot.press(*["down"] * 5, "plus", "plus")  # storage 8 -> 10 (ratings 4/5/3)
        await settle(app, pilot)
        assert app.main.query_one(CheckpointTable).selected == "storage"
        assert shown_scores(app, STUDY) == pytest.approx({"mlflow": 309 / 77, "dvc": 318 / 77, "metaflow": 254 / 77})
        assert "2 weights changed" in app.main.query_one(Scoreboard).render().plain
        await pilot.press("plus", "minus", "minus", "minus")  # clamped at 10, then down to 7
        await settle(app, pilot)
        assert app.session.weight("storage") == 7
        await pilot.press("u")  # back to the file's value
        await settle(app, pilot)
        assert app.session.weight("storage") == 8 and not app.session.is_edited("storage")


async def test_scores_match_the_raw_toml(tmp_path):
    """The same arithmetic straight from the TOML text, for every checkpoint set to 0 in turn."""
    app = make_app(tmp_path)
    raw = tomllib.loads(criteria_copy(tmp_path).read_text())
    ratings = {t: {c: v["rating"] for c, v in raw["tool"][t]["ratings"].items()} for t in raw["tool"]}
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for row in (0, 7, 14):
            weights = dict(raw["profile"]["research-institute"]["weights"])
            cid = [c["id"] for c in raw["checkpoint"]][row]
            weights[cid] = 3
            app.main.query_one(CheckpointTable).move_cursor(row=row)
            await pilot.press("3")
            await settle(app, pilot)
            total = sum(weights.values())
            expected = {t: sum(weights[c] * r[c] for c in weights) / total for t, r in ratings.items()}
            assert shown_scores(app) == pytest.approx(expected)
            await pilot.press("u")
            await settle(app, pilot)


async def test_all_zero_weights_are_refused(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.main.query_one(CheckpointTable)
        for row in range(15):
            table.move_cursor(row=row)
            await pilot.press("0")
        await settle(app, pilot)
        assert sum(app.session.profile.weights.values()) == 5  # real_world's 5 -> 0 was refused
        assert shown_scores(app)  # still scored


async def test_profile_switch_and_edits_kept_per_profile(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("0")  # design: 3 -> 0 under research-institute
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert app.session.profile_id == "production-team"
        loaded = criteria.load(app.session.criteria.path)
        expected = summarize(loaded, loaded.profiles["production-team"])
        assert shown_scores(app) == pytest.approx(dict(expected.scores))
        assert "production-team" in app.main.query_one(Scoreboard).render().plain
        table = app.main.query_one(CheckpointTable)
        assert table.cell("serving", "weight") == "10"
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("up", "enter")
        await settle(app, pilot)
        assert app.session.profile_id == "research-institute" and app.session.weight("design") == 0


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
async def test_export_writes_exactly_what_score_prints(tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    path = criteria_copy(tmp_path)
    app = make_app(tmp_path, criteria_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "0", *["down"] * 5, "plus", "plus")  # versioning=0, storage=10
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press(*["right"] * ["md", "csv", "json"].index(fmt), "enter")
        await settle(app, pilot)
    written = tmp_path / f"mlops-compare-research-institute.{fmt}"
    loaded = criteria.load(path)
    profile = loaded.profiles["research-institute"].with_weights({"versioning": 0.0, "storage": 10.0})
    evidence = Evidence.from_store(tmp_path / ".mlops-compare")
    assert written.read_text() == export.render(summarize(loaded, profile, evidence), fmt)
    out = io.StringIO()
    argv = ["score", "--criteria", str(path), "--profile", "research-institute", "--format", fmt]
    argv += ["--weight", "versioning=0", "--weight", "storage=10", "--store", str(tmp_path / ".mlops-compare")]
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0
    assert written.read_text() == out.getvalue()


async def test_export_after_runs_uses_measured_ratings_like_score(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("e", "enter")
        await settle(app, pilot)
        assert any(c.used == "measured" for c in app.main.query_one(Scoreboard).summary.cells["mlflow"].values())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["score", "--criteria", str(tmp_path / "criteria.toml")]) == 0
    assert (tmp_path / "mlops-compare-research-institute.md").read_text() == out.getvalue()


async def test_save_preserves_comments_and_layout(tmp_path):
    path = criteria_copy(tmp_path)
    before = path.read_text()
    app = make_app(tmp_path, criteria_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "4", "down", "plus", "s")
        await settle(app, pilot)
        assert not app.session.dirty()
    after = path.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [
        (
            "versioning = 10      # must-have 1: reproducible code, data, parameters and models",
            "versioning = 4       # must-have 1: reproducible code, data, parameters and models",
        ),
        ("tracking = 6", "tracking = 7"),
    ]
    assert criteria.load(path).profiles["research-institute"].weights["versioning"] == 4


async def test_save_of_shipped_criteria_writes_local_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = criteria.load(criteria.SHIPPED)
    store = Store(tmp_path / ".mlops-compare")
    app = MlopsCompareApp(shipped, store=store, starter=ReplayStarter(), runners=RUNNERS, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("9", "s")
        await settle(app, pilot)
        assert app.session.criteria.path == criteria.LOCAL
    assert criteria.load(tmp_path / "criteria.toml").profiles["research-institute"].weights["design"] == 9
    assert criteria.load(criteria.SHIPPED).profiles["research-institute"].weights["design"] == 3


async def test_help_lists_every_key(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict((what, keys) for keys, what in app.screen.rows)
        for binding in [*MainScreen.BINDINGS, *CheckpointTable.BINDINGS]:
            assert (binding.tooltip or binding.description) in rows
        assert rows["set the weight to the digit"] == "0-9"
        assert rows["run the runner of the selected tab"] == "R"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_command_palette_has_every_action(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE):
        titles = {c.title for c in app.get_system_commands(app.screen)}
    for title in ("Run all runners", "Run plain", "Cancel mlflow", "Cancel all runs", "Export scores", "Save weights"):
        assert title in titles
    assert {"Switch profile", "Profile: solo-researcher", "Show charts", "Keys", "Quit mlops-compare"} <= titles


async def test_views_switch_with_brackets(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket", "right_square_bracket")
        await pilot.pause()
        assert app.main.view == "runner:mlflow" and app.main.pane("mlflow").display
        assert not app.main.query_one("#scores-area").display
        await pilot.press(*["left_square_bracket"] * 3)
        await pilot.pause()
        assert app.main.view == "charts"


def test_invalid_criteria_exit_2_before_any_screen(tmp_path, capsys):
    bad = tmp_path / "criteria.toml"
    bad.write_text('schema = 1\n[[checkpoint]]\nid = "x"\n[profile.a.weights]\nx = -1\n')
    assert run_app(str(bad), None) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "weights must be >= 0" in captured.err and "\x1b[" not in captured.err
    assert captured.err.splitlines()[0].startswith(str(bad))


def test_unknown_profile_exit_2(tmp_path, capsys):
    assert run_app(str(criteria_copy(tmp_path)), "nobody") == 2
    assert "unknown profile 'nobody'" in capsys.readouterr().err
