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
