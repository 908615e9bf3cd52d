"""The baselines against real OpenAI-compatible servers on 127.0.0.1 and a real MLflow store: a
live ``learned_router`` run lands on the curve its router's scores trace, it refuses a sample it
was trained on, and real router and cascade runs record every attribution category, which the
report's ``attribution.csv`` counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from delegate.compare.analysis.learned import fit_router, threshold_for_share
from delegate.compare.attribution import ROUTER_CATEGORIES
from delegate.compare.curves import routing_curve
from delegate.compare.report import write_report
from delegate.compare.runs import load_runs, load_selected, open_store
from delegate.data import draw_sample, load_problems
from delegate.errors import ConfigError
from delegate.records import ProblemRecord, read_records
from delegate.runner import run
from delegate.strategies.learned_router import training_set

from ..helpers import finished_runs, per_sample_table, resolved
from .conftest import canned_completion

pytestmark = pytest.mark.integration

N = 12


def _problems(seed: int, n: int = N) -> list[Any]:
    return list(draw_sample(load_problems(resolved("dataset=mini")["dataset"]), n, seed))


def _disjoint_seeds() -> tuple[int, int]:
    """Two seeds whose samples of N mini problems share none (found, not assumed)."""
    first = {p.question for p in _problems(1)}
    for seed in range(2, 200):
        if not first & {p.question for p in _problems(seed)}:
            return 1, seed
    raise AssertionError("no disjoint sample")


def _reply(status: int, message: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """A metered server's answer: ``message`` in a canned completion (its usage 50 + 10 tokens;
    ``tool_calls`` finish so), or an error body for another status."""
    if status != 200:
        return status, {}, json.dumps({"error": {"message": "refused"}})
    body = canned_completion()
    body["choices"][0]["message"] = {"role": "assistant", **message}
    if message.get("tool_calls"):
        body["choices"][0]["finish_reason"] = "tool_calls"
    return 200, {}, json.dumps(body)


@pytest.fixture
def chat_server(metered_server: Any) -> Any:
    """Start a real OpenAI-compatible server on demand (conftest's ``MeteredServer``):
    ``answer(request)`` gives (status, message) per chat request, a pure function of its body;
    ``arrivals`` counts the requests."""

    def start(answer: Any) -> Any:
        return metered_server(lambda _n, request: _reply(*answer(request)), 0.0)

    return start


def _problem_of(request: dict[str, Any], problems: list[Any]) -> tuple[int, Any]:
    """The (index, problem) whose question the request's first user message holds."""
    text = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return next((i, p) for i, p in enumerate(problems) if p.question in text)


def _overrides(llm_url: str, slm_url: str, store: str, experiment: str, *extra: str) -> list:
    """Both models behind local servers; ``extra`` last (``samples`` N unless it says)."""
    samples = [] if any(e.startswith("samples=") for e in extra) else [f"samples={N}"]
    return [
        *samples,
        "llm=gpt-4o",
        f"llm.base_url={llm_url}",
        "llm.api_key_env=null",
        "llm.max_retries=0",
        "slm=vllm",
        f"slm.base_url={slm_url}",
        "slm.price.input=0.1",
        "slm.price.output=0.4",
        "dataset=mini",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        f"tracking.experiment={experiment}",
        *extra,
    ]


def _records(run_dir: Path) -> list[ProblemRecord]:
    """The run's records, by problem id (they are written as problems finish)."""
    lines = (run_dir / "per_sample.jsonl").read_text().splitlines()
    return sorted(read_records(json.loads(line) for line in lines), key=lambda r: r.problem_id)


def _text(answer: int, tokens: int = 0) -> dict[str, Any]:
    return {"content": f"Working{'.' * tokens} \\boxed{{{answer}}}"}


def test_a_live_learned_router_lands_on_its_simulated_curve(
    chat_server: Any, store: str, tmp_path: Path
) -> None:
    train_seed, eval_seed = _disjoint_seeds()
    every = {p.question: p for s in (train_seed, eval_seed) for p in _problems(s)}

    def llm(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _, p = _problem_of(request, list(every.values()))
        return 200, _text(int(p.gold) + (p.id % 7 == 0), p.id % 5)

    def slm(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        _, p = _problem_of(request, list(every.values()))
        return 200, _text(int(p.gold) + (p.id % 2), p.id % 3)

    servers = chat_server(llm), chat_server(slm)
    urls = (servers[0].url, servers[1].url, store, "learned")
    for strategy in ("llm", "slm"):
        for seed in (train_seed, eval_seed):
            overrides = _overrides(*urls, f"strategy={strategy}", f"seed={seed}")
            run(resolved(*overrides), tmp_path / f"{strategy}-{seed}")
    by_name = {
        (r.data.tags["strategy"], r.data.tags["seed"]): r for r in finished_runs(store, "learned")
    }
    trained_on = [by_name[(s, str(train_seed))].info.run_id for s in ("llm", "slm")]
    learned = (
        "strategy=learned_router",
        f"learned_router.runs=[{','.join(repr(i) for i in trained_on)}]",
        "learned_router.target_share=0.5",
    )
    metrics = run(resolved(*_overrides(*urls, *learned, f"seed={eval_seed}")), tmp_path / "lr")

    # The simulation: the same reader, the same router, the evaluation runs' logged outcomes.
    questions, strong, weak = training_set(load_selected(store, trained_on))
    router = fit_router(questions, strong, weak)
    live = _records(tmp_path / "lr")
    strong_run, weak_run = (_records(tmp_path / f"{s}-{eval_seed}") for s in ("llm", "slm"))
    assert [r.question for r in strong_run] == [r.question for r in live]
    scores = router.scores([r.question for r in live])
    threshold = threshold_for_share(scores, 0.5)
    curve = routing_curve(
        scores,
        [r.correct for r in strong_run],
        [r.correct for r in weak_run],
        [r.cost_usd for r in strong_run],
        [r.cost_usd for r in weak_run],
    )
    share = float(np.mean(scores >= threshold))
    [point] = curve[np.isclose(curve["strong_share"], share)].to_dict("records")
    assert share == 0.5
    assert [r.confidence for r in live] == pytest.approx(scores.tolist())
    assert [r.escalated for r in live] == (scores >= threshold).tolist()
    assert metrics["accuracy"] == pytest.approx(point["accuracy"])
    assert metrics["cost_usd"] / N == pytest.approx(point["cost_per_problem"], rel=1e-12)
    assert metrics["escalation_rate"] == pytest.approx(0.5)
    assert all(r.llm.calls + r.slm.calls == 1 for r in live)  # one model per problem

    # Trained on the very sample it would solve: refused before any call, nothing logged.
    asked = [s.arrivals for s in servers]
    runs_before = len(finished_runs(store, "learned"))
    with pytest.raises(ConfigError, match=rf"{N} of the {N} problems .* training runs"):
        run(resolved(*_overrides(*urls, *learned, f"seed={train_seed}")), tmp_path / "overlap")
    assert len(finished_runs(store, "learned")) == runs_before
    assert [s.arrivals for s in servers] == asked


def test_router_and_cascade_runs_record_every_attribution_category(
    chat_server: Any, store: str, tmp_path: Path
) -> None:
    problems = _problems(123, 6)
    # Router, per problem: (delegates?, small model's offset, final offset); None: the large
    # model's endpoint refuses the problem.
    router_plan: list[tuple[bool, int, int] | None] = [
        (False, 0, 0),  # right
        (False, 0, 1),  # wrong_without_delegation
        (True, 1, 1),  # accepted_wrong_delegation
        (True, 0, 2),  # spoiled_right_delegation
        (True, 1, 2),  # wrong_after_delegation
        None,  # error
    ]
    # Cascade, per problem: the small model's two samples' offsets, the large model's offset.
    cascade_plan: list[tuple[tuple[int, int], int | None]] = [
        ((0, 0), 0),  # right
        ((1, 1), 0),  # confident_and_wrong
        ((0, 1), 3),  # escalated_and_wrong
        ((0, 1), None),  # error
        ((1, 0), 0),  # right after escalation
        ((2, 2), 0),  # confident_and_wrong
    ]

    def llm(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        i, p = _problem_of(request, problems)
        gold = int(p.gold)
        if "tools" not in request:  # the cascade's escalation
            offset = cascade_plan[i][1]
            return (400, {}) if offset is None else (200, _text(gold + offset))
        step = router_plan[i]
        if step is None:
            return 400, {}
        delegates, _, final = step
        if delegates and request["messages"][-1]["role"] != "tool":
            name = request["tools"][0]["function"]["name"]
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps({"question": p.question})},
            }
            return 200, {"content": None, "tool_calls": [call]}
        return 200, _text(gold + final)

    def router_slm(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        i, p = _problem_of(request, problems)
        return 200, _text(int(p.gold) + (router_plan[i] or (False, 0, 0))[1])

    def cascade_slm(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        i, p = _problem_of(request, problems)
        sample = 1 if "seed" in request else 0  # the greedy sample carries no seed
        return 200, _text(int(p.gold) + cascade_plan[i][0][sample])

    big = chat_server(llm).url
    common = ("seed=123", "samples=6")
    on = (store, "attribution", *common)
    run(resolved(*_overrides(big, big, *on, "strategy=llm")), tmp_path / "llm")
    run(
        resolved(*_overrides(big, chat_server(router_slm).url, *on, "strategy=router")),
        tmp_path / "r",
    )
    cascade = ("strategy=cascade", "cascade.samples=2", "cascade.temperature=0.9")
    cascade_url = chat_server(cascade_slm).url
    run(
        resolved(*_overrides(big, cascade_url, *on, *cascade, "cascade.threshold=0.75")),
        tmp_path / "c",
    )

    expected_router = list(ROUTER_CATEGORIES)  # router_plan: one problem per category, in order
    expected_cascade = [
        "right",
        "confident_and_wrong",
        "escalated_and_wrong",
        "error",
        "right",
        "confident_and_wrong",
    ]
    order = {p.id: i for i, p in enumerate(problems)}

    def categories(run_dir: Path) -> list[str]:
        records = sorted(_records(run_dir), key=lambda r: order[r.problem_id])
        return [r.attribution for r in records]

    assert categories(tmp_path / "r") == expected_router
    assert categories(tmp_path / "c") == expected_cascade
    assert set(categories(tmp_path / "llm")) == {""}
    # The logged per-sample tables carry the column too.
    logged = {r.data.tags["strategy"]: r for r in finished_runs(store, "attribution")}
    table = per_sample_table(store, logged["router"])
    by_id = dict(zip(table["problem_id"], table["attribution"], strict=True))
    assert [by_id[p.id] for p in problems] == expected_router

    # The report counts them, beside LLM-only's accuracy on the same problems.
    open_store(store)
    write_report("attribution", None, tmp_path / "report", load_runs("attribution"))
    with (tmp_path / "report" / "attribution.csv").open() as f:
        rows = list(csv.DictReader(f))
    counts = {(r["strategy"], r["category"]): int(r["count"]) for r in rows}
    assert all(counts[("router", c)] == 1 for c in expected_router)
    assert counts[("cascade", "right")] == counts[("cascade", "confident_and_wrong")] == 2
    assert counts[("cascade", "escalated_and_wrong")] == counts[("cascade", "error")] == 1
    confident = next(
        r for r in rows if (r["strategy"], r["category"]) == ("cascade", "confident_and_wrong")
    )
    # LLM-only is right on both problems the cascade kept, wrongly, with the small model.
    assert (confident["llm_reference_problems"], confident["llm_reference_accuracy"]) == ("2", "1")
