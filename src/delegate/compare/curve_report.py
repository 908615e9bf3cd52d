"""Cost-accuracy curves from what the runs already logged, with no model calls: ``curves.csv``,
and per router or cascade row its PGR and its test against the random mix.

Two kinds of curve, each for a (large, small) model pair whose LLM-only configuration is in the
report:

- ``simulated_cascade``: from a cascade run's per-problem confidence and small-model majority
  answer (``slm_answer``, graded with the problem's answer type) and the LLM-only run's answers
  on the same (seed, problem) pairs, the cascade at every threshold (``curves.cascade_curve``).
  Cascade configurations that differ only in ``cascade.threshold``, ``cascade.escalate`` or the
  review prompt draw the same samples, so they make one curve. The gap it recovers runs from its
  own all-small end (the majority answer's accuracy, every sample paid) to LLM-only.
- ``router_family``: router configurations with the same LLM-only and SLM-only references (they
  differ in prompt set or ``router.*`` settings only), at least two, with the two pure models as
  end points. A router always shows the problem to the large model, so it has no share of
  problems "sent to the large model": the family is a curve over cost only, summarised by AIQ
  and by CPT in USD on the frontier that mixing its points reaches; APGR and CPT as a share are
  left empty.

Per router and cascade row, on the (seed, problem) pairs it shares with its LLM-only and SLM-only
references: PGR = (accuracy - SLM-only) / (LLM-only - SLM-only), and its accuracy minus the
random mix's at its own cost, with a seeded paired bootstrap 95% interval.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from delegate.compare.curve_families import (
    Configurations,
    Curve,
    Key,
    Row,
    alone_id,
    router_family,
    row_cost,
    sample_family,
    simulated_cascade,
)
from delegate.compare.curves import paired_bootstrap_beats_random
from delegate.compare.runs import Loaded

__all__ = [
    "CURVE_CSV_COLUMNS",
    "ROW_COLUMNS",
    "Curve",
    "annotate",
    "markdown_lines",
    "write_curves",
]

BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000
ROW_COLUMNS = (
    "pgr",
    "pgr_problems",
    "beats_random_mix",
    "beats_random_mix_diff",
    "beats_random_mix_ci_low",
    "beats_random_mix_ci_high",
)
CURVE_CSV_COLUMNS = (
    "pair",
    "kind",
    "configurations",
    "problems",
    "points",
    "weak_accuracy",
    "strong_accuracy",
    "weak_cost_per_problem_usd",
    "strong_cost_per_problem_usd",
    "oracle_accuracy",
    "oracle_strong_share",
    "oracle_cost_per_problem_usd",
    "apgr",
    "cpt50",
    "cpt80",
    "cpt50_usd",
    "cpt80_usd",
    "aiq",
)
# Where a row keeps the summaries of the curves it belongs to (for ``report.markdown``).
CURVES_KEY = "curves"


def _versus_references(configs: Configurations, cid: str) -> dict[str, Any]:
    """A router or cascade row's PGR and its bootstrap test against the random mix."""
    document = configs.documents[cid]
    llm, slm = alone_id(document, "llm"), alone_id(document, "slm")
    empty = dict.fromkeys(ROW_COLUMNS)
    if llm not in configs.groups or slm not in configs.groups or llm is None or slm is None:
        return empty
    mine, strong, weak = configs.problems(cid), configs.problems(llm), configs.problems(slm)
    keys = sorted(mine.keys() & strong.keys() & weak.keys())
    if not keys:
        return empty

    def correct(rows: Mapping[Key, Row]) -> np.ndarray:
        return np.array([bool(rows[k]["correct"]) for k in keys], dtype=float)

    def cost(rows: Mapping[Key, Row]) -> np.ndarray:
        return np.array([row_cost(rows[k]) for k in keys])

    run_ok, strong_ok, weak_ok = correct(mine), correct(strong), correct(weak)
    gap = strong_ok.mean() - weak_ok.mean()
    test = paired_bootstrap_beats_random(
        run_ok,
        cost(mine),
        strong_ok,
        weak_ok,
        cost(strong),
        cost(weak),
        resamples=BOOTSTRAP_RESAMPLES,
        seed=BOOTSTRAP_SEED,
    )
    verdict = None
    if test.applies and not math.isnan(test.low):
        verdict = "yes" if test.low > 0 else "no" if test.high < 0 else "not shown"
    return {
        "pgr": float((run_ok.mean() - weak_ok.mean()) / gap) if gap else None,
        "pgr_problems": len(keys),
        "beats_random_mix": verdict,
        "beats_random_mix_diff": test.difference if test.applies else None,
        "beats_random_mix_ci_low": None if math.isnan(test.low) else test.low,
        "beats_random_mix_ci_high": None if math.isnan(test.high) else test.high,
    }


def annotate(rows: Sequence[dict[str, Any]], loaded: Loaded) -> list[Curve]:
    """Add ``ROW_COLUMNS`` to the router and cascade rows (the others get None) and return the
    curves, simulated cascades first; each row lists the summaries of its curves under
    ``CURVES_KEY``. Notes on curves that cannot be built go to ``loaded.notes``."""
    configs = Configurations(rows, loaded)
    for row in rows:
        if row["strategy"] in ("router", "cascade"):
            row.update(_versus_references(configs, row["config_id"]))
        else:
            row.update(dict.fromkeys(ROW_COLUMNS))
        row[CURVES_KEY] = []
    cascades: dict[str, list[str]] = {}
    routers: dict[tuple[str, str], list[str]] = {}
    for cid in sorted(configs.groups):
        identity = configs.documents[cid]["identity"]
        if identity["strategy"] == "cascade":
            cascades.setdefault(sample_family(identity), []).append(cid)
        elif identity["strategy"] == "router":
            llm, slm = (
                alone_id(configs.documents[cid], "llm"),
                alone_id(configs.documents[cid], "slm"),
            )
            if llm in configs.groups and slm in configs.groups and llm and slm:
                routers.setdefault((llm, slm), []).append(cid)
    curves: list[Curve | None] = [simulated_cascade(configs, m) for m in cascades.values()]
    curves += [router_family(configs, m, *refs) for refs, m in routers.items() if len(m) >= 2]
    built = [c for c in curves if c is not None]
    for curve in built:
        for cid in curve.config_ids:
            configs.rows[cid][CURVES_KEY].append(curve.summary)
    return built


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else value


def write_curves(curves: Sequence[Curve], out: Path) -> Path:
    """``curves.csv``: one row per curve (``CURVE_CSV_COLUMNS``); an empty cell is a number
    that does not apply (APGR of a router family) or is undefined (no gap to recover)."""
    path = out / "curves.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CURVE_CSV_COLUMNS)
        writer.writeheader()
        for curve in curves:
            writer.writerow({k: _csv_cell(curve.summary.get(k)) for k in CURVE_CSV_COLUMNS})
    return path


def markdown_lines(rows: Sequence[Row]) -> list[str]:
    """The curves the rows belong to (under ``CURVES_KEY``) as a Markdown table; none: []."""
    seen: dict[tuple[str, str, str], Row] = {}
    for row in rows:
        for summary in row.get(CURVES_KEY) or ():
            seen.setdefault((summary["pair"], summary["kind"], summary["configurations"]), summary)
    if not seen:
        return []

    def num(value: Any, fmt: str) -> str:
        return "" if value is None or math.isnan(value) else format(value, fmt)

    lines = [
        "| pair | curve | problems | APGR | CPT(50%) | CPT(80%) | CPT(50%) $/problem "
        "| CPT(80%) $/problem | AIQ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in seen.values():
        lines.append(
            f"| {s['pair']} | {s['kind']} | {s['problems']} | {num(s['apgr'], '.3f')} "
            f"| {num(s['cpt50'], '.0%')} | {num(s['cpt80'], '.0%')} "
            f"| {num(s['cpt50_usd'], '.6f')} | {num(s['cpt80_usd'], '.6f')} "
            f"| {num(s['aiq'], '.3f')} |"
        )
    return lines
