"""Intervals and tests for comparing strategies (LLM-only, SLM-only, router) on identical
problems: Wilson's interval for an accuracy, paired counts, McNemar's exact test and Newcombe's
interval for a paired accuracy change. Pure functions on outcomes already recorded: nothing here
reads a store or calls a model (the cost-matched mix and the oracle are in ``baselines``).

Wilson's interval (``proportion_interval``) lives in ``delegate.intervals``, because a run reports
it too, and is re-exported here; the exact binomial tail comes from scipy; Newcombe's paired
interval is worked here because neither library computes it (statsmodels' paired tools
test, they give no interval for a paired difference of proportions).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from delegate.intervals import proportion_interval

K = TypeVar("K", bound=Hashable)

__all__ = [
    "PairedCounts",
    "accuracy_change_interval",
    "mcnemar_p",
    "paired_counts",
    "proportion_interval",
]


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
