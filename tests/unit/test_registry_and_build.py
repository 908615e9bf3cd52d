"""Registries and config binding: unknown names and keys fail at once, listing what is valid."""

import pytest

from delegate.accounting import Price
from delegate.build import Models, bind
from delegate.config import model_config, parse_config
from delegate.data import DATASETS
from delegate.errors import ConfigError, MissingSecretError
from delegate.models import BACKENDS
from delegate.registry import Registry
from delegate.strategies import STRATEGIES

from ..helpers import resolved


def test_registries_hold_the_documented_names() -> None:
    assert STRATEGIES.names() == ["cascade", "llm", "router", "slm"]
    assert BACKENDS.names() == ["llama_cpp", "openai", "transformers"]
    assert DATASETS.names() == [
        "gsm-hard",
        "gsm8k",
        "humaneval",
        "jsonl",
        "math500",
        "mbpp",
        "mini",
        "mixed",
        "svamp",
    ]


def test_unknown_name_lists_known_names_and_suggests() -> None:
    with pytest.raises(ConfigError) as e:
        STRATEGIES.get("ruoter")
    assert str(e.value) == (
        "unknown strategy 'ruoter' <strategy.name>; known: cascade, llm, router, slm. "
        "Did you mean 'router'?"
    )


def test_double_registration_is_a_bug() -> None:
    reg: Registry[int] = Registry("thing", "x")
    reg.register("a")(1)
    with pytest.raises(ValueError):
        reg.register("a")(2)


def test_bind_rejects_unknown_keys_with_the_valid_ones() -> None:
    def make(model: str, max_tokens: int = 1) -> tuple[str, int]:
        return model, max_tokens

    assert bind(make, {"model": "m"}, where="llm") == ("m", 1)
    with pytest.raises(ConfigError, match=r"llm\.max_token .*valid keys: model, max_tokens"):
        bind(make, {"model": "m", "max_token": 3}, where="llm")


def test_models_are_built_lazily_and_only_once() -> None:
    cfg = {
        "llm": {"backend": "openai", "model": "gpt-4o", "api_key_env": "X", "price": {}},
        "slm": {"backend": "nope"},
    }
    models = Models({role: model_config(role, section) for role, section in cfg.items()})
    assert models.built() == {}
    assert models.llm() is models.llm()
    assert list(models.built()) == ["llm"]
    assert models.price("slm") == Price()  # an unused role has no tokens and no price
    with pytest.raises(ConfigError, match="unknown model backend 'nope'"):
        models.slm()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("samples", "abc"),
        ("samples", 0.5),
        ("seed", "x"),
        ("concurrency", 0),
        ("concurrency", "many"),
    ],
)
def test_run_settings_reject_wrong_types(key: str, value: object) -> None:
    cfg = resolved(f"{key}={value}")
    with pytest.raises(ConfigError, match=f"<{key}>"):
        parse_config(cfg)


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import asyncio

    monkeypatch.delenv("DELEGATE_TEST_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    section = {"backend": "openai", "model": "m", "api_key_env": "DELEGATE_TEST_KEY"}
    models = Models({"llm": model_config("llm", section)})
    with pytest.raises(MissingSecretError, match="DELEGATE_TEST_KEY"):
        asyncio.run(models.llm().prepare())
