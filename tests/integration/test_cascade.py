"""A real cascade against deterministic OpenAI-compatible servers on 127.0.0.1 lands exactly on
the cascade curve that ``compare.curves.cascade_curve`` simulates from per-problem records: the
same accuracy, escalations and cost. Its sampled calls carry per-sample seeds that a rerun replays
from the response cache."""

from __future__ import annotations

import csv
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from delegate.compare.curves import cascade_curve
from delegate.data import draw_sample, load_problems
from delegate.records import ProblemRecord
from delegate.runner import run
from delegate.scoring import answers_match
from delegate.strategies.cascade import sample_seed

from ..helpers import finished_runs, per_sample_table, resolved

pytestmark = pytest.mark.integration

SEED, N, K = 123, 6, 4
# The small model's answers to the sampled problems, as offsets from the gold answer, for the
# greedy sample then samples 1..3 (confidence: the majority's share; ties go to the earliest).
SLM_OFFSETS = [
    (0, 0, 0, 0),  # 1.00, right
    (0, 0, 0, 1),  # 0.75, right
    (1, 1, 0, 2),  # 0.50, wrong majority
    (1, 1, 1, 1),  # 1.00, wrong
    (0, 1, 2, 3),  # 0.25, the earliest (right) wins the tie
    (2, 0, 2, 2),  # 0.75, wrong
]
LLM_OFFSETS = [0, 0, 0, 0, 5, 0]  # the large model is wrong on the fifth problem only


def _problems() -> list[Any]:
    cfg = resolved("dataset=mini")
    return list(draw_sample(load_problems(cfg["dataset"]), N, SEED))


def _question(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def _servers(table_server: Any) -> tuple[Any, Any]:
    problems = _problems()
    by_question = {p.question: (i, p) for i, p in enumerate(problems)}
    index_of_seed = {(p.id, sample_seed(SEED, p.id, i)): i for p in problems for i in range(1, K)}

    def slm(request: dict[str, Any]) -> tuple[str, int, int]:
        row, problem = by_question[_question(request)]
        if request.get("temperature") == 0.0 and "seed" not in request:
            index = 0
        else:
            assert request["temperature"] == 0.9
            index = index_of_seed[(problem.id, request["seed"])]
        answer = int(problem.gold) + SLM_OFFSETS[row][index]
        return f"Working... \\boxed{{{answer}}}", 20 + problem.id, 5 + 2 * index + problem.id % 3

    def llm(request: dict[str, Any]) -> tuple[str, int, int]:
        row, problem = by_question[_question(request)]
        answer = int(problem.gold) + LLM_OFFSETS[row]
        return f"The answer is \\boxed{{{answer}}}.", 100 + problem.id, 30 + problem.id

    return table_server(slm), table_server(llm)


def _overrides(
    slm_url: str, llm_url: str, store: str, *extra: str, dataset: str = "mini"
) -> list[str]:
    """A cascade test's run: both models behind the table servers, ``dataset``'s first ``N``
    problems of seed ``SEED``, ``K`` samples at temperature 0.9, nothing cached or traced."""
    return [
        "llm=gpt-4o",
        f"llm.base_url={llm_url}",
        "llm.api_key_env=null",
        "slm=vllm",
        f"slm.base_url={slm_url}",
        "slm.price.input=0.1",
        "slm.price.output=0.4",
        f"dataset={dataset}",
        f"samples={N}",
        f"seed={SEED}",
        f"cascade.samples={K}",
        "cascade.temperature=0.9",
        "progress=false",
        "cache.enabled=false",
        "tracking.traces=false",
        f"tracking.uri={store}",
        f"tracking.experiment=cascade-{dataset}",
        *extra,
    ]


def _records(run_dir: Path, problems: list[Any] | None = None) -> list[ProblemRecord]:
    """The run's records, in the order of ``problems`` (default: this file's)."""
    lines = (run_dir / "per_sample.jsonl").read_text().splitlines()
    records = [ProblemRecord.from_row(json.loads(line)) for line in lines]
    order = {p.id: i for i, p in enumerate(problems or _problems())}
    return sorted(records, key=lambda r: order[r.problem_id])


def simulated(cascade: list[ProblemRecord], strong: list[ProblemRecord], weak: list[bool]) -> Any:
    """The simulated cascade curve of a cascade run's records and an LLM-only run's, with
    ``weak`` the small model's majority graded per problem."""
    return cascade_curve(
        confidence=[r.confidence for r in cascade],
        weak_correct=weak,
        strong_correct=[r.correct for r in strong],
        weak_cost=[r.slm_cost_usd for r in cascade],
        strong_cost=[r.cost_usd for r in strong],
    )


def lands_on_curve(metrics: dict[str, Any], curve: Any, threshold: float) -> None:
    """The run's accuracy, escalation rate and cost are the curve's point at ``threshold``."""
    [point] = curve[np.isclose(curve["threshold"], threshold)].to_dict("records")
    assert metrics["accuracy"] == pytest.approx(point["accuracy"])
    assert metrics["escalation_rate"] == pytest.approx(point["strong_share"])
    assert metrics["cost_usd"] / N == pytest.approx(point["cost_per_problem"], rel=1e-12)


def test_a_cascade_run_lands_on_the_simulated_cascade_curve(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    slm_server, llm_server = _servers(table_server)
    urls = (slm_server.url, llm_server.url, store)
    run(resolved(*_overrides(*urls, "strategy=llm")), tmp_path / "llm")
    threshold = 0.75
    metrics = run(
        resolved(*_overrides(*urls, "strategy=cascade", f"cascade.threshold={threshold}")),
        tmp_path / "cascade",
    )
    strong, cascade = _records(tmp_path / "llm"), _records(tmp_path / "cascade")
    assert [r.problem_id for r in strong] == [r.problem_id for r in cascade]

    weak = [answers_match(r.slm_answer, r.gold) for r in cascade]
    lands_on_curve(metrics, simulated(cascade, strong, weak), threshold)
    # Worked by hand from the tables above: problems 3 and 5 escalate (0.50 and 0.25 < 0.75);
    # right are the first two (small model), the third (large model); 3 of 6.
    assert [r.escalated for r in cascade] == [False, False, True, False, True, False]
    assert metrics["accuracy"] == 0.5 and metrics["escalation_rate"] == pytest.approx(2 / 6)
    assert [r.confidence for r in cascade] == [1.0, 0.75, 0.5, 1.0, 0.25, 0.75]

    # Every sample reached the small model once, each sampled one with its own seed; only the
    # escalated problems reached the large model, with the LLM-only run's very request.
    assert len(slm_server.requests) == N * K
    seeds = [r["seed"] for r in slm_server.requests if "seed" in r]
    assert len(seeds) == len(set(seeds)) == N * (K - 1)
    assert len(llm_server.requests) == N + 2
    llm_only = {_question(r): r for r in llm_server.requests[:N]}
    escalations = llm_server.requests[N:]
    assert sorted(map(_question, escalations)) == sorted(c.question for c in cascade if c.escalated)
    assert all(r == llm_only[_question(r)] for r in escalations)

    # The logged table carries the cascade's columns.
    [_, logged] = finished_runs(store, "cascade-mini")
    table = per_sample_table(store, logged)
    assert sorted(table["escalated"].tolist()) == [False] * 4 + [True] * 2
    assert all(len(json.loads(a)) == K for a in table["slm_answers"])
    assert logged.data.metrics["escalation_rate"] == pytest.approx(2 / 6)


def test_threshold_one_escalates_exactly_the_disagreeing_problems_and_zero_none(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    slm_server, llm_server = _servers(table_server)
    urls = (slm_server.url, llm_server.url, store)
    always = run(
        resolved(*_overrides(*urls, "strategy=cascade", "cascade.threshold=1.0")), tmp_path / "one"
    )
    never = run(
        resolved(*_overrides(*urls, "strategy=cascade", "cascade.threshold=0")), tmp_path / "zero"
    )
    disagreeing = [len(set(offsets)) > 1 for offsets in SLM_OFFSETS]
    assert [r.escalated for r in _records(tmp_path / "one")] == disagreeing
    assert always["escalation_rate"] == pytest.approx(4 / 6)
    assert [r.escalated for r in _records(tmp_path / "zero")] == [False] * N
    assert never["escalation_rate"] == 0 and never["llm_input_tokens"] == 0
    # Without escalation the small model's majority is graded: right on problems 1, 2 and 5.
    assert never["accuracy"] == 0.5
    assert [r.correct for r in _records(tmp_path / "zero")] == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]


def test_a_rerun_replays_every_sample_from_the_cache(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    slm_server, llm_server = _servers(table_server)
    overrides = [
        *_overrides(slm_server.url, llm_server.url, store, "strategy=cascade", "resume=false"),
        "cache.enabled=true",
        f"cache.dir={tmp_path / 'cache'}",
    ]
    first = run(resolved(*overrides), tmp_path / "first")
    served = len(slm_server.requests), len(llm_server.requests)
    second = run(resolved(*overrides), tmp_path / "second")
    assert (len(slm_server.requests), len(llm_server.requests)) == served  # nothing new asked
    assert second["cache_hits"] == served[0] + served[1] and second["billed_usd"] == 0
    again, before = _records(tmp_path / "second"), _records(tmp_path / "first")
    assert [r.slm_answers for r in again] == [r.slm_answers for r in before]
    assert second["cost_usd"] == pytest.approx(first["cost_usd"])


def _apgr_by_hand(confidence: list[float], weak: list[bool], strong: list[bool]) -> float:
    """APGR of the simulated cascade, computed apart from ``compare``: escalate the problems
    below each distinct confidence (and every problem at +inf), trapezoids over the shares."""
    n = len(confidence)
    points = []
    for threshold in [*sorted(set(confidence)), float("inf")]:
        up = [c < threshold for c in confidence]
        right = [s if u else w for u, w, s in zip(up, weak, strong, strict=True)]
        points.append((sum(up) / n, sum(right) / n))
    area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in pairwise(points))
    low, high = sum(weak) / n, sum(strong) / n
    return (area - low) / (high - low)


def test_the_report_simulates_the_cascade_from_the_logged_runs(
    table_server: Any, store: str, tmp_path: Path
) -> None:
    import mlflow

    from delegate.compare.report import write_report
    from delegate.compare.runs import load_runs

    slm_server, llm_server = _servers(table_server)
    urls = (slm_server.url, llm_server.url, store)
    for strategy in ("llm", "slm", "cascade"):
        run(resolved(*_overrides(*urls, f"strategy={strategy}")), tmp_path / strategy)
    served = len(slm_server.requests), len(llm_server.requests)
    strong, cascade = _records(tmp_path / "llm"), _records(tmp_path / "cascade")
    confidence = [float(r.confidence or 0.0) for r in cascade]
    weak = [answers_match(r.slm_answer, r.gold, r.answer_type, r.rel_tol) for r in cascade]
    expected = _apgr_by_hand(confidence, weak, [r.correct for r in strong])
    # From the tables at the top: the majority is right on problems 1, 2 and 5, the large model
    # on all but 5; shares 0, 1/6, 2/6, 4/6, 1 give 3/6, 2/6, 3/6, 4/6, 5/6 right: APGR 0.25.
    assert expected == pytest.approx(0.25)

    mlflow.set_tracking_uri(store)
    files, rows = write_report("cascade-mini", None, tmp_path / "report", load_runs("cascade-mini"))
    assert (len(slm_server.requests), len(llm_server.requests)) == served  # no model calls
    with (tmp_path / "report" / "curves.csv").open() as f:
        [curve] = list(csv.DictReader(f))
    assert (curve["kind"], curve["problems"]) == ("simulated_cascade", str(N))
    assert float(curve["apgr"]) == pytest.approx(expected, abs=1e-6)
    assert float(curve["strong_accuracy"]) == pytest.approx(5 / 6, abs=1e-6)
    # The real cascade (threshold 0.8, the default) is a row with its PGR against SLM-only.
    [row] = [r for r in rows if r["strategy"] == "cascade"]
    slm_only = sum(r.correct for r in _records(tmp_path / "slm")) / N
    cascade_accuracy = sum(r.correct for r in cascade) / N
    assert row["pgr"] == pytest.approx((cascade_accuracy - slm_only) / (5 / 6 - slm_only))
    assert "curves.csv" in [f.name for f in files]
