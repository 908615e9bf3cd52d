"""Run metrics, aggregated from per-problem records. Names carry their units.

One function serves the run (its records) and the report (records read back from MLflow, pooled
over seeds), so a number means the same in both. Every problem that was attempted is in the
denominator: an errored problem is scored wrong and counted in ``n_errors``, never dropped.
Besides the fixed ``METRIC_NAMES``, a run reports the same key figures per source and per level
(``breakdown``).
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from delegate.records import ProblemRecord
from delegate.scoring.grade import EXTRACTED_BY

# Per-problem figures whose run metric is their sum.
_SUMS: dict[str, Callable[[ProblemRecord], float]] = {
    "llm_input_tokens": lambda r: r.llm.input_tokens,
    "llm_cached_tokens": lambda r: r.llm.cached_tokens,
    "llm_output_tokens": lambda r: r.llm.output_tokens,
    "slm_input_tokens": lambda r: r.slm.input_tokens,
    "slm_output_tokens": lambda r: r.slm.output_tokens,
    "llm_cost_usd": lambda r: r.llm.cost_usd,
    "slm_cost_usd": lambda r: r.slm.cost_usd,
    "billed_usd": lambda r: r.billed_usd,
    "cache_hits": lambda r: r.cache_hits,
}
SUMMED = tuple(_SUMS)
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
# What the metrics take: records, or per-sample rows (``ProblemRecord.to_row``'s columns; a row
# need carry only the columns the metrics read).
Records = Iterable[ProblemRecord | Row]
# The columns the metrics never read, for rows handed in without them.
_UNREAD = {"problem_id": 0, "question": "", "gold": "", "final_text": ""}


def as_records(items: Records) -> list[ProblemRecord]:
    """Records as they are; rows read as ``records.read_records`` reads them."""
    return [
        item if isinstance(item, ProblemRecord) else ProblemRecord.from_row({**_UNREAD, **item})
        for item in items
    ]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def failed(record: ProblemRecord) -> bool:
    """Whether the problem errored."""
    return bool(record.error)


def delegated(record: ProblemRecord) -> bool:
    """At least one small-model call whose reply came back (the reader counts every tool call
    of a row written before ``slm_tool_calls`` existed, when the small model was the only
    tool)."""
    return record.slm_tool_calls > 0


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


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


def _group_metrics(records: Sequence[ProblemRecord], group: str) -> dict[str, float]:
    n = len(records)
    cost = sum(r.cost_usd for r in records)
    values = {
        "accuracy": sum(r.correct for r in records) / n,
        "accuracy_strict": sum(r.correct_strict for r in records) / n,
        "n_problems": float(n),
        "cost_usd": cost,
        "cost_per_problem_usd": cost / n,
        "delegation_rate": sum(delegated(r) for r in records) / n,
        "escalation_rate": sum(r.escalated for r in records) / n,
    }
    return {f"{name}/{group}": values[name] for name in BREAKDOWN_NAMES}


def source_group(source: str) -> str:
    """The group name of a source in ``breakdown``'s metric names (``accuracy/<group>``)."""
    return _UNSAFE_RE.sub("_", source)


def breakdown(items: Records) -> dict[str, float]:
    """``BREAKDOWN_NAMES`` per source (``accuracy/gsm8k``) and per level (``accuracy/level_3``),
    sources in order of first appearance, then levels in ascending order. Records without a
    source or level (from older runs) are in no group."""
    records = as_records(items)
    groups: dict[str, list[ProblemRecord]] = defaultdict(list)
    for r in records:
        if r.source:
            groups[source_group(r.source)].append(r)
    for r in sorted((r for r in records if r.level is not None), key=lambda r: r.level or 0):
        groups[f"level_{r.level}"].append(r)
    return {k: v for group, rs in groups.items() for k, v in _group_metrics(rs, group).items()}


def aggregate(
    records: Records, wall_time_s: float = 0.0, trace_wait_s: float = 0.0
) -> dict[str, float]:
    """The metrics of these problems: ``METRIC_NAMES``, then the ``breakdown`` by source and
    level. ``delegation_rate`` is the share of problems with at least one small-model tool
    call whose reply came back (the calculator does not count; ``calculator_calls_per_problem``
    counts it), ``escalation_rate`` the share a cascade sent to the large model (0 for every
    other strategy, which never escalates); ``tool_errors`` counts tool calls that brought no
    usable answer back and ``tool_error_rate`` their share of all tool calls; ``slm_failures``
    counts small-model tool calls where the small model itself failed; ``trace_wait_s`` is how
    long the run waited, after its last problem, for traces to be written (so a run's full time
    is ``wall_time_s + trace_wait_s``).

    Args:
        records: The problems' records (rows are read into records first; columns a row lacks
            count as not measured, zero).
        wall_time_s: The problem loop's wall time.
        trace_wait_s: The wait for traces after the last problem.
    """
    rs = as_records(records)
    n = len(rs)
    if n == 0:
        raise ValueError("no rows to aggregate")
    latencies = [r.latency_s for r in rs]
    tool_calls = float(sum(r.tool_calls for r in rs))
    tool_errors = float(sum(r.router.tool_errors for r in rs))
    metrics = {
        "accuracy": sum(r.correct for r in rs) / n,
        "accuracy_strict": sum(r.correct_strict for r in rs) / n,
        "n_problems": float(n),
        "n_errors": float(sum(failed(r) for r in rs)),
        "n_truncated": float(sum(r.truncated for r in rs)),
        "latency_mean_s": statistics.fmean(latencies),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "wall_time_s": wall_time_s,
        "trace_wait_s": trace_wait_s,
        "tool_calls_per_problem": tool_calls / n,
        "delegation_rate": sum(delegated(r) for r in rs) / n,
        "calculator_calls_per_problem": sum(r.calculator_calls for r in rs) / n,
        "tool_errors": tool_errors,
        "tool_error_rate": _share(tool_errors, tool_calls),
        "slm_failures": float(sum(r.router.slm_failures for r in rs)),
        "escalation_rate": sum(r.escalated for r in rs) / n,
    }
    for name, value in _SUMS.items():
        metrics[name] = float(sum(value(r) for r in rs))
    metrics["cost_usd"] = metrics["llm_cost_usd"] + metrics["slm_cost_usd"]
    return {name: metrics[name] for name in METRIC_NAMES} | extraction_shares(rs) | breakdown(rs)


# ``extraction_shares``'s names: one share per extraction rule, then the checks cut off.
EXTRACTION_NAMES = (
    *(f"extracted_by/{rule}" for rule in (*EXTRACTED_BY, "unrecorded")),
    "grading_cut_off",
)


def extraction_shares(records: Sequence[ProblemRecord]) -> dict[str, float]:
    """``extracted_by/<rule>``: the share of answers each extraction rule found (``boxed``,
    ``marker``, ... ``none``), so a result that rests on fallbacks shows; rows that did not
    record it count under ``unrecorded``. ``grading_cut_off``: checks stopped at their limit."""
    n = len(records)
    rules = (*EXTRACTED_BY, "unrecorded")
    counts = dict.fromkeys(rules, 0)
    for r in records:
        counts[r.extracted_by if r.extracted_by in counts else "unrecorded"] += 1
    shares = {f"extracted_by/{rule}": counts[rule] / n for rule in rules}
    shares["grading_cut_off"] = float(sum(r.grade_error is not None for r in records))
    return shares
