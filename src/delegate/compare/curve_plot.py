"""Drawing ``curve_report``'s curves on ``pareto.png``: over the cost panel, each curve, the
random mix between its two ends and its oracle; on a second panel, accuracy against the share of
problems sent to the large model, for the curves that have one (the simulated cascades), with
each real cascade configuration at its escalated share and its 95% interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from delegate.compare.curve_report import Curve

_STYLES = {"simulated_cascade": ("tab:purple", "-"), "router_family": ("tab:green", ":")}


def draw_curves(cost_ax: Any, share_ax: Any, curves: Sequence[Curve]) -> None:
    """Draw every curve on the cost panel and the binary ones on the share panel."""
    several_pairs = len({c.pair for c in curves}) > 1  # else the pair is in every label already
    for i, curve in enumerate(curves):
        colour, line = _STYLES.get(curve.kind, ("grey", "-"))
        name = curve.kind.replace("_", " ") + (f" ({curve.pair})" if several_pairs else "")
        table = curve.table.sort_values("cost_per_problem", kind="stable")
        if curve.kind == "router_family":  # its points are the configurations, drawn already
            from delegate.compare.curves import reachable_frontier

            table = reachable_frontier(table)
        cost_ax.plot(
            table["cost_per_problem"],
            table["accuracy"],
            line,
            color=colour,
            alpha=0.8,
            linewidth=1.2,
            label=f"{name}" + (": frontier of mixes" if curve.kind == "router_family" else ""),
        )
        ends_cost = [curve.weak.cost, curve.strong.cost]
        ends_accuracy = [curve.weak.accuracy, curve.strong.accuracy]
        cost_ax.plot(ends_cost, ends_accuracy, "--", color="grey", linewidth=0.8)
        cost_ax.scatter(
            curve.oracle.cost, curve.oracle.accuracy, marker="*", s=90, color=colour, zorder=4
        )
        if not math.isnan(curve.oracle.strong_share) and curve.kind == "simulated_cascade":
            _share_panel(share_ax, curve, colour, name, first=i == 0)
    cost_ax.plot([], [], "--", color="grey", label="random mix between a curve's ends")
    cost_ax.scatter([], [], marker="*", color="black", label="oracle")
    share_ax.set_xlabel("share of problems sent to the large model")
    share_ax.set_ylabel("accuracy")
    share_ax.set_xlim(-0.02, 1.02)
    share_ax.set_ylim(-0.02, 1.02)
    share_ax.grid(alpha=0.3)
    if any(c.kind == "simulated_cascade" for c in curves):
        share_ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1)
    else:
        share_ax.text(0.5, 0.5, "no curve with a share\n(no cascade run)", ha="center")


def _share_panel(ax: Any, curve: Curve, colour: str, name: str, first: bool) -> None:
    table = curve.table.sort_values("strong_share", kind="stable")
    ax.plot(table["strong_share"], table["accuracy"], "-", color=colour, label=name)
    ax.plot(
        [0, 1],
        [curve.weak.accuracy, curve.strong.accuracy],
        "--",
        color="grey",
        linewidth=0.8,
        label="random mix" if first else None,
    )
    ax.scatter(
        curve.oracle.strong_share,
        curve.oracle.accuracy,
        marker="*",
        s=90,
        color=colour,
        zorder=4,
        label="oracle" if first else None,
    )
    for j, member in enumerate(curve.members):
        y = member["accuracy"]
        ax.errorbar(
            member["strong_share"],
            y,
            yerr=[[y - member["low"]], [member["high"] - y]],
            fmt="o",
            color=colour,
            capsize=3,
            markersize=5,
        )
        ax.annotate(
            member["label"],
            (member["strong_share"], y),
            textcoords="offset points",
            xytext=(6, 4 + 9 * (j % 4)),
            fontsize=6,
        )
