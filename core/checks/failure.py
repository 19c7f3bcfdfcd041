"""failure: a grid point that fails: recorded, found, resumed (scored on figures).

Score: (found + traceback + saved) / 3: found through the tool 0 or 1, its traceback kept by
the tool 0 or 1, saved = seconds a resume saved / seconds of the first attempt, clipped to
0..1 (no resume = 0); a ``fail`` scores 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_compare.checks import clip


def score(check: Mapping[str, Any]) -> float | None:
    numbers = check.get("numbers") or {}
    first_seconds = numbers.get("first_seconds")
    if check.get("status") == "fail" or not isinstance(first_seconds, int | float):
        return None
    first, saved = float(first_seconds), float(numbers.get("seconds_saved", 0))
    share = clip(saved / first) if first > 0 else 0.0
    return (float(numbers.get("found", 0)) + float(numbers.get("traceback", 0)) + share) / 3
