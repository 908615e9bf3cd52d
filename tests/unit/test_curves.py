"""Routing and cascade curves, APGR, CPT, AIQ and the random-mix test, against hand-worked
tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from delegate.compare.curves import (
    CURVE_COLUMNS,
    BeatsRandom,
    aiq,
    apgr,
    cascade_curve,
    cpt,
    cpt_cost,
    paired_bootstrap_beats_random,
    random_mix,
    routing_curve,
)
from delegate.errors import DelegateError

# Five problems; two share the score 0.4, so they move to the strong model together.
SCORES = [0.9, 0.4, 0.7, 0.4, 0.1]
STRONG = [1, 1, 0, 1, 1]
WEAK = [0, 1, 0, 0, 1]


def expect(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS), dtype=float)


def assert_curve(curve: pd.DataFrame, rows: list[tuple[float, float, float, float]]) -> None:
    assert list(curve.columns) == list(CURVE_COLUMNS)
    pd.testing.assert_frame_equal(curve, expect(rows), check_exact=False, atol=1e-12)


def test_routing_curve_scalar_costs_and_ties() -> None:
    # Descending scores: p0 (0.9), p2 (0.7), then p1 and p3 together (0.4), p4 (0.1).
    # All weak: 2 of 5 right = 0.4, cost 0.1. Each move to strong adds strong - weak:
    # p0 +1 -> 0.6; p2 0 -> 0.6; p1 0 and p3 +1 -> 0.8; p4 0 -> 0.8.
    # Cost: 0.1 + 0.4 * share. No row at share 0.6: the tie cannot be split.
    curve = routing_curve(SCORES, STRONG, WEAK, 0.5, 0.1)
    assert_curve(
        curve,
        [
            (math.inf, 0.0, 0.4, 0.10),
            (0.9, 0.2, 0.6, 0.18),
            (0.7, 0.4, 0.6, 0.26),
            (0.4, 0.8, 0.8, 0.42),
            (0.1, 1.0, 0.8, 0.50),
        ],
    )


def test_routing_curve_per_problem_costs() -> None:
    strong_cost = [0.5, 0.3, 0.2, 0.6, 0.4]
    weak_cost = [0.1, 0.05, 0.1, 0.05, 0.2]
    # Weak total 0.5. Extra cost when moved, in order p0, p2, p1, p3, p4:
    # 0.4, 0.1, 0.25, 0.55, 0.2 -> totals 0.5, 0.9, 1.0, 1.8 (tie moved), 2.0; over 5 problems.
    curve = routing_curve(SCORES, STRONG, WEAK, strong_cost, weak_cost)
    assert curve["cost_per_problem"].tolist() == pytest.approx([0.1, 0.18, 0.2, 0.36, 0.4])
    assert curve["accuracy"].tolist() == pytest.approx([0.4, 0.6, 0.6, 0.8, 0.8])


def test_routing_curve_scalar_cost_equals_constant_array() -> None:
    by_scalar = routing_curve(SCORES, STRONG, WEAK, 0.5, 0.1)
    by_array = routing_curve(SCORES, STRONG, WEAK, [0.5] * 5, np.full(5, 0.1))
    pd.testing.assert_frame_equal(by_scalar, by_array)


def test_routing_curve_does_not_depend_on_problem_order() -> None:
    order = [3, 0, 4, 2, 1]
    shuffled = routing_curve(
        np.take(SCORES, order), np.take(STRONG, order), np.take(WEAK, order), 0.5, 0.1
    )
    pd.testing.assert_frame_equal(shuffled, routing_curve(SCORES, STRONG, WEAK, 0.5, 0.1))


def test_routing_curve_with_one_score_is_the_two_pure_models() -> None:
    curve = routing_curve([0.3] * 4, [1, 1, 1, 0], [1, 0, 0, 0], 1.0, 0.0)
    assert_curve(curve, [(math.inf, 0.0, 0.25, 0.0), (0.3, 1.0, 0.75, 1.0)])


def test_routing_curve_accepts_bools_and_fractions() -> None:
    # Correctness averaged over two seeds: problem 0 is right once in two for the weak model.
    curve = routing_curve([2.0, 1.0], [True, True], [0.5, 0.0], 1.0, 0.0)
    assert curve["accuracy"].tolist() == pytest.approx([0.25, 0.5, 1.0])


def test_routing_curve_has_one_row_per_distinct_score() -> None:
    rng = np.random.default_rng(7)
    n = 10_000
    scores = rng.integers(0, 2_500, size=n)
    strong, weak = rng.random(n) < 0.8, rng.random(n) < 0.5
    curve = routing_curve(scores, strong, weak, 1.0, 0.1)
    assert len(curve) == len(np.unique(scores)) + 1
    assert curve["strong_share"].is_monotonic_increasing
    # The ends are the two pure models.
    assert curve["accuracy"].iloc[[0, -1]].tolist() == pytest.approx([weak.mean(), strong.mean()])
    assert curve["cost_per_problem"].iloc[[0, -1]].tolist() == pytest.approx([0.1, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": [0.1, 0.2]}, "strong_correct has 5 values for 2 problems"),
        ({"scores": [0.1, math.nan, 0.3, 0.4, 0.5]}, "scores holds NaN or infinite .* 1"),
        ({"scores": [0.1, 0.2, math.inf, 0.4, 0.5]}, "scores holds NaN or infinite .* 2"),
        ({"scores": []}, "scores is empty"),
        ({"scores": [[0.1, 0.2]]}, "scores must be one-dimensional"),
        ({"strong_correct": [1, 2, 0, 1, 1]}, r"strong_correct must lie in \[0, 1\]"),
        ({"weak_cost": -0.1}, "weak_cost must not be negative"),
        ({"strong_cost": [0.5, 0.5]}, "strong_cost has 2 values for 5 problems"),
        ({"weak_correct": ["a", "b", "c", "d", "e"]}, "weak_correct must hold numbers"),
    ],
)
def test_routing_curve_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "scores": SCORES,
        "strong_correct": STRONG,
        "weak_correct": WEAK,
        "strong_cost": 0.5,
        "weak_cost": 0.1,
    }
    with pytest.raises(DelegateError, match=message):
        routing_curve(**{**args, **kwargs})  # type: ignore[arg-type]


# A cascade: the weak model's confidence; problems 1 and 2 tie at 0.3.
CONFIDENCE = [0.9, 0.3, 0.3, 0.6]
CASCADE_WEAK = [1, 0, 1, 0]
CASCADE_STRONG = [1, 1, 0, 1]


def test_cascade_curve_hand_worked() -> None:
    # t = 0.3 escalates nothing below 0.3: weak alone, 2/4 right, cost 0.1.
    # t = 0.6 escalates p1 (0 -> 1) and p2 (1 -> 0): still 2/4; cost 0.1 + 2 * 1.0 / 4 = 0.6.
    # t = 0.9 also escalates p3 (0 -> 1): 3/4; cost 0.1 + 3 / 4 = 0.85.
    # t = inf escalates p0 too (1 -> 1): 3/4; every problem pays both models, 1.1.
    curve = cascade_curve(CONFIDENCE, CASCADE_WEAK, CASCADE_STRONG, 0.1, 1.0)
    assert_curve(
        curve,
        [
            (0.3, 0.0, 0.5, 0.1),
            (0.6, 0.5, 0.5, 0.6),
            (0.9, 0.75, 0.75, 0.85),
            (math.inf, 1.0, 0.75, 1.1),
        ],
    )


def test_cascade_curve_per_problem_costs() -> None:
    weak_cost = [0.1, 0.2, 0.1, 0.2]
    strong_cost = [1.0, 2.0, 3.0, 4.0]
    # Weak total 0.6; escalating adds the strong cost: p1 and p2 (+5), then p3 (+4), then p0.
    curve = cascade_curve(CONFIDENCE, CASCADE_WEAK, CASCADE_STRONG, weak_cost, strong_cost)
    assert curve["cost_per_problem"].tolist() == pytest.approx(
        [0.6 / 4, 5.6 / 4, 9.6 / 4, 10.6 / 4]
    )


def test_cascade_moves_the_same_groups_as_a_router_on_negated_confidence() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.integers(0, 50, size=300) / 50
    weak, strong = rng.random(300) < 0.4, rng.random(300) < 0.7
    cascade = cascade_curve(confidence, weak, strong, 0.1, 1.0)
    router = routing_curve(-confidence, strong, weak, 1.1, 0.1)
    assert cascade["accuracy"].tolist() == pytest.approx(router["accuracy"].tolist())
    assert cascade["cost_per_problem"].tolist() == pytest.approx(
        router["cost_per_problem"].tolist()
    )
    # The router's threshold -c sends confidence <= c; the cascade's next threshold sends < it.
    assert cascade["threshold"].tolist()[:-1] == sorted(set(confidence.tolist()))


# A perfect router: the two problems only the strong model gets right score highest.
PERFECT = routing_curve([0.1, 0.9, 0.8, 0.2], [1, 1, 1, 0], [1, 0, 0, 0], 1.0, 0.1)
# Shares 0, .25, .5, .75, 1; accuracies .25, .5, .75, .75, .75; costs 0.1 + 0.9 * share.


def test_apgr_perfect_router() -> None:
    # Area: 0.25 * ((.25 + .5) / 2 + (.5 + .75) / 2 + .75 + .75) = 0.25 * 2.5 = 0.625.
    # APGR = (0.625 - 0.25) / (0.75 - 0.25) = 0.75 = 1 - g / 2 with g = 0.5.
    assert apgr(PERFECT, 0.75, 0.25) == pytest.approx(0.75)


def test_apgr_of_a_router_that_cannot_tell_problems_apart_is_one_half() -> None:
    curve = routing_curve([1.0] * 4, [1, 1, 1, 1], [1, 1, 0, 0], 1.0, 0.1)
    assert apgr(curve, 1.0, 0.5) == pytest.approx(0.5)
    assert apgr(random_mix(np.linspace(0, 1, 11), 0.9, 0.3, 1.0, 0.1), 0.9, 0.3) == (
        pytest.approx(0.5)
    )


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # Gain, none, gain, none: accuracies .5, .75, .75, 1, 1;
        # area .25 * (.625 + .75 + .875 + 1) = .8125; APGR (.8125 - .5) / .5 = .625.
        ([4, 3, 2, 1], 0.625),
        # None, gain, none, gain: .5, .5, .75, .75, 1; area .25 * (.5 + .625 + .75 + .875)
        # = .6875; APGR .375. The two interleavings average to the random mix's 0.5.
        ([3, 4, 1, 2], 0.375),
    ],
)
def test_apgr_interleaved_routers(scores: list[int], expected: float) -> None:
    curve = routing_curve(scores, [1, 1, 1, 1], [0, 1, 0, 1], 1.0, 0.1)
    assert apgr(curve, 1.0, 0.5) == pytest.approx(expected)


def test_apgr_sorts_rows_and_is_nan_without_a_gap() -> None:
    shuffled = PERFECT.sample(frac=1.0, random_state=1)
    assert apgr(shuffled, 0.75, 0.25) == pytest.approx(0.75)
    assert math.isnan(apgr(PERFECT, 0.5, 0.5))


def test_apgr_refuses_a_curve_that_does_not_span_zero_to_one() -> None:
    with pytest.raises(DelegateError, match=r"runs from 0\.25 to 1"):
        apgr(PERFECT.iloc[1:], 0.75, 0.25)
    with pytest.raises(DelegateError, match=r"runs from 0 to 0\.75$"):
        apgr(PERFECT.iloc[:-1], 0.75, 0.25)
    with pytest.raises(DelegateError, match="lacks column"):
        apgr(PERFECT.drop(columns="accuracy"), 0.75, 0.25)
    with pytest.raises(DelegateError, match="curve is empty"):
        apgr(PERFECT.iloc[:0], 0.75, 0.25)


def test_cpt_on_the_perfect_router() -> None:
    # PGR at shares 0, .25, .5, ...: 0, .5, 1, 1, 1.
    assert cpt(PERFECT, 0.75, 0.25, 0.5) == pytest.approx(0.25)  # reached exactly at a point
    # 0.8 lies 0.3 / 0.5 of the way from (.25, PGR .5) to (.5, PGR 1): 0.25 + 0.6 * 0.25.
    assert cpt(PERFECT, 0.75, 0.25, 0.8) == pytest.approx(0.4)
    # Same crossing in USD: 0.325 + 0.6 * (0.55 - 0.325).
    assert cpt(PERFECT, 0.75, 0.25, 0.8, x="cost_per_problem") == pytest.approx(0.46)
    assert cpt_cost(PERFECT, 0.75, 0.25, 0.8) == pytest.approx(0.46)
    assert cpt(PERFECT, 0.75, 0.25, 0.0) == 0.0  # the first point already reaches it
    assert cpt_cost(PERFECT, 0.75, 0.25, 0.0) == pytest.approx(0.1)


def test_cpt_takes_the_first_crossing() -> None:
    # PGR 0, .8, .2, .9, 1 (weak 0, strong 1): 0.6 is first crossed between shares 0 and .25,
    # at 0.25 * 0.6 / 0.8 = 0.1875, though the curve falls below it again afterwards.
    curve = pd.DataFrame(
        {
            "strong_share": [0.0, 0.25, 0.5, 0.75, 1.0],
            "accuracy": [0.0, 0.8, 0.2, 0.9, 1.0],
            "cost_per_problem": [0.0, 1.0, 2.0, 3.0, 4.0],
        }
    )
    assert cpt(curve, 1.0, 0.0, 0.6) == pytest.approx(0.1875)
    # 0.85 is above .8, so first crossed from (cost 2, PGR .2) to (cost 3, PGR .9):
    # 2 + (0.85 - 0.2) / 0.7 = 2 + 13 / 14.
    assert cpt_cost(curve, 1.0, 0.0, 0.85) == pytest.approx(2 + 13 / 14)


def test_cpt_nan_cases_and_bad_axis() -> None:
    assert math.isnan(cpt(PERFECT, 0.75, 0.25, 1.01))  # never reached
    assert math.isnan(cpt(PERFECT, 0.5, 0.5, 0.5))  # no gap
    with pytest.raises(DelegateError, match="cpt's x must be one of"):
        cpt(PERFECT, 0.75, 0.25, 0.5, x="threshold")
    with pytest.raises(DelegateError, match="level must be a finite number"):
        cpt(PERFECT, 0.75, 0.25, math.nan)


def points(pairs: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["cost_per_problem", "accuracy"])


def test_aiq_of_a_known_hull() -> None:
    # Upper hull from the cheapest point (1, .5) (the better of the two at cost 1) to the most
    # accurate (4, .9): (1.5, .55) lies under the chord (1, .5)-(2, .8) (0.65 there) and
    # (3, .82) under (2, .8)-(4, .9) (0.85 there), so the hull is (1, .5), (2, .8), (4, .9),
    # then flat at .9 to the largest cost 5 ((5, .88) is below it).
    # Area: (.5 + .8) / 2 * 1 + (.8 + .9) / 2 * 2 + .9 * 1 = .65 + 1.7 + .9 = 3.25; / 5 = 0.65.
    curve = points([(3, 0.82), (1, 0.4), (5, 0.88), (1.5, 0.55), (4, 0.9), (2, 0.8), (1, 0.5)])
    assert aiq(curve) == pytest.approx(0.65)


def test_aiq_counts_nothing_below_the_cheapest_point() -> None:
    # Flat at .5 from cost 1 to 2: the area over [1, 2] is .5, divided by the largest cost 2.
    assert aiq(points([(1, 0.5), (2, 0.5)])) == pytest.approx(0.25)
    assert aiq(points([(1, 0.5)])) == 0.0  # one point: no range of costs


def test_aiq_of_the_perfect_router() -> None:
    # Costs .1, .325, .55, .775, 1; the first three are collinear up to the top (.55, .75):
    # (.25 + .75) / 2 * .45 + .75 * .45 = .225 + .3375 = .5625, over the largest cost 1.
    assert aiq(PERFECT) == pytest.approx(0.5625)


def test_aiq_nan_and_errors() -> None:
    assert math.isnan(aiq(points([(0.0, 0.5), (0.0, 0.7)])))
    with pytest.raises(DelegateError, match="curve is empty"):
        aiq(points([]))
    with pytest.raises(DelegateError, match="non-negative"):
        aiq(points([(-1.0, 0.5), (1.0, 0.6)]))
    with pytest.raises(DelegateError, match="NaN or infinite"):
        aiq(points([(1.0, math.nan)]))


def test_random_mix_is_the_line_between_the_pure_models() -> None:
    mix = random_mix([0.0, 0.25, 1.0], 0.9, 0.5, 1.0, 0.2)
    assert mix["accuracy"].tolist() == pytest.approx([0.5, 0.6, 0.9])
    assert mix["cost_per_problem"].tolist() == pytest.approx([0.2, 0.4, 1.0])
    assert random_mix(0.5, 0.9, 0.5, 1.0, 0.2)["accuracy"].tolist() == pytest.approx([0.7])
    with pytest.raises(DelegateError, match=r"strong_share must lie in \[0, 1\]"):
        random_mix([0.5, 1.5], 0.9, 0.5, 1.0, 0.2)


def test_beats_random_hand_worked() -> None:
    # Mean costs: run 0.55, strong 1.0, weak 0.1 -> share (0.55 - 0.1) / 0.9 = 0.5.
    # Mix accuracy 0.5 * 0.75 + 0.5 * 0.25 = 0.5; the run's is 0.75: difference 0.25.
    result = paired_bootstrap_beats_random([1, 1, 1, 0], 0.55, [1, 1, 1, 0], [1, 0, 0, 0], 1.0, 0.1)
    assert result.share == pytest.approx(0.5)
    assert result.difference == pytest.approx(0.25)
    assert result.low <= result.difference <= result.high
    assert result.applies
    again = paired_bootstrap_beats_random([1, 1, 1, 0], 0.55, [1, 1, 1, 0], [1, 0, 0, 0], 1.0, 0.1)
    assert again == result  # seeded


def test_beats_random_identical_problems_have_no_spread() -> None:
    # Every resample equals the sample: share (0.3 - 0.1) / 0.4 = 0.5, mix 0.5, run 1.
    result = paired_bootstrap_beats_random([1] * 3, [0.3] * 3, [1] * 3, [0] * 3, 0.5, 0.1)
    assert isinstance(result, BeatsRandom)
    assert (result.difference, result.low, result.high, result.share) == pytest.approx(
        (0.5, 0.5, 0.5, 0.5), abs=1e-12
    )


def test_beats_random_interval_matches_the_normal_width() -> None:
    # A run that sends a random half to the strong model. Costs are scalars, so every resample
    # keeps share 0.5 (to rounding) and the difference is a mean of per-problem
    # d = run - (s + w) / 2: its 95% interval should be close to 1.96 * sd(d) / sqrt(n) each side.
    rng = np.random.default_rng(11)
    n = 2000
    strong, weak = rng.random(n) < 0.8, rng.random(n) < 0.5
    run = np.where(np.arange(n) % 2 == 0, strong, weak)
    result = paired_bootstrap_beats_random(run, 0.55, strong, weak, 1.0, 0.1)
    d = run - (strong.astype(float) + weak) / 2
    assert result.share == pytest.approx(0.5, abs=1e-12)
    assert result.difference == pytest.approx(d.mean())
    half_width = 1.959964 * d.std() / math.sqrt(n)
    assert (result.high - result.low) / 2 == pytest.approx(half_width, rel=0.1)


@pytest.mark.parametrize(
    ("run_cost", "strong_cost", "weak_cost"),
    [(1.2, 1.0, 0.1), (0.05, 1.0, 0.1), (0.5, 0.1, 0.1), (0.5, 0.1, 1.0)],
)
def test_beats_random_does_not_apply_outside_the_two_models_costs(
    run_cost: float, strong_cost: float, weak_cost: float
) -> None:
    result = paired_bootstrap_beats_random(
        [1, 0, 1], run_cost, [1, 1, 1], [0, 0, 1], strong_cost, weak_cost
    )
    assert not result.applies
    assert all(math.isnan(v) for v in (result.difference, result.low, result.high, result.share))


def test_beats_random_at_the_strong_models_cost_compares_with_it() -> None:
    result = paired_bootstrap_beats_random([1, 1, 0, 0], 1.0, [1, 0, 1, 1], [0, 0, 0, 0], 1.0, 0.1)
    assert result.share == 1.0
    assert result.difference == pytest.approx(0.5 - 0.75)


def test_beats_random_refuses_bad_settings() -> None:
    args = ([1, 0], 0.5, [1, 1], [0, 0], 1.0, 0.1)
    with pytest.raises(DelegateError, match="confidence must be in"):
        paired_bootstrap_beats_random(*args, confidence=1.0)
    with pytest.raises(DelegateError, match="resamples must be at least 1"):
        paired_bootstrap_beats_random(*args, resamples=0)
    with pytest.raises(DelegateError, match="run_cost has 3 values for 2 problems"):
        paired_bootstrap_beats_random([1, 0], [0.5] * 3, [1, 1], [0, 0], 1.0, 0.1)
