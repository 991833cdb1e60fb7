r"""A categorical policy in PyTorch and the REINFORCE loss written three ways (03_torch_cross_entropy).

The REINFORCE loss of a batch of B steps with logits z_b = f_θ(s_b), taken actions a_b and
weights Ψ_b (a return, reward-to-go or advantage, treated as a constant):

.. math:: L(\theta) = -\sum_b \Psi_b \log \pi_\theta(a_b \mid s_b)
          = \sum_b \Psi_b\, \mathrm{CE}(z_b, a_b),

i.e. cross-entropy with the *taken* action as the label, each step weighted by its return.
Minimising L ascends J: ∇L = −ĝ, the REINFORCE gradient estimate.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical

from rlcourse import validate


def mlp(sizes: list[int] | tuple[int, ...], activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last).

    ``sizes``: at least two positive integers, e.g. (4, 64, 2); ``activation``: an
    ``nn.Module`` class such as ``nn.Tanh`` (one instance is made per hidden layer).
    """
    sizes = validate.sizes("sizes", sizes, min_len=2)
    _check_activation(activation)
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _check_activation(activation: object) -> None:
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
        raise TypeError(f"activation must be an nn.Module class such as nn.Tanh (called once per "
                        f"hidden layer), got {activation!r}")


class CategoricalPolicy(nn.Module):
    """π_θ(a|s) = softmax(f_θ(s))_a with f_θ an MLP, e.g. 4-64-2 with tanh for CartPole.

    ``forward(obs)`` maps observations (B, obs_dim) to logits (B, n_actions).
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...] = (64,),
                 activation: type[nn.Module] = nn.Tanh):
        super().__init__()
        self.obs_dim = validate.integer("obs_dim", obs_dim, low=1)
        self.n_actions = validate.integer("n_actions", n_actions, low=1)
        self.net = mlp((self.obs_dim, *validate.sizes("hidden", hidden), self.n_actions),
                       activation)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def distribution(self, obs: torch.Tensor) -> Categorical:
        """The action distribution at each observation (argument validation off: ~8x faster)."""
        return Categorical(logits=self(obs), validate_args=False)

    def act(self, obs: np.ndarray, greedy: bool = False, *,
            generator: torch.Generator | None = None) -> np.ndarray:
        """Sample one action per row of ``obs`` (N, obs_dim), NumPy in and out: shape (N,).

        This is the ``policy`` a rollout collector calls once per vector step: one forward pass
        for all N environments, no gradient. Actions are drawn from π = softmax(f_θ(s)) by
        ``torch.multinomial`` with the caller's ``generator`` (on the policy's device; None:
        torch's global generator): ``Categorical(logits=z).sample()`` draws the same way but
        cannot take a generator. ``greedy=True`` takes the most probable action instead. NaN or
        +inf logits raise a ValueError that counts the rows (no action can be drawn from them);
        a −inf logit is an action never drawn.
        """
        if not isinstance(obs, torch.Tensor):
            obs = np.asarray(obs)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape (N, {self.obs_dim}), got {tuple(obs.shape)}")
        first = self.net[0].weight
        with torch.no_grad():
            logits = self(torch.as_tensor(obs, dtype=first.dtype, device=first.device))
            bad = logits.isnan() | (logits == float("inf"))
            if bad.any():  # one test per call; the rows are counted on failure
                _refuse_nan(bad)
            if greedy:
                return logits.argmax(-1).cpu().numpy()
            probs = torch.softmax(logits, dim=-1)
            return torch.multinomial(probs, 1, generator=generator).squeeze(1).cpu().numpy()


def _refuse_nan(bad: torch.Tensor) -> None:
    """No action can be drawn from NaN or +inf logits (softmax gives NaN probabilities)."""
    rows = int(bad.any(-1).sum())
    raise ValueError(f"the policy's logits hold NaN or +inf for {rows} of {bad.shape[0]} "
                     "observations: NaN in those observations or in the weights (a diverged "
                     "update?); no action can be sampled")


class ValueNet(nn.Module):
    """A learned baseline V_w(s) ≈ E[G_t | s_t = s]: an MLP from (B, obs_dim) to (B,)."""

    def __init__(self, obs_dim: int, hidden: tuple[int, ...] = (64,),
                 activation: type[nn.Module] = nn.Tanh):
        super().__init__()
        obs_dim = validate.integer("obs_dim", obs_dim, low=1)
        self.net = mlp((obs_dim, *validate.sizes("hidden", hidden), 1), activation)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


def _check_batch(logits: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> None:
    for name, x in (("logits", logits), ("actions", actions), ("weights", weights)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, n_actions), got {tuple(logits.shape)}")
    b, n = logits.shape
    if tuple(actions.shape) != (b,) or actions.is_floating_point():
        raise ValueError(f"actions must be integer indices of shape ({b},), got "
                         f"{actions.dtype} of shape {tuple(actions.shape)}")
    if tuple(weights.shape) != (b,):
        raise ValueError(f"weights must have shape ({b},), got {tuple(weights.shape)}")
    if weights.requires_grad:
        raise ValueError("weights carry gradient: the returns/advantages are constants in the "
                         "REINFORCE loss; pass weights.detach()")
    # NaN would pass through the sum into every gradient; a bool "action" would index quietly
    validate.tensor("logits", logits, dtype="float", finite=True, allow=("-inf",))
    validate.tensor("actions", actions, dtype="int", low=0, high=n - 1)
    validate.tensor("weights", weights, finite=True)


def logprob_loss(logits: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """−Σ_b Ψ_b log π(a_b|s_b) with ``torch.distributions.Categorical``; shapes (B, A), (B,), (B,)."""
    _check_batch(logits, actions, weights)
    log_prob = Categorical(logits=logits, validate_args=False).log_prob(actions)
    return -(log_prob * weights).sum()


def cross_entropy_loss(logits: torch.Tensor, actions: torch.Tensor,
                       weights: torch.Tensor) -> torch.Tensor:
    """Σ_b Ψ_b CE(z_b, a_b): cross-entropy with the taken action as label, weighted, summed."""
    _check_batch(logits, actions, weights)
    return (F.cross_entropy(logits, actions, reduction="none") * weights).sum()


def log_softmax_loss(logits: torch.Tensor, actions: torch.Tensor,
                     weights: torch.Tensor) -> torch.Tensor:
    """The same loss by hand: log softmax(z)_a = z_a − max z − log Σ_j exp(z_j − max z)."""
    _check_batch(logits, actions, weights)
    shifted = logits - logits.max(dim=1, keepdim=True).values  # exp cannot overflow
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    taken = log_probs.gather(1, actions.long()[:, None]).squeeze(1)
    return -(taken * weights).sum()


LOSSES = {"categorical log-prob": logprob_loss, "cross-entropy": cross_entropy_loss,
          "hand-written log-softmax": log_softmax_loss}
