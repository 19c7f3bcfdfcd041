"""Scores, ranks, flips and Monte-Carlo P(first) on cases small enough to check by hand."""

from __future__ import annotations

import pytest
from mlops_compare import scoring

# x: a=5, b=1; y: a=1, b=4. With weights a=1, b=3: x = (5+3)/4 = 2.0, y = (1+12)/4 = 3.25.
RATINGS = {"x": {"a": 5.0, "b": 1.0}, "y": {"a": 1.0, "b": 4.0}}
WEIGHTS = {"a": 1.0, "b": 3.0}


def test_weighted_scores_by_hand():
    assert scoring.scores(WEIGHTS, RATINGS) == {"x": 2.0, "y": 3.25}
    assert scoring.scores({"a": 1.0, "b": 0.0}, RATINGS) == {"x": 5.0, "y": 1.0}


def test_zero_weights_are_refused():
    with pytest.raises(ValueError):
        scoring.scores({"a": 0.0, "b": 0.0}, RATINGS)


def test_ranks_share_ties():
    assert scoring.ranks({"a": 1.0, "b": 1.0, "c": 0.5}) == {"a": 1, "b": 1, "c": 3}
    assert scoring.ranks({"a": 0.2, "b": 0.7, "c": 0.5}) == {"a": 3, "b": 1, "c": 2}
    assert scoring.ranks({"a": 1.0, "b": 1.0 + 1e-12}) == {"a": 1, "b": 1}


def test_flip_thresholds_by_hand():
    flips = scoring.flips(WEIGHTS, RATINGS, weight_max=10)
    # a: S_y - S_x = 13 - 8 = 5 over slope 5 - 1 = 4 -> +1.25, weight 2.25: both score 2.714...
    assert flips["a"].delta == pytest.approx(1.25)
    assert flips["a"].new_weight == pytest.approx(2.25)
    assert flips["a"].challenger == "x"
    # b: 5 over slope 1 - 4 = -3 -> -1.667, weight 1.333
    assert flips["b"].delta == pytest.approx(-5 / 3)
    assert flips["b"].new_weight == pytest.approx(3 - 5 / 3)
    at_threshold = scoring.scores({"a": 2.25, "b": 3.0}, RATINGS)
    assert at_threshold["x"] == pytest.approx(at_threshold["y"])


def test_flip_outside_range_is_none():
    # a=1, b=30: a would need +21.5 (to 22.5 > 10): none; b needs -28.67 (to 1.33): found.
    flips = scoring.flips({"a": 1.0, "b": 30.0}, RATINGS, weight_max=10)
    assert flips["a"].delta is None and flips["a"].describe(10) == "none within 0..10"
    assert flips["b"].delta == pytest.approx(-86 / 3)


def test_flip_when_first_place_is_shared():
    ratings = {"x": {"a": 5.0, "b": 1.0}, "y": {"a": 1.0, "b": 5.0}}
    flips = scoring.flips({"a": 1.0, "b": 1.0}, ratings)
    assert flips["a"].delta == 0.0 and flips["b"].delta == 0.0


def test_p_first_dominant_tool_always_wins():
    ratings = {"x": {"a": 5.0, "b": 5.0}, "y": {"a": 1.0, "b": 1.0}}
    assert scoring.p_first(WEIGHTS, ratings) == {"x": 1.0, "y": 0.0}


def test_p_first_symmetric_case_is_even():
    ratings = {"x": {"a": 5.0, "b": 1.0}, "y": {"a": 1.0, "b": 5.0}}
    p = scoring.p_first({"a": 1.0, "b": 1.0}, ratings)
    assert p["x"] == pytest.approx(0.5, abs=0.02)
    assert p["x"] + p["y"] == pytest.approx(1.0)


def test_p_first_identical_tools_share_every_draw():
    ratings = {"x": {"a": 3.0, "b": 2.0}, "y": {"a": 3.0, "b": 2.0}}
    assert scoring.p_first(WEIGHTS, ratings) == {"x": 0.5, "y": 0.5}


def test_p_first_is_seeded_and_zero_weights_stay_zero():
    assert scoring.p_first(WEIGHTS, RATINGS) == scoring.p_first(WEIGHTS, RATINGS)
    # with b weighted 0 only a counts, where x (5) beats y (1) in every draw
    assert scoring.p_first({"a": 1.0, "b": 0.0}, RATINGS) == {"x": 1.0, "y": 0.0}


def test_p_first_near_a_tie_reflects_closeness():
    # y leads by a margin; draws around the weights make x win sometimes, not never or always
    p = scoring.p_first({"a": 1.0, "b": 1.4}, RATINGS, concentration=5)
    assert 0.05 < p["x"] < 0.5
