"""A version variant end to end (issue 16): MLflow 2 with mlflow-slurm beside MLflow 3.

criteria.toml's commented ``[tool.mlflow-2]`` table, uncommented: the MLflow runner in an
environment of its own (``requires = ["mlflow>=2.19,<3", "mlflow-slurm"]``, built with uv),
through `mlops-compare run` on the small grid with grid, retrieve and the hpc check on the
throwaway Slurm. The record says which versions ran, and the hpc check says what
mlflow-slurm did with MLflow 2 (its own route, installed in the tool environment).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SMALL_EXAM, without_large_data
from mlops_compare import criteria
from mlops_compare.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VARIANT = re.compile(r"^# (\[tool\.mlflow-2\]\n)((?:# .*\n)+)", re.M)


def variant_criteria(path: Path) -> Path:
    """The shipped criteria with the MLflow 2 variant uncommented, the small grid and an empty [exam.hpc]."""
    text = without_large_data((ROOT / "criteria.toml").read_text())
    found = VARIANT.search(text)
    assert found, "criteria.toml ships a commented [tool.mlflow-2] table"
    table = found.group(1) + "".join(line[2:] + "\n" for line in found.group(2).splitlines())
    text = text.replace(found.group(0), table)
    grid = f"alpha = {SMALL_EXAM['grid']['alpha']}\nl1_ratio = {SMALL_EXAM['grid']['l1_ratio']}"
    text = text.replace("alpha = [0.0, 0.5, 1.0]\nl1_ratio = [0.0, 0.5, 1.0]", grid)
    path.write_text(text + "\n[exam.hpc]\n")
    return path


def test_the_shipped_variant_is_a_candidate_like_any_other(tmp_path):
    loaded = criteria.load(variant_criteria(tmp_path / "criteria.toml"))
    variant = loaded.tools["mlflow-2"]
    assert variant.runner == "mlflow" and variant.requires[:2] == ("mlflow>=2.19,<3", "mlflow-slurm")
    assert variant.ratings == loaded.tools["mlflow"].ratings  # ratings = "mlflow"
    from mlops_compare.plan import Choices, plan

    [request] = plan(loaded, Choices(tools=("mlflow-2",)))
    assert request.module == "mlops_compare.runners.mlflow"
    assert "mlflow>=2.19,<3" in request.environment["spec"]["requirements"]
    assert "scikit-learn>=1.4" in request.environment["spec"]["requirements"]  # the exam's part stays


@pytest.fixture(scope="module")
def mlflow2_run(slurm_cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("mlflow-2")
    path = variant_criteria(base / "criteria.toml")
    store = base / "store"
    argv = ["run", "--criteria", str(path), "--tool", "mlflow-2", "--store", str(store), "--timeout", "1500"]
    argv += ["--check", "grid", "--check", "retrieve", "--check", "hpc"]
    # a loaded machine: MLflow 2's server (gunicorn) needed minutes to answer here, and without
    # it the mlflow-slurm route is not tried
    env = {**__import__("os").environ, **slurm_cluster.env, "MLOPS_COMPARE_MLFLOW_SERVER_TIMEOUT": "600"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_compare", *argv], capture_output=True, text=True, env=env, timeout=2400
    )
    [record] = Store(store).latest().values()
    return proc, record, path


def test_mlflow_2_runs_in_its_own_environment(mlflow2_run):
    proc, record, _ = mlflow2_run
    assert record.tool == "mlflow-2"
    assert record.checks["grid"]["status"] == "pass", (record.reason, record.checks["setup"], record.log[-20:])
    assert record.checks["retrieve"]["status"] in ("pass", "partial"), record.checks["retrieve"]["evidence"]
    assert record.checks["retrieve"]["numbers"]["metric_mismatches"] == 0
    assert record.tool_version.startswith("2."), record.tool_version
    versions = record.environment["versions"]
    assert versions["mlflow"].startswith("2.") and "mlflow-slurm" in versions
    assert "/envs/" in record.python and record.environment["key"] in record.python


def test_hpc_records_what_mlflow_slurm_did_with_mlflow_2(mlflow2_run):
    _, record, _ = mlflow2_run
    hpc = record.checks["hpc"]
    evidence = hpc["evidence"]
    print(f"\nhpc {hpc['status']}: {evidence}\nnumbers: {json.dumps(hpc['numbers'])[:2000]}")
    assert hpc["status"] in ("pass", "partial", "fail")
    assert "mlflow-slurm" in evidence and "in the tool's environment" in evidence


def test_the_report_row_says_which_versions_ran(mlflow2_run):
    _, record, path = mlflow2_run
    from mlops_compare.evidence import Evidence
    from mlops_compare.report import decision_report

    loaded = criteria.load(path)
    report = decision_report(loaded, loaded.profiles[loaded.default_profile], Evidence({"mlflow-2": record}))
    assert "mlflow-2" in report or "MLflow 2" in report
    assert record.tool_version in report
