"""The problem loop: every problem solved, graded, priced and recorded, a few at a time.

A problem's failure is its record (scored wrong, kept in the denominator), never the run's end.
Each problem is one trace: its root span holds the problem and its graded outcome (a cascade's
samples and verdict too), tagged with the outcome, the problem's source and level and the run's
configuration and seed so the Traces list filters and groups on them, graded as MLflow assessments,
and each model call priced at its role's price. Progress (problems done, running accuracy and
cost) goes to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from delegate import tracing
from delegate.accounting import Price
from delegate.attribution import attribute_async
from delegate.data import Problem
from delegate.models import in_flight
from delegate.models.budget import Budget, BudgetExhausted
from delegate.models.in_flight import InFlight
from delegate.records import ProblemRecord, make_record
from delegate.scoring.answers import grade_answer
from delegate.strategies import Strategy, Trace
from delegate.tags import CONFIG_ID_TAG, PROMPT_TAG, SEED_TAG, STRATEGY_TAG

log = logging.getLogger(__name__)

# What a problem's root span shows as its outcome.
TRACE_OUTPUTS = (
    "final_text",
    "extracted",
    "correct",
    "correct_strict",
    "error",
    "tool_calls",
    "cost_usd",
)
# What a cascade's root span adds: each sample's answer, the majority's share, the verdict.
CASCADE_OUTPUTS = ("slm_answers", "slm_answer", "confidence", "escalated")
# The run's tags each trace carries, so traces slice by configuration and seed in one view.
RUN_TRACE_TAGS = (STRATEGY_TAG, CONFIG_ID_TAG, SEED_TAG)
LABEL_TRACE_TAG = "label"


def config_label(run: Mapping[str, str]) -> str:
    """A run's configuration as the report names it, less the settings only a comparison knows
    vary: ``router (gpt-4o + qwen, cot)``."""
    strategy = run.get(STRATEGY_TAG, "?")
    llm, slm = run.get("llm", "none"), run.get("slm", "none")
    models = {"llm": llm, "slm": slm}.get(strategy, f"{llm} + {slm}")
    return f"{strategy} ({models}, {run.get(PROMPT_TAG, '?')})"


def trace_tags(record: ProblemRecord, run: Mapping[str, str] | None = None) -> dict[str, str]:
    """A problem's outcome, where it comes from and the run's configuration as trace tags, so
    the Traces list filters on them (Filters, Tag ``outcome`` = ``wrong``)."""
    outcome = "error" if record.error else "correct" if record.correct else "wrong"
    tags = {
        "outcome": outcome,
        "extracted": str(record.extracted),
        "gold": record.gold,
        "truncated": str(record.truncated).lower(),
        "problem_id": str(record.problem_id),
        "source": record.source,
        "level": "" if record.level is None else str(record.level),
    }
    if record.subject:
        tags["subject"] = record.subject
    attribution = getattr(record, "attribution", None)  # set by strategies that attribute
    if attribution is not None:
        tags["attribution"] = str(attribution)
    if run:
        tags |= {k: run[k] for k in RUN_TRACE_TAGS if k in run}
        tags[LABEL_TRACE_TAG] = config_label(run)
    return tags


def trace_outputs(record: ProblemRecord) -> dict[str, Any]:
    """What the root span shows: the outcome, and a cascade's samples and verdict."""
    outputs = {k: getattr(record, k) for k in TRACE_OUTPUTS}
    if record.slm_answers:
        outputs |= {k: getattr(record, k) for k in CASCADE_OUTPUTS}
    return outputs


def price_spans(root: tracing.Span, prices: Mapping[str, Price]) -> None:
    """Each model call's cost at its role's price, on its span (MLflow's cost fields)."""
    for call in tracing.model_calls(root):
        price, a = prices[call.attributes["role"]], call.attributes
        call.set_attributes(
            {
                "input_cost_usd": price.input_cost_usd(
                    a.get("input_tokens", 0), a.get("cached_input_tokens", 0)
                ),
                "output_cost_usd": price.output_cost_usd(a.get("output_tokens", 0)),
            }
        )


async def solve_all(
    problems: Sequence[Problem],
    strategy: Strategy,
    llm_price: Price,
    slm_price: Price,
    concurrency: int,
    on_record: Callable[[ProblemRecord], None],
    budget: Budget | None = None,
    markers: Sequence[str] | None = None,
) -> tuple[list[ProblemRecord], float]:
    """Solve ``problems`` with at most ``concurrency`` in flight; return records in input order
    and the loop's wall time in seconds.

    Once the ``budget`` refuses a call, no new problem starts; those in flight go on while their
    calls fit. A problem whose call was refused has no record: it is solved when the run goes on.
    """
    flight = InFlight(concurrency)  # a problem parked on a batch gives its place up

    async def one(problem: Problem) -> ProblemRecord | None:
        async with flight.problem(str(problem.id)):
            if budget is not None and budget.exhausted:
                return None
            record = await solve_one(problem, strategy, llm_price, slm_price, markers)
            if record is not None:
                on_record(record)
            return record

    start = time.perf_counter()
    with in_flight.tracking(flight):
        records = await asyncio.gather(*(one(p) for p in problems))
    return [r for r in records if r is not None], time.perf_counter() - start


async def solve_one(
    problem: Problem,
    strategy: Strategy,
    llm_price: Price,
    slm_price: Price,
    markers: Sequence[str] | None = None,
) -> ProblemRecord | None:
    """One problem as one trace, graded off the event loop by its own grader (the prompt set's
    answer ``markers``); None when the budget stopped it before it finished."""
    trace = Trace()
    start = time.perf_counter()
    text, error = "", None
    inputs = {"problem_id": problem.id, "question": problem.question, "gold": problem.gold}
    with tracing.span(f"problem {problem.id}", "CHAIN", inputs) as root:
        try:
            text = await strategy.solve(problem, trace)
        except BudgetExhausted:
            log.debug("problem %d stopped: budget_usd reached", problem.id)
            root.set_error("stopped: budget_usd reached")
            return None
        except Exception as e:  # one problem's failure is its record, not the run's end
            error = f"{type(e).__name__}: {e}"
            log.warning("problem %d failed: %s", problem.id, error)
            root.set_error(error)
        # A replayed completion took no time now; count the time it took when it was made, so
        # a cached re-run reports the latency of the run it replays.
        latency = time.perf_counter() - start + trace.replayed_latency_s
        grade = await grade_answer(text, problem, markers)  # never on the loop, bounded
        record = make_record(problem, text, trace, latency, llm_price, slm_price, error, grade)
        # Comparing the small model's answers may be slow (math-verify): never on the loop.
        record = replace(record, attribution=await attribute_async(record, strategy.name))
        root.set_outputs(trace_outputs(record))
        root.set_tags(trace_tags(record, tracing.run_tags()))
        root.set_grade(tracing.Grade(record.gold, record.correct, record.extracted, error))
        price_spans(root, {"llm": llm_price, "slm": slm_price})
    return record


class Progress:
    """Problems done, running accuracy and running cost, on stderr; silent when disabled."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=total,
            desc=label,
            unit="problem",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        self._done = self._correct = 0
        self._cost = 0.0

    def update(self, record: ProblemRecord) -> None:
        self._done += 1
        self._correct += record.correct
        self._cost += record.cost_usd
        self._bar.set_postfix(acc=f"{self._correct / self._done:.1%}", cost=f"${self._cost:.4f}")
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
