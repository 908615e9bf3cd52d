"""How the report's numbers are written: one cell format for every CSV, the JSON document, and
the Markdown tables printed on the console and pasted into the READMEs.

A CSV cell is a float to 6 significant digits, a list or mapping as JSON, and empty where the
number does not apply or is undefined (None, NaN). JSON keeps numbers as numbers (None as null).
Markdown shows shares as percentages and money in dollars; an empty cell means the same as in CSV.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

Cells = Mapping[str, Any]

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
    # learned_router curves: APGR less the random mix's 0.5, its paired bootstrap 95% interval
    # and the verdict (yes / no / not shown); empty for the other kinds.
    "apgr_minus_random",
    "apgr_minus_random_ci_low",
    "apgr_minus_random_ci_high",
    "beats_random_mix",
)


def cell(value: Any) -> Any:
    """A value as a CSV cell."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else value


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Cells]) -> Path:
    """A CSV file of ``columns``, one line per row; a column a row lacks is empty."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: cell(row.get(k)) for k in columns})
    return path


def write_json(path: Path, document: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _pct(value: Any) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _signed(value: Any) -> str:
    return "" if value is None else f"{100 * value:+.1f} pts"


def _number(value: Any, fmt: str) -> str:
    return "" if value is None or math.isnan(value) else format(value, fmt)


def _cost_change(ratio: float | None) -> str:
    """A cost against LLM-only: a reduction or increase in percent, or a multiple past 2x."""
    if ratio is None:
        return ""
    if ratio > 2:
        return f"{ratio:.1f}x the cost"
    return f"{100 * (ratio - 1):+.0f}%"


def _outcome_line(r: Cells) -> str:
    versus = ""
    if r["vs_llm_shared_problems"]:
        low, high = r["vs_llm_accuracy_change_ci_low"], r["vs_llm_accuracy_change_ci_high"]
        versus = (
            f"{_signed(r['vs_llm_accuracy_change'])} ({_signed(low)} to {_signed(high)}), "
            f"p={r['vs_llm_mcnemar_p']:.3g} on {r['vs_llm_shared_problems']}"
        )
    mix = _pct(r["random_mix_accuracy"])
    if r["strategy"] not in ("llm", "slm") and r["oracle_problems"] and not mix:
        mix = "n/a (no mix costs this)"
    return (
        f"| {r['configuration']} | {r['seeds']} | {r['problems']} | {_pct(r['accuracy'])} "
        f"({_pct(r['accuracy_ci_low'])}-{_pct(r['accuracy_ci_high'])}) "
        f"| ${r['cost_per_150_usd']:.4f} | {versus} | {_cost_change(r['vs_llm_cost_ratio'])} "
        f"| {_pct(r['oracle_accuracy'])} | {mix} |"
    )


def _shares(shares: Mapping[str, float] | None) -> str:
    """``boxed 67%, marker 33%``: the rules that read the answers, most first."""
    ranked = sorted((shares or {}).items(), key=lambda item: -item[1])
    return ", ".join(f"{rule} {100 * share:.0f}%" for rule, share in ranked)


def _usage_line(r: Cells) -> str:
    return (
        f"| {r['configuration']} "
        f"| {r['llm_input_tokens_per_problem']:.0f} / {r['llm_output_tokens_per_problem']:.0f} "
        f"| {r['slm_input_tokens_per_problem']:.0f} / {r['slm_output_tokens_per_problem']:.0f} "
        f"| {r['latency_p50_s']:.1f} s / {r['latency_p95_s']:.1f} s "
        f"| {r['tool_calls_per_problem']:.2f} | {_pct(r['delegation_rate'])} "
        f"| {_pct(r.get('escalation_rate'))} | {r['errors']} | {r['truncated']} "
        f"| {_shares(r.get('extracted_by'))} |"
    )


def curve_lines(rows: Sequence[Cells]) -> list[str]:
    """The curves the rows lie on (their ``curves`` cell) as a Markdown table; none: []."""
    seen: dict[tuple[str, str, str], Cells] = {}
    for row in rows:
        for summary in row.get("curves") or ():
            seen.setdefault((summary["pair"], summary["kind"], summary["configurations"]), summary)
    if not seen:
        return []
    lines = [
        "| pair | curve | problems | APGR | CPT(50%) | CPT(80%) | CPT(50%) $/problem "
        "| CPT(80%) $/problem | AIQ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in seen.values():
        lines.append(
            f"| {s['pair']} | {s['kind']} | {s['problems']} | {_number(s['apgr'], '.3f')} "
            f"| {_number(s['cpt50'], '.0%')} | {_number(s['cpt80'], '.0%')} "
            f"| {_number(s['cpt50_usd'], '.6f')} | {_number(s['cpt80_usd'], '.6f')} "
            f"| {_number(s['aiq'], '.3f')} |"
        )
    return lines


def markdown(rows: Sequence[Cells]) -> str:
    """The headline columns as Markdown tables (outcome and cost; tokens and time per problem;
    the curves), for the console and the READMEs."""
    lines = [
        "| configuration | seeds | problems | accuracy (95% CI) | cost / 150 | vs LLM-only: "
        "accuracy change (95% CI), McNemar p | cost vs LLM-only | oracle | random mix |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_outcome_line(r) for r in rows),
        "",
        "| configuration | LLM tokens in / out | SLM tokens in / out | latency p50 / p95 "
        "| tool calls | delegation rate | escalation rate | errors | truncated | answers read by |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_usage_line(r) for r in rows),
    ]
    curves = curve_lines(rows)
    if curves:
        lines += ["", "Curves from the logged answers (no model calls):", "", *curves]
    references = sorted(
        {(r["configuration"], r["llm_reference"]) for r in rows if r["strategy"] != "llm"}
    )
    if references:
        lines += ["", "LLM-only reference of each row:"]
        lines += [f"- {label}: {reference}" for label, reference in references]
    return "\n".join(lines)
