"""What a problem's trace holds, written to a real SQLite store through the problem loop: the
messages each model call was sent (not what the strategy appended afterwards), the run's and the
problem's tags, the grade as MLflow assessments, each call's cost, and a cascade's samples."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import mlflow
import pytest

from delegate import tracing, tracking
from delegate.accounting import Price
from delegate.data import Problem
from delegate.loop import solve_one
from delegate.models.traced import TracedChatModel
from delegate.strategies import STRATEGIES
from delegate.strategies.cascade import CascadeSettings
from delegate.strategies.router import RouterSettings

from .scripted import ScriptedModel, ScriptedProvider, reply
from .test_router import ASK, PROMPTS, SETTINGS, args

PROBLEM = Problem(
    id=7, question="Ann has 3 bags of 4 apples. How many apples?", gold="12", source="math500",
    level=3, subject="Algebra",
)  # fmt: skip
LLM_PRICE, SLM_PRICE = Price(input=2.0, output=8.0), Price(input=0.1, output=0.4)
RUN_TAGS = {
    "strategy": "router",
    "config_id": "abc123def456",
    "seed": "7",
    "llm": "big",
    "slm": "small",
    "prompt": "cot",
}


def _traced(strategy: Any, uri: str, tags: dict[str, str]) -> Any:
    """Solve PROBLEM with ``strategy`` in a real run; return its one trace."""
    store = tracking.open_store(uri, "traces")
    with store.run("r", tags) as run_id, tracing.traced_run(run_id, store.experiment_id):
        record = asyncio.run(solve_one(PROBLEM, strategy, LLM_PRICE, SLM_PRICE))
    assert record is not None
    [trace] = mlflow.search_traces(
        locations=[store.experiment_id], run_id=run_id, return_type="list"
    )
    return trace


def test_a_two_turn_router_trace_shows_each_turn_only_what_it_was_sent(tmp_path: Path) -> None:
    llm = ScriptedModel(reply("", (ASK, args("3*4?")), tokens=(100, 20)), reply(r"\boxed{12}"))
    slm = ScriptedModel(reply(r"3*4 = 12, so \boxed{12}", tokens=(40, 12)))
    provider = ScriptedProvider(TracedChatModel(llm, "llm"), TracedChatModel(slm, "slm"))  # type: ignore[arg-type]
    router = STRATEGIES.get("router").build(provider, PROMPTS, RouterSettings(**SETTINGS))
    trace = _traced(router, f"sqlite:///{tmp_path}/mlflow.db", RUN_TAGS)

    calls = sorted(
        (s for s in trace.data.spans if s.name.startswith("llm:")), key=lambda s: s.start_time_ns
    )
    assert len(calls) == 2 and len(llm.calls) == 2
    # The first turn was sent the system prompt and the question, nothing of what followed.
    assert calls[0].inputs["messages"] == llm.calls[0]["messages"]
    assert len(calls[0].inputs["messages"]) == 2
    assert calls[1].inputs["messages"] == llm.calls[1]["messages"]
    assert len(calls[1].inputs["messages"]) > 2  # the tool call and its result

    tags = trace.info.tags
    assert tags["outcome"] == "correct" and tags["gold"] == "12"
    assert tags["attribution"] == "right"  # where delegation failed, filterable: none here
    assert (tags["strategy"], tags["config_id"], tags["seed"]) == ("router", "abc123def456", "7")
    assert tags["label"] == "router (big + small, cot)"
    assert (tags["source"], tags["level"], tags["subject"]) == ("math500", "3", "Algebra")

    by_name = {a.name: a for a in trace.info.assessments}
    assert by_name["expected_answer"].expectation.value == "12"
    assert by_name["correctness"].feedback.value is True
    assert by_name["correctness"].rationale == "extracted answer: 12"

    # Each call priced at its role's price, summed into the trace's cost (the cost panel's).
    first_cost = calls[0].attributes["mlflow.llm.cost"]
    assert first_cost["input_cost"] == 100 * 2.0 / 1e6
    assert first_cost["output_cost"] == 20 * 8.0 / 1e6
    slm_cost = 40 * 0.1 / 1e6 + 12 * 0.4 / 1e6
    second = 10 * 2.0 / 1e6 + 5 * 8.0 / 1e6
    assert trace.info.cost["total_cost"] == pytest.approx(
        first_cost["total_cost"] + second + slm_cost
    )


def test_a_cascade_trace_holds_each_samples_answer_and_its_confidence(tmp_path: Path) -> None:
    slm = ScriptedModel(*(reply(f"so \\boxed{{{a}}}") for a in ("12", "12", "13")))
    llm = ScriptedModel(reply(r"\boxed{12}"))
    provider = ScriptedProvider(TracedChatModel(llm, "llm"), TracedChatModel(slm, "slm"))  # type: ignore[arg-type]
    settings = CascadeSettings(samples=3, temperature=0.7, threshold=0.8, escalate="fresh")
    cascade = STRATEGIES.get("cascade").build(provider, PROMPTS, settings)
    trace = _traced(cascade, f"sqlite:///{tmp_path}/mlflow.db", RUN_TAGS | {"strategy": "cascade"})

    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert sorted(root.outputs["slm_answers"]) == ["12", "12", "13"]
    assert root.outputs["slm_answer"] == "12"
    assert root.outputs["confidence"] == pytest.approx(2 / 3)
    assert root.outputs["escalated"] is True  # 2/3 is under the threshold of 0.8
    samples = sorted(s.name for s in trace.data.spans if s.name.startswith("slm:"))
    assert len(set(samples)) == 3  # each sample's span is named apart from the others
    assert all("[sample " in name and "temperature" in name for name in samples)
    assert trace.info.tags["strategy"] == "cascade"
    assert trace.info.tags["label"] == "cascade (big + small, cot)"
    assert trace.info.tags["attribution"] == "right"


def test_a_wrong_answer_s_trace_is_tagged_with_where_it_went_wrong(tmp_path: Path) -> None:
    # The router: the small model answers 12, the large model gives 13 instead.
    llm = ScriptedModel(reply("", (ASK, args("3*4?"))), reply(r"\boxed{13}"))
    slm = ScriptedModel(reply(r"\boxed{12}"))
    provider = ScriptedProvider(TracedChatModel(llm, "llm"), TracedChatModel(slm, "slm"))  # type: ignore[arg-type]
    router = STRATEGIES.get("router").build(provider, PROMPTS, RouterSettings(**SETTINGS))
    trace = _traced(router, f"sqlite:///{tmp_path}/router.db", RUN_TAGS)
    assert trace.info.tags["outcome"] == "wrong"
    assert trace.info.tags["attribution"] == "spoiled_right_delegation"

    # The cascade: every sample agrees on 13, so it never escalates.
    slm = ScriptedModel(*(reply(r"so \boxed{13}") for _ in range(3)))
    llm = ScriptedModel()
    provider = ScriptedProvider(TracedChatModel(llm, "llm"), TracedChatModel(slm, "slm"))  # type: ignore[arg-type]
    settings = CascadeSettings(samples=3, temperature=0.7, threshold=0.8, escalate="fresh")
    cascade = STRATEGIES.get("cascade").build(provider, PROMPTS, settings)
    trace = _traced(cascade, f"sqlite:///{tmp_path}/cascade.db", RUN_TAGS | {"strategy": "cascade"})
    assert llm.calls == []
    assert trace.info.tags["attribution"] == "confident_and_wrong"
