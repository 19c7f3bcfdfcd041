"""Saving weights back to criteria.toml: comments and layout survive, the shipped file is never edited."""

from __future__ import annotations

import difflib
import shutil
import sys
from pathlib import Path

import pytest
from mlops_compare import criteria, weights_io
from mlops_compare.errors import UserError

SMALL = """\
# my criteria: keep this comment
schema = 1
default_profile = "a"

[[checkpoint]]
id = "x"  # the first
title = "X"

[[checkpoint]]
id = "y"
title = "Y"

[profile.a.weights]
x = 10     # must-have
y = 2

[profile.b]
description = "no weights table yet"

[tool.t.ratings]
x = { rating = 5, why = "w" }
y = { rating = 1, why = "w" }

[tool.u.ratings]
x = { rating = 1, why = "w" }
y = { rating = 5, why = "w" }
"""


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_apply_changes_only_the_numbers_and_keeps_comment_columns():
    after = weights_io.apply(SMALL, {"a": {"x": 4, "y": 2.5}})
    assert changed_lines(SMALL, after) == ["-x = 10     # must-have", "-y = 2", "+x = 4      # must-have", "+y = 2.5"]


def test_apply_adds_missing_keys_and_tables():
    after = weights_io.apply(SMALL, {"b": {"y": 3.0}, "a": {"x": 10.0}})
    assert "x = 10     # must-have" in after  # unchanged value: untouched
    data = criteria.parse(__import__("tomllib").loads(after), Path("c.toml"))
    assert data.profiles["b"].weights == {"x": 1.0, "y": 3.0}
    assert after.startswith("# my criteria: keep this comment\n")


def test_apply_unknown_profile_is_a_user_error():
    with pytest.raises(UserError, match="profile 'zz'"):
        weights_io.apply(SMALL, {"zz": {"x": 1}})


def test_save_round_trips_the_loaded_file(tmp_path):
    path = tmp_path / "criteria.toml"
    path.write_text(SMALL)
    loaded = criteria.load(path)
    assert weights_io.save(loaded, {"a": {"y": 7}}) == path
    assert criteria.load(path).profiles["a"].weights["y"] == 7.0
    assert changed_lines(SMALL, path.read_text()) == ["-y = 2", "+y = 7"]


def test_save_of_the_shipped_default_goes_to_local_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped_text = criteria.SHIPPED.read_text()
    loaded = criteria.load(criteria.SHIPPED)
    assert loaded.shipped
    pid = loaded.default_profile
    written = weights_io.save(loaded, {pid: {"design": 9}})
    assert written == criteria.LOCAL and (tmp_path / "criteria.toml").is_file()
    assert criteria.SHIPPED.read_text() == shipped_text  # the package's copy is untouched
    local = (tmp_path / "criteria.toml").read_text()
    assert len(changed_lines(shipped_text, local)) == 2  # one line out, one in: comments all kept
    assert criteria.load().profiles[pid].weights["design"] == 9.0


def test_save_refuses_to_overwrite_another_local_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "criteria.toml").write_text("# mine\n")
    loaded = criteria.load(criteria.SHIPPED)
    with pytest.raises(UserError, match="already exists"):
        weights_io.save(loaded, {loaded.default_profile: {"design": 9}})
    assert (tmp_path / "criteria.toml").read_text() == "# mine\n"


def test_save_never_writes_an_invalid_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(SMALL)
    loaded = criteria.load(path)
    with pytest.raises(UserError, match="every weight is zero"):
        weights_io.save(loaded, {"a": {"x": 0, "y": 0}})
    assert path.read_text() == SMALL


def test_no_textual_import():
    import subprocess

    code = "import sys, mlops_compare.weights_io; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_shipped_copy_is_preserved_when_loading_from_a_copy(tmp_path):
    path = tmp_path / "copy.toml"
    shutil.copy(criteria.SHIPPED, path)
    loaded = criteria.load(path)
    assert not loaded.shipped and weights_io.target(loaded) == path
