"""A run's params are the keys its strategy reads, and its name keeps the seed in view."""

from __future__ import annotations

import pytest

from delegate.session import run_params

from ..helpers import resolved


@pytest.mark.parametrize(
    ("strategy", "roles", "kept", "dropped"),
    [
        ("slm", {"slm"}, ["slm.model", "prompt.name", "seed"], ["llm.model", "router.tools"]),
        ("llm", {"llm"}, ["llm.model", "strategy.name"], ["slm.model", "cascade.samples"]),
        ("router", {"llm", "slm"}, ["router.max_tool_calls", "slm.model"], ["cascade.threshold"]),
        ("cascade", {"llm", "slm"}, ["cascade.threshold", "llm.model"], ["router.tools"]),
    ],
)
def test_params_hold_only_what_the_strategy_reads(
    strategy: str, roles: set[str], kept: list[str], dropped: list[str]
) -> None:
    params = run_params(resolved(f"strategy={strategy}"), strategy, roles)
    assert all(k in params for k in kept)
    assert not any(k in params for k in dropped)
    # Prompt texts are in identity.json; of the prompt set only its name is a param.
    assert [k for k in params if k.startswith("prompt.")] == ["prompt.name"]
    assert params["strategy.name"] == strategy
