"""Weighted scores, ranks and sensitivity: pure functions, no I/O.

- `scores`: per tool, sum(w * r) / sum(w) over the checkpoints.
- `ranks`: competition ranking ("1, 1, 3"): tools whose scores are equal (within 1e-9)
  share a rank.
- `flips`: for each checkpoint, the smallest change of that one weight (others fixed,
  new weight kept within 0..WEIGHT_MAX) at which another tool draws level with the
  leader, i.e. first place changes. The score difference between tool t and the leader L
  as a function of the change d is ((S_t - S_L) + d (r_t - r_L)) / (W + d), so the
  threshold is d = (S_L - S_t) / (r_t - r_L) and needs no search.
- `p_first`: Monte-Carlo rank stability. Weight vectors are drawn from a Dirichlet
  distribution centred on the current (normalised) weights with concentration
  `CONCENTRATION` (higher = closer to the current weights); checkpoints weighted zero stay
  zero. Returns each tool's share of draws in which it ranks first (ties share the draw).
  Vectorised with numpy, seeded, 10,000 draws by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TIE = 1e-9
SAMPLES = 10_000
SEED = 42
CONCENTRATION = 50.0

Ratings = Mapping[str, Mapping[str, float]]  # tool -> checkpoint -> rating


def scores(weights: Mapping[str, float], ratings: Ratings) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the weights sum to zero")
    return {tool: sum(w * r[c] for c, w in weights.items()) / total for tool, r in ratings.items()}


def ranks(score: Mapping[str, float]) -> dict[str, int]:
    """Competition ranking: 1 + the number of tools with a strictly higher score."""
    return {t: 1 + sum(other > s + TIE for other in score.values()) for t, s in score.items()}


def leaders(score: Mapping[str, float]) -> list[str]:
    best = max(score.values())
    return [t for t, s in score.items() if s >= best - TIE]


@dataclass(frozen=True)
class Flip:
    """The smallest change of one checkpoint's weight that changes first place."""

    checkpoint: str
    delta: float | None  # signed change of the weight; None when nothing within 0..max
    new_weight: float | None
    challenger: str | None  # the tool that draws level with the leader

    def describe(self, weight_max: float, names: Mapping[str, str] | None = None) -> str:
        who = (names or {}).get(self.challenger or "", self.challenger)
        if self.delta is None:
            return f"none within 0..{weight_max:g}"
        if self.delta == 0:
            return f"first place is shared with {who}: any change decides"
        return f"{self.delta:+.2f} (to {self.new_weight:.2f}): {who} draws level"


def flips(weights: Mapping[str, float], ratings: Ratings, weight_max: float = 10.0) -> dict[str, Flip]:
    score = scores(weights, ratings)
    top = leaders(score)
    total = sum(weights.values())
    totals = {t: sum(w * r[c] for c, w in weights.items()) for t, r in ratings.items()}
    result = {}
    for cid, w in weights.items():
        best: Flip = Flip(cid, None, None, None)
        if len(top) > 1:
            rated = {ratings[t][cid] for t in top}
            if len(rated) > 1:
                best = Flip(cid, 0.0, w, top[1])
            result[cid] = best
            continue
        lead = top[0]
        for tool in ratings:
            if tool == lead:
                continue
            slope = ratings[tool][cid] - ratings[lead][cid]
            if slope == 0:
                continue
            delta = (totals[lead] - totals[tool]) / slope
            new = w + delta
            if not (-TIE <= new <= weight_max + TIE) or total + delta <= 0:
                continue
            if best.delta is None or abs(delta) < abs(best.delta):
                best = Flip(cid, delta, min(max(new, 0.0), weight_max), tool)
        result[cid] = best
    return result


def p_first(
    weights: Mapping[str, float],
    ratings: Ratings,
    samples: int = SAMPLES,
    seed: int = SEED,
    concentration: float = CONCENTRATION,
) -> dict[str, float]:
    import numpy as np

    tools = list(ratings)
    active, draws = weight_draws(weights, samples, seed, concentration)
    r = np.array([[ratings[t][c] for t in tools] for c in active], dtype=float)  # (checkpoints, tools)
    totals = draws @ r  # draws sum to 1, so these are the weighted scores
    best = totals.max(axis=1, keepdims=True)
    first = totals >= best - TIE
    share = first / first.sum(axis=1, keepdims=True)
    return dict(zip(tools, (share.sum(axis=0) / samples).tolist(), strict=True))


def weight_draws(
    weights: Mapping[str, float], samples: int = SAMPLES, seed: int = SEED, concentration: float = CONCENTRATION
) -> tuple[list[str], Any]:
    """The weighted checkpoints and the Monte-Carlo weight vectors drawn around them: (ids, array
    of shape (samples, len(ids)), rows summing to 1). The one sampler behind `p_first` and
    `mlops_compare.scoring.smaa`, so both read the same draws."""
    import numpy as np

    active = [c for c, w in weights.items() if w > 0]
    if not active:
        raise ValueError("the weights sum to zero")
    w = np.array([weights[c] for c in active], dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.dirichlet(concentration * w / w.sum(), size=samples) if len(active) > 1 else np.ones((samples, 1))
    return active, draws
