"""Which run each measurement comes from, NaN metrics in the store and the agreement check.

Records are built by hand and stored through the real `Store`, so the evidence read back
is exactly what `mlops-compare score`, `report` and the TUI read.
"""

from __future__ import annotations

import json
import math

import pytest
from mlops_compare import criteria
from mlops_compare.events import CHECK_IDS
from mlops_compare.evidence import Evidence, agreement, measured_cells, run_label
from mlops_compare.report import decision_report
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

OLD, CANCELLED, NEWER = "2026-01-01T10:00:00+00:00", "2026-01-02T11:00:00+00:00", "2026-01-03T12:00:00+00:00"
POINT = {"alpha": 0.5, "l1_ratio": 0.5}


def run(tool: str, started_at: str, status: str = "passed", metrics=None, **checks) -> RunRecord:
    return RunRecord(
        tool=tool,
        status=status,
        tool_version="3.1.0",
        started_at=started_at,
        checks={
            cid: {"status": st, "seconds": 1.0, "evidence": f"{cid} said {st}", "numbers": {}}
            for cid, st in checks.items()
        },
        metrics=list(metrics or []),
    )


def complete(tool: str, started_at: str) -> RunRecord:
    """A whole exam: every check passed (the configurable ones skipped)."""
    statuses = {cid: "skip" if cid in ("remote_storage", "large_data", "hpc") else "pass" for cid in CHECK_IDS}
    return run(tool, started_at, metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": 0.25}], **statuses)


@pytest.fixture
def shipped():
    return criteria.load(criteria.SHIPPED)


def ratings(c, evidence) -> dict[str, dict[str, tuple[float, str]]]:
    profile = c.profiles[c.default_profile]
    return {
        t: {cid: (cell.value, cell.used) for cid, cell in per.items()}
        for t, per in measured_cells(c, profile, evidence).items()
    }


# --- NaN ---------------------------------------------------------------------------------


def test_nan_metric_round_trips_through_the_store(tmp_path):
    store = Store(tmp_path)
    record = run("plain", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": math.nan}])
    path = store.save(record)
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = store.load(path)
    assert math.isnan(back.metrics[0]["r2"]) and back.metrics[0]["rmse"] == 1.0
    assert math.isnan(Evidence.from_store(tmp_path).tools["plain"].grid_record.metrics[0]["r2"])


def test_a_nan_anywhere_at_a_point_disagrees():
    a = run("plain", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": math.nan}])
    b = run("mlflow", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": 0.25}])
    rows, worst = agreement(Evidence({"plain": a, "mlflow": b}))
    assert worst == math.inf and rows[0]["max_diff"] == math.inf and not rows[0]["agrees"]
    b.metrics[0]["r2"] = math.nan  # NaN on both sides is no agreement either
    rows, worst = agreement(Evidence({"plain": a, "mlflow": b}))
    assert worst == math.inf and not rows[0]["agrees"]
    a.metrics[0]["r2"] = b.metrics[0]["r2"] = 0.25
    rows, worst = agreement(Evidence({"plain": a, "mlflow": b}))
    assert worst == 0 and rows[0]["agrees"]


def test_report_fails_agreement_on_nan(shipped):
    a = run("plain", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": math.nan}])
    b = run("mlflow", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": 0.25}])
    md = decision_report(shipped, shipped.profiles["research-institute"], Evidence({"plain": a, "mlflow": b}))
    assert "Agreement: FAIL: largest difference inf" in md and "1/0.5/nan" in md


# --- which run a check comes from (defect 3) ---------------------------------------------


def test_a_cancelled_rerun_does_not_replace_measured_ratings(tmp_path, shipped):
    store = Store(tmp_path)
    store.save(complete("mlflow", OLD))
    before = ratings(shipped, Evidence.from_store(tmp_path))
    assert before["mlflow"]["tracking"] == (5.0, "measured")

    store.save(RunRecord(tool="mlflow", status="cancelled", reason="cancelled by the user", started_at=CANCELLED))
    evidence = Evidence.from_store(tmp_path)
    assert ratings(shipped, evidence) == before
    assert evidence.records["mlflow"].status == "cancelled"  # the panes still show the newest run
    assert store.latest()["mlflow"].status == "cancelled"


def test_each_check_comes_from_the_newest_run_in_which_it_ran(tmp_path, shipped):
    store = Store(tmp_path)
    store.save(complete("mlflow", OLD))
    store.save(RunRecord(tool="mlflow", status="cancelled", started_at=CANCELLED))
    # a newer run with only the grid (and setup): retrieve etc. skipped or absent
    store.save(run("mlflow", NEWER, status="timeout", setup="pass", grid="fail", retrieve="skip"))
    found = Evidence.from_store(tmp_path).tools["mlflow"]
    assert found.checks["grid"].record.started_at == NEWER and found.checks["grid"].status == "fail"
    assert found.checks["setup"].record.started_at == NEWER
    for cid in ("retrieve", "baseline_match", "models", "data_versioning", "reproduce", "overhead"):
        assert found.checks[cid].record.started_at == OLD, cid
    assert found.latest.started_at == NEWER and found.measured_in.started_at == NEWER

    cells = measured_cells(shipped, shipped.profiles["research-institute"], Evidence.from_store(tmp_path))
    tracking = cells["mlflow"]["tracking"]  # retrieve + baseline_match: both from the old run
    assert tracking.measured == 5.0 and tracking.measured_runs == (run_label(OLD),)
    assert f"retrieve pass (1.00) on {run_label(OLD)}: retrieve said pass" in tracking.measured_why


def test_a_finished_run_folds_into_the_evidence_it_replaces():
    evidence = Evidence({"mlflow": complete("mlflow", OLD)})
    newer = evidence.with_record(RunRecord(tool="mlflow", status="cancelled", started_at=CANCELLED))
    assert newer.records["mlflow"].status == "cancelled"
    assert newer.tools["mlflow"].checks["retrieve"].record.started_at == OLD
    assert evidence.records["mlflow"].started_at == OLD  # the old one is unchanged
    grid = newer.with_record(run("mlflow", NEWER, grid="partial"))
    assert grid.tools["mlflow"].checks["grid"].record.started_at == NEWER


def test_report_names_the_run_of_every_measurement(tmp_path, shipped):
    store = Store(tmp_path)
    store.save(complete("mlflow", OLD))
    store.save(run("mlflow", NEWER, status="failed", setup="pass", grid="fail"))
    md = decision_report(shipped, shipped.profiles["research-institute"], Evidence.from_store(tmp_path))
    exam = md[md.index("## The exam") :]
    assert f"| grid | FAIL 1.0s, {run_label(NEWER)} |" in exam
    assert f"| retrieve | PASS 1.0s, {run_label(OLD)} |" in exam
    assert f"| newest run | failed ({run_label(NEWER)}) |" in exam
    # the measured "why" names the run too
    assert f"retrieve pass (1.00) on {run_label(OLD)}" in md


def test_unreadable_newest_file_falls_back_to_older_runs(tmp_path):
    store = Store(tmp_path)
    store.save(complete("dvc", OLD))
    (store.runs / "29990101T000000000000Z-dvc.json").write_text("{not json")
    assert Evidence.from_store(tmp_path).tools["dvc"].checks["grid"].record.started_at == OLD


def test_shared_texts_name_the_runs_folders_not_their_paths(tmp_path):
    """Workspace and tool environment are written as placeholders (a reader's machine differs)."""
    from mlops_compare.evidence import without_workspace

    env = tmp_path / "cache" / "mlops-compare" / "envs" / "f7997de8c9585d85659b"
    record = RunRecord(tool="zenml", workspace=str(tmp_path / "ws"), environment={"key": env.name, "path": str(env)})
    text = f"`{env}/bin/zenml login --local` exited with 1; store at {tmp_path}/ws/home/zenml.db"
    assert (
        without_workspace(text, record)
        == "`<tool env>/bin/zenml login --local` exited with 1; store at <workspace>/home/zenml.db"
    )
