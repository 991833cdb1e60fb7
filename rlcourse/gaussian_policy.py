r"""Diagonal Gaussian policies for continuous actions (taught in 04_gaussian_policies_gpu).

The policy's network outputs the mean μθ(s) of a Normal distribution over actions; the log
standard deviation log σ is a free parameter (or a second network head). For an action a with
d independent dimensions,

.. math::
    \log \pi_\theta(a \mid s) = \sum_{j=1}^{d} \Big[-\frac{(a_j - \mu_j)^2}{2\sigma_j^2}
        - \log \sigma_j - \tfrac12 \log 2\pi\Big],

    \frac{\partial \log\pi}{\partial \mu_j} = \frac{a_j - \mu_j}{\sigma_j^2}, \qquad
    \frac{\partial \log\pi}{\partial \log\sigma_j} = \frac{(a_j - \mu_j)^2}{\sigma_j^2} - 1 .

A tanh-squashed policy samples u ~ N(μ, σ²) and acts a = c·tanh(u); by the change of variables,
log π(a) = log N(u) − Σ_j log(c (1 − tanh² u_j)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Normal

from rlcourse import validate
from rlcourse.torch_policy import mlp

LOG_2PI = math.log(2 * math.pi)


def _as_tensors(*xs):
    """Finite floating-point tensors (log σ = −inf is σ = 0: no density; +inf, σ = inf)."""
    return [validate.tensor(name, x, dtype="float", finite=True) for name, x in xs]


def _check_shapes(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> None:
    """Refuse shapes that would broadcast to a wrong result ((B,) against (B, 1) gives (B, B))."""
    if actions.ndim == 0:
        raise ValueError("actions must have an action dimension: shape (..., d), got a scalar")
    if mean.shape != actions.shape:
        raise ValueError(f"mean must have the shape of actions {tuple(actions.shape)} "
                         f"(..., d), got {tuple(mean.shape)}")
    d = actions.shape[-1]
    if log_std.shape != (d,) and log_std.shape != actions.shape:
        raise ValueError(f"log_std must have shape ({d},) (shared by every sample) or the shape "
                         f"of actions {tuple(actions.shape)}, got {tuple(log_std.shape)}")


def gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor,
                      log_std: torch.Tensor) -> torch.Tensor:
    """log N(a; μ, σ²) written out, summed over the last (action) dimension.

    Args:
        actions: shape (..., d).
        mean: shape (..., d), the shape of ``actions``.
        log_std: log σ, shape (d,) or the shape of ``actions``.

    Returns:
        Shape (...): one log-density per sample (the sum over the d action dimensions).
    """
    actions, mean, log_std = _as_tensors(("actions", actions), ("mean", mean),
                                         ("log_std", log_std))
    _check_shapes(actions, mean, log_std)
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z**2 - log_std - 0.5 * LOG_2PI).sum(-1)


def gaussian_log_prob_grads(actions: torch.Tensor, mean: torch.Tensor,
                            log_std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The hand-derived gradients of log N(a; μ, σ²), one per action dimension.

    Returns:
        ``(d_mean, d_log_std)``, each broadcast to shape (..., d):
        ∂/∂μ = (a − μ)/σ² and ∂/∂log σ = (a − μ)²/σ² − 1.
    """
    actions, mean, log_std = _as_tensors(("actions", actions), ("mean", mean),
                                         ("log_std", log_std))
    _check_shapes(actions, mean, log_std)
    var = torch.exp(2 * log_std)
    diff = actions - mean
    d_mean = diff / var
    d_log_std = diff**2 / var - 1
    return torch.broadcast_tensors(d_mean, d_log_std)


def tanh_log_det_jacobian(u: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Σ_j log |d a_j / d u_j| for a = scale·tanh(u), summed over the last dimension.

    Uses log(1 − tanh² u) = 2 (log 2 − u − softplus(−2u)), which stays finite for large |u|
    where 1 − tanh² u rounds to 0.
    """
    (u,) = _as_tensors(("u", u))
    scale = validate.number("scale", scale, low=0.0, low_open=True)
    log_det = 2 * (math.log(2) - u - nn.functional.softplus(-2 * u)) + math.log(scale)
    return log_det.sum(-1)


def squashed_log_prob(dist: Normal, u: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """log π(a) of the action a = scale·tanh(u), where u was sampled from ``dist``; shape (...)."""
    if not isinstance(dist, Normal):
        raise TypeError(f"dist must be a torch.distributions.Normal (the distribution u was "
                        f"sampled from), got {type(dist).__name__}")
    (u,) = _as_tensors(("u", u))
    return dist.log_prob(u).sum(-1) - tanh_log_det_jacobian(u, scale)


class GaussianPolicy(nn.Module):
    """π(a|s) = N(μθ(s), diag σ²): a mean network and a log σ (a parameter, or a network head).

    Args:
        obs_dim: size of an observation (3 for Pendulum).
        act_dim: number of action dimensions d (1 for Pendulum).
        hidden: sizes of the hidden layers of the mean network.
        log_std_init: initial log σ (0 means σ = 1).
        std_head: False (default): log σ is an ``nn.Parameter`` of shape (d,), the same in every
            state (as in CleanRL's PPO). True: the network has 2d outputs, the second d being
            log σ(s) − ``log_std_init``.

    ``forward(obs)`` with obs of shape (B, obs_dim) returns a ``torch.distributions.Normal`` with
    batch shape (B, d); σ = exp(log σ) is positive whatever the parameters are.

    Observations must be finite, and so must μ(s) and log σ: NaN or inf weights (a diverged
    update) raise a ValueError rather than giving NaN actions or log-densities. ``log_prob``
    (once per update) checks its observations, actions, μ(s) and log σ on every device. The
    per-step calls (``forward``, ``mean_and_log_std``, ``act``) check one tensor, on the CPU
    only (on an accelerator a check would wait for the device at every step): the network's
    output, or ``act``'s action (NaN in the observations or the weights makes it NaN).
    """

    def __init__(self, obs_dim: int = 3, act_dim: int = 1, hidden: Sequence[int] = (64, 64),
                 log_std_init: float = 0.0, std_head: bool = False):
        super().__init__()
        obs_dim = validate.integer("obs_dim", obs_dim, low=1)
        act_dim = validate.integer("act_dim", act_dim, low=1)
        hidden = validate.sizes("hidden", hidden)
        log_std_init = validate.number("log_std_init", log_std_init)
        std_head = validate.flag("std_head", std_head)
        self.obs_dim, self.act_dim, self.std_head = obs_dim, act_dim, std_head
        out = 2 * act_dim if std_head else act_dim
        self.net = mlp([obs_dim, *hidden, out])
        if std_head:
            self.register_buffer("log_std_offset", torch.full((act_dim,), log_std_init))
        else:
            self.log_std = nn.Parameter(torch.full((act_dim,), log_std_init))

    def _check_obs(self, obs: torch.Tensor, values: bool = False) -> None:
        if not isinstance(obs, torch.Tensor):
            raise TypeError(f"obs must be a torch.Tensor of shape (B, {self.obs_dim}), "
                            f"got {type(obs).__name__}")
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape (B, {self.obs_dim}), got {tuple(obs.shape)}")
        if values:
            validate.tensor("obs", obs, dtype="float", finite=True)

    def _outputs(self, obs: torch.Tensor, hot: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """μ(s) and log σ; with ``hot``, the network's output is checked (on the CPU only)."""
        out = self.net(obs)
        if hot:
            _check_result(obs, out, hot=True)
        if self.std_head:
            mean, log_std = out.split(self.act_dim, dim=-1)
            return mean, log_std + self.log_std_offset
        return out, self.log_std

    def mean_and_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """μθ(s) of shape (B, d) and log σ of shape (d,) (or (B, d) with a head)."""
        self._check_obs(obs)
        return self._outputs(obs, hot=True)

    def forward(self, obs: torch.Tensor) -> Normal:
        mean, log_std = self.mean_and_log_std(obs)
        return Normal(mean, log_std.exp().expand_as(mean), validate_args=False)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log π(a|s) summed over the d action dimensions: shape (B,)."""
        self._check_obs(obs, values=True)
        if not isinstance(actions, torch.Tensor) or actions.shape != (obs.shape[0], self.act_dim):
            raise ValueError(f"actions must have shape ({obs.shape[0]}, {self.act_dim}) (a "
                             f"tensor), got {tuple(getattr(actions, 'shape', ()))}")
        validate.tensor("actions", actions, dtype="float", finite=True)
        dist = self(obs)
        for out in (dist.loc, dist.scale):  # μ(s) and σ, on every device (once per update)
            _check_result(obs, out, hot=False)
        return dist.log_prob(actions).sum(-1)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False, *,
            generator: torch.Generator | None = None) -> torch.Tensor:
        """A sampled action a = μ + σ·ε, ε ~ N(0, I) drawn with ``generator`` (on the policy's
        device; None: torch's global generator), or the mean action μ(s) when
        ``deterministic``; shape (B, d), no gradient."""
        self._check_obs(obs)
        mean, log_std = self._outputs(obs, hot=False)
        if deterministic:
            action = mean
        else:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device,
                                dtype=mean.dtype)
            action = mean + log_std.exp() * noise
        _check_result(obs, action, hot=True)  # one check covers the observations, μ and σ
        return action


def _check_result(obs: torch.Tensor, result: torch.Tensor, hot: bool) -> None:
    """``result`` (μ, log σ or an action) must be finite; if not, name the culprit: NaN in the
    observations, or else in the weights."""
    try:
        validate.tensor("result", result, finite=True, hot=hot)
    except ValueError:
        validate.tensor("obs", obs, finite=True)
        raise ValueError("the policy's parameters hold NaN or inf (a diverged update? a "
                         "learning rate too large?): μ(s) or log σ is not finite for finite "
                         "observations") from None
