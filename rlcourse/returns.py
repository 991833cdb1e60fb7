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


def reward_to_go(rewards, gamma: float, dones=None):
    r"""Discounted reward-to-go for a batch of trajectories stored time-major, shape (T, N).

    .. math:: G_t = r_t + \gamma\,(1 - d_t)\, G_{t+1}, \qquad G_T = 0

    where ``dones[t]`` is 1 when the episode of that column ended at step t (terminated or
    truncated), so returns never leak across episodes of a vector environment that autoresets.
    Works on NumPy arrays and torch tensors alike (same type out; torch stays on its device and
    carries no gradient).

    Args:
        rewards: shape (T, N) or (T,).
        gamma: discount factor in [0, 1].
        dones: same shape as ``rewards``, bool or 0/1; None means no episode ends inside.

    Returns:
        G with the shape and type of ``rewards`` (float64 for NumPy input).
    """
    gamma = _check_gamma(gamma)
    is_torch = hasattr(rewards, "detach")
    if is_torch:
        r = rewards.detach()
        out = r.new_zeros(r.shape, dtype=r.dtype if r.is_floating_point() else None)
        not_done = None if dones is None else 1.0 - dones.to(out.dtype)
    else:
        r = np.asarray(rewards, dtype=np.float64)
        out = np.zeros_like(r)
        not_done = None if dones is None else 1.0 - np.asarray(dones, dtype=np.float64)
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards must have shape (T,) or (T, N), got shape {tuple(r.shape)}")
    if not_done is not None and tuple(not_done.shape) != tuple(r.shape):
        raise ValueError(f"dones must have the shape of rewards {tuple(r.shape)}, "
                         f"got {tuple(not_done.shape)}")
    running = 0.0
    for t in range(r.shape[0] - 1, -1, -1):
        carry = gamma * running if not_done is None else gamma * not_done[t] * running
        running = r[t] + carry
        out[t] = running
    return out
