"""``budget_usd`` for real: ``python -m delegate`` against a local server that bills every byte of
the prompt and every allowed output token, eight problems in flight and 429s mixed in. The run
stops before it passes the cap, and the same command with a higher cap finishes the same run
without paying for any problem twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from delegate.data import load_problems
from delegate.runner import run

from ..helpers import endpoint_overrides, finished_runs, per_sample_table, resolved
from .conftest import canned_completion

pytestmark = pytest.mark.integration

SRC = str(Path(__file__).resolve().parents[2] / "src")
INPUT, OUTPUT = 2.50, 10.00  # conf/llm/gpt-4o.yaml, USD per 1M tokens
RATE_LIMITED = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}})


def mini() -> list:
    return load_problems(resolved("dataset=mini")["dataset"])


def every_fourth_is_429(n: int, request: dict) -> tuple[int, dict, str] | None:
    return (429, {"retry-after-ms": "30"}, RATE_LIMITED) if n % 4 == 3 else None


def delegate(url: str, store: str, run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "delegate",
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={url}",
        "llm.api_key_env=null",
        "llm.max_retries=6",
        "dataset=mini",
        "samples=all",
        "concurrency=8",
        "max_tokens=100",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        "tracking.experiment=budget",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def test_the_cap_holds_under_concurrency_and_a_higher_cap_finishes_the_run(
    metered_server, store: str, tmp_path: Path
) -> None:
    server = metered_server(every_fourth_is_429, delay_s=0.1)
    cap = 0.03
    first = delegate(server.url, store, tmp_path / "first", f"budget_usd={cap}")
    assert first.returncode == 2, first.stderr[-3000:]

    billed = server.billed_usd(INPUT, OUTPUT)
    costs = [
        (u["prompt_tokens"] * INPUT + u["completion_tokens"] * OUTPUT) / 1e6
        for _, u in server.answered
    ]
    assert billed <= cap
    # The cap was used, not abandoned early: a call is refused only when it does not fit beside
    # what is spent and held, and what is held settles at nearly its worst case here.
    assert billed > cap - 2 * max(costs)
    assert 0 < len(server.answered) < 40
    assert server.arrivals > len(server.answered)  # 429s were answered, and retried
    assert server.max_in_flight >= 4  # the calls really overlapped
    stop_lines = [line for line in first.stderr.splitlines() if "stopped by the budget" in line]
    assert len(stop_lines) == 1
    assert f"billed of budget_usd={cap:g}" in stop_lines[0]
    [stopped] = finished_runs(store, "budget")
    assert stopped.info.status == "KILLED"
    assert stopped.data.tags["stopped"] == "budget" and "budget" in stopped.data.tags["error"]
    assert stopped.data.metrics["spent_usd"] == pytest.approx(billed, rel=1e-9)

    second = delegate(server.url, store, tmp_path / "second", "budget_usd=1")
    assert second.returncode == 0, second.stderr[-3000:]
    [done] = finished_runs(store, "budget")
    assert done.info.run_id == stopped.info.run_id
    assert done.info.status == "FINISHED" and "stopped" not in done.data.tags
    assert "error" not in done.data.tags  # the stop's reason went with the stop
    assert done.data.metrics["n_problems"] == 40 and done.data.metrics["n_errors"] == 0
    # Every problem was paid for exactly once over both sessions, and the metrics say so.
    asked = server.questions()
    assert [sum(p.question in q for q in asked) for p in mini()] == [1] * 40
    total = server.billed_usd(INPUT, OUTPUT)
    assert total <= 1
    assert done.data.metrics["spent_usd"] == pytest.approx(total, rel=1e-9)
    assert done.data.metrics["billed_usd"] == pytest.approx(total, rel=1e-9)
    results = json.loads((tmp_path / "second" / "results_llm.json").read_text())
    assert results["resumed_problems"] == len(costs)
    assert Counter(r["problem_id"] for r in results["records"]).most_common(1)[0][1] == 1


def absurd_usage(n: int, request: dict) -> tuple[int, dict, str] | None:
    """The first request billed 10^13 prompt tokens ($25,000,000 at gpt-4o's price), the second
    more output tokens than the request allows; the rest as metered."""
    if n > 1:
        return None
    body = canned_completion()
    limit = int(request["max_tokens"])
    prompt, completion = (10**13, 10) if n == 0 else (50, limit + 1)
    body["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion}
    return 200, {}, json.dumps(body)


def test_impossible_usage_fails_its_call_and_is_neither_billed_nor_cached(
    metered_server, store: str, tmp_path: Path
) -> None:
    server = metered_server(absurd_usage, delay_s=0.0)
    overrides = [
        "strategy=llm",
        *endpoint_overrides(server.url, samples=4),
        "cache.enabled=true",
        f"cache.dir={tmp_path / 'cache'}",
        "concurrency=1",
        "max_tokens=100",
        "llm.max_retries=0",
        "budget_usd=1",
        f"tracking.uri={store}",
        "tracking.experiment=absurd",
    ]
    metrics = run(resolved(*overrides), tmp_path / "first")  # finishes: no budget stop
    [logged] = finished_runs(store, "absurd")
    assert logged.info.status == "FINISHED" and "stopped" not in logged.data.tags
    errors = sorted(per_sample_table(store, logged)["error"].dropna())
    assert len(errors) == 2 and metrics["n_errors"] == 2
    assert "for a prompt of at most" in errors[1] and "prompt_tokens=10000000000000" in errors[1]
    assert "impossible usage: completion_tokens=101 > max_tokens=100 <llm.max_tokens>" in errors[0]
    # Only the two real answers are billed, counted and kept in the budget's spend.
    real = [u for _, u in server.answered]
    assert len(real) == 2
    billed = server.billed_usd(INPUT, OUTPUT)
    assert metrics["spent_usd"] == pytest.approx(billed, rel=1e-9) and billed < 1
    assert metrics["llm_input_tokens"] == sum(u["prompt_tokens"] for u in real)
    # The same command again: the real answers are replayed, the impossible ones asked again.
    again = run(resolved(*overrides), tmp_path / "again")
    assert again["cache_hits"] == 2 and again["n_errors"] == 0 and server.arrivals == 6
