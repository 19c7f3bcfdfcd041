"""fan_out: the grid through the tool's own parallelism at 1 and 2 workers (scored on figures).

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
