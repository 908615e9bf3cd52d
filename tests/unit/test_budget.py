"""The budget's arithmetic: reservations against the cap, settling, the worst case of a call."""

from __future__ import annotations

import json

import pytest

from delegate.accounting import Price, Usage
from delegate.errors import ConfigError
from delegate.models.budget import (
    TEMPLATE_TOKENS_PER_MESSAGE,
    TEMPLATE_TOKENS_PER_PROMPT,
    Budget,
    BudgetedChatModel,
    BudgetExhausted,
    prompt_tokens_bound,
    read_spent,
)
from delegate.models.call_error import ModelResponseError
from delegate.models.usage_check import check_usage


def test_a_reservation_that_does_not_fit_beside_spent_and_held_is_refused() -> None:
    budget = Budget(1.0)
    first = budget.reserve(0.5)
    budget.reserve(0.25)  # 0.75 held
    with pytest.raises(BudgetExhausted):
        budget.reserve(0.3)  # 0.75 + 0.3 > 1
    assert budget.exhausted
    budget.settle(first, 0.1)  # 0.1 spent, 0.25 held: 0.6 fits now
    assert budget.spent_usd == pytest.approx(0.1) and budget.held_usd == pytest.approx(0.25)
    budget.reserve(0.6)
    budget.settle(first, 0.4)  # settling twice counts once
    assert budget.spent_usd == pytest.approx(0.1)


def test_no_cap_only_counts() -> None:
    budget = Budget(None)
    budget.settle(budget.reserve(1e9), 2.0)
    assert budget.spent_usd == 2.0 and not budget.exhausted


def test_the_spend_is_kept_in_a_file_across_sessions(tmp_path) -> None:
    file = tmp_path / "budget.json"
    budget = Budget(5.0)
    budget.start(1.5, file)
    budget.settle(budget.reserve(1.0), 0.25)
    assert read_spent(file) == pytest.approx(1.75)
    assert read_spent(tmp_path / "missing.json") is None


@pytest.mark.parametrize("value", [0, -1, "5", True, float("inf")])
def test_bad_budgets_are_refused(value) -> None:
    with pytest.raises(ConfigError, match="budget_usd"):
        Budget.from_config(value)


def test_the_prompt_bound_is_its_bytes_plus_the_template() -> None:
    messages = [{"role": "user", "content": "é"}]  # é is 2 bytes
    text = json.dumps(messages, ensure_ascii=False) + "[]"
    expected = len(text) + 1 + TEMPLATE_TOKENS_PER_MESSAGE + TEMPLATE_TOKENS_PER_PROMPT
    assert prompt_tokens_bound(messages, None) == expected


class _Model:
    name = "m"

    def __init__(self, max_tokens: object) -> None:
        self.max_tokens = max_tokens

    def identity(self) -> dict:
        return {"max_tokens": self.max_tokens}


def test_the_worst_case_is_the_bound_prompt_plus_max_tokens_at_the_prices() -> None:
    messages = [{"role": "user", "content": "hi"}]
    model = BudgetedChatModel(_Model(100), Budget(1.0), Price(2.0, 1.0, 10.0), "llm")
    tokens = prompt_tokens_bound(messages, None)
    assert model.worst_case_usd(messages, None) == pytest.approx((tokens * 2.0 + 1000.0) / 1e6)


def test_a_cap_needs_a_bound_on_the_output() -> None:
    model = BudgetedChatModel(_Model(None), Budget(1.0), Price(1.0, 1.0, 1.0), "llm")
    with pytest.raises(ConfigError, match=r"llm\.max_tokens"):
        model.worst_case_usd([], None)


def _usage(prompt: object, output: object, cached: object = 0) -> Usage:
    return Usage(prompt, cached, output, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("usage", "error"),
    [
        (_usage(-1, 5), "prompt_tokens=-1"),
        (_usage(10, 2.5), "completion_tokens=2.5"),
        (_usage(10, True), "completion_tokens=True"),
        (_usage("10", 5), "prompt_tokens='10'"),
        (_usage(10, 5, 11), "cached_tokens=11 > prompt_tokens=10"),
        (_usage(10**12, 5), "prompt_tokens=1000000000000 for a prompt of at most 200 tokens"),
        (_usage(10, 101), "completion_tokens=101 > max_tokens=100 <llm.max_tokens>"),
    ],
)
def test_impossible_usage_is_named(usage: Usage, error: str) -> None:
    with pytest.raises(ModelResponseError, match="impossible usage") as e:
        check_usage(usage, prompt_bound=200, max_tokens=100, where="llm")
    assert error in str(e.value)


def test_possible_usage_passes_up_to_its_bounds() -> None:
    check_usage(_usage(200, 100, 200), prompt_bound=200, max_tokens=100, where="llm")
    check_usage(_usage(200, 10**6), prompt_bound=200, max_tokens=None, where="llm")


def test_an_impossible_completion_is_not_billed(tmp_path) -> None:
    import asyncio

    from delegate.models.cache import CachedChatModel, ResponseStore

    from .scripted import ScriptedModel, reply

    class Limited(ScriptedModel):
        def identity(self) -> dict:
            return {"max_tokens": 5}

    good, bad = reply("ok", tokens=(10, 5)), reply("too long", tokens=(10, 6))
    budget = Budget(1.0)
    inner = BudgetedChatModel(Limited(bad, good), budget, Price(1e3, 0, 1e3), "slm")
    model = CachedChatModel(inner, ResponseStore(tmp_path), seed=0)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ModelResponseError, match=r"max_tokens=5 <slm\.max_tokens>"):
        asyncio.run(model.complete(messages))
    assert budget.spent_usd == 0 and budget.held_usd == 0
    assert asyncio.run(model.complete(messages)).text == "ok"  # asked again: nothing was cached
    assert budget.spent_usd == pytest.approx((10 + 5) * 1e-3)
