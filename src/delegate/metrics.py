"""Run metrics, aggregated from per-problem records. Names carry their units.

Every problem that was attempted is in the denominator: an errored problem is scored wrong and
counted in ``n_errors``, never dropped. Besides the fixed ``METRIC_NAMES``, a run reports the same
key figures per source and per level (``breakdown``).
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Sequence

from delegate.records import ProblemRecord

METRIC_NAMES = (
    "accuracy",
    "accuracy_strict",
    "n_problems",
    "n_errors",
    "latency_mean_s",
    "latency_p50_s",
    "latency_p95_s",
    "wall_time_s",
    "trace_wait_s",
    "llm_input_tokens",
    "llm_cached_tokens",
    "llm_output_tokens",
    "slm_input_tokens",
    "slm_output_tokens",
    "llm_cost_usd",
    "slm_cost_usd",
    "cost_usd",
    "billed_usd",
    "cache_hits",
    "tool_calls_per_problem",
    "delegation_rate",
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# Per group (a source, or ``level_<k>``): ``<name>/<group>``. ``cost_usd/<group>`` is the group's
# total, like ``cost_usd``; ``cost_per_problem_usd/<group>`` its mean per problem.
BREAKDOWN_NAMES = (
    "accuracy",
    "accuracy_strict",
    "n_problems",
    "cost_usd",
    "cost_per_problem_usd",
    "delegation_rate",
)
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.\-]")  # MLflow metric names allow little else


def _group_metrics(records: Sequence[ProblemRecord], group: str) -> dict[str, float]:
    n = len(records)
    cost = sum(r.cost_usd for r in records)
    values = {
        "accuracy": sum(r.correct for r in records) / n,
        "accuracy_strict": sum(r.correct_strict for r in records) / n,
        "n_problems": float(n),
        "cost_usd": cost,
        "cost_per_problem_usd": cost / n,
        "delegation_rate": sum(r.tool_calls > 0 for r in records) / n,
    }
    return {f"{name}/{group}": values[name] for name in BREAKDOWN_NAMES}


def breakdown(records: Sequence[ProblemRecord]) -> dict[str, float]:
    """``BREAKDOWN_NAMES`` per source (``accuracy/gsm8k``) and per level (``accuracy/level_3``),
    sources in order of first appearance, then levels in ascending order. Records without a
    source or level (rows from older runs) are in no group."""
    groups: dict[str, list[ProblemRecord]] = defaultdict(list)
    for r in records:
        if r.source:
            groups[_UNSAFE_RE.sub("_", r.source)].append(r)
    for r in sorted((r for r in records if r.level is not None), key=lambda r: r.level or 0):
        groups[f"level_{r.level}"].append(r)
    return {k: v for group, rs in groups.items() for k, v in _group_metrics(rs, group).items()}


def aggregate(
    records: Sequence[ProblemRecord], wall_time_s: float, trace_wait_s: float = 0.0
) -> dict[str, float]:
    """The run's metrics: ``METRIC_NAMES``, then the ``breakdown`` by source and level.
    ``delegation_rate`` is the share of problems with any tool call; ``trace_wait_s`` is how long
    the run waited, after its last problem, for traces to be written (so a run's full time is
    ``wall_time_s + trace_wait_s``)."""
    n = len(records)
    if n == 0:
        raise ValueError("no records to aggregate")
    latencies = [r.latency_s for r in records]
    metrics = {
        "accuracy": sum(r.correct for r in records) / n,
        "accuracy_strict": sum(r.correct_strict for r in records) / n,
        "n_problems": float(n),
        "n_errors": float(sum(r.error is not None for r in records)),
        "latency_mean_s": statistics.fmean(latencies),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "wall_time_s": wall_time_s,
        "trace_wait_s": trace_wait_s,
        "llm_input_tokens": float(sum(r.llm_input_tokens for r in records)),
        "llm_cached_tokens": float(sum(r.llm_cached_tokens for r in records)),
        "llm_output_tokens": float(sum(r.llm_output_tokens for r in records)),
        "slm_input_tokens": float(sum(r.slm_input_tokens for r in records)),
        "slm_output_tokens": float(sum(r.slm_output_tokens for r in records)),
        "llm_cost_usd": sum(r.llm_cost_usd for r in records),
        "slm_cost_usd": sum(r.slm_cost_usd for r in records),
        "billed_usd": sum(r.billed_usd for r in records),
        "cache_hits": float(sum(r.cache_hits for r in records)),
        "tool_calls_per_problem": sum(r.tool_calls for r in records) / n,
        "delegation_rate": sum(r.tool_calls > 0 for r in records) / n,
    }
    metrics["cost_usd"] = metrics["llm_cost_usd"] + metrics["slm_cost_usd"]
    return {name: metrics[name] for name in METRIC_NAMES} | breakdown(records)
