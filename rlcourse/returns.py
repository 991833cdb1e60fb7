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


# --- Baselines and normalisation (taught in 03_torch_cross_entropy) --------------------------
# All of them take time-major (T, N) arrays with an optional (T, N) ``mask`` (True where the step
# belongs to an episode, as in rollout.EpisodeBatch), work on NumPy arrays and torch tensors alike
# (same type out, no gradient) and return 0 wherever the mask is False.


def _float_mask(values, mask):
    """(values as a detached float array or tensor, mask as 0/1 of the same type and shape)."""
    if hasattr(values, "detach"):
        v = values.detach()
        v = v if v.is_floating_point() else v.double()
        m = v.new_ones(v.shape) if mask is None else mask.to(v.dtype)
    else:
        v = np.asarray(values, dtype=np.float64)
        m = np.ones_like(v) if mask is None else np.asarray(mask, dtype=np.float64)
    if tuple(m.shape) != tuple(v.shape):
        raise ValueError(f"mask must have the shape of the values {tuple(v.shape)}, "
                         f"got {tuple(m.shape)}")
    if float(m.sum()) == 0:
        raise ValueError("mask selects no step: there is nothing to average")
    return v, m


def whole_episode_returns(rewards, gamma: float, dones=None):
    r"""Every step weighted by the return of its *whole* episode, G_0 (the original REINFORCE).

    .. math:: \Psi_t = G_0 = \sum_{k \ge 0} \gamma^k r_k \quad \text{for every } t \text{ of the episode}

    Shapes as :func:`reward_to_go`: (T,) or (T, N), ``dones`` marking each episode's last step.
    Unbiased, but each action is also blamed for rewards that came *before* it.
    """
    g = reward_to_go(rewards, gamma, dones)
    if dones is None:
        return g[:1] * (g * 0 + 1)  # G_0 broadcast along time
    d = dones.to(g.dtype) if hasattr(g, "detach") else np.asarray(dones, dtype=np.float64)
    out = g * 1
    for t in range(1, g.shape[0]):  # a new episode starts at t where the previous step was done
        out[t] = d[t - 1] * g[t] + (1 - d[t - 1]) * out[t - 1]
    return out


def constant_baseline(returns, mask=None):
    r"""One number for the whole batch: b = mean of the returns over the masked steps.

    .. math:: b = \frac{1}{\sum m}\sum_{t,i} m_{t,i}\, G_{t,i}

    Returns a 0-d array or tensor.
    """
    g, m = _float_mask(returns, mask)
    return (g * m).sum() / m.sum()


def batch_mean_baseline(returns, mask=None):
    r"""A per-time-step baseline: b_t = mean of G_{t,i} over the episodes still running at t.

    .. math:: b_t = \frac{\sum_i m_{t,i} G_{t,i}}{\sum_i m_{t,i}}

    Args:
        returns: shape (T, N), e.g. :func:`reward_to_go` of a batch of N episodes.
        mask: (T, N) bool, True where step t belongs to episode i.

    Returns:
        (T, N): b_t repeated along the batch, 0 where the mask is False. It depends on other
        episodes of the batch (slightly biased; the bias vanishes as N grows).
    """
    g, m = _float_mask(returns, mask)
    if g.ndim != 2:
        raise ValueError(f"returns must have shape (T, N), got shape {tuple(g.shape)}")
    total = (g * m).sum(1)[:, None]  # NumPy and torch both read the positional 1 as the axis
    count = m.sum(1)[:, None]
    count = count + (count == 0)  # rows without a running episode: 0 / 1 instead of 0 / 0
    return total / count * m


def normalize(values, mask=None, eps: float = 1e-8):
    r"""Standardise over the masked entries: mean 0, standard deviation 1 ("normalised advantages").

    .. math:: \hat A = \frac{A - \mathrm{mean}(A)}{\mathrm{std}(A) + \varepsilon}

    Applied to one episode's returns this is the "standardised returns" of many tutorials:
    subtracting the mean is a baseline (one that depends on the episode itself, so slightly
    biased) and dividing by the std rescales every step, i.e. adapts the learning rate.
    Uses the population std (ddof=0). Returns 0 where the mask is False.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    v, m = _float_mask(values, mask)
    n = m.sum()
    mean = (v * m).sum() / n
    std = ((((v - mean) ** 2) * m).sum() / n) ** 0.5
    return (v - mean) / (std + eps) * m
