"""The baselines a router or cascade must beat, from per-problem results already recorded: the
random mix of the two models and the oracle, and whether one run beats the random mix at its own
cost.

The random mix sends each problem to the strong model with probability p, so it lands anywhere on
the line between the two pure models (``random_mix``); at a run's own cost per problem that fixes
p (``cost_matched_mix``). The oracle sends each problem to the strong model exactly when only the
strong model gets it right (``oracle_point``): an upper bound for any router choosing between the
two. ``paired_bootstrap_beats_random`` asks whether a run is more accurate than the cost-matched
mix, with a paired bootstrap over problems (the run and both models answered the same problems)
for the uncertainty: ``paired_percentile_bootstrap``, scipy's ``stats.bootstrap`` with
``paired=True`` and ``method="percentile"``, which the learned router's APGR interval uses too.
Numpy, pandas and scipy: nothing here reads a store or calls a model.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from delegate.compare.analysis.arrays import costs, number, outcomes, unit_values, values
from delegate.errors import DelegateError

K = TypeVar("K", bound=Hashable)
Number = TypeVar("Number", float, np.ndarray)

# (resample, problem) pairs scipy draws per batch: 2 MB of indices and 2 MB per gathered column.
_BATCH_VALUES = 250_000
# The bootstrap's per-problem columns, in the order ``paired_bootstrap_beats_random`` takes them.
_COLUMNS = ("run_correct", "run_cost", "strong_correct", "weak_correct", "strong_cost", "weak_cost")


def mix(share: Number, strong: Number | float, weak: Number | float) -> Number:
    """The random mix's expected value of a per-problem quantity (accuracy, cost) when a share
    ``share`` of the problems goes to the strong model: the one formula every mix uses."""
    return share * strong + (1.0 - share) * weak


def share_at_cost(cost: ArrayLike, strong_cost: ArrayLike, weak_cost: ArrayLike) -> np.ndarray:
    """The strong-model share at which the mix costs ``cost`` (not clipped to [0, 1]); NaN where
    the strong model is not dearer than the weak one, since cost then fixes no share."""
    target, strong, weak = (np.asarray(a, dtype=float) for a in (cost, strong_cost, weak_cost))
    gap = strong - weak
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gap > 0.0, (target - weak) / gap, np.nan)


def random_mix(
    strong_share: ArrayLike,
    strong_accuracy: float,
    weak_accuracy: float,
    strong_cost: float,
    weak_cost: float,
) -> pd.DataFrame:
    """The line between the two pure models: each problem goes to the strong one at random.

    At share ``p``, expected accuracy is ``p * strong_accuracy + (1 - p) * weak_accuracy`` and
    likewise the cost per problem. Any router must beat this line to be worth its scores.

    Args:
        strong_share: One share in [0, 1] or several (e.g. ``np.linspace(0, 1, 11)``).
        strong_accuracy: The strong model's accuracy alone.
        weak_accuracy: The weak model's accuracy alone.
        strong_cost: The strong model's cost per problem alone (USD).
        weak_cost: The weak model's cost per problem alone (USD).

    Returns:
        Columns ``strong_share``, ``accuracy``, ``cost_per_problem``, one row per share in the
        order given; so it can be drawn, or summarised like a curve (its APGR is 0.5).
    """
    share = unit_values("strong_share", np.atleast_1d(strong_share))
    strong_acc = number("strong_accuracy", strong_accuracy)
    weak_acc = number("weak_accuracy", weak_accuracy)
    strong_usd = number("strong_cost", strong_cost)
    weak_usd = number("weak_cost", weak_cost)
    return pd.DataFrame(
        {
            "strong_share": share,
            "accuracy": mix(share, strong_acc, weak_acc),
            "cost_per_problem": mix(share, strong_usd, weak_usd),
        }
    )


@dataclass(frozen=True)
class Mix:
    """A random split of problems between the two models; costs are USD per problem."""

    share_llm: float
    accuracy: float
    cost_per_problem: float


def cost_matched_mix(
    llm_accuracy: float,
    slm_accuracy: float,
    llm_cost: float,
    slm_cost: float,
    target_cost: float,
) -> Mix | None:
    """The cost-matched baseline a router must beat: send each problem to the LLM at random.

    The LLM share p makes the expected cost per problem equal ``target_cost``; accuracy and cost
    are the p-weighted averages. Returns None when no mix costs ``target_cost`` (it is dearer than
    the LLM alone or cheaper than the SLM alone: comparing with a clipped mix would set the
    router against something at another cost) or when the LLM is not dearer than the SLM, since
    cost then does not determine a mix.
    """
    p = float(share_at_cost(target_cost, llm_cost, slm_cost))
    if math.isnan(p) or not -1e-9 <= p <= 1.0 + 1e-9:  # rounding aside
        return None
    p = min(1.0, max(0.0, p))
    return Mix(
        share_llm=p,
        accuracy=mix(p, llm_accuracy, slm_accuracy),
        cost_per_problem=mix(p, llm_cost, slm_cost),
    )


@dataclass(frozen=True)
class OraclePoint:
    """Where the oracle lands: the share it sends to the strong model, its accuracy and its cost
    per problem (USD)."""

    strong_share: float
    accuracy: float
    cost: float


def oracle_point(
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    strong_cost: ArrayLike = 0.0,
    weak_cost: ArrayLike = 0.0,
) -> OraclePoint:
    """The oracle on aligned per-problem outcomes: a problem goes to the strong model exactly
    when it is right and the weak one is not, so it is right wherever either is.

    Args:
        strong_correct: The strong model's correctness per problem (bool or a value in [0, 1]).
        weak_correct: The weak model's, aligned.
        strong_cost: What a problem the oracle sends to the strong model costs (for a cascade,
            which pays the weak model first, both models' cost): one number or one per problem.
        weak_cost: What a problem it leaves with the weak model costs, likewise.
    """
    n = len(values("strong_correct", strong_correct))
    strong = outcomes("strong_correct", strong_correct, n)
    weak = outcomes("weak_correct", weak_correct, n)
    moved = strong > weak
    cost = np.where(moved, costs("strong_cost", strong_cost, n), costs("weak_cost", weak_cost, n))
    return OraclePoint(
        float(moved.mean()), float(np.maximum(strong, weak).mean()), float(cost.mean())
    )


def oracle(llm: Mapping[K, bool], slm: Mapping[K, bool]) -> tuple[float, int]:
    """``oracle_point``'s accuracy over the keys both outcome maps share (an upper bound for any
    router choosing between the two); returns (accuracy, n_shared), (0.0, 0) with none."""
    shared = list(llm.keys() & slm.keys())
    if not shared:
        return (0.0, 0)
    point = oracle_point([llm[k] for k in shared], [slm[k] for k in shared])
    return (point.accuracy, len(shared))


@dataclass(frozen=True)
class BeatsRandom:
    """The run's accuracy minus the cost-matched random mix's, with its bootstrap interval.

    ``share`` is the random mix's strong-model share at the run's cost. All four are NaN when
    the comparison does not apply: the run costs more than the strong model alone or less than
    the weak one, or the strong model is not dearer than the weak one. ``low`` and ``high`` are
    also NaN when a resample has the strong model no dearer than the weak one.
    """

    difference: float
    low: float
    high: float
    share: float

    @property
    def applies(self) -> bool:
        """Whether the run's cost lies between the two models', so a mix matches it."""
        return not math.isnan(self.share)


_NOT_APPLICABLE = BeatsRandom(math.nan, math.nan, math.nan, math.nan)


def _against_mix(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of means (run accuracy, run cost, strong accuracy, weak accuracy, strong cost,
    weak cost): the run's accuracy minus the mix's at the run's cost, and the mix's share
    (clipped to [0, 1]; NaN when the strong model is not dearer)."""
    run_acc, run_usd, strong_acc, weak_acc, strong_usd, weak_usd = means.T
    share = np.clip(share_at_cost(run_usd, strong_usd, weak_usd), 0.0, 1.0)
    return run_acc - mix(share, strong_acc, weak_acc), share


def _difference(*columns: np.ndarray, axis: int = -1) -> np.ndarray:
    """The bootstrap's statistic: the run-minus-mix difference of each resample of the six
    per-problem columns (problems along ``axis``)."""
    means = np.stack([column.mean(axis=axis) for column in columns], axis=-1)
    return _against_mix(means)[0]


class Bootstrap(TypedDict, total=False):
    """The bootstrap's settings, as keywords: the interval's coverage (``confidence``, in (0, 1),
    default 0.95), how many resamples (``resamples``, at least 1, default 2000), and the seed of
    the resampling's ``numpy.random.default_rng`` (``seed``, default 0)."""

    confidence: float
    resamples: int
    seed: int


_DEFAULTS: Bootstrap = {"confidence": 0.95, "resamples": 2000, "seed": 0}


def bootstrap_settings(bootstrap: Bootstrap) -> tuple[float, int, int]:
    """(confidence, resamples, seed), the defaults filled in.

    Raises:
        DelegateError: A keyword that is not a setting, ``confidence`` outside (0, 1), or fewer
            than one resample.
    """
    unknown = sorted(set(bootstrap) - set(_DEFAULTS))
    if unknown:
        raise DelegateError(f"unknown bootstrap setting(s) {unknown}; valid: {list(_DEFAULTS)}")
    settings = _DEFAULTS | bootstrap
    confidence, resamples = settings["confidence"], settings["resamples"]
    if not 0.0 < confidence < 1.0:
        raise DelegateError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise DelegateError(f"resamples must be at least 1, got {resamples}")
    return confidence, resamples, settings["seed"]


def paired_percentile_bootstrap(
    columns: Sequence[np.ndarray],
    statistic: Callable[..., Any],
    *,
    vectorized: bool = True,
    skip_nan: bool = False,
    **bootstrap: Unpack[Bootstrap],
) -> tuple[float, float]:
    """The percentile interval of ``statistic`` over resamples of the problems, each drawn with
    replacement keeping a problem's values in every column together: ``scipy.stats.bootstrap``
    with ``paired=True`` and ``method="percentile"``, seeded (the same inputs give the same
    interval), at most ``_BATCH_VALUES`` (resample, problem) pairs in memory at once.

    Args:
        columns: Per-problem arrays of one length.
        statistic: Of the resampled columns; with ``vectorized``, it takes ``axis`` and
            resamples stacked along the other axis, as scipy passes them.
        vectorized: Whether ``statistic`` takes a batch of resamples at once.
        skip_nan: Leave out resamples whose statistic is NaN (the interval is of the rest);
            otherwise one NaN resample makes the interval (NaN, NaN).
        bootstrap: ``confidence``, ``resamples``, ``seed`` (see ``Bootstrap``).

    Returns:
        (low, high); NaN when every resample is NaN (or, without ``skip_nan``, any). One problem
        has a single resample, itself: both ends are its statistic.

    Raises:
        DelegateError: ``confidence`` or ``resamples`` out of range.
    """
    confidence, resamples, seed = bootstrap_settings(bootstrap)
    n = len(columns[0])
    if n < 2:  # scipy wants two problems; every resample of one is the sample itself
        value = float(statistic(*columns))
        return value, value
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)  # NaN resamples: below
        result = stats.bootstrap(
            tuple(columns),
            statistic,
            n_resamples=resamples,
            batch=max(1, _BATCH_VALUES // n),
            vectorized=vectorized,
            paired=True,
            confidence_level=confidence,
            method="percentile",
            random_state=np.random.default_rng(seed),
        )
    draws = np.asarray(result.bootstrap_distribution, dtype=float)
    missing = np.isnan(draws)
    if not missing.any():
        return float(result.confidence_interval.low), float(result.confidence_interval.high)
    if missing.all() or not skip_nan:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0  # scipy's percentiles, of the resamples kept
    low, high = np.quantile(draws[~missing], [tail, 1.0 - tail])
    return float(low), float(high)


def paired_bootstrap_beats_random(
    run_correct: ArrayLike,
    run_cost: ArrayLike,
    strong_correct: ArrayLike,
    weak_correct: ArrayLike,
    strong_cost: ArrayLike,
    weak_cost: ArrayLike,
    **bootstrap: Unpack[Bootstrap],
) -> BeatsRandom:
    """The run's accuracy minus the random mix's at the same cost per problem, with a paired
    bootstrap percentile interval.

    With mean costs c_run, c_strong, c_weak, the mix's share is p = (c_run - c_weak) /
    (c_strong - c_weak) and its accuracy p * strong + (1 - p) * weak. Each resample draws n
    problems with replacement, keeping every problem's six values together, and recomputes p
    (clipped to [0, 1]) and the difference; the interval is the resampled differences'
    (1 - confidence) / 2 and (1 + confidence) / 2 percentiles (``paired_percentile_bootstrap``,
    from scipy). Seeded: the same inputs give the same interval.

    Args:
        run_correct: Per-problem correctness of the run (bool or a value in [0, 1]).
        run_cost: The run's cost per problem (USD): one per problem, or one number.
        strong_correct: The strong model's correctness alone on the same problems.
        weak_correct: The weak model's correctness alone on the same problems.
        strong_cost: The strong model's cost per problem alone: one per problem or one number.
        weak_cost: The weak model's cost per problem alone, likewise.
        bootstrap: ``confidence``, ``resamples``, ``seed`` (see ``Bootstrap``).

    Returns:
        ``BeatsRandom(difference, low, high, share)``; all NaN when the comparison does not
        apply (see ``BeatsRandom``).
    """
    per_problem = _per_problem(
        run_correct, run_cost, strong_correct, weak_correct, strong_cost, weak_cost
    )
    bootstrap_settings(bootstrap)  # refused whether or not the comparison applies
    means = per_problem.mean(axis=1)
    run_usd, strong_usd, weak_usd = means[1], means[4], means[5]
    if not weak_usd <= run_usd <= strong_usd or strong_usd <= weak_usd:
        return _NOT_APPLICABLE
    difference, share = _against_mix(means[np.newaxis, :])
    low, high = paired_percentile_bootstrap(tuple(per_problem), _difference, **bootstrap)
    return BeatsRandom(float(difference[0]), low, high, float(share[0]))


def _per_problem(*columns: ArrayLike) -> np.ndarray:
    """The six checked per-problem columns (run correct, run cost, strong correct, weak correct,
    strong cost, weak cost), one row each: gathering a contiguous row at a time is about three
    times faster than gathering whole problems from an (n, 6) table."""
    n = len(values("run_correct", columns[0]))
    return np.stack(
        [
            (costs if name.endswith("_cost") else outcomes)(name, column, n)
            for name, column in zip(_COLUMNS, columns, strict=True)
        ]
    )
