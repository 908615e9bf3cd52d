"""The record schema and its one reader: usage per role, the flat row's columns, and rows read
back from a real MLflow store (whose ``load_table`` turns numeric text into numbers)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from delegate.accounting import Price, Usage
from delegate.data import Problem
from delegate.records import CascadeDetails, ProblemRecord, RoleUsage, make_record, read_records
from delegate.strategies import ToolCallRecord, Trace

LLM_PRICE = Price(input=2.0, cached_input=1.0, output=10.0)
SLM_PRICE = Price(input=0.5, cached_input=0.25, output=1.0)

# The per-sample columns as they were before usage was kept per role; the new ones come last.
OLD_COLUMNS = [
    "problem_id",
    "question",
    "gold",
    "final_text",
    "extracted",
    "extracted_strict",
    "correct",
    "correct_strict",
    "latency_s",
    "llm_latency_s",
    "slm_latency_s",
    "llm_calls",
    "llm_input_tokens",
    "llm_cached_tokens",
    "llm_output_tokens",
    "slm_input_tokens",
    "slm_output_tokens",
    "llm_cost_usd",
    "slm_cost_usd",
    "cost_usd",
    "billed_usd",
    "cache_hits",
    "tool_calls",
    "tool_call_log",
    "error",
    "notes",
    "finish_reasons",
    "truncated",
    "source",
    "level",
    "subject",
    "answer_type",
    "rel_tol",
    "slm_tool_calls",
    "calculator_calls",
    "tool_errors",
    "slm_failures",
    "slm_answers",
    "slm_answer",
    "confidence",
    "escalated",
]
NEW_COLUMNS = [
    "slm_calls",
    "slm_cached_tokens",
    "extracted_by",
    "grade_error",
    "code_outcome",
    "code_message",
    "code_duration_s",
    "attribution",
]


def record(pid: int, gold: str, text: str, **trace_values: object) -> ProblemRecord:
    trace = Trace(
        llm_usage=Usage(1000, 400, 100, 2),
        slm_usage=Usage(50, 20, 10, 3),
        llm_latency_s=1.5,
        slm_latency_s=0.25,
        **trace_values,  # type: ignore[arg-type]
    )
    problem = Problem(pid, str(7 * pid), gold, source="gsm8k", level=None)
    return make_record(problem, text, trace, 2.0, LLM_PRICE, SLM_PRICE, None)


def test_usage_is_kept_per_role_for_both_models() -> None:
    r = record(1, "42", r"\boxed{42}")
    assert r.llm == RoleUsage(2, 1000, 400, 100, 1.5, LLM_PRICE.cost_usd(Usage(1000, 400, 100)))
    assert r.slm == RoleUsage(3, 50, 20, 10, 0.25, (30 * 0.5 + 20 * 0.25 + 10 * 1.0) / 1e6)
    assert r.cost_usd == r.llm.cost_usd + r.slm.cost_usd
    row = r.to_row()
    assert (row["slm_calls"], row["slm_cached_tokens"], row["llm_calls"]) == (3, 20, 2)
    assert (row["llm_cost_usd"], row["slm_cost_usd"]) == (r.llm.cost_usd, r.slm.cost_usd)
    assert list(row) == [*OLD_COLUMNS, *NEW_COLUMNS]
    assert row["extracted_by"] == "boxed" and r.extracted_by == "boxed"  # graded with the record
    assert (row["grade_error"], row["code_outcome"], row["code_message"]) == (None, "", None)


def test_price_halves_add_up_to_the_cost() -> None:
    usage = Usage(input_tokens=1_000, cached_input_tokens=300, output_tokens=50)
    halves = LLM_PRICE.input_cost_usd(1_000, 300) + LLM_PRICE.output_cost_usd(50)
    assert halves == pytest.approx(LLM_PRICE.cost_usd(usage))
    assert LLM_PRICE.output_cost_usd(1_000_000) == 10.0


def test_router_details_count_tool_calls_by_tool() -> None:
    from delegate.tools.calculator_tool import KIND as CALCULATOR
    from delegate.tools.small_model import KIND as SMALL_MODEL

    calls = [
        ToolCallRecord("ask", "{}", "q", "1", "1", Usage(), 0.0, tool=SMALL_MODEL),
        ToolCallRecord("calc", "{}", "1+1", "2", "2", Usage(), 0.0, tool=CALCULATOR),
        ToolCallRecord("ask", "{}", "q", None, None, Usage(), 0.0, tool=SMALL_MODEL, error="x"),
    ]
    r = record(2, "4", r"\boxed{4}", tool_calls=calls)
    assert (r.tool_calls, r.slm_tool_calls, r.calculator_calls) == (3, 1, 1)
    assert (r.router.tool_errors, r.router.slm_failures) == (1, 1)
    assert ProblemRecord.from_row(r.to_row()) == r


def _log_table(rows: list[dict[str, object]], run_name: str) -> str:
    import mlflow

    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_table(pd.DataFrame(rows), artifact_file="per_sample.json")
    return str(run.info.run_id)


def test_rows_read_back_from_a_real_mlflow_store(tmp_path: Path) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("records", artifact_location=str(tmp_path / "art"))
    mlflow.set_experiment(experiment_id=experiment)
    cascade = CascadeDetails(("12", "12", None), "12", 2 / 3, True)
    new = [
        record(1, "42", r"so \boxed{3}"),  # gold and answers that look like numbers
        record(2, "3.5", "no answer at all"),  # nothing extracted: None
    ]
    new[0] = ProblemRecord(**{**new[0].__dict__, "cascade": cascade, "level": 2})
    old = {  # a row from before the tool, cascade and per-role columns existed
        k: v
        for k, v in record(3, "8", r"\boxed{8}").to_row().items()
        if k in OLD_COLUMNS[:23] and k not in ("cost_usd", "billed_usd", "llm_cached_tokens")
    }
    old["tool_calls"] = 2
    ids = [_log_table([r.to_row() for r in new], "new"), _log_table([old], "old")]
    table = MlflowClient().load_table(
        experiment, "per_sample.json", run_ids=ids, extra_columns=["run_id"]
    )
    assert 42 in table["gold"].tolist()  # numeric text came back a number: the reader repairs it
    back = sorted(read_records(table.to_dict(orient="records")), key=lambda r: r.problem_id)
    # The table keeps 10 significant digits of a float (pandas' JSON default); all else exact.
    for got, wrote in zip(back[:2], new, strict=True):
        got_row, wrote_row = got.to_row(), wrote.to_row()
        assert list(got_row) == list(wrote_row)
        for key, value in wrote_row.items():
            expected = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
            assert got_row[key] == expected, key
    assert (back[0].question, back[0].gold, back[0].extracted) == ("7", "42", "3")
    assert back[1].extracted is None and back[1].level is None and back[1].error is None
    [older] = back[2:]
    assert (older.slm.calls, older.slm.cached_tokens, older.llm.cached_tokens) == (0, 0, 0)
    assert older.slm_tool_calls == 2  # the small model was the only tool then
    assert (older.answer_type, older.extracted_by, older.source) == ("", "", "")
    assert older.cascade == CascadeDetails() and older.router.tool_call_log == ()
    assert older.billed_usd == older.cost_usd  # before the cache, everything was billed
    assert older.cost_usd == pytest.approx(old["llm_cost_usd"] + old["slm_cost_usd"], rel=1e-9)


@pytest.mark.parametrize("missing", [None, math.nan, ""])
def test_an_empty_error_cell_is_no_error(missing: object) -> None:
    row = {**record(1, "42", r"\boxed{42}").to_row(), "error": missing}
    assert ProblemRecord.from_row(row).error is None
