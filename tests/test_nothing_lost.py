"""Issue 18, "nothing lost": bad input refused before the exam starts (exit 2, one line saying
what and where), the results store probed first, damaged records named, leftovers cleaned.

Each test reproduces one defect of the issue's hostile pass; none runs a real MLOps tool.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlops_compare import cli
from test_criteria import MINIMAL


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str) -> str:
    """The single error line of a refused command (no traceback, nothing else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# --- item 5: weights above a documented bound -----------------------------------------------


def test_huge_weights_on_the_command_line_are_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ("--weight", "versioning=1e308", "--weight", "storage=1e308")
    for command in (("score",), ("report",)):
        code, _, err = run(capsys, *command, *argv)
        assert code == 2 and "weights must be at most 1e+06" in one_error(err), err
    code, _, err = run(capsys, "score", "--weight", "versioning=1000000")
    assert code == 0, err  # the bound itself is fine


def test_huge_weights_in_the_criteria_are_refused_with_file_and_line(capsys, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL.replace("a = 1\n", "a = 1e308\n"))
    code, _, err = run(capsys, "check", "--criteria", str(path))
    assert code == 2
    assert f"{path}:10:1: profile 'p': weight of 'a' is 1e+308; weights must be at most 1e+06" in one_error(err)


# --- item 6: each bad option, one line and exit 2 --------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--timeout", "nan"], "--timeout nan: give a number of seconds more than 0"),
        (["--timeout", "inf"], "--timeout inf: give a number of seconds more than 0"),
        (["--timeout", "-1"], "--timeout -1: give a number of seconds more than 0"),
        (["--timeout", "0"], "--timeout 0: give a number of seconds more than 0"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--jobs", "-3"], "--jobs must be at least 1"),
        (["--data", ""], "--data is empty: give a CSV path or sklearn:NAME"),
        (["--target", ""], "--target is empty: give the name of the data's target column"),
        (["--target", "  "], "--target is empty: give the name of the data's target column"),
    ],
)
def test_bad_run_options_are_refused_before_anything_starts(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run", "--tool", "plain", "--check", "grid", *argv)
    assert code == 2 and message in one_error(err)
    assert not (tmp_path / ".mlops-compare").exists()


def test_a_workdir_that_is_a_file_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("")
    code, _, err = run(capsys, "run", "--tool", "plain", "--check", "grid", "--workdir", "f")
    assert code == 2 and "--workdir f: not a folder" in one_error(err)


@pytest.mark.parametrize("content", ["[]", "null", '"x"', '{"jobs": {}}', "{"])
def test_a_detach_state_file_of_the_wrong_shape_is_named(capsys, tmp_path, monkeypatch, content):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / ".mlops-compare" / "slurm" / "20990101T000000Z-abcd.json"
    state.parent.mkdir(parents=True)
    state.write_text(content)
    code, _, err = run(capsys, "run", "--attach")
    assert code == 2 and f"{Path('.mlops-compare/slurm/20990101T000000Z-abcd.json')}: not a detached run" in one_error(
        err
    )


# --- item 7: a closed stderr -----------------------------------------------------------------


def test_errors_into_a_closed_pipe_exit_2_without_a_traceback(tmp_path):
    path = tmp_path / "many-errors.toml"
    path.write_text(MINIMAL + "".join(f"[tool.t{i}.ratings]\nzz{i} = 1\n" for i in range(300)))
    command = [sys.executable, "-m", "mlops_compare", "check", "--criteria", str(path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stderr.close()  # `2>&1 | head -1` once head has left
    proc.stdout.close()
    assert proc.wait(timeout=60) in (2, 141)
