"""Wilson's interval for an accuracy: the one statistic a run itself reports (``accuracy_ci_low``
and ``accuracy_ci_high``), so it lives outside the report package that a run does not load.

The report's other intervals and tests (paired counts, McNemar's test, Newcombe's paired
interval) are in ``delegate.compare.analysis.intervals``, which re-exports this one.
"""

from __future__ import annotations

from statistics import NormalDist


def normal_quantile(confidence: float) -> float:
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

    normal_quantile(confidence)  # checks ``confidence`` with a message naming it
    if successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    # The bounds are exactly 0 and 1 at the extremes; set them so rounding cannot leave 1e-17.
    low = 0.0 if successes == 0 else max(0.0, float(low))
    high = 1.0 if successes == n else min(1.0, float(high))
    return (low, high)
