"""Cost-accuracy curves of a router or cascade, from per-problem results on any table.

A router that scores each problem can send to the strong (dear) model every problem whose score
reaches a threshold; sweeping the threshold traces a curve from "all weak" to "all strong". This
module builds that curve (``routing_curve``) and the one for a confidence-gated cascade
(``cascade_curve``). The random-mix line between the two pure models is in ``baselines``, the
summaries of a curve (APGR, CPT, AIQ) in ``summaries``; ``delegate.compare.curves`` re-exports
them all, so one import serves. Pure numpy and pandas: nothing here reads a store or calls a
model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from delegate.compare.analysis.arrays import costs, outcomes, values

CURVE_COLUMNS = ("threshold", "strong_share", "accuracy", "cost_per_problem")


def _curve(
    thresholds: np.ndarray,
    moved: np.ndarray,
    n: int,
    stay_correct: float,
    stay_cost: float,
    gain_correct: np.ndarray,
    gain_cost: np.ndarray,
) -> pd.DataFrame:
    """Rows for operating points that move the first ``moved[j]`` problems (in the order of the
    ``gain_*`` arrays) to the strong model; the others keep their ``stay_*`` outcome."""
    # Prefix sums with a leading 0, so moving k problems adds prefix[k]: O(n) after the sort.
    correct = np.concatenate(([0.0], np.cumsum(gain_correct)))
    cost = np.concatenate(([0.0], np.cumsum(gain_cost)))
    return pd.DataFrame(
        {
            "threshold": thresholds.astype(float),
            "strong_share": moved / n,
            "accuracy": (stay_correct + correct[moved]) / n,
            "cost_per_problem": (stay_cost + cost[moved]) / n,
        }
    )


def _inputs(
    name: str,
    scores: ArrayLike,
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    strong_cost: ArrayLike,
    weak_cost: ArrayLike,
) -> tuple[np.ndarray, ...]:
    """The checked arrays of a curve: scores (named ``name``), then strong and weak
    correctness, then strong and weak cost, all of the scores' length."""
    score = values(name, scores)
    n = len(score)
    return (
        score,
        outcomes("strong_correct", strong_correct, n),
        outcomes("weak_correct", weak_correct, n),
        costs("strong_cost", strong_cost, n),
        costs("weak_cost", weak_cost, n),
    )


def routing_curve(
    scores: ArrayLike,
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    strong_cost: ArrayLike,
    weak_cost: ArrayLike,
) -> pd.DataFrame:
    """Accuracy and cost per problem of a score-threshold router at every threshold it can use.

    Problem ``i`` goes to the strong model when ``scores[i] >= threshold``. Each distinct score is
    a threshold (problems with equal scores move together), plus ``threshold = +inf``, where
    nothing goes to the strong model. A problem's outcome is its ``strong_correct`` if sent to
    the strong model, else its ``weak_correct``; the same for its cost.

    Args:
        scores: One finite score per problem; higher means "send to the strong model".
        strong_correct: Per-problem correctness of the strong model (bool or a value in [0, 1]).
        weak_correct: Per-problem correctness of the weak model, aligned with ``scores``.
        strong_cost: The strong model's cost per problem (USD): one number or one per problem.
        weak_cost: The weak model's cost per problem, likewise.

    Returns:
        Columns ``threshold``, ``strong_share``, ``accuracy``, ``cost_per_problem``; one row per
        threshold, sorted by ``strong_share`` ascending (from 0 at +inf to 1 at the lowest
        score). O(n log n): one sort and prefix sums.
    """
    score, strong, weak, strong_usd, weak_usd = _inputs(
        "scores", scores, strong_correct, weak_correct, strong_cost, weak_cost
    )
    n = len(score)
    order = np.argsort(-score, kind="stable")
    distinct, counts = np.unique(score, return_counts=True)  # ascending
    # Threshold distinct[j] sends every problem scoring at least distinct[j]: in the descending
    # order, the count up to the end of its tie group.
    moved = np.concatenate(([0], np.cumsum(counts[::-1])))
    thresholds = np.concatenate(([np.inf], distinct[::-1]))
    return _curve(
        thresholds,
        moved,
        n,
        float(weak.sum()),
        float(weak_usd.sum()),
        (strong - weak)[order],
        (strong_usd - weak_usd)[order],
    )


def cascade_curve(
    confidence: ArrayLike,
    weak_correct: ArrayLike,
    strong_correct: ArrayLike,
    weak_cost: ArrayLike,
    strong_cost: ArrayLike,
) -> pd.DataFrame:
    """Accuracy and cost per problem of a simulated cascade at every threshold it can use.

    The cascade asks the weak model first and escalates problem ``i`` to the strong model when
    ``confidence[i] < threshold``. An escalated problem takes the strong model's answer and
    pays both models (``weak_cost + strong_cost``); the others keep the weak answer and pay only
    ``weak_cost``. Thresholds: each distinct confidence ``c`` (which escalates the problems below
    ``c``, so the lowest escalates none) and ``+inf``, which escalates all.

    Args:
        confidence: The weak model's finite confidence in its answer, one per problem.
        weak_correct: Per-problem correctness of the weak model (bool or a value in [0, 1]).
        strong_correct: Per-problem correctness of the strong model.
        weak_cost: The weak model's cost per problem (USD): one number or one per problem.
        strong_cost: The strong model's cost per problem, likewise.

    Returns:
        The columns of ``routing_curve``, ``strong_share`` being the escalated share: one row per
        threshold, sorted by it ascending (from the lowest confidence to +inf).
    """
    conf, strong, weak, strong_usd, weak_usd = _inputs(
        "confidence", confidence, strong_correct, weak_correct, strong_cost, weak_cost
    )
    n = len(conf)
    order = np.argsort(conf, kind="stable")
    distinct, counts = np.unique(conf, return_counts=True)  # ascending
    # Threshold distinct[j] escalates the problems strictly below it: those of lower groups.
    moved = np.concatenate(([0], np.cumsum(counts)))
    thresholds = np.concatenate((distinct, [np.inf]))
    return _curve(
        thresholds,
        moved,
        n,
        float(weak.sum()),
        float(weak_usd.sum()),
        (strong - weak)[order],
        strong_usd[order],
    )
