"""Curve families: the cost-accuracy curves a report's logged answers trace with no model calls.

Two kinds, each for a (large, small) model pair whose LLM-only configuration is in the report:

- ``simulated_cascade``: from a cascade run's per-problem confidence and small-model majority
  answer (``slm_answer``, graded with the problem's answer type) and the LLM-only run's answers
  on the same (seed, problem) pairs, the cascade at every threshold (``cascade_curve``).
  Cascade configurations that differ only in ``cascade.threshold``, ``cascade.escalate`` or the
  review prompt draw the same samples, so they make one curve. The gap it recovers runs from its
  own all-small end (the majority answer's accuracy, every sample paid) to LLM-only.
- ``router_family``: router configurations with the same LLM-only and SLM-only references (they
  differ in prompt set or ``router.*`` settings only), at least two, with the two pure models as
  end points. A router always shows the problem to the large model, so it has no share of
  problems "sent to the large model": the family is a curve over cost only, summarised by AIQ
  and by CPT in USD on the frontier that mixing its points reaches; APGR and CPT as a share are
  left empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from delegate.compare.analysis.baselines import OraclePoint, oracle_point
from delegate.compare.analysis.curves import cascade_curve
from delegate.compare.analysis.summaries import aiq, apgr, cpt, cpt_cost, reachable_frontier
from delegate.compare.table import Configuration, Key
from delegate.identity import config_id
from delegate.records import ProblemRecord
from delegate.scoring import ANSWER_TYPES, answers_match

Configurations = Mapping[str, Configuration]
Point = OraclePoint  # an operating point: share sent to the large model (NaN: none), accuracy, cost


@dataclass(frozen=True)
class Member:
    """A configuration of the report that lies on a curve, as the picture draws it."""

    label: str
    strong_share: float  # NaN for a router, which sends nothing to the large model alone
    accuracy: float
    low: float
    high: float
    cost: float


@dataclass(frozen=True)
class Curve:
    """One curve: its operating points (``table``), its ends, the oracle, its summary numbers
    (``summary``: the ``curves.csv`` row), and the report's configurations on it."""

    pair: str
    kind: str
    table: pd.DataFrame  # strong_share, accuracy, cost_per_problem
    weak: Point
    strong: Point
    oracle: Point
    summary: dict[str, Any]
    config_ids: tuple[str, ...]
    members: tuple[Member, ...] = field(default=())


def sample_family(identity: Mapping[str, Any]) -> str:
    """What fixes a cascade's small-model samples: its identity less the settings that act only
    after sampling (threshold, escalation, the review prompt)."""
    trimmed = dict(identity)
    trimmed["cascade"] = {
        k: v for k, v in identity["cascade"].items() if k not in ("threshold", "escalate")
    }
    trimmed["prompt"] = {k: v for k, v in identity["prompt"].items() if k != "review_user"}
    return config_id(trimmed)


def _grader(p: ProblemRecord, dataset: Mapping[str, Any]) -> tuple[str, float] | None:
    """The answer type and tolerance a record was graded with, else (rows written before they
    were recorded) the dataset's settings; None when neither names a grader."""
    if p.answer_type:
        return (p.answer_type, p.rel_tol) if p.answer_type in ANSWER_TYPES else None
    kind = dataset.get("answer_type")
    if kind not in ANSWER_TYPES:
        return None
    tol = dataset.get("rel_tol")
    return str(kind), float(tol) if isinstance(tol, int | float) else 0.0


def summary_numbers(table: pd.DataFrame, weak: Point, strong: Point, binary: bool) -> dict:
    """APGR, CPT(50%) and CPT(80%) in share and USD, and AIQ. A router family has no share:
    its CPT in USD is read on the frontier that mixing its points reaches."""
    out: dict[str, Any] = {"points": len(table)}
    if binary:
        out["apgr"] = apgr(table, strong.accuracy, weak.accuracy)
        for level in (50, 80):
            out[f"cpt{level}"] = cpt(table, strong.accuracy, weak.accuracy, level / 100)
            out[f"cpt{level}_usd"] = cpt_cost(table, strong.accuracy, weak.accuracy, level / 100)
    else:
        hull = reachable_frontier(table)
        span = strong.cost - weak.cost
        # cpt walks by strong_share; on the frontier cost rises, so any increasing map serves.
        hull["strong_share"] = (hull["cost_per_problem"] - weak.cost) / (span if span else 1.0)
        out.update(apgr=None, cpt50=None, cpt80=None)
        for level in (50, 80):
            out[f"cpt{level}_usd"] = cpt_cost(hull, strong.accuracy, weak.accuracy, level / 100)
    out["aiq"] = aiq(table)
    return out


def _curve(
    kind: str, members: Sequence[Configuration], n: int, table: pd.DataFrame, ends: Sequence[Point]
) -> Curve:
    """A curve with its summary row; its members drawn at their own accuracy and cost."""
    weak, strong, best = ends
    pair = members[0].pair
    summary = {
        "pair": pair,
        "kind": kind,
        "configurations": "; ".join(c.label for c in members),
        "problems": n,
        "weak_accuracy": weak.accuracy,
        "strong_accuracy": strong.accuracy,
        "weak_cost_per_problem_usd": weak.cost,
        "strong_cost_per_problem_usd": strong.cost,
        "oracle_accuracy": best.accuracy,
        "oracle_strong_share": best.strong_share,
        "oracle_cost_per_problem_usd": best.cost,
        **summary_numbers(table, weak, strong, binary=kind == "simulated_cascade"),
    }
    drawn = tuple(_member(c, kind) for c in members)
    ids = tuple(c.config_id for c in members)
    return Curve(pair, kind, table, weak, strong, best, summary, ids, drawn)


def _member(config: Configuration, kind: str) -> Member:
    s = config.summary
    share = math.nan
    if kind == "simulated_cascade":  # a real cascade sits at its escalated share
        records = list(config.by_key.values())
        share = sum(p.escalated for p in records) / len(records)
    return Member(
        label=config.short_label,
        strong_share=share,
        accuracy=s.accuracy,
        low=s.accuracy_ci_low,
        high=s.accuracy_ci_high,
        cost=s.cost_per_problem_usd,
    )


def _cascade_problems(
    members: Sequence[Configuration], strong: Configuration, notes: list[str]
) -> list[tuple[ProblemRecord, ProblemRecord]]:
    """The (small-model, LLM-only) record pairs the simulated cascade is built on: the problems
    the cascades share with LLM-only, less those without a confidence (noted)."""
    weak_rows: dict[Key, ProblemRecord] = {}
    for config in members:  # the same samples in every member: the first record of a key serves
        for key, p in config.by_key.items():
            weak_rows.setdefault(key, p)
    keys = sorted(weak_rows.keys() & strong.by_key.keys())
    unsure = [k for k in keys if weak_rows[k].confidence is None]
    if unsure:
        notes.append(
            f"simulated cascade of {members[0].label}: {len(unsure)} problem(s) without a "
            "confidence (the small model failed) left out"
        )
    return [(weak_rows[k], strong.by_key[k]) for k in keys if weak_rows[k].confidence is not None]


def simulated_cascade(
    members: Sequence[Configuration], configs: Configurations, notes: list[str]
) -> Curve | None:
    """The simulated cascade of cascade configurations that share their samples (``members``,
    sorted by id); None, with a note, when it cannot be built."""
    first = members[0]
    llm = first.alone_id("llm")
    if llm is None or llm not in configs:
        notes.append(f"no simulated cascade for {first.label}: its LLM-only run is missing")
        return None
    pairs = _cascade_problems(members, configs[llm], notes)
    if not pairs:
        notes.append(f"no simulated cascade for {first.label}: no problem shared with LLM-only")
        return None
    dataset = first.document["identity"]["dataset"]
    graders = [_grader(weak, dataset) for weak, _ in pairs]
    if any(g is None for g in graders):
        notes.append(f"no simulated cascade for {first.label}: no answer type to grade by")
        return None
    weak = np.array(
        [
            answers_match(w.slm_answer, w.gold, *grader)
            for (w, _), grader in zip(pairs, graders, strict=True)
            if grader is not None
        ],
        dtype=float,
    )
    strong = np.array([s.correct for _, s in pairs], dtype=float)
    weak_usd = np.array([w.slm.cost_usd for w, _ in pairs])
    strong_usd = np.array([s.cost_usd for _, s in pairs])
    confidence = np.array([w.confidence for w, _ in pairs], dtype=float)
    table = cascade_curve(confidence, weak, strong, weak_usd, strong_usd)
    ends = (
        Point(0.0, float(weak.mean()), float(weak_usd.mean())),
        Point(1.0, float(strong.mean()), float(weak_usd.mean() + strong_usd.mean())),
        oracle_point(strong, weak, weak_usd + strong_usd, weak_usd),  # escalating pays both
    )
    return _curve("simulated_cascade", members, len(pairs), table, ends)


def router_family(
    members: Sequence[Configuration], llm: Configuration, slm: Configuration, notes: list[str]
) -> Curve | None:
    """The curve of router configurations with the same references, on the problems every one
    of them and both references answered."""
    keys = set(llm.by_key) & set(slm.by_key)
    for config in members:
        keys &= set(config.by_key)
    if not keys:
        notes.append(f"no router curve for {members[0].label}: no problem shared by the family")
        return None
    ordered = sorted(keys)

    def point(config: Configuration) -> Point:
        records = [config.by_key[k] for k in ordered]
        accuracy = sum(p.correct for p in records) / len(records)
        return Point(math.nan, accuracy, sum(p.cost_usd for p in records) / len(records))

    weak, strong = point(slm), point(llm)
    points = [point(c) for c in members]
    table = pd.DataFrame(
        {
            "strong_share": math.nan,
            "accuracy": [weak.accuracy, *(p.accuracy for p in points), strong.accuracy],
            "cost_per_problem": [weak.cost, *(p.cost for p in points), strong.cost],
            "label": ["SLM-only", *(c.label for c in members), "LLM-only"],
        }
    )
    best = oracle_point(
        [llm.by_key[k].correct for k in ordered],
        [slm.by_key[k].correct for k in ordered],
        [llm.by_key[k].cost_usd for k in ordered],
        [slm.by_key[k].cost_usd for k in ordered],
    )
    return _curve("router_family", members, len(keys), table, (weak, strong, best))


def families(configs: Configurations, notes: list[str]) -> list[Curve]:
    """Every curve the report's configurations make, simulated cascades first (by id), then
    router families of at least two; notes say why a curve could not be built."""
    cascades: dict[str, list[Configuration]] = {}
    routers: dict[tuple[str, str], list[Configuration]] = {}
    for cid in sorted(configs):
        config = configs[cid]
        strategy = config.document["identity"]["strategy"]
        if strategy == "cascade":
            cascades.setdefault(sample_family(config.document["identity"]), []).append(config)
        elif strategy == "router":
            llm, slm = config.alone_id("llm"), config.alone_id("slm")
            if llm and slm and llm in configs and slm in configs:
                routers.setdefault((llm, slm), []).append(config)
    curves = [simulated_cascade(m, configs, notes) for m in cascades.values()]
    curves += [
        router_family(m, configs[llm], configs[slm], notes)
        for (llm, slm), m in routers.items()
        if len(m) >= 2
    ]
    return [c for c in curves if c is not None]
