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
