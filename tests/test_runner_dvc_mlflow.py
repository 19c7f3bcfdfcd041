"""The DVC + MLflow runner, for real: a DVC pipeline whose stage logs to MLflow, each check answered by its owner.

`mlops-compare run --tool dvc-mlflow` once on the small grid (its own fixture: the session's
`exam_run` leaves it out, since it repeats the DVC runner's work and would lengthen every
session that uses exam_run by a third).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SMALL_EXAM, plain_baseline, without_large_data
from mlops_compare import events
from mlops_compare.example import common
from mlops_compare.results import RunRecord
from mlops_compare.runners.checks import ui as screenshot
from mlops_compare.runners.measures import diff_lines
from mlops_compare.store import Store

pytestmark = pytest.mark.slow

UI = "pass" if screenshot.find() or os.environ.get("CI") else "skip"  # MLflow's UI, as for the MLflow runner
EXPECTED = {
    "setup": "pass",
    "grid": "pass",
    "retrieve": "pass",
    "baseline_match": "pass",
    "models": "pass",  # MLflow Models, not DVC's pickles
    "data_versioning": "pass",
    "reproduce": "pass",
    "invasiveness": "pass",
    "overhead": "pass",
    "fan_out": "skip",  # not chosen: the DVC runner's own queue code, which exam_run measures (see `run`)
    "failure": "pass",
    "ui": UI,
    "share": "pass",  # DVC shares runs, data and a model; MLflow's server adds runs and a model
    "languages": "pass",
    "license": "partial",  # both must hold: MLflow's closure has dependencies without an OSI licence in metadata
    "cost": "pass",
    "remote_storage": "pass",  # through DVC's remotes (the shipped [exam.storage]: a shared folder and a local S3)
    "large_data": "skip",
    "hpc": "skip",
    "concurrency": "skip",  # not configured in the small exam
}
ANSWERED_BY = {
    "setup": "dvc+mlflow",
    "grid": "dvc",
    "retrieve": "dvc+mlflow",
    "models": "mlflow",
    "data_versioning": "dvc",
    "reproduce": "dvc",
    "failure": "dvc",
    "share": "dvc+mlflow",
    "languages": "dvc",
    "license": "dvc+mlflow",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, RunRecord]:
    """`mlops-compare run --tool dvc-mlflow` on SMALL_EXAM's data and grid; the process and the stored record."""
    base = tmp_path_factory.mktemp("dvc-mlflow")
    path = base / "criteria.toml"
    text = without_large_data((Path(__file__).resolve().parent.parent / "criteria.toml").read_text())
    grid = f"alpha = {SMALL_EXAM['grid']['alpha']}\nl1_ratio = {SMALL_EXAM['grid']['l1_ratio']}"
    path.write_text(text.replace("alpha = [0.0, 0.5, 1.0]\nl1_ratio = [0.0, 0.5, 1.0]", grid))
    argv = ["run", "--criteria", str(path), "--tool", "dvc-mlflow", "--store", str(base / "store")]
    # every check but fan_out: it runs the grid twice more through the DVC runner's own queue code
    # (the same mixin; the grid and failure checks already run this runner's stage through it),
    # which the DVC runner's exam measures; leaving it out saves a quarter of this fixture
    argv += [arg for check_id in events.CHECK_IDS if check_id != "fan_out" for arg in ("--check", check_id)]
    # the workspace in the system's temp folder, not under pytest's deep one: Chromium's socket
    # path inside it (TMPDIR) must stay under the 108 characters a Unix socket allows
    proc = subprocess.run([sys.executable, "-m", "mlops_compare", *argv], capture_output=True, text=True)
    [record] = Store(base / "store").latest().values()
    return proc, record


def test_dvc_mlflow_passes_the_exam_with_the_baseline_metrics(run, tmp_path, monkeypatch):
    from mlops_compare.infra import proctree

    proc, record = run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    statuses = {check_id: check["status"] for check_id, check in record.checks.items()}
    assert statuses == EXPECTED, {k: record.checks[k]["evidence"] for k in statuses if statuses[k] != EXPECTED[k]}
    assert record.status == "passed", record.reason
    dvc, mlflow = record.tool_version.split(" + ")
    assert dvc.startswith("3.") and mlflow.startswith("3.")

    baseline = plain_baseline(SMALL_EXAM, tmp_path / "plain", monkeypatch)
    assert len(record.metrics) == len(baseline) == 2
    for metric in record.metrics:
        assert {k: metric[k] for k in ("rmse", "mae", "r2")} == baseline[
            common.point_key(metric["alpha"], metric["l1_ratio"])
        ]
    assert record.checks["baseline_match"]["numbers"]["max_abs_diff"] == 0.0
    assert proctree.working_in(Path(record.workspace)) == []  # DVC's queue workers were stopped


def test_each_check_says_which_tool_answered(run):
    checks = run[1].checks
    assert {k: checks[k]["numbers"]["answered_by"] for k in ANSWERED_BY} == ANSWERED_BY
    for check_id, tool in ANSWERED_BY.items():
        prefix = {"dvc": "DVC: ", "mlflow": "MLflow: ", "dvc+mlflow": "DVC: "}[tool]
        assert checks[check_id]["evidence"].startswith(prefix), check_id
    # retrieve: MLflow's runs through a real server, equal to DVC's record of the same experiments
    retrieve = checks["retrieve"]["numbers"]
    assert retrieve["mlflow.via"] == "server" and retrieve["mlflow.runs"] == retrieve["dvc.experiments"] == 2
    assert retrieve["mlflow.metric_mismatches"] == retrieve["mlflow.param_mismatches"] == 0
    assert retrieve["runs_with_experiment_commit"] == 2  # each MLflow run names its DVC experiment's git commit
    assert " || MLflow: " in checks["share"]["evidence"]
    # the shared checks: the example against the plain script, both tools' stores on disk
    invasive = checks["invasiveness"]["numbers"]
    example = Path(common.__file__).parent
    dvc_alone, _ = diff_lines((example / "plain" / "train.py").read_text(), (example / "dvc" / "train.py").read_text())
    assert invasive["tool_files"] == 2 and invasive["lines_added"] > dvc_alone  # DVC's glue plus MLflow's
    assert checks["overhead"]["numbers"]["disk_bytes"] > 0
    assert checks["license"]["numbers"]["osi_share"] == min(
        checks["license"]["numbers"]["dvc.osi_share"], checks["license"]["numbers"]["mlflow.osi_share"]
    )
