"""``llm.batch=true`` against a real local server with the Files and Batches endpoints: results
joined back in any order, the discounted price on each problem's usage, expired and failed lines
as errors that ``retry_errors`` sends again, one batch for a cascade's escalations, and an
interrupted command that collects its batch instead of paying twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from delegate.accounting import Usage
from delegate.data import Problem, draw_sample, load_problems
from delegate.errors import DelegateError
from delegate.models.usage_check import prompt_tokens_bound
from delegate.records import ProblemRecord, read_records
from delegate.runner import AllProblemsFailed, BudgetStopped, run
from delegate.tags import BATCH_IDS_TAG, ERROR_TAG, RETRY_OF_TAG

from ..helpers import endpoint_overrides, finished_runs, per_sample_table, resolved, run_config
from .batch_server import BatchServer

pytestmark = pytest.mark.integration

N, SEED = 6, 123
PRICE_IN, PRICE_OUT = 2.50, 10.00  # gpt-4o's list prices (conf/llm/gpt-4o.yaml), USD per 1M
WRONG_ID_POSITION = 2  # the large model answers this sampled problem wrong


def _problems() -> list[Problem]:
    return list(draw_sample(load_problems(resolved("dataset=mini")["dataset"]), N, SEED))


class Answers:
    """The large model: right on every sampled problem but one, with usage that differs by
    problem, so a result joined to the wrong problem shows in its answer and its cost."""

    def __init__(self) -> None:
        self.problems = {p.question: p for p in _problems()}
        self.wrong = _problems()[WRONG_ID_POSITION].id

    def usage(self, problem: Problem) -> tuple[int, int]:
        return 100 + problem.id, 20 + problem.id % 7

    def __call__(self, body: dict[str, Any]) -> tuple[str, int, int]:
        problem = self.problems[body["messages"][-1]["content"]]
        gold = int(problem.gold) + (1 if problem.id == self.wrong else 0)
        return (rf"The answer is \boxed{{{gold}}}.", *self.usage(problem))

    def cost(self, problem_id: int) -> float:
        problem = next(p for p in self.problems.values() if p.id == problem_id)
        prompt, completion = self.usage(problem)
        return 0.5 * (prompt * PRICE_IN + completion * PRICE_OUT) / 1e6


def _overrides(server: BatchServer, store: str, *extra: str) -> list[str]:
    return [
        *endpoint_overrides(server.url, samples=N),
        "strategy=llm",
        "llm.batch=true",
        "llm.batch_poll_s=0.05",
        f"tracking.uri={store}",
        "tracking.experiment=batch",
        *extra,
    ]


def _rows(store: str, run_id: str) -> dict[int, ProblemRecord]:
    """The run's per-problem records, read back from the store through the one reader."""
    table = per_sample_table(store, MlflowClient(tracking_uri=store).get_run(run_id))
    return {r.problem_id: r for r in read_records(table.to_dict("records"))}


def test_results_in_any_order_join_back_at_the_discounted_price(store: str, tmp_path: Path) -> None:
    answers = Answers()
    server = BatchServer(answers, seed=7)
    try:
        metrics = run(resolved(*_overrides(server, store)), tmp_path / "run")
    finally:
        server.close()
    assert len(server.uploads) == len(server.batches) == 1  # every request in one batch
    assert len(server.uploads[0]) == N and not server.chat_requests
    assert server.batches["batch_1"]["completion_window"] == "24h"
    (finished,) = finished_runs(store, "batch")
    assert finished.data.tags[BATCH_IDS_TAG] == "batch_1"
    rows = _rows(store, finished.info.run_id)
    wrong = {i for i, r in rows.items() if not r.correct}
    assert wrong == {answers.wrong}  # each result reached its own problem
    for problem_id, row in rows.items():
        assert row.cost_usd == pytest.approx(answers.cost(problem_id), rel=1e-9)
    total = sum(answers.cost(i) for i in rows)
    assert metrics["cost_usd"] == pytest.approx(total, rel=1e-9)
    assert metrics["billed_usd"] == pytest.approx(total, rel=1e-9)
    identity = json.loads((tmp_path / "run" / "identity.json").read_text())["identity"]
    assert identity["llm"]["batch"] is True
    assert identity["llm"]["price"]["input"] == PRICE_IN / 2


def test_expired_and_failed_lines_are_errors_that_retry_errors_sends_again(
    store: str, tmp_path: Path
) -> None:
    answers = Answers()
    failing = _problems()[0].id

    def fail(custom_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        if f"-p{failing}-" not in custom_id:
            return None
        error = {"error": {"message": "the server had an error"}}
        return {"response": {"status_code": 500, "body": error}, "error": None}

    server = BatchServer(answers, fail=fail, expire_after=N - 2)
    try:
        run(resolved(*_overrides(server, store)), tmp_path / "first")
        (first,) = finished_runs(store, "batch")
        rows = _rows(store, first.info.run_id)
        errors = {i: r.error for i, r in rows.items() if r.error}
        expired = {line["custom_id"] for line in server.uploads[0][N - 2 :]}
        assert len(rows) == N and len(errors) == 3  # two expired, one failed: all recorded
        assert "status 500" in errors[failing]
        assert sum("batch_expired" in e for e in errors.values()) == 2
        server.expire_after, server.fail = None, None
        run(resolved(*_overrides(server, store, "retry_errors=true")), tmp_path / "retry")
    finally:
        server.close()
    assert len(server.uploads) == 2  # only the failed lines went again
    resent = set(server.custom_ids(1))
    assert resent == expired | {c for c in server.custom_ids(0) if f"-p{failing}-" in c}
    retry = next(r for r in finished_runs(store, "batch") if RETRY_OF_TAG in r.data.tags)
    assert retry.data.tags[RETRY_OF_TAG] == first.info.run_id
    retried = _rows(store, retry.info.run_id)
    assert not any(r.error for r in retried.values())
    assert {i for i, r in retried.items() if not r.correct} == {answers.wrong}


def test_a_batch_made_though_its_creation_failed_is_used_not_made_again(
    store: str, tmp_path: Path
) -> None:
    server = BatchServer(Answers(), lose_answers=1)
    try:
        metrics = run(resolved(*_overrides(server, store)), tmp_path / "run")
    finally:
        server.close()
    assert len(server.batches) == 1 and metrics["n_errors"] == 0


def test_a_batch_that_cannot_be_read_stops_the_run_and_is_collected_later(
    store: str, tmp_path: Path
) -> None:
    server = BatchServer(Answers())
    server.unreadable = True
    try:
        with pytest.raises(DelegateError, match="run the same command again to collect it"):
            run(resolved(*_overrides(server, store)), tmp_path / "first")
        (stopped,) = MlflowClient(tracking_uri=store).search_runs(
            [MlflowClient(tracking_uri=store).get_experiment_by_name("batch").experiment_id]
        )
        assert stopped.info.status == "FAILED"
        assert not (tmp_path / "first" / "per_sample.jsonl").read_text().strip()  # no error kept
        server.unreadable = False
        run(resolved(*_overrides(server, store)), tmp_path / "again")
    finally:
        server.close()
    assert len(server.batches) == 1  # collected, not bought again
    (finished,) = finished_runs(store, "batch")
    assert finished.info.run_id == stopped.info.run_id
    assert not any(r.error for r in _rows(store, finished.info.run_id).values())


def test_a_refused_batch_fails_each_problem_with_the_reason(store: str, tmp_path: Path) -> None:
    server = BatchServer(Answers(), refuse="line 1: unknown model")
    try:
        with pytest.raises(AllProblemsFailed):
            run(resolved(*_overrides(server, store)), tmp_path / "run")
    finally:
        server.close()
    (failed,) = finished_runs(store, "batch")
    rows = _rows(store, failed.info.run_id)
    assert len(rows) == N
    assert all(
        "batch_failed" in (r.error or "") and "unknown model" in (r.error or "")
        for r in rows.values()
    )


CASCADE = ["strategy=cascade", "cascade.samples=3", "cascade.threshold=0.9"]
CASCADE_BOTH_BATCHED = [*CASCADE, "slm.batch=true", "slm.batch_poll_s=0.05", "cache.enabled=true"]


@pytest.mark.parametrize("slm_batch", [False, True])
def test_a_cascade_sends_its_escalations_in_one_batch(
    store: str, tmp_path: Path, slm_batch: bool
) -> None:
    problems = _problems()
    unsure = {p.question for p in problems[::2]}
    answer = _cascade_answers(unsure)
    server = BatchServer(answer)
    extra = CASCADE_BOTH_BATCHED if slm_batch else CASCADE
    try:
        run(resolved(*_overrides(server, store, *extra)), tmp_path / "run")
    finally:
        server.close()
    (finished,) = finished_runs(store, "batch")
    rows = _rows(store, finished.info.run_id)
    escalated = {i for i, r in rows.items() if r.escalated}
    assert escalated == {p.id for p in problems if p.question in unsure}
    batches = [{_problem_id(c) for c in server.custom_ids(i)} for i in range(len(server.uploads))]
    if slm_batch:  # every sample of every problem in one batch, then the escalations in one
        assert [len(u) for u in server.uploads] == [3 * N, len(escalated)]
        assert batches == [set(rows), escalated] and not server.chat_requests
    else:
        assert batches == [escalated]  # the escalations of every problem, together
        assert len(server.chat_requests) == 3 * N  # the small model's samples, live


def _cascade_answers(unsure: set[str]) -> Any:
    """The large model as ``Answers``; the small model the same, except on ``unsure`` questions,
    where each sample gives another answer (so the problem escalates)."""
    answers = Answers()

    def answer(body: dict[str, Any]) -> tuple[str, int, int]:
        question = body["messages"][-1]["content"]
        if body["model"] != "gpt-4o" and question in unsure:
            return (rf"\boxed{{{body.get('seed', 0) % 97}}}", 50, 10)  # one answer per sample
        return answers(body)

    return answer


def _problem_id(custom_id: str) -> int:
    return int(custom_id.split("-p")[1].split("-")[0])


def test_the_budget_holds_each_request_before_the_batch_is_made(store: str, tmp_path: Path) -> None:
    server = BatchServer(Answers())
    config = run_config(*_overrides(server, store))
    price, limit = config.model("llm").price, 1024  # max_tokens: the shared default
    worst = [
        price.cost_usd(Usage(prompt_tokens_bound(_messages(config, p), None), 0, limit))
        for p in _problems()
    ]
    cap = sum(worst[:3]) + worst[3] / 2  # three fit, the fourth does not
    try:
        with pytest.raises(BudgetStopped):
            run(resolved(*_overrides(server, store, f"budget_usd={cap}")), tmp_path / "first")
        assert len(server.uploads) == 1 and len(server.uploads[0]) == 3  # only what fits
        run(resolved(*_overrides(server, store, "budget_usd=1")), tmp_path / "again")
    finally:
        server.close()
    assert [len(u) for u in server.uploads] == [3, 3]  # the rest, once the budget allows it
    (finished,) = finished_runs(store, "batch")
    assert len(_rows(store, finished.info.run_id)) == N


def _messages(config: Any, problem: Problem) -> list[dict[str, Any]]:
    prompts = config.prompts
    return prompts.messages(prompts.system, prompts.user, problem.question)


@pytest.mark.parametrize("cascade", [False, True])
def test_an_interrupted_run_collects_its_batch_when_run_again(
    store: str, tmp_path: Path, cascade: bool
) -> None:
    answers = Answers()
    unsure = {p.question for p in _problems()[::2]}
    server = BatchServer(_cascade_answers(unsure) if cascade else answers, hold=True)
    # The cascade: its samples' batch comes back (and is cached), its escalations' is held;
    # run again, the samples replay from the cache and the escalations are collected.
    extra = [*CASCADE_BOTH_BATCHED, f"cache.dir={tmp_path / 'cache'}"] if cascade else []
    server.run_freely = 1 if cascade else 0
    overrides = _overrides(server, store, f"hydra.run.dir={tmp_path / 'first'}", *extra)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "first.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "delegate", *overrides],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait_for_batch_tag(store, process, tmp_path / "first.log", 2 if cascade else 1)
        process.send_signal(signal.SIGTERM)  # while the (last) batch is in progress
        assert process.wait(timeout=60) != 0
        server.release()
        run(resolved(*_overrides(server, store, *extra)), tmp_path / "again")
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
        server.close()
    made = 2 if cascade else 1
    assert len(server.uploads) == len(server.batches) == made  # nothing submitted anew
    if cascade:
        return  # its answers and costs are the cascade test's
    (finished,) = finished_runs(store, "batch")  # the interrupted run, continued
    assert finished.info.status == "FINISHED" and ERROR_TAG not in finished.data.tags
    rows = _rows(store, finished.info.run_id)
    assert len(rows) == N and not any(r.error for r in rows.values())
    assert {i for i, r in rows.items() if not r.correct} == {answers.wrong}
    total = sum(answers.cost(i) for i in rows)
    assert finished.data.metrics["cost_usd"] == pytest.approx(total, rel=1e-9)


def _wait_for_batch_tag(store: str, process: subprocess.Popen, log: Path, count: int) -> None:
    """Until the run carries ``count`` batch ids (the batches are made and recorded)."""
    client = MlflowClient(tracking_uri=store)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run ended early:\n{log.read_text()}")
        experiment = client.get_experiment_by_name("batch") if Path(store[10:]).exists() else None
        if experiment is not None:
            runs = client.search_runs([experiment.experiment_id])
            tags = [r.data.tags.get(BATCH_IDS_TAG, "") for r in runs]
            if any(len(t.split(",")) >= count for t in tags if t):
                return
        time.sleep(0.2)
    raise AssertionError(f"no batch recorded in 120 s:\n{log.read_text()}")
