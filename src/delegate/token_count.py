"""Counting a request's prompt tokens without sending it, for ``dry_run=true``.

A model that can count its own prompts offline says so through ``ChatModel.prompt_token_counter``
(llama.cpp's GGUF files read vocabulary-only; the transformers backend's tokenizer from a local
directory or GGUF file, without the weights; each renders the prompt as its backend does).
Anything else (an API model, a hub id not on this machine, a tokenizer that fails to load) is
estimated at about four characters a token, and says so.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from delegate.models.base import ChatModel, Message, TokenCounter

__all__ = ["CHARS_PER_TOKEN", "TokenCounter", "estimate", "token_counter"]

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4


def estimate(
    messages: list[Message], tools: list[dict[str, Any]] | None, prefix: str | None
) -> int:
    """About four characters a token, over the messages, tools and prefix as JSON text."""
    text = json.dumps(messages, ensure_ascii=False) + json.dumps(tools or [], ensure_ascii=False)
    return (len(text) + len(prefix or "")) // CHARS_PER_TOKEN


def token_counter(model: ChatModel) -> TokenCounter:
    """The best counter for ``model`` (unprepared): its own, else the estimate."""
    try:
        counter = model.prompt_token_counter()
    except Exception as e:  # no package, no template: an estimate still answers
        log.info("no offline tokenizer for %s (%s); estimating", model.name, e)
        counter = None
    return counter or TokenCounter(
        estimate, f"estimated at ~{CHARS_PER_TOKEN} characters a token: no offline tokenizer here"
    )
