"""fan_out: the grid (or its corner, ``[exam] fan_out_points``) through the tool's own parallelism at 1 and 2 workers.

Score of a ``pass``: 0.5 + 0.5 x (speed-up - 1), the speed-up clipped to 1..2 (none = 0.5,
x1.5 = 0.75, x2 = 1.0); a tool without fan-out of its own is ``partial`` (0.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_compare.checks import clip


def score(check: Mapping[str, Any]) -> float | None:
    speedup = (check.get("numbers") or {}).get("speedup")
    if check.get("status") != "pass" or not isinstance(speedup, int | float):
        return None
    return 0.5 + 0.5 * clip(float(speedup) - 1)


# --- the report (`mlops_compare.report.sections` asks every check for these hooks) ----------


def phrase(check: Mapping[str, Any]) -> str | None:
    """The matrix cell's figures: the speed-up at 2 workers."""
    speedup = (check.get("numbers") or {}).get("speedup")
    return f"x{speedup:.2f} at 2 workers" if isinstance(speedup, int | float) else None


def report_section(evidence: Any) -> Any:
    """The grid through the tool's own parallelism: speed-up from 1 to 2 workers."""
    from mlops_compare.report.blocks import Section, Table
    from mlops_compare.report.sections import numbers

    rows, speedups = [], {}
    for tool, found in evidence.tools.items():
        if "fan_out" not in found.checks:
            continue
        fan = numbers(found, "fan_out")
        speed = "-"
        if isinstance(fan.get("speedup"), int | float):
            speed = f"x{fan['speedup']:g} ({fan.get('seconds_1', 0):g} s / {fan.get('seconds_2', 0):g} s)"
            speedups[tool] = float(fan["speedup"])
        rows.append([tool, found.checks["fan_out"].status, _points(fan), speed])
    if not rows:
        return None
    table = Table(["tool", "fan_out", "points", "speed-up (1 / 2 workers)"], rows)
    return Section("Fan-out", [table], data={"speedup": speedups})


def _points(fan: Mapping[str, Any]) -> str:
    """How many grid points the two passes ran: "4 of 9" for a corner (records before it: the whole grid)."""
    points, grid = fan.get("points"), fan.get("grid_points")
    if not isinstance(points, int | float) or not isinstance(fan.get("speedup"), int | float):
        return "-"  # nothing ran in parallel (a tool without fan-out of its own)
    return f"{points:g} of {grid:g}" if isinstance(grid, int | float) and grid > points else f"{points:g}"
