"""The whole exam for real: isolation, cross-tool agreement, and evidence reaching the verdict.

Uses the session's `exam_run` (every runner once on the small grid, started from inside a
user's git repository), plus one full 3x3 run on the study's wine data when it exists.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest
from conftest import WINE
from envs_support import environment
from mlops_compare import criteria
from mlops_compare.evidence import Evidence, agreement, measure, measured_cells
from mlops_compare.executors.local import RunRequest, run_many
from mlops_compare.report import decision_report

pytestmark = pytest.mark.slow


def test_runners_wrote_nothing_outside_their_workspace(exam_run):
    assert exam_run.after == exam_run.before  # git status, .git/config, HEAD, ~/.gitconfig, files in ~
    assert exam_run.before["status"] == ""  # the repo was clean and still is: nothing new in it
    for record in exam_run.records.values():
        assert not record.workspace.startswith(str(exam_run.repo))


def test_every_runner_passed_and_agrees_with_the_baseline(exam_run):
    assert {t: r.status for t, r in exam_run.records.items()} == dict.fromkeys(exam_run.records, "passed")
    rows, worst = agreement(Evidence(exam_run.records))
    assert len(rows) == 2 and all(len(r["tools"]) == len(exam_run.records) for r in rows)
    assert worst is not None and worst <= 1e-9
    # every runner ran with one BLAS/OpenMP thread per process (infra.threads) and says so
    for record in exam_run.records.values():
        assert "threads per process: OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, MKL_NUM_THREADS=1" in record.log


def test_measured_ratings_sources_and_flags_reach_the_report(exam_run, tmp_path):
    # a copy of the shipped criteria whose Metaflow ratings were written for an older release
    path = tmp_path / "criteria.toml"
    text = criteria.SHIPPED.read_text().replace(
        'name = "Metaflow"\nversion = "2.19"', 'name = "Metaflow"\nversion = "2.0"'
    )
    path.write_text(text)
    c = criteria.load(path)
    profile = c.profiles["research-institute"]
    evidence = Evidence.from_store(exam_run.store.root)
    assert set(evidence.records) == set(exam_run.records)
    cells = measured_cells(c, profile, evidence)

    for tool in (t for t in c.tools if t in exam_run.records):  # dvc-mlflow: tests/test_runner_dvc_mlflow.py
        record = exam_run.records[tool]
        tracking = cells[tool]["tracking"]
        expected, _ = measure(record, ("retrieve", "baseline_match"))
        assert tracking.used == "measured" and tracking.value == expected == 5.0
        assert tracking.source == "measured: retrieve, baseline_match"
        assert cells[tool]["design"].used == "expert"  # no evidence named: the expert rating stays
        for cell in cells[tool].values():
            if cell.measured is not None:
                assert cell.contradiction == (abs(cell.measured - cell.expert) >= 2)
        assert all(cell.stale == (tool == "metaflow") for cell in cells[tool].values())

    # Metaflow's expert says 3 (no comparison UI); the exam read everything back exactly: a contradiction
    tracking = cells["metaflow"]["tracking"]
    assert tracking.expert == 3 and tracking.measured == 5 and tracking.contradiction
    # models stored as pickles through DVC score partial (2.5): within 2 of the expert's 1, no flag
    serving = cells["dvc"]["serving"]
    assert serving.expert == 1 and serving.measured == 2.5 and not serving.contradiction

    report = decision_report(c, profile, evidence, command="mlops-compare report")
    assert "Agreement: PASS: all within 1e-9." in report
    assert "| Metaflow | 2.0 |" in report and "| stale |" in report
    assert "CONTRADICTION: expert 3 (The client API inspects past runs" in report
    assert f"sha256 `{exam_run.records['plain'].dataset['normalised_sha256']}`" in report
    assert "measured: retrieve, baseline\\_match" in report


@pytest.mark.skipif(not WINE.exists(), reason="../shared/data/wine-quality.csv is not there")
def test_full_grid_on_the_study_wine_data(tmp_path):
    exam = criteria.load(criteria.SHIPPED).exam.to_dict()
    exam.pop("large_data", None)  # this test is about the grid; tests/test_large_data.py runs that check
    exam.pop("storage", None)  # and tests/test_storage.py runs remote_storage
    data = tmp_path / "wine.csv"
    shutil.copy(WINE, data)
    # the grid and what reads it back: exam_run has every other check (on the small grid)
    exam.update(data=str(data), target="quality", checks=["grid", "retrieve", "baseline_match"])
    requests = [RunRequest(t, exam, workdir=tmp_path, environment=environment(t)) for t in ("plain", "mlflow")]
    records = asyncio.run(run_many(requests, jobs=2))
    failed = {r.tool: {k: c["evidence"] for k, c in r.checks.items() if c["status"] == "fail"} for r in records}
    assert [r.status for r in records] == ["passed", "passed"], ([r.reason for r in records], failed)
    assert all(len(r.metrics) == 9 and r.dataset["rows"] == 4898 for r in records)
    _, worst = agreement(Evidence({r.tool: r for r in records}))
    assert worst <= 1e-9
