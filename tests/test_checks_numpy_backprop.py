"""The checks of 02_numpy_backprop accept correct answers (NumPy or torch) and name mistakes."""

import numpy as np
import pytest
import torch

from rlcourse import numpy_policy, returns
from rlcourse.checks import numpy_backprop as check
from rlcourse.checks.feedback import ExerciseFailed, ExerciseNotImplemented

# --- exercise 1: softmax ------------------------------------------------------------------------


def softmax_ok(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax_ok(z):
    return z - np.logaddexp.reduce(z, axis=-1, keepdims=True)  # another stable formulation


def test_softmax_accepts_numpy_and_torch_answers():
    assert check.check_softmax(softmax_ok, log_softmax_ok)
    assert check.check_softmax(lambda z: torch.softmax(torch.tensor(z), -1),
                               lambda z: torch.log_softmax(torch.tensor(z), -1))


@pytest.mark.parametrize("softmax, log_softmax, message", [
    (lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True), log_softmax_ok,
     "softmax overflowed.*Subtract each row's maximum"),
    (softmax_ok, lambda z: np.log(softmax_ok(z)), "log_softmax returned -inf.*log\\(0\\)"),
    # without the shift exp(1000) overflows: the message names the overflow, not log(0)
    (softmax_ok, lambda z: z - np.log(np.exp(z).sum(-1, keepdims=True)),
     "log_softmax returned -inf or NaN: np.exp\\(1000\\) overflows to inf"),
    (softmax_ok, lambda z: z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)),
     "the log-sum-exp lost its \\+ m"),
    (lambda z: np.exp(z - z.max(0)) / np.exp(z - z.max(0)).sum(0), log_softmax_ok,
     "broadcasting over the batch is wrong: you normalised over axis 0"),
    (lambda z: np.exp(z - z.max(-1)) / np.exp(z - z.max(-1)).sum(-1), log_softmax_ok,
     "broadcasting over the batch is wrong: `z.max\\(axis=-1\\)` has shape \\(B,\\)"),
    (lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(), log_softmax_ok,
     "normalised over the whole array"),
    (softmax_ok, lambda z: z - z.max(-1, keepdims=True), "the log-sum-exp term is missing"),
    (softmax_ok, softmax_ok, "you returned the probabilities, not their logarithm"),
    (softmax_ok, lambda z: None, "log_softmax\\(z\\) is None"),
])
def test_softmax_names_mistakes(softmax, log_softmax, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_softmax(softmax, log_softmax)


def test_softmax_unfinished():
    def stub(z):
        raise NotImplementedError()
    with pytest.raises(ExerciseNotImplemented):
        check.check_softmax(stub, stub)


# --- exercise 2: backward -----------------------------------------------------------------------


def backward_ok(dlogits, cache):
    obs, h, W2 = cache  # the cache also unpacks like a tuple
    dpre = (dlogits @ W2.T) * (1 - h * h)
    return {"W2": np.einsum("bh,ba->ha", h, dlogits), "b2": dlogits.sum(0),
            "W1": np.einsum("bd,bh->dh", obs, dpre), "b1": np.add.reduce(dpre, axis=0)}


def backward_torch(dlogits, cache):
    obs = torch.tensor(cache.obs)
    h, W2, dz = torch.tensor(cache.h), torch.tensor(cache.W2), torch.tensor(dlogits)
    dpre = dz @ W2.T * (1 - h**2)
    return {"W1": obs.T @ dpre, "b1": dpre.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}


def test_backward_accepts_alternatives():
    assert check.check_backward(backward_ok)
    assert check.check_backward(backward_torch)


def no_tanh(dz, c):
    dh = dz @ c.W2.T
    return {"W1": c.obs.T @ dh, "b1": dh.sum(0), "W2": c.h.T @ dz, "b2": dz.sum(0)}


def bias_not_summed(dz, c):
    g = backward_ok(dz, c)
    return dict(g, b1=(dz @ c.W2.T) * (1 - c.h**2))


def averaged(dz, c):
    return {k: v / len(dz) for k, v in backward_ok(dz, c).items()}


def tanh_prime_one_minus_h(dz, c):
    dpre = (dz @ c.W2.T) * (1 - c.h)
    return dict(backward_ok(dz, c), W1=c.obs.T @ dpre, b1=dpre.sum(0))


def tanh_prime_times_h(dz, c):
    dpre = (dz @ c.W2.T) * (1 - c.h**2) * c.h
    return dict(backward_ok(dz, c), W1=c.obs.T @ dpre, b1=dpre.sum(0))


def wrong_W2(dz, c):
    return dict(backward_ok(dz, c), W2=c.h.T @ dz * 2)


@pytest.mark.parametrize("fn, message", [
    (no_tanh, "the tanh's derivative is missing"),
    (bias_not_summed, "broadcasting over the batch is wrong: .*\\['b1'\\] has one row per state"),
    (averaged, "you averaged over the batch"),
    (tanh_prime_one_minus_h, "tanh' is 1 − h², not 1 − h"),
    (tanh_prime_times_h, "tanh' is 1 − h², not \\(1 − h²\\)·h"),
    (wrong_W2, "W2 is wrong"),
    (lambda dz, c: [1, 2, 3, 4], "should be a dict with keys"),
    (lambda dz, c: {"W1": 0}, "missing the key\\(s\\) \\['b1', 'W2', 'b2'\\]"),
])
def test_backward_names_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_backward(fn)


# --- exercise 3: the episode's policy gradient --------------------------------------------------


def pg_ok(params, obs, actions, G):
    logits, cache = numpy_policy.forward(params, obs)
    dlogits = G[:, None] * (np.eye(logits.shape[1])[actions] - numpy_policy.softmax(logits))
    return numpy_policy.backward(dlogits, cache)


def pg_torch(params, obs, actions, G):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    z = torch.tanh(torch.tensor(obs) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    logp = torch.distributions.Categorical(logits=z).log_prob(torch.as_tensor(actions))
    (torch.as_tensor(G) * logp).sum().backward()
    return {k: v.grad for k, v in p.items()}


def test_policy_gradient_accepts_alternatives():
    assert check.check_policy_gradient(pg_ok)
    assert check.check_policy_gradient(pg_torch)


def pg_with(dlogits_fn):
    def fn(params, obs, actions, G):
        logits, cache = numpy_policy.forward(params, obs)
        onehot = np.eye(logits.shape[1])[actions]
        return numpy_policy.backward(dlogits_fn(onehot, numpy_policy.softmax(logits), G), cache)
    return fn


@pytest.mark.parametrize("dlogits_fn, message", [
    (lambda y, p, G: G[:, None] * y * (1 - p), "only the chosen logit got gradient"),
    (lambda y, p, G: G[:, None] * y, "the −π part is missing"),
    (lambda y, p, G: G[:, None] * (p - y), "the sign is flipped"),
    (lambda y, p, G: G[:, None] * y / p, "the softmax was skipped"),
    (lambda y, p, G: y - p, "the return weight is missing"),
    (lambda y, p, G: G * (y - p), "broadcasting over the batch is wrong: `G \\* "),
    (lambda y, p, G: G[:, None] * (y - p) / len(G), "this is the mean over all steps"),
    (lambda y, p, G: G[0] * (y - p), "every step was weighted by G_0"),
    (lambda y, p, G: ((G - G.mean()) / (G.std() + 1e-8))[:, None] * (y - p),
     "the returns were standardised"),
])
def test_policy_gradient_names_mistakes(dlogits_fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_policy_gradient(pg_with(dlogits_fn))


def test_policy_gradient_reports_in_place_changes():
    def in_place(params, obs, actions, G):
        g = pg_ok(params, obs, actions, G)
        params["b2"][:] = 0  # e.g. a "zero the gradients" step aimed at the wrong dict
        return g
    with pytest.raises(ExerciseFailed, match="modified its input in place"):
        check.check_policy_gradient(in_place)


# --- exercise 4: the update step ----------------------------------------------------------------


def update_ok(params, obs, actions, rewards, gamma, lr):
    G = returns.discounted_returns(rewards, gamma)
    return numpy_policy.ascent_step(params, pg_ok(params, obs, actions, G), lr)


def update_with(weights_fn, sign=1.0, use_lr=True):
    def fn(params, obs, actions, rewards, gamma, lr):
        w = weights_fn(rewards, gamma)
        _, g = numpy_policy.policy_gradient(params, obs, actions, w)
        return {k: params[k] + sign * (lr if use_lr else 1.0) * g[k] for k in params}
    return fn


def G_of(r, gamma):
    return returns.discounted_returns(r, gamma)


def test_update_accepts_alternatives():
    assert check.check_reinforce_update(update_ok)

    def step_by_step(params, obs, actions, rewards, gamma, lr):
        G, running = np.zeros(len(rewards)), 0.0
        for t in reversed(range(len(rewards))):
            running = rewards[t] + gamma * running
            G[t] = running
        new = {k: v.copy() for k, v in params.items()}
        for t in range(len(rewards)):  # one step at a time, all from the same θ
            _, g = numpy_policy.policy_gradient(params, obs[t:t + 1], actions[t:t + 1], G[t:t + 1])
            for k in new:
                new[k] += lr * g[k]
        return new
    assert check.check_reinforce_update(step_by_step)


@pytest.mark.parametrize("fn, message", [
    (update_with(G_of, sign=-1.0), "the sign is flipped"),
    (update_with(lambda r, g: np.ones_like(r)), "the return weight is missing"),
    (update_with(lambda r, g: r), "weighted by the immediate rewards"),
    (update_with(lambda r, g: np.full(len(r), G_of(r, g)[0])), "every step was weighted by G_0"),
    (update_with(lambda r, g: G_of(r, 1.0)), "gamma is missing"),
    (update_with(G_of, use_lr=False), "the learning rate is missing"),
    (update_with(lambda r, g: np.cumsum(g ** np.arange(len(r)) * r)),
     "the returns were summed from the start of the episode"),
    (update_with(lambda r, g: g * G_of(r, g)), "the discount exponent of the returns is off by one"),
    (update_with(lambda r, g: G_of(r, g)[::-1]), "the returns are reversed"),
    (update_with(lambda r, g: (G_of(r, g) - G_of(r, g).mean()) / G_of(r, g).std()),
     "the returns were standardised"),
    (update_with(lambda r, g: np.array([np.sum(g ** np.arange(t, len(r)) * r[t:])
                                        for t in range(len(r))])),
     "returns discounted from the start of the episode, γ\\^k at the absolute index k, are "
     "exactly γ\\^t G_t"),
    (lambda params, *args: {k: v.copy() for k, v in params.items()},
     "you left the parameters unchanged"),
])
def test_update_names_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_reinforce_update(fn)


def test_update_in_place_is_reported():
    def in_place(params, obs, actions, rewards, gamma, lr):
        new = update_ok(params, obs, actions, rewards, gamma, lr)
        for k in params:
            params[k][...] = new[k]
        return params
    with pytest.raises(ExerciseFailed, match="modified its input in place"):
        check.check_reinforce_update(in_place)


def test_update_names_the_gamma_t_convention_and_the_mean_over_steps():
    def with_gamma_t(params, obs, actions, rewards, gamma, lr):
        G = G_of(rewards, gamma) * gamma ** np.arange(len(rewards))  # 01's exact gradient
        return numpy_policy.ascent_step(params, pg_ok(params, obs, actions, G), lr)

    with pytest.raises(ExerciseFailed, match="this includes the γ\\^t factor of 01's exact "
                                             "gradient; from 02 on the course drops it"):
        check.check_reinforce_update(with_gamma_t)
    with pytest.raises(ExerciseFailed, match=r"this is the mean over all steps; the course's "
                                             r"convention is the sum .* ×1/5"):
        check.check_reinforce_update(update_with(lambda r, g: G_of(r, g) / len(r)))


# --- exercise 5: the output gradient that backward receives ------------------------------------


def dloss_ok(logits, actions, rewards, gamma):
    G = returns.discounted_returns(rewards, gamma)
    return -G[:, None] * (np.eye(logits.shape[1])[actions] - numpy_policy.softmax(logits))


def dloss_via_probabilities(logits, actions, rewards, gamma):
    """The other correct path: one output at the probabilities, then the softmax's Jacobian."""
    G = returns.discounted_returns(rewards, gamma)
    p = numpy_policy.softmax(logits)
    dprobs = np.zeros_like(p)
    dprobs[np.arange(len(actions)), actions] = -G / p[np.arange(len(actions)), actions]
    return numpy_policy.softmax_backward(dprobs, p)


def dloss_torch(logits, actions, rewards, gamma):
    z = torch.tensor(logits, requires_grad=True)
    G = torch.as_tensor(returns.discounted_returns(rewards, gamma))
    logp = torch.distributions.Categorical(logits=z).log_prob(torch.as_tensor(actions))
    (-(G * logp).sum()).backward()
    return z.grad


def test_output_gradient_accepts_alternatives():
    assert check.check_output_gradient(dloss_ok)
    assert check.check_output_gradient(dloss_via_probabilities)
    assert check.check_output_gradient(dloss_torch)


def dloss_with(fn):
    def answer(logits, actions, rewards, gamma):
        G = returns.discounted_returns(rewards, gamma)
        y = np.eye(logits.shape[1])[actions]
        p = numpy_policy.softmax(logits)
        return fn(G=G, y=y, p=p, r=rewards, gamma=gamma, logits=logits, actions=actions)
    return answer


def _G_log_p(G, logits, actions):
    return G * numpy_policy.log_softmax(logits)[np.arange(len(actions)), actions]


@pytest.mark.parametrize("fn, message", [
    # the learner's own line: the scalar G·log p handed over as the gradient
    (lambda G, logits, actions, **_: float(np.sum(_G_log_p(G, logits, actions))),
     "you passed a scalar where backward needs the gradient vector \\(your number is "
     "±Σ_t G_t log π"),
    (lambda G, logits, actions, **_: _G_log_p(G, logits, actions),
     "you passed per-step loss values \\(shape \\(3,\\): your numbers are ±G_t log π.*\\), "
     "not the gradient vector at the logits"),
    # the two readings 02 section 5a demonstrates: the scalar at the chosen output, at every one
    (lambda G, logits, actions, y, **_: -_G_log_p(G, logits, actions)[:, None] * y,
     "you put each step's loss value −G_t log π\\(a_t\\|s_t\\) at the chosen output: a value "
     "is not a gradient"),
    (lambda G, logits, actions, y, **_: np.repeat(_G_log_p(G, logits, actions)[:, None],
                                                  y.shape[1], axis=1),
     "you put each step's G_t log π\\(a_t\\|s_t\\) \\(minus its loss value\\) at every output"),
    (lambda y, p, r, gamma, **_: -np.array([np.sum(gamma ** np.arange(t, len(r)) * r[t:])
                                            for t in range(len(r))])[:, None] * (y - p),
     "γ\\^k at the absolute index k"),
    (lambda G, y, p, **_: -((G - G.mean()) / (G.std() + 1e-8))[:, None] * (y - p),
     "the returns were standardised"),
    (lambda G, y, p, **_: -G[::-1][:, None] * (y - p),
     "the returns are reversed"),
    (lambda G, y, p, **_: -G[:, None] * y / p,
     "the gradient is at the chosen logit only \\(the softmax was skipped\\)"),
    (lambda G, y, p, **_: -G[:, None] * y * (1 - p), "the gradient is at the chosen logit only: "),
    (lambda G, y, p, **_: -G[0] * (y - p), "the returns are G₀ at every step"),
    (lambda G, y, p, **_: G[:, None] * (y - p), "the sign is flipped"),
    (lambda G, y, p, gamma, **_: -(gamma ** np.arange(len(G)) * G)[:, None] * (y - p),
     "this includes the γ\\^t factor of 01's exact gradient"),
    (lambda G, y, p, **_: -G[:, None] * (y - p) / len(G), "this is the mean over all steps"),
    (lambda y, p, r, **_: -r[:, None] * (y - p), "weighted by the immediate rewards"),
    (lambda y, p, r, **_: -returns.discounted_returns(r, 1.0)[:, None] * (y - p),
     "gamma is missing"),
    (lambda y, p, **_: -(y - p), "the return weight is missing"),
    (lambda G, y, p, actions, **_: -(G * p[np.arange(len(G)), actions])[:, None] * (y - p),
     "not G_t log π"),
    (lambda G, y, p, **_: -G * (y - p), "broadcasting over the batch is wrong"),
    (lambda G, y, **_: -G[:, None] * y, "the −π part is missing"),
    (lambda G, y, p, **_: None, "is None"),
])
def test_output_gradient_names_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_output_gradient(dloss_with(fn))


def test_output_gradient_failure_shows_the_input():
    with pytest.raises(ExerciseFailed, match=r"(?s)input: logits=.*actions=.*rewards=.*gamma=0\.9"):
        check.check_output_gradient(dloss_with(lambda G, y, p, **_: G[:, None] * (y - p)))


def test_output_gradient_unfinished():
    def stub(logits, actions, rewards, gamma):
        raise NotImplementedError()
    with pytest.raises(ExerciseNotImplemented):
        check.check_output_gradient(stub)


# --- no shortcut: the package's own implementation earns no points ------------------------------

from rlcourse.numpy_policy import backward as aliased_backward  # noqa: E402  (an alias is caught)


@pytest.mark.parametrize("run, called", [
    (lambda: check.check_softmax(numpy_policy.softmax, log_softmax_ok), "numpy_policy.softmax"),
    (lambda: check.check_softmax(softmax_ok, lambda z: numpy_policy.log_softmax(z)),
     "numpy_policy.log_softmax"),
    (lambda: check.check_backward(lambda d, c: numpy_policy.backward(d, c)),
     "numpy_policy.backward"),
    (lambda: check.check_backward(lambda d, c: aliased_backward(d, c)), "numpy_policy.backward"),
    (lambda: check.check_policy_gradient(
        lambda p, o, a, G: numpy_policy.policy_gradient(p, o, a, G)[1]),
     "numpy_policy.policy_gradient"),
    (lambda: check.check_policy_gradient(
        lambda p, o, a, G: numpy_policy.backward(
            G[:, None] * numpy_policy.log_prob_grad(numpy_policy.forward(p, o)[0], a),
            numpy_policy.forward(p, o)[1])),
     "numpy_policy.log_prob_grad"),
    (lambda: check.check_reinforce_update(
        lambda p, o, a, r, g, lr: (check._update_with(p, o, a, G_of(r, g), lr),
                                   update_ok(p, o, a, r, g, lr))[1]),
     "checks.numpy_backprop._update_with"),
    (lambda: check.check_output_gradient(
        lambda z, a, r, g: -G_of(r, g)[:, None] * numpy_policy.log_prob_grad(z, a)),
     "numpy_policy.log_prob_grad"),
    (lambda: check.check_output_gradient(check._dloss_dlogits),
     "checks.numpy_backprop._dloss_dlogits"),
])
def test_calling_the_package_implementation_earns_no_points(run, called):
    # rlcourse.checks.feedback watches every answer's calls (rlcourse.checks.references)
    with pytest.raises(ExerciseFailed) as err:
        run()
    assert f"course's own implementation (`{called}`)" in str(err.value)
    assert "earns no" in str(err.value)


def test_building_blocks_stay_allowed():
    # forward, softmax and backward are the tools exercise 3 names; softmax_backward is the path
    # from the probabilities that section 5b teaches
    assert check.check_policy_gradient(pg_ok)
    assert check.check_output_gradient(dloss_via_probabilities)
    import sys
    assert sys.gettrace() is None  # the check restores the trace function it found
