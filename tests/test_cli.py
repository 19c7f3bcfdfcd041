"""The headless CLI: score, check, profiles, overrides, formats and exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlops_compare import cli, criteria
from test_criteria import MINIMAL


@pytest.fixture
def minimal(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL)
    return path


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_score_prints_every_checkpoint_and_tool_for_each_profile(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = criteria.load(criteria.SHIPPED)
    for profile in shipped.profiles:
        code, out, _ = run(capsys, "score", "--profile", profile)
        assert code == 0
        for checkpoint in shipped.checkpoints:
            assert f"| {checkpoint.title} |" in out
        for tool in shipped.tools.values():
            assert f"| {tool.name} |" in out


def test_weight_overrides_move_the_ranking_exactly(capsys, minimal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "score", "--criteria", str(minimal), "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert [(r["tool"], r["score"], r["rank"]) for r in data["ranking"]] == [("y", 3.25, 1), ("x", 2.0, 2)]
    # b = 0: only a counts, x = 5, y = 1
    code, out, _ = run(capsys, "score", "--criteria", str(minimal), "--weight", "b=0", "--format", "json")
    data = json.loads(out)
    assert [(r["tool"], r["score"], r["rank"], r["p_first"]) for r in data["ranking"]] == [
        ("x", 5.0, 1, 1.0),
        ("y", 1.0, 2, 0.0),
    ]
    # a = 2.25 is the flip threshold: both 14.25 / 5.25
    code, out, _ = run(capsys, "score", "--criteria", str(minimal), "--weight", "a=2.25", "--format", "json")
    data = json.loads(out)
    assert {r["tool"]: r["rank"] for r in data["ranking"]} == {"x": 1, "y": 1}
    assert data["ranking"][0]["score"] == round(14.25 / 5.25, 4)


def test_formats_carry_the_same_content(capsys, minimal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, md, _ = run(capsys, "score", "--criteria", str(minimal), "--format", "md")
    _, out_csv, _ = run(capsys, "score", "--criteria", str(minimal), "--format", "csv")
    _, out_json, _ = run(capsys, "score", "--criteria", str(minimal), "--format", "json")
    data = json.loads(out_json)
    rows = list(csv.DictReader(io.StringIO(out_csv)))
    assert "| y | 3.25 | 1 |" in md and "| x | 2.00 | 2 |" in md
    ranking = [r for r in rows if r["section"] == "ranking"]
    assert [(r["tool"], float(r["score"])) for r in ranking] == [(r["tool"], r["score"]) for r in data["ranking"]]
    cells = {(r["id"], r["tool"]): float(r["rating"]) for r in rows if r["section"] == "checkpoint"}
    assert cells == {(c["id"], t): v for c in data["checkpoints"] for t, v in c["ratings"].items()}
    assert "## Sensitivity" in md and "+1.25 (to 2.25)" in md


def test_markdown_escapes_pipes_in_reasons(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text(
        MINIMAL.replace('a = { rating = 5, why = "w" }', 'a = { rating = 5, why = "fast | cheap\\nand [bold]x[/]" }')
    )
    code, out, _ = run(capsys, "score", "--criteria", str(path))
    assert code == 0
    line = next(line for line in out.splitlines() if "fast" in line)
    assert "fast \\| cheap and \\[bold\\]x\\[/\\]" in line
    assert line.count(" | ") == 4  # five cells: the escaped pipe does not split one


def test_output_file_is_written(capsys, minimal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "score", "--criteria", str(minimal), "-o", "out.md")
    assert code == 0 and out == "" and "wrote out.md" in err
    assert (tmp_path / "out.md").read_text().startswith("# mlops-compare: profile `p`")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "--profile", "nope"], "unknown profile 'nope'"),
        (["score", "--weight", "hpc"], "write it as CHECKPOINT=WEIGHT"),
        (["score", "--weight", "zz=1"], "unknown checkpoint 'zz'"),
        (["score", "--weight", "hpc=x"], "'x' is not a number"),
        (["score", "--weight", "hpc=-2"], "weights must be finite numbers >= 0"),
        (["score", "--weight", "hpc=nan"], "weights must be finite numbers >= 0"),
        (["score", "--criteria", "/nonexistent/c.toml"], "/nonexistent/c.toml: no such file"),
        (["score", "-o", "/nonexistent/dir/out.md"], "cannot write it"),
        (["check", "--criteria", "/nonexistent/c.toml"], "no such file"),
        (["run", "--tool", "nope"], "no such runner"),
        (["run", "--data", "/nonexistent.csv"], "no such data file"),
    ],
)
def test_user_errors_exit_2_with_a_message(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.startswith("error: ")
    assert "Traceback" not in err


def test_zero_weights_by_override(capsys, minimal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "score", "--criteria", str(minimal), "--weight", "a=0", "--weight", "b=0")
    assert code == 2 and "every weight is zero" in err


def test_missing_target_column(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("a;b;c\n1;2;3\n")
    code, _, err = run(capsys, "run", "--data", "d.csv", "--target", "quality")
    assert code == 2 and "no column 'quality'; pass --target with one of: a, b, c" in err


def test_check_reports_every_problem(capsys, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL.replace("a = 1\n", "a = -1\n").replace("rating = 5", "rating = 9"))
    code, _, err = run(capsys, "check", "--criteria", str(path))
    assert code == 2
    assert err.count("error: ") == 2 and f"{path}:10:1:" in err and f"{path}:13:1:" in err


def test_check_and_profiles_ok(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "check")
    assert code == 0 and "ok (15 checkpoints, 3 profiles, 6 tools)" in out
    code, out, _ = run(capsys, "profiles")
    assert code == 0 and "* research-institute" in out and "production-team" in out


def test_version_and_help(capsys):
    assert cli.main(["--version"]) == 0
    assert "mlops-compare 0.1.0" in capsys.readouterr().out
    assert cli.main(["--help"]) == 0
    assert "score" in capsys.readouterr().out


def test_real_process_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[[checkpoint]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_compare", "score", "--criteria", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert f"{bad}:1:" in proc.stderr and "Traceback" not in proc.stderr


def test_all_profiles_csv_is_escaped(capsys, minimal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    minimal.write_text(MINIMAL + "[profile.'a,\"b\"'.weights]\na = 2\nb = 1\n")
    code, out, _ = run(capsys, "score", "--criteria", str(minimal), "--all-profiles", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["profile", "tool", "score", "rank"] and all(len(r) == 4 for r in rows)
    assert {r[0] for r in rows[1:]} == {"p", 'a,"b"', "borda"}
    assert {r[1]: r[3] for r in rows if r[0] == 'a,"b"'} == {"x": "1", "y": "2"}  # x: 11/3, y: 6/3


def stored_run_in(tmp_path):
    """A store with one run whose record holds this machine's paths, as the launcher writes them."""
    from mlops_compare.results import RunRecord
    from mlops_compare.store import Store

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    data = project / "data" / "wine.csv"
    data.write_text("a,quality\n1,2\n")
    workspace = tmp_path / "mlops-compare-mlflow-abc123"
    checks = {
        "grid": {"status": "pass", "seconds": 1.0, "evidence": f"ran in {workspace}", "numbers": {}},
        "data_versioning": {
            "status": "partial",
            "seconds": 1.0,
            "evidence": f"the record keeps only the source path '{workspace}/data.csv'",
            "numbers": {},
        },
        "reproduce": {"status": "pass", "seconds": 1.0, "evidence": f"re-ran {workspace / 'train.py'}", "numbers": {}},
    }
    record = RunRecord(
        tool="mlflow",
        status="passed",
        workspace=str(workspace),
        python="/usr/bin/python3",
        started_at="2026-01-01T10:00:00+00:00",
        dataset={"source": str(data), "target": "quality", "rows": 1, "source_sha256": "ab" * 32, "sha256": "cd" * 32},
        checks=checks,
        metrics=[{"alpha": 0.5, "l1_ratio": 0.5, "rmse": 1.0, "mae": 0.5, "r2": 0.25}],
    )
    store = project / ".mlops-compare"
    Store(store).save(record)
    criteria_file = project / "criteria.toml"
    criteria_file.write_text(criteria.SHIPPED.read_text())
    return project, store, criteria_file


def test_report_holds_no_path_of_this_machine(capsys, tmp_path, monkeypatch):
    from pathlib import Path

    project, store, criteria_file = stored_run_in(tmp_path)
    monkeypatch.chdir(project)
    argv = ["report", "--criteria", str(criteria_file), "--store", str(store), "-o", str(project / "report.md")]
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    md = (project / "report.md").read_text()
    for machine in (str(tmp_path), "/tmp/", str(Path.home()), str(Path(__file__).resolve().parent.parent)):
        assert machine not in md, machine
    assert "`data/wine.csv`" in md and "sha256sum data/wine.csv" in md  # as given, relative to here
    assert "mlops-compare run --criteria criteria.toml --data data/wine.csv --target quality" in md
    assert "mlops-compare report --criteria criteria.toml --store .mlops-compare -o report.md" in md
    assert "source path '\\<workspace\\>/data.csv'" in md  # markdown-escaped <workspace>


def test_shareable_paths():
    from pathlib import Path

    from mlops_compare.report import shareable_path

    assert shareable_path("data/x.csv", cwd="/srv/project") == "data/x.csv"  # relative: as given
    assert shareable_path("sklearn:diabetes") == "sklearn:diabetes"
    assert shareable_path("/srv/project/data/x.csv", cwd="/srv/project") == "data/x.csv"
    assert shareable_path("/srv/shared/x.csv", cwd="/srv/project") == "../shared/x.csv"
    assert shareable_path("/opt/runs/a/store", cwd="/srv/project") == "…/a/store"  # nothing in common but /
    home = Path.home()
    if str(home) != "/" and not str(home).startswith("/srv/"):
        assert shareable_path(home / "data" / "x.csv", cwd="/srv/project") == "~/data/x.csv"


def test_bare_command_starts_the_tui_with_its_default_flags(monkeypatch):
    seen = []
    monkeypatch.setitem(cli.COMMANDS, "tui", lambda args: seen.append(cli.executor_options(args)) or 0)
    assert cli.main([]) == 0
    assert seen and seen[0].name == "local"


def test_tui_shows_the_store_it_is_given(monkeypatch, tmp_path):
    """`mlops-compare tui --store DIR` reads and runs into DIR, as `run --store DIR` wrote it (the default: ./.mlops-compare)."""
    from mlops_compare.tui import app as app_module

    seen = []
    monkeypatch.setattr(app_module.MlopsCompareApp, "run", lambda self: seen.append(self.store.root) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["tui", "--store", str(tmp_path / "shared" / "mc")]) == 0
    assert cli.main([]) == 0
    assert seen == [tmp_path / "shared" / "mc", Path(".mlops-compare")]
