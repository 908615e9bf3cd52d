"""The comparison table: one row per configuration (``config_id``), pooled over seeds, set against
the LLM-only configuration on the problems both solved, with the oracle and random-mix baselines.

A row's label names its strategy, models and prompt set, plus every setting whose value differs
between the compared configurations (``router.max_tool_calls=1``); the CSV and JSON carry one
column per such setting. A row's references are found by identity: the LLM-only (and SLM-only)
configuration with the same model settings, the same prompt set's answer instructions, dataset
and sample. Problems pair only when their seed, id and text are the same.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from delegate.compare import curve_report, stats
from delegate.compare.runs import LABEL_TAGS, Loaded, RunResult, load_runs
from delegate.identity import alone_identity, config_id, flatten, varying_settings
from delegate.metrics import aggregate, failed

Outcomes = dict[tuple[str, int, str], bool]  # (seed, problem_id, question) -> correct

# The reference study's unit of cost (its results table priced 150 problems).
PROBLEMS_PER_BATCH = 150
_STRATEGY_ORDER = {"llm": 0, "router": 1, "cascade": 2, "slm": 3}

COLUMNS = (
    "configuration",
    "config_id",
    *LABEL_TAGS,
    "seeds",
    "runs",
    "problems",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "accuracy_strict",
    "cost_per_problem_usd",
    "cost_per_150_usd",
    "llm_input_tokens_per_problem",
    "llm_output_tokens_per_problem",
    "slm_input_tokens_per_problem",
    "slm_output_tokens_per_problem",
    "latency_p50_s",
    "latency_p95_s",
    "tool_calls_per_problem",
    "delegation_rate",
    "errors",
    "tool_errors",
    "tool_error_rate",
    "truncated",
    "llm_reference",
    "vs_llm_shared_problems",
    "vs_llm_accuracy_change",
    "vs_llm_accuracy_change_ci_low",
    "vs_llm_accuracy_change_ci_high",
    "vs_llm_mcnemar_p",
    "vs_llm_cost_ratio",
    "vs_llm_cost_reduction",
    "slm_reference",
    "oracle_accuracy",
    "oracle_problems",
    "random_mix_share_llm",
    "random_mix_accuracy",
)
_VERSUS = COLUMNS[COLUMNS.index("vs_llm_shared_problems") :]


def outcomes(runs: Sequence[RunResult]) -> Outcomes:
    return {
        (r.seed, int(p["problem_id"]), str(p["question"])): bool(p["correct"])
        for r in runs
        for p in r.problems
    }


def _seed_order(seed: str) -> tuple[int, str]:
    return (int(seed), "") if seed.lstrip("-").isdigit() else (0, seed)


def summarize(runs: Sequence[RunResult]) -> dict[str, Any]:
    """A configuration's numbers over all its runs' problems, pooled (every seed counts)."""
    rows = [p for r in runs for p in r.problems]
    n = len(rows)
    m = aggregate(rows)
    low, high = stats.proportion_interval(sum(bool(p["correct"]) for p in rows), n)
    cost = m["cost_usd"] / n
    return {
        "seeds": " ".join(sorted({r.seed for r in runs}, key=_seed_order)),
        "runs": len(runs),
        "problems": n,
        "accuracy": m["accuracy"],
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "accuracy_strict": m["accuracy_strict"],
        "cost_per_problem_usd": cost,
        "cost_per_150_usd": cost * PROBLEMS_PER_BATCH,
        "llm_input_tokens_per_problem": m["llm_input_tokens"] / n,
        "llm_output_tokens_per_problem": m["llm_output_tokens"] / n,
        "slm_input_tokens_per_problem": m["slm_input_tokens"] / n,
        "slm_output_tokens_per_problem": m["slm_output_tokens"] / n,
        "latency_p50_s": m["latency_p50_s"],
        "latency_p95_s": m["latency_p95_s"],
        "tool_calls_per_problem": m["tool_calls_per_problem"],
        "delegation_rate": m["delegation_rate"],
        "errors": sum(failed(p) for p in rows),
        "tool_errors": int(m["tool_errors"]),
        "tool_error_rate": m["tool_error_rate"],
        "truncated": int(m["n_truncated"]),
    }


def _label(tags: Mapping[str, str], settings: Mapping[str, Any]) -> tuple[str, str]:
    """The full label and a short one (strategy and settings only, for the picture)."""
    strategy, llm, slm = tags["strategy"], tags["llm"], tags["slm"]
    models = {"llm": llm, "slm": slm}.get(strategy, f"{llm} + {slm}")
    extra = ", ".join(f"{k}={v}" for k, v in settings.items())
    label = f"{strategy} ({models}, {tags['prompt']}" + (f"; {extra})" if extra else ")")
    return label, " | ".join([strategy, *(f"{k}={v}" for k, v in settings.items())])


def compare(loaded: Loaded) -> tuple[list[dict[str, Any]], list[str]]:
    """The comparison rows (LLM-only first, then the mixes, then SLM-only) and the settings
    that vary between the configurations (one column each)."""
    groups: dict[str, list[RunResult]] = {}
    for r in loaded.runs:
        groups.setdefault(r.config_id, []).append(r)
    documents = {cid: loaded.documents[cid] for cid in groups}
    settings = varying_settings(d["identity"] for d in documents.values())
    rows: dict[str, dict[str, Any]] = {}
    for cid, runs in groups.items():
        newest = runs[-1]
        flat = flatten(documents[cid]["identity"])
        own = {k: flat[k] for k in settings if k in flat}
        label, short = _label(newest.tags, own)
        rows[cid] = {
            "configuration": label,
            "short_label": short,
            "config_id": cid,
            **newest.tags,
            **summarize(runs),
            **dict.fromkeys(_VERSUS),
            **{k: own.get(k) for k in settings},
        }
    _disambiguate(rows)
    results = {cid: outcomes(runs) for cid, runs in groups.items()}
    for cid, row in rows.items():
        llm = _reference(cid, documents, results, "llm")
        row["llm_reference"] = _describe(llm, rows)
        if llm and llm[0] != cid:
            _versus_llm(row, rows[llm[0]], results[llm[0]], results[cid])
        slm = _reference(cid, documents, results, "slm") if row["strategy"] != "llm" else None
        row["slm_reference"] = _describe(slm, rows) if row["strategy"] != "llm" else None
        if llm and slm and llm[0] != cid and slm[0] != cid:
            _baselines(row, rows[llm[0]], rows[slm[0]], results[llm[0]], results[slm[0]])
    ordered = sorted(
        rows.values(),
        key=lambda r: (_STRATEGY_ORDER.get(r["strategy"], 9), r["configuration"]),
    )
    return ordered, settings


def _disambiguate(rows: dict[str, dict[str, Any]]) -> None:
    """Configurations whose labels coincide (they differ in prompt texts, say) get their id."""
    seen: dict[str, int] = {}
    for row in rows.values():
        seen[row["configuration"]] = seen.get(row["configuration"], 0) + 1
    for row in rows.values():
        if seen[row["configuration"]] > 1:
            row["configuration"] += f" [{row['config_id'][:6]}]"
            row["short_label"] += f" [{row['config_id'][:6]}]"


def _reference(
    cid: str,
    documents: Mapping[str, Mapping[str, Any]],
    results: Mapping[str, Outcomes],
    role: str,
) -> tuple[str, int] | None:
    """The configuration in which ``role``'s model answers alone under ``cid``'s settings, and
    how many candidates there were. When ``cid`` does not use that model (an SLM-only row's
    LLM reference), any ``role``-only configuration with the same prompt instructions, dataset
    and sample qualifies; among several, the one sharing most problems is used."""
    wanted = alone_identity(documents[cid], role)
    if wanted is not None:
        target = config_id(wanted)
        return (target, 1) if target in documents else None
    mine = documents[cid]
    answer = {k: mine["answer_prompts"].get(k) for k in ("system", "user")}
    candidates = [
        other
        for other, doc in documents.items()
        if doc["identity"]["strategy"] == role
        and doc["identity"]["prompt"] == answer
        and doc["identity"]["dataset"] == mine["identity"]["dataset"]
    ]
    if not candidates:
        return None
    shared = {c: len(results[c].keys() & results[cid].keys()) for c in candidates}
    return max(candidates, key=lambda c: shared[c]), len(candidates)


def _describe(reference: tuple[str, int] | None, rows: Mapping[str, Mapping[str, Any]]) -> str:
    if reference is None:
        return "none"
    cid, candidates = reference
    label = str(rows[cid]["configuration"])
    return label if candidates == 1 else f"{label} (1 of {candidates} candidates)"


def _versus_llm(
    row: dict[str, Any], llm_row: dict[str, Any], llm: Outcomes, mine: Outcomes
) -> None:
    counts = stats.paired_counts(llm, mine)
    change, low, high = stats.accuracy_change_interval(counts)
    llm_cost = llm_row["cost_per_problem_usd"]
    ratio = row["cost_per_problem_usd"] / llm_cost if llm_cost > 0 else None
    row.update(
        vs_llm_shared_problems=counts.n,
        vs_llm_accuracy_change=change if counts.n else None,
        vs_llm_accuracy_change_ci_low=low if counts.n else None,
        vs_llm_accuracy_change_ci_high=high if counts.n else None,
        vs_llm_mcnemar_p=stats.mcnemar_p(counts.only_a, counts.only_b) if counts.n else None,
        vs_llm_cost_ratio=ratio,
        vs_llm_cost_reduction=None if ratio is None else 1 - ratio,
    )


def _baselines(
    row: dict[str, Any],
    llm_row: dict[str, Any],
    slm_row: dict[str, Any],
    llm: Outcomes,
    slm: Outcomes,
) -> None:
    accuracy, shared = stats.oracle(llm, slm)
    row.update(oracle_accuracy=accuracy if shared else None, oracle_problems=shared)
    mix = stats.random_mix(
        llm_row["accuracy"],
        slm_row["accuracy"],
        llm_row["cost_per_problem_usd"],
        slm_row["cost_per_problem_usd"],
        row["cost_per_problem_usd"],
    )
    if mix is not None:
        row.update(random_mix_share_llm=mix.share_llm, random_mix_accuracy=mix.accuracy)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else value


def write_report(
    experiment: str, sweep: str | None, out: Path, loaded: Loaded | None = None
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Write ``comparison.csv``, ``comparison.json``, ``pareto.png``, ``curves.csv`` and the
    comparison by level and source (``by_level``) into ``out``; return their paths and the
    table's rows."""
    from delegate.compare.by_level import write_by_level
    from delegate.compare.plot import pareto

    loaded = load_runs(experiment, sweep) if loaded is None else loaded
    rows, settings = compare(loaded)
    curves = curve_report.annotate(rows, loaded)  # PGR and the random-mix test on the rows
    columns = [*COLUMNS, *curve_report.ROW_COLUMNS, *settings]
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path, png_path = (
        out / "comparison.csv",
        out / "comparison.json",
        out / "pareto.png",
    )
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
    labels = {row["config_id"]: row["configuration"] for row in rows}
    document = {
        "experiment": experiment,
        "sweep": sweep,
        "confidence": 0.95,
        "settings": settings,
        "rows": [{k: row.get(k) for k in columns} for row in rows],
        "runs": [
            {
                "run_id": r.run_id,
                "configuration": labels[r.config_id],
                "config_id": r.config_id,
                "seed": r.seed,
                "sweep": r.sweep,
            }
            for r in sorted(loaded.runs, key=lambda r: (labels[r.config_id], _seed_order(r.seed)))
        ],
        "notes": loaded.notes,
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    title = f"{experiment}" + (f", sweep {sweep}" if sweep else "")
    pareto(rows, loaded.runs, png_path, title=title, curves=curves)
    by_level = write_by_level(rows, loaded.runs, out, experiment, sweep)
    curves_path = curve_report.write_curves(curves, out)
    return [csv_path, json_path, png_path, curves_path, *by_level], rows


def _cost_change(ratio: float | None) -> str:
    """A cost against LLM-only: a reduction or increase in percent, or a multiple past 2x."""
    if ratio is None:
        return ""
    if ratio > 2:
        return f"{ratio:.1f}x the cost"
    return f"{100 * (ratio - 1):+.0f}%"


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The headline columns as Markdown tables (outcome and cost; tokens and time per problem),
    for the console and the READMEs."""

    def pct(v: Any) -> str:
        return "" if v is None else f"{100 * v:.1f}%"

    def signed(v: Any) -> str:
        return "" if v is None else f"{100 * v:+.1f} pts"

    lines = [
        "| configuration | seeds | problems | accuracy (95% CI) | cost / 150 | vs LLM-only: "
        "accuracy change (95% CI), McNemar p | cost vs LLM-only | oracle | random mix |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        versus = ""
        if r["vs_llm_shared_problems"]:
            low, high = r["vs_llm_accuracy_change_ci_low"], r["vs_llm_accuracy_change_ci_high"]
            versus = (
                f"{signed(r['vs_llm_accuracy_change'])} ({signed(low)} to {signed(high)}), "
                f"p={r['vs_llm_mcnemar_p']:.3g} on {r['vs_llm_shared_problems']}"
            )
        mix = pct(r["random_mix_accuracy"])
        if r["strategy"] not in ("llm", "slm") and r["oracle_problems"] and not mix:
            mix = "n/a (no mix costs this)"
        lines.append(
            f"| {r['configuration']} | {r['seeds']} | {r['problems']} | {pct(r['accuracy'])} "
            f"({pct(r['accuracy_ci_low'])}-{pct(r['accuracy_ci_high'])}) "
            f"| ${r['cost_per_150_usd']:.4f} | {versus} | {_cost_change(r['vs_llm_cost_ratio'])} "
            f"| {pct(r['oracle_accuracy'])} | {mix} |"
        )
    lines += [
        "",
        "| configuration | LLM tokens in / out | SLM tokens in / out | latency p50 / p95 "
        "| tool calls | delegation rate | errors | truncated |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['configuration']} "
            f"| {r['llm_input_tokens_per_problem']:.0f} / {r['llm_output_tokens_per_problem']:.0f} "
            f"| {r['slm_input_tokens_per_problem']:.0f} / {r['slm_output_tokens_per_problem']:.0f} "
            f"| {r['latency_p50_s']:.1f} s / {r['latency_p95_s']:.1f} s "
            f"| {r['tool_calls_per_problem']:.2f} | {pct(r['delegation_rate'])} | {r['errors']} "
            f"| {r['truncated']} |"
        )
    curves = curve_report.markdown_lines(rows)
    if curves:
        lines += ["", "Curves from the logged answers (no model calls):", "", *curves]
    references = sorted(
        {(r["configuration"], r["llm_reference"]) for r in rows if r["strategy"] != "llm"}
    )
    if references:
        lines += ["", "LLM-only reference of each row:"]
        lines += [f"- {label}: {reference}" for label, reference in references]
    return "\n".join(lines)
