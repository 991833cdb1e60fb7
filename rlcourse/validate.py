"""Checking arguments at the public entry points: one helper, one message style.

Every public function of the package refuses bad input at its entry with a ``ValueError`` or
``TypeError`` whose message names the argument and what was expected, e.g.::

    gamma = validate.number("gamma", gamma, low=0.0, high=1.0)
    rewards = validate.array("rewards", rewards, ndim=1, finite=True, dtype="float")
    hidden = validate.sizes("hidden", hidden)          # (64, 64), never 64 or (64.5,)
    logits = validate.tensor("logits", logits, dtype="float", finite=True, allow=("-inf",))

Validate once, where the value enters the package; inner layers trust their callers. A value
check of a torch tensor reads its data: on an accelerator that waits for the device, so a
function called once per environment step passes ``hot=True`` and checks values on the CPU only
(the per-update entries, such as a policy's ``log_prob``, check them everywhere); tensors on
PyTorch's ``meta`` device have no data, and only their type and shape are checked.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["array", "choice", "flag", "integer", "number", "options", "same_shape", "sizes",
           "tensor"]


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


def sizes(name: str, value: Any, *, min_len: int = 0) -> tuple[int, ...]:
    """A tuple (or list) of positive integers, e.g. layer widths; returns a tuple of ints.

    An int where a tuple is meant (``hidden=64``), a string, and any width that is not an
    integer (64.0, 64.5, True) are refused: ``int()`` would truncate them without a word.
    """
    want = (f"a tuple of at least {min_len} positive integers" if min_len
            else "a tuple of positive integers")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be {want}, got {_describe(value)}")
    widths = []
    for v in value:
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{name} must be {want}, got {_describe(value)} (a bool is no width)")
        try:
            widths.append(operator.index(v))
        except TypeError:
            raise TypeError(f"{name} must be {want}, got {_describe(value)} "
                            f"({type(v).__name__} {_describe(v)} is not an integer)") from None
    if len(widths) < min_len or any(w < 1 for w in widths):
        raise ValueError(f"{name} must be {want}, got {_describe(value)}")
    return tuple(widths)


def flag(name: str, value: Any) -> bool:
    """True or False (Python or NumPy), not a truthy string or number."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} "
                        f"{_describe(value)}")
    return bool(value)


def options(name: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """None or a dict whose keys are all in ``allowed`` (e.g. ``reset(options=...)``); returns a
    dict ({} for None). A misspelt key is refused rather than ignored."""
    if value is None:
        return {}
    accepts = ("accepted: " + ", ".join(map(repr, allowed))) if allowed else "none are accepted"
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be None or a dict ({accepts}), got "
                        f"{type(value).__name__} {_describe(value)}")
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {', '.join(map(repr, unknown))}; {accepts}")
    return dict(value)


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


def tensor(name: str, value: Any, *, dtype: str | None = None, ndim: int | None = None,
           finite: bool = False, allow: tuple[str, ...] = (), low: float | None = None,
           high: float | None = None, hot: bool = False):
    """A torch tensor checked for kind, dimensions and values; returned as it is (no copy).

    ``dtype``: ``"float"`` (floating point), ``"int"`` (integer indices: bools refused, since
    ``True`` would be read as 1) or ``None``. ``finite`` refuses NaN and ±inf except the
    infinities named in ``allow`` (``"-inf"``: e.g. a logit that rules an action out; both:
    e.g. a torque the environment clips). ``low``/``high``: inclusive bounds. Values are checked
    where the tensor has data and reading it is cheap: on the CPU always, on an accelerator only
    when ``hot`` is False (see the module's docstring), never on the ``meta`` device.
    """
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if dtype == "float" and not value.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {value.dtype}")
    if dtype == "int" and (value.is_floating_point() or value.is_complex()
                           or value.dtype == torch.bool):
        raise TypeError(f"{name} must hold integers (indices), got dtype {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(value.shape)}")
    if (not value.is_cpu and (hot or value.is_meta)) or value.numel() == 0:
        return value
    v = value.detach() if value.requires_grad else value  # reading values builds no graph
    if finite and v.is_floating_point() and not math.isfinite(v.sum().item()):
        # the sum is finite when every value is (one reduction); otherwise count exactly (a sum
        # of large finite values can overflow, and infinities may be allowed)
        bad = {"NaN": int(v.isnan().sum())}
        if "+inf" not in allow:
            bad["+inf"] = int(v.isposinf().sum())
        if "-inf" not in allow:
            bad["-inf"] = int(v.isneginf().sum())
        if any(bad.values()):
            if len(bad) == 3:
                raise ValueError(f"{name} must be finite, got {sum(bad.values())} NaN/inf "
                                 "value(s)")
            raise ValueError(f"{name} must not hold {' or '.join(bad)}, got "
                             + ", ".join(f"{n} {k}" for k, n in bad.items() if n)
                             + " value(s)")
    if low is not None or high is not None:
        lo, hi = v.min().item(), v.max().item()
        if (low is not None and lo < low) or (high is not None and hi > high):
            lo_s = "-inf" if low is None else f"{low:g}"
            hi_s = "inf" if high is None else f"{high:g}"
            raise ValueError(f"{name} must be in [{lo_s}, {hi_s}], got values from {lo:g} to "
                             f"{hi:g}")
    return value
