"""Checking arguments at the public entry points: one helper, one message style.

Every public function of the package refuses bad input at its entry with a ``ValueError`` or
``TypeError`` whose message names the argument and what was expected, e.g.::

    gamma = validate.number("gamma", gamma, low=0.0, high=1.0)
    rewards = validate.array("rewards", rewards, ndim=1, finite=True, dtype="float")

Validate once, where the value enters the package; inner layers trust their callers.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

__all__ = ["array", "choice", "integer", "number", "same_shape"]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number (Python or NumPy scalar, not bool) within [low, high] (or open ends).

    Returns it as a Python float.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} "
                        f"{_describe(value)}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    lo_bad = low is not None and (x <= low if low_open else x < low)
    hi_bad = high is not None and (x >= high if high_open else x > high)
    if lo_bad or hi_bad:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {x:g}")
    return x


def integer(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or NumPy, not bool and not a float) within [low, high]; returns int."""
    if isinstance(value, (bool, np.bool_)):  # NumPy < 2 lets operator.index take a np.bool_
        raise TypeError(f"{name} must be an integer, got bool {value}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} "
                        f"{_describe(value)}") from None
    if (low is not None and n < low) or (high is not None and n > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else str(high)
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {n}")
    return n


def choice(name: str, value: Any, options: tuple[Any, ...] | list[Any]) -> Any:
    """One of ``options`` (compared with ==)."""
    if not any(value == o and type(value) is type(o) for o in options):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; "
                         f"got {_describe(value)}")
    return value


def array(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None,
          shape: tuple[int | None, ...] | None = None, dtype: str | None = None,
          finite: bool = False, low: float | None = None, high: float | None = None
          ) -> np.ndarray:
    """A NumPy array checked for dimensions, shape (``None`` = any size), kind and values.

    ``dtype``: ``"float"`` (real numbers; integers and bools are converted to float64),
    ``"int"`` (integers only; bools refused, since ``rng.random() < p`` is not an index),
    ``"bool"``, or ``None`` (any numeric). ``finite`` refuses NaN and ±inf.
    """
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and other non-arrays
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}: {err}") from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if dtype == "float":
        if kind == "b":
            raise TypeError(f"{name} must hold real numbers, got booleans")
        if kind != "f":
            arr = arr.astype(np.float64)
    elif dtype == "int":
        if kind != "i" and kind != "u":
            raise TypeError(f"{name} must hold integers (indices), got dtype {arr.dtype}")
    elif dtype == "bool":
        if kind != "b":
            if not np.isin(arr, (0, 1)).all():
                raise ValueError(f"{name} must hold 0/1 or booleans, got values "
                                 f"{np.unique(arr)[:5].tolist()}")
            arr = arr.astype(bool)
    elif dtype is not None:
        raise ValueError(f"dtype must be 'float', 'int', 'bool' or None, got {dtype!r}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                             f"got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a
                                         for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} "
                         f"NaN/inf value(s)")
    if low is not None and arr.size and arr.min() < low:
        raise ValueError(f"{name} must be >= {low:g}, got a minimum of {arr.min():g}")
    if high is not None and arr.size and arr.max() > high:
        raise ValueError(f"{name} must be <= {high:g}, got a maximum of {arr.max():g}")
    return arr


def same_shape(**arrays: Any) -> None:
    """Refuse arguments whose shapes differ (where broadcasting would silently give a wrong result).

    Works for NumPy arrays and torch tensors (anything with ``.shape``).
    """
    shapes = {k: tuple(getattr(v, "shape", np.shape(v))) for k, v in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"{' and '.join(shapes)} must have the same shape, got {listed}")
