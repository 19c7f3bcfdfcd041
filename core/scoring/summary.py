"""One scored view of the criteria under a profile: what every output shows.

`summarize` gathers, for one profile (with any weight overrides) and the stored evidence,
each tool's rating per checkpoint (`evidence.measured_cells`), scores, ranks, P(first) and
the flip analysis, so that the CLI table, the exports, the report and the TUI scoreboard
print the same numbers from the same place. `all_profiles` does it for every profile and
adds a Borda compromise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_compare import scoring
from mlops_compare.criteria import WEIGHT_MAX, Criteria, Profile
from mlops_compare.evidence import Cell, Evidence, measured_cells


@dataclass(frozen=True)
class Summary:
    criteria: Criteria
    profile: Profile
    cells: Mapping[str, Mapping[str, Cell]]  # tool -> checkpoint -> Cell
    scores: Mapping[str, float]
    ranks: Mapping[str, int]
    p_first: Mapping[str, float]
    flips: Mapping[str, scoring.Flip]

    @property
    def tools(self) -> list[str]:
        """Tool ids, best rank first (ties in file order)."""
        order = list(self.criteria.tools)
        return sorted(order, key=lambda t: (self.ranks[t], order.index(t)))


def summarize(
    criteria: Criteria,
    profile: Profile,
    evidence: Evidence | None = None,
    with_p_first: bool = True,
    cache: Path | str | None = None,
) -> Summary:
    """Scores, ranks, flips and (unless with_p_first is False: it needs numpy) P(first).

    *cache*: the results store's folder; P(first) is then taken from `sensitivity_cache` when
    the same weights and ratings were computed before (no numpy), and remembered when not.
    """
    cells = measured_cells(criteria, profile, evidence)
    ratings = {t: {c: cell.value for c, cell in per.items()} for t, per in cells.items()}
    weights = profile.weights
    score = scoring.scores(weights, ratings)
    p_first: Mapping[str, float] = {}
    if with_p_first and cache is not None:
        from mlops_compare.scoring import sensitivity_cache

        p_first = sensitivity_cache.lookup(Path(cache), weights, ratings) or {}
        if not p_first:
            p_first = scoring.p_first(weights, ratings)
            sensitivity_cache.remember(Path(cache), weights, ratings, p_first)
    elif with_p_first:
        p_first = scoring.p_first(weights, ratings)
    return Summary(
        criteria=criteria,
        profile=profile,
        cells=cells,
        scores=score,
        ranks=scoring.ranks(score),
        p_first=p_first,
        flips=scoring.flips(weights, ratings, WEIGHT_MAX),
    )


def all_profiles(criteria: Criteria, evidence: Evidence | None = None) -> dict[str, Any]:
    """Scores and ranks under every profile, and a Borda compromise (n - rank points per profile)."""
    tools = list(criteria.tools)
    per_profile = {}
    borda = dict.fromkeys(tools, 0)
    for pid, profile in criteria.profiles.items():
        summary = summarize(criteria, profile, evidence, with_p_first=False)
        per_profile[pid] = {"scores": dict(summary.scores), "ranks": dict(summary.ranks)}
        for tool in tools:
            borda[tool] += len(tools) - summary.ranks[tool]
    compromise = scoring.ranks({t: float(v) for t, v in borda.items()})
    return {"profiles": per_profile, "borda": borda, "compromise": compromise}
