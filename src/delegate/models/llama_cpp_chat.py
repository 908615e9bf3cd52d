"""GGUF models in-process through llama.cpp (llama-cpp-python): the fast CPU engine.

The model's own chat template (from the GGUF metadata) renders the prompt, so a forced assistant
prefix and the text tool-call format work as with transformers. One ``Llama`` per file and process,
shared by every model that names it; calls are serialised on it (llama.cpp contexts are not
thread-safe) and run in a worker thread. Token counts come from llama.cpp's own usage report.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

from delegate.accounting import Usage
from delegate.errors import ConfigError
from delegate.models import tool_format
from delegate.models.base import Completion, Message, TokenCounter
from delegate.models.files import PKG_SCHEME, resolve_model_path
from delegate.models.usage_check import reported_usage


def vocabulary_counter(path: str) -> TokenCounter:
    """Prompt tokens counted with the GGUF file's vocabulary (read without its weights) on the
    prompt its chat template renders, exactly as ``LlamaCppChatModel`` renders it."""
    from llama_cpp import Llama

    vocab = Llama(model_path=path, vocab_only=True, verbose=False)
    formatter = chat_formatter(vocab, path)

    def count(
        messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
    ) -> int:
        rendered = formatter(messages=cast(Any, messages), tools=cast(Any, tools))
        prompt = rendered.prompt + (prefix or "")
        return len(vocab.tokenize(prompt.encode(), add_bos=False, special=True))

    return TokenCounter(count, "counted with the model's own tokenizer")


@dataclass
class _Engine:
    llama: Any
    formatter: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_ENGINES: dict[tuple[str, int, int | None], _Engine] = {}
_LOAD_LOCK = threading.Lock()


def _close_all() -> None:
    # Close while the interpreter is whole: llama-cpp-python's __del__ fails at shutdown otherwise.
    for engine in _ENGINES.values():
        engine.llama.close()
    _ENGINES.clear()


def _load(path: str, n_ctx: int, n_threads: int | None) -> _Engine:
    key = (path, n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _ENGINES:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError(
                    "the llama_cpp backend needs llama-cpp-python: make setup-server "
                    "(or pip install llama-cpp-python)"
                ) from None
            # llama-cpp-python defaults to half the cores; the model has the machine to itself.
            threads = n_threads or os.cpu_count() or 1
            llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, verbose=False)
            formatter = chat_formatter(llama, path)
            if not _ENGINES:
                atexit.register(_close_all)
            _ENGINES[key] = _Engine(llama, formatter)
        return _ENGINES[key]


def chat_formatter(llama: Any, path: str) -> Any:
    """The chat template of a loaded GGUF file (its metadata), with its own end and start
    tokens: how every prompt to it is rendered."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ConfigError(f"{path} has no chat template in its metadata")
    eos = llama.detokenize([llama.token_eos()], special=True).decode()
    bos = llama.detokenize([llama.token_bos()], special=True).decode()
    return Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)


class LlamaCppChatModel:
    """A GGUF chat model run in-process by llama.cpp; greedy unless ``temperature > 0``."""

    def __init__(
        self,
        model: str,
        max_tokens: int = 512,
        temperature: float = 0.0,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        name: str | None = None,
        where: str = "model",
    ) -> None:
        self._model, self._path = model, resolve_model_path(model, where)
        self.name = name or (model.rsplit("/", 1)[-1] if model.startswith(PKG_SCHEME) else model)
        self.max_tokens, self.temperature = int(max_tokens), float(temperature)
        self._n_ctx, self._n_threads, self._seed = int(n_ctx), n_threads, int(seed)

    def identity(self) -> dict[str, Any]:
        sampled = self.temperature > 0
        return {
            "backend": "llama_cpp",
            "model": self._model,
            "n_ctx": self._n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            **({"seed": self._seed} if sampled else {}),  # greedy decoding ignores the seed
        }

    async def aclose(self) -> None:
        return None  # weights stay loaded for the next run in this process

    async def prepare(self) -> None:
        await asyncio.to_thread(self._engine)

    def continues_prefix(self) -> bool:
        return True  # the prompt is rendered here, so the reply continues whatever ends it

    def forces_tool_calls(self) -> bool:
        return False  # only the text format's forced prefix can force a call

    def prompt_token_counter(self) -> TokenCounter | None:
        return vocabulary_counter(self._path)

    def _engine(self) -> _Engine:
        return _load(self._path, self._n_ctx, self._n_threads)

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
        use_tools = tool_format.local_tools(tools, tool_choice)
        sampling = self._sampling(temperature, seed)
        start = time.perf_counter()
        text, usage, reason = await asyncio.to_thread(
            self._generate, messages, use_tools, list(stop or ()), assistant_prefix or "", sampling
        )
        calls: tuple[Any, ...] = ()
        if use_tools:
            text, calls = tool_format.parse_tool_calls(text)
        return Completion(
            text=text,
            usage=usage,
            latency_s=time.perf_counter() - start,
            tool_calls=calls,
            finish_reason=tool_format.finish_reason(reason, calls),
        )

    def _sampling(self, temperature: float | None, seed: int | None) -> dict[str, Any]:
        """llama.cpp's sampling settings for a call: its own temperature and seed, else the
        model's. The seed is set on the shared context under its lock, so a seeded call draws
        the same tokens whatever ran before it."""
        temperature = self.temperature if temperature is None else float(temperature)
        if temperature > 0:
            return {"temperature": temperature, "seed": self._seed if seed is None else int(seed)}
        return {"temperature": 0.0, "top_k": 1}

    def _generate(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None,
        stop: list[str],
        prefix: str,
        sampling: dict[str, Any],
    ) -> tuple[str, Usage, str | None]:
        engine = self._engine()
        rendered = engine.formatter(messages=messages, tools=tools)
        with engine.lock:
            out = engine.llama.create_completion(
                prompt=rendered.prompt + prefix,
                max_tokens=self.max_tokens,
                stop=stop + list(rendered.stop or []),
                repeat_penalty=1.0,
                **sampling,
            )
        usage, choice = out["usage"], out["choices"][0]
        return (
            prefix + choice["text"],
            reported_usage(usage.get("prompt_tokens"), usage.get("completion_tokens")),
            choice.get("finish_reason"),
        )
