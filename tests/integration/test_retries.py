"""Transient endpoint faults are retried within the configured bounds, against a real HTTP server
on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delegate.runner import AllProblemsFailed, run

from ..helpers import finished_runs, resolved

pytestmark = pytest.mark.integration

ERROR = json.dumps({"error": {"message": "try again", "type": "server_error"}})


def llm_run(server, store: str, tmp_path: Path, *extra: str) -> dict[str, float]:
    cfg = resolved(
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={server.url}",
        "llm.api_key_env=null",
        "dataset=mini",
        "samples=1",
        "progress=false",
        "cache.enabled=false",
        f"tracking.uri={store}",
        "tracking.experiment=retries",
        *extra,
    )
    return run(cfg, tmp_path / "run")


def test_429_with_retry_after_is_waited_out_and_retried(scripted_server, store, tmp_path) -> None:
    server = scripted_server([(429, {"Retry-After": "2"}, ERROR), (429, {}, ERROR)])
    metrics = llm_run(server, store, tmp_path, "llm.max_retries=3")
    assert len(server.arrivals) == 3
    assert server.arrivals[1] - server.arrivals[0] >= 1.9  # the server's Retry-After was honoured
    assert metrics["n_errors"] == 0 and metrics["accuracy"] == 0  # 84 is not this problem's gold
    assert metrics["llm_input_tokens"] == 50  # only the answered request was billed


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(scripted_server, store, tmp_path, status: int) -> None:
    server = scripted_server([(status, {}, ERROR)] * 2)
    metrics = llm_run(server, store, tmp_path, "llm.max_retries=2")
    assert len(server.arrivals) == 3 and metrics["n_errors"] == 0


def test_retries_are_bounded_and_a_run_of_failures_fails(scripted_server, store, tmp_path) -> None:
    server = scripted_server([(500, {}, ERROR)] * 10)
    with pytest.raises(AllProblemsFailed, match="InternalServerError"):
        llm_run(server, store, tmp_path, "llm.max_retries=1")
    assert len(server.arrivals) == 2  # the first try and one retry, no more
    [failed] = finished_runs(store, "retries")
    assert failed.info.status == "FAILED"
    assert "all 1 problems failed" in failed.data.tags["error"]


def test_a_slow_response_times_out_and_is_retried(scripted_server, store, tmp_path) -> None:
    server = scripted_server([("sleep", 3.0)])
    metrics = llm_run(server, store, tmp_path, "llm.timeout_s=1", "llm.max_retries=1")
    assert len(server.arrivals) == 2 and metrics["n_errors"] == 0
