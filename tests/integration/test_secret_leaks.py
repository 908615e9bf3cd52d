"""Secrets an endpoint or a URL could spill, kept out of every output, with real local servers: a
server that quotes the Authorization header in its 400 answer, and a base_url with a password."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from delegate.runner import AllProblemsFailed, run

from ..helpers import finished_runs, per_sample_table, resolved, run_traces
from .test_endpoint_faults import tool_call_completion

pytestmark = pytest.mark.integration

CANARY = "sk-canary-echoed-7f3a9c0d2e1b4a5f"
PASSWORD = "pw-canary-9d8c7b6a"


def delegate(*args: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m delegate`` with verbose logs, its outputs under ``tmp_path``."""
    base = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "delegate",
            *args,
            "dataset=mini",
            "progress=false",
            "cache.enabled=false",
            f"tracking.uri=sqlite:///{tmp_path}/store/mlflow.db",
            "tracking.experiment=leaks",
            f"hydra.run.dir={tmp_path}/out",
            f"hydra.sweep.dir={tmp_path}/sweep",
            "hydra.verbose=true",
        ],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def files_holding(text: str, root: Path) -> list[str]:
    """Every file under ``root`` (the MLflow database, artifacts, Hydra's files) with ``text``."""
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in files)
    return [str(p) for p in files if text.encode() in p.read_bytes()]


def logged_values(tmp_path: Path) -> list[str]:
    """The params and tags of every run in the store, read back through MLflow."""
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    runs = finished_runs(uri, "leaks")
    assert runs
    return [v for r in runs for v in (*r.data.params.values(), *r.data.tags.values())]


def test_a_key_echoed_in_an_error_body_is_masked_everywhere(scripted_server, tmp_path) -> None:
    server = scripted_server([("echo_auth", 400)] * 2)
    done = delegate(
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={server.url}",
        "samples=2",
        tmp_path=tmp_path,
        env={"OPENAI_API_KEY": CANARY},
    )
    # The server did receive the key, and did quote it back.
    assert [h["authorization"] for h, _ in server.requests] == [f"Bearer {CANARY}"] * 2
    assert done.returncode == 2  # every problem failed
    console = done.stdout + done.stderr
    assert "BadRequestError: Error code: 400" in console and "Bearer ***" in console
    assert CANARY not in console
    assert files_holding(CANARY, tmp_path) == []
    values = logged_values(tmp_path)
    assert not [v for v in values if CANARY in v]
    assert any("Bearer ***" in v for v in values)  # the error tag, masked


@pytest.mark.parametrize("mode", ["run", "multirun"])
def test_a_password_in_base_url_is_used_and_logged_nowhere(
    scripted_server, tmp_path, mode: str
) -> None:
    server = scripted_server([])
    url = server.url.replace("http://", f"http://alice:{PASSWORD}@")
    done = delegate(
        *(["-m"] if mode == "multirun" else []),
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={url}",
        "llm.api_key_env=null",
        "samples=1",
        tmp_path=tmp_path,
        env={},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    [(headers, _)] = server.requests
    assert headers["authorization"] == f"Basic {token}"  # the credentials went as Basic auth
    console = done.stdout + done.stderr
    written = tmp_path / ("sweep" if mode == "multirun" else "out")
    assert (written / ("0/.hydra" if mode == "multirun" else ".hydra") / "overrides.yaml").is_file()
    for secret in (PASSWORD, token):
        assert secret not in console
        assert files_holding(secret, tmp_path) == []
        assert not [v for v in logged_values(tmp_path) if secret in v]
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    job = next(r for r in finished_runs(uri, "leaks") if "llm.base_url" in r.data.params)
    assert job.data.params["llm.base_url"] == server.url  # the endpoint, without the userinfo


def router_config(llm_url: str, slm_url: str, store: str, *extra: str) -> dict:
    """One ``mini`` problem for the router, each model behind its own local server, the small
    model's key in ``SLM_KEY``."""
    return resolved(
        "strategy=router",
        "llm=gpt-4o",
        f"llm.base_url={llm_url}",
        "llm.api_key_env=null",
        "slm=vllm",
        f"slm.base_url={slm_url}",
        "slm.api_key_env=SLM_KEY",
        "dataset=mini",
        "samples=1",
        "progress=false",
        f"tracking.uri={store}",
        "tracking.experiment=leaks",
        *extra,
    )


def test_a_key_echoed_to_the_small_model_never_reaches_the_large_one(
    scripted_server, store, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("SLM_KEY", CANARY)
    llm = scripted_server([(200, {}, tool_call_completion("ask_small_model", '{"question": "q"}'))])
    slm = scripted_server([("echo_auth", 400)])
    cfg = router_config(llm.url, slm.url, store, "cache.enabled=false")
    # Its only delegation failed, so the run ends FAILED (it cannot pass for a router run);
    # the large model still went on (router.on_tool_error=report) and every record was kept.
    with pytest.raises(AllProblemsFailed, match="every small-model tool call failed"):
        run(cfg, tmp_path / "run")
    [failed] = finished_runs(store, "leaks")
    assert failed.data.metrics["n_errors"] == 0 and CANARY not in failed.data.tags["error"]
    assert [h["authorization"] for h, _ in slm.requests] == [f"Bearer {CANARY}"]
    # The tool result the large model was sent says what failed, with the key masked.
    [_, (_, second_turn)] = llm.requests
    tool_message = json.loads(second_turn)["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].startswith("Error: small model failed: BadRequestError")
    assert "Bearer ***" in tool_message["content"] and CANARY not in tool_message["content"]
    logged = failed
    row = per_sample_table(store, logged).iloc[0]
    assert "Bearer ***" in row["tool_call_log"] and CANARY not in row["tool_call_log"]
    assert not [t for t in run_traces(store, logged) if CANARY in t.to_json()]
    assert files_holding(CANARY, tmp_path) == [] and CANARY not in caplog.text


@pytest.mark.parametrize("mode", ["run", "multirun"])
def test_a_key_pasted_into_api_key_env_is_refused_and_echoed_nowhere(
    mode: str, tmp_path: Path
) -> None:
    """``llm.api_key_env=<the key>`` by mistake: one line naming the key, the value nowhere (not
    on the console, in the log, in Hydra's files or in a sweep's store)."""
    args = ["-m"] if mode == "multirun" else []
    done = delegate(
        *args,
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.api_key_env={CANARY}",
        "samples=1",
        tmp_path=tmp_path,
        env={},
    )
    console = done.stdout + done.stderr
    assert done.returncode != 0
    assert "<llm.api_key_env>" in console and "not hold the key itself" in console
    assert CANARY not in console
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written  # Hydra's files and the log were written, and hold no key
    assert [str(p) for p in written if CANARY.encode() in p.read_bytes()] == []


def test_a_key_quoted_in_a_prompt_text_is_masked_in_every_file_and_trace(
    scripted_server, tmp_path: Path
) -> None:
    """A prompt set that quotes the key (the endpoint still gets it: the user sent it) leaves it
    in no file: identity.json, config.yaml, Hydra's copies, the store and its traces."""
    server = scripted_server([])
    done = delegate(
        "strategy=llm",
        "llm=gpt-4o",
        f"llm.base_url={server.url}",
        "samples=1",
        f"prompt.system='Use the key {CANARY}, then box the final answer.'",
        tmp_path=tmp_path,
        env={"OPENAI_API_KEY": CANARY},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert CANARY in server.requests[0][1].decode()  # what the user wrote was sent
    assert CANARY not in done.stdout + done.stderr
    assert files_holding(CANARY, tmp_path) == []
    assert (tmp_path / "out" / "identity.json").is_file()
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    [logged] = finished_runs(uri, "leaks")
    traces = run_traces(uri, logged)
    assert traces and not [t for t in traces if CANARY in t.to_json()]
    assert any("***" in t.to_json() for t in traces)


def test_a_key_quoted_in_a_normal_answer_is_scrubbed_before_it_is_stored_or_forwarded(
    scripted_server, store, tmp_path, monkeypatch, caplog
) -> None:
    """The small model quotes its key in a successful reply (``router.tool_result=full``): the
    large model is forwarded the reply masked, and the key is in no row, trace, cache or file."""
    monkeypatch.setenv("SLM_KEY", CANARY)
    cache = tmp_path / "cache"
    llm = scripted_server([(200, {}, tool_call_completion("ask_small_model", '{"question": "q"}'))])
    slm = scripted_server([("echo_auth_ok",)])
    cfg = router_config(llm.url, slm.url, store, "router.tool_result=full", f"cache.dir={cache}")
    run(cfg, tmp_path / "run")
    assert [h["authorization"] for h, _ in slm.requests] == [f"Bearer {CANARY}"]
    [_, (_, second_turn)] = llm.requests
    tool_message = json.loads(second_turn)["messages"][-1]
    assert tool_message["role"] == "tool" and "My header is Bearer ***" in tool_message["content"]
    assert CANARY not in second_turn.decode()
    [logged] = finished_runs(store, "leaks")
    row = per_sample_table(store, logged).iloc[0]
    assert "Bearer ***" in row["tool_call_log"] and CANARY not in row["tool_call_log"]
    assert not [t for t in run_traces(store, logged) if CANARY in t.to_json()]
    assert any(p.is_file() for p in cache.rglob("*"))  # the reply was cached, scrubbed
    assert files_holding(CANARY, tmp_path) == [] and CANARY not in caplog.text
