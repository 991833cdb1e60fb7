"""A softmax policy network in plain NumPy, with backprop written by hand (notebook 02).

The network maps a batch of states to one logit per action and a softmax turns logits into
action probabilities::

    obs (B, D) --W1, b1--> pre (B, H) --tanh--> h (B, H) --W2, b2--> logits z (B, A) --softmax--> π

Like CS231n's layers, :func:`forward` returns ``(logits, cache)`` and :func:`backward` takes
dL/dlogits (any scalar L) and the cache and returns dL/dθ for every weight. The gradient of the
log-probability of the chosen action with respect to the logits is

.. math:: \\frac{\\partial \\log \\pi(a \\mid s)}{\\partial z_j} = \\mathbb{1}[j = a] - \\pi_j ,

which :func:`log_prob_grad` computes: every logit gets a share, not only the chosen one. A
backward pass that starts one layer higher, at the probabilities, first goes through the
softmax's Jacobian (:func:`softmax_backward`). The same network with a linear output is the mean
μ(s) of a Gaussian policy (:func:`gaussian_log_prob`, :func:`gaussian_log_prob_grad`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from rlcourse import validate

Params = dict[str, np.ndarray]
PARAM_NAMES = ("W1", "b1", "W2", "b2")


# --- probabilities ------------------------------------------------------------------------------

def softmax(logits: ArrayLike) -> np.ndarray:
    r"""Softmax over the last axis, :math:`\pi_j = e^{z_j - m} / \sum_k e^{z_k - m}`, m = max z.

    Subtracting the row maximum changes nothing mathematically and keeps ``exp`` from
    overflowing (``np.exp(1000.0)`` is inf). Shape in = shape out, e.g. (B, A).
    """
    z = _logits(logits)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: ArrayLike) -> np.ndarray:
    r"""Log-softmax over the last axis, :math:`\log\pi_j = (z_j - m) - \log\sum_k e^{z_k - m}`.

    Computed without forming π first: ``np.log(softmax(z))`` gives -inf once a probability
    underflows to 0 (a logit gap of about 750), while this stays finite. Shape in = shape out.
    """
    z = _logits(logits)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_prob(logits: ArrayLike, actions: ArrayLike) -> np.ndarray:
    """log π(a_b | s_b) for each row b: logits (B, A), integer actions (B,) -> (B,)."""
    z = _logits(logits)
    a = _actions(actions, z)
    return np.take_along_axis(log_softmax(z), a[:, None], axis=1)[:, 0]


def log_prob_grad(logits: ArrayLike, actions: ArrayLike) -> np.ndarray:
    r"""∂ log π(a_b|s_b) / ∂z_{b,j} = 1[j = a_b] − π_{b,j}: one-hot(a) − softmax(z), shape (B, A).

    Derivation: :math:`\log\pi_a = z_a - \log\sum_k e^{z_k}`; the first term gives the one-hot,
    the log-sum-exp gives :math:`e^{z_j}/\sum_k e^{z_k} = \pi_j` at every logit j.
    """
    z = _logits(logits)
    a = _actions(actions, z)
    return one_hot(a, z.shape[1]) - softmax(z)


def one_hot(actions: ArrayLike, n_actions: int) -> np.ndarray:
    """Rows of the identity: integer actions (B,) -> float64 (B, n_actions)."""
    n_actions = validate.integer("n_actions", n_actions, low=1)
    a = np.asarray(actions)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"actions must be a 1-D integer array, got dtype {a.dtype} and "
                         f"shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= n_actions):
        raise ValueError(f"actions must lie in [0, {n_actions}), got values in "
                         f"[{a.min()}, {a.max()}]")
    return np.eye(n_actions)[a]


def sample_actions(probs: ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """One action per row of ``probs`` (B, A), drawn with those probabilities; int64 (B,).

    Inverse-CDF sampling for the whole batch at once: the first j with u < π_0 + ... + π_j.
    Each row must be a probability vector: finite, non-negative, summing to 1 (within 1e-6,
    e.g. a float32 softmax). Anything else raises: a NaN, negative or all-zero row would
    otherwise return the same action every time, silently.
    """
    p = _float_array(probs, "probs")
    if p.ndim != 2 or p.shape[1] == 0:
        raise ValueError(f"probs must have shape (B, A) with A >= 1, got shape {p.shape}")
    _check_rng(rng)
    if not np.isfinite(p).all():
        raise ValueError(f"probs must be finite, got {int((~np.isfinite(p)).sum())} NaN/inf "
                         "value(s) (a softmax of NaN logits?)")
    if (p < 0).any():
        raise ValueError(f"probs must be non-negative, got a minimum of {p.min():g} "
                         "(logits or log-probabilities passed as probabilities?)")
    totals = p.sum(axis=1)
    bad = np.abs(totals - 1.0) > 1e-6
    if bad.any():
        raise ValueError(f"each row of probs must sum to 1, got row sums such as "
                         f"{totals[bad][0]:g} (an all-zero row, or unnormalised scores? "
                         "use softmax(logits))")
    cdf = np.cumsum(p, axis=1)
    u = rng.random((p.shape[0], 1)) * cdf[:, -1:]  # scaled by the total against rounding
    return (u < cdf).argmax(axis=1)


def softmax_backward(dprobs: ArrayLike, probs: ArrayLike) -> np.ndarray:
    r"""Backward through the softmax: dL/dz from dL/dπ, both (B, A).

    The softmax's Jacobian is :math:`\partial\pi_i/\partial z_j = \pi_i(\mathbb{1}[i=j] - \pi_j)`
    (every probability depends on every logit), so

    .. math:: \frac{\partial L}{\partial z_j} = \pi_j\Big(\frac{\partial L}{\partial \pi_j}
              - \sum_i \pi_i \frac{\partial L}{\partial \pi_i}\Big).

    With dL/dπ = −G/π_a at the chosen action a and 0 elsewhere (the loss −G log π_a, non-zero at
    one output only) this is −G (one-hot(a) − π): non-zero at every logit.
    """
    g = _float_array(dprobs, "dprobs")
    p = _float_array(probs, "probs")
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (B, A), got shape {p.shape}")
    if g.shape != p.shape:
        raise ValueError(f"dprobs must have the shape of probs {p.shape}, got {g.shape}")
    _require_finite(g, "dprobs")
    _require_finite(p, "probs")
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


# --- a Gaussian policy: the same network's outputs are the mean μ(s) ----------------------------

def gaussian_log_prob(mean: ArrayLike, log_std: ArrayLike, actions: ArrayLike) -> np.ndarray:
    r"""log π(a|s) of a diagonal Gaussian, summed over the action dimensions; (B, d) -> (B,).

    .. math:: \log\pi(a \mid s) = \sum_{k=1}^{d} \Big[-\frac{(a_k - \mu_k)^2}{2\sigma_k^2}
              - \log\sigma_k - \tfrac12 \log 2\pi\Big], \qquad \sigma_k = e^{\log\sigma_k}

    Args:
        mean: μ(s), shape (B, d) (the network's outputs).
        log_std: log σ, shape (d,) (one per action dimension, state-independent) or (B, d).
        actions: the actions taken, shape (B, d).
    """
    mu, ls, a = _gaussian_args(mean, log_std, actions)
    z = (a - mu) * np.exp(-ls)
    return np.sum(-0.5 * z**2 - ls - 0.5 * np.log(2 * np.pi), axis=-1)


def gaussian_log_prob_grad(mean: ArrayLike, log_std: ArrayLike,
                           actions: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""(∂ log π/∂μ, ∂ log π/∂log σ) of a diagonal Gaussian, each of shape (B, d).

    .. math:: \frac{\partial \log\pi}{\partial \mu_k} = \frac{a_k - \mu_k}{\sigma_k^2}, \qquad
              \frac{\partial \log\pi}{\partial \log\sigma_k}
              = \frac{(a_k - \mu_k)^2}{\sigma_k^2} - 1 .

    The first is what :func:`backward` receives in place of dlogits (times −A_t for the loss);
    sum the second over the batch rows for a state-independent log σ of shape (d,).
    """
    mu, ls, a = _gaussian_args(mean, log_std, actions)
    inv_var = np.exp(-2.0 * ls)
    diff = a - mu
    return diff * inv_var, diff**2 * inv_var - 1.0


# --- the two-action special case: one sigmoid output (a Bernoulli policy) -----------------------

def sigmoid(z: ArrayLike) -> np.ndarray:
    r"""σ(z) = 1 / (1 + e^{−z}), evaluated without overflow for large |z|; shape in = shape out."""
    x = _finite(z, "z")
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bernoulli_log_prob(z: ArrayLike, actions: ArrayLike) -> np.ndarray:
    r"""log π(a) for π(1) = σ(z): :math:`a z - \log(1 + e^{z})`; z and a (0 or 1) of one shape."""
    x = _finite(z, "z")
    a = _binary_actions(actions, x)
    return a * x - np.logaddexp(0.0, x)


def bernoulli_log_prob_grad(z: ArrayLike, actions: ArrayLike) -> np.ndarray:
    r"""∂ log π(a) / ∂z = a − σ(z) for the one-neuron Bernoulli policy; shape of z."""
    x = _finite(z, "z")
    return _binary_actions(actions, x) - sigmoid(x)


# --- the network --------------------------------------------------------------------------------

class ForwardCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`: the input, the hidden layer, W2."""

    obs: np.ndarray  # (B, D)
    h: np.ndarray    # (B, H), tanh activations
    W2: np.ndarray   # (H, A)


def init_params(obs_dim: int, n_actions: int, hidden: int = 64,
                rng: np.random.Generator | None = None, out_scale: float = 0.01) -> Params:
    """Weights of the D-H-A tanh network, as a dict ``W1 (D,H), b1 (H,), W2 (H,A), b2 (A,)``.

    Hidden layer: PyTorch's default ``nn.Linear`` initialisation, uniform in ±1/√fan_in. Output
    layer: the same, times ``out_scale`` (0.01, as CleanRL does), so that the initial policy is
    almost uniform and its entropy close to log A.
    """
    obs_dim = validate.integer("obs_dim", obs_dim, low=1)
    n_actions = validate.integer("n_actions", n_actions, low=1)
    hidden = validate.integer("hidden", hidden, low=1)  # one hidden layer: one width
    rng = np.random.default_rng() if rng is None else _check_rng(rng)
    out_scale = validate.number("out_scale", out_scale, low=0.0, low_open=True)
    lim1, lim2 = 1.0 / np.sqrt(obs_dim), 1.0 / np.sqrt(hidden)
    return {
        "W1": rng.uniform(-lim1, lim1, size=(obs_dim, hidden)),
        "b1": rng.uniform(-lim1, lim1, size=hidden),
        "W2": out_scale * rng.uniform(-lim2, lim2, size=(hidden, n_actions)),
        "b2": np.zeros(n_actions),
    }


def forward(params: Mapping[str, np.ndarray], obs: ArrayLike) -> tuple[np.ndarray, ForwardCache]:
    """Logits of a batch of states: ``z = tanh(obs @ W1 + b1) @ W2 + b2``.

    Args:
        params: ``W1 (D,H), b1 (H,), W2 (H,A), b2 (A,)`` (see :func:`init_params`).
        obs: shape (B, D); a single state is a batch of one, ``obs[None]``.

    Returns:
        ``(logits, cache)``: logits of shape (B, A) and the :class:`ForwardCache` for backward.
    """
    W1, b1, W2, b2 = _check_params(params)
    x = _float_array(obs, "obs")
    if x.ndim != 2 or x.shape[1] != W1.shape[0]:
        raise ValueError(f"obs must have shape (B, {W1.shape[0]}), got shape {x.shape} "
                         "(a single state: pass obs[None])")
    _require_finite(x, "obs")
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    if not np.isfinite(logits).all():  # the observations are finite: the weights are not
        _check_params_finite(params)
        raise ValueError("the logits overflowed (not finite for finite observations and "
                         "weights): the weights are far too large (a diverged update?)")
    return logits, ForwardCache(x, h, W2)


def backward(dlogits: ArrayLike, cache: ForwardCache) -> Params:
    r"""Gradients of a scalar L with respect to every weight, given dL/dlogits (B, A).

    Chain rule, layer by layer from the top (rows of the batch add up in the weight gradients)::

        dW2 = h.T @ dz            db2 = dz.sum(0)
        dh  = dz @ W2.T
        dpre = dh * (1 - h**2)    # tanh'(pre) = 1 - tanh(pre)^2
        dW1 = obs.T @ dpre        db1 = dpre.sum(0)

    Returns:
        A dict with the keys and shapes of the parameters.
    """
    if not isinstance(cache, ForwardCache):
        raise TypeError(f"cache must be the ForwardCache returned by forward, got "
                        f"{type(cache).__name__}")
    dz = _float_array(dlogits, "dlogits")
    expected = (cache.obs.shape[0], cache.W2.shape[1])
    if dz.ndim == 0:
        # the learner's `backpropagate(G * log(probs[action]))`: that number is minus the loss's
        # value; the chain rule needs how the loss changes with each output
        raise ValueError(f"dlogits must have the shape of the logits {expected}: the gradient "
                         f"of the loss with respect to every logit, got a scalar ({float(dz):g}); "
                         "a number such as G·log π(a|s) (minus the loss L = −G·log π(a|s)) is a "
                         "value, not the gradient ∂L/∂z")
    if dz.shape != expected:
        raise ValueError(f"dlogits must have the shape of the logits {expected}, got {dz.shape}")
    _require_finite(dz, "dlogits")
    dh = dz @ cache.W2.T
    dpre = dh * (1.0 - cache.h**2)
    return {"W1": cache.obs.T @ dpre, "b1": dpre.sum(axis=0),
            "W2": cache.h.T @ dz, "b2": dz.sum(axis=0)}


def policy_gradient(params: Mapping[str, np.ndarray], obs: ArrayLike, actions: ArrayLike,
                    weights: ArrayLike) -> tuple[float, Params]:
    r"""The weighted log-likelihood :math:`\sum_b w_b \log\pi(a_b \mid s_b)` and its gradient.

    With ``weights`` the returns G_t of an episode, the gradient is REINFORCE's estimate
    :math:`\hat g = \sum_t G_t \nabla_\theta \log\pi(a_t|s_t)` of ∇J (γ^t dropped, as from
    notebook 02 on): one backward pass with d/dz_b = w_b (one-hot(a_b) − π_b), the
    return-weighted cross-entropy gradient with its sign flipped. The *value* is minus the
    surrogate loss L, not the expected return J: it says nothing about how good the policy is.

    Args:
        params: the network's weights.
        obs: (B, D) states; actions: (B,) integers; weights: (B,) finite numbers (returns,
            advantages).

    Returns:
        ``(weighted_logp, grads)`` with grads keyed like ``params``. Ascend it: θ ← θ + α ĝ.
    """
    logits, cache = forward(params, obs)
    a = _actions(actions, logits)
    w = _float_array(weights, "weights")
    if w.shape != a.shape:
        raise ValueError(f"weights must have shape {a.shape} (one per state), got {w.shape}")
    _require_finite(w, "weights")
    objective = float(np.sum(w * log_prob(logits, a)))
    dlogits = w[:, None] * log_prob_grad(logits, a)  # (B, 1) * (B, A): weight each row
    return objective, backward(dlogits, cache)


# --- optimisers ---------------------------------------------------------------------------------

def ascent_step(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                lr: float) -> Params:
    """Plain gradient ascent, θ ← θ + α g, returned as a new dict (``params`` is not changed)."""
    _check_lr(lr)
    _check_grads(params, grads)
    _check_params_finite(params)
    return {k: params[k] + lr * grads[k] for k in params}


class Adam:
    """Adam (Kingma & Ba, 2015), written out; updates the arrays of ``params`` in place.

    For every parameter θ with gradient g (of the objective; ``maximize=True`` ascends it, as
    ``torch.optim.Adam(maximize=True)`` does)::

        m ← β1 m + (1 − β1) g          v ← β2 v + (1 − β2) g²
        m̂ = m / (1 − β1^t)             v̂ = v / (1 − β2^t)
        θ ← θ ∓ lr · m̂ / (√v̂ + ε)
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False):
        _check_lr(lr)
        if not isinstance(params, dict) or not all(isinstance(v, np.ndarray) for v in
                                                    params.values()):
            raise TypeError("params must be a dict of NumPy arrays (updated in place), got "
                            f"{type(params).__name__}")
        _check_params_finite(params)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (β1, β2), each in [0, 1), got {betas!r}")
        for i, b in enumerate(betas):  # checked; kept as given (β^t in the caller's precision)
            validate.number(f"betas[{i}]", b, low=0.0, high=1.0, high_open=True)
        eps = validate.number("eps", eps, low=0.0, low_open=True)
        maximize = validate.flag("maximize", maximize)
        self.params = params
        self.lr, self.betas, self.eps, self.maximize = float(lr), betas, float(eps), maximize
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        """One update of every parameter from ``grads`` (same keys and shapes as ``params``)."""
        _check_grads(self.params, grads)
        self.t += 1
        b1, b2 = self.betas
        sign = 1.0 if self.maximize else -1.0
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            self.params[k] += sign * self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# --- input validation ---------------------------------------------------------------------------

def _float_array(value: ArrayLike, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim == 0 and name in ("logits", "probs"):
        raise ValueError(f"{name} must have at least one axis (the actions), got a scalar")
    return arr


def _require_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} "
                         "NaN/inf value(s)")


def _finite(value: ArrayLike, name: str) -> np.ndarray:
    arr = _float_array(value, name)
    _require_finite(arr, name)
    return arr


def _logits(value: ArrayLike) -> np.ndarray:
    """Logits: numbers, at least one axis; −inf allowed (an action ruled out), NaN and +inf not."""
    z = _float_array(value, "logits")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("logits must not be NaN or +inf (−inf is allowed: an action ruled out), "
                         f"got {int(np.isnan(z).sum())} NaN and {int(np.isposinf(z).sum())} "
                         "+inf value(s)")
    if z.shape[-1] == 0:
        raise ValueError(f"logits must have at least one action on the last axis, got shape "
                         f"{z.shape}")
    if np.isneginf(z).all(axis=-1).any():
        raise ValueError("logits must have a finite value in every row: a row of −inf rules "
                         "out every action")
    return z


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator (np.random.default_rng(seed)), got "
                        f"{type(rng).__name__}")
    return rng


def _gaussian_args(mean, log_std, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = _finite(mean, "mean")
    if mu.ndim != 2:
        raise ValueError(f"mean must have shape (B, d), got shape {mu.shape}")
    ls = _finite(log_std, "log_std")
    if ls.shape not in ((mu.shape[1],), mu.shape):
        raise ValueError(f"log_std must have shape ({mu.shape[1]},) or {mu.shape}, got "
                         f"{ls.shape} (log σ, not σ: one per action dimension)")
    a = _finite(actions, "actions")
    if a.shape != mu.shape:
        # a (B,) against a (B, 1) mean would broadcast to (B, B) and give a wrong log-density
        raise ValueError(f"actions must have the shape of mean {mu.shape}, got {a.shape}")
    return mu, ls, a


def _actions(actions: ArrayLike, logits: np.ndarray) -> np.ndarray:
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, A), got shape {logits.shape}")
    a = np.asarray(actions)
    if a.shape != (logits.shape[0],):
        raise ValueError(f"actions must have shape ({logits.shape[0]},), one per row of the "
                         f"logits, got shape {a.shape}")
    one_hot(a, logits.shape[1])  # validates dtype and range
    return a


def _binary_actions(actions: ArrayLike, z: np.ndarray) -> np.ndarray:
    a = np.asarray(actions)
    if a.shape != z.shape:
        raise ValueError(f"actions must have the shape of z {z.shape}, got {a.shape}")
    if not np.all((a == 0) | (a == 1)):
        raise ValueError("actions of a Bernoulli policy must be 0 or 1")
    return a.astype(np.float64)


def _check_params(params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    if not isinstance(params, Mapping) or any(k not in params for k in PARAM_NAMES):
        keys = list(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {PARAM_NAMES}, got {keys}")
    W1, b1, W2, b2 = (np.asarray(params[k]) for k in PARAM_NAMES)
    consistent = (W1.ndim == 2 and W2.ndim == 2 and b1.shape == (W1.shape[1],)
                  and W2.shape[0] == W1.shape[1] and b2.shape == (W2.shape[1],))
    if not consistent:
        raise ValueError("params have inconsistent shapes: expected W1 (D, H), b1 (H,), "
                         f"W2 (H, A), b2 (A,), got W1 {W1.shape}, b1 {b1.shape}, "
                         f"W2 {W2.shape}, b2 {b2.shape}")
    return W1, b1, W2, b2


def _check_grads(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
    if not isinstance(grads, Mapping) or set(grads) != set(params):
        keys = sorted(grads) if isinstance(grads, Mapping) else type(grads).__name__
        raise ValueError(f"grads must be a dict with the keys of params {sorted(params)}, "
                         f"got {keys}")
    for k in params:
        if np.shape(grads[k]) != np.shape(params[k]):
            raise ValueError(f"grads[{k!r}] must have shape {np.shape(params[k])}, "
                             f"got {np.shape(grads[k])}")
        _require_finite(_float_array(grads[k], f"grads[{k!r}]"), f"grads[{k!r}]")


def _check_lr(lr: float) -> None:
    validate.number("lr", lr, low=0.0, low_open=True)


def _check_params_finite(params: Mapping[str, np.ndarray]) -> None:
    """NaN or inf weights (a diverged update) would make every later number NaN."""
    for k in params:
        validate.array(f"params[{k!r}]", params[k], finite=True)
