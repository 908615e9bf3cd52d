"""The typed run configuration: the composed Hydra config, parsed and checked once.

``parse_config(plain)`` turns the resolved config (``python -m delegate ...`` or ``compose()``)
into a ``RunConfig``; everything below the entry point reads that object, never the raw dict.
Unknown keys, types, closed choices and ranges are checked here, from the dataclasses themselves
(``config.fields``); each component that owns a free-form section checks it where it is bound:
a backend its model options (``build.bind``), a dataset loader its dataset section, a strategy
its settings, a prompt set its texts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from delegate.accounting import Price
from delegate.config.fields import bounds, read
from delegate.errors import ConfigError
from delegate.prompts import PromptSet
from delegate.secrets import VARIABLE_NAME_RE

Role = Literal["llm", "slm"]
ROLES: tuple[Role, ...] = ("llm", "slm")


@dataclass(frozen=True)
class StrategyChoice:
    name: str


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool = True
    dir: str = ".cache/responses"


@dataclass(frozen=True)
class TrackingConfig:
    uri: str
    experiment: str = "delegate"
    traces: bool = True


@dataclass(frozen=True)
class CodeConfig:
    """How model-written programs are run (``delegate.execution``): per program."""

    timeout_s: float = field(default=10.0, metadata=bounds(0.0, 600.0, open_low=True))
    memory_mb: int = field(default=4096, metadata=bounds(64))


@dataclass(frozen=True)
class GenerationLimits:
    """Settings every backend shares, checked wherever a model section sets them (the rest of a
    model section belongs to its backend, which checks it by signature)."""

    max_tokens: int | None = field(default=None, metadata=bounds(1))
    temperature: float | None = field(default=None, metadata=bounds(0.0, 2.0))
    timeout_s: float | None = field(default=None, metadata=bounds(0.0, open_low=True))
    max_retries: int | None = field(default=None, metadata=bounds(0, 100))
    requests_per_minute: float | None = field(default=None, metadata=bounds(0.0, open_low=True))
    tokens_per_minute: float | None = field(default=None, metadata=bounds(0.0, open_low=True))
    batch_size: int | None = field(default=None, metadata=bounds(1))
    batch_window_ms: float | None = field(default=None, metadata=bounds(0.0))
    n_ctx: int | None = field(default=None, metadata=bounds(1))


_SHARED = tuple(GenerationLimits.__dataclass_fields__)
_MODEL_META = ("backend", "price", "tool_protocol")


@dataclass(frozen=True)
class ModelConfig:
    """One role's model: its backend's name, the options bound to that backend's constructor,
    its price and the tool protocol it speaks when offered tools."""

    role: Role
    backend: str
    options: Mapping[str, Any]
    price: Price = field(default_factory=Price)
    tool_protocol: Literal["native", "text"] = "native"

    @property
    def max_tokens(self) -> Any:
        return self.options.get("max_tokens")

    @property
    def batch(self) -> bool:
        """Whether this role's calls go through a Batch API (``<role>.batch``)."""
        return self.options.get("batch") is True


@dataclass(frozen=True)
class DatasetConfig:
    """The dataset section; its loader (``dataset.loader``) checks the rest by signature."""

    name: str
    split: str
    section: Mapping[str, Any]

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.split}"


@dataclass(frozen=True)
class _TopLevel:
    """The keys of ``conf/config.yaml``: anything else was added by mistake (``+max_cost_usd=1``)
    and would be silently ignored."""

    strategy: StrategyChoice
    llm: dict
    slm: dict
    dataset: dict
    prompt: dict
    tracking: TrackingConfig
    samples: int | Literal["all"] = field(default=20, metadata=bounds(1))
    seed: int = 123
    concurrency: int = field(default=16, metadata=bounds(1))
    progress: bool = True
    resume: bool = True
    temperature: float = field(default=0.0, metadata=bounds(0.0, 2.0))
    max_tokens: int = field(default=1024, metadata=bounds(1))
    router: dict = field(default_factory=dict)
    cascade: dict = field(default_factory=dict)
    learned_router: dict = field(default_factory=dict)
    cache: CacheConfig = field(default_factory=CacheConfig)
    code: CodeConfig = field(default_factory=CodeConfig)
    budget_usd: float | None = field(default=None, metadata=bounds(0.0, open_low=True))
    dry_run: bool = False
    retry_errors: bool = False


TOP_LEVEL_KEYS = tuple(_TopLevel.__dataclass_fields__)
SECTION_KEYS = {
    "cache": tuple(CacheConfig.__dataclass_fields__),
    "tracking": tuple(TrackingConfig.__dataclass_fields__),
    "code": tuple(CodeConfig.__dataclass_fields__),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run reads, typed. ``plain`` is the resolved config itself, kept only for what
    records it (params, ``config.yaml``); nothing reads settings from it."""

    strategy: str
    models: Mapping[Role, ModelConfig]
    dataset: DatasetConfig
    prompts: PromptSet
    tracking: TrackingConfig
    cache: CacheConfig
    code: CodeConfig
    samples: int | Literal["all"]
    seed: int
    concurrency: int
    progress: bool
    resume: bool
    budget_usd: float | None
    dry_run: bool
    retry_errors: bool
    sections: Mapping[str, Mapping[str, Any]]  # strategy settings by strategy name
    plain: Mapping[str, Any]

    def model(self, role: Role) -> ModelConfig:
        return self.models[role]

    def section(self, name: str) -> Mapping[str, Any]:
        """A strategy's own settings section (``router:``, ``cascade:``); empty if none."""
        return self.sections.get(name, {})


def parse_config(plain: Mapping[str, Any]) -> RunConfig:
    """The typed form of a resolved config; one ``ConfigError`` naming the key otherwise."""
    top = read(_TopLevel, plain, "")
    if top.budget_usd is not None and not math.isfinite(top.budget_usd):
        raise ConfigError(f"budget_usd must be positive, got {top.budget_usd!r} <budget_usd>")
    if top.retry_errors and not top.resume:
        raise ConfigError(
            "retry_errors=true reopens the finished run to solve its errored problems; "
            "it cannot be combined with resume=false <retry_errors>"
        )
    dataset = dict(top.dataset)
    return RunConfig(
        strategy=top.strategy.name,
        models={role: model_config(role, getattr(top, role)) for role in ROLES},
        dataset=DatasetConfig(
            str(dataset.get("name") or ""), str(dataset.get("split", "test")), dataset
        ),
        prompts=PromptSet.from_config(top.prompt),
        tracking=top.tracking,
        cache=top.cache,
        code=top.code,
        samples=top.samples,
        seed=top.seed,
        concurrency=top.concurrency,
        progress=top.progress,
        resume=top.resume,
        budget_usd=top.budget_usd,
        dry_run=top.dry_run,
        retry_errors=top.retry_errors,
        sections={
            "router": top.router,
            "cascade": top.cascade,
            "learned_router": top.learned_router,
        },
        plain=plain,
    )


def model_config(role: Role, section: Mapping[str, Any]) -> ModelConfig:
    """A model section: its shared generation settings range-checked, the rest for its backend."""
    values = dict(section or {})
    read(GenerationLimits, {k: v for k, v in values.items() if k in _SHARED}, role)
    key_env = values.get("api_key_env")
    if key_env is not None and not (
        isinstance(key_env, str) and VARIABLE_NAME_RE.fullmatch(key_env)
    ):
        # It may be the key itself, pasted in: never repeat it.
        raise ConfigError(
            f"{role}.api_key_env must name an environment variable (letters, digits and _), "
            f"not hold the key itself; the value given is not shown <{role}.api_key_env>"
        )
    protocol = values.get("tool_protocol", "native")
    if protocol not in ("native", "text"):
        raise ConfigError(
            f"{role}.tool_protocol must be native or text, got {protocol!r} <{role}.tool_protocol>"
        )
    batch = values.get("batch", False) is True  # anything else is refused by the backend
    return ModelConfig(
        role=role,
        backend=str(values.get("backend")),
        options={k: v for k, v in values.items() if k not in _MODEL_META},
        # A batched role's calls cost the discounted price: in the records, budget and dry run.
        price=Price.from_config(values.get("price"), role, batch=batch),
        tool_protocol=protocol,
    )
