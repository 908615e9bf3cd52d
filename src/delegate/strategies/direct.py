"""``llm`` and ``slm``: one model answers alone, under the prompt set's shared instructions."""

from __future__ import annotations

from typing import Any

from delegate.data import Problem
from delegate.models import ChatModel
from delegate.prompts import PromptSet
from delegate.strategies.base import STRATEGIES, ModelProvider, Role, Trace


class DirectStrategy:
    """The model named by ``role`` answers the problem in one call."""

    def __init__(self, name: str, role: Role, model: ChatModel, prompts: PromptSet) -> None:
        self.name, self.role, self.model, self.prompts = name, role, model, prompts

    async def solve(self, problem: Problem, trace: Trace) -> str:
        messages = self.prompts.messages(self.prompts.system, self.prompts.user, problem.question)
        completion = await self.model.complete(messages)
        trace.add(self.role, completion)
        return completion.text


@STRATEGIES.register("llm")
def build_llm_only(models: ModelProvider, prompts: PromptSet, cfg: Any) -> DirectStrategy:
    return DirectStrategy("llm", "llm", models.llm(), prompts)


@STRATEGIES.register("slm")
def build_slm_only(models: ModelProvider, prompts: PromptSet, cfg: Any) -> DirectStrategy:
    return DirectStrategy("slm", "slm", models.slm(), prompts)
