"""The in-process llama.cpp backend on the real offline model: a full router run, and greedy
decoding that repeats itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from delegate.runner import run

from ..helpers import finished_runs, resolved
from .conftest import SMOLLM2

pytestmark = pytest.mark.integration
pytest.importorskip("llama_cpp", reason="install with 'make setup-server'")


def test_router_runs_end_to_end_on_llama_cpp(tmp_path: Path, store: str) -> None:
    cfg = resolved(
        "experiment=offline",
        "strategy=router",
        "llm=local-llamacpp",
        "slm=smollm2-135m-llamacpp",
        "samples=2",
        "max_tokens=32",
        "progress=false",
        f"tracking.uri={store}",
        "tracking.experiment=llamacpp",
    )
    metrics = run(cfg, tmp_path / "run")
    assert metrics["n_errors"] == 0 and metrics["delegation_rate"] == 1.0
    assert metrics["llm_input_tokens"] > 0 and metrics["slm_output_tokens"] > 0
    [logged] = finished_runs(store, "llamacpp")
    assert logged.data.tags["llm"] == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_greedy_output_is_deterministic_and_stops_where_asked() -> None:
    from delegate.models.llama_cpp_chat import LlamaCppChatModel

    model = LlamaCppChatModel(SMOLLM2, max_tokens=48)
    messages = [{"role": "user", "content": "Count from 1 to 20, comma separated."}]

    async def twice() -> list:
        return [await model.complete(messages, stop=["7"]) for _ in range(2)]

    first, second = asyncio.run(twice())
    assert first.text == second.text and first.usage == second.usage
    assert "7" not in first.text and first.usage.output_tokens < 48
