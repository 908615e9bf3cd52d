"""Name -> implementation registries.

The registry decides *which class* a config names (``strategy.name``, ``llm.backend``,
``dataset.loader``); Hydra decides *which values* it gets. Names are stable and appear in MLflow
params, so refactors do not break old runs' configs.

An entry is either registered as an object (``register``) or declared as a ``"module:attribute"``
target (``lazy``), imported the first time ``get`` asks for it: the registry then never imports
what it lists, and what it lists never imports the registry, so neither can form an import cycle
and an unused backend's module is never loaded.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from delegate.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories, with a helpful error for unknown names."""

    def __init__(self, kind: str, config_key: str, lazy: Mapping[str, str] | None = None) -> None:
        """``lazy`` maps names to ``"module:attribute"`` targets imported on first ``get``."""
        self.kind = kind
        self.config_key = config_key
        self._entries: dict[str, T] = {}
        self._targets: dict[str, str] = {}
        for name, target in (lazy or {}).items():
            self.lazy(name, target)

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``."""

        def add(obj: T) -> T:
            self._check_new(name)
            self._entries[name] = obj
            return obj

        return add

    def lazy(self, name: str, target: str) -> None:
        """Register ``name`` as ``"module:attribute"``, imported when first asked for."""
        if ":" not in target:
            raise ValueError(f"{self.kind} {name!r}: target {target!r} is not 'module:attribute'")
        self._check_new(name)
        self._targets[name] = target

    def _check_new(self, name: str) -> None:
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is registered twice")

    def get(self, name: str) -> T:
        """Return the entry for ``name`` or raise ConfigError listing the known names."""
        if name in self._entries:
            return self._entries[name]
        target = self._targets.get(name) if isinstance(name, str) else None
        if target is None:
            close = difflib.get_close_matches(str(name), self.names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown {self.kind} {name!r} <{self.config_key}>; known: "
                f"{', '.join(self.names())}.{hint}"
            )
        module, attribute = target.split(":", 1)
        entry: T = getattr(importlib.import_module(module), attribute)
        self._entries[name] = entry
        del self._targets[name]
        return entry

    def names(self) -> list[str]:
        return sorted([*self._entries, *self._targets])

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._targets
