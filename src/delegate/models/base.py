"""What every chat-model backend provides, and what a call returns.

Strategies depend on ``ChatModel`` only, never on a vendor SDK: each backend lives in its own module
and imports its SDK on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from delegate.accounting import Usage

Message = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A tool call as the model wrote it; ``arguments`` is the raw JSON text, unparsed."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """One model call: its text, tool calls, token usage and its own latency.

    ``finish_reason`` says why generation stopped: ``stop`` (an end token or stop string),
    ``length`` (cut off by ``max_tokens``) or ``tool_calls``; None when a backend cannot tell.
    ``cache_hit`` marks a completion replayed from the response cache: its usage and latency are
    those of the original call, and nobody paid for it again.
    """

    text: str
    usage: Usage
    latency_s: float
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    cache_hit: bool = False


# ``count(messages, tools, assistant_prefix)``: the prompt's tokens as the model would see them.
Count = Callable[[list[Message], list[dict[str, Any]] | None, str | None], int]


@dataclass(frozen=True)
class TokenCounter:
    """Counts a request's prompt tokens without sending it; ``how`` says how, for a report."""

    count: Count
    how: str


class ChatModel(Protocol):
    """A chat model with generation settings (temperature, max tokens) bound at build time; a
    call may choose its own temperature and seed (a strategy that draws several samples)."""

    name: str

    def identity(self) -> dict[str, Any]:
        """The resolved settings that decide what this model answers (backend, model, endpoint,
        device, dtype, generation settings), defaults filled in; the response cache keys on it
        and a run's configuration identity (``delegate.identity``) includes it."""
        ...

    async def prepare(self) -> None:
        """Do the slow or failing set-up (load weights, check the key) before the problem loop."""

    async def aclose(self) -> None:
        """Release connections, inside the event loop that used them."""

    def continues_prefix(self) -> bool:
        """Whether ``complete`` honours ``assistant_prefix`` (the reply continues given text)."""
        ...

    def forces_tool_calls(self) -> bool:
        """Whether ``complete`` honours a ``tool_choice`` that demands a call (``required`` or
        a named function)."""
        ...

    def prompt_token_counter(self) -> TokenCounter | None:
        """A counter of this model's prompt tokens that sends nothing and loads no weights (its
        own tokenizer, as its backend renders prompts), or None when there is none here. May be
        slow (it loads a tokenizer) and may raise when the tokenizer cannot be loaded."""
        ...

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        stop: list[str] | None = None,
        assistant_prefix: str | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> Completion:
        """Generate one assistant turn.

        Args:
            messages: OpenAI-style chat messages.
            tools: OpenAI-style function schemas, for models with native tool calling.
            tool_choice: ``"auto"``, ``"required"``, ``"none"`` or a named function.
            stop: strings that end generation; they are not part of the returned text.
            assistant_prefix: text the assistant turn is forced to start with (local models only);
                it is part of the returned text.
            temperature: this call's sampling temperature, in place of the model's own (None:
                the model's); 0 is greedy.
            seed: this call's sampling seed, so a sampled call can be repeated exactly and
                calls with different seeds draw differently (None: the backend's own).
        """
        ...


# The keyword options of ``ChatModel.complete``, for wrappers that take them as ``**options``.
OPTIONS = ("tools", "tool_choice", "stop", "assistant_prefix", "temperature", "seed")
_SAMPLING_OPTIONS = ("temperature", "seed")


class ModelWrapper:
    """Base of wrappers that add behaviour around another model's ``complete`` (the cache, the
    traces): name, identity, set-up, clean-up and the capabilities pass through to the wrapped
    model, so nothing outside needs to unwrap one. A wrapper's
    ``complete(messages, **options)`` passes ``options`` on unchanged and reads them through
    ``request``."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name

    @staticmethod
    def request(messages: list[Message], options: dict[str, Any]) -> dict[str, Any]:
        """The whole request, every option present (None when not given) except the per-call
        sampling options, which appear only when set: a request without them is described (and
        cached) exactly as before they existed."""
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise TypeError(f"complete() got unexpected options {sorted(unknown)}")
        request = {"messages": messages, **{k: options.get(k) for k in OPTIONS}}
        for key in _SAMPLING_OPTIONS:
            if request[key] is None:
                del request[key]
        return request

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    async def prepare(self) -> None:
        await self.inner.prepare()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def continues_prefix(self) -> bool:
        return self.inner.continues_prefix()

    def forces_tool_calls(self) -> bool:
        return self.inner.forces_tool_calls()

    def prompt_token_counter(self) -> TokenCounter | None:
        return self.inner.prompt_token_counter()
