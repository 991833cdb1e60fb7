"""Gradient checks: centred finite differences and relative error, in float64 (notebook 02).

The model is CS231n's ``gradient_check.py``: perturb one entry at a time by ±h, take
(f(x + h) − f(x − h)) / 2h, and compare with the analytic gradient by relative error. With
float64 and h = 1e-6, a correct gradient of a smooth function agrees to about 1e-7 or better;
a wrong formula usually shows up as 1e-2 or worse.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       h: float = 1e-6) -> np.ndarray:
    r"""Centred finite-difference gradient of a scalar function ``f`` at ``x``.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    ``x`` is perturbed **in place** (each entry is restored before the next one), so ``f`` may
    read ``x`` through a closure, e.g. a weight matrix inside a parameter dict:
    ``numerical_gradient(lambda _: loss(params), params["W1"])``.

    Args:
        f: maps ``x`` (any shape) to a scalar.
        x: a float64 array; the point at which to differentiate (restored on return).
        h: the step, positive; 1e-6 balances truncation against rounding error in float64.

    Returns:
        float64 array of the shape of ``x``.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array (it is perturbed in place), "
                        f"got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(f"x must have dtype float64 (finite differences in float32 lose about "
                        f"half their digits), got {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError(f"x must be finite, got {int((~np.isfinite(x)).sum())} NaN/inf value(s)")
    if not callable(f):
        raise TypeError(f"f must be a function of x returning a scalar, got {type(f).__name__}")
    if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)):
        raise ValueError(f"h must be a positive number, got {type(h).__name__} {h!r}")
    h = float(h)
    if not (np.isfinite(h) and 0 < h < 1):
        raise ValueError(f"h must be a positive number below 1 (about 1e-6 in float64), got {h!r}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = _scalar(f(x))
        x[i] = old - h
        f_minus = _scalar(f(x))
        x[i] = old
        if not (np.isfinite(f_plus) and np.isfinite(f_minus)):
            raise ValueError(f"f must be finite near x, got f(x ± h e_i) = {f_plus}, {f_minus} "
                             f"at index {i}")
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a: ArrayLike, b: ArrayLike) -> float:
    r"""The largest elementwise relative error between two arrays of the same shape.

    .. math:: \max_i \frac{|a_i - b_i|}{\max(10^{-8},\ |a_i| + |b_i|)}

    The floor 1e-8 keeps entries where both are (almost) zero from dividing by zero.
    """
    a_arr = _as_float64(a, "a")
    b_arr = _as_float64(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a and b must have the same shape, got {a_arr.shape} and {b_arr.shape}")
    if a_arr.size == 0:
        return 0.0
    diff = np.abs(a_arr - b_arr)
    scale = np.maximum(1e-8, np.abs(a_arr) + np.abs(b_arr))
    return float(np.max(diff / scale))


def _as_float64(value: ArrayLike, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if arr.dtype.kind not in "iuf":  # booleans, strings, objects: not a gradient
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return arr


def _scalar(value) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {arr.shape}")
    return float(arr.reshape(()))
