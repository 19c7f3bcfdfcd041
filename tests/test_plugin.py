"""The runner plugin API: docs/runners.md's worked example installed into a venv and run end to end.

`tests/plugin_example/` is a third-party distribution (its own pyproject.toml) with a runner
for a made-up tool, "notebook-log", and its example folder in its own package. The test
installs it into a temporary venv that sees this interpreter's packages (so mlops-compare
and the tools need no download), then runs `mlops-compare run --tool notebook-log`, `score`
and `check` there: the plugin is found by its entry point, runs the exam, is stored, and is
shown as not scored until criteria.toml rates it.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import without_large_data
from mlops_compare.example import common
from mlops_compare.runners.measures import diff_lines

PLUGIN = Path(__file__).resolve().parent / "plugin_example"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A venv over this interpreter's site-packages with the plugin installed; returns its python."""
    base = tmp_path_factory.mktemp("plugin")
    source = base / "src"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    # --without-pip: no venv-own (older) setuptools shadows this interpreter's, which builds the plugin
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # --system-site-packages reaches the base interpreter's packages only: when the tests run in
    # a venv themselves (a user's install), its site-packages (mlops-compare, pandas) go in too
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # (as site directories: an editable install's own .pth files must run too)
    lines = [f"import site; site.addsitedir({folder!r})" for folder in site.getsitepackages()]
    Path(purelib, "_tests_parent.pth").write_text("\n".join(lines) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-build-isolation"]
        + [str(source)],
        check=True,
        capture_output=True,
    )
    return python


def mlops_compare(python: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "mlops_compare", *argv], cwd=cwd, capture_output=True, text=True)


@pytest.mark.slow
def test_the_worked_plugin_installs_runs_and_is_shown_unscored(venv, tmp_path, criteria_copy):
    criteria_copy.write_text(
        without_large_data(criteria_copy.read_text()).replace(
            "alpha = [0.0, 0.5, 1.0]\nl1_ratio = [0.0, 0.5, 1.0]", "alpha = [0.0, 0.5]\nl1_ratio = [0.5]"
        )
    )
    store = tmp_path / "store"
    # the venv's python sees mlops-compare (this checkout's install) and the plugin's entry point
    found = subprocess.run(
        [str(venv), "-c", "from mlops_compare import registry; print(registry.available()['notebook-log'].module)"],
        capture_output=True,
        text=True,
    )
    assert found.stdout.strip() == "notebook_log_runner", found.stderr

    run = mlops_compare(
        venv, "run", "--criteria", str(criteria_copy), "--tool", "notebook-log", "--store", str(store), cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [path] = (store / "runs").glob("*-notebook-log.json")
    record = json.loads(path.read_text())
    checks = {check_id: check["status"] for check_id, check in record["checks"].items()}
    assert record["status"] == "passed" and record["tool_version"] == "0.1.0"
    for check_id in ("setup", "grid", "retrieve", "baseline_match", "invasiveness", "overhead", "cost"):
        assert checks[check_id] == "pass", (check_id, record["checks"][check_id]["evidence"])
    assert checks["reproduce"] == "partial" and checks["models"] == "skip"
    # the plugin has no models method (it implements the first checks only): skipped, not rejected
    assert record["checks"]["models"]["evidence"].startswith("not implemented by this runner; added in 0.1.0")
    assert record["checks"]["baseline_match"]["numbers"]["max_abs_diff"] == 0.0
    # invasiveness read the example folder from the plugin's package, not from mlops-compare's
    plain = (Path(common.__file__).parent / "plain" / "train.py").read_text()
    added, _ = diff_lines(plain, (PLUGIN / "notebook_log_runner" / "example" / "train.py").read_text())
    assert record["checks"]["invasiveness"]["numbers"]["lines_added"] == added > 0

    # no [tool.notebook-log] ratings: shown with its measurements and a note, not scored
    score = mlops_compare(venv, "score", "--criteria", str(criteria_copy), "--store", str(store), cwd=tmp_path)
    assert score.returncode == 0, score.stderr
    assert "## Not scored" in score.stdout and "notebook-log has a runner but no ratings" in score.stdout
    assert "| notebook-log | installed | passed" in score.stdout
    as_json = mlops_compare(
        venv, "score", "--criteria", str(criteria_copy), "--store", str(store), "--format", "json", cwd=tmp_path
    )
    [unscored] = json.loads(as_json.stdout)["unscored"]
    assert unscored["tool"] == "notebook-log" and unscored["measured"]["tracking"] == 5.0
    assert "notebook-log" not in {r["tool"] for r in json.loads(as_json.stdout)["ranking"]}
    check = mlops_compare(venv, "check", "--criteria", str(criteria_copy), cwd=tmp_path)
    assert check.returncode == 0 and "note: notebook-log has a runner but no ratings" in check.stdout
