"""``attribution.csv``: where each router and cascade configuration goes wrong.

One row per configuration (pooled over its seeds) and category (``compare.attribution``, every
category listed, empty ones with count 0): how many problems fall in it, their share, and the
LLM-only reference's accuracy on those same (seed, problem) pairs, so a reader sees whether the
problems lost were ones the large model alone gets right. A record carries its category when the
run wrote it; rows written before the column existed are categorised here, from the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from delegate.compare.attribution import CATEGORIES, attribute

if TYPE_CHECKING:
    from delegate.compare.rows import ComparisonRow
    from delegate.compare.table import Configuration
    from delegate.records import ProblemRecord

ATTRIBUTION_COLUMNS = (
    "configuration",
    "config_id",
    "strategy",
    "category",
    "count",
    "share",
    "llm_reference_problems",
    "llm_reference_accuracy",
)


def category(record: ProblemRecord, strategy: str) -> str:
    """The record's category: as the run recorded it, else worked out from the record."""
    return record.attribution or attribute(record, strategy)


def counts(records: Iterable[ProblemRecord], strategy: str) -> dict[str, int]:
    """Problems per category, every category of ``strategy`` listed; {} for other strategies."""
    found = dict.fromkeys(CATEGORIES.get(strategy, ()), 0)
    for p in records if found else ():
        found[category(p, strategy)] += 1
    return found


def attribution_rows(
    rows: Sequence[ComparisonRow], configs: Mapping[str, Configuration]
) -> list[dict[str, Any]]:
    """The ``attribution.csv`` rows, in the comparison's row order."""
    out: list[dict[str, Any]] = []
    for row in rows:
        config, strategy = row.config, row.strategy
        if strategy not in CATEGORIES:
            continue
        llm_id = config.alone_id("llm")
        llm = configs[llm_id].by_key if llm_id is not None and llm_id in configs else {}
        by_category: dict[str, list[Any]] = {c: [] for c in CATEGORIES[strategy]}
        for key, p in config.by_key.items():
            by_category[category(p, strategy)].append(key)
        n = len(config.by_key)
        for name, keys in by_category.items():
            shared = [llm[k].correct for k in keys if k in llm]
            out.append(
                {
                    "configuration": config.label,
                    "config_id": config.config_id,
                    "strategy": strategy,
                    "category": name,
                    "count": len(keys),
                    "share": len(keys) / n if n else None,
                    "llm_reference_problems": len(shared),
                    "llm_reference_accuracy": sum(shared) / len(shared) if shared else None,
                }
            )
    return out
