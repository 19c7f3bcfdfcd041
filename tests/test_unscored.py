"""Runners without ratings, example folders, combined versions: the plugin API's core side (fast).

A tool with a runner or stored runs but no ``[tool.NAME]`` ratings is shown with what it
measured and a note in `score` (every format), `report` and `check`, never dropped silently;
a runner's example folder may live in its own package, and without one `invasiveness` is
``skip``; a combination's version ("3.67.1 + 3.17.2") goes stale when either tool moves.
"""

from __future__ import annotations

import csv
import io
import json

from conftest import without_large_data, without_storage, without_tool
from mlops_compare import criteria
from mlops_compare.evidence import major_minor
from mlops_compare.results import RunRecord
from mlops_compare.runners.context import EXAMPLE_DIR, Context
from mlops_compare.runners.plain import PlainRunner
from mlops_compare.store import Store
from test_cli import run

NOTE = "notebook-log has stored runs but no ratings: it is not scored until ratings are added"


def stored_unrated_run(tmp_path):
    """A store with one run of a tool that criteria.toml does not rate."""
    checks = {
        "setup": {"status": "pass", "seconds": 0.1, "evidence": "made notebook/", "numbers": {}},
        "retrieve": {"status": "pass", "seconds": 0.1, "evidence": "read 2 run files back", "numbers": {}},
        "baseline_match": {"status": "pass", "seconds": 0.0, "evidence": "equal", "numbers": {}},
        "models": {"status": "skip", "seconds": 0.0, "evidence": "not measured", "numbers": {}},
    }
    record = RunRecord(tool="notebook-log", status="passed", started_at="2026-01-01T10:00:00+00:00", checks=checks)
    store = tmp_path / "store"
    Store(store).save(record)
    return store


def test_an_unrated_tool_is_shown_with_its_measurements_in_every_score_format(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = str(stored_unrated_run(tmp_path))
    code, md, _ = run(capsys, "score", "--store", store)
    assert code == 0
    assert "## Not scored" in md and NOTE in md and "\\[tool.notebook-log\\]" in md
    assert "| notebook-log | not installed | passed (2026-01-01 10:00 UTC) | setup pass, retrieve pass," in md
    assert "| Experiment tracking and comparison | 5 |" in md  # the measured rating it would get
    ranking = md.split("## Checkpoints")[0]
    assert "notebook-log" not in ranking  # shown, not ranked

    _, out, _ = run(capsys, "score", "--store", store, "--format", "json")
    data = json.loads(out)
    [unscored] = data["unscored"]
    assert unscored["tool"] == "notebook-log" and unscored["runner"] is False
    assert unscored["measured"] == {"tracking": 5.0} and "models" not in unscored["checks"]  # it did not run
    assert NOTE in unscored["note"] and "notebook-log" not in {r["tool"] for r in data["ranking"]}

    _, out, _ = run(capsys, "score", "--store", store, "--format", "csv")
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["section"] == "unscored"]
    assert [(r["id"], r["tool"], r["rating"]) for r in rows] == [("tracking", "notebook-log", "5.0")]
    assert NOTE in rows[0]["why"]

    _, out, _ = run(capsys, "score", "--store", store, "--all-profiles")
    assert "## Not scored" in out and NOTE in out
    _, out, _ = run(capsys, "score", "--store", store, "--all-profiles", "--format", "json")
    assert [u["tool"] for u in json.loads(out)["unscored"]] == ["notebook-log"]


def test_the_report_says_an_unrated_tool_is_not_scored(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, md, _ = run(capsys, "report", "--store", str(stored_unrated_run(tmp_path)))
    assert code == 0
    assert md.index("## Ranking") < md.index("## Not scored") < md.index("## Checkpoints")
    assert NOTE in md
    assert "| notebook-log |" in md.split("## The exam")[1]  # its checks in the exam section


def test_check_notes_a_registered_runner_without_ratings(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check")
    assert code == 0 and "note:" not in out  # the shipped file rates every registered runner
    path = tmp_path / "criteria.toml"
    path.write_text(without_tool(criteria.SHIPPED.read_text(), "dvc-mlflow"))
    code, out, err = run(capsys, "check", "--criteria", str(path))
    assert code == 0 and err == ""
    assert "ok (15 checkpoints, 3 profiles, 5 tools)" in out
    assert "note: dvc-mlflow has a runner but no ratings: it is not scored until ratings are added" in out


def test_invasiveness_skips_without_an_example_folder(tmp_path):
    class Bare(PlainRunner):
        name = "bare"
        example = ""

    class Elsewhere(PlainRunner):
        name = "elsewhere"
        example = "plain"
        example_package = "mlops_compare.runners.checks"  # a package without that folder

    skipped = Bare().invasiveness(None)
    assert skipped.status == "skip" and "the runner names none (Runner.example)" in skipped.evidence
    missing = Elsewhere().invasiveness(None)
    assert missing.status == "skip" and "does not exist" in missing.evidence
    assert PlainRunner.example_dir() == EXAMPLE_DIR / "plain"


def test_an_example_folder_from_another_package_is_copied(tmp_path):
    class Packaged(PlainRunner):
        name = "packaged"
        example = "plain"
        example_package = "mlops_compare.example"

    ctx = Context(tmp_path, {"grid": {"alpha": [0.5], "l1_ratio": [0.5]}}, emitter=None)
    assert Packaged.example_dir() == EXAMPLE_DIR / "plain"
    assert ctx.copy_example(Packaged.example_dir()) == ["common.py", "train.py"]
    assert (tmp_path / "train.py").read_text() == (EXAMPLE_DIR / "plain" / "train.py").read_text()


def test_a_combination_goes_stale_when_either_tool_moves():
    rated = major_minor("3.67 + 3.17")
    assert major_minor("3.67.1 + 3.17.2") == rated
    assert major_minor("3.67.1 + 3.18.0") != rated and major_minor("3.68.0 + 3.17.2") != rated
    assert major_minor("2.19.39") == major_minor("2.19")


async def test_the_tui_gives_the_combination_a_pane_and_a_score_with_no_change_to_the_tui(tmp_path):
    from mlops_compare.tui.app import MlopsCompareApp
    from mlops_compare.tui.scoreboard import Scoreboard
    from tui_support import ReplayStarter, settle

    store = Store(tmp_path / ".mlops-compare")
    path = tmp_path / "criteria.toml"
    path.write_text(without_storage(without_large_data(criteria.SHIPPED.read_text())))
    app = MlopsCompareApp(criteria.load(path), store=store, starter=ReplayStarter(store=store), cwd=tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        assert str(app.main.query_one("#view-runner-dvc-mlflow").label).startswith("dvc-mlflow")
        assert "dvc-mlflow" in app.main.query_one(Scoreboard).summary.scores  # rated in the shipped file
