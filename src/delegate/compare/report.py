"""The comparison table: one row per configuration, aggregated over seeds, set against the
LLM-only configuration on the problems both solved, with the oracle and random-mix baselines."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from delegate.compare import stats
from delegate.compare.runs import CONFIG_KEYS, RunResult, config_label, load_runs
from delegate.metrics import delegated, percentile

Outcomes = dict[tuple[str, int], bool]  # (seed, problem_id) -> correct

# The reference study's unit of cost (its results table priced 150 problems).
PROBLEMS_PER_BATCH = 150
_STRATEGY_ORDER = {"llm": 0, "router": 1, "slm": 2}

COLUMNS = (
    "configuration",
    *CONFIG_KEYS,
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
    "vs_llm_shared_problems",
    "vs_llm_accuracy_change",
    "vs_llm_accuracy_change_ci_low",
    "vs_llm_accuracy_change_ci_high",
    "vs_llm_mcnemar_p",
    "vs_llm_cost_reduction",
    "oracle_accuracy",
    "oracle_problems",
    "random_mix_share_llm",
    "random_mix_accuracy",
)


def _failed(value: Any) -> bool:
    """A per-sample ``error`` cell that holds an error (tables store none as None or NaN)."""
    return isinstance(value, str) and bool(value)


def outcomes(runs: Sequence[RunResult]) -> Outcomes:
    return {(r.seed, int(p["problem_id"])): bool(p["correct"]) for r in runs for p in r.problems}


def summarize(config: tuple[str, ...], runs: Sequence[RunResult]) -> dict[str, Any]:
    """A configuration's row over all its runs' problems, pooled (every seed's sample counts)."""
    problems = [p for r in runs for p in r.problems]
    n = len(problems)
    correct = sum(bool(p["correct"]) for p in problems)
    low, high = stats.proportion_interval(correct, n)

    def per_problem(column: str) -> float:
        return sum(float(p[column]) for p in problems) / n if n else 0.0

    latencies = [float(p["latency_s"]) for p in problems]
    return {
        "configuration": config_label(config),
        **dict(zip(CONFIG_KEYS, config, strict=True)),
        "seeds": " ".join(sorted({r.seed for r in runs}, key=_seed_order)),
        "runs": len(runs),
        "problems": n,
        "accuracy": correct / n if n else 0.0,
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
        "accuracy_strict": per_problem("correct_strict"),
        "cost_per_problem_usd": per_problem("cost_usd"),
        "cost_per_150_usd": per_problem("cost_usd") * PROBLEMS_PER_BATCH,
        "llm_input_tokens_per_problem": per_problem("llm_input_tokens"),
        "llm_output_tokens_per_problem": per_problem("llm_output_tokens"),
        "slm_input_tokens_per_problem": per_problem("slm_input_tokens"),
        "slm_output_tokens_per_problem": per_problem("slm_output_tokens"),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "tool_calls_per_problem": per_problem("tool_calls"),
        "delegation_rate": sum(delegated(p) for p in problems) / n if n else 0.0,
        "errors": sum(_failed(p.get("error")) for p in problems),
    }


def _seed_order(seed: str) -> tuple[int, str]:
    return (int(seed), "") if seed.lstrip("-").isdigit() else (0, seed)


def _match(configs: Sequence[tuple[str, ...]], strategy: str, **fields: str) -> Any:
    """The one configuration of ``strategy`` with these fields; None if none or several."""
    found = [
        c
        for c in configs
        if c[0] == strategy
        and all(dict(zip(CONFIG_KEYS, c, strict=True))[k] == v for k, v in fields.items())
    ]
    return found[0] if len(found) == 1 else None


def compare(runs: Sequence[RunResult]) -> list[dict[str, Any]]:
    """The comparison rows, LLM-only first, then router, then SLM-only."""
    groups: dict[tuple[str, ...], list[RunResult]] = {}
    for r in runs:
        groups.setdefault(r.config, []).append(r)
    rows = {config: summarize(config, rs) for config, rs in groups.items()}
    results = {config: outcomes(rs) for config, rs in groups.items()}
    for config, row in rows.items():
        fields = dict(zip(CONFIG_KEYS, config, strict=True))
        same = {"prompt": fields["prompt"], "dataset": fields["dataset"]}
        row.update(dict.fromkeys(COLUMNS[COLUMNS.index("vs_llm_shared_problems") :]))
        # The large model alone: the same one, or for SLM-only rows the only one there is.
        big = {"llm": fields["llm"]} if fields["llm"] != "none" else {}
        llm_key = _match(list(rows), "llm", **big, **same)
        if llm_key is not None and llm_key != config:
            _versus_llm(row, rows[llm_key], results[llm_key], results[config])
        slm_key = _match(list(rows), "slm", slm=fields["slm"], **same)
        if fields["strategy"] == "router" and llm_key is not None and slm_key is not None:
            _baselines(row, rows[llm_key], rows[slm_key], results[llm_key], results[slm_key])
    return sorted(
        rows.values(),
        key=lambda r: (_STRATEGY_ORDER.get(r["strategy"], 9), r["configuration"]),
    )


def _versus_llm(
    row: dict[str, Any], llm_row: dict[str, Any], llm: Outcomes, mine: Outcomes
) -> None:
    counts = stats.paired_counts(llm, mine)
    change, low, high = stats.accuracy_change_interval(counts)
    llm_cost = llm_row["cost_per_problem_usd"]
    row.update(
        vs_llm_shared_problems=counts.n,
        vs_llm_accuracy_change=change,
        vs_llm_accuracy_change_ci_low=low,
        vs_llm_accuracy_change_ci_high=high,
        vs_llm_mcnemar_p=stats.mcnemar_p(counts.only_a, counts.only_b),
        vs_llm_cost_reduction=(
            1 - row["cost_per_problem_usd"] / llm_cost if llm_cost > 0 else None
        ),
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
    return "" if value is None else value


def write_report(
    experiment: str, sweep: str | None, out: Path, runs: Sequence[RunResult] | None = None
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Write ``comparison.csv``, ``comparison.json`` and ``pareto.png`` into ``out``; return
    their paths and the table's rows."""
    from delegate.compare.plot import pareto

    runs = load_runs(experiment, sweep) if runs is None else runs
    rows = compare(runs)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path, png_path = (
        out / "comparison.csv",
        out / "comparison.json",
        out / "pareto.png",
    )
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row[k]) for k in COLUMNS})
    document = {
        "experiment": experiment,
        "sweep": sweep,
        "confidence": 0.95,
        "rows": rows,
        "runs": [
            {"run_id": r.run_id, "configuration": r.label, "seed": r.seed, "sweep": r.sweep}
            for r in sorted(runs, key=lambda r: (r.label, _seed_order(r.seed)))
        ],
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    pareto(rows, runs, png_path, title=f"{experiment}" + (f", sweep {sweep}" if sweep else ""))
    return [csv_path, json_path, png_path], rows


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The headline columns as Markdown tables (outcome and cost; tokens and time per problem),
    for the console and the READMEs."""

    def pct(v: Any) -> str:
        return "" if v is None else f"{100 * v:.1f}%"

    def signed(v: Any) -> str:
        return "" if v is None else f"{100 * v:+.1f} pts"

    lines = [
        "| configuration | seeds | problems | accuracy (95% CI) | cost / 150 | vs LLM-only: "
        "accuracy change (95% CI), McNemar p | cost reduction | oracle | random mix |",
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
        lines.append(
            f"| {r['configuration']} | {r['seeds']} | {r['problems']} | {pct(r['accuracy'])} "
            f"({pct(r['accuracy_ci_low'])}-{pct(r['accuracy_ci_high'])}) "
            f"| ${r['cost_per_150_usd']:.4f} | {versus} | {pct(r['vs_llm_cost_reduction'])} "
            f"| {pct(r['oracle_accuracy'])} | {pct(r['random_mix_accuracy'])} |"
        )
    lines += [
        "",
        "| configuration | LLM tokens in / out | SLM tokens in / out | latency p50 / p95 "
        "| tool calls | delegation rate | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['configuration']} "
            f"| {r['llm_input_tokens_per_problem']:.0f} / {r['llm_output_tokens_per_problem']:.0f} "
            f"| {r['slm_input_tokens_per_problem']:.0f} / {r['slm_output_tokens_per_problem']:.0f} "
            f"| {r['latency_p50_s']:.1f} s / {r['latency_p95_s']:.1f} s "
            f"| {r['tool_calls_per_problem']:.2f} | {pct(r['delegation_rate'])} | {r['errors']} |"
        )
    return "\n".join(lines)
