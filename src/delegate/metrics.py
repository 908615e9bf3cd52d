"""Run metrics, aggregated from per-problem rows. Names carry their units.

One function serves the run (its records' rows) and the report (rows read back from MLflow, pooled
over seeds), so a number means the same in both. Every problem that was attempted is in the
denominator: an errored problem is scored wrong and counted in ``n_errors``, never dropped.
Besides the fixed ``METRIC_NAMES``, a run reports the same key figures per source and per level
(``breakdown``).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
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
    "calculator_calls_per_problem",
    "tool_errors",
    "tool_error_rate",
    "slm_failures",
    "escalation_rate",
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


def _number(value: Any) -> float:
    """A count from a table cell: missing, None and NaN (a column an older row lacks) are 0."""
    number = float(value or 0)
    return 0.0 if math.isnan(number) else number


def _total(rows: Sequence[Row], column: str) -> float:
    return float(sum(_number(r.get(column)) for r in rows))


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def delegated(row: Row) -> bool:
    """At least one small-model call whose reply came back. Rows written before
    ``slm_tool_calls`` existed had the small model as their only tool: their tool calls count."""
    value = row.get("slm_tool_calls")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = row.get("tool_calls")
    return _number(value) > 0


# Per group (a source, or ``level_<k>``): ``<name>/<group>``. ``cost_usd/<group>`` is the group's
# total, like ``cost_usd``; ``cost_per_problem_usd/<group>`` its mean per problem.
BREAKDOWN_NAMES = (
    "accuracy",
    "accuracy_strict",
    "n_problems",
    "cost_usd",
    "cost_per_problem_usd",
    "delegation_rate",
    "escalation_rate",
)
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.\-]")  # MLflow metric names allow little else


def _group_metrics(rows: Sequence[Row], group: str) -> dict[str, float]:
    n = len(rows)
    cost = sum(float(r.get("cost_usd") or 0) for r in rows)
    values = {
        "accuracy": sum(bool(r["correct"]) for r in rows) / n,
        "accuracy_strict": sum(bool(r["correct_strict"]) for r in rows) / n,
        "n_problems": float(n),
        "cost_usd": cost,
        "cost_per_problem_usd": cost / n,
        "delegation_rate": sum(delegated(r) for r in rows) / n,
        "escalation_rate": sum(_number(r.get("escalated")) > 0 for r in rows) / n,
    }
    return {f"{name}/{group}": values[name] for name in BREAKDOWN_NAMES}


def row_level(row: Row) -> int | None:
    """A row's level; tables read back store a missing one as None or NaN."""
    value = row.get("level")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def source_group(source: str) -> str:
    """The group name of a source in ``breakdown``'s metric names (``accuracy/<group>``)."""
    return _UNSAFE_RE.sub("_", source)


def breakdown(rows: Sequence[Row]) -> dict[str, float]:
    """``BREAKDOWN_NAMES`` per source (``accuracy/gsm8k``) and per level (``accuracy/level_3``),
    sources in order of first appearance, then levels in ascending order. Rows without a source
    or level (from older runs) are in no group."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if isinstance(r.get("source"), str) and r["source"]:
            groups[source_group(r["source"])].append(r)
    leveled = [(level, r) for r in rows if (level := row_level(r)) is not None]
    for level, r in sorted(leveled, key=lambda pair: pair[0]):
        groups[f"level_{level}"].append(r)
    return {k: v for group, rs in groups.items() for k, v in _group_metrics(rs, group).items()}


def aggregate(
    rows: Sequence[Row], wall_time_s: float = 0.0, trace_wait_s: float = 0.0
) -> dict[str, float]:
    """The metrics of these per-problem rows (``ProblemRecord.to_row``): ``METRIC_NAMES``, then
    the ``breakdown`` by source and level. ``delegation_rate`` is the share of problems with at
    least one small-model tool call whose reply came back (the calculator does not count;
    ``calculator_calls_per_problem`` counts it), ``escalation_rate`` the share a cascade sent to
    the large model (0 for every other strategy, which never escalates); ``tool_errors`` counts
    tool calls that brought no usable answer back and ``tool_error_rate`` their share of all tool
    calls; ``slm_failures`` counts small-model tool calls where the small model itself failed;
    ``trace_wait_s`` is how long the run waited, after its last problem, for traces to be written
    (so a run's full time is ``wall_time_s + trace_wait_s``). Rows written before a column
    existed count it as zero."""
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
        "delegation_rate": sum(delegated(r) for r in rows) / n,
        "calculator_calls_per_problem": _total(rows, "calculator_calls") / n,
        "tool_errors": _total(rows, "tool_errors"),
        "tool_error_rate": _share(_total(rows, "tool_errors"), _total(rows, "tool_calls")),
        "slm_failures": _total(rows, "slm_failures"),
        "escalation_rate": sum(_number(r.get("escalated")) > 0 for r in rows) / n,
    }
    for column in SUMMED:
        metrics[column] = _total(rows, column)
    metrics["cost_usd"] = metrics["llm_cost_usd"] + metrics["slm_cost_usd"]
    return {name: metrics[name] for name in METRIC_NAMES} | breakdown(rows)
