"""Batched generation for the transformers backend.

Greedy requests (``temperature == 0``) use a plain decode loop that drops each row from the batch
as soon as it ends (an end token or a stop string), so a batch costs its rows' own lengths rather
than the longest row's length times the batch size; outputs equal ``generate``'s greedy ones.
Its key/value cache grows in place (``kv_cache``) rather than by concatenation.
Sampled requests go through ``generate``. A sampled request with a seed is generated alone, after
seeding torch's generator with it under a process-wide lock: its tokens then depend on its prompt
and seed only, not on what else was batched or sampled before it (the batcher groups requests by
seed, so such a "batch" holds requests of one seed, generated one after another).

Token counts follow one rule for both paths: an end token the model wrote is an output token, and
a row stopped by a stop string ends with the token that completed it. A row that reached
``max_new_tokens`` without ending is reported with finish reason ``length``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    prompt: str
    max_new_tokens: int
    temperature: float
    stop: tuple[str, ...]
    seed: int | None = None  # sampled requests only: seeds torch's generator for this request


Generated = tuple[str, int, int, str]  # text, input tokens, output tokens, finish reason

_SEEDED = threading.Lock()  # held from seeding torch's global generator to the end of the draw


def generate_batch(
    tokenizer: Any, model: Any, end_ids: frozenset[int], requests: list[Request]
) -> list[Generated]:
    """Generate for requests with identical settings; (text, input tokens, output tokens,
    finish reason) each."""
    import torch

    first = requests[0]
    if first.temperature > 0 and first.seed is not None and len(requests) > 1:
        return [r for one in requests for r in generate_batch(tokenizer, model, end_ids, [one])]
    enc = tokenizer(
        [r.prompt for r in requests], return_tensors="pt", padding=True, add_special_tokens=False
    ).to(model.device)
    with torch.inference_mode():
        if first.temperature > 0 and first.seed is not None:
            with _SEEDED:  # the global generator is shared: no other draw between seed and use
                torch.manual_seed(first.seed)
                rows = _sample(tokenizer, model, end_ids, enc, first)
        elif first.temperature > 0:
            rows = _sample(tokenizer, model, end_ids, enc, first)
        else:
            rows = _greedy(tokenizer, model, end_ids, enc, first)
    results = []
    for row, tokens in enumerate(rows):
        text = tokenizer.decode(tokens, skip_special_tokens=True)
        stopped = bool(tokens) and tokens[-1] in end_ids
        for s in first.stop:
            stopped = stopped or s in text
            text = text.split(s, 1)[0]
        reason = "stop" if stopped or len(tokens) < first.max_new_tokens else "length"
        results.append((text, int(enc["attention_mask"][row].sum()), len(tokens), reason))
    return results


def _greedy(
    tokenizer: Any, model: Any, end_ids: frozenset[int], enc: Any, req: Request
) -> list[list[int]]:
    import torch

    from delegate.models.kv_cache import growing_cache

    mask = enc["attention_mask"]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: real tokens count from 0
    cache = growing_cache(model)  # updated in place by every forward pass
    cache_arg = {_cache_keyword(model): cache}
    out = model(  # logits of the last position only: the prompt's other logits are never read
        input_ids=enc["input_ids"],
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        logits_to_keep=1,
        **cache_arg,
    )
    logits = out.logits[:, -1]
    alive = list(range(mask.shape[0]))
    tokens: list[list[int]] = [[] for _ in alive]
    tail = max((len(s) for s in req.stop), default=0) + 1  # a stop string spans <= len tokens
    for step in range(req.max_new_tokens):
        chosen = logits.argmax(-1)
        keep = []
        for j, (row, token) in enumerate(zip(alive, chosen.tolist(), strict=True)):
            tokens[row].append(token)
            ended = token in end_ids or (
                req.stop and any(s in tokenizer.decode(tokens[row][-tail:]) for s in req.stop)
            )
            if not ended:
                keep.append(j)
        if not keep or step == req.max_new_tokens - 1:
            break
        if len(keep) < len(alive):  # finished rows leave the batch
            index = torch.tensor(keep, device=mask.device)
            cache.batch_select_indices(index)
            mask, chosen = mask[index], chosen[index]
            alive = [alive[j] for j in keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
        positions = mask.sum(-1, keepdim=True) - 1
        out = model(
            input_ids=chosen[:, None],
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **cache_arg,
        )
        logits = out.logits[:, -1]
    return tokens


def _cache_keyword(model: Any) -> str:
    """``cache`` from transformers 5.24, ``past_key_values`` before (and deprecated after)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _sample(
    tokenizer: Any, model: Any, end_ids: frozenset[int], enc: Any, req: Request
) -> list[list[int]]:
    settings: dict[str, Any] = {
        "max_new_tokens": req.max_new_tokens,
        "pad_token_id": tokenizer.pad_token_id,
        "do_sample": True,
        "temperature": req.temperature,
    }
    if req.stop:
        settings.update(stop_strings=list(req.stop), tokenizer=tokenizer)
    out = model.generate(**enc, **settings)
    width = enc["input_ids"].shape[1]
    rows = []
    for row in range(out.shape[0]):
        generated = out[row, width:].tolist()
        # Finished rows are padded; keep up to and including the first end token.
        cut = next((i + 1 for i, t in enumerate(generated) if t in end_ids), len(generated))
        rows.append(generated[:cut])
    return rows
