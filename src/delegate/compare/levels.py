"""The comparison by level and by source: does the large model hand over the easy problems?

For each configuration (pooled over its seeds, as in ``comparison.csv``) and each level or source
its problems carry: accuracy with its 95% Wilson interval, the share of problems delegated
(router) or escalated (cascade) and the cost per problem; by level, a router's or cascade's
problems per attribution category too (``failures``). The figures are read from
``metrics.breakdown`` on the pooled records, so they mean what the run's ``accuracy/level_3`` and
``accuracy/gsm8k`` mean. Records without a level or source (older runs) are in no group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from delegate.compare.analysis.intervals import proportion_interval
from delegate.compare.failures import counts
from delegate.metrics import breakdown, source_group

if TYPE_CHECKING:
    from delegate.compare.rows import ComparisonRow
    from delegate.compare.table import Configuration
    from delegate.records import ProblemRecord

FIGURES = (
    "problems",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "delegation_rate",
    "escalation_rate",
    "cost_per_problem_usd",
)
# The level's problems per attribution category (router and cascade rows; JSON in the CSV).
LEVEL_COLUMNS = ("configuration", "config_id", "strategy", "level", *FIGURES, "attribution")
SOURCE_COLUMNS = ("configuration", "config_id", "strategy", "source", *FIGURES)


def _figures(metrics: Mapping[str, float], group: str) -> dict[str, Any]:
    n = int(metrics[f"n_problems/{group}"])
    accuracy = metrics[f"accuracy/{group}"]
    low, high = proportion_interval(round(accuracy * n), n)
    return {
        "problems": n,
        "accuracy": accuracy,
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "delegation_rate": metrics[f"delegation_rate/{group}"],
        "escalation_rate": metrics[f"escalation_rate/{group}"],
        "cost_per_problem_usd": metrics[f"cost_per_problem_usd/{group}"],
    }


def _sources(records: Iterable[ProblemRecord]) -> list[str]:
    """The sources the records carry, in order of first appearance."""
    return list(dict.fromkeys(p.source for p in records if p.source))


def by_group(
    rows: Sequence[ComparisonRow], configs: Iterable[Configuration]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The by-level and by-source tables: for each comparison row (in its order), one row per
    level (ascending) and one per source (in order of first appearance over all
    ``configs``, taken in the order they were loaded) that its pooled records carry."""
    sources = _sources(p for c in configs for p in c.records)
    by_level: list[dict[str, Any]] = []
    by_source: list[dict[str, Any]] = []
    for row in rows:
        records = row.config.records
        metrics = breakdown(records)
        head = {
            "configuration": row.config.label,
            "config_id": row.config.config_id,
            "strategy": row.strategy,
        }
        for level in sorted({p.level for p in records if p.level is not None}):
            found = counts((p for p in records if p.level == level), row.strategy) or None
            figures = _figures(metrics, f"level_{level}")
            by_level.append({**head, "level": level, **figures, "attribution": found})
        mine = set(_sources(records))
        for source in (s for s in sources if s in mine):
            by_source.append({**head, "source": source, **_figures(metrics, source_group(source))})
    return by_level, by_source
