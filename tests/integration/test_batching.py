"""Batched generation on the real offline model gives the same greedy outputs and token counts as
one request at a time."""

from __future__ import annotations

import asyncio

import pytest

from delegate.data import load_problems
from delegate.models.transformers_chat import TransformersChatModel

from .conftest import SMOLLM2

pytestmark = pytest.mark.integration


def ask_all(model: TransformersChatModel, questions: list[str], **options) -> list:
    async def go() -> list:
        return await asyncio.gather(
            *(model.complete([{"role": "user", "content": q}], **options) for q in questions)
        )

    return asyncio.run(go())


@pytest.mark.parametrize("stop", [None, ["\n\n", "="]])
def test_batched_outputs_equal_batch_of_one(stop: list[str] | None) -> None:
    questions = [p.question for p in load_problems({"name": "mini", "path": None})[:8]]
    one = TransformersChatModel(SMOLLM2, max_tokens=40, batch_size=1)
    batched = TransformersChatModel(SMOLLM2, max_tokens=40, batch_size=8, batch_window_ms=50)

    singles = ask_all(one, questions, stop=stop)
    together = ask_all(batched, questions, stop=stop)

    assert one.batcher_sizes() == [1] * 8
    assert batched.batcher_sizes() == [8]
    assert [c.text for c in together] == [c.text for c in singles]
    assert [c.usage for c in together] == [c.usage for c in singles]
    if stop:
        assert all(s not in c.text for c in together for s in stop)
