"""The run configuration: composed by Hydra (``compose``), parsed once into types (``schema``).

``parse_config(compose("strategy=llm"))`` is the ``RunConfig`` that ``python -m delegate
strategy=llm`` runs; nothing below the entry point reads the raw dict.
"""

from delegate.config.compose import compose, register_resolvers
from delegate.config.schema import (
    ROLES,
    SECTION_KEYS,
    TOP_LEVEL_KEYS,
    CacheConfig,
    DatasetConfig,
    ModelConfig,
    Role,
    RunConfig,
    TrackingConfig,
    model_config,
    parse_config,
)

__all__ = [
    "ROLES",
    "SECTION_KEYS",
    "TOP_LEVEL_KEYS",
    "CacheConfig",
    "DatasetConfig",
    "ModelConfig",
    "Role",
    "RunConfig",
    "TrackingConfig",
    "compose",
    "model_config",
    "parse_config",
    "register_resolvers",
]
