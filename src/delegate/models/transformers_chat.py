"""Local models through transformers: a hub id, a local directory, or a GGUF file.

Weights are loaded once per process and shared by every ``TransformersChatModel`` that names the
same files (the offline default uses one SmolLM2 file as both the large and the small model).
Generation runs in a worker thread so the event loop keeps serving other problems.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from delegate.accounting import Usage
from delegate.errors import ConfigError
from delegate.models import tool_format
from delegate.models.base import Completion, Message
from delegate.models.files import PKG_SCHEME, resolve_model_path
from delegate.models.registry import BACKENDS

_LOADED: dict[tuple[str, str | None, str, str], tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()


def _load(model: str, gguf_file: str | None, device: str, dtype: str) -> tuple[Any, Any]:
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
            _LOADED[key] = (tokenizer, weights)
        return _LOADED[key]


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
        name: str | None = None,
        where: str = "model",
    ) -> None:
        path = resolve_model_path(model, where)
        if gguf_file is None and path.endswith(".gguf"):
            path, gguf_file = str(Path(path).parent), Path(path).name
        # pkg:// locations name a file inside a wheel: its file name is the readable part.
        self.name = name or (model.rsplit("/", 1)[-1] if model.startswith(PKG_SCHEME) else model)
        self._path, self._gguf_file = path, gguf_file
        self._device, self._dtype = device, dtype
        self.max_tokens, self.temperature = int(max_tokens), float(temperature)
        self._generate_lock = threading.Lock()

    async def prepare(self) -> None:
        await asyncio.to_thread(self._weights)

    def _weights(self) -> tuple[Any, Any]:
        return _load(self._path, self._gguf_file, self._device, self._dtype)

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
        text, usage = await asyncio.to_thread(
            self._generate,
            messages,
            tools if tool_choice != "none" else None,
            stop,
            assistant_prefix,
        )
        latency = time.perf_counter() - start
        calls: tuple[Any, ...] = ()
        if tools and tool_choice != "none":
            text, calls = tool_format.parse_tool_calls(text)
        return Completion(text=text, usage=usage, latency_s=latency, tool_calls=calls)

    def _generate(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None,
        stop: list[str] | None,
        assistant_prefix: str | None,
    ) -> tuple[str, Usage]:
        import torch

        tokenizer, model = self._weights()
        prompt = tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=True, tokenize=False
        )
        prompt += assistant_prefix or ""
        enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        settings: dict[str, Any] = {
            "max_new_tokens": self.max_tokens,
            "pad_token_id": tokenizer.pad_token_id,
        }
        if self.temperature > 0:
            settings.update(do_sample=True, temperature=self.temperature)
        else:  # repos ship sampling defaults in generation_config: greedy must be explicit
            settings.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            settings.update(stop_strings=stop, tokenizer=tokenizer)
        with self._generate_lock, torch.inference_mode():
            out = model.generate(**enc, **settings)
        new_tokens = out[0, enc["input_ids"].shape[1] :]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        for s in stop or ():
            text = text.split(s, 1)[0]
        usage = Usage(
            input_tokens=int(enc["input_ids"].shape[1]), output_tokens=len(new_tokens), calls=1
        )
        return (assistant_prefix or "") + text, usage
