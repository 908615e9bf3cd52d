"""Counting a request's prompt tokens without sending it, for ``dry_run=true``.

A model whose files are on this machine is counted with its own tokenizer, on the prompt its chat
template renders, as its backend renders it: llama.cpp's GGUF files read vocabulary-only, and the
transformers backend's tokenizer (a local directory or GGUF file), without the weights. Anything
else (an API model, a hub id not on this machine) is estimated at about four characters a token,
and says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from delegate.models.base import Message

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4

Count = Callable[[list[Message], list[dict[str, Any]] | None, str | None], int]


@dataclass(frozen=True)
class TokenCounter:
    """``count(messages, tools, assistant_prefix)``; ``how`` says how it counts, for the report."""

    count: Count
    how: str


def estimate(
    messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
) -> int:
    """About four characters a token, over the messages, tools and prefix as JSON text."""
    text = json.dumps(messages, ensure_ascii=False) + json.dumps(tools or [], ensure_ascii=False)
    return (len(text) + len(prefix or "")) // CHARS_PER_TOKEN


def token_counter(section: Mapping[str, Any], backend: Any) -> TokenCounter:
    """The best counter for the model of config ``section`` (its backend object, unprepared)."""
    kind = str(section.get("backend"))
    try:
        if kind == "llama_cpp":
            return _llama_cpp(str(backend._path))
        if kind == "transformers" and Path(str(backend._path)).exists():
            return _transformers(str(backend._path), backend._gguf_file)
    except Exception as e:  # no package, no template: an estimate still answers
        log.info("no offline tokenizer for %s (%s); estimating", backend.name, e)
    return TokenCounter(
        estimate, f"estimated at ~{CHARS_PER_TOKEN} characters a token: no offline tokenizer here"
    )


def _transformers(path: str, gguf_file: str | None) -> TokenCounter:
    from transformers import AutoTokenizer

    from delegate.models.tool_format import local_tools

    extra = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer: Any = AutoTokenizer.from_pretrained(path, **extra)

    def count(
        messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
    ) -> int:
        # Rendered and tokenized as the transformers backend renders its prompt.
        prompt = tokenizer.apply_chat_template(
            messages, tools=local_tools(tools, None), add_generation_prompt=True, tokenize=False
        )
        ids = tokenizer(prompt + (prefix or ""), add_special_tokens=False)["input_ids"]
        return len(ids)

    return TokenCounter(count, "counted with the model's own tokenizer")


def _llama_cpp(path: str) -> TokenCounter:
    from llama_cpp import Llama

    from delegate.models.llama_cpp_chat import chat_formatter

    vocab = Llama(model_path=path, vocab_only=True, verbose=False)
    formatter = chat_formatter(vocab, path)  # the backend's own rendering

    def count(
        messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
    ) -> int:
        # Rendered and tokenized as the llama_cpp backend renders its prompt.
        rendered = formatter(messages=cast(Any, messages), tools=cast(Any, tools))
        prompt = rendered.prompt + (prefix or "")
        return len(vocab.tokenize(prompt.encode(), add_bos=False, special=True))

    return TokenCounter(count, "counted with the model's own tokenizer")
