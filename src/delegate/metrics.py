"""Run metrics, aggregated from per-problem rows. Names carry their units.

One function serves the run (its records' rows) and the report (rows read back from MLflow, pooled
over seeds), so a number means the same in both. Every problem that was attempted is in the
denominator: an errored problem is scored wrong and counted in ``n_errors``, never dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

# Per-problem columns whose run metric is their sum.
SUMMED = (
    "llm_input_tokens",
    "llm_cached_tokens",
    "llm_output_tokens",
    "slm_input_tokens",
    "slm_output_tokens",
    "llm_cost_usd",
    "slm_cost_usd",
    "billed_usd",
    "cache_hits",
)
METRIC_NAMES = (
    "accuracy",
    "accuracy_strict",
    "n_problems",
    "n_errors",
    "n_truncated",
    "latency_mean_s",
    "latency_p50_s",
    "latency_p95_s",
    "wall_time_s",
    "trace_wait_s",
    *SUMMED,
    "cost_usd",
    "tool_calls_per_problem",
    "delegation_rate",
)

Row = Mapping[str, Any]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def failed(row: Row) -> bool:
    """Whether a row's ``error`` holds an error (tables store none as None, NaN or "")."""
    value = row.get("error")
    return isinstance(value, str) and bool(value)


def _total(rows: Sequence[Row], column: str) -> float:
    return float(sum(float(r.get(column) or 0) for r in rows))


def aggregate(
    rows: Sequence[Row], wall_time_s: float = 0.0, trace_wait_s: float = 0.0
) -> dict[str, float]:
    """The metrics of these per-problem rows (``ProblemRecord.to_row``): ``delegation_rate`` is
    the share of problems with any tool call; ``trace_wait_s`` is how long the run waited, after
    its last problem, for traces to be written (so a run's full time is ``wall_time_s +
    trace_wait_s``). Rows written before a column existed count it as zero."""
    n = len(rows)
    if n == 0:
        raise ValueError("no rows to aggregate")
    latencies = [float(r["latency_s"]) for r in rows]
    metrics = {
        "accuracy": sum(bool(r["correct"]) for r in rows) / n,
        "accuracy_strict": sum(bool(r["correct_strict"]) for r in rows) / n,
        "n_problems": float(n),
        "n_errors": float(sum(failed(r) for r in rows)),
        "n_truncated": float(sum(bool(r.get("truncated")) for r in rows)),
        "latency_mean_s": statistics.fmean(latencies),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "wall_time_s": wall_time_s,
        "trace_wait_s": trace_wait_s,
        "tool_calls_per_problem": _total(rows, "tool_calls") / n,
        "delegation_rate": sum(int(r.get("tool_calls") or 0) > 0 for r in rows) / n,
    }
    for column in SUMMED:
        metrics[column] = _total(rows, column)
    metrics["cost_usd"] = metrics["llm_cost_usd"] + metrics["slm_cost_usd"]
    return {name: metrics[name] for name in METRIC_NAMES}
