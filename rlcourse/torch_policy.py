r"""A categorical policy in PyTorch and the REINFORCE loss written three ways (03_torch_cross_entropy).

The REINFORCE loss of a batch of B steps with logits z_b = f_θ(s_b), taken actions a_b and
weights Ψ_b (a return, reward-to-go or advantage, treated as a constant):

.. math:: L(\theta) = -\sum_b \Psi_b \log \pi_\theta(a_b \mid s_b)
          = \sum_b \Psi_b\, \mathrm{CE}(z_b, a_b),

i.e. cross-entropy with the *taken* action as the label, each step weighted by its return.
Minimising L ascends J: ∇L = −ĝ, the REINFORCE gradient estimate.
"""

from __future__ import annotations

import weakref

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
        for all N environments, no gradient. Actions are drawn from softmax(f_θ(s)) with the
        Gumbel-max trick, argmax_a (z_a − log E_a) with E_a ~ Exp(1) drawn from ``generator``
        (on the policy's device; None: torch's global generator): the same distribution as
        ``Categorical(logits=z).sample()`` (whose ``torch.multinomial`` draws one sample the same
        way, after a softmax and checks that cost more than the draw for a handful of rows).
        ``greedy=True`` takes the most probable action instead. NaN logits raise a ValueError
        (argmax would return action 0 without a word).

        On the CPU, f_θ runs in NumPy on views of the parameters (no copy: an optimiser step
        is seen at once), because for a dozen rows torch's overhead per operation costs more
        than the arithmetic; a network with other layers, hooks or another ``forward`` runs
        through torch as usual.
        """
        if not isinstance(obs, torch.Tensor):
            obs = np.asarray(obs)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"obs must have shape (N, {self.obs_dim}), got {tuple(obs.shape)}")
        layers = None if isinstance(obs, torch.Tensor) else self._numpy_layers()
        if layers is not None:
            z = np.asarray(obs, dtype=layers[0][0].dtype)
            for weight, bias, tanh in layers:
                z = z @ weight.T + bias
                if tanh:
                    np.tanh(z, out=z)
            if np.isnan(z.sum()):  # one cheap test per call; rows counted only on failure
                _refuse_nan(np.isnan(z).any(axis=-1))
            if not greedy:
                noise = torch.empty(z.shape, dtype=torch.float64).exponential_(
                    generator=generator).numpy()
                z = z - np.log(noise)
            return z.argmax(-1)
        first = self.net[0].weight
        with torch.no_grad():
            logits = self(torch.as_tensor(obs, dtype=first.dtype, device=first.device))
            _refuse_nan(logits.isnan().any(-1).cpu().numpy())
            if not greedy:
                noise = torch.empty_like(logits).exponential_(generator=generator)
                logits = logits - noise.log()
            return logits.argmax(-1).cpu().numpy()

    def _numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray, bool]] | None:
        """``(weight, bias, tanh after)`` per Linear layer as NumPy views of the parameters, or
        None where that would not be this module's forward pass on the CPU."""
        net = self.net
        modules = tuple(net._modules.values())
        # A view stays valid while its parameter keeps its storage, shape and strides (in-place
        # updates, as every optimiser and load_state_dict make, are seen through it); any other
        # change of a parameter or of a layer builds new views.
        key = (modules, tuple(type(m) for m in modules),
               tuple(None if p is None else (p.data_ptr(), p.shape, p.stride(), p.dtype)
                     for m in modules for p in m._parameters.values()))
        cached = _VIEWS.get(self)
        if cached is None or cached[0] != key:
            cached = _VIEWS[self] = (key, _views(modules))
        if (cached[1] is None or not _plain_forward(self, net, modules)
                or _hooked(self, net, *modules)):
            return None
        return cached[1]


# policy -> (key, views); kept outside the module so that copies and saved state never hold them
_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _views(modules) -> list[tuple[np.ndarray, np.ndarray, bool]] | None:
    views: list[tuple[np.ndarray, np.ndarray, bool]] = []
    for m in modules:
        weight, bias = m._parameters.get("weight"), m._parameters.get("bias")
        if (type(m) is nn.Linear and weight is not None and bias is not None
                and weight.device.type == "cpu" and weight.dtype in (torch.float32, torch.float64)
                and bias.dtype == weight.dtype):
            views.append((weight.detach().numpy(), bias.detach().numpy(), False))
        elif type(m) is nn.Tanh and views and not views[-1][2]:
            views[-1] = (*views[-1][:2], True)
        else:
            return None
    return views or None


def _plain_forward(policy: nn.Module, net: nn.Module, modules) -> bool:
    """Whether ``policy(x)`` is ``net``'s layers applied in turn: no ``forward`` replaced, on a
    class or on an object."""
    return (type(policy).forward is CategoricalPolicy.forward and type(net) is nn.Sequential
            and "forward" not in policy.__dict__ and "forward" not in net.__dict__
            and not any("forward" in m.__dict__ for m in modules))


def _refuse_nan(rows: np.ndarray) -> None:
    """No action can be drawn from NaN logits (argmax would quietly return action 0)."""
    if rows.any():
        raise ValueError(f"the policy's logits hold NaN for {int(rows.sum())} of {rows.size} "
                         "observations: NaN in those observations or in the weights (a diverged "
                         "update?); no action can be sampled")


def _hooked(*modules: nn.Module) -> bool:
    """Whether forward hooks (the modules' own or global ones) would run."""
    from torch.nn.modules import module as module_mod

    return bool(module_mod._global_forward_hooks or module_mod._global_forward_pre_hooks
                or any(m._forward_hooks or m._forward_pre_hooks for m in modules))


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
