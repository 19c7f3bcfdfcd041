"""fan_out, failure and ui: the rules every runner shares, their scores, and the plain baseline's outcomes.

The tools' own outcomes are asserted in tests/test_runner_<tool>.py from the session's `exam_run`.
"""

from __future__ import annotations

import pytest
from mlops_compare.evidence import check_score
from mlops_compare.runners.checks.operations import (
    BAD_ALPHA,
    corrected_grid,
    failing_grid,
    failure_outcome,
    metrics_shown,
    page_text,
    speedup_outcome,
)


def test_the_failing_grid_ends_with_the_bad_alpha_and_the_correction_is_new():
    grid = {"alpha": [0.0, 0.5, 1.0], "l1_ratio": [0.5]}
    assert failing_grid(grid) == {"alpha": [0.0, BAD_ALPHA], "l1_ratio": [0.5]}
    assert corrected_grid(grid)["alpha"] == [0.0, 2.0]  # 1.0 is in the grid: a point not run yet
    assert corrected_grid({"alpha": [0.5], "l1_ratio": [0.5]})["alpha"] == [0.5, 1.0]
    # the grid's first point proves what a resume does with finished points: 2 runs, not 10 of a 3x3 grid
    wide = {"alpha": [0.0, 0.5, 1.0], "l1_ratio": [0.0, 0.5, 1.0]}
    assert failing_grid(wide)["l1_ratio"] == corrected_grid(wide)["l1_ratio"] == [0.0]
    assert len(failing_grid(wide)["alpha"]) == len(corrected_grid(wide)["alpha"]) == 2


@pytest.mark.parametrize(
    ("found", "traceback", "redone", "resume", "status"),
    [
        (True, 12, 0, 3.0, "pass"),
        (True, 12, 1, 3.0, "partial"),  # the resume ran a finished point again
        (True, 0, 0, 3.0, "partial"),  # no traceback kept
        (True, 12, None, None, "partial"),  # no resume
        (False, 12, 0, 3.0, "fail"),  # the tool's record does not show the failure
    ],
)
def test_failure_status_rules(found, traceback, redone, resume, status):
    outcome = failure_outcome(found, traceback, 2, redone, 10.0, resume, "e")
    assert outcome.status == status
    assert outcome.numbers["seconds_saved"] == (7.0 if resume else 0.0)
    assert outcome.numbers["resume_seconds"] == (resume if resume else -1)


def test_fan_out_and_failure_scores():
    fan = speedup_outcome("how", {1: 10.0, 2: 6.25}, 2, "none", ok=True)
    assert fan.status == "pass" and fan.numbers["speedup"] == 1.6
    assert check_score("fan_out", {"status": "pass", "numbers": fan.numbers}) == pytest.approx(0.8)
    assert check_score("fan_out", {"status": "pass", "numbers": {"speedup": 0.7}}) == 0.5  # slower: no gain
    assert check_score("fan_out", {"status": "pass", "numbers": {"speedup": 3.0}}) == 1.0
    assert check_score("fan_out", {"status": "partial", "numbers": {"backends": "local"}}) == 0.5
    assert check_score("fan_out", {"status": "fail", "numbers": fan.numbers}) == 0.0

    resumed = failure_outcome(True, 12, 1, 0, 10.0, 7.0, "e")  # 3 s saved of the finished point's 5 s
    assert check_score("failure", {"status": "pass", "numbers": resumed.numbers}) == pytest.approx((1 + 1 + 0.6) / 3)
    larger = failure_outcome(True, 12, 3, 0, 10.0, 5.5, "e")  # 4.5 s saved of 3 finished points' 7.5 s: the same
    assert check_score("failure", {"status": "pass", "numbers": larger.numbers}) == pytest.approx((1 + 1 + 0.6) / 3)
    ideal = failure_outcome(True, 12, 1, 0, 10.0, 1.0, "e")  # more than the finished share: clipped to 1
    assert check_score("failure", {"status": "pass", "numbers": ideal.numbers}) == pytest.approx(1.0)
    status_only = failure_outcome(True, 0, 2, None, 10.0, None, "e")
    assert check_score("failure", {"status": "partial", "numbers": status_only.numbers}) == pytest.approx(1 / 3)
    slower = failure_outcome(True, 12, 2, 0, 10.0, 12.0, "e")  # a resume slower than the first attempt saves 0
    assert check_score("failure", {"status": "pass", "numbers": slower.numbers}) == pytest.approx(2 / 3)


def test_metrics_are_found_on_the_page_as_drawn_not_in_its_scripts():
    metrics = {"0/0.5": {"rmse": 53.36801658158412, "mae": 41.54737668748122, "r2": 0.4849358105167535}}
    drawn = "<div><span>53.37</span><td>41.55</td><td>0.485</td></div>"  # rounded, as MLflow's UI shows them
    assert metrics_shown(metrics, page_text(drawn)) == (1, [])
    hidden = "<script>var d = [53.368, 41.547, 0.48494];</script><style>.x{width:0.485px}</style><p>53.37</p>"
    assert metrics_shown(metrics, page_text(hidden)) == (0, ["0/0.5"])
    assert "a < b" in page_text("<p>a &lt; b</p>")


@pytest.mark.slow
def test_plain_baseline_fan_out_failure_ui(exam_run):
    checks = exam_run.records["plain"].checks
    assert {c: checks[c]["status"] for c in ("fan_out", "failure", "ui")} == {
        "fan_out": "partial",  # a pool written by hand
        "failure": "partial",  # a traceback on stderr and nothing else
        "ui": "skip",
    }
    assert checks["fan_out"]["numbers"]["points"] == 2 and checks["fan_out"]["numbers"]["seconds_2"] > 0
    failure = checks["failure"]["numbers"]
    assert failure["found"] == 0 and failure["traceback_lines"] > 5
    assert "InvalidParameterError" in checks["failure"]["evidence"]


def test_the_fan_out_runs_the_grids_corner_in_the_runner_process(tmp_path):
    """`[exam] fan_out_points` reaches the runner: the plain baseline's pool runs the 2 x 1 corner of a 2 x 2 grid."""
    import asyncio

    from conftest import SMALL_EXAM
    from mlops_compare.executors.local import RunnerProcess, RunRequest

    exam = {**SMALL_EXAM, "grid": {"alpha": [0.0, 0.5], "l1_ratio": [0.0, 0.5]}, "fan_out_points": 2}
    exam["checks"] = ["grid", "fan_out"]
    record = asyncio.run(RunnerProcess(RunRequest("plain", exam, timeout=120, workdir=tmp_path)).run())
    assert record.status == "passed", record.reason
    assert len(record.metrics) == 4  # the grid itself is whole
    fan = record.checks["fan_out"]
    assert fan["numbers"]["points"] == 2 and fan["numbers"]["grid_points"] == 4, fan
    assert "2 points (a corner of the grid's 4: [exam] fan_out_points) in" in fan["evidence"], fan


def test_the_reports_fan_out_table_says_how_many_points_ran():
    from types import SimpleNamespace

    from mlops_compare.checks import fan_out

    def found(status: str, numbers: dict) -> SimpleNamespace:
        measured = SimpleNamespace(status=status, check={"status": status, "numbers": numbers})
        return SimpleNamespace(checks={"fan_out": measured})

    corner = {"points": 4, "grid_points": 9, "speedup": 1.37, "seconds_1": 20.1, "seconds_2": 14.7}
    tools = {
        "dvc": found("pass", corner),
        "older": found("pass", {"points": 9, "speedup": 1.29, "seconds_1": 36.1, "seconds_2": 27.9}),  # before corners
        "mlflow": found("partial", {"points": 9, "backends": "local"}),  # nothing of its own ran in parallel
    }
    section = fan_out.report_section(SimpleNamespace(tools=tools))
    [table] = section.blocks
    assert table.header == ["tool", "fan_out", "points", "speed-up (1 / 2 workers)"]
    assert [row[2] for row in table.rows] == ["4 of 9", "9", "-"]
    assert table.rows[0][3] == "x1.37 (20.1 s / 14.7 s)"
