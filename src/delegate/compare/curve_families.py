"""Curves that a report's logged answers trace with no model calls (``curve_report`` writes
them): the simulated cascade of cascade configurations that share their small-model samples, and
the curve of a family of router configurations between the two pure models. See
``curve_report`` for the definitions; this module builds each ``Curve`` from the runs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from delegate.compare.curves import aiq, apgr, cascade_curve, cpt, cpt_cost, reachable_frontier
from delegate.compare.runs import Loaded, RunResult
from delegate.identity import alone_identity, config_id
from delegate.scoring import ANSWER_TYPES, answers_match

Key = tuple[str, int, str]  # (seed, problem_id, question)
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Point:
    """An operating point: share sent to the large model (NaN where undefined), accuracy, cost."""

    strong_share: float
    accuracy: float
    cost: float


@dataclass
class Curve:
    """One curve: its operating points (``table``), its ends, the oracle, its summary numbers,
    and the report's configurations that lie on it (their points, for the picture)."""

    pair: str
    kind: str
    table: pd.DataFrame  # strong_share, accuracy, cost_per_problem
    weak: Point
    strong: Point
    oracle: Point
    summary: dict[str, Any]
    config_ids: tuple[str, ...]
    members: list[dict[str, Any]] = field(default_factory=list)  # label, x, y, low, high, cost


def _key(seed: str, p: Row) -> Key:
    return (seed, int(p["problem_id"]), str(p["question"]))


def by_key(runs: Iterable[RunResult]) -> dict[Key, Row]:
    """A configuration's per-problem rows by (seed, problem_id, question)."""
    return {_key(r.seed, p): p for r in runs for p in r.problems}


def cell_number(value: Any) -> float | None:
    """A table cell as a finite float; None for missing, None or NaN."""
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def row_cost(p: Row, column: str = "cost_usd") -> float:
    return cell_number(p.get(column)) or 0.0


def cell_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def answer_text(value: Any) -> str | None:
    """An answer or gold cell as text. A table read back from MLflow turns numeric text into
    numbers ("36" -> 36.0), so a number is written back: integral ones without a decimal point,
    others in the shortest form that reads back as the same float. None and NaN: no answer."""
    if isinstance(value, str) or value is None:
        return value
    number = float(value)
    if math.isnan(number):
        return None
    return str(int(number)) if number.is_integer() else repr(number)


def _grader(p: Row, dataset: Mapping[str, Any]) -> tuple[str, float] | None:
    """The answer type and tolerance a row was graded with: its own columns, else (rows
    written before they existed) the dataset's settings; None when neither names a grader."""
    kind = cell_text(p.get("answer_type")) or cell_text(dataset.get("answer_type"))
    if kind not in ANSWER_TYPES:
        return None
    tol = cell_number(p.get("rel_tol"))
    if tol is None:
        tol = cell_number(dataset.get("rel_tol")) or 0.0
    return str(kind), tol


def alone_id(document: Mapping[str, Any], role: str) -> str | None:
    wanted = alone_identity(document, role)
    return None if wanted is None else config_id(wanted)


def sample_family(identity: Mapping[str, Any]) -> str:
    """What fixes a cascade's small-model samples: its identity less the settings that act only
    after sampling (threshold, escalation, the review prompt)."""
    trimmed = dict(identity)
    trimmed["cascade"] = {
        k: v for k, v in identity["cascade"].items() if k not in ("threshold", "escalate")
    }
    trimmed["prompt"] = {k: v for k, v in identity["prompt"].items() if k != "review_user"}
    return config_id(trimmed)


def _metrics(table: pd.DataFrame, weak: Point, strong: Point, binary: bool) -> dict[str, Any]:
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


def _summary(
    pair: str, kind: str, labels: Sequence[str], n: int, c: dict[str, Any], ends: Sequence[Point]
) -> dict[str, Any]:
    weak, strong, oracle = ends
    return {
        "pair": pair,
        "kind": kind,
        "configurations": "; ".join(labels),
        "problems": n,
        "weak_accuracy": weak.accuracy,
        "strong_accuracy": strong.accuracy,
        "weak_cost_per_problem_usd": weak.cost,
        "strong_cost_per_problem_usd": strong.cost,
        "oracle_accuracy": oracle.accuracy,
        "oracle_strong_share": oracle.strong_share,
        "oracle_cost_per_problem_usd": oracle.cost,
        **c,
    }


class Configurations:
    """The report's configurations: their runs, documents and table rows, by ``config_id``."""

    def __init__(self, rows: Sequence[dict[str, Any]], loaded: Loaded) -> None:
        self.groups: dict[str, list[RunResult]] = {}
        for r in loaded.runs:
            self.groups.setdefault(r.config_id, []).append(r)
        self.documents = loaded.documents
        self.rows = {row["config_id"]: row for row in rows}
        self.notes = loaded.notes
        self._problems: dict[str, dict[Key, Row]] = {}

    def problems(self, cid: str) -> dict[Key, Row]:
        if cid not in self._problems:
            self._problems[cid] = by_key(self.groups[cid])
        return self._problems[cid]

    def label(self, cid: str) -> str:
        return str(self.rows[cid]["configuration"])

    def pair(self, cid: str) -> str:
        row = self.rows[cid]
        return f"{row['llm']} + {row['slm']}"


def simulated_cascade(configs: Configurations, members: Sequence[str]) -> Curve | None:
    """The simulated cascade of cascade configurations that share their samples (``members``,
    sorted); None, with a note, when it cannot be built."""
    first = members[0]
    document = configs.documents[first]
    llm = alone_id(document, "llm")
    labels = [configs.label(c) for c in members]
    if llm is None or llm not in configs.groups:
        configs.notes.append(f"no simulated cascade for {labels[0]}: its LLM-only run is missing")
        return None
    weak_rows: dict[Key, Row] = {}
    for cid in members:  # the same samples in every member: the first row of a key serves
        for key, p in configs.problems(cid).items():
            weak_rows.setdefault(key, p)
    strong_rows = configs.problems(llm)
    keys = sorted(weak_rows.keys() & strong_rows.keys())
    unsure = [k for k in keys if cell_number(weak_rows[k].get("confidence")) is None]
    keys = [k for k in keys if k not in set(unsure)]
    if unsure:
        configs.notes.append(
            f"simulated cascade of {labels[0]}: {len(unsure)} problem(s) without a confidence "
            "(the small model failed) left out"
        )
    if not keys:
        configs.notes.append(
            f"no simulated cascade for {labels[0]}: no problem shared with LLM-only"
        )
        return None
    dataset = document["identity"]["dataset"]
    weak_correct = []
    for k in keys:
        grader = _grader(weak_rows[k], dataset)
        if grader is None:
            configs.notes.append(
                f"no simulated cascade for {labels[0]}: no answer type to grade by"
            )
            return None
        p = weak_rows[k]
        answer, gold = answer_text(p.get("slm_answer")), answer_text(p["gold"])
        weak_correct.append(gold is not None and answers_match(answer, gold, *grader))
    confidence = np.array([cell_number(weak_rows[k].get("confidence")) for k in keys], dtype=float)
    weak = np.array(weak_correct, dtype=float)
    strong = np.array([bool(strong_rows[k]["correct"]) for k in keys], dtype=float)
    weak_usd = np.array([row_cost(weak_rows[k], "slm_cost_usd") for k in keys])
    strong_usd = np.array([row_cost(strong_rows[k]) for k in keys])
    table = cascade_curve(confidence, weak, strong, weak_usd, strong_usd)
    only_strong = (strong > weak).astype(float)
    ends = (
        Point(0.0, float(weak.mean()), float(weak_usd.mean())),
        Point(1.0, float(strong.mean()), float(weak_usd.mean() + strong_usd.mean())),
        Point(
            float(only_strong.mean()),
            float(np.maximum(weak, strong).mean()),
            float(weak_usd.mean() + (strong_usd * only_strong).mean()),
        ),
    )
    numbers = _metrics(table, ends[0], ends[1], binary=True)
    summary = _summary(configs.pair(first), "simulated_cascade", labels, len(keys), numbers, ends)
    curve = Curve(configs.pair(first), "simulated_cascade", table, *ends, summary, tuple(members))
    for cid in members:  # each real cascade at its escalated share
        rows = list(configs.problems(cid).values())
        share = sum(bool(cell_number(p.get("escalated"))) for p in rows) / len(rows)
        curve.members.append(_member(configs.rows[cid], share))
    return curve


def router_family(
    configs: Configurations, members: Sequence[str], llm: str, slm: str
) -> Curve | None:
    """The curve of router configurations with the same references, on the problems every one
    of them and both references answered."""
    labels = [configs.label(c) for c in members]
    keys = set(configs.problems(llm)) & set(configs.problems(slm))
    for cid in members:
        keys &= set(configs.problems(cid))
    if not keys:
        configs.notes.append(f"no router curve for {labels[0]}: no problem shared by the family")
        return None
    ordered = sorted(keys)

    def point(cid: str) -> tuple[float, float]:
        rows = [configs.problems(cid)[k] for k in ordered]
        return (
            sum(bool(p["correct"]) for p in rows) / len(rows),
            sum(row_cost(p) for p in rows) / len(rows),
        )

    (weak_acc, weak_usd), (strong_acc, strong_usd) = point(slm), point(llm)
    points = [point(c) for c in members]
    table = pd.DataFrame(
        {
            "strong_share": math.nan,
            "accuracy": [weak_acc, *(a for a, _ in points), strong_acc],
            "cost_per_problem": [weak_usd, *(c for _, c in points), strong_usd],
            "label": ["SLM-only", *labels, "LLM-only"],
        }
    )
    weak_ok = [bool(configs.problems(slm)[k]["correct"]) for k in ordered]
    strong_ok = [bool(configs.problems(llm)[k]["correct"]) for k in ordered]
    only_strong = [s and not w for w, s in zip(weak_ok, strong_ok, strict=True)]
    chosen = [llm if move else slm for move in only_strong]
    oracle_cost = sum(
        row_cost(configs.problems(cid)[k]) for cid, k in zip(chosen, ordered, strict=True)
    ) / len(ordered)
    ends = (
        Point(math.nan, weak_acc, weak_usd),
        Point(math.nan, strong_acc, strong_usd),
        Point(
            sum(only_strong) / len(ordered),
            sum(w or s for w, s in zip(weak_ok, strong_ok, strict=True)) / len(ordered),
            oracle_cost,
        ),
    )
    numbers = _metrics(table, ends[0], ends[1], binary=False)
    summary = _summary(configs.pair(members[0]), "router_family", labels, len(keys), numbers, ends)
    curve = Curve(configs.pair(members[0]), "router_family", table, *ends, summary, tuple(members))
    curve.members.extend(_member(configs.rows[c], math.nan) for c in members)
    return curve


def _member(row: Row, share: float) -> dict[str, Any]:
    return {
        "label": row["short_label"],
        "strong_share": share,
        "accuracy": row["accuracy"],
        "low": row["accuracy_ci_low"],
        "high": row["accuracy_ci_high"],
        "cost": row["cost_per_problem_usd"],
    }
