"""The DVC runner, for real: git + DVC repo, queued experiments, models, data rollback, reproduce."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SMALL_EXAM, plain_baseline
from mlops_compare.example import common
from mlops_compare.runners.checks import ui as screenshot

EXAM = SMALL_EXAM  # the grid the session's exam_run used
# CI installs Chromium (.ci/run); elsewhere the ui check is skip without it.
UI = "partial" if screenshot.find() or os.environ.get("CI") else "skip"
EXPECTED = {
    "setup": "pass",
    "grid": "pass",
    "retrieve": "pass",
    "baseline_match": "pass",
    "models": "partial",  # stored and reloaded through the tool, as plain pickles: no model format
    "data_versioning": "pass",
    "reproduce": "pass",
    "invasiveness": "pass",
    "overhead": "pass",
    "fan_out": "pass",  # the grid through DVC's queue at -j 1 and -j 2
    "failure": "pass",  # failed state in `dvc exp show`, traceback in `dvc queue logs`, run cache skips finished points
    "ui": UI,  # `dvc exp show` lists every run with its metrics; no chart of them, no UI on the machine
    "share": "pass",  # git remote + DVC remote: experiments, data and a model reach a second clone
    "languages": "pass",  # a shell stage and a notebook stage in dvc.yaml (R skipped: no Rscript)
    "license": "pass",
    "cost": "pass",
    "remote_storage": "skip",
    "concurrency": "skip",  # not configured in the small exam (tests/test_concurrency.py runs it)
    "large_data": "skip",
    "hpc": "skip",
}


@pytest.mark.slow
def test_dvc_runner_runs_the_exam_for_real(tmp_path, monkeypatch, exam_run):
    from mlops_compare.infra import proctree

    record = exam_run.records["dvc"]
    assert exam_run.events["dvc"][-1]["type"] == "result"

    statuses = {check_id: check["status"] for check_id, check in record.checks.items()}
    assert statuses == EXPECTED, {k: record.checks[k]["evidence"] for k in statuses if statuses[k] != EXPECTED[k]}
    assert record.status == "passed", record.reason
    assert record.tool_version.startswith("3.")

    # Live metrics: one per grid point, equal to the plain script's numbers (float64, exactly).
    baseline = plain_baseline(EXAM, tmp_path / "plain", monkeypatch)
    assert len(record.metrics) == len(baseline)
    for metric in record.metrics:
        expected = baseline[common.point_key(metric["alpha"], metric["l1_ratio"])]
        assert {k: metric[k] for k in ("rmse", "mae", "r2")} == expected

    numbers = {check_id: check["numbers"] for check_id, check in record.checks.items()}
    assert numbers["grid"]["succeeded"] == 2 and numbers["grid"]["jobs"] == 2
    assert 0 < numbers["grid"]["run_seconds"] <= numbers["grid"]["seconds"]
    assert "as each experiment's git ref appeared" in record.checks["grid"]["evidence"]
    assert numbers["retrieve"]["metrics_match"] == numbers["retrieve"]["params_match"] == 2
    assert numbers["baseline_match"]["max_abs_diff"] == 0.0
    assert numbers["data_versioning"]["sha256_restored"] == numbers["data_versioning"]["metrics_restored"] == 1
    assert numbers["reproduce"]["max_abs_diff"] == 0.0
    # DVC's site cache stayed inside the workspace, and no queue worker outlived the runner.
    assert numbers["setup"]["var_tmp_mine"] == numbers["reproduce"]["var_tmp_mine"] == 0
    workspace = Path(record.workspace)
    assert (workspace / ".dvc" / "tmp" / "site_cache" / "repo").is_dir()
    assert proctree.working_in(workspace) == []


@pytest.mark.slow
def test_dvc_share_languages_license_cost(exam_run):
    checks = exam_run.records["dvc"].checks
    share = checks["share"]["numbers"]
    assert share["grid_experiments"] == share["metrics_equal"] == 2
    assert share["model_identical"] == share["data_identical"] == 1 and share["authors"] >= 1
    languages = checks["languages"]["numbers"]
    assert languages["shell_rows"] == 442 and languages["notebook_ok"] == 1 and languages["stages_locked"] == 2
    assert "R: skipped" in checks["languages"]["evidence"]
    licence = checks["license"]["numbers"]
    assert licence["licence"] == "Apache-2.0" and licence["not_osi"] == licence["unknown"] == 0
    assert licence["tool_specific"] > 50 and licence["osi_share"] == 1.0
    assert licence["copyleft"] >= 1  # pygit2 (GPL-2.0 with a linking exception), named in the evidence
    cost = checks["cost"]["numbers"]
    assert cost["telemetry_default_on"] == 1 and cost["telemetry_on"] == 0  # DVC analytics, switched off
    assert cost["prompts"] == cost["outside_hosts"] == 0 and cost["processes_watched"] > 5


@pytest.mark.slow
def test_dvc_fan_out_failure_ui(exam_run):
    record = exam_run.records["dvc"]
    checks = record.checks
    fan = checks["fan_out"]["numbers"]
    assert fan["points"] == 2 and fan["workers"] == 2 and fan["seconds_1"] > 0 and fan["seconds_2"] > 0
    assert fan["speedup"] == pytest.approx(fan["seconds_1"] / fan["seconds_2"], abs=0.01)
    assert fan["slurm_backend"] == 0 and "-j N" in checks["fan_out"]["evidence"]
    fail = checks["failure"]["numbers"]
    assert fail["found"] == fail["traceback"] == 1 and fail["traceback_lines"] > 5
    assert fail["finished_points"] == 1 and fail["redone_points"] == 0  # restored from DVC's run cache
    assert fail["resume_seconds"] > 0 and fail["seconds_saved"] >= 0
    assert "InvalidParameterError" in checks["failure"]["evidence"]
    if UI != "skip":
        ui = checks["ui"]["numbers"]
        assert ui["runs_listed"] == ui["points_shown"] == ui["runs_in_screenshot"] == 2 and ui["runs_plotted"] == 0
        assert (Path(record.workspace) / ui["screenshot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
