"""The report's pictures (``compare.figures``) on a constructed sweep with one configuration of
every registered strategy: each strategy has its own colour, in every figure, and the learned
router's points, curve and share sent to the large model are drawn and named in the legends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from matplotlib.collections import Collection, LineCollection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.lines import Line2D

from delegate.compare import figures
from delegate.compare.levels import by_group
from delegate.compare.report import Comparison, build
from delegate.compare.runs import Loaded, RunResult
from delegate.strategies import STRATEGIES

from .test_compare_baselines import HARD, LLM_COST, SLM_COST, N, row
from .test_compare_curve_report import cascade_doc, document, loaded, result, router_doc


def _level(p: int) -> int:
    return 1 + p % 3


def _pure(strategy: str) -> tuple[RunResult, dict[str, Any]]:
    """LLM-only right on every problem, SLM-only on all but the hard ones."""
    big = strategy == "llm"
    rows = [
        row(p, big or p not in HARD, LLM_COST if big else 0.0, 0.0 if big else SLM_COST)
        for p in range(N)
    ]
    return result(document(strategy), [r | {"level": _level(r["problem_id"])} for r in rows])


def _router() -> tuple[RunResult, dict[str, Any]]:
    """Delegates every third problem; wrong on problem 0."""
    rows = [
        row(p, p != 0, LLM_COST / 2, 0.0, tool_calls=int(p % 3 == 0))
        | {"slm_tool_calls": int(p % 3 == 0), "level": _level(p)}
        for p in range(N)
    ]
    return result(router_doc(1), rows)


def _cascade() -> tuple[RunResult, dict[str, Any]]:
    """Escalates the hard problems (low confidence) and every fifth easy one."""
    rows = []
    for p in range(N):
        up = p in HARD or p % 5 == 1
        rows.append(
            row(
                p,
                True,
                LLM_COST if up else 0.0,
                3 * SLM_COST,
                slm_answer=str(2 * p + 3) if p not in HARD else "0",
                confidence=0.3 if up else 1.0,
                escalated=up,
                level=_level(p),
            )
        )
    return result(cascade_doc(0.5), rows)


def _learned_router() -> tuple[RunResult, dict[str, Any]]:
    """Sends the hard problems to the large model (``escalated``), the rest to the small one."""
    rows = [
        row(p, True, LLM_COST if p in HARD else 0.0, 0.0 if p in HARD else SLM_COST)
        | {"escalated": p in HARD, "level": _level(p)}
        for p in range(N)
    ]
    return result(document("learned_router", {"threshold": 0.5}), rows)


@pytest.fixture(scope="module")
def sweep() -> tuple[Loaded, Comparison]:
    runs = (_pure("llm"), _pure("slm"), _router(), _cascade(), _learned_router())
    data = loaded(*runs)
    return data, build(data)


def _colours(artist: Any) -> set[str]:
    """The hex colours an artist is drawn in (a line, an error bar's bars, scattered points)."""
    if isinstance(artist, Line2D):
        return {to_hex(artist.get_color())}
    if isinstance(artist, LineCollection):
        return {to_hex(c) for c in artist.get_colors()}
    if isinstance(artist, Collection):
        return {to_hex(c) for c in artist.get_facecolor() if c[3] > 0}
    return set()


def _legend_entries(fig: Any) -> dict[str, list[str]]:
    """Each legend text on every axes of the figure, with the colours of its handle."""
    entries: dict[str, list[str]] = {}
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            entries[text.get_text()] = sorted(_colours(handle))
    return entries


def test_every_registered_strategy_has_a_colour_of_its_own() -> None:
    names = STRATEGIES.names()
    assert "learned_router" in names
    colours = {name: to_hex(figures.colour(name)) for name in names}
    assert len(set(colours.values())) == len(names), colours
    assert to_hex(figures.colour("no_such_strategy")) not in colours.values()


def test_the_sweep_has_every_registered_strategy(sweep: tuple[Loaded, Comparison]) -> None:
    _, comparison = sweep
    assert sorted(r.strategy for r in comparison.rows) == STRATEGIES.names()
    assert {c.kind for c in comparison.curves} >= {"simulated_cascade", "learned_router"}


def test_pareto_gives_each_strategy_its_colour_and_draws_the_learned_router(
    sweep: tuple[Loaded, Comparison], tmp_path: Path
) -> None:
    data, comparison = sweep
    fig = figures.pareto(comparison.rows, data.runs, tmp_path / "p.png", "t", comparison.curves)
    assert (tmp_path / "p.png").stat().st_size > 0
    cost_ax, share_ax = fig.axes
    legend = _legend_entries(fig)
    for name in STRATEGIES.names():
        label = f"{name}: pooled, 95% CI (faint: runs)"
        assert legend[label] == [to_hex(figures.colour(name))], label
    red = to_hex(figures.colour("learned_router"))
    # The live learned router's pooled point, in its colour, on the cost panel.
    learned = next(r for r in comparison.rows if r.strategy == "learned_router")
    points = [
        line
        for line in cost_ax.get_lines()
        if to_hex(line.get_color()) == red
        and list(line.get_xdata()) == [learned.config.summary.cost_per_problem_usd]
    ]
    assert points and points[0].get_ydata()[0] == pytest.approx(learned.config.summary.accuracy)
    # Its curve in its colour on both panels, named in the legends.
    assert "learned router" in legend and legend["learned router"] == [red]
    share_lines = {line.get_label(): to_hex(line.get_color()) for line in share_ax.get_lines()}
    assert share_lines["learned router"] == red
    assert share_lines["simulated cascade"] == to_hex(figures.colour("cascade"))
    # Every mark named: the oracle, the random mix, the configurations on their curves.
    assert {"oracle (curve's colour)", "random mix between a curve's ends"} <= legend.keys()
    assert "a configuration on its curve: pooled, 95% CI" in legend
    # The learned router's live configuration sits on the share panel at its share: 8 of 40.
    assert any(
        to_hex(line.get_color()) == red and list(line.get_xdata()) == [len(HARD) / N]
        for line in share_ax.get_lines()
    )


def test_by_level_gives_each_strategy_its_colour_and_the_learned_routers_share(
    sweep: tuple[Loaded, Comparison], tmp_path: Path
) -> None:
    _, comparison = sweep
    table, _ = by_group(comparison.rows, comparison.configs.values())
    fig = figures.by_level(table, tmp_path / "b.png", "t")
    _, bottom = fig.axes
    by_configuration = {r["configuration"]: r["strategy"] for r in table}
    legend = _legend_entries(fig)
    for label, strategy in by_configuration.items():
        assert legend[label] == [to_hex(figures.colour(strategy))], label
    assert sorted(set(by_configuration.values())) == STRATEGIES.names()
    for strategy, verb in (
        ("router", "delegated to the small model"),
        ("cascade", "escalated to the large model"),
        ("learned_router", "sent to the large model"),
    ):
        assert legend[f"{strategy}: share {verb}"] == [to_hex(figures.colour(strategy))]
    # The learned router's share sent to the large model per level, in its colour.
    red = to_rgba(figures.colour("learned_router"))
    lines = [line for line in bottom.get_lines() if to_rgba(line.get_color()) == red]
    drawn = [y for line in lines for y in line.get_ydata()]
    mine = [r["escalation_rate"] for r in table if r["strategy"] == "learned_router"]
    assert mine and drawn == pytest.approx(mine)
    assert any(0 < y < 1 for y in mine)
