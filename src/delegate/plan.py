"""A run's plan: the typed configuration, the dataset and the sample, before anything starts.

Everything that can fail on bad input (a setting, the tracking URI, the dataset file) fails here,
before a model is built or a run is opened, so a typo leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from delegate.config import RunConfig, parse_config
from delegate.data import Problem, draw_sample, load_problems
from delegate.errors import ConfigError
from delegate.secrets import register_config_secrets
from delegate.validation import check_tracking_uri


@dataclass(frozen=True)
class Plan:
    config: RunConfig
    dataset: list[Problem]  # the whole split: the configuration identity digests it
    problems: list[Problem]  # the sample this run solves


def make_plan(plain: Mapping[str, Any]) -> Plan:
    """Parse and check the resolved config, load the dataset and draw the sample."""
    register_config_secrets(plain)  # a key quoted in the config is masked from here on
    config = parse_config(plain)
    check_batch(config)
    check_tracking_uri(config.tracking.uri)
    dataset = load_problems(config.dataset.section)
    problems = draw_sample(dataset, config.samples, config.seed)
    if any(p.answer_type == "code" for p in problems):
        _prepare_sandbox(config)
    return Plan(config, dataset, problems)


def check_batch(config: RunConfig) -> None:
    """``<role>.batch=true`` only where a Batch API can serve the strategy's calls."""
    from delegate.strategies import STRATEGIES

    spec = STRATEGIES.get(config.strategy)
    for role in spec.roles:
        model = config.model(role)
        if not model.batch:
            continue
        if model.backend != "openai":
            raise ConfigError(
                f"{role}.batch=true needs an OpenAI-compatible API (backend: openai), not "
                f"backend {model.backend} <{role}.batch>"
            )
        if not spec.batchable:
            raise ConfigError(
                f"strategy={config.strategy} makes several calls per problem, each waiting on "
                f"the last one's answer: a Batch API cannot serve them; set {role}.batch=false "
                f"<{role}.batch>"
            )


def _prepare_sandbox(config: RunConfig) -> None:
    """The shared sandbox with the run's ``code.*`` limits; what it cannot protect on this
    machine is said once, before any program runs."""
    from delegate.execution import Limits, configure_default, protections

    limits = Limits(timeout_s=config.code.timeout_s, memory_bytes=config.code.memory_mb * 2**20)
    configure_default(limits)
    protections()  # detected once; it logs what this machine cannot protect
