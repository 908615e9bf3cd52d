"""The report's pictures, drawn with matplotlib into files (no display).

``pareto.png``: accuracy against cost per problem, one faint point per run, each configuration's
pooled accuracy with its 95% interval, the cost-accuracy frontier and, for each row that a random
mix can match in cost, that mix's accuracy. With curves (``families``, ``learned``) they are drawn
over it, with the random mix between each curve's ends and its oracle, and a second panel shows
accuracy against the share of problems sent to the large model for the curves that have one (the
simulated cascades and the learned routers), each real cascade and learned router at its share
sent. ``by_level.png``: accuracy and the share handed over (a router's delegated, a cascade's
escalated, a learned router's sent to the large model) against level, one line per
configuration. A strategy has one colour in every figure (``colour``; a curve takes the colour
of the strategy it simulates); every mark drawn has a legend entry, and legends sit outside the
axes, so they hide no point. Both functions return the (closed) figure they saved, so its artists
can be read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from delegate.compare.analysis.summaries import frontier, reachable_frontier

if TYPE_CHECKING:  # figures draw what the report hands them
    from matplotlib.figure import Figure

    from delegate.compare.families import Curve
    from delegate.compare.rows import ComparisonRow
    from delegate.compare.runs import RunResult

# One per registered strategy (``delegate.strategies.STRATEGIES``; a unit test holds them equal).
_COLOURS = {
    "llm": "tab:blue",
    "router": "tab:green",
    "cascade": "tab:purple",
    "learned_router": "tab:red",
    "slm": "tab:orange",
}
_UNKNOWN = "grey"  # a strategy this module does not know yet
_MARKERS = ("o", "s", "^", "D", "v", "P")
# A curve in the colour of the strategy it simulates or extends.
_CURVE_STYLES = {
    "simulated_cascade": ("tab:purple", "-"),
    "router_family": ("tab:green", ":"),
    "learned_router": ("tab:red", "-."),
}
# What a strategy hands over, drawn in by_level.png's lower panel; the others hand over nothing.
# A learned router sends a problem to the large model or the small one; it records the first as
# ``escalated``, like a cascade.
_HANDOVER = {
    "router": ("delegation_rate", "-", "delegated to the small model"),
    "cascade": ("escalation_rate", "--", "escalated to the large model"),
    "learned_router": ("escalation_rate", "-.", "sent to the large model"),
}


def colour(strategy: str) -> str:
    """A strategy's colour, the same in every figure."""
    return _COLOURS.get(strategy, _UNKNOWN)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def pareto(
    rows: Sequence[ComparisonRow],
    runs: Sequence[RunResult],
    path: Path,
    title: str,
    curves: Sequence[Curve] = (),
) -> Figure:
    """Draw ``pareto.png`` (see the module's docstring) into ``path``; return the figure."""
    plt = _pyplot()
    if curves:
        fig, (ax, share_ax) = plt.subplots(
            1, 2, figsize=(14, 6), dpi=120, gridspec_kw={"width_ratios": [3, 2]}
        )
        draw_curves(ax, share_ax, curves)
    else:
        fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    for r in runs:  # one faint point per run (per seed)
        ax.scatter(
            r.metrics.get("cost_usd", 0.0) / max(r.metrics.get("n_problems", 1.0), 1.0),
            r.metrics.get("accuracy", 0.0),
            color=colour(r.strategy),
            alpha=0.35,
            s=18,
        )
    _configurations(ax, rows)
    reach = [float(c.table["cost_per_problem"].max()) for c in curves]
    span = max([r.config.summary.cost_per_problem_usd for r in rows] + reach + [1e-3])
    ax.set_xlim(-0.03 * span, 1.3 * span)  # room for the labels on the right
    ax.set_xlabel("cost per problem (USD)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)  # off the data
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")  # the legends sit below the axes
    plt.close(fig)
    return fig


def _mix_accuracy(row: ComparisonRow) -> float | None:
    return row.baselines.random_mix_accuracy if row.baselines else None


def _configurations(ax: Any, rows: Sequence[ComparisonRow]) -> None:
    """Each configuration's pooled accuracy and interval, its cost-matched mix, the frontier."""
    for i, row in enumerate(rows):
        s = row.config.summary
        x, y = s.cost_per_problem_usd, s.accuracy
        ax.errorbar(
            x,
            y,
            yerr=[[y - s.accuracy_ci_low], [s.accuracy_ci_high - y]],
            fmt="o",
            color=colour(row.strategy),
            capsize=4,
            markersize=7,
        )
        ax.annotate(  # staggered, so configurations at the same point stay readable
            row.config.short_label,
            (x, y),
            textcoords="offset points",
            xytext=(7, 4 + 10 * (i % 4)),
            fontsize=7,
        )
        mix = _mix_accuracy(row)
        if mix is not None:  # the mix that costs what this configuration costs, in its colour
            ax.scatter(x, mix, marker="x", color=colour(row.strategy), s=40, zorder=3)
    edge = frontier(
        [(r.config.summary.cost_per_problem_usd, r.config.summary.accuracy) for r in rows]
    )
    if edge:
        xs, ys = zip(*edge, strict=True)
        ax.step(xs, ys, where="post", color="black", linewidth=1, label="frontier")
    for strategy in dict.fromkeys(r.strategy for r in rows):  # each strategy drawn, in order
        ax.errorbar(
            [], [], yerr=[], fmt="o", color=colour(strategy), capsize=4,
            label=f"{strategy}: pooled, 95% CI (faint: runs)",
        )  # fmt: skip
    if any(_mix_accuracy(r) is not None for r in rows):
        ax.scatter(
            [], [], marker="x", color="black",
            label="x: random LLM/SLM mix costing what the same-colour point costs",
        )  # fmt: skip


def _has_share(curve: Curve) -> bool:
    """Whether the curve sends each problem to one model (a simulated cascade, a learned
    router), so it has a share sent to the large model; a router family has none."""
    return curve.kind != "router_family" and not math.isnan(curve.oracle.strong_share)


def draw_curves(cost_ax: Any, share_ax: Any, curves: Sequence[Curve]) -> None:
    """Draw every curve on the cost panel and the binary ones on the share panel."""
    several_pairs = len({c.pair for c in curves}) > 1  # else the pair is in every label already
    on_share = [c for c in curves if _has_share(c)]
    for curve in curves:
        colour, line = _CURVE_STYLES.get(curve.kind, (_UNKNOWN, "-"))
        name = curve.kind.replace("_", " ") + (f" ({curve.pair})" if several_pairs else "")
        table = curve.table.sort_values("cost_per_problem", kind="stable")
        family = curve.kind == "router_family"
        if family:  # its points are the configurations, drawn already
            table = reachable_frontier(table)
        cost_ax.plot(
            table["cost_per_problem"],
            table["accuracy"],
            line,
            color=colour,
            alpha=0.8,
            linewidth=1.2,
            label=name + (": frontier of mixes" if family else ""),
        )
        ends_cost = [curve.weak.cost, curve.strong.cost]
        ends_accuracy = [curve.weak.accuracy, curve.strong.accuracy]
        cost_ax.plot(ends_cost, ends_accuracy, "--", color="grey", linewidth=0.8)
        cost_ax.scatter(
            curve.oracle.cost, curve.oracle.accuracy, marker="*", s=90, color=colour, zorder=4
        )
        if _has_share(curve):
            _share_panel(share_ax, curve, colour, name, first=curve is on_share[0])
    cost_ax.plot([], [], "--", color="grey", label="random mix between a curve's ends")
    cost_ax.scatter([], [], marker="*", color="black", label="oracle (curve's colour)")
    share_ax.set_xlabel("share of problems sent to the large model")
    share_ax.set_ylabel("accuracy")
    share_ax.set_xlim(-0.02, 1.02)
    share_ax.set_ylim(-0.02, 1.02)
    share_ax.grid(alpha=0.3)
    if any(c.members for c in on_share):
        share_ax.errorbar(
            [], [], yerr=[], fmt="o", color="black", capsize=3, markersize=5,
            label="a configuration on its curve: pooled, 95% CI",
        )  # fmt: skip
    if on_share:
        share_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1)
    else:
        share_ax.text(
            0.5,
            0.5,
            "no curve with a share sent to the large model\n"
            "(no cascade run, no LLM-only and SLM-only pair)",
            ha="center",
            fontsize=8,
        )


def _share_panel(ax: Any, curve: Curve, colour: str, name: str, first: bool) -> None:
    table = curve.table.sort_values("strong_share", kind="stable")
    ax.plot(table["strong_share"], table["accuracy"], "-", color=colour, label=name)
    ax.plot(
        [0, 1],
        [curve.weak.accuracy, curve.strong.accuracy],
        "--",
        color="grey",
        linewidth=0.8,
        label="random mix between a curve's ends" if first else None,
    )
    ax.scatter(
        curve.oracle.strong_share,
        curve.oracle.accuracy,
        marker="*",
        s=90,
        color=colour,
        zorder=4,
        label="oracle (curve's colour)" if first else None,
    )
    for j, member in enumerate(curve.members):
        y = member.accuracy
        ax.errorbar(
            member.strong_share,
            y,
            yerr=[[y - member.low], [member.high - y]],
            fmt="o",
            color=colour,
            capsize=3,
            markersize=5,
        )
        ax.annotate(
            member.label,
            (member.strong_share, y),
            textcoords="offset points",
            xytext=(6, 4 + 9 * (j % 4)),
            fontsize=6,
        )


def by_level(table: Sequence[Mapping[str, Any]], path: Path, title: str) -> Figure:
    """``by_level.png``: accuracy (with its 95% interval) and the share of problems handed over
    (a router's delegated, a cascade's escalated, a learned router's sent to the large model)
    against level, one line per configuration; return the figure."""
    plt = _pyplot()
    configurations = list(dict.fromkeys(r["configuration"] for r in table))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7.5), dpi=120, sharex=True)
    seen: dict[str, int] = {}  # configurations drawn so far per strategy: their marker
    for i, label in enumerate(configurations):
        mine = [r for r in table if r["configuration"] == label]
        # Side by side at each level, so equal values and their intervals stay apart.
        xs = [r["level"] + 0.05 * (i - (len(configurations) - 1) / 2) for r in mine]
        ys = [r["accuracy"] for r in mine]
        errors = [
            [y - r["accuracy_ci_low"] for y, r in zip(ys, mine, strict=True)],
            [r["accuracy_ci_high"] - y for y, r in zip(ys, mine, strict=True)],
        ]
        strategy = mine[0]["strategy"]
        # The strategy's colour, as in pareto.png; its configurations told apart by marker.
        marker = _MARKERS[seen.get(strategy, 0) % len(_MARKERS)]
        seen[strategy] = seen.get(strategy, 0) + 1
        style = {"color": colour(strategy), "marker": marker}
        top.errorbar(xs, ys, yerr=errors, linestyle="-", capsize=3, label=label, **style)
        handover = _HANDOVER.get(strategy)
        if handover:
            column, line, _ = handover
            bottom.plot(xs, [r[column] for r in mine], line, **style)
    _level_axes(top, bottom, table)
    top.set_title(title, fontsize=9)
    # Beside the panels, at the top: seen without scrolling, over no data.
    top.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return fig


def _level_axes(top: Any, bottom: Any, table: Sequence[Mapping[str, Any]]) -> None:
    """by_level.png's ticks (under each level, its number of problems when every configuration
    has the same), labels, the handover legend and the limits."""
    levels = sorted({r["level"] for r in table})
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
            bottom.plot([], [], style, color=colour(strategy), label=f"{strategy}: share {verb}")
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    else:
        bottom.text(
            0.5,
            0.5,
            "no router, cascade or learned_router configuration",
            ha="center",
            transform=bottom.transAxes,
            fontsize=8,
        )
    for ax in (top, bottom):
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
