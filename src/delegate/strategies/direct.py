"""``llm`` and ``slm``: one model answers alone, under the prompt set's shared instructions."""

from __future__ import annotations

from typing import Any

from delegate.data import Problem
from delegate.models import ChatModel
from delegate.prompts import PromptSet
from delegate.strategies.base import STRATEGIES, ModelProvider, Role, StrategySpec, Trace


class DirectStrategy:
    """The model named by ``role`` answers the problem in one call."""

    def __init__(self, name: str, role: Role, model: ChatModel, prompts: PromptSet) -> None:
        self.name, self.role, self.model, self.prompts = name, role, model, prompts

    async def solve(self, problem: Problem, trace: Trace) -> str:
        messages = self.prompts.messages(self.prompts.system, self.prompts.user, problem.question)
        completion = await self.model.complete(messages)
        trace.add(self.role, completion)
        return trace.answer(completion)


def _build_llm(models: ModelProvider, prompts: PromptSet, settings: Any) -> DirectStrategy:
    return DirectStrategy("llm", "llm", models.llm(), prompts)


def _build_slm(models: ModelProvider, prompts: PromptSet, settings: Any) -> DirectStrategy:
    return DirectStrategy("slm", "slm", models.slm(), prompts)


ANSWER_PROMPTS = ("system", "user")  # the prompt texts a model answering alone is sent
STRATEGIES.register("llm")(StrategySpec(_build_llm, ("llm",), ANSWER_PROMPTS))
STRATEGIES.register("slm")(StrategySpec(_build_slm, ("slm",), ANSWER_PROMPTS))
