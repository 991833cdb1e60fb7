r"""Returns, baselines and advantages: the weights of REINFORCE (01 to 04; one source for all).

Notation (docs/conventions.md): ``rewards[t]`` holds R_{t+1}, and
:math:`G_t = R_{t+1} + \gamma G_{t+1}`, :math:`G_T = 0`. Batches are time-major, shape (T, N):
column i is environment i, ``dones[t, i]`` marks the last step of an episode (terminated or
truncated), ``mask[t, i]`` says whether step t belongs to an episode of the batch.

:func:`advantages` is the one function every trainer and notebook calls for the weights A_t;
the others are its parts. The (T, N) functions work on NumPy arrays and torch tensors alike
(same type out, no gradient, torch stays on its device). Every public function checks its
arguments once, at its entry (an integer reward array gives float returns, never integer ones).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rlcourse import validate

ADVANTAGES = ("whole_episode", "reward_to_go", "constant_baseline", "batch_mean_baseline",
              "value_baseline", "normalized")


# --- argument checks (NumPy and torch) --------------------------------------------------------

def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _values(name: str, x: Any, ndim: tuple[int, ...] = (1, 2)):
    """A finite float array/tensor with ``ndim`` dimensions, detached; integers become floats."""
    if _is_torch(x):
        import torch

        v = x.detach()
        if v.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got booleans")
        if not v.is_floating_point():
            v = v.to(torch.get_default_dtype())  # integer rewards: float returns, not truncated
        if v.ndim not in ndim:
            raise ValueError(f"{name} must have shape {_shapes(ndim)}, got shape {tuple(v.shape)}")
        if not bool(torch.isfinite(v).all()):
            raise ValueError(f"{name} must be finite, got "
                             f"{int((~torch.isfinite(v)).sum())} NaN/inf value(s)")
        return v
    v = validate.array(name, x, dtype="float", finite=True)
    if v.ndim not in ndim:
        raise ValueError(f"{name} must have shape {_shapes(ndim)}, got shape {v.shape}")
    return v.astype(np.float64, copy=False)


def _shapes(ndim: tuple[int, ...]) -> str:
    names = {1: "(T,)", 2: "(T, N)"}
    return " or ".join(names.get(n, f"{n}-D") for n in ndim)


def _flags(name: str, x: Any, like):
    """``dones``/``mask`` as 0/1 floats of the type, device and shape of ``like``."""
    if _is_torch(like):
        import torch

        f = torch.as_tensor(x, device=like.device)
        if f.dtype != torch.bool:
            if f.is_floating_point() and not bool(torch.isfinite(f).all()):
                raise ValueError(f"{name} must hold 0/1 or booleans, got NaN/inf")
            if not bool(((f == 0) | (f == 1)).all()):
                raise ValueError(f"{name} must hold 0/1 or booleans, got other values "
                                 f"{torch.unique(f)[:5].tolist()}")
        f = f.to(like.dtype)
    else:
        f = validate.array(name, x, dtype="bool").astype(np.float64)
    if tuple(f.shape) != tuple(like.shape):
        raise ValueError(f"{name} must have the shape of the values {tuple(like.shape)}, "
                         f"got {tuple(f.shape)}")
    return f


def _gamma(gamma: Any) -> float:
    return validate.number("gamma", gamma, low=0.0, high=1.0)


# --- one episode (01, 02) ---------------------------------------------------------------------

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
    gamma = _gamma(gamma)
    r = validate.array("rewards", np.asarray(rewards) if _is_torch(rewards) else rewards,
                       dtype="float", finite=True)
    if r.ndim != 1:
        raise ValueError(f"rewards must be 1-D with shape (T,), got shape {r.shape}")
    r = r.astype(np.float64, copy=False)
    out = np.empty_like(r)
    running = 0.0
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + gamma * running
        out[t] = running
    return out


# --- batches (02 to 04) -----------------------------------------------------------------------

def reward_to_go(rewards, gamma: float, dones=None):
    r"""Discounted reward-to-go for a batch stored time-major, shape (T, N) (or (T,)).

    .. math:: G_t = R_{t+1} + \gamma\,(1 - d_t)\, G_{t+1}, \qquad G_T = 0

    where ``dones[t]`` is 1 when the episode of that column ended at step t (terminated or
    truncated), so returns never leak across episodes of a vector environment that autoresets.

    Args:
        rewards: shape (T, N) or (T,), finite; integers are converted to floats.
        gamma: discount factor in [0, 1].
        dones: same shape as ``rewards``, bool or 0/1; None means no episode ends inside.

    Returns:
        G with the shape and type of ``rewards`` (float64 for NumPy input; torch: its float
        dtype, or the default float dtype for integer input), no gradient.
    """
    gamma = _gamma(gamma)
    r = _values("rewards", rewards)
    d = None if dones is None else _flags("dones", dones, r)
    return _reward_to_go(r, gamma, d)


def _reward_to_go(r, gamma: float, d):
    out = r * 0
    carry = gamma if d is None else gamma * (1 - d)  # γ(1 − d_t), all t at once
    running = 0.0
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + (carry if d is None else carry[t]) * running
        out[t] = running
    return out


def whole_episode_returns(rewards, gamma: float, dones=None):
    r"""Every step weighted by the return of its *whole* episode, G_0 (REINFORCE as first written).

    .. math:: \Psi_t = G_0 = \sum_{k=1}^{T} \gamma^{k-1} R_k \quad \text{for every } t \text{ of the episode}

    Shapes and checks as :func:`reward_to_go`. Unbiased, but each action is also blamed for
    rewards that came *before* it.
    """
    gamma = _gamma(gamma)
    r = _values("rewards", rewards)
    d = None if dones is None else _flags("dones", dones, r)
    return _whole_episode(r, gamma, d)


def _whole_episode(r, gamma: float, d):
    g = _reward_to_go(r, gamma, d)
    out = g * 1
    for t in range(1, g.shape[0]):  # a new episode starts at t where the previous step was done
        out[t] = out[t - 1] if d is None else d[t - 1] * g[t] + (1 - d[t - 1]) * out[t - 1]
    return out


# All of the following take time-major (T, N) values with an optional (T, N) ``mask`` (True
# where the step belongs to an episode, as in rollout.EpisodeBatch) and return 0 where the mask
# is False.

def _values_and_mask(values, mask, name: str = "values"):
    v = _values(name, values)
    m = v * 0 + 1 if mask is None else _flags("mask", mask, v)
    if float(m.sum()) == 0:
        raise ValueError("mask selects no step: there is nothing to average")
    return v, m


def constant_baseline(returns, mask=None):
    r"""One number for the whole batch: b = mean of the returns over the masked steps.

    .. math:: b = \frac{1}{\sum m}\sum_{t,i} m_{t,i}\, G_{t,i}

    Returns a 0-d array or tensor.
    """
    g, m = _values_and_mask(returns, mask, "returns")
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
    g, m = _values_and_mask(returns, mask, "returns")
    if g.ndim != 2:
        raise ValueError(f"returns must have shape (T, N), got shape {tuple(g.shape)}")
    return _batch_mean(g, m)


def _batch_mean(g, m):
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

    Raises:
        ValueError: for ``eps < 0``, and for constant values with ``eps == 0`` (0 / 0).
    """
    eps = validate.number("eps", eps, low=0.0)
    v, m = _values_and_mask(values, mask)
    return _normalize(v, m, eps)


def _normalize(v, m, eps: float):
    n = m.sum()
    mean = (v * m).sum() / n
    std = ((((v - mean) ** 2) * m).sum() / n) ** 0.5
    if eps == 0 and float(std) == 0:
        raise ValueError("values are constant over the masked steps (std 0): with eps=0 the "
                         "standardisation divides 0 by 0; pass eps > 0 (e.g. 1e-8)")
    return (v - mean) / (std + eps) * m


def advantages(rewards, dones, gamma: float, kind: str = "normalized", *, mask=None,
               values=None):
    r"""The weight A_t of every step of a batch: the one advantages function of the course.

    ``kind`` (the variants 03 compares; docs/conventions.md §4):

    - ``"whole_episode"``: G_0, the return of the whole episode, at every step;
    - ``"reward_to_go"``: G_t, only the rewards after the action;
    - ``"constant_baseline"``: G_t − b, b the mean of all G_t of the batch;
    - ``"batch_mean_baseline"``: G_t − b_t, b_t the mean of G_t over the episodes running at t;
    - ``"value_baseline"``: G_t − V(s_t), with ``values`` (T, N) a learned baseline's output;
    - ``"normalized"``: G_t − b_t standardised over the batch's steps (population std): a
      time-dependent baseline and a rescaling, slightly biased (b_t and the std use the batch).

    Args:
        rewards: (T, N) (or (T,)), finite; ``rewards[t, i]`` is R_{t+1} of column i.
        dones: same shape, bool or 0/1, True at the last step of each episode; None if no
            episode ends inside the batch.
        gamma: discount in [0, 1].
        kind: one of :data:`ADVANTAGES`.
        mask: same shape, bool or 0/1, True where the step belongs to the batch (None: all).
        values: same shape, for ``kind="value_baseline"`` only.

    Returns:
        A with the shape and type of ``rewards`` (NumPy: float64), 0 where ``mask`` is False,
        no gradient.
    """
    gamma = _gamma(gamma)
    validate.choice("kind", kind, ADVANTAGES)
    r = _values("rewards", rewards)
    d = None if dones is None else _flags("dones", dones, r)
    m = r * 0 + 1 if mask is None else _flags("mask", mask, r)
    if float(m.sum()) == 0:
        raise ValueError("mask selects no step: there is nothing to average")
    if kind == "value_baseline":
        if values is None:
            raise ValueError("kind='value_baseline' needs values (T, N), the baseline V(s_t)")
        v = _values("values", values)
        if tuple(v.shape) != tuple(r.shape):
            raise ValueError(f"values must have the shape of rewards {tuple(r.shape)}, "
                             f"got {tuple(v.shape)}")
    elif values is not None:
        raise ValueError(f"values are only used by kind='value_baseline', not {kind!r}")
    if kind == "whole_episode":
        return _whole_episode(r, gamma, d) * m
    g = _reward_to_go(r, gamma, d)
    if kind == "reward_to_go":
        return g * m
    if kind == "constant_baseline":
        return (g - (g * m).sum() / m.sum()) * m
    if kind == "value_baseline":
        return (g - v) * m
    if g.ndim != 2 and kind in ("batch_mean_baseline", "normalized"):
        raise ValueError(f"kind={kind!r} needs rewards of shape (T, N), got {tuple(g.shape)}")
    adv = (g - _batch_mean(g, m)) * m
    return _normalize(adv, m, 1e-8) if kind == "normalized" else adv
