"""Intervals and tests for comparing strategies (LLM-only, SLM-only, router) on identical
problems: Wilson's interval for an accuracy, paired counts, McNemar's exact test and Newcombe's
interval for a paired accuracy change. Pure functions on outcomes already recorded: nothing here
reads a store or calls a model (the cost-matched mix and the oracle are in ``baselines``).

Wilson's interval comes from statsmodels and the exact binomial tail from scipy; Newcombe's
paired interval is worked here because neither library computes it (statsmodels' paired tools
test, they give no interval for a paired difference of proportions).
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
    """Wilson score interval for a binomial proportion (statsmodels' ``proportion_confint``),
    clamped to [0, 1].

    Wilson rather than Wald because it stays sensible near 0 and 1, where accuracies often sit.
    With no trials nothing is known, so the interval is (0.0, 1.0).
    """
    from statsmodels.stats.proportion import proportion_confint

    _z(confidence)  # the same check and message as the other intervals
    if successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    # The bounds are exactly 0 and 1 at the extremes; set them so rounding cannot leave 1e-17.
    low = 0.0 if successes == 0 else max(0.0, float(low))
    high = 1.0 if successes == n else min(1.0, float(high))
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

    Under the null each discordant pair is a fair coin, so this is scipy's exact two-sided
    binomial test of min(only_a, only_b) under Binomial(only_a + only_b, 1/2); scipy sums the
    tail in log space, so large counts neither overflow nor lose precision.
    """
    from scipy.stats import binomtest

    if only_a < 0 or only_b < 0:
        raise ValueError(f"counts must be non-negative, got {only_a}, {only_b}")
    n = only_a + only_b
    if n == 0:
        return 1.0
    return min(1.0, float(binomtest(min(only_a, only_b), n, 0.5).pvalue))


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
