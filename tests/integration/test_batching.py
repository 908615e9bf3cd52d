"""Batched generation on the real offline model gives the same greedy outputs and token counts as
one request at a time."""

from __future__ import annotations

import asyncio

import pytest

from delegate.data import load_problems
from delegate.models.transformers_chat import TransformersChatModel, _transpose_in_memory

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


def loaded_smollm2():
    """The offline model's weights as the backend loads them on CPU (once per process)."""
    return TransformersChatModel(SMOLLM2, device="cpu")._weights()


def chat_prompts(tokenizer, count: int) -> list[str]:
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p.question}], add_generation_prompt=True, tokenize=False
        )
        for p in load_problems({"name": "mini", "path": None})[:count]
    ]


def test_decode_loop_equals_transformers_generate() -> None:
    """The loop's in-place cache and row dropping give ``generate``'s own greedy tokens."""
    import torch

    from delegate.models.hf_generation import Request, generate_batch

    weights = loaded_smollm2()
    tok, model = weights.tokenizer, weights.model
    prompts = chat_prompts(tok, 4)
    ours = generate_batch(tok, model, weights.end_ids, [Request(p, 80, 0.0, ()) for p in prompts])
    for prompt, (text, n_in, n_out, reason) in zip(prompts, ours, strict=True):
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(
                **enc, max_new_tokens=80, do_sample=False, pad_token_id=tok.pad_token_id
            )
        generated = out[0, enc["input_ids"].shape[1] :].tolist()
        assert (text, n_in, n_out) == (
            tok.decode(generated, skip_special_tokens=True),
            enc["input_ids"].shape[1],
            len(generated),
        )
        ended = generated[-1] in weights.end_ids
        assert reason == ("stop" if ended or len(generated) < 80 else "length")


def test_weights_laid_out_transposed_give_the_same_predictions() -> None:
    """On CPU the linear weights are stored transposed (faster products for several rows); the
    model's logits stay those of the usual layout up to float rounding."""
    import torch

    weights = loaded_smollm2()
    model = weights.model
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert all(m.weight.stride() == (1, m.weight.shape[0]) for m in linears)
    enc = weights.tokenizer(chat_prompts(weights.tokenizer, 2), return_tensors="pt", padding=True)
    with torch.inference_mode():
        transposed = model(**enc).logits
        try:
            for m in linears:
                m.weight.data = m.weight.data.contiguous()
            usual = model(**enc).logits
        finally:
            _transpose_in_memory(model)
    real = enc["attention_mask"].bool()
    assert torch.allclose(transposed[real], usual[real], atol=1e-3, rtol=1e-4)
    assert torch.equal(transposed[real].argmax(-1), usual[real].argmax(-1))
