"""SMAA outputs on cases small enough to compute by hand.

Two tools, two criteria, equal weights and concentration 2: the Dirichlet draws are then
(w, 1 - w) with w uniform on 0..1, so each acceptability is the length of a weight interval.
x = (4, 2), y = (2, 5): x scores 2 + 2w, y scores 5 - 3w, so x wins exactly when w > 0.6.
"""

from __future__ import annotations

import pytest
from mlops_compare import scoring
from mlops_compare.scoring import smaa

RATINGS = {"x": {"a": 4.0, "b": 2.0}, "y": {"a": 2.0, "b": 5.0}}
EQUAL = {"a": 1.0, "b": 1.0}
UNIFORM = 2.0  # Dirichlet(1, 1): uniform on the simplex


def test_acceptability_is_the_length_of_a_weight_interval():
    out = smaa.analyse(EQUAL, RATINGS, samples=40_000, concentration=UNIFORM, spread=0)
    assert out.acceptability["x"] == pytest.approx([0.4, 0.6], abs=0.01)  # w in (0.6, 1]
    assert out.acceptability["y"] == pytest.approx([0.6, 0.4], abs=0.01)  # w in [0, 0.6)
    for shares in out.acceptability.values():
        assert sum(shares) == pytest.approx(1.0)


def test_central_weights_are_the_interval_midpoints():
    out = smaa.analyse(EQUAL, RATINGS, samples=40_000, concentration=UNIFORM, spread=0)
    assert out.central_weights["x"] == pytest.approx({"a": 0.8, "b": 0.2}, abs=0.01)  # middle of 0.6..1
    assert out.central_weights["y"] == pytest.approx({"a": 0.3, "b": 0.7}, abs=0.01)  # middle of 0..0.6
    # winning regions are convex, so exact ratings at the central weights always win
    assert out.confidence == {"x": 1.0, "y": 1.0}


def test_pairwise_winning_index():
    out = smaa.analyse(EQUAL, RATINGS, samples=40_000, concentration=UNIFORM, spread=0)
    assert out.pairwise["x"]["y"] == pytest.approx(0.4, abs=0.01)
    assert out.pairwise["x"]["y"] + out.pairwise["y"]["x"] == pytest.approx(1.0)


def test_confidence_factor_by_hand():
    # one criterion: x = 3, y = 2.5, each rating +-0.5 uniform. x loses when U_x - U_y < -0.5;
    # the difference of two uniforms on -0.5..0.5 is triangular on -1..1: P = 0.5^2 / 2 = 0.125.
    out = smaa.analyse({"a": 1.0}, {"x": {"a": 3.0}, "y": {"a": 2.5}})
    assert out.acceptability["x"] == [1.0, 0.0] and out.central_weights["y"] is None
    assert out.confidence["x"] == pytest.approx(0.875, abs=0.01)
    assert out.confidence["y"] is None  # never first: no central weights


def test_rank_one_is_p_first_from_the_same_draws_and_ties_share():
    weights = {"a": 1.0, "b": 3.0}
    out = smaa.analyse(weights, RATINGS)
    p_first = scoring.p_first(weights, RATINGS)
    assert {t: b[0] for t, b in out.acceptability.items()} == pytest.approx(p_first, abs=1e-12)
    tied = smaa.analyse(EQUAL, {"x": {"a": 3.0, "b": 3.0}, "y": {"a": 3.0, "b": 3.0}, "z": {"a": 1.0, "b": 1.0}})
    assert tied.acceptability["x"] == pytest.approx([0.5, 0.5, 0.0])
    assert tied.acceptability["z"] == pytest.approx([0.0, 0.0, 1.0])
    assert tied.pairwise["x"]["y"] == 0.5 and tied.pairwise["x"]["z"] == 1.0
    assert set(smaa.EXPLAIN) == {
        "rank acceptability",
        "central weight vector",
        "confidence factor",
        "pairwise winning index",
    }
