"""``pareto.png``: accuracy against cost per problem, one point per run, each configuration's
pooled accuracy with its 95% interval, the cost-accuracy frontier and, for each mix of the two
models that a random mix can match in cost, that mix's accuracy. With curves
(``curve_report``), they are drawn over it, and a second panel shows accuracy against the share
sent to the large model (``curve_plot``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from delegate.compare.runs import RunResult

if TYPE_CHECKING:
    from delegate.compare.curve_report import Curve

_COLOURS = {"llm": "tab:blue", "router": "tab:green", "cascade": "tab:purple", "slm": "tab:orange"}


def frontier(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, accuracy) points no other point beats: none cheaper-or-equal and at least as
    accurate, with one of the two strictly better. Sorted by cost."""
    best: list[tuple[float, float]] = []
    for cost, accuracy in sorted(points, key=lambda p: (p[0], -p[1])):
        if not best or accuracy > best[-1][1]:
            best.append((cost, accuracy))
    return best


def pareto(
    rows: Sequence[dict[str, Any]],
    runs: Sequence[RunResult],
    path: Path,
    title: str,
    curves: Sequence[Curve] = (),
) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    if curves:
        from delegate.compare.curve_plot import draw_curves

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
            color=_COLOURS.get(r.strategy, "grey"),
            alpha=0.35,
            s=18,
        )
    labels = [row["short_label"] for row in rows]
    for i, row in enumerate(rows):  # the configuration: pooled accuracy and its interval
        x, y = row["cost_per_problem_usd"], row["accuracy"]
        colour = _COLOURS.get(row["strategy"], "grey")
        ax.errorbar(
            x,
            y,
            yerr=[[y - row["accuracy_ci_low"]], [row["accuracy_ci_high"] - y]],
            fmt="o",
            color=colour,
            capsize=4,
            markersize=7,
        )
        ax.annotate(  # staggered, so configurations at the same point stay readable
            labels[i], (x, y), textcoords="offset points", xytext=(7, 4 + 10 * (i % 4)), fontsize=7
        )
        if row.get("random_mix_accuracy") is not None:  # the mix that costs what the router costs
            ax.scatter(x, row["random_mix_accuracy"], marker="x", color="black", s=40, zorder=3)
    edge = frontier([(r["cost_per_problem_usd"], r["accuracy"]) for r in rows])
    if edge:
        xs, ys = zip(*edge, strict=True)
        ax.step(xs, ys, where="post", color="black", linewidth=1, label="frontier")
    for strategy, colour in _COLOURS.items():
        if any(r["strategy"] == strategy for r in rows):
            ax.scatter([], [], color=colour, label=f"{strategy} (95% CI; faint: single runs)")
    if any(r.get("random_mix_accuracy") is not None for r in rows):
        ax.scatter([], [], marker="x", color="black", label="random mix at the router's cost")
    reach = [float(c.table["cost_per_problem"].max()) for c in curves]
    span = max([r["cost_per_problem_usd"] for r in rows] + reach + [1e-3])
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
