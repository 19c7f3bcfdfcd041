"""reproduce: one past run re-run from the tool's record alone (no settings, scored by status).

The report's section: per tool the status, the run and the evidence (cut; the appendix has
it in full), or why it did not run.
"""

from __future__ import annotations

from typing import Any


def report_section(evidence: Any) -> Any:
    from mlops_compare.evidence import without_workspace
    from mlops_compare.report.blocks import CELL_MAX, Section, Table, shorten

    rows = []
    for tool, found in evidence.tools.items():
        measured = found.checks.get("reproduce")
        if measured is not None:
            rows.append([tool, measured.status, measured.run, shorten(measured.evidence, CELL_MAX)])
        else:
            reason = without_workspace(found.latest.reason, found.latest) if found.latest is not None else ""
            rows.append([tool, "-", "-", shorten(reason or "not run", CELL_MAX)])
    if not rows:
        return None
    return Section("Reproducibility", [Table(["tool", "reproduce", "run", "evidence"], rows)])
