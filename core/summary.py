"""One scored view of the criteria under one profile: what every output shows.

`summarize` gathers scores, ranks, P(first) and the flip analysis for a profile (with any
weight overrides) so that the CLI table, the exports and the TUI scoreboard all print the
same numbers from the same place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlops_compare import scoring
from mlops_compare.criteria import WEIGHT_MAX, Criteria, Profile


@dataclass(frozen=True)
class Cell:
    """The rating a tool gets on a checkpoint, with where it came from.

    `value` is the rating used for scoring; `expert` and `measured` keep both sides when
    exam evidence exists (see `mlops_compare.verdict`), with the flags that go with them.
    """

    value: float
    why: str
    source: str
    expert: float | None = None
    measured: float | None = None
    measured_why: str = ""
    used: str = "expert"  # "expert" or "measured"
    contradiction: bool = False
    stale: bool = False

    @property
    def flags(self) -> list[str]:
        return (["contradiction"] if self.contradiction else []) + (["stale"] if self.stale else [])


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


def expert_cells(criteria: Criteria) -> dict[str, dict[str, Cell]]:
    return {
        t.id: {c: Cell(r.value, r.why, r.source, expert=r.value) for c, r in t.ratings.items()}
        for t in criteria.tools.values()
    }


def summarize(
    criteria: Criteria,
    profile: Profile,
    cells: Mapping[str, Mapping[str, Cell]] | None = None,
    samples: int = scoring.SAMPLES,
    with_p_first: bool = True,
) -> Summary:
    """Scores, ranks, flips and (unless with_p_first is False: it needs numpy) P(first)."""
    cells = cells if cells is not None else expert_cells(criteria)
    ratings = {t: {c: cell.value for c, cell in per.items()} for t, per in cells.items()}
    weights = profile.weights
    score = scoring.scores(weights, ratings)
    return Summary(
        criteria=criteria,
        profile=profile,
        cells=cells,
        scores=score,
        ranks=scoring.ranks(score),
        p_first=scoring.p_first(weights, ratings, samples=samples) if with_p_first else {},
        flips=scoring.flips(weights, ratings, WEIGHT_MAX),
    )
