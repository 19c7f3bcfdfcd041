"""large_data: time, memory and disk as the data grows (``[exam.large_data]``).

Settings: ``rows`` (the sizes, whole numbers >= 100), ``data`` (a user's own large CSV),
``cache`` (where the scaled data sets are kept; default `mlops_compare.large_data.default_cache`),
``memory_limit_gb``, ``slow_factor`` (how much slower than plain still passes, default 10).
The cache, its cleaning and the check's curves: `mlops_compare.large_data`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_compare import large_data
from mlops_compare.events import LARGE_DATA_ROWS
from mlops_compare.exam_settings import Report, known_keys


def parse_settings(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "large_data")
    known: dict[str, type | tuple[type, ...]] = {
        "rows": list,
        "data": str,
        "cache": str,
        "memory_limit_gb": (int, float),
        "slow_factor": (int, float),
    }
    out = known_keys(table, known, where, problem)
    rows = out.get("rows", list(LARGE_DATA_ROWS))
    if not rows or any(isinstance(r, bool) or not isinstance(r, int) or r < 100 for r in rows):
        problem("exam.large_data.rows must be a list of whole numbers >= 100", *where, "rows")
        rows = list(LARGE_DATA_ROWS)
    out["rows"] = sorted(set(rows))
    out.setdefault("data", "")
    out.setdefault("cache", "")
    out["slow_factor"] = float(out.get("slow_factor", 10))
    if "memory_limit_gb" in out and out["memory_limit_gb"] <= 0:
        problem("exam.large_data.memory_limit_gb must be more than 0", *where, "memory_limit_gb")
    return out


def resolve_paths(table: dict[str, Any], resolve: Callable[[str], str]) -> None:
    for key in ("data", "cache"):
        if table.get(key):
            table[key] = resolve(table[key])
    if not table.get("cache"):
        # runners get HOME and XDG folders inside their workspace: they need this absolute path
        table["cache"] = str(large_data.default_cache())


# --- the report (`mlops_compare.report_sections` asks every check for these hooks) ----------


def phrase(check: Any) -> str | None:
    """The matrix cell's figures: where the tool breaks, if it does."""
    n = check.get("numbers") or {}
    return f"breaks at {n['breaks_at']:,} rows" if n.get("breaks_at") else None


def report_section(evidence: Any) -> Any:
    """Seconds, memory and bytes per size, the growth exponents and where a tool breaks (`large_data.section`)."""
    from mlops_compare.report_sections import numbers

    measured = {
        t: (f.checks["large_data"].status, numbers(f, "large_data"))
        for t, f in evidence.tools.items()
        if "large_data" in f.checks
    }
    return large_data.section(measured)
