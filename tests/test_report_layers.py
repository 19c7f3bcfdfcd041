"""The decision report in layers, and untrusted text in it (issue 20; issue 18 item 8).

Page one is the decision (ranking with P(first) and rank acceptability, the flip,
contradictions, three reasons per tool); then the checkpoint matrix (short cells), the
evidence per checkpoint (short bullets linking the appendix) and the appendix. Tool names,
profile ids and tool output hold markup here; the report is rendered with markdown-it (raw
HTML on, as GitHub-like viewers allow it) and no tag from the input may survive.
"""

from __future__ import annotations

import dataclasses
import re
from types import MappingProxyType

import pytest
from markdown_it import MarkdownIt
from mlops_compare import criteria
from mlops_compare.evidence import Evidence
from mlops_compare.report import decision_report
from mlops_compare.results import RunRecord

IMG = "<img src=x onerror=alert(1)>"
FENCE = "Fence```\n</script><script>alert(2)</script>\n```"
TICK = "re`search"
EVIDENCE = "<b>bold</b> <script>alert(3)</script> [link](javascript:alert(4)) " + "x" * 3000


def hostile_criteria() -> criteria.Criteria:
    c = criteria.load(criteria.SHIPPED)
    tools = dict(c.tools)
    tools["mlflow"] = dataclasses.replace(tools["mlflow"], name=IMG)
    tools["dvc"] = dataclasses.replace(tools["dvc"], name=FENCE)
    profile = c.profiles["research-institute"]
    hostile = dataclasses.replace(profile, id=TICK, description="<iframe src=//evil>")
    return dataclasses.replace(c, tools=MappingProxyType(tools), profiles=MappingProxyType({TICK: hostile}))


def hostile_evidence() -> Evidence:
    def checks(status: str) -> dict:
        return {
            cid: {"status": status, "seconds": 1.5, "evidence": EVIDENCE, "numbers": {"ratio": 3.0, "note": IMG}}
            for cid in ("grid", "retrieve", "baseline_match", "overhead", "reproduce", "data_versioning")
        }

    metrics = [{"alpha": 0.5, "l1_ratio": 0.5, "rmse": 1.0, "mae": 0.5, "r2": 0.25}]
    records = {
        "plain": RunRecord(tool="plain", status="passed", checks=checks("pass"), metrics=metrics),
        "mlflow": RunRecord(
            tool="mlflow", status="passed", tool_version="3.17.2", checks=checks("fail"), metrics=metrics
        ),
        "dvc": RunRecord(tool="dvc", status="passed", tool_version="3.67.1", checks=checks("pass"), metrics=metrics),
    }
    return Evidence(records)


@pytest.fixture(scope="module")
def report() -> str:
    c = hostile_criteria()
    return decision_report(c, c.profiles[TICK], hostile_evidence())


def rendered(md: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(md)


def test_no_raw_html_from_the_input_survives(report):
    html = rendered(report)
    for tag in ("<img", "<script", "</script", "<iframe", "<b>"):
        assert tag not in html.lower(), tag
    assert 'href="javascript' not in html
    # the only raw tags are the report's own appendix anchors
    assert set(re.findall(r"<(a id|/a)\b", html)) <= {"a id", "/a"}
    assert all(re.fullmatch(r"[a-z0-9-]+", a) for a in re.findall(r'<a id="([^"]*)"', html))
    # the names are still there, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "re`search" in html


def test_the_mermaid_chart_stays_one_block(report):
    chart = report[report.index("```mermaid") :]
    chart = chart[: chart.index("\n```\n") + 4]
    assert chart.count("```") == 2 and "<" not in chart and "`" not in chart.replace("```", "")
    assert "x-axis [" in chart and chart.count("\n") == 6  # seven lines


def test_the_profile_heading_keeps_its_backtick(report):
    heading = rendered(report.splitlines()[0])
    assert heading.startswith("<h1>") and "<code>" not in heading and "re`search" in heading


def test_page_one_comes_first_then_matrix_evidence_appendix(report):
    order = [
        "## Ranking",
        "### Contradictions: expert against measured",
        "### What moves each score most",
        "## Stability (SMAA)",
        "## Checkpoints",
        "## Evidence per checkpoint",
        "## The exam",
        "## How to reproduce",
        "## Appendix: full evidence",
    ]
    positions = [report.index(h) for h in order]
    assert positions == sorted(positions)
    page_one = report[: report.index("## Stability (SMAA)")]
    assert "rank acceptability" in page_one and "Smallest weight change that flips first place" in page_one
    assert page_one.count("CONTRADICTION") >= 1  # mlflow: expert 5, measured 0 on tracking
    reasons = page_one[page_one.index("### What moves each score most") :]
    tools = len(hostile_criteria().tools)
    assert len(re.findall(r"^- \*\*", reasons, re.M)) == tools  # each tool
    assert len(re.findall(r"^  - [+-]\d\.\d\d ", reasons, re.M)) == 3 * tools  # three reasons, one line each
    for name in ("rank acceptability", "central weight vector", "confidence factor", "pairwise winning index"):
        assert f"**{name}**" in report
    assert "Lahdelma" in report


def cells(md: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    out, inside = [], False
    for tok in tokens:
        if tok.type in ("th_open", "td_open"):
            inside = True
        elif tok.type == "inline" and inside:
            out.append(tok.content)
            inside = False
    return out


def test_short_cells_and_bullets_and_the_appendix_holds_the_rest(report):
    found = cells(report)
    assert found and max(len(c) for c in found) <= 400
    matrix = report[report.index("## Checkpoints") : report.index("## Evidence per checkpoint")]
    for cell in cells(matrix):
        phrase = cell.split(": ", 1)[1] if ": " in cell else ""
        assert len(phrase) <= 80, cell  # ~60 characters, escapes added
    evidence = report[report.index("## Evidence per checkpoint") : report.index("## The exam")]
    bullets = re.findall(r"^- (.*)$", evidence, re.M)
    assert bullets
    for bullet in bullets:
        text = bullet.split(" (full: ", 1)[0]
        assert len(text.replace("\\", "")) <= 300, text
    # every link from a bullet lands on an anchor of the appendix, with the full text there
    links = set(re.findall(r"\]\(#(ev-[a-z0-9-]+)\)", evidence))
    anchors = set(re.findall(r'<a id="(ev-[a-z0-9-]+)"></a>', report))
    assert links and links <= anchors
    assert "x" * 3000 in report[report.index("## Appendix: full evidence") :]


def test_score_markdown_keeps_a_backtick_profile_id_in_its_code_span():
    from mlops_compare.export import render
    from mlops_compare.scoring.summary import summarize

    c = hostile_criteria()
    md = render(summarize(c, c.profiles[TICK]), "md")
    assert "<code>re`search</code>" in rendered(md.splitlines()[0])
    assert "<img" not in rendered(md) and "<iframe" not in rendered(md)
