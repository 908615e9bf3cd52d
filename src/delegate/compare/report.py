"""The comparison report: from loaded runs to its files, in the order the data flows.

``build`` groups the runs by configuration (``table``), traces the curves their logged answers
make (``families``) and sets each configuration against its references (``rows``);
``write_report`` writes ``comparison.csv``, ``comparison.json``, ``pareto.png``, ``curves.csv``
``attribution.csv`` (where each router and cascade goes wrong, ``failures``; only when the report
has one) and the comparison by level and source (``levels``: ``comparison_by_level.csv``,
``comparison_by_source.csv``, ``by_level.png``, each only when some problem carries a level, or
a source), rendered by ``render`` and drawn by ``figures``. ``markdown`` prints the headline
tables. Nothing here reads the store except ``write_report`` without ``loaded`` (``runs``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delegate.compare import figures
from delegate.compare.failures import ATTRIBUTION_COLUMNS, attribution_rows
from delegate.compare.families import Curve, families
from delegate.compare.learned import learned_curves
from delegate.compare.levels import LEVEL_COLUMNS, SOURCE_COLUMNS, by_group
from delegate.compare.render import (
    CURVE_CSV_COLUMNS,
    markdown,
    write_csv,
    write_json,
)
from delegate.compare.rows import COLUMNS, ROW_COLUMNS, ComparisonRow, comparison_rows
from delegate.compare.runs import Loaded, load_runs
from delegate.compare.table import Configuration, configurations, seed_order

__all__ = ["COLUMNS", "ROW_COLUMNS", "Comparison", "build", "compare", "markdown", "write_report"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    """Everything a report shows: its rows in order, the settings that vary between them, the
    curves, and the configurations (in the order their runs were loaded)."""

    rows: list[ComparisonRow]
    settings: list[str]
    curves: list[Curve]
    configs: Mapping[str, Configuration]


def all_curves(configs: Mapping[str, Configuration], notes: list[str]) -> list[Curve]:
    """Simulated cascades, router families, then learned-router curves."""
    return [*families(configs, notes), *learned_curves(configs, notes)]


def build(loaded: Loaded) -> Comparison:
    """The comparison of the loaded runs; notes on curves that cannot be built go to
    ``loaded.notes``."""
    configs, settings = configurations(loaded)
    curves = all_curves(configs, loaded.notes)
    return Comparison(comparison_rows(configs, curves), settings, curves, configs)


def compare(loaded: Loaded) -> tuple[list[dict[str, Any]], list[str]]:
    """The comparison rows as their cells (LLM-only first, then the mixes, then SLM-only) and
    the settings that vary between the configurations (one column each)."""
    comparison = build(loaded)
    return [row.cells() for row in comparison.rows], comparison.settings


def annotate(rows: Sequence[dict[str, Any]], loaded: Loaded) -> list[Curve]:
    """The curves of the loaded runs, simulated cascades first. ``compare``'s rows carry their
    PGR, test and curves already; ``rows`` are brought up to date for rows built otherwise.
    A note already in ``loaded.notes`` is not added twice."""
    notes: list[str] = []
    configs, _ = configurations(loaded)
    curves = all_curves(configs, notes)
    loaded.notes.extend(n for n in notes if n not in loaded.notes)
    cells = {row.config.config_id: row.cells() for row in comparison_rows(configs, curves)}
    for row in rows:
        mine = cells[row["config_id"]]
        row.update({k: mine[k] for k in (*ROW_COLUMNS, "curves")})
    return curves


def _document(
    experiment: str,
    sweep: str | None,
    comparison: Comparison,
    columns: Sequence[str],
    loaded: Loaded,
) -> dict[str, Any]:
    labels = {cid: c.label for cid, c in comparison.configs.items()}
    runs = sorted(loaded.runs, key=lambda r: (labels[r.config_id], seed_order(r.seed)))
    return {
        "experiment": experiment,
        "sweep": sweep,
        "confidence": 0.95,
        "settings": comparison.settings,
        "rows": [{k: row.cells().get(k) for k in columns} for row in comparison.rows],
        "runs": [
            {
                "run_id": r.run_id,
                "configuration": labels[r.config_id],
                "config_id": r.config_id,
                "seed": r.seed,
                "sweep": r.sweep,
            }
            for r in runs
        ],
        "notes": loaded.notes,
    }


def _write_levels(comparison: Comparison, out: Path, title: str) -> list[Path]:
    """The comparison by level and by source, and its picture; each only where some problem
    carries a level (or a source)."""
    by_level, by_source = by_group(comparison.rows, comparison.configs.values())
    written = []
    if by_level:
        written.append(write_csv(out / "comparison_by_level.csv", LEVEL_COLUMNS, by_level))
    if by_source:
        written.append(write_csv(out / "comparison_by_source.csv", SOURCE_COLUMNS, by_source))
    if by_level:
        figures.by_level(by_level, out / "by_level.png", f"{title}: by level")
        written.append(out / "by_level.png")
    else:
        log.info("no problem carries a level: no comparison by level")
    return written


def write_report(
    experiment: str, sweep: str | None, out: Path, loaded: Loaded | None = None
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Write the report's files (see the module's docstring) into ``out``, reading the runs
    from the store unless ``loaded`` is given; return the files' paths and the rows' cells."""
    loaded = load_runs(experiment, sweep) if loaded is None else loaded
    comparison = build(loaded)
    columns = [*COLUMNS, *ROW_COLUMNS, *comparison.settings]
    out.mkdir(parents=True, exist_ok=True)
    cells = [row.cells() for row in comparison.rows]
    files = [
        write_csv(out / "comparison.csv", columns, cells),
        write_json(
            out / "comparison.json", _document(experiment, sweep, comparison, columns, loaded)
        ),
    ]
    title = f"{experiment}" + (f", sweep {sweep}" if sweep else "")
    figures.pareto(comparison.rows, loaded.runs, out / "pareto.png", title, comparison.curves)
    files.append(out / "pareto.png")
    summaries = [c.summary for c in comparison.curves]
    files.append(write_csv(out / "curves.csv", CURVE_CSV_COLUMNS, summaries))
    failures = attribution_rows(comparison.rows, comparison.configs)
    if failures:
        files.append(write_csv(out / "attribution.csv", ATTRIBUTION_COLUMNS, failures))
    return [*files, *_write_levels(comparison, out, title)], cells
