"""A hard cap on what a run bills (``budget_usd``), shared by every model of the run.

Before a model call is sent, its worst case is reserved: an upper bound on the prompt's tokens plus
``max_tokens`` of output, at the model's prices (cached input at the full input rate). When the
response comes back its usage is checked against that same bound (``usage_check``: a usage beyond
it is impossible and fails the call) and the reservation settles to what it actually billed; a
call that fails bills nothing (as in the records) and releases its reservation. A call whose
worst case does not fit beside what is spent and held is refused with ``BudgetExhausted`` before
it is sent, so what the run bills can never pass the cap, however many calls are in flight.

The wrapper sits inside the response cache: a replayed completion never reaches it and is free.
Calls run on one event loop and a reservation is taken without awaiting, so no lock is needed.
"""

from __future__ import annotations

import json
import math
import os
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delegate.accounting import Price, Usage
from delegate.errors import ConfigError
from delegate.models.base import ChatModel, Completion, Message, ModelWrapper
from delegate.models.usage_check import (
    TEMPLATE_TOKENS_PER_MESSAGE,
    TEMPLATE_TOKENS_PER_PROMPT,
    check_usage,
    prompt_tokens_bound,
)

__all__ = [
    "TEMPLATE_TOKENS_PER_MESSAGE",
    "TEMPLATE_TOKENS_PER_PROMPT",
    "Budget",
    "BudgetExhausted",
    "BudgetedChatModel",
    "prompt_tokens_bound",
    "read_spent",
]


class BudgetExhausted(BaseException):
    """A call was refused because its worst case would pass ``budget_usd``.

    A BaseException on purpose: like cancellation it must pass through every ``except Exception``
    that turns a failure into part of an answer (the router reports a failed tool call to the
    large model), so the problem stops unrecorded and is solved again when the run continues.
    """


@dataclass
class Hold:
    """A reservation: what one call in flight may still bill."""

    usd: float
    open: bool = True


class Budget:
    """What the run has billed (``spent_usd``, every session of it) and holds for calls in
    flight, against an optional cap. With no cap it only counts."""

    def __init__(self, cap_usd: float | None) -> None:
        self.cap_usd = cap_usd
        self.spent_usd = 0.0
        self.held_usd = 0.0
        self.possibly_billed_usd = 0.0  # abandoned attempts counted as spent, this session
        self.exhausted = False  # a call was refused: start no new problem
        self._file: Path | None = None

    @classmethod
    def from_config(cls, value: Any) -> Budget:
        """The budget from the ``budget_usd`` key: null, or a positive number of dollars."""
        if value is None:
            return cls(None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"budget_usd must be a number of dollars or null, got {value!r} <budget_usd>"
            )
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"budget_usd must be positive, got {value!r} <budget_usd>")
        return cls(float(value))

    def start(self, spent_before_usd: float, file: Path | None) -> None:
        """Begin a session: count what earlier sessions of the run billed, and keep the running
        total in ``file`` (written after every call, so a killed session loses nothing)."""
        self.spent_usd = spent_before_usd
        self._file = file
        self._save()

    def fits(self, usd: float) -> bool:
        return self.cap_usd is None or self.spent_usd + self.held_usd + usd <= self.cap_usd

    def reserve(self, usd: float) -> Hold:
        """Hold ``usd`` for a call about to be sent, or raise BudgetExhausted."""
        if not self.fits(usd):
            self.exhausted = True
            raise BudgetExhausted(
                f"a call that may cost ${usd:.4f} does not fit: ${self.spent_usd:.4f} spent and "
                f"${self.held_usd:.4f} held of budget_usd={self.cap_usd:g}"
            )
        self.held_usd += usd
        return Hold(usd)

    def settle(self, hold: Hold, billed_usd: float, possibly_usd: float = 0.0) -> None:
        """End a reservation with what the call billed (0 when it failed) and what its abandoned
        attempts may have billed (``possibly_usd``, counted as spent: a provider that finished
        an attempt the client gave up on bills it all the same)."""
        if not hold.open:
            return
        hold.open = False
        self.held_usd = max(self.held_usd - hold.usd, 0.0)
        self.possibly_billed_usd += possibly_usd
        if billed_usd or possibly_usd:
            self.spent_usd += billed_usd + possibly_usd
            self._save()

    def _save(self) -> None:
        if self._file is None:
            return
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"spent_usd": self.spent_usd, "cap_usd": self.cap_usd}) + "\n")
        os.replace(tmp, self._file)  # atomic: a kill never leaves half a file


def read_spent(file: Path) -> float | None:
    """The spend a session saved with ``Budget.start``; None when there is no readable file."""
    try:
        return float(json.loads(file.read_text(encoding="utf-8"))["spent_usd"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# The attempts of the call in progress that were abandoned at their deadline (``models.retry``):
# the request reached the provider, which may have completed and billed it.
_abandoned: ContextVar[list[int] | None] = ContextVar("abandoned_attempts", default=None)


def note_abandoned_attempt() -> None:
    """Count an attempt given up at its deadline against the call in progress, if any."""
    box = _abandoned.get()
    if box is not None:
        box.append(1)


class BudgetedChatModel(ModelWrapper):
    """Wraps a backend so every call it makes is reserved against the run's budget first, and
    its usage checked (``usage_check``) before it is billed: an impossible one fails the call,
    which bills nothing and, the cache being outside, is not cached."""

    def __init__(self, inner: ChatModel, budget: Budget, price: Price, where: str) -> None:
        super().__init__(inner)
        self.budget, self.price, self._where = budget, price, where
        self._max_tokens: int | None = None
        self._limit_read = False

    def max_tokens(self) -> int | None:
        """The backend's bound on each call's output (its identity's ``max_tokens``), if any."""
        if not self._limit_read:
            limit = self.inner.identity().get("max_tokens")
            valid = isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1
            self._max_tokens, self._limit_read = (limit if valid else None), True
        return self._max_tokens

    def worst_case_usd(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None,
        prefix: str | None = None,
    ) -> float:
        """What the call may bill at most: every prompt token uncached, every output token."""
        if self.budget.cap_usd is None:
            return 0.0  # nothing to hold against: only count
        usage = Usage(input_tokens=prompt_tokens_bound(messages, tools, prefix))
        prompt_usd = self.price.cost_usd(usage)
        if not self.price.output:
            return prompt_usd
        limit = self.max_tokens()
        if limit is None:
            raise ConfigError(
                f"budget_usd needs a bound on each call's output, but {self._where} has "
                f"max_tokens={self.inner.identity().get('max_tokens')!r} "
                f"<{self._where}.max_tokens>"
            )
        return prompt_usd + self.price.cost_usd(Usage(output_tokens=limit))

    async def complete(self, messages: list[Message], **options: Any) -> Completion:
        request = self.request(messages, options)  # rejects unknown options before any hold
        tools, prefix = request["tools"], request["assistant_prefix"]
        hold = self.budget.reserve(self.worst_case_usd(messages, tools, prefix))
        billed, abandoned = 0.0, list[int]()
        token = _abandoned.set(abandoned)
        try:
            completion = await self.inner.complete(messages, **options)
            if not completion.cache_hit:
                bound = prompt_tokens_bound(messages, tools, prefix)
                check_usage(completion.usage, bound, self.max_tokens(), self._where)
                billed = self.price.cost_usd(completion.usage)
            return completion
        finally:
            _abandoned.reset(token)
            possibly = len(abandoned) * self._attempt_bound_usd(messages, tools, prefix)
            self.budget.settle(hold, billed, possibly)

    def _attempt_bound_usd(
        self, messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
    ) -> float:
        """What one abandoned attempt may have billed: the prompt's bound and ``max_tokens``."""
        prompt = Usage(input_tokens=prompt_tokens_bound(messages, tools, prefix))
        output = Usage(output_tokens=self.max_tokens() or 0)
        return self.price.cost_usd(prompt) + self.price.cost_usd(output)
