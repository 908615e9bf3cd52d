"""The best fixed model at matched cost: does a router or cascade beat simply picking one model?

For a router, cascade or learned-router row, the candidates are its LLM-only and SLM-only
references (the same models, answer instructions, dataset and sample, found by identity). On the
(seed, problem) pairs the row shares with every candidate present, the best fixed model is the
most accurate candidate whose cost per problem is no more than the row's (the cheaper one on a
tie); none when both cost more. ``beats_best_fixed`` reads Newcombe's paired 95% interval of the
row's accuracy minus that model's: "yes" when it lies above 0, "no" below, else "not shown".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from delegate.compare.analysis.intervals import accuracy_change_interval, paired_counts
from delegate.compare.table import Configuration, Key

ROUTED = ("router", "cascade", "learned_router")
# Costs within this (USD per problem) count as equal: sums of float prices.
_COST_TOLERANCE = 1e-12


@dataclass(frozen=True)
class BestFixed:
    """The best fixed model at the row's cost and the row against it (None: not applicable;
    ``best_fixed`` is "none" when every candidate costs more than the row)."""

    best_fixed: str | None
    best_fixed_problems: int | None
    best_fixed_accuracy: float | None
    best_fixed_cost_per_problem_usd: float | None
    beats_best_fixed: str | None
    beats_best_fixed_diff: float | None
    beats_best_fixed_ci_low: float | None
    beats_best_fixed_ci_high: float | None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def best_fixed(config: Configuration, configs: Mapping[str, Configuration]) -> BestFixed | None:
    """``config``'s best fixed model (see the module's docstring); None off routed rows, when
    no reference is in the report, or when no problem is shared."""
    if config.strategy not in ROUTED:
        return None
    ids = [config.alone_id(role) for role in ("llm", "slm")]
    candidates = [configs[cid] for cid in ids if cid is not None and cid in configs]
    if not candidates:
        return None
    keys: set[Key] = set(config.by_key)
    for c in candidates:
        keys &= set(c.by_key)
    if not keys:
        return None
    ordered = sorted(keys)
    cost = _mean([config.by_key[k].cost_usd for k in ordered])
    scored = []
    for c in candidates:
        accuracy = _mean([float(c.by_key[k].correct) for k in ordered])
        c_cost = _mean([c.by_key[k].cost_usd for k in ordered])
        if c_cost <= cost + _COST_TOLERANCE:
            scored.append((-accuracy, c_cost, c.label, c))
    if not scored:
        return BestFixed("none", len(ordered), None, None, None, None, None, None)
    minus_accuracy, fixed_cost, label, fixed = min(scored, key=lambda t: t[:3])
    counts = paired_counts(
        {k: fixed.by_key[k].correct for k in ordered},
        {k: config.by_key[k].correct for k in ordered},
    )
    diff, low, high = accuracy_change_interval(counts)
    verdict = "yes" if low > 0 else "no" if high < 0 else "not shown"
    return BestFixed(label, len(ordered), -minus_accuracy, fixed_cost, verdict, diff, low, high)
