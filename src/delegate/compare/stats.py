"""Statistics for comparing strategies on identical problems, in one import: intervals, the exact
paired test and the cost-matched baselines.

The functions live in ``delegate.compare.analysis`` (``intervals``, ``baselines``); this module
gathers the public ones. ``random_mix`` here is the cost-matched mix (one ``Mix`` at a target
cost), ``baselines.cost_matched_mix``; ``delegate.compare.curves.random_mix`` is the whole line.
"""

from __future__ import annotations

from delegate.compare.analysis.baselines import Mix, oracle
from delegate.compare.analysis.baselines import cost_matched_mix as random_mix
from delegate.compare.analysis.intervals import (
    PairedCounts,
    accuracy_change_interval,
    mcnemar_p,
    paired_counts,
    proportion_interval,
)

__all__ = [
    "Mix",
    "PairedCounts",
    "accuracy_change_interval",
    "mcnemar_p",
    "oracle",
    "paired_counts",
    "proportion_interval",
    "random_mix",
]
