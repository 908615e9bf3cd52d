"""Cost-accuracy curves on any per-problem table, their summaries and the test against the random
mix, in one import: ``from delegate.compare.curves import cascade_curve, apgr, aiq``.

The functions live in ``delegate.compare.analysis`` (``curves``, ``summaries``, ``baselines``);
this module gathers the public ones.
"""

from __future__ import annotations

from delegate.compare.analysis.baselines import (
    BeatsRandom,
    paired_bootstrap_beats_random,
    random_mix,
)
from delegate.compare.analysis.curves import CURVE_COLUMNS, cascade_curve, routing_curve
from delegate.compare.analysis.learned import fit_router, learned_router_scores
from delegate.compare.analysis.summaries import aiq, apgr, cpt, cpt_cost, reachable_frontier

__all__ = [
    "CURVE_COLUMNS",
    "BeatsRandom",
    "aiq",
    "apgr",
    "cascade_curve",
    "cpt",
    "cpt_cost",
    "fit_router",
    "learned_router_scores",
    "paired_bootstrap_beats_random",
    "random_mix",
    "reachable_frontier",
    "routing_curve",
]
