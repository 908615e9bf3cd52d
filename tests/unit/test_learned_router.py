"""Learned pre-generation routers (``compare.analysis.learned``): cross-fitting never uses a
problem's own label, a router finds hard problems marked in their text, and the numpy APGR the
bootstrap uses is the report's APGR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from delegate.compare import learned_router_scores
from delegate.compare.analysis.learned import (
    apgr_against_random,
    apgr_of,
    cheap_features,
    fit_router,
    fold_of,
    threshold_for_share,
)
from delegate.compare.curves import apgr, routing_curve
from delegate.errors import DelegateError


def marked(n: int, hard_share: float, seed: int = 1) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Problems whose hard ones say so in their text: the strong model is always right, the
    weak one wrong exactly on the hard ones."""
    rng = np.random.default_rng(seed)
    hard = rng.random(n) < hard_share
    questions = [
        f"{'A tricky multi-step' if h else 'A simple'} question {i}: what is "
        f"{rng.integers(1, 99)} plus {rng.integers(1, 99)}?"
        for i, h in enumerate(hard)
    ]
    return questions, np.ones(n), (~hard).astype(float)


def test_flipping_one_label_leaves_that_problems_score_unchanged() -> None:
    questions, strong, weak = marked(60, 0.3)
    before = learned_router_scores(questions, strong, weak, folds=5, seed=3)
    for i in (0, 17, 42):
        flipped = weak.copy()
        flipped[i] = 1.0 - flipped[i]
        after = learned_router_scores(questions, strong, flipped, folds=5, seed=3)
        assert after[i] == before[i]  # its own fold's router never saw its label
        assert not np.array_equal(after, before)  # the other folds' routers did


def test_copies_of_a_question_share_a_fold() -> None:
    questions = ["a", "b", "c", "a", "d", "b", "e", "f"]
    fold = fold_of(questions, 3, seed=0)
    assert fold[0] == fold[3] and fold[1] == fold[5]
    assert set(fold.tolist()) == {0, 1, 2}


def test_a_router_finds_hard_problems_marked_in_their_text() -> None:
    questions, strong, weak = marked(200, 0.1)
    scores = learned_router_scores(questions, strong, weak)
    curve = routing_curve(scores, strong, weak, 1.0, 0.1)
    # The best any router can do here is 1 - g / 2 with g the hard share (about 0.1).
    assert apgr(curve, strong.mean(), weak.mean()) > 0.9
    diff, low, high = apgr_against_random(scores, strong, weak, resamples=300)
    assert low > 0 and low <= diff <= high


def test_one_class_of_labels_gives_a_constant_score() -> None:
    router = fit_router(["x", "y", "z"], [1, 1, 1], [1, 1, 1])
    assert router.scores(["new", "ones"]).tolist() == [0.0, 0.0]


def test_embeddings_plug_in_beside_the_text() -> None:
    questions, strong, weak = marked(40, 0.3)

    def embed(texts: list[str]) -> np.ndarray:  # a stand-in for a local model's encoder
        return np.array([[float("tricky" in t), len(t) / 100] for t in texts])

    scores = learned_router_scores(questions, strong, weak, embed=embed)
    hard = weak == 0
    assert scores[hard].min() > scores[~hard].max()
    with pytest.raises(DelegateError, match="one row per question"):
        fit_router(questions, strong, weak, embed=lambda t: np.zeros((1, 2)))


def test_cheap_features_count_numbers_and_digits() -> None:
    [row] = cheap_features(["Tom has 12 apples and 3,450 pears."])
    assert row[2] == 2 and row[3] == 4  # two numbers, the longest with four digits


@pytest.mark.parametrize("seed", range(5))
def test_numpy_apgr_is_the_reports_apgr(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, 30).astype(float)  # many ties
    strong = (rng.random(30) < 0.7).astype(float)
    weak = (rng.random(30) < 0.4).astype(float)
    curve = routing_curve(scores, strong, weak, 1.0, 0.1)
    assert apgr_of(scores, strong, weak) == pytest.approx(apgr(curve, strong.mean(), weak.mean()))


def test_no_gap_has_no_apgr() -> None:
    assert math.isnan(apgr_of(np.array([0.1, 0.2]), np.ones(2), np.ones(2)))


@pytest.mark.parametrize(
    ("scores", "share", "expected"),
    [
        ([0.9, 0.1, 0.7, 0.5], 0.0, math.inf),
        ([0.9, 0.1, 0.7, 0.5], 0.25, 0.9),
        ([0.9, 0.1, 0.7, 0.5], 0.5, 0.7),
        ([0.9, 0.1, 0.7, 0.5], 1.0, 0.1),
        ([0.9, 0.5, 0.5, 0.1], 0.75, 0.5),
        ([0.9, 0.5, 0.5, 0.1], 0.5, 0.9),  # a tie straddles the cut: send fewer
    ],
)
def test_threshold_for_share_never_sends_more_than_the_share(
    scores: list[float], share: float, expected: float
) -> None:
    threshold = threshold_for_share(scores, share)
    assert threshold == expected
    assert sum(s >= threshold for s in scores) <= share * len(scores)


def test_cross_fitting_refuses_too_few_problems() -> None:
    with pytest.raises(DelegateError, match="at least 2 distinct"):
        learned_router_scores(["same", "same"], [1, 1], [0, 0])


def test_the_apgr_bootstrap_refuses_bad_settings_and_has_no_interval_without_a_gap() -> None:
    scores, strong, weak = [0.9, 0.2, 0.4], [1, 1, 0], [0, 1, 0]
    with pytest.raises(DelegateError, match="confidence must be in"):
        apgr_against_random(scores, strong, weak, confidence=0.0)
    with pytest.raises(DelegateError, match="resamples must be at least 1"):
        apgr_against_random(scores, strong, weak, resamples=0)
    with pytest.raises(DelegateError, match=r"unknown bootstrap setting\(s\) \['confidnce'\]"):
        apgr_against_random(scores, strong, weak, confidnce=0.9)  # type: ignore[call-arg]
    with pytest.raises(DelegateError, match="scores holds NaN"):
        apgr_against_random([0.9, math.nan, 0.4], strong, weak)
    diff, low, high = apgr_against_random(scores, [1, 1, 0], [1, 1, 0], resamples=50)
    assert all(math.isnan(v) for v in (diff, low, high))  # the models never differ
