"""Costs are usage times configured prices; failed problems stay in every denominator."""

import pytest

from delegate.accounting import Price, Usage
from delegate.data import Problem
from delegate.errors import ConfigError
from delegate.metrics import METRIC_NAMES, aggregate, percentile
from delegate.records import make_record
from delegate.strategies import ToolCallRecord, Trace

GPT4O = Price(input=2.50, cached_input=1.25, output=10.00)


def test_cost_bills_cached_input_at_its_own_rate() -> None:
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    assert GPT4O.cost_usd(usage) == pytest.approx(0.6 * 2.50 + 0.4 * 1.25 + 0.1 * 10.00)


def test_usage_adds_up() -> None:
    total = Usage(1, 0, 2, 1) + Usage(10, 5, 20, 1)
    assert total == Usage(11, 5, 22, 2)


def test_price_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"<llm\.price>"):
        Price.from_config({"input": "cheap"}, "llm")
    with pytest.raises(ConfigError, match="unknown price key"):
        Price.from_config({"inptu": 1}, "slm")
    with pytest.raises(ConfigError, match="negative"):
        Price.from_config({"output": -1}, "slm")


def _record(pid: int, text: str, *, error: str | None = None, calls: int = 0, latency: float = 1.0):
    trace = Trace(llm_usage=Usage(1000, 0, 100, 1), slm_usage=Usage(50, 0, 10, 1))
    trace.tool_calls = [
        ToolCallRecord("ask", "{}", "q", "1", "1", Usage(), 0.0, tool="small_model")
        for _ in range(calls)
    ]
    return make_record(Problem(pid, "q", "12"), text, trace, latency, GPT4O, Price(1, 1, 2), error)


def test_record_prices_both_models() -> None:
    r = _record(0, r"\boxed{12}")
    assert r.correct and r.correct_strict
    assert r.llm_cost_usd == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert r.slm_cost_usd == pytest.approx((50 * 1 + 10 * 2) / 1e6)
    assert r.cost_usd == pytest.approx(r.llm_cost_usd + r.slm_cost_usd)


def test_an_errored_problem_is_wrong_even_if_its_text_is_right() -> None:
    r = _record(0, r"\boxed{12}", error="APITimeoutError: timed out")
    assert not r.correct and not r.correct_strict


def test_aggregate_keeps_errors_in_the_denominator() -> None:
    records = [
        _record(0, r"\boxed{12}", latency=1.0, calls=1),
        _record(1, "12", latency=2.0, calls=3),
        _record(2, "", error="boom", latency=3.0),
        _record(3, r"\boxed{11}", latency=10.0),
    ]
    m = aggregate([r.to_row() for r in records], wall_time_s=5.0)
    assert tuple(m)[: len(METRIC_NAMES)] == METRIC_NAMES  # then the extraction rules' shares
    shares = {k: v for k, v in m.items() if k.startswith("extracted_by/")}
    assert set(m) == {*METRIC_NAMES, *shares, "grading_cut_off"}
    assert shares["extracted_by/boxed"] == 0.5 and shares["extracted_by/last_number"] == 0.25
    assert shares["extracted_by/none"] == 0.25 and sum(shares.values()) == 1.0
    assert m["accuracy"] == 0.5 and m["accuracy_strict"] == 0.25
    assert m["n_problems"] == 4 and m["n_errors"] == 1
    assert m["latency_mean_s"] == 4.0 and m["latency_p50_s"] == 2.5
    assert m["wall_time_s"] == 5.0
    assert m["llm_input_tokens"] == 4000 and m["slm_output_tokens"] == 40
    assert m["cost_usd"] == pytest.approx(m["llm_cost_usd"] + m["slm_cost_usd"])
    assert m["tool_calls_per_problem"] == 1.0 and m["delegation_rate"] == 0.5


def test_percentile_interpolates() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile(list(range(101)), 95) == 95
