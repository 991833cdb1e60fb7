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


@pytest.mark.parametrize("path", ["numpy", "torch"])
def test_act_samples_with_the_policy_probabilities(path):
    torch.manual_seed(1)
    policy = torch_policy.CategoricalPolicy(2, 3, hidden=(4,))
    if path == "torch":  # a hook that changes nothing sends act through torch
        policy.register_forward_hook(lambda module, inputs, out: out)
    assert (policy._numpy_layers() is None) == (path == "torch")
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


def _favour(policy, action, how):
    """Make ``action`` certain by rewriting the last layer's bias in one of the ways a policy's
    weights change (its storage kept or replaced)."""
    bias = torch.full((policy.n_actions,), -50.0, dtype=policy.net[-1].bias.dtype)
    bias[action] = 50.0
    if how == "optimizer":
        opt = torch.optim.Adam(policy.parameters(), lr=100.0)
        loss = -policy.net[-1].bias[action]
        opt.zero_grad()
        loss.backward()
        opt.step()
    elif how == "load_state_dict":
        state = {k: v.clone() for k, v in policy.state_dict().items()}
        state[f"net.{len(policy.net) - 1}.bias"] = bias
        policy.load_state_dict(state)
    elif how == "no_grad copy":
        with torch.no_grad():
            policy.net[-1].bias.copy_(bias)
    elif how == "data replaced":
        policy.net[-1].bias.data = bias
    elif how == "dtype changed":
        policy.double()
        with torch.no_grad():
            policy.net[-1].bias.copy_(bias)


@pytest.mark.parametrize("how", ["optimizer", "load_state_dict", "no_grad copy", "data replaced",
                                 "dtype changed"])
def test_act_samples_from_the_weights_as_they_are_now(how):
    """On-policy: act runs NumPy on views of the weights; whatever changes the weights, the next
    call samples from the new policy (a stale copy would make training off-policy)."""
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 3, hidden=(8,))
    obs = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    before = policy.act(obs, generator=torch.Generator().manual_seed(0))
    assert len(np.unique(before)) == 3
    _favour(policy, 2, how)
    np.testing.assert_array_equal(policy.act(obs, generator=torch.Generator().manual_seed(0)), 2)
    np.testing.assert_array_equal(policy.act(obs, greedy=True), 2)


def test_act_numpy_path_is_the_module_forward():
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 5, hidden=(16, 8)).double()
    obs = np.random.default_rng(1).normal(size=(500, 4))
    assert policy._numpy_layers() is not None  # the NumPy path is the one under test
    with torch.no_grad():
        want = policy(torch.from_numpy(obs)).argmax(1).numpy()
    np.testing.assert_array_equal(policy.act(obs, greedy=True), want)


def _with_hook(policy):
    policy.net[-1].register_forward_hook(lambda m, i, out: out + torch.tensor([0.0, 0.0, 50.0]))
    return policy


def _with_dropout(policy):
    policy.net.insert(2, torch.nn.Dropout(0.5))
    return policy.eval()


class _Shifted(torch_policy.CategoricalPolicy):
    def forward(self, obs):
        return self.net(obs) + torch.tensor([0.0, 0.0, 50.0])


def _with_hook_on_net(policy):
    policy.net.register_forward_hook(lambda m, i, out: out + torch.tensor([0.0, 0.0, 50.0]))
    return policy


def _bfloat16(policy):
    with torch.no_grad():
        policy.net[-1].bias.copy_(torch.tensor([0.0, 0.0, 50.0]))
    return policy.to(torch.bfloat16)


@pytest.mark.parametrize("make", [_with_hook, _with_hook_on_net, _with_dropout, _bfloat16,
                                  lambda p: _Shifted(4, 3, hidden=(8,))])
def test_act_runs_through_torch_where_numpy_would_not_be_the_forward(make):
    torch.manual_seed(0)
    policy = make(torch_policy.CategoricalPolicy(4, 3, hidden=(8,)))
    assert policy._numpy_layers() is None
    obs = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    with torch.no_grad():
        x = torch.from_numpy(obs).to(policy.net[0].weight.dtype)
        want = policy(x).argmax(1).numpy()
    np.testing.assert_array_equal(policy.act(obs, greedy=True), want)
    a = policy.act(obs, generator=torch.Generator().manual_seed(0))
    if make is _with_dropout:
        assert len(np.unique(a)) == 3
    else:
        np.testing.assert_array_equal(a, 2)


def _net_subclass(policy):
    class Shifted(torch.nn.Sequential):
        def forward(self, x):
            return super().forward(x) + torch.tensor([0.0, 0.0, 50.0])
    policy.net = Shifted(*policy.net)
    return policy


def _forward_on_object(target):
    def make(policy):
        obj = policy if target == "policy" else policy.net
        original = obj.forward
        obj.forward = lambda x: original(x) + torch.tensor([0.0, 0.0, 50.0])
        return policy
    return make


def _relu_in_place(policy):
    policy.net[1].__class__ = torch.nn.ReLU
    policy.net[1].inplace = False
    return policy


def _plain_tensor_weight(policy):
    layer = policy.net[0]
    weight = layer.weight.detach().clone()
    del layer.weight
    layer.weight = weight  # a plain tensor attribute, as in MAML-style code ...
    policy.act(np.zeros((1, 4), dtype=np.float32))
    layer.weight = weight * -3.0  # ... replaced by the next inner step
    return policy


@pytest.mark.parametrize("make", [_net_subclass, _forward_on_object("policy"),
                                  _forward_on_object("net"), _relu_in_place,
                                  _plain_tensor_weight])
def test_act_follows_every_other_forward(make):
    """Whatever policy(obs) computes, act samples from it (a NumPy path that skipped a replaced
    forward or layer would sample from another policy: off-policy without a word)."""
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 3, hidden=(8,))
    with torch.no_grad():
        policy.net[0].weight.mul_(5.0)
    obs = np.random.default_rng(0).normal(size=(2000, 4)).astype(np.float32)
    policy.act(obs)  # the views are built before the change
    policy = make(policy)
    with torch.no_grad():
        want = policy(torch.from_numpy(obs)).argmax(1).numpy()
    np.testing.assert_array_equal(policy.act(obs, greedy=True), want)


def test_act_sees_a_transposed_weight_with_the_same_storage():
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 4, hidden=(4,))
    obs = np.random.default_rng(0).normal(size=(2000, 4)).astype(np.float32)
    policy.act(obs)
    layer = policy.net[2]
    layer.weight.data = layer.weight.data.t()  # same data pointer, other strides
    with torch.no_grad():
        want = policy(torch.from_numpy(obs)).argmax(1).numpy()
    np.testing.assert_array_equal(policy.act(obs, greedy=True), want)


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
    for path_obs in (obs, torch.from_numpy(obs)):  # the NumPy path and torch's
        with pytest.raises(ValueError, match=f"logits hold NaN for {count} observations"):
            policy.act(path_obs)
    infinite = torch_policy.CategoricalPolicy(4, 2, hidden=(8,))
    with torch.no_grad():  # an infinite logit is a certain action, not an error
        infinite.net[2].bias.copy_(torch.tensor([0.0, float("inf")]))
    np.testing.assert_array_equal(infinite.act(np.zeros((5, 4), dtype=np.float32)), 1)
