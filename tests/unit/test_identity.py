"""A run's configuration identity, from the real configs: what changes it and what does not."""

from __future__ import annotations

import pytest

from delegate.build import Models, build_strategy, run_identity
from delegate.data import Problem
from delegate.errors import ConfigError
from delegate.identity import config_id, flatten, varying_settings

from ..helpers import run_config

PROBLEMS = [Problem(i, f"What is {i} + {i}?", str(2 * i)) for i in range(5)]


def identity_of(*overrides: str, problems: list[Problem] = PROBLEMS) -> dict:
    cfg = run_config("llm=gpt-4o", "slm=vllm", *overrides)
    models = Models.for_run(cfg)
    build_strategy(cfg, models)
    return run_identity(cfg, models, problems)


def cid(*overrides: str, problems: list[Problem] = PROBLEMS) -> str:
    return config_id(identity_of(*overrides, problems=problems))


@pytest.mark.parametrize(
    "runtime",
    [
        "seed=7",
        "concurrency=2",
        "progress=false",
        "resume=false",
        "cache.enabled=false",
        "tracking.experiment=other",
        "tracking.traces=false",
        "llm.timeout_s=5",
        "llm.max_retries=0",
        "llm.api_key_env=OTHER_KEY",
        "llm.requests_per_minute=10",
        "budget_usd=5",
        "dry_run=true",
        "retry_errors=true",
    ],
)
def test_runtime_settings_leave_the_identity_alone(runtime: str) -> None:
    assert cid("strategy=router", runtime) == cid("strategy=router")


@pytest.mark.parametrize(
    "setting",
    [
        "router.max_tool_calls=1",
        "router.tool_result=full",
        "router.tool_choice=required",
        "temperature=0.5",
        "max_tokens=99",
        "llm.max_tokens=99",
        "slm.temperature=0.3",
        "llm.model=gpt-4o-mini",
        "llm.base_url=http://127.0.0.1:9/v1",
        "llm.price.output=1.0",
        "llm.tool_protocol=text",
        "prompt=reference",
        "samples=3",
    ],
)
def test_what_changes_an_answer_or_a_cost_changes_it(setting: str) -> None:
    assert cid("strategy=router", setting) != cid("strategy=router")


def test_an_llm_run_ignores_router_settings_and_the_small_model() -> None:
    base = cid("strategy=llm")
    assert cid("strategy=llm", "router.max_tool_calls=1") == base
    assert cid("strategy=llm", "slm.max_tokens=7") == base
    assert "router" not in identity_of("strategy=llm") and "slm" not in identity_of("strategy=llm")
    assert cid("strategy=llm", "llm.max_tokens=7") != base


def test_an_edited_or_reordered_dataset_is_another_dataset() -> None:
    edited = [*PROBLEMS[:4], Problem(4, "What is 4 + 5?", "9")]
    reordered = [Problem(i, p.question, p.gold) for i, p in enumerate(reversed(PROBLEMS))]
    base = cid("strategy=llm")
    assert cid("strategy=llm", problems=edited) != base
    assert cid("strategy=llm", problems=reordered) != base


def test_identity_keys_read_as_overrides_and_varying_ones_are_found() -> None:
    one, three = (
        identity_of("strategy=router", "router.max_tool_calls=1"),
        identity_of("strategy=router"),
    )
    assert flatten(one)["router.max_tool_calls"] == 1
    assert flatten(one)["llm.backend"] == "openai"
    assert varying_settings([one, three, identity_of("strategy=llm")]) == ["router.max_tool_calls"]


def test_a_forced_text_tool_call_on_an_api_fails_before_any_work() -> None:
    cfg = run_config("strategy=router", "llm.tool_protocol=text", "router.tool_choice=required")
    with pytest.raises(ConfigError, match=r"llm\.tool_protocol"):
        build_strategy(cfg, Models.for_run(cfg))


def test_router_settings_name_their_own_keys() -> None:
    cfg = run_config("strategy=router", "router.tool_result=json")
    with pytest.raises(ConfigError, match=r"router\.tool_result"):
        build_strategy(cfg, Models.for_run(cfg))


def test_answer_markers_are_part_of_the_identity_only_when_set() -> None:
    plain = identity_of("strategy=llm")
    assert "answer_markers" not in plain["prompt"]  # identities from before markers stand
    marked = identity_of("strategy=llm", "prompt.answer_markers=[final answer:]")
    assert marked["prompt"]["answer_markers"] == ["final answer:"]
    assert config_id(marked) != config_id(plain)
