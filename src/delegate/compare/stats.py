"""Statistics for comparing strategies (LLM-only, SLM-only, router) on identical problems.

Confidence intervals, an exact paired test and cost-matched baselines, all computed from
per-problem results already recorded: nothing here calls a model.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def proportion_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, clamped to [0, 1].

    Wilson rather than Wald because it stays sensible near 0 and 1, where accuracies often sit.
    With no trials nothing is known, so the interval is (0.0, 1.0).
    """
    z = _z(confidence)
    if successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    # The bounds are exactly 0 and 1 at the extremes; set them so rounding cannot leave 1e-17.
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return (low, high)


@dataclass(frozen=True)
class PairedCounts:
    """Outcomes of two strategies on the same problems: which of them got each one right."""

    both: int
    only_a: int
    only_b: int
    neither: int

    @property
    def n(self) -> int:
        """Number of paired problems."""
        return self.both + self.only_a + self.only_b + self.neither


def paired_counts(a: Mapping[K, bool], b: Mapping[K, bool]) -> PairedCounts:
    """Tabulate correctness of ``a`` against ``b`` over the keys both share.

    Keys present in only one mapping are ignored: a pairing needs both outcomes.
    """
    both = only_a = only_b = neither = 0
    for key in a.keys() & b.keys():
        ra, rb = a[key], b[key]
        if ra and rb:
            both += 1
        elif ra:
            only_a += 1
        elif rb:
            only_b += 1
        else:
            neither += 1
    return PairedCounts(both=both, only_a=only_a, only_b=only_b, neither=neither)


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    Under the null each discordant pair is a fair coin, so this is a two-sided binomial test of
    min(only_a, only_b) under Binomial(only_a + only_b, 1/2). The tail is summed in exact
    integers and divided once, so large counts neither overflow nor lose precision.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError(f"counts must be non-negative, got {only_a}, {only_b}")
    n = only_a + only_b
    if n == 0:
        return 1.0
    m = min(only_a, only_b)
    tail = 0
    term = 1  # C(n, 0)
    for k in range(m + 1):
        tail += term
        term = term * (n - k) // (k + 1)  # C(n, k + 1), exact
    total = 1 << n
    if 2 * tail >= total:
        return 1.0
    return (2 * tail) / total


def oracle(llm: Mapping[K, bool], slm: Mapping[K, bool]) -> tuple[float, int]:
    """Accuracy if every problem went to whichever model got it right, over shared keys.

    An upper bound for any router choosing between the two; returns (accuracy, n_shared).
    """
    shared = llm.keys() & slm.keys()
    if not shared:
        return (0.0, 0)
    correct = sum(1 for key in shared if llm[key] or slm[key])
    return (correct / len(shared), len(shared))


@dataclass(frozen=True)
class Mix:
    """A random split of problems between the two models; costs are USD per problem."""

    share_llm: float
    accuracy: float
    cost_per_problem: float


def random_mix(
    llm_accuracy: float,
    slm_accuracy: float,
    llm_cost: float,
    slm_cost: float,
    target_cost: float,
) -> Mix | None:
    """The cost-matched baseline a router must beat: send each problem to the LLM at random.

    The LLM share p makes the expected cost per problem equal ``target_cost``, clipped to
    [0, 1]; accuracy and cost are the p-weighted averages. Returns None when the LLM is not
    dearer than the SLM, since cost then does not determine a mix.
    """
    if llm_cost <= slm_cost:
        return None
    p = (target_cost - slm_cost) / (llm_cost - slm_cost)
    p = min(1.0, max(0.0, p))
    return Mix(
        share_llm=p,
        accuracy=p * llm_accuracy + (1.0 - p) * slm_accuracy,
        cost_per_problem=p * llm_cost + (1.0 - p) * slm_cost,
    )


def accuracy_change_interval(
    counts: PairedCounts, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Accuracy of b minus accuracy of a on paired problems, with a Wald interval.

    Uses the paired variance, which only discordant pairs drive:
    se = sqrt((only_a + only_b) - (only_b - only_a)**2 / n) / n. Returns (diff, low, high).
    """
    z = _z(confidence)
    n = counts.n
    if n == 0:
        return (0.0, 0.0, 0.0)
    d = counts.only_b - counts.only_a
    diff = d / n
    radicand = max(0.0, (counts.only_a + counts.only_b) - d * d / n)
    se = math.sqrt(radicand) / n
    return (diff, diff - z * se, diff + z * se)
