"""The one place that turns the typed run configuration (``delegate.config``) into objects.

Config sections are bound to constructor signatures before anything runs, so a misspelt key fails
at once with the list of valid keys instead of being silently ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from delegate import identity
from delegate.accounting import Price
from delegate.config import CacheConfig, ModelConfig, RunConfig
from delegate.config.fields import read
from delegate.errors import ConfigError
from delegate.models import BACKENDS, ChatModel
from delegate.models.budget import Budget, BudgetedChatModel
from delegate.models.cache import CachedChatModel, ResponseStore
from delegate.models.in_flight import CountedChatModel
from delegate.models.scrubbed import ScrubbedChatModel
from delegate.models.text_tools import TextToolModel, check_can_force_tool_call
from delegate.models.traced import TracedChatModel
from delegate.strategies import STRATEGIES, Strategy
from delegate.strategies.base import Role


def bind(factory: Callable[..., Any], options: Mapping[str, Any], where: str, **given: Any) -> Any:
    """Call ``factory(**given, **options)``, rejecting option keys its signature does not take
    and naming the ones it needs that are missing."""
    params = inspect.signature(factory).parameters
    accepted = [n for n in params if n not in given and n != "where"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)} <{where}>; "
            f"valid keys: {', '.join(accepted)}"
        )
    empty = inspect.Parameter.empty
    missing = [n for n in accepted if n not in options and params[n].default is empty]
    if missing:
        raise ConfigError(f"missing key(s) {', '.join(f'{where}.{k}' for k in missing)} <{where}>")
    if "where" in params:
        given = {**given, "where": where}
    return factory(**given, **options)


class Models:
    """Builds ``llm`` and ``slm`` from their typed sections on first request, once each."""

    def __init__(
        self,
        models: Mapping[Role, ModelConfig],
        seed: int = 0,
        cache: CacheConfig | None = None,
        budget_usd: float | None = None,
    ) -> None:
        self._models = models
        self.seed = seed
        self._built: dict[str, ChatModel] = {}
        self._store = ResponseStore(cache.dir) if cache is not None and cache.enabled else None
        self.budget = Budget.from_config(budget_usd)  # shared by both roles

    @classmethod
    def for_run(cls, config: RunConfig) -> Models:
        return cls(config.models, config.seed, config.cache, config.budget_usd)

    def llm(self) -> ChatModel:
        return self._get("llm")

    def slm(self) -> ChatModel:
        return self._get("slm")

    def config(self, role: Role) -> ModelConfig:
        return self._models[role]

    def _backend(self, role: Role) -> ChatModel:
        section = self._models[role]
        backend = BACKENDS.get(section.backend)
        model: ChatModel = bind(backend, section.options, where=role)
        return model

    def _get(self, role: Role) -> ChatModel:
        if role not in self._built:
            model: ChatModel = ScrubbedChatModel(self._backend(role))  # no key past here
            # Inside the cache: a replayed completion costs nothing and holds nothing.
            model = BudgetedChatModel(model, self.budget, self.price(role), where=role)
            if self._store is not None:
                model = CachedChatModel(model, self._store, self.seed)
            if self.tool_protocol(role) == "text":  # outside the cache: it keys on the text
                model = TextToolModel(model, where=role)
            model = TracedChatModel(model, role)  # cache hits are traced too
            self._built[role] = CountedChatModel(model)  # a batch waits for calls under way
        return self._built[role]

    def tool_protocol(self, role: Role) -> str:
        return self._models[role].tool_protocol

    def check_can_force_tool_call(self, role: Role) -> None:
        check_can_force_tool_call(self._get(role), role, self.tool_protocol(role))

    def built(self) -> dict[str, ChatModel]:
        """The models the strategy actually uses, by role: the large model first, whichever the
        strategy built first (so they are prepared, and fail, in a fixed order)."""
        return {role: self._built[role] for role in ("llm", "slm") if role in self._built}

    def price(self, role: Role) -> Price:
        """The role's configured price (a role the strategy never calls has no tokens to price)."""
        return self._models[role].price

    def identity(self, role: Role, offered_tools: bool) -> dict[str, Any]:
        """The role's part of a run's identity: what its backend resolves, its price and, when
        it is offered tools, its tool protocol. A role the strategy does not use is described
        without being built into the run."""
        model = self._built.get(role) or self._backend(role)
        identity = {**model.identity(), "price": asdict(self.price(role))}
        if offered_tools:
            identity["tool_protocol"] = self.tool_protocol(role)
        return identity


def strategy_settings(config: RunConfig, name: str | None = None) -> Any:
    """A strategy's typed settings (the configured one by default), bound from its config
    section; None if it has none."""
    name = name or config.strategy
    spec = STRATEGIES.get(name)
    if spec.settings is None:
        return None
    return read(spec.settings, config.section(name), name)


def run_identity(
    config: RunConfig, models: Models, problems: Sequence[Any], strategy: str | None = None
) -> dict[str, Any]:
    """The identity (``delegate.identity``) of this config's run, or of the same run with
    another ``strategy`` (the LLM-only reference); ``problems`` is the whole split."""
    name = strategy or config.strategy
    spec = STRATEGIES.get(name)
    settings = strategy_settings(config, name)
    return identity.run_identity(
        name,
        asdict(settings) if settings is not None else None,
        {role: models.identity(role, role in spec.tool_roles) for role in spec.roles},
        _prompt_identity(config, spec.prompt_fields),
        identity.dataset_identity(config.dataset.section, problems, config.samples),
    )


def _prompt_identity(config: RunConfig, fields: Sequence[str]) -> dict[str, Any]:
    """The texts the strategy sends, and the answer markers its answers are read with when the
    prompt set names its own (so a run without them keeps the identity it always had)."""
    prompts: dict[str, Any] = {f: getattr(config.prompts, f) for f in fields}
    if config.prompts.answer_markers is not None:
        prompts["answer_markers"] = list(config.prompts.answer_markers)
    return prompts


def build_strategy(config: RunConfig, models: Models) -> Strategy:
    """The configured strategy with its prompt set; builds only the models it uses."""
    spec = STRATEGIES.get(config.strategy)
    strategy: Strategy = spec.build(models, config.prompts, strategy_settings(config))
    return strategy
