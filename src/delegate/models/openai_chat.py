"""Any OpenAI-compatible chat API (OpenAI, vLLM, llama.cpp's server...) through the openai SDK.

The API key is read from the environment variable named by ``api_key_env`` when the run starts
(a ``.env`` file is honoured); it is held by the client only and registered as a secret, so that
no log, error text or MLflow entry shows it. A ``base_url`` with ``user:password@`` is sent without
them, the credentials going in a Basic ``Authorization`` header instead of a key.

``timeout_s`` bounds each attempt from connect to last byte; failed attempts are retried as the SDK
would (``delegate.models.retry``). The response is read by ``openai_response``: token usage from
every response, tool-call turns included, must be possible (``usage_check``) or the call fails.

With ``batch=true`` calls go through the provider's Batch API instead (``openai_batch``): the run's
calls gathered into one batch, half price, results within 24 hours.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from delegate.errors import ConfigError, MissingSecretError
from delegate.models.base import Completion, Message, TokenCounter
from delegate.models.call_error import (
    ModelCallError,
    ModelResponseError,
    call_error,
    from_exception,
)
from delegate.models.openai_batch import BatchQueue
from delegate.models.openai_response import to_completion
from delegate.models.rate_limit import RequestRateLimit, TokenRateLimit, estimate_tokens
from delegate.models.retry import backoff_s, status_retry_delay, with_retries
from delegate.secrets import basic_auth, register_secret, split_userinfo

__all__ = ["ModelResponseError", "OpenAIChatModel", "check_reachable", "read_api_key"]

log = logging.getLogger(__name__)


def read_api_key(variable: str, where: str) -> str:
    """The key in environment variable ``variable`` (or a ``.env`` file), or a clear error."""
    if not os.environ.get(variable):
        try:
            from dotenv import find_dotenv, load_dotenv

            load_dotenv(find_dotenv(usecwd=True), override=False)
        except ImportError:
            pass
    raw = os.environ.get(variable) or ""
    key = raw.strip()
    if not key:
        raise MissingSecretError(
            f"the API key variable {variable} is not set <{where}.api_key_env>: "
            f"export {variable}=... or put it in a .env file"
        )
    # A key that cannot go in an HTTP header would only surface as "Connection error".
    if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
        raise ConfigError(
            f"the API key in {variable} contains whitespace, control or non-ASCII characters "
            f"<{where}.api_key_env>: check how the variable is set"
        )
    register_secret(key)
    if key != raw:  # typically the newline of a key read from a file
        log.warning(
            "the API key in %s has leading or trailing whitespace; using it without "
            "<%s.api_key_env>",
            variable,
            where,
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


def _batch_setting(batch: Any, poll_s: Any, where: str) -> bool:
    """``batch`` as a bool, its poll interval checked; a ConfigError naming the key otherwise."""
    if not isinstance(batch, bool):
        raise ConfigError(f"{where}.batch must be true or false, got {batch!r} <{where}.batch>")
    valid = isinstance(poll_s, int | float) and not isinstance(poll_s, bool)
    if not valid or not math.isfinite(poll_s) or poll_s <= 0:
        raise ConfigError(
            f"{where}.batch_poll_s must be a positive number of seconds, got {poll_s!r} "
            f"<{where}.batch_poll_s>"
        )
    return batch


class OpenAIChatModel:
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

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
        batch: bool = False,
        batch_poll_s: float = 30.0,
        where: str = "llm",
    ) -> None:
        if api_key_env is None and base_url is None:
            raise ConfigError(f"the OpenAI API needs a key <{where}.api_key_env>")
        # user:password@ in the URL would replace the key in the Authorization header (the HTTP
        # client turns it into Basic auth): one credential per endpoint, said once, in one place.
        if base_url is not None:
            base_url, credentials = split_userinfo(base_url)
        else:
            credentials = None
        if credentials is not None and api_key_env is not None:
            raise ConfigError(
                f"{where}.base_url holds user:password@ and {where}.api_key_env names a key; "
                f"keep one: {where}.api_key_env=null to authenticate with the URL's "
                f"credentials (Basic auth) <{where}.base_url>"
            )
        self._headers = {"Authorization": basic_auth(*credentials)} if credentials else {}
        self.name = name or model
        self.model, self.base_url, self.api_key_env = model, base_url, api_key_env
        self.max_tokens, self.temperature = int(max_tokens), float(temperature)
        self.timeout_s, self.max_retries = float(timeout_s), int(max_retries)
        self._where = where
        self._client: Any = None
        self._rate = RequestRateLimit(requests_per_minute) if requests_per_minute else None
        self._tokens = TokenRateLimit(tokens_per_minute) if tokens_per_minute else None
        self._batch = None
        if _batch_setting(batch, batch_poll_s, where):
            self._batch = BatchQueue(self._get_client, self._call, batch_poll_s, where)

    def identity(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": self.base_url,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        } | ({"batch": True} if self._batch is not None else {})

    def continues_prefix(self) -> bool:
        return False  # the API cannot be made to continue a given assistant text

    def forces_tool_calls(self) -> bool:
        return True  # tool_choice is part of the API

    def prompt_token_counter(self) -> TokenCounter | None:
        return None  # the provider's tokenizer and template are not on this machine

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
            # Retries are ours (``_create``), so that timeout_s bounds each attempt whole.
            self._client = AsyncOpenAI(
                api_key=key,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=0,
                default_headers=self._headers or None,
            )
        return self._client

    async def _create(self, request: dict[str, Any]) -> Any:
        """One chat completion (``_call``)."""
        client = self._get_client()
        return await self._call(lambda: client.chat.completions.create(**request))

    async def _call(self, attempt: Callable[[], Awaitable[Any]]) -> Any:
        """One request to the API, retried as the SDK would: connection errors, timeouts, 408,
        409, 429 and 5xx, up to ``max_retries`` times, waiting as long as ``Retry-After`` asks or
        with exponential backoff. Each attempt gets ``timeout_s`` from connect to last byte."""
        import openai

        def retry_delay(error: Exception, retries_done: int) -> float | None:
            if isinstance(error, openai.APIConnectionError):  # timeouts of a single read too
                return backoff_s(retries_done)
            if isinstance(error, openai.APIStatusError):
                return status_retry_delay(
                    error.status_code, dict(error.response.headers), retries_done
                )
            return None

        def timed_out() -> Exception:
            return call_error(
                "APITimeoutError",
                f"no complete response within {self.timeout_s:g} s <{self._where}.timeout_s>",
            )

        try:
            return await with_retries(
                attempt,
                timeout_s=self.timeout_s,
                max_retries=self.max_retries,
                retry_delay=retry_delay,
                timed_out=timed_out,
            )
        except ModelCallError:
            raise
        except Exception as e:  # an SDK error's message may echo the request's headers
            raise from_exception(e) from None

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
        if self._batch is not None:  # no rate limits: the provider queues a batch itself
            return await self._batch.complete(request)
        held = None
        if self._tokens is not None:
            held = await self._tokens.reserve(estimate_tokens(messages, self.max_tokens))
        if self._rate is not None:
            await self._rate.slot()
        start = time.perf_counter()
        response = await self._create(request)
        latency = time.perf_counter() - start
        completion = to_completion(response, latency)
        if held is not None:  # a failed request keeps its estimate: the provider may count it
            held.settle(completion.usage.input_tokens + completion.usage.output_tokens)
        return completion
