"""Local models through transformers: a hub id, a local directory, or a GGUF file.

Weights are loaded once per process and shared by every ``TransformersChatModel`` that names the
same files (the offline default can use one SmolLM2 file as both the large and the small model).
Concurrent requests are gathered into left-padded batches (``batch_size``, ``batch_window_ms``)
and generated greedily, with the same outputs as one at a time; generation runs in a worker thread
so the event loop keeps serving other problems.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from delegate.accounting import Usage
from delegate.errors import ConfigError
from delegate.models import tool_format
from delegate.models.base import Completion, Message
from delegate.models.batching import Batcher
from delegate.models.files import PKG_SCHEME, resolve_model_path
from delegate.models.registry import BACKENDS


@dataclass
class _Weights:
    tokenizer: Any
    model: Any
    end_ids: frozenset[int]
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Request:
    prompt: str
    max_new_tokens: int
    temperature: float
    stop: tuple[str, ...]


_LOADED: dict[tuple[str, str | None, str, str], _Weights] = {}
_LOAD_LOCK = threading.Lock()


def _load(model: str, gguf_file: str | None, device: str, dtype: str) -> _Weights:
    """Tokenizer and model for these files, loaded at most once per process."""
    key = (model, gguf_file, device, dtype)
    with _LOAD_LOCK:
        if key not in _LOADED:
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as e:
                raise ConfigError(
                    f"the transformers backend needs {e.name}: pip install 'delegate[local]'"
                ) from None
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            if dtype == "auto":
                torch_dtype = torch.bfloat16 if device == "cuda" else torch.float32
            else:
                torch_dtype = getattr(torch, dtype)
            extra = {"gguf_file": gguf_file} if gguf_file else {}
            tokenizer = AutoTokenizer.from_pretrained(model, **extra)
            weights = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype, **extra)
            weights.to(device).eval()  # type: ignore[arg-type]
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            tokenizer.padding_side = "left"  # batched generation continues every row at the end
            eos = weights.generation_config.eos_token_id
            ends = {tokenizer.eos_token_id, tokenizer.pad_token_id}
            ends |= set(eos) if isinstance(eos, list) else {eos}
            _LOADED[key] = _Weights(tokenizer, weights, frozenset(i for i in ends if i is not None))
        return _LOADED[key]


def generate_batch(weights: _Weights, requests: list[_Request]) -> list[tuple[str, int, int]]:
    """Generate for requests with identical settings; (text, input tokens, output tokens) each."""
    import torch

    tokenizer, model = weights.tokenizer, weights.model
    first = requests[0]
    enc = tokenizer(
        [r.prompt for r in requests], return_tensors="pt", padding=True, add_special_tokens=False
    ).to(model.device)
    settings: dict[str, Any] = {
        "max_new_tokens": first.max_new_tokens,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if first.temperature > 0:
        settings.update(do_sample=True, temperature=first.temperature)
    else:  # repos ship sampling defaults in generation_config: greedy must be explicit
        settings.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if first.stop:
        settings.update(stop_strings=list(first.stop), tokenizer=tokenizer)
    with weights.lock, torch.inference_mode():
        out = model.generate(**enc, **settings)
    width = enc["input_ids"].shape[1]
    results = []
    for row in range(len(requests)):
        generated = out[row, width:].tolist()
        # Finished rows are padded; the first end token closes this row's answer.
        cut = next((i for i, t in enumerate(generated) if t in weights.end_ids), len(generated))
        text = tokenizer.decode(generated[:cut], skip_special_tokens=True)
        stopped = [s for s in first.stop if s in text]
        # An end token the model wrote is an output token; padding after a stop string is not.
        n_out = cut + 1 if cut < len(generated) and not stopped else cut
        for s in stopped:
            text = text.split(s, 1)[0]
        results.append((text, int(enc["attention_mask"][row].sum()), n_out))
    return results


@BACKENDS.register("transformers")
class TransformersChatModel:
    """A chat model run in-process with transformers; greedy unless ``temperature > 0``."""

    def __init__(
        self,
        model: str,
        gguf_file: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        batch_window_ms: float = 10.0,
        name: str | None = None,
        where: str = "model",
    ) -> None:
        path = resolve_model_path(model, where)
        if gguf_file is None and path.endswith(".gguf"):
            path, gguf_file = str(Path(path).parent), Path(path).name
        if int(batch_size) < 1:
            raise ConfigError(f"batch_size must be at least 1 <{where}.batch_size>")
        # pkg:// locations name a file inside a wheel: its file name is the readable part.
        self.name = name or (model.rsplit("/", 1)[-1] if model.startswith(PKG_SCHEME) else model)
        self._path, self._gguf_file = path, gguf_file
        self._device, self._dtype = device, dtype
        self.max_tokens, self.temperature = int(max_tokens), float(temperature)
        self.batch_size, self.batch_window_s = int(batch_size), float(batch_window_ms) / 1000
        self._batcher: Batcher[_Request, tuple[str, int, int]] | None = None
        self._batcher_loop: asyncio.AbstractEventLoop | None = None

    async def prepare(self) -> None:
        await asyncio.to_thread(self._weights)

    def _weights(self) -> _Weights:
        return _load(self._path, self._gguf_file, self._device, self._dtype)

    def batcher(self) -> Batcher[_Request, tuple[str, int, int]]:
        """This event loop's batcher (each ``asyncio.run`` has its own loop)."""
        loop = asyncio.get_running_loop()
        if self._batcher is None or self._batcher_loop is not loop:
            weights = self._weights()
            self._batcher = Batcher(
                lambda batch: generate_batch(weights, batch), self.batch_size, self.batch_window_s
            )
            self._batcher_loop = loop
        return self._batcher

    def batcher_sizes(self) -> list[int]:
        """Sizes of the batches run in the current (or last) event loop."""
        return list(self._batcher.batch_sizes) if self._batcher else []

    async def complete(
        self,
        messages: list[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        stop: list[str] | None = None,
        assistant_prefix: str | None = None,
    ) -> Completion:
        if tools and tool_choice not in (None, "auto", "none"):
            raise ConfigError(
                "local models cannot force a tool call natively; use tool_protocol=text "
                "<llm.tool_protocol>"
            )
        start = time.perf_counter()
        use_tools = tools if tool_choice != "none" else None
        tokenizer = (await asyncio.to_thread(self._weights)).tokenizer
        prompt = tokenizer.apply_chat_template(
            messages, tools=use_tools, add_generation_prompt=True, tokenize=False
        )
        request = _Request(
            prompt + (assistant_prefix or ""), self.max_tokens, self.temperature, tuple(stop or ())
        )
        group = (request.max_new_tokens, request.temperature, request.stop)
        text, n_in, n_out = await self.batcher().submit(group, request)
        text = (assistant_prefix or "") + text
        calls: tuple[Any, ...] = ()
        if use_tools:
            text, calls = tool_format.parse_tool_calls(text)
        return Completion(
            text=text,
            usage=Usage(input_tokens=n_in, output_tokens=n_out, calls=1),
            latency_s=time.perf_counter() - start,
            tool_calls=calls,
        )
