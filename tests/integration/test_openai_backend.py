"""The OpenAI backend against a real OpenAI-compatible server (llama.cpp) on 127.0.0.1: the tokens
logged to MLflow are the tokens the server reported, and the cost is those tokens at the configured
gpt-4o prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from delegate.runner import run

from ..helpers import finished_runs, per_sample_table, resolved
from .conftest import RecordingProxy

pytestmark = pytest.mark.integration

CANARY = "sk-canary-0123456789abcdefghijklmnop"


def test_llm_tokens_and_cost_equal_what_the_server_reported(
    proxy: RecordingProxy,
    store: str,
    gsm8k_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    cfg = resolved(
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={proxy.url}",
        "dataset=gsm8k",
        f"dataset.path={gsm8k_path}",
        "samples=3",
        "max_tokens=48",
        "progress=false",
        f"tracking.uri={store}",
        "tracking.experiment=openai-backend",
    )
    metrics = run(cfg, tmp_path / "run")

    assert len(proxy.exchanges) == 3
    prompt, completion = proxy.usage()
    assert prompt > 0 and completion > 0
    assert metrics["llm_input_tokens"] == prompt
    assert metrics["llm_output_tokens"] == completion
    expected_cost = (prompt * 2.50 + completion * 10.00) / 1e6  # gpt-4o list prices, no cache
    assert metrics["llm_cost_usd"] == pytest.approx(expected_cost)
    assert metrics["cost_usd"] == pytest.approx(expected_cost)
    assert metrics["slm_input_tokens"] == 0 and metrics["slm_cost_usd"] == 0

    # Every request carried the configured settings and the key from the environment.
    for exchange in proxy.exchanges:
        assert exchange.request["model"] == "gpt-4o"
        assert exchange.request["temperature"] == 0.0 and exchange.request["max_tokens"] == 48
        assert exchange.headers["authorization"] == f"Bearer {CANARY}"

    [logged] = finished_runs(store, "openai-backend")
    assert logged.info.status == "FINISHED"
    assert logged.data.metrics["llm_input_tokens"] == prompt
    table = per_sample_table(store, logged)
    assert table["llm_input_tokens"].sum() == prompt
    assert sorted(table["problem_id"]) == [p["problem_id"] for p in _sample_rows(tmp_path)]


def test_router_with_native_tool_calls_over_http(
    proxy: RecordingProxy,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both models behind the server: the large one forced to call the tool once."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    cfg = resolved(
        "strategy=router",
        "llm=gpt-4o",
        f"llm.base_url={proxy.url}",
        "slm=vllm",
        f"slm.base_url={proxy.url}",
        "dataset=mini",
        "samples=2",
        "max_tokens=48",
        "router.tool_choice=required",
        "router.max_tool_calls=1",
        "progress=false",
        f"tracking.uri={store}",
        "tracking.experiment=router-http",
    )
    metrics = run(cfg, tmp_path / "run")

    assert metrics["n_errors"] == 0
    assert metrics["delegation_rate"] == 1.0 and metrics["tool_calls_per_problem"] == 1.0
    # Large-model turns carry the tool schema; the small model's calls do not.
    llm_prompt, llm_completion = proxy.usage(with_tools=True)
    slm_prompt, slm_completion = proxy.usage(with_tools=False)
    assert metrics["llm_input_tokens"] == llm_prompt
    assert metrics["llm_output_tokens"] == llm_completion
    assert metrics["slm_input_tokens"] == slm_prompt > 0
    assert metrics["slm_output_tokens"] == slm_completion
    forced = [e for e in proxy.exchanges if isinstance(e.request.get("tool_choice"), dict)]
    assert len(forced) == 2  # the first turn of each problem
    for e in forced:
        assert e.response["choices"][0]["message"]["tool_calls"]
    # After the one allowed call the tool stays declared but may not be used.
    assert [e.request.get("tool_choice") for e in proxy.exchanges if "tools" in e.request].count(
        "none"
    ) == 2


def _sample_rows(tmp_path: Path) -> list[dict[str, str]]:
    import csv

    with open(tmp_path / "run" / "samples.csv") as f:
        return [{**row, "problem_id": int(row["problem_id"])} for row in csv.DictReader(f)]


def test_a_repeated_run_is_replayed_from_the_cache_at_no_cost(
    proxy: RecordingProxy,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    overrides = (
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={proxy.url}",
        "dataset=mini",
        "samples=3",
        "max_tokens=32",
        "progress=false",
        f"tracking.uri={store}",
        "tracking.experiment=cache",
    )
    first = run(resolved(*overrides), tmp_path / "first")
    calls_after_first = len(proxy.exchanges)
    second = run(resolved(*overrides), tmp_path / "second")

    assert calls_after_first == 3 and len(proxy.exchanges) == 3  # nothing new reached the server
    assert first["cache_hits"] == 0 and first["billed_usd"] == pytest.approx(first["cost_usd"])
    assert second["cache_hits"] == 3 and second["billed_usd"] == 0
    for name in ("accuracy", "llm_input_tokens", "llm_output_tokens", "cost_usd"):
        assert second[name] == first[name]
    # Replayed calls keep their original latency; only the framework's own time differs.
    assert second["latency_mean_s"] == pytest.approx(first["latency_mean_s"], rel=0.02)
    assert second["wall_time_s"] < first["wall_time_s"]
    # A different generation setting is a different request: it misses.
    third = run(resolved(*overrides, "max_tokens=33"), tmp_path / "third")
    assert third["cache_hits"] == 0 and len(proxy.exchanges) == 6


def test_concurrency_does_not_change_results(
    proxy: RecordingProxy,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Greedy settings: the same answers and tokens one at a time and four at a time."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    tables = []
    for concurrency in (1, 4):
        cfg = resolved(
            "strategy=llm",
            "llm=gpt-4o",
            f"llm.base_url={proxy.url}",
            "dataset=mini",
            "samples=4",
            "max_tokens=32",
            f"concurrency={concurrency}",
            "cache.enabled=false",
            "progress=false",
            f"tracking.uri={store}",
            "tracking.experiment=concurrency",
        )
        run(cfg, tmp_path / f"c{concurrency}")
    for logged in finished_runs(store, "concurrency"):
        table = per_sample_table(store, logged).sort_values("problem_id")
        tables.append(table[["problem_id", "final_text", "llm_input_tokens", "llm_output_tokens"]])
    assert tables[0].values.tolist() == tables[1].values.tolist()
