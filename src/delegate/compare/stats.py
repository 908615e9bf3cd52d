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

    The LLM share p makes the expected cost per problem equal ``target_cost``; accuracy and cost
    are the p-weighted averages. Returns None when no mix costs ``target_cost`` (it is dearer than
    the LLM alone or cheaper than the SLM alone: comparing with a clipped mix would set the
    router against something at another cost) or when the LLM is not dearer than the SLM, since
    cost then does not determine a mix.
    """
    if llm_cost <= slm_cost:
        return None
    p = (target_cost - slm_cost) / (llm_cost - slm_cost)
    if not -1e-9 <= p <= 1.0 + 1e-9:  # rounding aside
        return None
    p = min(1.0, max(0.0, p))
    return Mix(
        share_llm=p,
        accuracy=p * llm_accuracy + (1.0 - p) * slm_accuracy,
        cost_per_problem=p * llm_cost + (1.0 - p) * slm_cost,
    )


def accuracy_change_interval(
    counts: PairedCounts, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Accuracy of b minus accuracy of a on paired problems, with Newcombe's hybrid score
    interval for paired proportions (Newcombe 1998, "Improved confidence intervals for the
    difference between binomial proportions based on paired data", method 10).

    It combines each arm's Wilson interval, corrected for the correlation between the arms, so
    it stays inside [-1, 1] and keeps a width when the arms never disagree (a Wald interval
    collapses to zero width there). Returns (diff, low, high).
    """
    n = counts.n
    if n == 0:
        return (0.0, -1.0, 1.0)  # nothing paired: nothing is known
    p_a = (counts.both + counts.only_a) / n
    p_b = (counts.both + counts.only_b) / n
    low_a, high_a = proportion_interval(counts.both + counts.only_a, n, confidence)
    low_b, high_b = proportion_interval(counts.both + counts.only_b, n, confidence)
    margins = (
        (counts.both + counts.only_a)
        * (counts.only_b + counts.neither)
        * (counts.both + counts.only_b)
        * (counts.only_a + counts.neither)
    )
    phi = (
        (counts.both * counts.neither - counts.only_a * counts.only_b) / math.sqrt(margins)
        if margins
        else 0.0
    )
    diff = p_b - p_a
    down = (p_b - low_b) ** 2 - 2 * phi * (p_b - low_b) * (high_a - p_a) + (high_a - p_a) ** 2
    up = (high_b - p_b) ** 2 - 2 * phi * (high_b - p_b) * (p_a - low_a) + (p_a - low_a) ** 2
    low = max(-1.0, diff - math.sqrt(max(0.0, down)))
    high = min(1.0, diff + math.sqrt(max(0.0, up)))
    return (diff, low, high)
