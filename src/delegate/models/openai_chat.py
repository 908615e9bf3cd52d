"""Any OpenAI-compatible chat API (OpenAI, vLLM, llama.cpp's server...) through the openai SDK.

The API key is read from the environment variable named by ``api_key_env`` when the run starts
(a ``.env`` file is honoured); it is held by the client only, never by a config, a log or MLflow.
Token usage is taken from every response, tool-call turns included.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from delegate.accounting import Usage
from delegate.errors import ConfigError, DelegateError, MissingSecretError
from delegate.models.base import Completion, Message, ToolCall
from delegate.models.rate_limit import RequestRateLimit, TokenRateLimit, estimate_tokens
from delegate.models.registry import BACKENDS


class ModelResponseError(DelegateError):
    """The endpoint answered, but not with something a chat completion must contain."""


def read_api_key(variable: str, where: str) -> str:
    """The key in environment variable ``variable`` (or a ``.env`` file), or a clear error."""
    if not os.environ.get(variable):
        try:
            from dotenv import find_dotenv, load_dotenv

            load_dotenv(find_dotenv(usecwd=True), override=False)
        except ImportError:
            pass
    key = os.environ.get(variable)
    if not key:
        raise MissingSecretError(
            f"the API key variable {variable} is not set <{where}.api_key_env>: "
            f"export {variable}=... or put it in a .env file"
        )
    return key


def check_reachable(url: str, where: str, timeout_s: float = 5.0) -> None:
    """Open (and close) a TCP connection to the server behind ``url``, or raise ConfigError."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not parts.hostname:
        raise ConfigError(f"not a URL: {url!r} <{where}.base_url>")
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(f"cannot reach {url} ({reason}) <{where}.base_url>") from None


@BACKENDS.register("openai")
class OpenAIChatModel:
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    continues_prefix = False  # the API cannot be made to continue a given assistant text

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        max_tokens: int = 1024,
        temperature: float = 0.0,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        name: str | None = None,
        where: str = "llm",
    ) -> None:
        if api_key_env is None and base_url is None:
            raise ConfigError(f"the OpenAI API needs a key <{where}.api_key_env>")
        self.name = name or model
        self.model, self.base_url, self.api_key_env = model, base_url, api_key_env
        self.max_tokens, self.temperature = int(max_tokens), float(temperature)
        self.timeout_s, self.max_retries = float(timeout_s), int(max_retries)
        self._where = where
        self._client: Any = None
        self._rate = RequestRateLimit(requests_per_minute) if requests_per_minute else None
        self._tokens = TokenRateLimit(tokens_per_minute) if tokens_per_minute else None

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": self.base_url,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    async def prepare(self) -> None:
        self._get_client()
        if self.base_url:  # fail before any work, not after every problem's retries
            await asyncio.to_thread(check_reachable, self.base_url, self._where)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _get_client(self) -> Any:
        if self._client is None:
            from openai import AsyncOpenAI

            # A local server without auth still needs a non-empty key for the SDK.
            key = read_api_key(self.api_key_env, self._where) if self.api_key_env else "unused"
            self._client = AsyncOpenAI(
                api_key=key,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            )
        return self._client

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
        if assistant_prefix:
            raise ConfigError(
                "an OpenAI-compatible API cannot continue a forced assistant prefix; use "
                f"tool_protocol=native <{self._where}.tool_protocol>"
            )
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature if temperature is None else float(temperature),
        }
        if seed is not None:
            request["seed"] = int(seed)
        if tools:
            request["tools"] = tools
            if tool_choice is not None:
                request["tool_choice"] = tool_choice
        if stop:
            request["stop"] = stop
        held = None
        if self._tokens is not None:
            held = await self._tokens.reserve(estimate_tokens(messages, self.max_tokens))
        if self._rate is not None:
            await self._rate.slot()
        start = time.perf_counter()
        # The SDK retries connection errors, 408, 409, 429 and 5xx up to max_retries times with
        # exponential backoff, waiting as long as a Retry-After header asks.
        response = await self._get_client().chat.completions.create(**request)
        latency = time.perf_counter() - start
        completion = _to_completion(response, latency)
        if held is not None:  # a failed request keeps its estimate: the provider may count it
            held.settle(completion.usage.input_tokens + completion.usage.output_tokens)
        return completion


def _to_completion(response: Any, latency: float) -> Completion:
    usage = getattr(response, "usage", None)
    if usage is None:
        raise ModelResponseError("the endpoint reported no token usage; tokens cannot be counted")
    if not getattr(response, "choices", None):
        raise ModelResponseError("the completion has no choices")
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    choice = response.choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(id=c.id or f"call_{i}", name=c.function.name or "", arguments=c.function.arguments)
        for i, c in enumerate(message.tool_calls or [])
        if getattr(c, "function", None) is not None
    )
    return Completion(
        text=message.content or "",
        usage=Usage(
            input_tokens=usage.prompt_tokens or 0,
            cached_input_tokens=cached,
            output_tokens=usage.completion_tokens or 0,
            calls=1,
        ),
        latency_s=latency,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
    )
