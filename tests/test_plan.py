"""The run plan: one mapping from criteria + choices to runner requests, used by every front end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlops_compare import criteria as criteria_mod
from mlops_compare.errors import UserError
from mlops_compare.plan import Choices, plan


def _criteria_with_data(tmp_path: Path, criteria_copy: Path, data: str):
    text = criteria_copy.read_text().replace('data = "sklearn:diabetes"', f'data = "{data}"')
    text = text.replace('target = "target"', 'target = "y"')
    criteria_copy.write_text(text)
    return criteria_mod.load(criteria_copy)


def _rows(sep: str) -> str:
    """Twelve rows of two numbers: enough for the parent's data check (`data_check.MIN_ROWS`)."""
    return "".join(f"{i}{sep}{i % 3}\n" for i in range(12))


def test_a_relative_data_path_is_relative_to_the_criteria_file(tmp_path, criteria_copy, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "small.csv").write_text("x;y\n" + _rows(";"))
    criteria = _criteria_with_data(tmp_path, criteria_copy, "data/small.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the TUI's and runner's folders are not the criteria's
    [request] = plan(criteria, Choices(tools=("plain",)))
    assert request.exam["data"] == str(tmp_path / "data" / "small.csv")
    assert request.module == "mlops_compare.runners.plain"


def test_a_home_relative_data_path_is_expanded(tmp_path, criteria_copy, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "wine.csv").write_text("a,y\n" + _rows(","))
    criteria = _criteria_with_data(tmp_path, criteria_copy, "~/wine.csv")
    [request] = plan(criteria, Choices(tools=("plain",)))
    assert request.exam["data"] == str(tmp_path / "wine.csv")


def test_command_line_data_is_relative_to_where_the_command_runs(tmp_path, criteria_copy, monkeypatch):
    (tmp_path / "mine.csv").write_text("a,label\n" + _rows(","))
    monkeypatch.chdir(tmp_path)
    criteria = criteria_mod.load(criteria_copy)
    [request] = plan(criteria, Choices(tools=("plain",), data="mine.csv", target="label", checks=("models",)))
    assert request.exam["data"] == os.path.join(tmp_path, "mine.csv")
    assert request.exam["target"] == "label" and request.exam["checks"] == ["models"]


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        (Choices(tools=("nope",)), "--tool nope: no such runner"),
        (Choices(checks=("speed",)), "--check speed: no such check"),
        (Choices(timeout=0), "--timeout 0: give a number of seconds more than 0"),
        (Choices(data="missing.csv"), "missing.csv: no such data file"),
        (Choices(data="sklearn:diabetes", target="nope"), "no target column 'nope' in sklearn:diabetes"),
    ],
)
def test_bad_choices_are_user_errors_before_anything_starts(criteria_copy, choices, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    criteria = criteria_mod.load(criteria_copy)
    if message is None:
        assert plan(criteria, choices)
        return
    with pytest.raises(UserError, match=message):
        plan(criteria, choices)


def test_a_missing_target_column_names_the_columns(tmp_path, criteria_copy, monkeypatch):
    (tmp_path / "d.csv").write_text("fixed acidity;quality\n7;6\n")
    monkeypatch.chdir(tmp_path)
    criteria = criteria_mod.load(criteria_copy)
    with pytest.raises(UserError, match="no column 'target'.*fixed acidity, quality"):
        plan(criteria, Choices(data="d.csv"))
