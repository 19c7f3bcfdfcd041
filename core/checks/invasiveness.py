"""invasiveness: lines and files the tool adds to the plain script (scored on figures).

Score: 1 - (lines added + 5 x tool-specific files) / 60, clipped to 0..1 (a 10-line change
with one config file scores 0.75); a ``fail`` scores 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_compare.checks import clip


def score(check: Mapping[str, Any]) -> float | None:
    numbers = check.get("numbers") or {}
    if check.get("status") == "fail" or "lines_added" not in numbers:
        return None
    cost = float(numbers.get("lines_added", 0)) + 5 * float(numbers.get("tool_files", 0))
    return clip(1 - cost / 60)


# --- the report (`mlops_compare.report.sections` asks every check for these hooks) ----------


def phrase(check: Mapping[str, Any]) -> str | None:
    """The matrix cell's figures: lines added and tool files."""
    n = check.get("numbers") or {}
    return f"{n['lines_added']} lines, {n.get('tool_files', 0)} files" if "lines_added" in n else None


def report_section(evidence: Any) -> Any:
    from mlops_compare.report.blocks import Section, Table
    from mlops_compare.report.sections import numbers

    rows = []
    for tool, found in evidence.tools.items():
        inv = numbers(found, "invasiveness")
        if inv:
            rows.append([tool, inv.get("lines_added", "-"), inv.get("tool_files", "-")])
    if not rows:
        return None
    return Section("Invasiveness", [Table(["tool", "lines added", "tool files"], rows)])
