"""The hand-written NumPy policy (rlcourse.numpy_policy) against torch.autograd and finite
differences, in float64."""

import numpy as np
import pytest
import torch

from rlcourse import gradcheck, numpy_policy

D, H, A, B = 4, 7, 3, 5


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    params = numpy_policy.init_params(D, A, hidden=H, rng=rng, out_scale=1.0)
    params["b2"] = rng.normal(size=A)  # non-zero, so that db2 is tested with a real bias
    obs = rng.normal(size=(B, D))
    actions = rng.integers(0, A, size=B)
    weights = rng.normal(size=B) * 10
    return params, obs, actions, weights


def torch_objective(params, obs, actions, weights):
    """Σ_b w_b log π(a_b|s_b) with torch.autograd, on the same weights (float64)."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x = torch.tensor(obs, dtype=torch.float64)
    logits = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    logp = torch.distributions.Categorical(logits=logits).log_prob(torch.as_tensor(actions))
    J = (torch.as_tensor(weights) * logp).sum()
    J.backward()
    return J.item(), {k: v.grad.numpy() for k, v in p.items()}, logits.detach().numpy()


def test_forward_matches_torch(setup):
    params, obs, actions, weights = setup
    logits, cache = numpy_policy.forward(params, obs)
    _, _, torch_logits = torch_objective(params, obs, actions, weights)
    assert logits.shape == (B, A)
    assert gradcheck.rel_error(logits, torch_logits) < 1e-12
    assert cache.obs.shape == (B, D) and cache.h.shape == (B, H)


def test_policy_gradient_matches_autograd(setup):
    params, obs, actions, weights = setup
    J, grads = numpy_policy.policy_gradient(params, obs, actions, weights)
    J_torch, grads_torch, _ = torch_objective(params, obs, actions, weights)
    assert J == pytest.approx(J_torch, rel=1e-12)
    assert set(grads) == set(params)
    for k in params:
        assert grads[k].shape == params[k].shape
        assert gradcheck.rel_error(grads[k], grads_torch[k]) < 1e-9, k


def test_backward_of_any_dlogits_matches_autograd(setup):
    params, obs, _, _ = setup
    rng = np.random.default_rng(1)
    upstream = rng.normal(size=(B, A))  # L = Σ upstream * logits, so dL/dlogits = upstream
    _, cache = numpy_policy.forward(params, obs)
    grads = numpy_policy.backward(upstream, cache)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    z = torch.tanh(torch.tensor(obs) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    (z * torch.tensor(upstream)).sum().backward()
    for k in params:
        assert gradcheck.rel_error(grads[k], p[k].grad.numpy()) < 1e-9, k


def test_policy_gradient_matches_finite_differences(setup):
    params, obs, actions, weights = setup
    _, grads = numpy_policy.policy_gradient(params, obs, actions, weights)
    for k in params:
        def J(_):
            return numpy_policy.policy_gradient(params, obs, actions, weights)[0]
        num = gradcheck.numerical_gradient(J, params[k])
        assert gradcheck.rel_error(grads[k], num) < 1e-7, k


def test_log_prob_grad_is_one_hot_minus_pi_and_matches_autograd():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(B, A)) * 3
    a = rng.integers(0, A, size=B)
    g = numpy_policy.log_prob_grad(z, a)
    zt = torch.tensor(z, requires_grad=True)
    torch.log_softmax(zt, dim=1)[torch.arange(B), torch.as_tensor(a)].sum().backward()
    assert gradcheck.rel_error(g, zt.grad.numpy()) < 1e-9
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-12)  # every logit shares it


def test_softmax_and_log_softmax_match_torch():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 4)) * 5
    zt = torch.tensor(z)
    np.testing.assert_allclose(numpy_policy.softmax(z), torch.softmax(zt, 1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(numpy_policy.log_softmax(z), torch.log_softmax(zt, 1).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(numpy_policy.softmax(z).sum(1), 1.0)


def test_softmax_is_stable_on_huge_logits():
    z = np.array([[1000.0, 999.0, -1000.0], [-1e300, 0.0, 1e300]])
    with np.errstate(over="raise", invalid="raise"):  # an overflow would raise here
        p = numpy_policy.softmax(z[:1])
        logp = numpy_policy.log_softmax(z[:1])
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp))
    e = np.exp(-1.0)
    np.testing.assert_allclose(p[0, :2], [1 / (1 + e), e / (1 + e)])
    assert logp[0, 2] == pytest.approx(-2000 - np.log1p(e))  # log(softmax) would be -inf
    assert numpy_policy.softmax(z)[1, 2] == 1.0


def test_softmax_rows_are_independent():
    z = np.array([[0.0, 0.0], [10.0, 0.0]])
    p = numpy_policy.softmax(z)
    np.testing.assert_allclose(p[0], [0.5, 0.5])
    np.testing.assert_allclose(p[1], [1 / (1 + np.exp(-10)), 1 - 1 / (1 + np.exp(-10))])


def test_bernoulli_gradient_is_a_minus_sigmoid():
    z = np.array([-800.0, -2.0, 0.0, 0.7, 800.0])
    a = np.array([1, 0, 1, 1, 0])
    with np.errstate(over="raise"):
        s = numpy_policy.sigmoid(z)
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.e**2), 0.5, 1 / (1 + np.exp(-0.7)), 1.0])
    zt = torch.tensor(z[1:4], requires_grad=True)
    dist = torch.distributions.Bernoulli(logits=zt)
    dist.log_prob(torch.tensor(a[1:4], dtype=torch.float64)).sum().backward()
    g = numpy_policy.bernoulli_log_prob_grad(z[1:4], a[1:4])
    assert gradcheck.rel_error(g, zt.grad.numpy()) < 1e-9
    np.testing.assert_allclose(numpy_policy.bernoulli_log_prob(z[1:4], a[1:4]),
                               dist.log_prob(torch.tensor(a[1:4], dtype=torch.float64)).detach())
    assert numpy_policy.bernoulli_log_prob(z, a)[0] == pytest.approx(-800.0)


def test_sample_actions_frequencies():
    rng = np.random.default_rng(4)
    probs = np.tile([[0.2, 0.5, 0.3]], (60_000, 1))
    a = numpy_policy.sample_actions(probs, rng)
    assert a.dtype.kind == "i" and a.shape == (60_000,)
    np.testing.assert_allclose(np.bincount(a, minlength=3) / a.size, [0.2, 0.5, 0.3], atol=0.01)
    assert np.all(numpy_policy.sample_actions(np.array([[0.0, 1.0]] * 50), rng) == 1)


def test_adam_matches_torch():
    rng = np.random.default_rng(5)
    params = numpy_policy.init_params(D, A, hidden=H, rng=rng)
    tparams = [torch.tensor(params[k].copy(), requires_grad=True) for k in numpy_policy.PARAM_NAMES]
    ours = numpy_policy.Adam(params, lr=1e-2, maximize=True)
    theirs = torch.optim.Adam(tparams, lr=1e-2, maximize=True)
    for _ in range(5):
        grads = {k: rng.normal(size=params[k].shape) for k in params}
        ours.step(grads)
        for t, k in zip(tparams, numpy_policy.PARAM_NAMES):
            t.grad = torch.tensor(grads[k])
        theirs.step()
    for t, k in zip(tparams, numpy_policy.PARAM_NAMES):
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_ascent_step_goes_up_and_copies():
    params = {"W1": np.ones((1, 1)), "b1": np.zeros(1), "W2": np.ones((1, 1)), "b2": np.zeros(1)}
    grads = {k: np.full_like(v, 2.0) for k, v in params.items()}
    new = numpy_policy.ascent_step(params, grads, lr=0.5)
    assert new["W1"][0, 0] == 2.0 and params["W1"][0, 0] == 1.0


def test_initial_policy_is_almost_uniform():
    params = numpy_policy.init_params(4, 2, rng=np.random.default_rng(0))
    logits, _ = numpy_policy.forward(params, np.random.default_rng(1).normal(size=(100, 4)))
    p = numpy_policy.softmax(logits)
    entropy = -(p * numpy_policy.log_softmax(logits)).sum(1)
    np.testing.assert_allclose(entropy, np.log(2), rtol=1e-3)


# --- bad input ----------------------------------------------------------------------------------

def test_forward_rejects_bad_obs_and_params(setup):
    params, obs, _, _ = setup
    with pytest.raises(ValueError, match=r"obs must have shape \(B, 4\).*obs\[None\]"):
        numpy_policy.forward(params, obs[0])
    with pytest.raises(ValueError, match=r"obs must have shape \(B, 4\)"):
        numpy_policy.forward(params, obs[:, :3])
    with pytest.raises(ValueError, match="params must be a dict with keys"):
        numpy_policy.forward({"W1": params["W1"]}, obs)
    bad = dict(params, b1=np.zeros(H + 1))
    with pytest.raises(ValueError, match="params have inconsistent shapes"):
        numpy_policy.forward(bad, obs)
    with pytest.raises(TypeError, match="obs must be an array of numbers"):
        numpy_policy.forward(params, np.array([["a"] * D]))


def test_backward_rejects_bad_input(setup):
    params, obs, _, _ = setup
    _, cache = numpy_policy.forward(params, obs)
    with pytest.raises(ValueError, match=r"dlogits must have the shape of the logits \(5, 3\)"):
        numpy_policy.backward(np.zeros((B, A + 1)), cache)
    with pytest.raises(TypeError, match="cache must be the ForwardCache"):
        numpy_policy.backward(np.zeros((B, A)), (obs, None, None))


def test_actions_and_weights_are_validated(setup):
    params, obs, actions, weights = setup
    z = np.zeros((B, A))
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 3\)"):
        numpy_policy.log_prob_grad(z, np.full(B, 3))
    with pytest.raises(ValueError, match="actions must be a 1-D integer array"):
        numpy_policy.log_prob_grad(z, np.zeros(B))
    with pytest.raises(ValueError, match=r"actions must have shape \(5,\)"):
        numpy_policy.log_prob(z, actions[:2])
    with pytest.raises(ValueError, match=r"weights must have shape \(5,\)"):
        numpy_policy.policy_gradient(params, obs, actions, weights[:, None])
    with pytest.raises(ValueError, match="actions of a Bernoulli policy must be 0 or 1"):
        numpy_policy.bernoulli_log_prob_grad(np.zeros(2), np.array([0, 2]))
    with pytest.raises(ValueError, match="logits must have at least one axis"):
        numpy_policy.softmax(1.0)


def test_optimisers_reject_bad_input():
    params = numpy_policy.init_params(2, 2, hidden=3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"lr must be in \(0, inf\]"):
        numpy_policy.Adam(params, lr=-1.0)
    with pytest.raises(ValueError, match="grads must be a dict with the keys of params"):
        numpy_policy.Adam(params).step({"W1": params["W1"]})
    with pytest.raises(ValueError, match=r"grads\['b1'\] must have shape \(3,\)"):
        numpy_policy.ascent_step(params, dict(params, b1=np.zeros(4)), lr=0.1)
    with pytest.raises(ValueError, match=r"hidden must be an integer in \[1, inf\]"):
        numpy_policy.init_params(2, 2, hidden=0)
    with pytest.raises(TypeError, match=r"rng must be a np\.random\.Generator"):
        numpy_policy.sample_actions(np.array([[0.5, 0.5]]), rng=0)


# --- bad input, one family per test (issue #15: no silently wrong result) -----------------------

@pytest.mark.parametrize("probs, message", [
    ([[0.5, float("nan")]], "probs must be finite"),
    ([[1.2, -0.2]], "probs must be non-negative"),
    ([[0.0, 0.0], [0.5, 0.5]], "each row of probs must sum to 1"),
    ([[0.3, 0.3]], "each row of probs must sum to 1"),
    ([[2.0, 1.0]], "each row of probs must sum to 1"),  # logits passed as probabilities
    ([0.5, 0.5], r"probs must have shape \(B, A\)"),
    (np.zeros((2, 0)), r"probs must have shape \(B, A\) with A >= 1"),
    ([["a", "b"]], "probs must be an array of numbers"),
])
def test_sample_actions_refuses_what_is_not_a_distribution(probs, message):
    # before: NaN, negative and all-zero rows returned action 0 or the last action every time
    with pytest.raises((ValueError, TypeError), match=message):
        numpy_policy.sample_actions(np.asarray(probs), np.random.default_rng(0))


def test_sample_actions_accepts_a_float32_softmax():
    p = torch.softmax(torch.randn(1000, 5, generator=torch.Generator().manual_seed(0)), -1)
    a = numpy_policy.sample_actions(p.numpy(), np.random.default_rng(0))
    assert a.shape == (1000,) and a.min() >= 0 and a.max() < 5


@pytest.mark.parametrize("logits, message", [
    ([[0.0, float("nan")]], "logits must not be NaN or \\+inf"),
    ([[0.0, float("inf")]], "logits must not be NaN or \\+inf"),
    ([[-np.inf, -np.inf]], "a row of −inf rules out every action"),
    (np.zeros((2, 0)), "at least one action"),
])
@pytest.mark.parametrize("fn", [numpy_policy.softmax, numpy_policy.log_softmax])
def test_logits_families_are_refused(fn, logits, message):
    with pytest.raises(ValueError, match=message):
        fn(np.asarray(logits, dtype=float))


def test_minus_inf_logit_is_an_action_ruled_out():
    z = np.array([[0.0, -np.inf, 1.0]])
    p = numpy_policy.softmax(z)
    assert p[0, 1] == 0.0 and p.sum() == pytest.approx(1.0)
    a = numpy_policy.sample_actions(np.repeat(p, 1000, 0), np.random.default_rng(0))
    assert not np.any(a == 1)


def test_non_finite_inputs_to_the_network_are_refused(setup):
    params, obs, actions, _ = setup
    bad_obs = obs.copy()
    bad_obs[0, 0] = np.nan
    with pytest.raises(ValueError, match="obs must be finite"):
        numpy_policy.forward(params, bad_obs)
    _, cache = numpy_policy.forward(params, obs)
    with pytest.raises(ValueError, match="dlogits must be finite"):
        numpy_policy.backward(np.full((B, A), np.inf), cache)
    with pytest.raises(ValueError, match="weights must be finite"):
        numpy_policy.policy_gradient(params, obs, actions, np.full(B, np.nan))
    with pytest.raises(ValueError, match="z must be finite"):
        numpy_policy.sigmoid(np.array([np.nan]))
    grads = {k: np.full_like(v, np.nan) for k, v in params.items()}
    with pytest.raises(ValueError, match=r"grads\['W1'\] must be finite"):
        numpy_policy.ascent_step(params, grads, lr=0.1)


def test_a_scalar_handed_to_backward_is_named(setup):
    """The learner's `backpropagate(G * log(probs[action]))`: a number, not a gradient."""
    params, obs, _, _ = setup
    _, cache = numpy_policy.forward(params, obs)
    with pytest.raises(ValueError, match=r"dlogits must have the shape of the logits \(5, 3\): "
                                         r"the gradient .* got a scalar \(-1\.5\)"):
        numpy_policy.backward(np.float64(-1.5), cache)


def test_sizes_dtypes_and_settings_are_validated(setup):
    params, *_ = setup
    with pytest.raises(ValueError, match="out_scale must be in"):
        numpy_policy.init_params(2, 2, out_scale=0.0)
    with pytest.raises(TypeError, match=r"rng must be a np\.random\.Generator"):
        numpy_policy.init_params(2, 2, rng=42)
    with pytest.raises(TypeError, match="n_actions must be an integer"):
        numpy_policy.one_hot(np.array([0]), 2.0)
    with pytest.raises(ValueError, match="actions must be a 1-D integer array"):
        numpy_policy.one_hot(np.array([True, False]), 2)  # what `rng.random() < p` gives
    with pytest.raises(ValueError, match="lr must be finite"):
        numpy_policy.ascent_step(params, params, lr=float("nan"))
    with pytest.raises(ValueError, match="eps must be in"):
        numpy_policy.Adam(params, eps=-1e-8)
    with pytest.raises(TypeError, match=r"betas must be a pair \(β1, β2\)"):
        numpy_policy.Adam(params, betas=(0.9,))
    with pytest.raises(TypeError, match="maximize must be True or False"):
        numpy_policy.Adam(params, maximize="yes")
    with pytest.raises(TypeError, match="params must be a dict of NumPy arrays"):
        numpy_policy.Adam([params["W1"]])


# --- backward through the softmax, and the Gaussian policy --------------------------------------

def test_softmax_backward_is_the_jacobian_transpose():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3))
    p = numpy_policy.softmax(z)
    zt = torch.tensor(z, requires_grad=True)
    (torch.softmax(zt, -1) * torch.tensor(g)).sum().backward()
    assert gradcheck.rel_error(numpy_policy.softmax_backward(g, p), zt.grad) < 1e-12
    # one output at the probabilities, every logit after the softmax: -G/π_a -> -G(one-hot - π)
    a, G = np.array([0, 2, 1, 1]), 3.0
    dprobs = -G * numpy_policy.one_hot(a, 3) / p
    want = -G * numpy_policy.log_prob_grad(z, a)
    assert gradcheck.rel_error(numpy_policy.softmax_backward(dprobs, p), want) < 1e-12
    with pytest.raises(ValueError, match=r"dprobs must have the shape of probs \(4, 3\)"):
        numpy_policy.softmax_backward(g[:, :2], p)


def test_gaussian_log_prob_and_gradients_match_torch():
    rng = np.random.default_rng(4)
    mu, a = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    log_std = np.array([-0.3, 0.4])
    mu_t = torch.tensor(mu, requires_grad=True)
    ls_t = torch.tensor(log_std, requires_grad=True)
    logp_t = torch.distributions.Normal(mu_t, ls_t.exp()).log_prob(torch.tensor(a)).sum(-1)
    w = rng.normal(size=6)
    (torch.tensor(w) * logp_t).sum().backward()
    logp = numpy_policy.gaussian_log_prob(mu, log_std, a)
    assert gradcheck.rel_error(logp, logp_t.detach()) < 1e-12
    dmu, dls = numpy_policy.gaussian_log_prob_grad(mu, log_std, a)
    assert dmu.shape == dls.shape == (6, 2)
    assert gradcheck.rel_error(w[:, None] * dmu, mu_t.grad) < 1e-12
    assert gradcheck.rel_error((w[:, None] * dls).sum(0), ls_t.grad) < 1e-12


def test_gaussian_arguments_are_validated():
    mu = np.zeros((5, 1))
    with pytest.raises(ValueError, match=r"actions must have the shape of mean \(5, 1\)"):
        numpy_policy.gaussian_log_prob(mu, np.zeros(1), np.zeros(5))  # would broadcast to (5, 5)
    with pytest.raises(ValueError, match=r"log_std must have shape \(1,\)"):
        numpy_policy.gaussian_log_prob(mu, np.zeros(3), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="mean must have shape"):
        numpy_policy.gaussian_log_prob_grad(np.zeros(5), np.zeros(1), np.zeros(5))
    with pytest.raises(ValueError, match="log_std must be finite"):
        numpy_policy.gaussian_log_prob(mu, np.array([np.inf]), np.zeros((5, 1)))


def test_the_scalar_message_gets_the_sign_right(setup):
    """G·log π(a|s) is minus the loss L = −G·log π(a|s): the message says so."""
    params, obs, _, _ = setup
    _, cache = numpy_policy.forward(params, obs)
    with pytest.raises(ValueError, match=r"G·log π\(a\|s\) \(minus the loss L = −G·log π\(a\|s\)\) "
                                         r"is a value, not the gradient ∂L/∂z"):
        numpy_policy.backward(-1.5, cache)
