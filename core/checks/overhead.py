"""overhead: grid time through the tool versus plain (scored on figures).

Score: 1 / (1 + log10(ratio)), ratio = tool grid time / plain grid time run the same way,
floored at 1 (x1 = 1.0, x10 = 0.5, x100 = 0.33); a ``fail`` scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def score(check: Mapping[str, Any]) -> float | None:
    ratio = (check.get("numbers") or {}).get("ratio")
    if check.get("status") == "fail" or not isinstance(ratio, int | float):
        return None
    return 1 / (1 + math.log10(max(1.0, float(ratio))))


# --- the report (`mlops_compare.report.sections` asks every check for these hooks) ----------


def phrase(check: Mapping[str, Any]) -> str | None:
    """The matrix cell's figures: the ratio to plain."""
    ratio = (check.get("numbers") or {}).get("ratio")
    return f"x{ratio:.1f} vs plain" if isinstance(ratio, int | float) else None


def report_section(evidence: Any) -> Any:
    """Grid seconds through the tool, the ratio to plain, how it ran and the disk its store used."""
    from mlops_compare.report.blocks import Section, Table
    from mlops_compare.report.sections import numbers

    rows, ratios = [], {}
    for tool, found in evidence.tools.items():
        over = numbers(found, "overhead")
        if not over:
            continue
        if isinstance(over.get("ratio"), int | float):
            ratios[tool] = float(over["ratio"])
        rows.append(
            [
                tool,
                f"{over['tool_seconds']:.2f}" if isinstance(over.get("tool_seconds"), int | float) else "-",
                f"x{over.get('ratio', '-')}",
                over.get("process_setup", "-"),
                f"{over.get('disk_bytes', 0) / 1e6:.2f} MB" if over.get("disk_bytes") is not None else "-",
            ]
        )
    if not rows:
        return None
    header = ["tool", "grid seconds", "overhead vs plain", "run as", "disk used"]
    return Section("Overhead", [Table(header, rows)], data={"ratio": ratios})
