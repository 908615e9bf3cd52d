"""One-number summaries of a cost-accuracy curve (a table like ``curves.routing_curve``'s), and
the frontier of a set of operating points.

- APGR (RouteLLM): how much of the accuracy gap between the weak and the strong model a router
  recovers, averaged over every share of problems it could send to the strong model.
- CPT (RouteLLM): the smallest share of strong-model calls (or cost) that recovers a given part
  of that gap.
- AIQ (RouterBench): the average accuracy over the range of costs, on the best frontier that
  mixing the curve's operating points can reach.

Each works on every point of the curve it is given; none bins the shares. ``frontier`` keeps the
(cost, accuracy) points that no other point beats (the report's picture draws it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from delegate.compare.analysis.arrays import columns, number
from delegate.errors import DelegateError

_CPT_AXES = ("strong_share", "cost_per_problem")
_SPAN_TOLERANCE = 1e-9


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Area under the piecewise-linear curve through (x, y), x sorted ascending."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def apgr(curve: pd.DataFrame, strong_accuracy: float, weak_accuracy: float) -> float:
    """Average performance gap recovered (RouteLLM's APGR).

    The performance gap recovered at a point is PGR = (accuracy - weak) / (strong - weak): 0 at
    the weak model's accuracy, 1 at the strong model's. APGR is its average over the share of
    problems sent to the strong model, from 0 to 1: the trapezoid area under accuracy against
    ``strong_share``, through every point of the curve, less ``weak_accuracy``, over the gap.
    The random mix scores 0.5. Where the weak model is never right when the strong one is
    wrong, a router that sends first exactly the problems only the strong model gets right
    scores 1 - g / 2, g their share: its curve climbs straight to the strong model's accuracy
    at g, then stays flat. APGR exceeds 1 when some mix beats the strong model alone.

    Args:
        curve: Columns ``strong_share`` and ``accuracy``; rows in any order (sorted here).
        strong_accuracy: The strong model's accuracy alone.
        weak_accuracy: The weak model's accuracy alone.

    Returns:
        APGR, or NaN when the two accuracies are equal (there is no gap to recover).

    Raises:
        DelegateError: The curve's shares do not run from exactly 0 to 1 (within 1e-9). A
            partial curve has no defined average over [0, 1], so it is refused rather than
            extended by a guess.
    """
    share, accuracy = columns(curve, ["strong_share", "accuracy"])
    strong = number("strong_accuracy", strong_accuracy)
    weak = number("weak_accuracy", weak_accuracy)
    if abs(share[0]) > _SPAN_TOLERANCE or abs(share[-1] - 1.0) > _SPAN_TOLERANCE:
        raise DelegateError(
            f"APGR needs a curve whose strong_share runs from 0 to 1; "
            f"this one runs from {share[0]:g} to {share[-1]:g}"
        )
    if strong == weak:
        return math.nan
    return (_trapezoid(accuracy, share) - weak) / (strong - weak)


def cpt(
    curve: pd.DataFrame,
    strong_accuracy: float,
    weak_accuracy: float,
    level: float,
    x: str = "strong_share",
) -> float:
    """Call-performance threshold (RouteLLM's CPT): where the curve first recovers ``level`` of
    the gap.

    Walking the curve by ``strong_share`` ascending, finds the first point whose PGR =
    (accuracy - weak) / (strong - weak) reaches ``level`` (0.5 for RouteLLM's CPT(50%)) and
    interpolates linearly between it and the point before. With ``x="strong_share"`` the answer
    is the share of problems sent to the strong model; with ``x="cost_per_problem"`` it is the
    cost per problem (USD) at that same crossing (also ``cpt_cost``).

    Args:
        curve: Columns ``strong_share``, ``accuracy`` and the ``x`` column; any row order.
        strong_accuracy: The strong model's accuracy alone.
        weak_accuracy: The weak model's accuracy alone.
        level: The part of the gap to recover, e.g. 0.5 or 0.8.
        x: ``"strong_share"`` or ``"cost_per_problem"``: what to report at the crossing.

    Returns:
        The ``x`` value at the crossing; the first point's if it already reaches ``level``; NaN
        if no point reaches it, or when the two accuracies are equal.
    """
    if x not in _CPT_AXES:
        raise DelegateError(f"cpt's x must be one of {list(_CPT_AXES)}, got {x!r}")
    _, accuracy, axis = columns(curve, ["strong_share", "accuracy", x])
    strong = number("strong_accuracy", strong_accuracy)
    weak = number("weak_accuracy", weak_accuracy)
    target = number("level", level)
    if strong == weak:
        return math.nan
    pgr = (accuracy - weak) / (strong - weak)
    reached = np.flatnonzero(pgr >= target)
    if reached.size == 0:
        return math.nan
    j = int(reached[0])
    if j == 0:
        return float(axis[0])
    fraction = (target - pgr[j - 1]) / (pgr[j] - pgr[j - 1])
    return float(axis[j - 1] + fraction * (axis[j] - axis[j - 1]))


def cpt_cost(
    curve: pd.DataFrame, strong_accuracy: float, weak_accuracy: float, level: float
) -> float:
    """``cpt`` in USD per problem: the cost per problem where the curve first recovers
    ``level`` of the gap (the same crossing as ``cpt``'s share)."""
    return cpt(curve, strong_accuracy, weak_accuracy, level, x="cost_per_problem")


def _upper_hull(cost: np.ndarray, accuracy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper convex hull of points sorted by cost (distinct costs), left to right."""
    hull: list[int] = []
    for i in range(len(cost)):
        # Drop the last hull point while it lies on or below the chord to the new point.
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            turn = (cost[b] - cost[a]) * (accuracy[i] - accuracy[a]) - (
                accuracy[b] - accuracy[a]
            ) * (cost[i] - cost[a])
            if turn < 0:
                break
            hull.pop()
        hull.append(i)
    return cost[hull], accuracy[hull]


def aiq(curve: pd.DataFrame) -> float:
    """Average improvement in quality (RouterBench's AIQ) of a curve's operating points.

    Any two operating points can be mixed at random, so every point under the upper convex hull
    of the (``cost_per_problem``, ``accuracy``) points is reachable. AIQ takes that hull from the
    cheapest point (the most accurate one if several cost the same) up to the most accurate
    point (the cheapest of those), holds it flat at that accuracy from there to the largest
    cost, integrates it, and divides by the largest cost.

    Below the cheapest point, from cost 0 to the cheapest cost, the curve adds nothing: no
    operating point spends less, so the integral runs over [cheapest cost, largest cost] and
    only the divisor covers [0, largest cost]. A curve of one point, or whose points all cost
    the same, therefore scores 0.

    Args:
        curve: Columns ``cost_per_problem`` (USD, non-negative) and ``accuracy``.

    Returns:
        AIQ in accuracy units, or NaN when the largest cost is 0 (nothing to divide by).

    Raises:
        DelegateError: The curve is empty, lacks a column, or holds a negative or non-finite
            value.
    """
    cost, accuracy = columns(curve, ["cost_per_problem", "accuracy"])
    if (cost < 0.0).any():
        raise DelegateError("AIQ needs non-negative cost_per_problem values")
    largest = float(cost.max())
    if largest == 0.0:
        return math.nan
    hull_cost, hull_accuracy = _frontier(cost, accuracy)
    area = _trapezoid(hull_accuracy, hull_cost) + (largest - hull_cost[-1]) * hull_accuracy[-1]
    return area / largest


def _frontier(cost: np.ndarray, accuracy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper convex hull from the cheapest point (the most accurate at that cost) to the
    most accurate point (the cheapest of those)."""
    order = np.lexsort((-accuracy, cost))  # by cost, the most accurate first at equal cost
    cost, accuracy = cost[order], accuracy[order]
    first_at_cost = np.concatenate(([True], cost[1:] != cost[:-1]))
    cost, accuracy = cost[first_at_cost], accuracy[first_at_cost]
    top = int(np.argmax(accuracy))  # the cheapest of the most accurate points
    return _upper_hull(cost[: top + 1], accuracy[: top + 1])


def reachable_frontier(curve: pd.DataFrame) -> pd.DataFrame:
    """The operating points AIQ integrates: the upper convex hull of the (``cost_per_problem``,
    ``accuracy``) points from the cheapest to the most accurate, every point under it being
    reachable by mixing two operating points at random.

    Args:
        curve: Columns ``cost_per_problem`` and ``accuracy``; rows in any order.

    Returns:
        Columns ``cost_per_problem`` and ``accuracy``, the hull's corners by cost ascending
        (accuracy rises along them).
    """
    cost, accuracy = columns(curve, ["cost_per_problem", "accuracy"])
    hull_cost, hull_accuracy = _frontier(cost, accuracy)
    return pd.DataFrame({"cost_per_problem": hull_cost, "accuracy": hull_accuracy})


def frontier(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, accuracy) points no other point beats: none cheaper-or-equal and at least as
    accurate, with one of the two strictly better. Sorted by cost."""
    best: list[tuple[float, float]] = []
    for cost, accuracy in sorted(points, key=lambda p: (p[0], -p[1])):
        if not best or accuracy > best[-1][1]:
            best.append((cost, accuracy))
    return best
