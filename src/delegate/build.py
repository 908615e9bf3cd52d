"""The one place that turns the composed Hydra config into objects.

Config sections are bound to constructor signatures before anything runs, so a misspelt key fails
at once with the list of valid keys instead of being silently ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from delegate.accounting import Price
from delegate.errors import ConfigError
from delegate.models import BACKENDS, ChatModel
from delegate.models.cache import CachedChatModel, ResponseStore, model_identity
from delegate.models.traced import TracedChatModel
from delegate.prompts import PromptSet
from delegate.strategies import STRATEGIES, Strategy
from delegate.strategies.base import Role

# Keys of a model section that the framework reads itself; the rest go to the backend.
_MODEL_META_KEYS = ("backend", "price", "tool_protocol")


def bind(factory: Callable[..., Any], options: Mapping[str, Any], where: str, **given: Any) -> Any:
    """Call ``factory(**given, **options)``, rejecting option keys its signature does not take."""
    params = inspect.signature(factory).parameters
    accepted = [n for n in params if n not in given and n != "where"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)} <{where}>; "
            f"valid keys: {', '.join(accepted)}"
        )
    if "where" in params:
        given = {**given, "where": where}
    return factory(**given, **options)


class Models:
    """Builds ``llm`` and ``slm`` from their config sections on first request, once each."""

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self._cfg = cfg
        self._built: dict[str, ChatModel] = {}
        cache = cfg.get("cache") or {}
        self._store = ResponseStore(cache["dir"]) if cache.get("enabled") else None

    def llm(self) -> ChatModel:
        return self._get("llm")

    def slm(self) -> ChatModel:
        return self._get("slm")

    def _get(self, role: Role) -> ChatModel:
        if role not in self._built:
            section = dict(self._cfg[role])
            backend = BACKENDS.get(str(section.get("backend")))
            options = {k: v for k, v in section.items() if k not in _MODEL_META_KEYS}
            model: ChatModel = bind(backend, options, where=role)
            if self._store is not None:
                model = CachedChatModel(
                    model, self._store, model_identity(section), int(self._cfg.get("seed", 0))
                )
            self._built[role] = TracedChatModel(model, role)  # cache hits are traced too
        return self._built[role]

    def tool_protocol(self, role: Role) -> str:
        return str(self._cfg[role].get("tool_protocol", "native"))

    def built(self) -> dict[str, ChatModel]:
        """The models the strategy actually uses, by role."""
        return dict(self._built)

    def price(self, role: Role) -> Price:
        """The role's price; zero for a role the strategy does not use (it has no tokens)."""
        if role not in self._built:
            return Price()
        return Price.from_config(self._cfg[role].get("price"), role)


@dataclass(frozen=True)
class RunSettings:
    samples: int | str
    seed: int
    concurrency: int


def run_settings(cfg: Mapping[str, Any]) -> RunSettings:
    """Validate the top-level keys that every run reads."""
    samples = cfg.get("samples")
    if samples != "all" and (isinstance(samples, bool) or not isinstance(samples, int)):
        raise ConfigError(f"samples must be a positive integer or 'all', got {samples!r} <samples>")
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an integer, got {seed!r} <seed>")
    concurrency = cfg.get("concurrency")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be an integer >= 1, got {concurrency!r} <concurrency>")
    return RunSettings(samples=samples, seed=seed, concurrency=concurrency)


def build_strategy(cfg: Mapping[str, Any], models: Models) -> Strategy:
    """The configured strategy with its prompt set; builds only the models it uses."""
    prompts = PromptSet.from_config(cfg["prompt"])
    factory = STRATEGIES.get(cfg["strategy"].get("name"))
    strategy: Strategy = factory(models=models, prompts=prompts, cfg=cfg)
    return strategy
