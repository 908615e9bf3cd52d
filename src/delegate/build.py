"""The one place that turns the composed Hydra config into objects.

Config sections are bound to constructor signatures before anything runs, so a misspelt key fails
at once with the list of valid keys instead of being silently ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from delegate import identity
from delegate.accounting import Price
from delegate.errors import ConfigError
from delegate.models import BACKENDS, ChatModel
from delegate.models.budget import Budget, BudgetedChatModel
from delegate.models.cache import CachedChatModel, ResponseStore
from delegate.models.text_tools import TextToolModel, check_can_force_tool_call
from delegate.models.traced import TracedChatModel
from delegate.prompts import PromptSet
from delegate.strategies import STRATEGIES, Strategy
from delegate.strategies.base import Role, StrategySpec

# Keys of a model section that the framework reads itself; the rest go to the backend.
_MODEL_META_KEYS = ("backend", "price", "tool_protocol")


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
    """Builds ``llm`` and ``slm`` from their config sections on first request, once each."""

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self._cfg = cfg
        self.seed = int(cfg.get("seed", 0))
        self._built: dict[str, ChatModel] = {}
        cache = cfg.get("cache") or {}
        self._store = ResponseStore(cache["dir"]) if cache.get("enabled") else None
        self.budget = Budget.from_config(cfg.get("budget_usd"))  # shared by both roles

    def llm(self) -> ChatModel:
        return self._get("llm")

    def slm(self) -> ChatModel:
        return self._get("slm")

    def _backend(self, role: Role) -> ChatModel:
        section = dict(self._cfg[role])
        backend = BACKENDS.get(str(section.get("backend")))
        options = {k: v for k, v in section.items() if k not in _MODEL_META_KEYS}
        model: ChatModel = bind(backend, options, where=role)
        return model

    def _get(self, role: Role) -> ChatModel:
        if role not in self._built:
            model = self._backend(role)
            # Inside the cache: a replayed completion costs nothing and holds nothing.
            price = Price.from_config(self._cfg[role].get("price"), role)
            model = BudgetedChatModel(model, self.budget, price, where=role)
            if self._store is not None:
                model = CachedChatModel(model, self._store, self.seed)
            if self.tool_protocol(role) == "text":  # outside the cache: it keys on the text
                model = TextToolModel(model, where=role)
            self._built[role] = TracedChatModel(model, role)  # cache hits are traced too
        return self._built[role]

    def tool_protocol(self, role: Role) -> str:
        protocol = str(self._cfg[role].get("tool_protocol", "native"))
        if protocol not in ("native", "text"):
            raise ConfigError(
                f"{role}.tool_protocol must be native or text, got {protocol!r} "
                f"<{role}.tool_protocol>"
            )
        return protocol

    def check_can_force_tool_call(self, role: Role) -> None:
        check_can_force_tool_call(self._get(role), role, self.tool_protocol(role))

    def built(self) -> dict[str, ChatModel]:
        """The models the strategy actually uses, by role: the large model first, whichever the
        strategy built first (so they are prepared, and fail, in a fixed order)."""
        return {role: self._built[role] for role in ("llm", "slm") if role in self._built}

    def price(self, role: Role) -> Price:
        """The role's price; zero for a role the strategy does not use (it has no tokens)."""
        if role not in self._built:
            return Price()
        return Price.from_config(self._cfg[role].get("price"), role)

    def identity(self, role: Role, offered_tools: bool) -> dict[str, Any]:
        """The role's part of a run's identity: what its backend resolves, its price and, when
        it is offered tools, its tool protocol. A role the strategy does not use is described
        without being built into the run."""
        model = self._built.get(role) or self._backend(role)
        price = Price.from_config(self._cfg[role].get("price"), role)
        identity = {**model.identity(), "price": asdict(price)}
        if offered_tools:
            identity["tool_protocol"] = self.tool_protocol(role)
        return identity


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


def strategy_spec(cfg: Mapping[str, Any]) -> StrategySpec:
    return STRATEGIES.get(cfg["strategy"].get("name"))


def strategy_settings(cfg: Mapping[str, Any]) -> Any:
    """The strategy's typed settings, bound from its config section; None if it has none."""
    spec = strategy_spec(cfg)
    if spec.settings is None:
        return None
    name = str(cfg["strategy"]["name"])
    return bind(spec.settings, dict(cfg.get(name) or {}), where=name)


def run_identity(
    cfg: Mapping[str, Any], models: Models, problems: Sequence[Any], strategy: str | None = None
) -> dict[str, Any]:
    """The identity (``delegate.identity``) of this config's run, or of the same run with
    another ``strategy`` (the LLM-only reference); ``problems`` is the whole split."""
    name = strategy or str(cfg["strategy"]["name"])
    spec = STRATEGIES.get(name)
    settings = None
    if spec.settings is not None:
        settings = asdict(bind(spec.settings, dict(cfg.get(name) or {}), where=name))
    return identity.run_identity(
        name,
        settings,
        {role: models.identity(role, role in spec.tool_roles) for role in spec.roles},
        {f: str(cfg["prompt"][f]) for f in spec.prompt_fields},
        identity.dataset_identity(cfg["dataset"], problems, cfg.get("samples")),
    )


def build_strategy(cfg: Mapping[str, Any], models: Models) -> Strategy:
    """The configured strategy with its prompt set; builds only the models it uses."""
    prompts = PromptSet.from_config(cfg["prompt"])
    strategy: Strategy = strategy_spec(cfg).build(models, prompts, strategy_settings(cfg))
    return strategy
