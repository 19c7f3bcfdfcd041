"""license: licences of the tool and its dependencies (scored on figures).

Score: the share of the tool and its tool-specific dependencies whose metadata shows an
OSI-approved licence (76 of 78 = 0.97); the tool itself not approved fails (0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_compare.checks import clip


def score(check: Mapping[str, Any]) -> float | None:
    share = (check.get("numbers") or {}).get("osi_share")
    if check.get("status") == "fail" or not isinstance(share, int | float):
        return None
    return clip(float(share))


# --- the report (`mlops_compare.report.sections` asks every check for these hooks) ----------


def phrase(check: Mapping[str, Any]) -> str | None:
    """The matrix cell's figures: the share of OSI-approved licences."""
    share = (check.get("numbers") or {}).get("osi_share")
    return f"{share:.0%} OSI" if isinstance(share, int | float) else None
