"""The scored summary the TUI shows: the same call as `mlops-compare score`, plus a quick first cut.

`summary` is `summary.summarize` (expert or measured ratings as the profile says, with
P(first)). `quick_summary` is the same without the Monte-Carlo P(first), which needs
numpy: it lets the first frame show scores and ranks while numpy is still loading. Given
the store's folder, both use `sensitivity_cache`: `quick_summary` fills P(first) in at once
when the same weights and ratings were computed before, `summary` remembers what it computed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mlops_compare.criteria import Criteria, Profile
from mlops_compare.scoring.summary import Summary


def _ratings(result: Summary) -> dict[str, dict[str, float]]:
    """What `summarize` handed to `scoring.p_first`."""
    return {t: {c: cell.value for c, cell in per.items()} for t, per in result.cells.items()}


def summary(criteria: Criteria, profile: Profile, evidence=None, cache: Path | None = None) -> Summary:
    from mlops_compare.scoring.summary import summarize

    result = summarize(criteria, profile, evidence)
    if cache is not None:
        from mlops_compare.scoring import sensitivity_cache

        sensitivity_cache.remember(cache, profile.weights, _ratings(result), result.p_first)
    return result


def quick_summary(criteria: Criteria, profile: Profile, evidence=None, cache: Path | None = None) -> Summary:
    """Scores, ranks and flips as `summary` gives them; P(first) from the cache, else left empty (pending)."""
    from mlops_compare.scoring.summary import summarize

    result = summarize(criteria, profile, evidence, with_p_first=False)
    if cache is not None:
        from mlops_compare.scoring import sensitivity_cache

        known = sensitivity_cache.lookup(cache, profile.weights, _ratings(result))
        if known is not None:
            result = dataclasses.replace(result, p_first=known)
    return result
