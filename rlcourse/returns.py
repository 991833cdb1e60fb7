"""Discounted returns G_t (taught in 01_update_equation; reused by every trainer)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def discounted_returns(rewards: ArrayLike, gamma: float) -> np.ndarray:
    r"""The discounted return from every step of one episode.

    .. math:: G_t = \sum_{k=t+1}^{T} \gamma^{k-t-1} R_k = R_{t+1} + \gamma G_{t+1},\quad G_T = 0

    ``rewards[t]`` is R_{t+1}, the reward that follows the action at step t, so
    ``G[t] = rewards[t] + gamma * G[t + 1]``. One backward pass: linear time.

    Args:
        rewards: shape (T,), finite numbers.
        gamma: discount factor in [0, 1].

    Returns:
        float64 array of shape (T,) holding G_0 ... G_{T-1}; empty in, empty out.
    """
    gamma = _check_gamma(gamma)
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"rewards must be 1-D with shape (T,), got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("rewards must be finite (found NaN or inf)")
    out = np.empty_like(r)
    running = 0.0
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + gamma * running
        out[t] = running
    return out


def _check_gamma(gamma: float) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma must be a number in [0, 1], got {gamma!r}") from None
    if not 0.0 <= g <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    return g
