"""The ``learned_router`` curve: for every LLM-only and SLM-only pair of configurations on the
same problems (same dataset and sample, same answer instructions), the curve a learned
pre-generation router traces, cross-fitted on the pair's own logged outcomes
(``analysis.learned.learned_router_scores``): every problem scored by a router that never saw
its label, the problem sent to the large model when its score reaches each threshold in turn,
paying only the model it goes to. Summarised like the simulated cascade (APGR, CPT, AIQ), with a
paired bootstrap of its APGR against the random mix's 0.5. A live ``strategy=learned_router``
configuration with the same two references is drawn on it at its share sent to the large model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from delegate.compare.analysis.baselines import oracle_point
from delegate.compare.analysis.curves import routing_curve
from delegate.compare.analysis.learned import apgr_against_random, learned_router_scores
from delegate.compare.families import Curve, Member, Point, summary_numbers
from delegate.compare.table import Configuration

FOLDS, SEED, RESAMPLES = 5, 0, 2000
# Fewer shared problems than this make folds of two or three problems: no curve, a note.
MIN_PROBLEMS = 20


def _same_problems(llm: Configuration, slm: Configuration) -> bool:
    a, b = llm.document["identity"], slm.document["identity"]
    return bool(a["dataset"] == b["dataset"] and a["prompt"] == b["prompt"])


def _verdict(low: float, high: float) -> str | None:
    if math.isnan(low):
        return None
    return "yes" if low > 0 else "no" if high < 0 else "not shown"


def _member(config: Configuration) -> Member:
    records = config.records
    s = config.summary
    return Member(
        label=config.short_label,
        strong_share=sum(p.escalated for p in records) / len(records),
        accuracy=s.accuracy,
        low=s.accuracy_ci_low,
        high=s.accuracy_ci_high,
        cost=s.cost_per_problem_usd,
    )


def learned_curve(
    llm: Configuration, slm: Configuration, live: Sequence[Configuration], notes: list[str]
) -> Curve | None:
    """The pair's learned-router curve, with the live configurations ``live`` on it; None,
    with a note, on too few shared problems."""
    pair = f"{llm.tags['llm']} + {slm.tags['slm']}"
    keys = sorted(llm.by_key.keys() & slm.by_key.keys())
    if len(keys) < MIN_PROBLEMS:
        notes.append(
            f"no learned_router curve for {pair}: {len(keys)} shared problem(s), fewer than "
            f"{MIN_PROBLEMS}"
        )
        return None
    questions = [k[2] for k in keys]
    strong = np.array([llm.by_key[k].correct for k in keys], dtype=float)
    weak = np.array([slm.by_key[k].correct for k in keys], dtype=float)
    strong_usd = np.array([llm.by_key[k].cost_usd for k in keys])
    weak_usd = np.array([slm.by_key[k].cost_usd for k in keys])
    scores = learned_router_scores(questions, strong, weak, folds=FOLDS, seed=SEED)
    table = routing_curve(scores, strong, weak, strong_usd, weak_usd)
    weak_end = Point(0.0, float(weak.mean()), float(weak_usd.mean()))
    strong_end = Point(1.0, float(strong.mean()), float(strong_usd.mean()))
    diff, low, high = apgr_against_random(scores, strong, weak, resamples=RESAMPLES, seed=SEED)
    best = oracle_point(strong, weak, strong_usd, weak_usd)
    summary = {
        "pair": pair,
        "kind": "learned_router",
        "configurations": "; ".join([llm.label, slm.label, *(c.label for c in live)]),
        "problems": len(keys),
        "weak_accuracy": weak_end.accuracy,
        "strong_accuracy": strong_end.accuracy,
        "weak_cost_per_problem_usd": weak_end.cost,
        "strong_cost_per_problem_usd": strong_end.cost,
        "oracle_accuracy": best.accuracy,
        "oracle_strong_share": best.strong_share,
        "oracle_cost_per_problem_usd": best.cost,
        **summary_numbers(table, weak_end, strong_end, binary=True),
        "beats_random_mix": _verdict(low, high),
        "apgr_minus_random": None if math.isnan(diff) else diff,
        "apgr_minus_random_ci_low": None if math.isnan(low) else low,
        "apgr_minus_random_ci_high": None if math.isnan(high) else high,
    }
    ids = (llm.config_id, slm.config_id, *(c.config_id for c in live))
    members = tuple(_member(c) for c in live)
    return Curve(pair, "learned_router", table, weak_end, strong_end, best, summary, ids, members)


def learned_curves(configs: Mapping[str, Configuration], notes: list[str]) -> list[Curve]:
    """A learned-router curve for every LLM-only and SLM-only pair on the same problems (by
    id), with the live ``learned_router`` configurations whose references they are."""
    ordered = [configs[cid] for cid in sorted(configs)]
    curves = []
    for llm in (c for c in ordered if c.strategy == "llm"):
        for slm in (c for c in ordered if c.strategy == "slm" and _same_problems(llm, c)):
            live = [
                c
                for c in ordered
                if c.strategy == "learned_router"
                and c.alone_id("llm") == llm.config_id
                and c.alone_id("slm") == slm.config_id
            ]
            curve = learned_curve(llm, slm, live, notes)
            if curve is not None:
                curves.append(curve)
    return curves
