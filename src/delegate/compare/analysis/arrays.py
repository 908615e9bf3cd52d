"""Checks on the per-problem arrays and curve tables users hand to the analysis functions: each
either returns a clean float array or raises a one-line ``DelegateError`` naming the argument."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from delegate.errors import DelegateError


def values(name: str, data: ArrayLike) -> np.ndarray:
    """A non-empty one-dimensional array of finite numbers (bools count as 0 and 1)."""
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DelegateError(f"{name} must hold numbers: {exc}") from None
    if array.ndim != 1:
        raise DelegateError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise DelegateError(f"{name} is empty: there are no problems to measure")
    if not np.isfinite(array).all():
        raise DelegateError(f"{name} holds NaN or infinite values at {_bad(~np.isfinite(array))}")
    return array


def unit_values(name: str, data: ArrayLike) -> np.ndarray:
    """Like ``values``, every value also in [0, 1] (a correctness or a share)."""
    array = values(name, data)
    outside = (array < 0.0) | (array > 1.0)
    if outside.any():
        raise DelegateError(f"{name} must lie in [0, 1]; it does not at {_bad(outside)}")
    return array


def outcomes(name: str, data: ArrayLike, n: int) -> np.ndarray:
    """Per-problem correctness: ``n`` values in [0, 1] (fractions allow averages over seeds)."""
    array = unit_values(name, data)
    if len(array) != n:
        raise DelegateError(f"{name} has {len(array)} values for {n} problems")
    return array


def costs(name: str, data: ArrayLike, n: int) -> np.ndarray:
    """A non-negative cost per problem: one number for all ``n`` problems or one for each."""
    array = np.asarray(data, dtype=float)
    if array.ndim == 0:
        array = np.full(n, float(array))
    array = values(name, array)
    if len(array) != n:
        raise DelegateError(f"{name} has {len(array)} values for {n} problems (or give one)")
    if (array < 0.0).any():
        raise DelegateError(f"{name} must not be negative; it is at {_bad(array < 0.0)}")
    return array


def number(name: str, value: float) -> float:
    """A finite number, as a float."""
    result = float(value)
    if not math.isfinite(result):
        raise DelegateError(f"{name} must be a finite number, got {value}")
    return result


def columns(curve: pd.DataFrame, names: Sequence[str]) -> list[np.ndarray]:
    """The named columns of a non-empty curve table as finite float arrays, rows sorted by
    ``strong_share`` (stable, so rows with equal shares keep their order) when it is present."""
    if not isinstance(curve, pd.DataFrame):
        raise DelegateError(f"a curve must be a pandas DataFrame, got {type(curve).__name__}")
    missing = [name for name in names if name not in curve.columns]
    if missing:
        raise DelegateError(f"the curve lacks column(s) {missing}; it has {list(curve.columns)}")
    if len(curve) == 0:
        raise DelegateError("the curve is empty: it has no operating points")
    if "strong_share" in curve.columns:
        curve = curve.sort_values("strong_share", kind="stable")
    return [values(f"the curve's {name}", curve[name].to_numpy()) for name in names]


def _bad(mask: np.ndarray) -> str:
    """The first offending positions, for an error message."""
    where = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in where[:5])
    return f"position(s) {shown}" + (f" and {len(where) - 5} more" if len(where) > 5 else "")
