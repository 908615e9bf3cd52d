"""``cascade``: the small model answers first; the large model only when the small one is unsure.

The small model writes ``cascade.samples`` solutions to the problem (the first greedy, the others
sampled at ``cascade.temperature``, each with its own seed derived from the run's seed, the problem
and the sample's index, so a rerun draws the same solutions and the response cache replays them).
Each sample's answer is read, and the answers grouped, by the grader of the problem's answer type
(``problem.answer_type``, ``problem.rel_tol``; the prompt set's answer markers): on MATH-500,
``\\dfrac{14}{3}`` and ``\\frac{14}{3}``, or ``\\sqrt{117}`` and ``3\\sqrt{13}``, are one answer.
Symbolic comparisons run in the shared grading pool's processes, off the event loop and under its
time limit (one cut off counts as different). The largest group is the majority (ties: the group
whose first member came first) and its share of all samples is the confidence. A sample without
an answer belongs to no group but counts among the samples. ``slm_answers`` and ``slm_answer`` are
stored as that grader reads them (LaTeX as extracted), so the report's simulated cascade regrades
the majority against the gold exactly as a live run grades it.

When the confidence reaches ``cascade.threshold`` the majority's first solution is the answer;
otherwise the problem escalates to the large model, which answers alone (``escalate=fresh``) or
checks the majority solution as a draft (``escalate=review``, the prompt set's ``review_user``).
Every sample's tokens count, escalated or not. ``threshold=0`` never escalates (the small model's
self-consistency alone); a threshold above 1 always escalates.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from delegate.config.fields import bounds
from delegate.data import Problem
from delegate.errors import ConfigError
from delegate.execution import ExecutionResult
from delegate.models import ChatModel, Completion
from delegate.prompts import PromptSet
from delegate.scoring import grader
from delegate.scoring.code import check_examples_async, stated_examples
from delegate.scoring.pool import shared_pool
from delegate.strategies.base import STRATEGIES, ModelProvider, StrategySpec, Trace


@dataclass(frozen=True)
class CascadeSettings:
    """The ``cascade:`` config section; its defaults are written in ``conf/config.yaml``. Types,
    choices and ranges are checked from these annotations (``delegate.config.fields``)."""

    # k solutions from the small model
    samples: int = field(default=5, metadata=bounds(1, 64))
    # the sampled solutions' temperature (the first is greedy)
    temperature: float = field(default=0.7, metadata=bounds(0.0, 2.0))
    # escalate when the confidence is below this (any number: above 1 always escalates)
    threshold: float = field(default=0.8, metadata=bounds(0.0, 1e6))
    # fresh: the large model answers alone | review: it checks the draft
    escalate: Literal["fresh", "review"] = "fresh"
    # vote: the majority's share | tests: code only, the share of samples that pass the
    # problem's stated examples (never its hidden tests)
    confidence: Literal["vote", "tests"] = "vote"

    def __post_init__(self) -> None:
        k = self.samples
        if k > 1 and self.temperature == 0:
            raise ConfigError(
                f"cascade.temperature is 0 with cascade.samples={k}: greedy samples all agree, so "
                "the confidence would always be 1; set a temperature > 0 or samples=1 "
                "<cascade.temperature>"
            )


def sample_seed(run_seed: int, problem_id: int, index: int) -> int:
    """The seed of sample ``index`` of a problem: fixed by the run's seed, the problem and the
    index, different for each (a 31-bit integer, which every backend accepts)."""
    text = f"cascade:{run_seed}:{problem_id}:{index}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "big") >> 1


def extract(text: str, problem: Problem, markers: Sequence[str]) -> str | None:
    """A sample's answer as the problem's grader reads it."""
    return grader(problem.answer_type).extract(text, markers).answer


async def same_answer(a: str, b: str, problem: Problem) -> bool:
    """Whether two samples' answers are one under the problem's grader (in the grading pool for
    symbolic checks)."""
    return await shared_pool().same(a, b, problem.answer_type, problem.rel_tol)


async def vote(
    answers: Sequence[str | None], same: Callable[[str, str], Awaitable[bool]]
) -> tuple[int | None, float]:
    """The index of the first sample of the largest group of equal answers (ties: the group whose
    first sample comes first) and that group's share of all samples; (None, 0.0) when no sample
    has an answer. ``None`` answers belong to no group."""
    groups: list[list[int]] = []  # sample indices, groups in order of their first sample
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        for group in groups:
            first = answers[group[0]]
            if first is not None and await same(answer, first):
                group.append(i)
                break
        else:
            groups.append([i])
    if not groups:
        return None, 0.0
    best = max(groups, key=len)  # max keeps the first of equal lengths: the earliest group
    return best[0], len(best) / len(answers)


def majority(
    answers: Sequence[str | None], same: Callable[[str, str], bool]
) -> tuple[int | None, float]:
    """``vote`` with a plain comparison function."""

    async def same_now(a: str, b: str) -> bool:
        return same(a, b)

    return _finish(vote(answers, same_now))


T = TypeVar("T")


def _finish(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (it awaits plain functions only), without
    an event loop: ``majority`` may be called from inside one."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the coroutine suspended")


async def code_verdict(
    programs: Sequence[str | None], problem: Problem, confidence: str
) -> tuple[int | None, float]:
    """For code, each sample's program run against the problem's stated examples (never its
    hidden tests). ``tests``: the first sample that passes them, and the share that do (no
    stated example: none passes, so the problem escalates); ``vote``: samples grouped by their
    behaviour there (the outcome and its message), the largest group's first sample and share."""
    runs = await asyncio.gather(*(_examples(p, problem.gold) for p in programs))
    if confidence == "tests":
        passing = [i for i, run in enumerate(runs) if run is not None and run.passed]
        return (passing[0] if passing else None), len(passing) / len(programs)
    behaviour = [None if run is None else f"{run.outcome}:{run.message}" for run in runs]

    async def same(a: str, b: str) -> bool:
        return a == b

    return await vote(behaviour, same)


async def _examples(program: str | None, gold: str) -> ExecutionResult | None:
    if program is None or not stated_examples(gold):
        return None
    return await check_examples_async(f"```python\n{program}\n```", gold)


class CascadeStrategy:
    name = "cascade"

    def __init__(
        self,
        slm: ChatModel,
        llm: ChatModel,
        prompts: PromptSet,
        settings: CascadeSettings,
        run_seed: int,
    ) -> None:
        self.slm, self.llm, self.prompts = slm, llm, prompts
        self.settings, self.run_seed = settings, run_seed

    async def _samples(self, problem: Problem, trace: Trace) -> list[Completion]:
        """The small model's k solutions, drawn concurrently; every one that came back is on the
        trace even if another failed."""
        messages = self.prompts.messages(self.prompts.system, self.prompts.user, problem.question)

        async def draw(index: int) -> Completion:
            if index == 0:
                return await self.slm.complete(messages, temperature=0.0)
            seed = sample_seed(self.run_seed, problem.id, index)
            return await self.slm.complete(
                messages, temperature=float(self.settings.temperature), seed=seed
            )

        drawn = await asyncio.gather(
            *(draw(i) for i in range(self.settings.samples)), return_exceptions=True
        )
        for item in drawn:
            if isinstance(item, Completion):
                trace.add("slm", item)
        for item in drawn:
            if isinstance(item, BaseException):
                raise item
        return [item for item in drawn if isinstance(item, Completion)]

    async def _verdict(
        self, completions: Sequence[Completion], problem: Problem
    ) -> tuple[list[str | None], int | None, float]:
        """Each sample's answer, the sample to keep and the confidence in it."""
        answers = [extract(c.text, problem, self.prompts.markers) for c in completions]
        if problem.answer_type == "code":
            best, confidence = await code_verdict(answers, problem, self.settings.confidence)
        elif self.settings.confidence == "tests":
            raise ConfigError(
                f"cascade.confidence=tests needs code problems (stated examples to run); problem "
                f"{problem.id} is {problem.answer_type} <cascade.confidence>"
            )
        else:
            best, confidence = await vote(answers, lambda a, b: same_answer(a, b, problem))
        return answers, best, confidence

    async def solve(self, problem: Problem, trace: Trace) -> str:
        completions = await self._samples(problem, trace)
        answers, best, confidence = await self._verdict(completions, problem)
        chosen = completions[best if best is not None else 0]
        trace.slm_answers = answers
        trace.slm_answer = answers[best] if best is not None else None
        trace.confidence = confidence
        if self.settings.confidence == "tests":  # verified: escalate only when none passes
            trace.escalated = best is None
        else:
            trace.escalated = confidence < self.settings.threshold
        if not trace.escalated:
            return trace.answer(chosen)
        if self.settings.escalate == "review":
            messages = self.prompts.review_messages(problem.question, chosen.text)
        else:
            messages = self.prompts.messages(
                self.prompts.system, self.prompts.user, problem.question
            )
        completion = await self.llm.complete(messages)
        trace.add("llm", completion)
        return trace.answer(completion)


def _build(models: ModelProvider, prompts: PromptSet, settings: CascadeSettings) -> CascadeStrategy:
    return CascadeStrategy(models.slm(), models.llm(), prompts, settings, models.seed)


CASCADE_PROMPTS = ("system", "user", "review_user")
STRATEGIES.register("cascade")(
    StrategySpec(_build, ("llm", "slm"), CASCADE_PROMPTS, CascadeSettings)
)
