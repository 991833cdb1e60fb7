"""Checks for the exercises of 02_numpy_backprop: softmax, the backward pass, the episode's
policy gradient, the REINFORCE update and the output gradient that a hand-written backward pass
receives, each naming the typical mistake when it sees it.

They follow docs/conventions.md: the weight of step t is G_t (γ^t dropped from 02 on, and named
as 01's exact-gradient factor when an answer includes it); one episode is reduced by the sum over
its steps (the mean over steps is named as the other convention); G_0 at every step is REINFORCE
as first written (unbiased, higher variance), named as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rlcourse import numpy_policy, returns
from rlcourse.checks.feedback import Exercise, Feedback, close, diagnose, fmt, to_numpy

# --- exercise 1: a stable softmax and log-softmax -----------------------------------------------

_SOFTMAX_CASES = (
    # square first: a max/sum without keepdims then broadcasts silently instead of raising
    np.array([[1.0, 2.0], [3.0, 5.0]]),
    np.array([[0.5, -1.0, 2.0]]),
    np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0], [-3.0, 0.0, 2.0, 2.0]]),
    np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]),  # exp overflows/underflows
    np.array([[0.0, -800.0], [50.0, -750.0]]),  # log(softmax) underflows to log(0) = -inf
)


_EXP_OVERFLOWS = np.log(np.finfo(np.float64).max)  # ≈ 709.8: np.exp of more is inf


def _naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _no_keepdims(z, log=False):
    shifted = z - z.max(axis=-1)  # (B, A) - (B,): broadcasts along the wrong axis when B == A
    if log:
        return shifted - np.log(np.exp(shifted).sum(axis=-1))
    e = np.exp(shifted)
    return e / e.sum(axis=-1)


def _over_axis0(z, log=False):
    shifted = z - z.max(axis=0, keepdims=True)
    if log:
        return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    e = np.exp(shifted)
    return e / e.sum(axis=0, keepdims=True)


def _over_everything(z, log=False):
    shifted = z - z.max()
    if log:
        return shifted - np.log(np.exp(shifted).sum())
    return np.exp(shifted) / np.exp(shifted).sum()


_AXIS_MISTAKES = {
    "broadcasting over the batch is wrong: you normalised over axis 0 (the batch); each row "
    "(one state) must be normalised over its actions, the last axis": _over_axis0,
    "broadcasting over the batch is wrong: you normalised over the whole array at once; "
    "normalise each row over the last axis (axis=-1)": _over_everything,
    "broadcasting over the batch is wrong: `z.max(axis=-1)` has shape (B,), and subtracting "
    "it from (B, A) pairs row maxima with columns; use `keepdims=True` (shape (B, 1))":
        _no_keepdims,
}


def _axis_mistakes(z: np.ndarray, log: bool) -> dict[str, Callable[[], np.ndarray]]:
    return {m: (lambda f=f: f(z, log=log)) for m, f in _AXIS_MISTAKES.items()}


def check_softmax(softmax: Callable, log_softmax: Callable) -> Feedback:
    """``softmax(z)`` and ``log_softmax(z)`` over the last axis of a batch of logits (B, A)."""
    ex = Exercise("softmax and log_softmax")
    for z in _SOFTMAX_CASES:
        case = f"z = {fmt(z)}"
        want_p = numpy_policy.softmax(z)
        with np.errstate(all="ignore"):  # a naive exp(1000) warns; the check reports it in words
            raw = ex.call(softmax, z, case=case)
        raw_np = to_numpy(raw)
        if raw_np is not None and raw_np.shape == z.shape and not np.all(np.isfinite(raw_np)):
            ex.fail("softmax overflowed: np.exp(1000) is inf and inf/inf is NaN. Subtract each "
                    "row's maximum before exp (it cancels in the ratio)", case)
        got_p = ex.as_array(raw, shape=z.shape, case=case, what="softmax(z)")
        if not close(got_p, want_p, rtol=1e-6, atol=1e-12):
            with np.errstate(all="ignore"):
                msg = diagnose(got_p, _axis_mistakes(z, log=False))
            ex.fail(msg or f"expected {fmt(want_p)}, got {fmt(got_p)}", case)

        want_lp = numpy_policy.log_softmax(z)
        with np.errstate(all="ignore"):
            raw = ex.call(log_softmax, z, case=case)
        raw_np = to_numpy(raw)
        if raw_np is not None and raw_np.shape == z.shape and not np.all(np.isfinite(raw_np)):
            if np.max(z) > _EXP_OVERFLOWS:
                ex.fail("log_softmax returned -inf or NaN: np.exp(1000) overflows to inf, so "
                        "log(sum(exp(z))) is inf and z − inf is −inf. Subtract each row's "
                        "maximum m first: log π = (z − m) − log(sum(exp(z − m)))", case)
            ex.fail("log_softmax returned -inf or NaN: np.log(softmax(z)) takes log(0) once a "
                    "probability underflows. Compute (z - max) - log(sum(exp(z - max))) "
                    "directly, without forming the probabilities", case)
        got_lp = ex.as_array(raw, shape=z.shape, case=case, what="log_softmax(z)")
        if not close(got_lp, want_lp, rtol=1e-6, atol=1e-9):
            shifted = z - z.max(axis=-1, keepdims=True)
            with np.errstate(all="ignore"):
                msg = diagnose(got_lp, {
                    "the log-sum-exp term is missing: log π_j = (z_j − m) − log Σ_k exp(z_k − m)":
                        shifted,
                    "you returned the probabilities, not their logarithm": want_p,
                    "the log-sum-exp lost its + m: log Σ_k exp(z_k) = m + log Σ_k exp(z_k − m), "
                    "so z − log Σ_k exp(z_k − m) is off by m; subtract from z − m, or add m back":
                        want_lp + z.max(axis=-1, keepdims=True),
                    **_axis_mistakes(z, log=True),
                })
            ex.fail(msg or f"expected {fmt(want_lp)}, got {fmt(got_lp)}", case)
    return ex.passed(f"{len(_SOFTMAX_CASES)} batches of logits, exp-overflowing ones included")


# --- the conventions' messages (docs/conventions.md §2-§4) --------------------------------------

_GAMMA_T_MESSAGE = (
    "this includes the γ^t factor of 01's exact gradient; from 02 on the course drops it (see 01, "
    "'dropping γ^t'), so the numbers differ by γ^t at step t")

_G0_MESSAGE = (
    "every step was weighted by G_0, the whole episode's return: that is REINFORCE as first "
    "written (an unbiased estimate of ∇J, with a higher variance, as notebook 01 measures); the "
    "course weights step t by G_t, the return from t on, and so does this exercise")

_GAMMA_T_OR_ABSOLUTE_INDEX_MESSAGE = (
    _GAMMA_T_MESSAGE + " (returns discounted from the start of the episode, γ^k at the absolute "
    "index k, are exactly γ^t G_t: G_t discounts from step t, γ^(k−t))")

_STANDARDISED_MESSAGE = (
    "the returns were standardised ((G − mean) / std over the episode's steps): that is an "
    "option with a cost (a time-dependent, slightly biased baseline and a step size that "
    "changes from batch to batch; notebook 03), not the plain return; this exercise weights "
    "step t by G_t itself")


def _standardised(G: np.ndarray) -> np.ndarray | None:
    std = G.std()
    return None if G.size < 2 or std == 0 else (G - G.mean()) / std


def _returns_readings(rewards: np.ndarray, gamma: float) -> dict[str, np.ndarray | None]:
    """Weights a learner computes from the rewards instead of G_t, each named (as 01's check)."""
    T = len(rewards)
    k = np.arange(T)
    G = returns.discounted_returns(rewards, gamma)
    return {
        _GAMMA_T_OR_ABSOLUTE_INDEX_MESSAGE: gamma ** k * G,
        "the returns were summed from the start of the episode, not from t: G_t adds only the "
        "rewards that come after the action at step t (rewards[t], rewards[t+1], ...)":
            np.cumsum(gamma ** k * rewards),
        "the discount exponent of the returns is off by one: rewards[t] (R_{t+1}) is not "
        "discounted, G_t = R_{t+1} + γ R_{t+2} + ...": gamma * G,
        "the returns are reversed: G[t] belongs to step t, so G[0] is the return of the whole "
        "episode": G[::-1],
        _STANDARDISED_MESSAGE: _standardised(G),
    }


def _mean_over_steps_message(what: str, T: int) -> str:
    return (f"this is the mean over all steps; the course's convention is the sum over each "
            f"episode's steps, averaged over episodes (here one episode: the sum); the direction "
            f"of the {what} is the same, the step is smaller by the episode length "
            f"(here T = {T}: ×1/{T})")


# --- shared data for exercises 2-5 --------------------------------------------------------------

def _network(seed: int, obs_dim: int, hidden: int, n_actions: int, batch: int):
    rng = np.random.default_rng(seed)
    params = numpy_policy.init_params(obs_dim, n_actions, hidden=hidden, rng=rng, out_scale=1.0)
    params["b2"] = rng.normal(size=n_actions)
    obs = rng.normal(size=(batch, obs_dim))
    return params, obs, rng


def _grad_dict(ex: Exercise, out: Any, params: Mapping[str, np.ndarray], case: str,
               what: str, batch: int) -> dict[str, np.ndarray]:
    if not isinstance(out, Mapping):
        ex.fail(f"{what} should be a dict with keys {list(numpy_policy.PARAM_NAMES)}, got "
                f"{type(out).__name__}", case)
    missing = [k for k in numpy_policy.PARAM_NAMES if k not in out]
    if missing:
        ex.fail(f"{what} is missing the key(s) {missing}; it needs one entry per weight, "
                f"{list(numpy_policy.PARAM_NAMES)}", case)
    got = {}
    for k in numpy_policy.PARAM_NAMES:
        shape = params[k].shape
        arr = to_numpy(out[k])
        if arr is not None and k.startswith("b") and arr.shape == (batch, *shape):
            ex.fail(f"broadcasting over the batch is wrong: {what}[{k!r}] has one row per state "
                    f"{arr.shape}; the batch's contributions add up: sum over axis 0", case)
        got[k] = ex.as_array(out[k], shape=shape, case=case, what=f"{what}[{k!r}]")
    return got


def _flat(grads: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(grads[k]) for k in numpy_policy.PARAM_NAMES])


def _first_wrong_key(got, want, rtol=1e-6, atol=1e-9) -> str | None:
    for k in numpy_policy.PARAM_NAMES:
        if not close(got[k], want[k], rtol, atol):
            return k
    return None


# --- exercise 2: the backward pass --------------------------------------------------------------

def _backward_no_tanh(dz, cache):
    dh = dz @ cache.W2.T
    return {"W1": cache.obs.T @ dh, "b1": dh.sum(0), "W2": cache.h.T @ dz, "b2": dz.sum(0)}


def _backward_mean(dz, cache):
    return {k: v / dz.shape[0] for k, v in numpy_policy.backward(dz, cache).items()}


def _backward_tanh_of_h(dz, cache):
    dh = dz @ cache.W2.T
    dpre = dh * (1.0 - np.tanh(cache.h) ** 2)
    return {"W1": cache.obs.T @ dpre, "b1": dpre.sum(0), "W2": cache.h.T @ dz, "b2": dz.sum(0)}


def _backward_with_tanh_prime(dz, cache, tanh_prime):
    dh = dz @ cache.W2.T
    dpre = dh * tanh_prime(cache.h)
    return {"W1": cache.obs.T @ dpre, "b1": dpre.sum(0), "W2": cache.h.T @ dz, "b2": dz.sum(0)}


def check_backward(backward: Callable) -> Feedback:
    """``backward(dlogits, cache) -> {"W1", "b1", "W2", "b2"}`` for the tanh network."""
    ex = Exercise("backward")
    sizes = ((4, 5, 3, 6), (4, 8, 2, 1), (3, 4, 2, 16))
    for seed, (d, h, a, b) in enumerate(sizes):
        params, obs, rng = _network(seed, d, h, a, b)
        _, cache = numpy_policy.forward(params, obs)
        dz = rng.normal(size=(b, a))
        case = f"batch of {b} states, obs_dim={d}, hidden={h}, n_actions={a}, random dlogits"
        want = numpy_policy.backward(dz, cache)
        out = ex.call(backward, dz, cache, case=case)
        got = _grad_dict(ex, out, params, case,
                         "the gradients", b)
        wrong = _first_wrong_key(got, want)
        if wrong is None:
            continue
        msg = diagnose(_flat(got), {
            "the tanh's derivative is missing: on the way down through the hidden layer multiply "
            "by 1 − h², where h = tanh(pre) is the cached activation": _flat(_backward_no_tanh(
                dz, cache)),
            "tanh' is 1 − tanh(pre)² = 1 − h²: the cache holds h = tanh(pre) already, so "
            "np.tanh(h) applies tanh twice": _flat(_backward_tanh_of_h(dz, cache)),
            "tanh' is 1 − h², not 1 − h: d tanh(x)/dx = 1 − tanh(x)², with h = tanh(pre) "
            "the cached activation": _flat(_backward_with_tanh_prime(dz, cache, lambda h: 1 - h)),
            "tanh' is 1 − h², not (1 − h²)·h: the extra factor h does not belong to the tanh's "
            "derivative": _flat(_backward_with_tanh_prime(dz, cache, lambda h: (1 - h**2) * h)),
            "you averaged over the batch (divided by B); backward must return the gradient of "
            "the sum, as its input dlogits already holds each row's weight":
                _flat(_backward_mean(dz, cache)),
            "the gradient's sign is flipped": -_flat(want),
        })
        if msg is None and wrong.startswith("b"):
            msg = f"{wrong} is wrong: a bias is added to every row, so its gradient is the sum " \
                  f"of the rows of the gradient below it (axis 0)"
        if msg is None and wrong in ("W1", "W2"):
            msg = (f"{wrong} is wrong (the other gradients may be too): dW = input.T @ dout, "
                   f"with input the layer's input (obs for W1, h for W2)")
        ex.fail(msg or f"{wrong}: expected {fmt(want[wrong])}, got {fmt(got[wrong])}", case)
    return ex.passed(f"all four gradients right on {len(sizes)} networks and batches "
                     "(a batch of one included)")


# --- exercise 3: the episode's policy gradient --------------------------------------------------

def _pg(params, obs, actions, weights, dlogits_fn):
    logits, cache = numpy_policy.forward(params, obs)
    return numpy_policy.backward(dlogits_fn(logits, actions, weights), cache)


def _pg_mistakes(params, obs, actions, G) -> dict[str, Callable[[], np.ndarray]]:
    def onehot(z, a):
        return numpy_policy.one_hot(a, z.shape[1])

    def right(z, a):
        return numpy_policy.log_prob_grad(z, a)

    variants = {
        "only the chosen logit got gradient: ∂ log π(a|s)/∂z_j = 1[j = a] − π_j is non-zero at "
        "every logit j (the softmax couples them), not only at j = a":
            lambda z, a, w: w[:, None] * onehot(z, a) * right(z, a),
        "the −π part is missing: you differentiated z_a alone, as if the chosen output did not "
        "depend on the other logits; log π_a = z_a − log Σ_k exp(z_k), whose second term gives "
        "−π_j at every logit":
            lambda z, a, w: w[:, None] * onehot(z, a),
        "the softmax was skipped: 1/π_a is ∂ log π_a/∂π_a at the *probability* a; the "
        "softmax's Jacobian spreads it over all logits, giving one-hot(a) − π":
            lambda z, a, w: w[:, None] * onehot(z, a) / numpy_policy.softmax(z),
        "the sign is flipped: (π − one-hot) is the gradient of the loss −G log π (descent); "
        "the policy gradient is G (one-hot − π), which the update ascends":
            lambda z, a, w: -w[:, None] * right(z, a),
        "the return weight is missing: each step's ∇ log π(a_t|s_t) must be multiplied by its "
        "return G_t":
            lambda z, a, w: right(z, a),
        "broadcasting over the batch is wrong: `G * (one_hot - probs)` multiplies the action "
        "columns by the returns; weight the rows (time steps): G[:, None] * (one_hot - probs)":
            lambda z, a, w: w[None, :] * right(z, a) if z.shape[0] == z.shape[1] else None,
        _mean_over_steps_message("gradient", len(G)):
            lambda z, a, w: w[:, None] * right(z, a) / len(w),
        _G0_MESSAGE:
            lambda z, a, w: w[0] * right(z, a),
        _STANDARDISED_MESSAGE:
            lambda z, a, w: (None if _standardised(w) is None
                             else _standardised(w)[:, None] * right(z, a)),
    }
    out = {}
    for msg, fn in variants.items():
        def compute(fn=fn):
            logits, _ = numpy_policy.forward(params, obs)
            if fn(logits, actions, G) is None:
                return None
            return _flat(_pg(params, obs, actions, G, fn))
        out[msg] = compute
    return out


def _episode(seed: int, T: int, n_actions: int, obs_dim: int = 4, hidden: int = 5):
    params, obs, rng = _network(seed, obs_dim, hidden, n_actions, T)
    actions = rng.integers(0, n_actions, size=T)
    rewards = rng.uniform(0.0, 2.0, size=T)
    return params, obs, actions, rewards


_EPISODES = ((10, 2, 2), (11, 6, 3), (12, 1, 2), (13, 9, 4))  # (seed, T, A): T == A first


def check_policy_gradient(episode_policy_gradient: Callable) -> Feedback:
    """``episode_policy_gradient(params, obs, actions, G)``: Σ_t G_t ∇_θ log π(a_t|s_t)."""
    ex = Exercise("episode_policy_gradient")
    for seed, T, A in _EPISODES:
        params, obs, actions, rewards = _episode(seed, T, A)
        G = returns.discounted_returns(rewards, 0.9)
        case = (f"T={T} steps, {A} actions, actions={fmt(actions)}, "
                f"returns={fmt(G)}")
        _, want = numpy_policy.policy_gradient(params, obs, actions, G)
        out = ex.call(episode_policy_gradient, params, obs, actions, G, case=case)
        got = _grad_dict(ex, out, params, case, "the gradient", T)
        if _first_wrong_key(got, want) is None:
            continue
        msg = diagnose(_flat(got), _pg_mistakes(params, obs, actions, G))
        ex.fail(msg or "the gradient differs from Σ_t G_t ∇ log π(a_t|s_t); at the logits it "
                "is G_t (one-hot(a_t) − π_t), then backward through the network", case)
    return ex.passed(f"{len(_EPISODES)} episodes, 2 to 4 actions, a one-step episode included")


# --- exercise 4: the update step ----------------------------------------------------------------

def _update_with(params, obs, actions, weights, lr, sign=1.0):
    _, g = numpy_policy.policy_gradient(params, obs, actions, weights)
    return _flat({k: params[k] + sign * lr * g[k] for k in params})


def _update_mistakes(params, obs, actions, rewards, gamma, lr):
    T = len(rewards)
    G = returns.discounted_returns(rewards, gamma)

    def step(weights, lr=lr, sign=1.0):
        return lambda: _update_with(params, obs, actions, weights, lr, sign)

    return {
        "you left the parameters unchanged": _flat(params),
        "the sign is flipped: you subtracted α ĝ; REINFORCE climbs the expected return along "
        "its estimate ĝ = Σ_t G_t ∇ log π(a_t|s_t) (γ^t dropped), θ ← θ + α ĝ":
            step(G, sign=-1.0),
        "the return weight is missing: every step's gradient must be multiplied by its "
        "return G_t": step(np.ones(T)),
        "the steps were weighted by the immediate rewards R_{t+1} (rewards[t]), not by the "
        "returns G_t = R_{t+1} + γ R_{t+2} + ...": step(rewards),
        _G0_MESSAGE: step(np.full(T, G[0])),
        "the steps were weighted by undiscounted returns: gamma is missing":
            step(returns.discounted_returns(rewards, 1.0)),
        "the learning rate is missing: θ ← θ + α ĝ, with ĝ = Σ_t G_t ∇ log π(a_t|s_t)":
            step(G, lr=1.0),
        _mean_over_steps_message("update", T): step(G / T),
        **{msg: (None if w is None else step(w))
           for msg, w in _returns_readings(rewards, gamma).items()},
    }


def check_reinforce_update(reinforce_update: Callable) -> Feedback:
    """``reinforce_update(params, obs, actions, rewards, gamma, lr)`` -> new params:
    θ + α Σ_t G_t ∇_θ log π(a_t|s_t) for one episode."""
    ex = Exercise("reinforce_update")
    cases = ((20, 5, 2, 0.9, 0.1), (21, 7, 3, 0.5, 0.05), (22, 1, 2, 0.99, 0.2))
    for seed, T, A, gamma, lr in cases:
        params, obs, actions, rewards = _episode(seed, T, A)
        case = (f"T={T} steps, {A} actions, rewards={fmt(rewards)}, gamma={gamma}, lr={lr}")
        G = returns.discounted_returns(rewards, gamma)
        _, grads = numpy_policy.policy_gradient(params, obs, actions, G)
        want = {k: params[k] + lr * grads[k] for k in params}
        out = ex.call(reinforce_update, params, obs, actions, rewards, gamma, lr, case=case)
        got = _grad_dict(ex, out, params, case, "the new params", T)
        if _first_wrong_key(got, want, rtol=1e-7, atol=1e-10) is None:
            continue
        msg = diagnose(_flat(got), _update_mistakes(params, obs, actions, rewards, gamma, lr))
        ex.fail(msg or "the new parameters differ from θ + α Σ_t G_t ∇ log π(a_t|s_t)", case)
    return ex.passed(f"{len(cases)} episodes, different γ and α, a one-step episode included")


# --- exercise 5: the output gradient a hand-written backward pass receives ----------------------

def _dloss_dlogits(logits, actions, rewards, gamma, weights=None):
    """∂L/∂z_t for L = −Σ_t w_t log π(a_t|s_t), w = G (the returns) unless given: (T, A)."""
    G = returns.discounted_returns(rewards, gamma) if weights is None else weights
    return -G[:, None] * numpy_policy.log_prob_grad(logits, actions)


def _output_gradient_mistakes(logits, actions, rewards, gamma) -> dict[str, Any]:
    T, A = logits.shape
    G = returns.discounted_returns(rewards, gamma)
    y = numpy_policy.one_hot(actions, A)
    pi = numpy_policy.softmax(logits)
    pi_a = pi[np.arange(T), actions]
    step_loss = -G * np.log(pi_a)  # each step's loss value, the scalar 02 section 5a hands over
    return {
        "the gradient is at the chosen logit only (the softmax was skipped): −G_t/π(a_t|s_t) is "
        "∂L/∂π at the chosen *probability*; a backward that starts at the logits needs it taken "
        "through the softmax's Jacobian first, which gives −G_t(one-hot(a_t) − π_t), non-zero at "
        "every logit": -G[:, None] * y / pi,
        "the gradient is at the chosen logit only: −G_t(1 − π_a) is right at z_a, but every other "
        "logit j gets +G_t π_j too (the softmax couples them)": -G[:, None] * y * (1 - pi),
        "the −π part is missing: you differentiated z_a alone; log π_a = z_a − log Σ_k exp(z_k), "
        "whose second term gives π_j at every logit": -G[:, None] * y,
        "the returns are G₀ at every step: " + _G0_MESSAGE.split(": ", 1)[1]:
            -G[0] * (y - pi),
        "the sign is flipped: G_t(one-hot(a_t) − π_t) is the gradient of the objective "
        "G_t log π(a_t|s_t), which is ascended; backward followed by a descending optimiser "
        "needs the gradient of the loss −G_t log π(a_t|s_t), which is −G_t(one-hot(a_t) − π_t)":
            G[:, None] * (y - pi),
        "the returns are G₀ at every step and the sign is flipped (see both above)":
            G[0] * (y - pi),
        _mean_over_steps_message("gradient", T): -G[:, None] * (y - pi) / T,
        "the steps were weighted by the immediate rewards R_{t+1}, not by the returns "
        "G_t = R_{t+1} + γ R_{t+2} + ...": -rewards[:, None] * (y - pi),
        "the returns are undiscounted: gamma is missing":
            -returns.discounted_returns(rewards, 1.0)[:, None] * (y - pi),
        "the return weight is missing: each row must be multiplied by its G_t": -(y - pi),
        "you differentiated G_t π(a_t|s_t), not G_t log π(a_t|s_t): the log's derivative divides "
        "by π_a": -(G * pi_a)[:, None] * (y - pi),
        "broadcasting over the batch is wrong: `G * (one_hot - probs)` multiplies the action "
        "columns by the returns; weight the rows (time steps): G[:, None] * (one_hot - probs)":
            -G[None, :] * (y - pi) if T == A else None,
        **{msg: (None if w is None else -w[:, None] * (y - pi))
           for msg, w in _returns_readings(rewards, gamma).items()},
        **{f"you put {value} {where}: a value is not a gradient; backward needs "
           "∂L/∂z_t = −G_t(one-hot(a_t) − π_t), how the loss changes with each logit": wrong
           for value, factor in (
               ("each step's loss value −G_t log π(a_t|s_t)", 1.0),
               ("each step's G_t log π(a_t|s_t) (minus its loss value)", -1.0))
           for where, wrong in (
               ("at the chosen output", factor * step_loss[:, None] * y),
               ("at every output", factor * np.repeat(step_loss[:, None], A, axis=1)))},
    }


_OUTPUT_CASES = ((40, 3, 3, 0.9), (41, 5, 2, 0.5), (42, 1, 2, 0.99), (43, 4, 4, 0.8))


def check_output_gradient(dloss_dlogits: Callable) -> Feedback:
    """``dloss_dlogits(logits, actions, rewards, gamma)`` -> ∂L/∂z, shape (T, A), for one episode's
    loss L = −Σ_t G_t log π(a_t|s_t): what a hand-written backward pass receives."""
    ex = Exercise("dloss_dlogits")
    for seed, T, A, gamma in _OUTPUT_CASES:
        rng = np.random.default_rng(seed)
        logits = rng.normal(size=(T, A))
        actions = rng.integers(0, A, size=T)
        rewards = rng.uniform(0.5, 2.0, size=T)
        case = (f"logits={fmt(logits)}, actions={fmt(actions)}, rewards={fmt(rewards)}, "
                f"gamma={gamma}")
        want = _dloss_dlogits(logits, actions, rewards, gamma)
        out = ex.call(dloss_dlogits, logits, actions, rewards, gamma, case=case)
        arr = to_numpy(out)
        if arr is not None and arr.shape != (T, A) and arr.size in (1, T):
            G = returns.discounted_returns(rewards, gamma)
            logp = numpy_policy.log_prob(logits, actions)
            if arr.size == 1 and np.isclose(abs(float(arr.ravel()[0])), abs(np.sum(G * logp))):
                what = ("you passed a scalar where backward needs the gradient vector (your "
                        "number is ±Σ_t G_t log π(a_t|s_t), the loss's value)")
            elif arr.size == T and np.allclose(np.abs(arr.ravel()), np.abs(G * logp)):
                what = (f"you passed per-step loss values (shape ({T},): your numbers are "
                        "±G_t log π(a_t|s_t)), not the gradient vector at the logits")
            elif arr.size == 1:
                what = "you passed a scalar where backward needs the gradient vector"
            else:
                what = (f"you passed one number per step (shape {arr.shape}), not the gradient "
                        "vector at the logits")
            ex.fail(f"{what}: backward needs ∂L/∂z, how the loss changes with each logit, one "
                    f"number per logit: shape {(T, A)}, got {arr.shape}", case)
        got = ex.as_array(out, shape=(T, A), case=case, what="∂L/∂logits")
        if close(got, want, rtol=1e-7, atol=1e-10):
            continue
        msg = diagnose(got, _output_gradient_mistakes(logits, actions, rewards, gamma))
        ex.fail(msg or f"expected −G_t(one-hot(a_t) − π_t) = {fmt(want)}, got {fmt(got)}", case)
    return ex.passed(f"{len(_OUTPUT_CASES)} episodes, 2 to 4 actions, different γ, a one-step "
                     "episode included")
