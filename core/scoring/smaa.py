"""SMAA: what the Monte-Carlo weight draws say beyond P(first). Pure functions (numpy).

Stochastic multicriteria acceptability analysis (SMAA-2: R. Lahdelma and P. Salminen,
"SMAA-2: Stochastic multicriteria acceptability analysis for group decision making",
Operations Research 49(3), 2001, 444-454) explores the weight space instead of trusting one
weight vector. Here the weights are the same draws as P(first) (`scoring.weight_draws`:
Dirichlet around the profile's weights), so every value below is over the same sample:

- **rank acceptability index** b(i, k): the share of weight draws in which tool i takes
  rank k. b(i, 1) is P(first). Read: a tool with most of its mass on rank 1 wins for most
  weightings near the profile; mass spread over ranks means the ranking rests on the weights.
- **central weight vector** w(i): the mean of the draws in which tool i ranks first. Read:
  the typical weighting under which i wins; compare it with the profile to see what a
  supporter of i must believe. None when i never ranks first.
- **confidence factor** p(i): the share of rating draws in which i ranks first when the
  weights are its central weight vector, each rating drawn uniformly within
  +-`RATING_SPREAD` (half a point: the rounding step of measured ratings). Read: near 1,
  i wins at its own favourable weights even if each rating is off by up to half a point;
  low, its win rests on ratings more exact than they are.
- **pairwise winning index** c(i, j): the share of weight draws in which i scores higher
  than j. Read: 0.5 is a coin toss between two tools; near 1, i beats j for almost any
  weighting near the profile.

Ties (scores within `scoring.TIE`) share: tools tied over ranks k..k+m-1 get 1/m of each
of those ranks, and a tied pair counts half a win each, so b(i, 1) equals `scoring.p_first`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_compare import scoring

RATING_SPREAD = 0.5
CONFIDENCE_SAMPLES = 10_000
REFERENCE = (
    "Lahdelma, R. and Salminen, P. (2001). SMAA-2: Stochastic multicriteria acceptability analysis"
    " for group decision making. Operations Research 49(3), 444-454."
)
EXPLAIN = {
    "rank acceptability": "the share of weight vectors near the profile in which a tool takes each rank;"
    " rank 1 is P(first).",
    "central weight vector": "the mean of the weight vectors in which a tool ranks first: the typical"
    " weighting that makes it win.",
    "confidence factor": f"the share of draws of the ratings (each within ±{RATING_SPREAD:g}) in which a tool"
    " still ranks first at its central weights.",
    "pairwise winning index": "the share of weight vectors near the profile in which the row's tool scores"
    " higher than the column's (0.5: a coin toss).",
}


@dataclass(frozen=True)
class Smaa:
    tools: list[str]
    checkpoints: list[str]  # the weighted (non-zero) checkpoints, the central weights' order
    acceptability: dict[str, list[float]]  # tool -> [b(rank 1), ..., b(rank n)]
    central_weights: dict[str, dict[str, float] | None]  # tool -> checkpoint -> weight (sums to 1)
    confidence: dict[str, float | None]
    pairwise: dict[str, dict[str, float]]  # tool i -> tool j -> c(i, j)
    samples: int

    def to_data(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "reference": REFERENCE,
            "rank_acceptability": {t: [round(v, 4) for v in b] for t, b in self.acceptability.items()},
            "central_weights": {
                t: None if w is None else {c: round(v, 4) for c, v in w.items()}
                for t, w in self.central_weights.items()
            },
            "confidence_factors": {t: None if v is None else round(v, 4) for t, v in self.confidence.items()},
            "pairwise_winning": {t: {u: round(v, 4) for u, v in row.items()} for t, row in self.pairwise.items()},
        }


def _rank_shares(totals: Any) -> Any:
    """(draws, tools) scores -> (draws, tools, ranks) shares, ties sharing the ranks they span."""
    import numpy as np

    n = totals.shape[1]
    diff = totals[:, None, :] - totals[:, :, None]  # [s, i, j] = score j - score i
    higher = (diff > scoring.TIE).sum(axis=2)
    equal = (np.abs(diff) <= scoring.TIE).sum(axis=2)  # counts i itself
    k = np.arange(n)[None, None, :]
    inside = (k >= higher[:, :, None]) & (k < (higher + equal)[:, :, None])
    return inside / equal[:, :, None]


def analyse(
    weights: Mapping[str, float],
    ratings: scoring.Ratings,
    samples: int = scoring.SAMPLES,
    seed: int = scoring.SEED,
    concentration: float = scoring.CONCENTRATION,
    spread: float = RATING_SPREAD,
) -> Smaa:
    """Rank acceptability, central weights, confidence factors and pairwise winning indices."""
    import numpy as np

    tools = list(ratings)
    active, draws = scoring.weight_draws(weights, samples, seed, concentration)
    r = np.array([[ratings[t][c] for t in tools] for c in active], dtype=float)  # (checkpoints, tools)
    totals = draws @ r
    shares = _rank_shares(totals)  # (draws, tools, ranks)
    acceptability = shares.mean(axis=0)
    first = shares[:, :, 0]  # each draw's share of first place per tool

    diff = totals[:, :, None] - totals[:, None, :]  # [s, i, j] = score i - score j
    wins = (diff > scoring.TIE) + 0.5 * (np.abs(diff) <= scoring.TIE)
    pairwise = wins.mean(axis=0)

    rng = np.random.default_rng(seed + 1)
    noisy = r[None, :, :] + rng.uniform(-spread, spread, size=(CONFIDENCE_SAMPLES, *r.shape)) if spread else r[None]
    central: dict[str, dict[str, float] | None] = {}
    confidence: dict[str, float | None] = {}
    for i, tool in enumerate(tools):
        mass = first[:, i].sum()
        if mass <= 0:
            central[tool], confidence[tool] = None, None
            continue
        w = (first[:, i : i + 1] * draws).sum(axis=0) / mass
        central[tool] = dict(zip(active, w.tolist(), strict=True))
        at_central = np.einsum("c,sct->st", w, noisy)
        confidence[tool] = float(_rank_shares(at_central)[:, i, 0].mean())
    return Smaa(
        tools=tools,
        checkpoints=active,
        acceptability={t: acceptability[i].tolist() for i, t in enumerate(tools)},
        central_weights=central,
        confidence=confidence,
        pairwise={t: {u: float(pairwise[i, j]) for j, u in enumerate(tools) if u != t} for i, t in enumerate(tools)},
        samples=samples,
    )
