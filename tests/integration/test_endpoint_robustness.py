"""Endpoints that misbehave in ways the SDK lets through, from a real HTTP server on 127.0.0.1:
a response dripped byte by byte, impossible token counts, an error object in a 200 answer, and an
API key with stray whitespace."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from delegate.errors import ConfigError

from ..helpers import finished_runs, llm_only_run, per_sample_table
from .conftest import canned_completion

pytestmark = pytest.mark.integration


def llm_run(server_url: str, store: str, tmp_path: Path, *extra: str) -> dict[str, float]:
    return llm_only_run(server_url, store, tmp_path / "run", "robustness", *extra)


def errors(store: str) -> list[str]:
    """The error of each failed problem of the experiment's only run."""
    [logged] = finished_runs(store, "robustness")
    assert logged.info.status == "FINISHED"
    table = per_sample_table(store, logged)
    return list(table[table["error"].notna()]["error"])


def test_a_dripping_response_is_cut_at_timeout_s(scripted_server, store, tmp_path) -> None:
    # 0.5 s a byte: the whole body would take over two minutes; every read is quick.
    server = scripted_server([("drip", 0.5), ("drip", 0.5)])
    start = time.monotonic()
    metrics = llm_run(server.url, store, tmp_path, "llm.timeout_s=2")
    assert time.monotonic() - start < 30
    assert metrics["n_errors"] == 1 and len(server.arrivals) == 3  # 2 attempts, then problem 2
    # Each attempt was given up at its deadline: the client hung up 2 s after the request. The
    # server notices at a later byte (one every 0.5 s), so up to a second later; not sending the
    # whole body would have taken it two minutes.
    deadline = time.monotonic() + 5
    while len(server.hangups) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    for arrival, hangup in zip(server.arrivals[:2], server.hangups, strict=True):
        assert 2.0 <= hangup - arrival <= 3.1
    # The retry came after the deadline and a backoff of 0.375 to 0.5 s.
    assert 2.3 <= server.arrivals[1] - server.arrivals[0] <= 3.0
    [error] = errors(store)
    assert error == "APITimeoutError: no complete response within 2 s <llm.timeout_s>"


def test_the_deadline_is_per_attempt(scripted_server, store, tmp_path) -> None:
    server = scripted_server([("drip", 0.5)])
    metrics = llm_run(server.url, store, tmp_path, "llm.timeout_s=2", "samples=1")
    assert metrics["n_errors"] == 0 and len(server.arrivals) == 2
    assert metrics["llm_input_tokens"] == 50  # the retry's answer, counted once


def with_usage(**usage: Any) -> str:
    body = canned_completion()
    body["usage"] = usage
    return json.dumps(body)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            with_usage(prompt_tokens=-50, completion_tokens=10),
            "impossible usage: prompt_tokens=-50",
        ),
        (
            with_usage(prompt_tokens=50, completion_tokens=1.5),
            "impossible usage: completion_tokens=1.5",
        ),
        (
            with_usage(prompt_tokens="50", completion_tokens=10),
            "impossible usage: prompt_tokens='50'",
        ),
        (with_usage(prompt_tokens=50, completion_tokens=True), "completion_tokens=True"),
        (with_usage(prompt_tokens=50), "the endpoint's token usage has no completion_tokens"),
        (
            with_usage(
                prompt_tokens=50, completion_tokens=10, prompt_tokens_details={"cached_tokens": 60}
            ),
            "cached_tokens=60 > prompt_tokens=50",
        ),
        (
            json.dumps({"error": {"message": "the model is overloaded", "type": "server_error"}}),
            "ModelResponseError: the endpoint answered with an error: the model is overloaded",
        ),
    ],
)
def test_an_impossible_answer_fails_that_call_and_is_not_cached(
    scripted_server, store, tmp_path, body: str, error: str
) -> None:
    server = scripted_server([(200, {}, body)])
    metrics = llm_run(server.url, store, tmp_path, "cache.enabled=true", "llm.max_retries=0")
    assert metrics["n_errors"] == 1
    # Only the good answer is counted: its 50 + 10 tokens at 2.50 and 10.00 USD per 1M.
    assert metrics["llm_input_tokens"] == 50 and metrics["llm_output_tokens"] == 10
    assert metrics["cost_usd"] == pytest.approx(50 * 2.5e-6 + 10 * 10e-6)
    [failed] = errors(store)
    assert error in failed
    # The same command again: the good answer is replayed, the bad one asked for again.
    metrics = llm_run(server.url, store, tmp_path / "again", "cache.enabled=true")
    assert metrics["cache_hits"] == 1 and metrics["n_errors"] == 0 and len(server.arrivals) == 3


def test_an_attempt_abandoned_at_its_deadline_counts_as_possibly_billed(
    scripted_server, store, tmp_path
) -> None:
    """The provider may finish an attempt the client gave up on, and bill it: its worst case
    (the prompt's bound and max_tokens) is counted in ``spent_usd`` and ``possibly_billed_usd``,
    not in what the records cost."""
    from delegate.models.usage_check import prompt_tokens_bound

    server = scripted_server([("sleep", 3)])  # the first attempt outlives llm.timeout_s
    metrics = llm_run(server.url, store, tmp_path, "llm.timeout_s=1", "samples=1")
    assert metrics["n_errors"] == 0 and len(server.arrivals) == 2
    body = json.loads(server.requests[0][1])
    bound = prompt_tokens_bound(body["messages"], body.get("tools"))
    limit = body.get("max_completion_tokens") or body["max_tokens"]
    abandoned = bound * 2.5e-6 + limit * 10e-6  # conf/llm/gpt-4o.yaml's prices
    assert metrics["possibly_billed_usd"] == pytest.approx(abandoned, rel=1e-9)
    assert metrics["billed_usd"] == pytest.approx(50 * 2.5e-6 + 10 * 10e-6)  # the answer alone
    assert metrics["spent_usd"] == pytest.approx(metrics["billed_usd"] + abandoned, rel=1e-9)


@pytest.mark.parametrize(
    ("content_type", "body", "error"),
    [
        ("text/html", "<html><body>Please log in</body></html>", "an HTML or XML page"),
        (
            "text/event-stream",
            f"data: {json.dumps(canned_completion())}\n\ndata: [DONE]\n\n",
            "a server-sent event stream",
        ),
    ],
)
def test_a_body_that_is_not_a_json_completion_is_named_as_such(
    scripted_server, store, tmp_path, content_type: str, body: str, error: str
) -> None:
    """A proxy's login page or a stream where a completion belongs: the error says what came
    back (not "no token usage"), and the problem is recorded and counted."""
    server = scripted_server([(200, {"Content-Type": content_type}, body)])
    metrics = llm_run(server.url, store, tmp_path, "llm.max_retries=0")
    assert metrics["n_errors"] == 1 and metrics["n_problems"] == 2
    [failed] = errors(store)
    assert error in failed and "no token usage" not in failed


KEY = "sk-whitespace-test-0123456789"


def test_a_key_with_a_trailing_newline_is_used_stripped_with_a_warning(
    scripted_server, store, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("ROBUSTNESS_KEY", f"  {KEY}\n")
    server = scripted_server([])
    with caplog.at_level(logging.WARNING, logger="delegate"):
        metrics = llm_run(
            server.url, store, tmp_path, "llm.api_key_env=ROBUSTNESS_KEY", "samples=1"
        )
    assert metrics["n_errors"] == 0
    [(headers, _)] = server.requests
    assert headers["authorization"] == f"Bearer {KEY}"
    assert "the API key in ROBUSTNESS_KEY has leading or trailing whitespace" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize("key", [f"{KEY[:8]} {KEY[8:]}", f"{KEY}\x07", f"{KEY[:8]}\n{KEY[8:]}"])
def test_a_key_that_cannot_be_a_header_is_refused_by_name(
    scripted_server, store, tmp_path, monkeypatch, key: str
) -> None:
    monkeypatch.setenv("ROBUSTNESS_KEY", key)
    server = scripted_server([])
    with pytest.raises(ConfigError) as refused:
        llm_run(server.url, store, tmp_path, "llm.api_key_env=ROBUSTNESS_KEY")
    message = str(refused.value)
    assert message == (
        "the API key in ROBUSTNESS_KEY contains whitespace, control or non-ASCII characters "
        "<llm.api_key_env>: check how the variable is set"
    )
    assert server.arrivals == [] and finished_runs(store, "robustness") == []
