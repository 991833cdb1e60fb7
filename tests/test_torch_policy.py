"""The three REINFORCE losses of notebook 03: same value, same gradient as autograd, finite
differences and notebook 02's hand-written NumPy backprop (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcourse import gradcheck, numpy_policy, torch_policy


def batch(seed=0, b=12, d=4, a=3):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(b, d, generator=g, dtype=torch.float64)
    actions = torch.randint(0, a, (b,), generator=g)
    weights = torch.randn(b, generator=g, dtype=torch.float64) * 5
    policy = torch_policy.CategoricalPolicy(d, a, hidden=(7,)).double()
    return policy, obs, actions, weights


def grads_of(loss_fn, policy, obs, actions, weights):
    policy.zero_grad()
    loss = loss_fn(policy(obs), actions, weights)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in policy.parameters()]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_losses_same_value_and_gradient(seed):
    policy, obs, actions, weights = batch(seed)
    ref_loss, ref_grads = grads_of(torch_policy.logprob_loss, policy, obs, actions, weights)
    for name in ("cross-entropy", "hand-written log-softmax"):
        loss, grads = grads_of(torch_policy.LOSSES[name], policy, obs, actions, weights)
        torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=1e-12)
        for g, r in zip(grads, ref_grads):
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


def test_loss_is_minus_weighted_log_prob():
    policy, obs, actions, weights = batch(3)
    logits = policy(obs).detach()
    log_pi = torch.log(torch.softmax(logits, 1))[torch.arange(len(actions)), actions]
    want = -(weights * log_pi).sum()
    for fn in torch_policy.LOSSES.values():
        torch.testing.assert_close(fn(logits, actions, weights), want)


@pytest.mark.parametrize("name", list(torch_policy.LOSSES))
def test_gradient_wrt_logits_matches_finite_differences(name):
    _, _obs, actions, weights = batch(4)
    z = np.random.default_rng(0).normal(size=(len(actions), 3))
    fn = torch_policy.LOSSES[name]

    def f(x):
        return float(fn(torch.from_numpy(x), actions, weights))

    zt = torch.tensor(z, requires_grad=True)
    fn(zt, actions, weights).backward()
    numeric = gradcheck.numerical_gradient(f, z.copy())
    assert gradcheck.rel_error(zt.grad.numpy(), numeric) < 1e-7
    # and the closed form: dL/dz_b = -w_b (onehot(a_b) - softmax(z_b)), every logit gets a share
    p = torch.softmax(torch.from_numpy(z), 1).numpy()
    closed = -weights.numpy()[:, None] * (np.eye(3)[actions.numpy()] - p)
    np.testing.assert_allclose(zt.grad.numpy(), closed, rtol=1e-10, atol=1e-12)


def to_numpy_params(policy):
    """The torch MLP's weights in notebook 02's layout (W is transposed: x @ W + b)."""
    lin1, lin2 = policy.net[0], policy.net[2]
    return {"W1": lin1.weight.detach().numpy().T.copy(), "b1": lin1.bias.detach().numpy().copy(),
            "W2": lin2.weight.detach().numpy().T.copy(), "b2": lin2.bias.detach().numpy().copy()}


@pytest.mark.parametrize("seed", [0, 5])
def test_torch_gradients_equal_numpy_backprop_float64(seed):
    policy, obs, actions, weights = batch(seed, b=20, d=4, a=2)
    params = to_numpy_params(policy)
    objective, np_grads = numpy_policy.policy_gradient(params, obs.numpy(), actions.numpy(),
                                                       weights.numpy())
    for fn in torch_policy.LOSSES.values():
        loss, (gW1, gb1, gW2, gb2) = grads_of(fn, policy, obs, actions, weights)
        assert float(loss) == pytest.approx(-objective, rel=1e-12)
        # the loss is -J, so its gradient is minus notebook 02's ascent direction
        for got, key in ((gW1.T, "W1"), (gb1, "b1"), (gW2.T, "W2"), (gb2, "b2")):
            np.testing.assert_allclose(got.numpy(), -np_grads[key], rtol=1e-10, atol=1e-13)


def test_losses_reject_weights_with_gradient_and_float_actions():
    policy, obs, actions, weights = batch(0)
    logits = policy(obs)
    for fn in torch_policy.LOSSES.values():
        with pytest.raises(ValueError, match="carry gradient"):
            fn(logits, actions, weights.clone().requires_grad_())
        with pytest.raises(ValueError, match="actions must be integer"):
            fn(logits, actions.double(), weights)
        with pytest.raises(ValueError, match="weights must have shape"):
            fn(logits, actions, weights[:-1])
        with pytest.raises(TypeError, match=r"logits must be a torch\.Tensor"):
            fn(logits.detach().numpy(), actions, weights)


def test_act_samples_valid_actions_and_greedy_is_argmax():
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 3)
    obs = np.random.default_rng(0).normal(size=(1000, 4)).astype(np.float32)
    a = policy.act(obs)
    assert a.shape == (1000,) and set(np.unique(a)) <= {0, 1, 2}
    assert len(np.unique(a)) == 3  # near-uniform initial policy: all actions show up
    with torch.no_grad():
        want = policy(torch.from_numpy(obs)).argmax(1).numpy()
    np.testing.assert_array_equal(policy.act(obs, greedy=True), want)
    with pytest.raises(ValueError, match=r"obs must have shape \(N, 4\)"):
        policy.act(obs[:, :3])


def test_act_samples_with_the_policy_probabilities():
    torch.manual_seed(1)
    policy = torch_policy.CategoricalPolicy(2, 3, hidden=(4,))
    with torch.no_grad():
        policy.net[2].bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
        policy.net[2].weight.zero_()
    want = torch.softmax(torch.tensor([0.0, 1.0, -1.0]), 0).numpy()
    a = policy.act(np.zeros((100_000, 2), dtype=np.float32))
    freq = np.bincount(a, minlength=3) / a.size
    np.testing.assert_allclose(freq, want, atol=0.005)  # ~5 standard errors


def test_act_samples_softmax_with_the_generator_given():
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 3, hidden=(8,))
    obs = np.zeros((30_000, 4), dtype=np.float32)
    state = torch.get_rng_state()
    a = policy.act(obs, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is not used
    np.testing.assert_array_equal(a, policy.act(obs, generator=torch.Generator().manual_seed(3)))
    with torch.no_grad():
        p = torch.softmax(policy(torch.zeros(1, 4)), -1)[0].numpy()
    np.testing.assert_allclose(np.bincount(a, minlength=3) / len(a), p, atol=0.01)
    assert (policy.act(obs[:2], greedy=True) == p.argmax()).all()


def test_value_net_shape_and_mlp_validation():
    v = torch_policy.ValueNet(4, hidden=(8, 8))
    assert v(torch.zeros(5, 4)).shape == (5,)
    with pytest.raises(ValueError, match="sizes"):
        torch_policy.mlp([4])


@pytest.mark.parametrize("name", list(torch_policy.LOSSES))
def test_losses_refuse_weights_that_would_broadcast(name):
    logits, actions = torch.zeros(5, 2), torch.zeros(5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"weights must have shape \(5,\)"):
        torch_policy.LOSSES[name](logits, actions, torch.ones(5, 1))  # (5,) * (5, 1) is (5, 5)
    with pytest.raises(ValueError, match="actions must be integer indices"):
        torch_policy.LOSSES[name](logits, torch.zeros(5, 1, dtype=torch.long), torch.ones(5))


def test_act_draws_what_multinomial_draws_from_the_generator():
    """act draws with torch.multinomial on softmax(policy(obs)) from the caller's generator
    (what Categorical(logits=z).sample() calls, without a generator): the same draws for the
    same seed, for a float64 policy and for torch or NumPy observations."""
    torch.manual_seed(0)
    for policy in (torch_policy.CategoricalPolicy(4, 3, hidden=(8,)),
                   torch_policy.CategoricalPolicy(4, 5, hidden=(16, 8)).double()):
        dtype = policy.net[0].weight.dtype
        obs = torch.randn(500, 4, generator=torch.Generator().manual_seed(1), dtype=dtype)
        with torch.no_grad():
            probs = torch.softmax(policy(obs), -1)
        want = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(7))[:, 0]
        got = policy.act(obs, generator=torch.Generator().manual_seed(7))
        assert got.dtype == np.int64 and got.shape == (500,)
        np.testing.assert_array_equal(got, want.numpy())
        again = policy.act(obs.numpy(), generator=torch.Generator().manual_seed(7))
        np.testing.assert_array_equal(again, want.numpy())  # NumPy observations: the same


def test_act_samples_from_what_forward_computes():
    """Whatever policy(obs) computes (a hook here), act samples from it."""
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 3, hidden=(8,))
    policy.net.register_forward_hook(lambda m, i, out: out + torch.tensor([0.0, 0.0, 50.0]))
    obs = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    np.testing.assert_array_equal(policy.act(obs, generator=torch.Generator().manual_seed(0)), 2)
    np.testing.assert_array_equal(policy.act(obs, greedy=True), 2)


@pytest.mark.parametrize("where", ["weights", "observations"])
def test_act_refuses_nan_logits(where):
    policy = torch_policy.CategoricalPolicy(4, 2, hidden=(8,))
    obs = np.zeros((5, 4), dtype=np.float32)
    if where == "weights":
        with torch.no_grad():
            policy.net[0].bias[0] = float("nan")
    else:
        obs[1:3, 0] = np.nan
    count = "5 of 5" if where == "weights" else "2 of 5"
    for path_obs in (obs, torch.from_numpy(obs)):  # NumPy or torch observations
        for greedy in (False, True):
            with pytest.raises(ValueError, match=f"logits hold NaN or \\+inf for {count} observations"):
                policy.act(path_obs, greedy=greedy)


def test_act_refuses_a_plus_inf_logit_and_never_draws_a_minus_inf_one():
    policy = torch_policy.CategoricalPolicy(4, 3, hidden=(8,))
    obs = np.zeros((2000, 4), dtype=np.float32)
    with torch.no_grad():  # +inf: softmax is NaN, no action can be drawn
        policy.net[2].bias.copy_(torch.tensor([0.0, float("inf"), 0.0]))
    with pytest.raises(ValueError, match="NaN or \\+inf for 2000 of 2000"):
        policy.act(obs)
    with torch.no_grad():  # -inf rules an action out: it is never drawn
        policy.net[2].weight.zero_()
        policy.net[2].bias.copy_(torch.tensor([0.0, float("-inf"), 0.0]))
    a = policy.act(obs, generator=torch.Generator().manual_seed(0))
    assert set(np.unique(a)) == {0, 2}
