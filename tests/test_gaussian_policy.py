"""Gaussian log-density and its hand-derived gradients: by hand vs autograd vs Normal vs finite
differences (float64); the tanh correction checked numerically; the trainer's pieces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import AffineTransform, Normal, TanhTransform, TransformedDistribution

from rlcourse import gaussian_policy as gp
from rlcourse import gaussian_trainer as gt
from rlcourse.envs import pendulum


def _data(batch=7, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(batch, d, generator=g, dtype=torch.float64)
    log_std = torch.randn(d, generator=g, dtype=torch.float64) * 0.5
    actions = mean + torch.randn(batch, d, generator=g, dtype=torch.float64) * log_std.exp()
    return actions, mean, log_std


def _central_difference(f, x, h=1e-6):
    """∂f/∂x for scalar f by centred differences (CS231n style), same shape as x."""
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + h
        up = f(x).item()
        flat[i] = old - h
        down = f(x).item()
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return grad


def test_log_prob_equals_normal_and_is_summed_over_action_dims():
    a, mu, ls = _data()
    ours = gp.gaussian_log_prob(a, mu, ls)
    reference = Normal(mu, ls.exp()).log_prob(a).sum(-1)
    assert ours.shape == (7,)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    # one dimension, written out: -(a-μ)²/(2σ²) - log σ - ½ log 2π
    x, m, s = 0.3, -0.2, 0.7
    by_hand = -((x - m) ** 2) / (2 * s**2) - math.log(s) - 0.5 * math.log(2 * math.pi)
    got = gp.gaussian_log_prob(torch.tensor([[x]]), torch.tensor([[m]]),
                               torch.tensor([math.log(s)]))
    assert got.item() == pytest.approx(by_hand, rel=1e-6)


def test_hand_gradients_match_autograd_normal_and_finite_differences():
    a, mu, ls = _data()
    d_mu, d_ls = gp.gaussian_log_prob_grads(a, mu, ls)
    assert d_mu.shape == d_ls.shape == (7, 3)
    # autograd through our written-out density and through torch.distributions.Normal
    for logp in (lambda m, s: gp.gaussian_log_prob(a, m, s),
                 lambda m, s: Normal(m, s.exp()).log_prob(a).sum(-1)):
        m, s = mu.clone().requires_grad_(), ls.clone().requires_grad_()
        logp(m, s).sum().backward()
        torch.testing.assert_close(m.grad, d_mu, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(s.grad, d_ls.sum(0), rtol=1e-10, atol=1e-12)
    # finite differences (float64, centred): relative error well below 1e-6
    fd_mu = _central_difference(lambda m: gp.gaussian_log_prob(a, m, ls).sum(), mu.clone())
    fd_ls = _central_difference(lambda s: gp.gaussian_log_prob(a, mu, s).sum(), ls.clone())
    assert torch.allclose(fd_mu, d_mu, rtol=1e-6, atol=1e-7)
    assert torch.allclose(fd_ls, d_ls.sum(0), rtol=1e-6, atol=1e-7)


def test_gradient_signs_make_sense():
    # an action above the mean pulls μ up; an action within one σ of μ pulls log σ down
    d_mu, d_ls = gp.gaussian_log_prob_grads(torch.tensor([[1.5]]), torch.tensor([[1.0]]),
                                            torch.tensor([0.0]))
    assert d_mu.item() == pytest.approx(0.5) and d_ls.item() == pytest.approx(0.25 - 1)


def test_tanh_correction_matches_the_density_of_the_squashed_action():
    scale = 2.0
    mu, sigma = torch.tensor([[0.4]], dtype=torch.float64), torch.tensor([[0.8]],
                                                                         dtype=torch.float64)
    dist = Normal(mu, sigma)
    u = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    ours = gp.squashed_log_prob(Normal(mu.expand_as(u), sigma.expand_as(u)), u, scale)
    # 1. torch.distributions' own change of variables
    squashed = TransformedDistribution(dist, [TanhTransform(), AffineTransform(0.0, scale)])
    a = scale * torch.tanh(u)
    torch.testing.assert_close(ours, squashed.log_prob(a).sum(-1), rtol=1e-8, atol=1e-8)
    # 2. numerically: the density is the derivative of P(A <= a) = Φ((atanh(a/c) - μ)/σ)
    def cdf(x):
        return dist.cdf(torch.atanh(x / scale))

    h = 1e-6
    numeric = (cdf(a + h) - cdf(a - h)) / (2 * h)
    torch.testing.assert_close(ours.exp(), numeric[:, 0], rtol=1e-5, atol=1e-9)
    # 3. it integrates to one over (-c, c)
    grid = torch.linspace(-scale + 1e-9, scale - 1e-9, 200_001, dtype=torch.float64)
    uu = torch.atanh(grid / scale)[:, None]
    density = gp.squashed_log_prob(Normal(mu.expand_as(uu), sigma.expand_as(uu)), uu,
                                   scale).exp()
    assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-4)


def test_tanh_log_det_is_stable_for_large_inputs():
    u = torch.tensor([[30.0, -30.0]], dtype=torch.float64)
    naive = torch.log(1 - torch.tanh(u) ** 2).sum(-1)
    assert torch.isinf(naive).all()
    stable = gp.tanh_log_det_jacobian(u)
    assert torch.isfinite(stable).all()
    assert stable.item() == pytest.approx(2 * (2 * math.log(2) - 60), rel=1e-9)


def test_policy_module_shapes_sigma_and_head():
    torch.manual_seed(0)
    policy = gp.GaussianPolicy(3, 2, (8,), log_std_init=-0.5)
    obs = torch.randn(5, 3)
    dist = policy(obs)
    assert isinstance(dist, Normal) and dist.mean.shape == (5, 2)
    torch.testing.assert_close(dist.stddev, torch.full((5, 2), math.exp(-0.5)))
    assert policy.log_std in list(policy.parameters())
    a = dist.sample()
    torch.testing.assert_close(policy.log_prob(obs, a),
                               gp.gaussian_log_prob(a, dist.mean, policy.log_std))
    assert torch.equal(policy.act(obs, deterministic=True), dist.mean.detach())
    head = gp.GaussianPolicy(3, 2, (8,), std_head=True)
    hd = head(obs)
    assert not hasattr(head, "log_std") or not isinstance(head.log_std, torch.nn.Parameter)
    assert hd.stddev.shape == (5, 2) and not torch.allclose(hd.stddev[0], hd.stddev[1])
    assert (hd.stddev > 0).all()


def test_bad_input_errors():
    with pytest.raises(TypeError, match=r"actions must be a torch\.Tensor"):
        gp.gaussian_log_prob(np.zeros((2, 1)), torch.zeros(2, 1), torch.zeros(1))
    with pytest.raises(TypeError, match="log_std must be floating point"):
        gp.gaussian_log_prob(torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(1, dtype=int))
    policy = gp.GaussianPolicy(3, 1, (4,))
    with pytest.raises(ValueError, match=r"obs must have shape \(B, 3\)"):
        policy(torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"actions must have shape \(5, 1\)"):
        policy.log_prob(torch.zeros(5, 3), torch.zeros(5))
    with pytest.raises(ValueError, match="act_dim"):
        gp.GaussianPolicy(3, 0)
    with pytest.raises(ValueError, match=r"scale must be in \(0, inf\]"):
        gp.tanh_log_det_jacobian(torch.zeros(1, 1), scale=0.0)


# -- the trainer's pieces -------------------------------------------------------------------
def test_collect_stores_sampled_unclipped_actions_and_env_rewards():
    torch.manual_seed(0)
    policy = gp.GaussianPolicy(3, 1, (8,), log_std_init=1.0)  # σ = e: many |a| > 2
    env = pendulum.BatchedPendulum(6)
    env.reset(seed=0)
    o, a, r, d = gt.collect(env, policy, 200, torch.Generator().manual_seed(1))
    assert o.shape == (200, 6, 3) and a.shape == (200, 6, 1) and r.shape == (200, 6)
    assert (a.abs() > 2).any()  # stored as sampled: the env clips, the policy's log π does not
    assert d[-1].all() and not d[:-1].any()  # one whole episode, truncated at 200
    replay = pendulum.BatchedPendulum(6)
    replay.reset(seed=0)
    torch.testing.assert_close(replay.reset()[0], o[0])  # collect starts fresh episodes
    for t in range(3):
        torch.testing.assert_close(replay.step(a[t])[1], r[t])
    again = pendulum.BatchedPendulum(6)
    again.reset(seed=0)
    torch.testing.assert_close(gt.collect(again, policy, 200, torch.Generator().manual_seed(1))[1],
                               a)  # the generator, not the global RNG, draws the actions


def test_act_samples_with_the_generator_given_and_leaves_the_global_rng_alone():
    policy = gp.GaussianPolicy(3, 2, (8,), log_std_init=-1.0)
    obs = torch.zeros(20_000, 3)
    state = torch.get_rng_state()
    a = policy.act(obs, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(a, policy.act(obs, generator=torch.Generator().manual_seed(0)))
    mean, log_std = policy.mean_and_log_std(obs[:1])
    torch.testing.assert_close(a.mean(0), mean[0].detach(), atol=0.01, rtol=0)
    torch.testing.assert_close(a.std(0), log_std.exp().detach(), atol=0.01, rtol=0)
    torch.testing.assert_close(policy.act(obs[:2], deterministic=True), mean.detach().expand(2, 2))


@pytest.mark.parametrize("fn", [gp.gaussian_log_prob, gp.gaussian_log_prob_grads])
def test_log_density_refuses_shapes_that_would_broadcast_wrongly(fn):
    a = torch.zeros(5, 1)
    with pytest.raises(ValueError, match=r"mean must have the shape of actions \(5, 1\)"):
        fn(a, torch.zeros(5), torch.zeros(1))  # (5, 1) - (5,) would be (5, 5)
    with pytest.raises(ValueError, match=r"mean must have the shape of actions \(5,\)"):
        fn(torch.zeros(5), torch.zeros(5, 1), torch.zeros(1))
    with pytest.raises(ValueError, match="log_std must have shape"):
        fn(a, a, torch.zeros(5))


def test_surrogate_loss_refuses_mismatched_shapes_and_gradient_carrying_advantages():
    from rlcourse import trainer

    with pytest.raises(ValueError, match="log_probs and advantages must have the same shape"):
        trainer.surrogate_loss(torch.zeros(5), torch.zeros(5, 1), 1)
    with pytest.raises(ValueError, match="advantages carry gradient"):
        trainer.surrogate_loss(torch.zeros(5), torch.zeros(5, requires_grad=True), 1)
    with pytest.raises(ValueError, match="num_episodes"):
        trainer.surrogate_loss(torch.zeros(5), torch.zeros(5), 0)
    with pytest.raises(TypeError, match=r"log_probs must be a torch\.Tensor"):
        trainer.surrogate_loss(np.zeros(5), torch.zeros(5), 1)


def test_torch_and_gymnasium_evaluations_agree():
    # a simple policy: the same 100 episodes' mean return must agree within sampling noise
    torch.manual_seed(0)
    policy = gp.GaussianPolicy(3, 1, (8,))
    ours = gt.evaluate(policy, 200, seed=1)
    theirs = gt.evaluate_gymnasium(policy, 100, seed=1)
    assert ours.shape == (200,) and theirs.shape == (100,)
    gap = abs(ours.mean().item() - theirs.mean())
    assert gap < 4 * math.hypot(ours.std().item() / math.sqrt(200), theirs.std() / 10)


@pytest.mark.slow  # trains
def test_training_stops_at_target_plus_margin():
    early = gt.train(num_envs=8, hidden=(8,), eval_every=1, eval_episodes=4, target=-1e9,
                     stop_margin=0.0, seed=1, device="cpu")
    assert early.stopped and len(early.env_steps) == 1 and early.solved_at == 1600
