"""Reading a config section into a frozen dataclass, checked against the dataclass itself.

A schema is an ordinary dataclass: each field's annotation says what the key accepts (``bool``,
``int``, ``float``, ``str``, ``Literal[...]`` for closed choices, ``X | None``, a nested schema,
or ``dict`` for a section another component checks), and ``field(metadata=bounds(...))`` adds a
range. ``read(Schema, section, where)`` rejects unknown keys with the valid ones, fills defaults,
and raises one ``ConfigError`` naming the first key that is wrong, so the error a user sees comes
from the same place as the type the code reads.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

from delegate.errors import ConfigError

T = TypeVar("T")
_BOUNDS = "bounds"


def bounds(low: float = -math.inf, high: float = math.inf, *, open_low: bool = False) -> dict:
    """Field metadata: the value must lie in [low, high] (``open_low``: above ``low``)."""
    return {_BOUNDS: (low, high, open_low)}


def read(schema: type[T], section: Any, where: str) -> T:
    """The ``schema`` instance for a config ``section`` (a mapping; None reads as empty)."""
    values = dict(section or {})
    names = [f.name for f in dataclasses.fields(schema)]  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(_key(where, k) for k in unknown)} "
            f"<{_key(where, unknown[0])}>; valid keys: {', '.join(names)}"
        )
    hints = typing.get_type_hints(schema)
    given: dict[str, Any] = {}
    for f in dataclasses.fields(schema):  # type: ignore[arg-type]
        key = _key(where, f.name)
        if f.name not in values:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing key {key} <{key}>")
            continue
        given[f.name] = _convert(hints[f.name], values[f.name], key, f.metadata.get(_BOUNDS))
    return schema(**given)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _convert(annotation: Any, value: Any, key: str, limits: tuple | None) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _convert(option, value, key, limits)
            except ConfigError as e:
                if option in (int, float) and _is_number(value):
                    raise  # the right kind, out of range: that is the error to show
                errors.append(e)
        raise (
            errors[-1]
            if len(errors) == 1
            else ConfigError(
                f"{key} must be {' or '.join(_describe(o, limits) for o in options)}, "
                f"got {value!r} <{key}>"
            )
        )
    if origin is Literal:
        choices = typing.get_args(annotation)
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            listed = ", ".join(str(c) for c in choices)
            raise ConfigError(f"{key} must be one of {listed}, got {value!r} <{key}>")
        return value
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a section of keys, got {value!r} <{key}>")
        return read(annotation, value, key)  # type: ignore[arg-type]
    if annotation in (dict, Mapping) or origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a section of keys, got {value!r} <{key}>")
        return dict(value)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key} must be a list, got {value!r} <{key}>")
        return tuple(value) if origin is tuple else list(value)
    return _scalar(annotation, value, key, limits)


def _scalar(annotation: Any, value: Any, key: str, limits: tuple | None) -> Any:
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r} <{key}>")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be text, got {value!r} <{key}>")
        return value
    if annotation in (int, float):
        integer = annotation is int
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
        ):
            raise ConfigError(f"{key} must be {_describe(annotation)}, got {value!r} <{key}>")
        _check_bounds(value, key, limits, _describe(annotation))
        return int(value) if integer else float(value)
    raise TypeError(f"no config reader for {annotation!r} ({key})")  # a schema bug, not input


def _check_bounds(value: float, key: str, limits: tuple | None, kind: str) -> None:
    low, high, open_low = limits or (-math.inf, math.inf, False)
    if math.isnan(value) or value > high or value < low or (open_low and value == low):
        if low == -math.inf:
            bound = f"<= {high:g}"
        else:
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            if high != math.inf:
                bound += f" and <= {high:g}"
        raise ConfigError(f"{key} must be {kind} {bound}, got {value!r} <{key}>")


def _describe(annotation: Any, limits: tuple | None = None) -> str:
    if annotation is int:
        return "a positive integer" if limits and limits[0] == 1 else "an integer"
    if annotation is float:
        return "a number"
    if annotation is type(None):
        return "null"
    if typing.get_origin(annotation) is Literal:
        return " or ".join(repr(c) for c in typing.get_args(annotation))
    return getattr(annotation, "__name__", str(annotation))
