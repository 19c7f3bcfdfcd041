"""grid: the alpha x l1_ratio grid through the tool.

A tool's metrics, data set and grid are read from the newest run in which this check ran
(`mlops_compare.evidence.ToolEvidence.grid_record`): the cross-tool agreement compares them.
"""

from __future__ import annotations

from typing import Any

GIVES_METRICS = True


# --- the report's section (`mlops_compare.report.sections` asks every check for it) ---------


def report_section(evidence: Any) -> Any:
    """Cross-tool agreement: every tool's rmse/mae/r2 per grid point and the largest difference."""
    from mlops_compare.evidence import TOLERANCE, TOLERANCE_TEXT, agreement, run_label
    from mlops_compare.report.blocks import Section, Table

    tools = list(evidence.tools)
    rows, worst = agreement(evidence)
    table = [
        [f"{row['alpha']:g}", f"{row['l1_ratio']:g}"]
        + [("/".join(f"{v:.6g}" for v in row["tools"][t]) if t in row["tools"] else "-") for t in tools]
        + [f"{row['max_diff']:.2g}" + ("" if row["agrees"] else " ✗")]
        for row in rows
    ]
    if worst is None:
        verdict = "no metrics stored"
    elif worst <= TOLERANCE:
        verdict = f"PASS: all within {TOLERANCE_TEXT}"
    else:
        verdict = f"FAIL: largest difference {worst:.3g} (a NaN counts as a difference)"
    blocks: list[Any] = [Table(["alpha", "l1_ratio", *[f"{t} rmse/mae/r2" for t in tools], "max diff"], table)]
    blocks.append(f"Agreement: {verdict}.")
    runs = [f"{t} {run_label(r.started_at)}" for t, f in evidence.tools.items() if (r := f.grid_record) is not None]
    if runs:
        blocks.append("Metrics from each tool's newest run with the grid: " + ", ".join(runs) + ".")
    return Section("Cross-tool agreement", blocks, data={"worst": worst})
