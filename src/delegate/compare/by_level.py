"""The comparison by level and by source: does the large model hand over the easy problems?

For each configuration (pooled over its seeds, as in ``comparison.csv``) and each level or source
its problems carry: accuracy with its 95% Wilson interval, the share of problems delegated
(router) or escalated (cascade) and the cost per problem. The figures are read from
``metrics.breakdown`` on the pooled rows, so they mean what the run's ``accuracy/level_3`` and
``accuracy/gsm8k`` mean. ``by_level.png`` draws accuracy and the handed-over share against level,
one line per configuration. Rows without a level or source (older runs) are in no group; when no
configuration has any, no file is written.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from delegate.compare import stats
from delegate.compare.runs import RunResult
from delegate.metrics import Row, breakdown, row_level, source_group

log = logging.getLogger(__name__)

FIGURES = (
    "problems",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "delegation_rate",
    "escalation_rate",
    "cost_per_problem_usd",
)
LEVEL_COLUMNS = ("configuration", "config_id", "strategy", "level", *FIGURES)
SOURCE_COLUMNS = ("configuration", "config_id", "strategy", "source", *FIGURES)


def _figures(metrics: dict[str, float], group: str) -> dict[str, Any]:
    n = int(metrics[f"n_problems/{group}"])
    accuracy = metrics[f"accuracy/{group}"]
    low, high = stats.proportion_interval(round(accuracy * n), n)
    return {
        "problems": n,
        "accuracy": accuracy,
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "delegation_rate": metrics[f"delegation_rate/{group}"],
        "escalation_rate": metrics[f"escalation_rate/{group}"],
        "cost_per_problem_usd": metrics[f"cost_per_problem_usd/{group}"],
    }


def _sources(rows: Iterable[Row]) -> list[str]:
    """The sources the rows carry, in order of first appearance."""
    seen: dict[str, None] = {}
    for r in rows:
        if isinstance(r.get("source"), str) and r["source"]:
            seen.setdefault(r["source"])
    return list(seen)


def by_group(
    rows: Sequence[dict[str, Any]], runs: Sequence[RunResult]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The by-level and by-source tables: for each comparison row (``report.compare``'s, in its
    order), one row per level (ascending) and one per source (in order of first appearance over
    all configurations) that its pooled per-sample rows carry."""
    pooled: dict[str, list[Row]] = {}
    for r in runs:
        pooled.setdefault(r.config_id, []).extend(r.problems)
    sources = _sources(p for problems in pooled.values() for p in problems)
    by_level: list[dict[str, Any]] = []
    by_source: list[dict[str, Any]] = []
    for row in rows:
        problems = pooled[row["config_id"]]
        metrics = breakdown(problems)
        head = {k: row[k] for k in ("configuration", "config_id", "strategy")}
        levels = sorted({level for p in problems if (level := row_level(p)) is not None})
        for level in levels:
            by_level.append({**head, "level": level, **_figures(metrics, f"level_{level}")})
        mine = set(_sources(problems))
        for source in (s for s in sources if s in mine):
            by_source.append({**head, "source": source, **_figures(metrics, source_group(source))})
    return by_level, by_source


def _write_csv(path: Path, columns: Sequence[str], table: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in table:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def write_by_level(
    rows: Sequence[dict[str, Any]],
    runs: Sequence[RunResult],
    out: Path,
    experiment: str,
    sweep: str | None = None,
) -> list[Path]:
    """Write ``comparison_by_level.csv``, ``comparison_by_source.csv`` and ``by_level.png`` into
    ``out`` (each only when some problem carries a level, or a source); return their paths."""
    by_level, by_source = by_group(rows, runs)
    title = f"{experiment}" + (f", sweep {sweep}" if sweep else "") + ": by level"
    written: list[Path] = []
    if by_level:
        written.append(out / "comparison_by_level.csv")
        _write_csv(written[-1], LEVEL_COLUMNS, by_level)
    if by_source:
        written.append(out / "comparison_by_source.csv")
        _write_csv(written[-1], SOURCE_COLUMNS, by_source)
    if by_level:
        written.append(out / "by_level.png")
        plot(by_level, written[-1], title)
    else:
        log.info("no problem carries a level: no comparison by level")
    return written


# What a strategy hands over, drawn in the lower panel; the others hand over nothing.
_HANDOVER = {
    "router": ("delegation_rate", "-", "delegated"),
    "cascade": ("escalation_rate", "--", "escalated"),
}


def plot(table: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """``by_level.png``: accuracy (with its 95% interval) and the share of problems handed over
    (a router's delegated, a cascade's escalated) against level, one line per configuration."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    configurations = list(dict.fromkeys(r["configuration"] for r in table))
    levels = sorted({r["level"] for r in table})
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7.5), dpi=120, sharex=True)
    colours = plt.get_cmap("tab10")
    for i, label in enumerate(configurations):
        mine = [r for r in table if r["configuration"] == label]
        # Side by side at each level, so equal values and their intervals stay apart.
        xs = [r["level"] + 0.05 * (i - (len(configurations) - 1) / 2) for r in mine]
        ys = [r["accuracy"] for r in mine]
        errors = [
            [y - r["accuracy_ci_low"] for y, r in zip(ys, mine, strict=True)],
            [r["accuracy_ci_high"] - y for y, r in zip(ys, mine, strict=True)],
        ]
        colour = colours(i % 10)
        top.errorbar(xs, ys, yerr=errors, fmt="o-", color=colour, capsize=3, label=label)
        handover = _HANDOVER.get(mine[0]["strategy"])
        if handover:
            column, style, _ = handover
            bottom.plot(xs, [r[column] for r in mine], style, marker="o", color=colour)
    # Under each level, its number of problems when every configuration has the same.
    ticks = []
    for level in levels:
        counts = {r["problems"] for r in table if r["level"] == level}
        ticks.append(f"{level}\n(n={counts.pop()})" if len(counts) == 1 else str(level))
    bottom.set_xticks(levels, ticks)
    bottom.set_xlabel("level (1 easiest)")
    top.set_ylabel("accuracy (95% CI)")
    bottom.set_ylabel("share handed over")
    for strategy, (_, style, verb) in _HANDOVER.items():
        if any(r["strategy"] == strategy for r in table):
            bottom.plot([], [], style, color="black", label=f"{strategy}: share {verb}")
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=7, loc="best")
    else:
        bottom.text(
            0.5,
            0.5,
            "no router or cascade configuration",
            ha="center",
            transform=bottom.transAxes,
            fontsize=8,
        )
    for ax in (top, bottom):
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    top.set_title(title, fontsize=9)
    fig.legend(
        *top.get_legend_handles_labels(),
        fontsize=7,
        loc="lower center",
        ncol=1,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.tight_layout(rect=(0, 0.01 + 0.022 * len(configurations), 1, 1))  # room for the legend
    fig.savefig(path)
    plt.close(fig)
