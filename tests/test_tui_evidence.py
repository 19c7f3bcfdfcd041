"""The TUI says which run each measurement comes from: the checkpoint detail and the trust screen.

Plain calls of the functions that build the texts (no app): the pilot tests in
`test_tui_verdict.py` show the same texts on screen.
"""

from __future__ import annotations

import math

from mlops_compare import criteria
from mlops_compare.evidence import Evidence, run_label
from mlops_compare.results import RunRecord
from mlops_compare.scoring.summary import summarize
from mlops_compare.tui.checkpoints import tool_detail
from mlops_compare.tui.trust_screen import trust_text
from test_evidence import NEWER, OLD, POINT, complete, run


def evidence_with_a_cancelled_rerun() -> Evidence:
    old = complete("metaflow", OLD)
    old.dataset = {"source": "sklearn:diabetes", "target": "target", "rows": 442, "columns": 11, "sha256": "ab" * 32}
    old.grid = {"alpha": [0.5], "l1_ratio": [0.5]}
    return Evidence({"metaflow": old}).with_record(RunRecord(tool="metaflow", status="cancelled", started_at=NEWER))


def test_checkpoint_detail_names_the_run_of_the_measurement():
    c = criteria.load(criteria.SHIPPED)
    summary = summarize(c, c.profiles["research-institute"], evidence_with_a_cancelled_rerun(), with_p_first=False)
    cell = summary.cells["metaflow"]["tracking"]
    assert cell.used == "measured" and cell.measured_runs == (run_label(OLD),)
    tool = c.tools["metaflow"]
    text = tool_detail(tool, "tracking", c.checkpoint("tracking").evidence, cell).plain
    assert f"retrieve pass (1.00) on {run_label(OLD)}" in text


def test_trust_screen_names_runs_and_both_checksums():
    text = trust_text(evidence_with_a_cancelled_rerun()).plain
    assert f"newest run with the grid: metaflow {run_label(OLD)}" in text
    assert f"metaflow  PASS  on {run_label(OLD)}: reproduce said pass" in text
    # an old record's "sha256" is the normalised copy's, and is named so
    assert "normalised copy sha256 " + "ab" * 32 in text and "  sha256 " not in text


def test_trust_screen_shows_nan_as_differing():
    a = run("plain", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": math.nan}])
    b = run("mlflow", OLD, grid="pass", metrics=[{**POINT, "rmse": 1.0, "mae": 0.5, "r2": 0.25}])
    text = trust_text({"plain": a, "mlflow": b}).plain
    assert "Cross-tool agreement: FAIL" in text and "DIFFERS" in text and "r2 nan" in text
