"""``<role>.batch=true``: where a Batch API can serve a strategy, the discounted price in every
figure, and settings refused with the key named."""

from __future__ import annotations

import pytest

from delegate.accounting import Price
from delegate.build import Models, run_identity
from delegate.errors import ConfigError
from delegate.models import batch_ledger
from delegate.models.openai_chat import OpenAIChatModel
from delegate.plan import make_plan

from ..helpers import resolved, run_config

LOCAL = ["llm.base_url=http://127.0.0.1:9/v1", "llm.api_key_env=null", "dataset=mini", "samples=2"]


@pytest.mark.parametrize("strategy", ["llm", "cascade", "learned_router"])
def test_strategies_whose_calls_stand_alone_accept_a_batched_large_model(strategy: str) -> None:
    config = run_config(f"strategy={strategy}", "llm.batch=true", *LOCAL)
    assert config.model("llm").batch


def test_the_router_refuses_it_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"strategy=router .* <llm\.batch>"):
        make_plan(resolved("strategy=router", "llm.batch=true", *LOCAL))


def test_a_local_backend_refuses_it_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"backend: openai.* <slm\.batch>"):
        make_plan(resolved("strategy=slm", "slm=smollm2-135m", "+slm.batch=true", *LOCAL))


def test_the_batch_price_is_the_list_price_times_the_discount() -> None:
    listed = run_config("strategy=llm", *LOCAL).model("llm").price
    batched = run_config("strategy=llm", "llm.batch=true", *LOCAL).model("llm").price
    assert batched == Price(listed.input * 0.5, listed.cached_input * 0.5, listed.output * 0.5)
    other = run_config("strategy=llm", "llm.batch=true", "llm.price.batch_discount=0.25", *LOCAL)
    assert other.model("llm").price.output == listed.output * 0.25


def test_a_batched_run_is_its_own_configuration_priced_as_it_pays() -> None:
    def identity(*extra: str) -> dict:
        config = run_config("strategy=llm", *LOCAL, *extra)
        plan = make_plan(config.plain)
        return run_identity(config, Models.for_run(config), plan.dataset)

    live, batched = identity(), identity("llm.batch=true")
    assert "batch" not in live["llm"]  # runs made before batch mode keep their identity
    assert batched["llm"]["batch"] is True
    assert batched["llm"]["price"]["input"] == live["llm"]["price"]["input"] / 2


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("llm.price.batch_discount=0", "llm.price.batch_discount"),
        ("llm.price.batch_discount=1.5", "llm.price.batch_discount"),
        ("llm.price.batch_discount=nan", "llm.price.batch_discount"),
    ],
)
def test_a_discount_that_is_not_a_share_is_refused(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"<{key}>"):
        run_config("strategy=llm", "llm.batch=true", override, *LOCAL)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"batch": "yes"}, "llm.batch"),
        ({"batch": True, "batch_poll_s": 0}, "llm.batch_poll_s"),
        ({"batch": True, "batch_poll_s": float("inf")}, "llm.batch_poll_s"),
    ],
)
def test_bad_batch_settings_name_their_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"<{key}>"):
        OpenAIChatModel("gpt-4o", base_url="http://127.0.0.1:9/v1", api_key_env=None, **options)


def test_the_ledger_keeps_every_batch_in_the_tag_value() -> None:
    written: list[str] = []
    with batch_ledger.recording(["batch_1"], False, written.append) as ledger:
        assert batch_ledger.current() is ledger
        ledger.add("batch_2")
        ledger.add("batch_2")
    assert written == ["batch_1,batch_2", "batch_1,batch_2"]
    assert batch_ledger.parse(written[-1]) == ["batch_1", "batch_2"]
    assert batch_ledger.parse(None) == [] and batch_ledger.current() is None


def test_requests_past_the_apis_limits_go_in_several_batches(monkeypatch) -> None:
    from delegate.models import openai_batch

    def requests(n: int, size: int) -> list:
        return [openai_batch._Request(f"id{i}", {"x": "y" * size}, None) for i in range(n)]  # type: ignore[arg-type]

    monkeypatch.setattr(openai_batch, "MAX_REQUESTS", 2)
    assert [len(p) for p in openai_batch._parts(requests(5, 1))] == [2, 2, 1]
    monkeypatch.setattr(openai_batch, "MAX_REQUESTS", 50_000)
    one = len(openai_batch._line(requests(1, 100)[0]))
    monkeypatch.setattr(openai_batch, "MAX_FILE_BYTES", 3 * one)
    assert [len(p) for p in openai_batch._parts(requests(7, 100))] == [3, 3, 1]
    assert openai_batch._parts([]) == []
