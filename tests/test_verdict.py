"""Evidence into scores: the measured-rating formula, flags, modes, profiles side by side, report shape.

Records here are built by hand so each number can be checked; `test_exam_e2e.py` does the
same with records from the real runners. Which run each check comes from, NaN metrics and
shareable reports are in `test_evidence.py`.
"""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from mlops_compare import criteria
from mlops_compare.evidence import Evidence, agreement, check_score, measure, measured_cells
from mlops_compare.report import decision_report
from mlops_compare.results import RunRecord
from mlops_compare.scoring.summary import all_profiles


def record(tool: str, version: str, **statuses) -> RunRecord:
    checks = {
        cid: {"status": st, "seconds": 1.0, "evidence": f"{cid} evidence", "numbers": {}}
        for cid, st in statuses.items()
    }
    return RunRecord(tool=tool, status="passed", tool_version=version, checks=checks)


@pytest.fixture
def shipped():
    return criteria.load(criteria.SHIPPED)


def test_check_scores():
    assert check_score("retrieve", {"status": "pass"}) == 1.0
    assert check_score("retrieve", {"status": "partial"}) == 0.5
    assert check_score("retrieve", {"status": "fail"}) == 0.0
    assert check_score("retrieve", {"status": "skip"}) is None
    # 10 lines + 1 tool file = 15 of 60 -> 0.75
    assert check_score("invasiveness", {"status": "pass", "numbers": {"lines_added": 10, "tool_files": 1}}) == 0.75
    assert check_score("overhead", {"status": "pass", "numbers": {"ratio": 10}}) == 0.5
    assert check_score("overhead", {"status": "pass", "numbers": {"ratio": 0.8}}) == 1.0


def test_measure_averages_checks_and_rounds_to_half():
    r = record("dvc", "3.67.1", data_versioning="pass", reproduce="partial")
    rating, why = measure(r, ("data_versioning", "reproduce"))
    assert rating == 4.0  # 5 * (1 + 0.5) / 2 = 3.75 -> 4.0
    assert "data_versioning pass" in why and "reproduce partial" in why
    assert measure(r, ("hpc",)) is None


def test_measured_when_available_contradiction_and_sources(shipped):
    profile = shipped.profiles["research-institute"]
    # mlflow's expert tracking rating is 5; a failed retrieve and baseline_match measure 0
    ev = Evidence({"mlflow": record("mlflow", "3.17.2", retrieve="fail", baseline_match="fail")})
    cells = measured_cells(shipped, profile, ev)
    cell = cells["mlflow"]["tracking"]
    assert (cell.value, cell.expert, cell.measured, cell.used) == (0.0, 5.0, 0.0, "measured")
    assert cell.source == "measured: retrieve, baseline_match"
    assert cell.contradiction and not cell.stale
    # checkpoints without evidence keep the expert rating
    assert cells["mlflow"]["design"].used == "expert" and cells["mlflow"]["design"].value == 4.0
    # expert mode ignores the measurement but still shows and flags it
    expert = measured_cells(shipped, profile.__class__(profile.id, "", "expert", profile.weights), ev)
    assert expert["mlflow"]["tracking"].value == 5.0 and expert["mlflow"]["tracking"].contradiction
    report = decision_report(shipped, profile, ev)
    assert "CONTRADICTION: expert 5" in report and "measured 0" in report


def test_measured_mode_scores_unmeasured_as_zero(shipped):
    p = shipped.profiles["research-institute"]
    profile = p.__class__(p.id, "", "measured", p.weights)
    ev = Evidence({"dvc": record("dvc", "3.67.1", retrieve="pass", baseline_match="pass")})
    cells = measured_cells(shipped, profile, ev)
    assert cells["dvc"]["tracking"].value == 5.0
    assert cells["dvc"]["design"].value == 0.0 and cells["dvc"]["design"].source == "unmeasured"


def test_stale_when_major_minor_differs(shipped):
    profile = shipped.profiles["research-institute"]
    ev = Evidence({"metaflow": record("metaflow", "2.20.0", grid="pass"), "dvc": record("dvc", "3.67.9", grid="pass")})
    cells = measured_cells(shipped, profile, ev)
    assert all(c.stale for c in cells["metaflow"].values())
    assert not any(c.stale for c in cells["dvc"].values())
    assert "| Metaflow | 2.19 | 2.20.0 | stale |" in decision_report(shipped, profile, ev)


def test_all_profiles_and_borda(shipped):
    data = all_profiles(shipped, Evidence())
    assert set(data["profiles"]) == set(shipped.profiles)
    n = len(shipped.tools)
    for tool in shipped.tools:
        assert data["borda"][tool] == sum(n - p["ranks"][tool] for p in data["profiles"].values())
    best = max(data["borda"].values())
    assert all((data["compromise"][t] == 1) == (data["borda"][t] == best) for t in shipped.tools)


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table in *markdown* as rows of cell texts, parsed the way GitHub does (GFM tables)."""
    tokens = MarkdownIt("gfm-like").parse(markdown)
    out, rows, row, inside = [], [], [], False
    for tok in tokens:
        if tok.type == "table_open":
            rows = []
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("th_open", "td_open"):
            inside = True
        elif tok.type == "inline" and inside:
            row.append(tok.content)
            inside = False
        elif tok.type == "tr_close":
            rows.append(row)
        elif tok.type == "table_close":
            out.append(rows)
    return out


def test_report_renders_as_well_formed_tables(shipped, tmp_path):
    ev = Evidence.from_store(tmp_path / "empty")
    md = decision_report(shipped, shipped.profiles["research-institute"], ev)
    found = tables(md)
    assert len(found) >= 4
    for table in found:
        assert len({len(r) for r in table}) == 1, table[0]
    ranking = found[0]
    assert ranking[0][:4] == ["tool", "score", "rank", "P(first)"] and len(ranking) == 1 + len(shipped.tools)
    assert ranking[0][4].startswith("rank acceptability") and ranking[0][5] == "confidence factor"
    checkpoints = next(t for t in found if t[0][:2] == ["checkpoint", "weight"])
    assert len(checkpoints) == 1 + len(shipped.checkpoints)
    assert "mlops-compare run" in md and "## How to reproduce" in md


def test_cross_tool_agreement():
    a = record("plain", "1", grid="pass")
    b = record("mlflow", "3.17.2", grid="pass")
    a.metrics = [{"alpha": 0.5, "l1_ratio": 0.5, "rmse": 1.0, "mae": 2.0, "r2": 0.1}]
    b.metrics = [{"alpha": 0.5, "l1_ratio": 0.5, "rmse": 1.0 + 1e-12, "mae": 2.0, "r2": 0.1}]
    rows, worst = agreement(Evidence({"plain": a, "mlflow": b}))
    assert len(rows) == 1 and worst == pytest.approx(1e-12, abs=1e-15)
    b.metrics[0]["r2"] = 0.1 + 1e-6
    _, worst = agreement(Evidence({"plain": a, "mlflow": b}))
    assert worst == pytest.approx(1e-6)
