"""Sign tests: every loss and every trainer ascends J (seconds each).

A flipped policy-gradient term, or an optimiser that descends the objective, fails here:
- each loss: one small gradient step on it raises Σ A·log π of the batch it was computed on;
- each trainer: its first update, on the batch it collected, raises Σ A·log π of that batch;
- each trainer: a short run on an easy problem raises the return.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from rlcourse import (
    gaussian_policy,
    gaussian_trainer,
    numpy_policy,
    numpy_trainer,
    returns,
    rollout,
    torch_policy,
    torch_trainer,
    trainer,
)


def fixed_categorical_batch(seed=0, B=64, A=3, D=4):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(B, D, generator=g)
    actions = torch.randint(A, (B,), generator=g)
    adv = torch.randn(B, generator=g)
    return obs, actions, adv


def objective(policy, obs, actions, adv):
    """Σ A·log π(a|s): what REINFORCE ascends."""
    with torch.no_grad():
        return float((adv * Categorical(logits=policy(obs)).log_prob(actions)).sum())


@pytest.mark.parametrize("name", [*torch_policy.LOSSES, "surrogate_loss"])
def test_one_step_on_each_categorical_loss_raises_the_objective(name):
    obs, actions, adv = fixed_categorical_batch()
    torch.manual_seed(0)
    policy = torch_policy.CategoricalPolicy(4, 3, (16,))
    before = objective(policy, obs, actions, adv)
    if name == "surrogate_loss":
        log_pi = Categorical(logits=policy(obs)).log_prob(actions)
        loss = trainer.surrogate_loss(log_pi, adv, num_episodes=4)
    else:
        loss = torch_policy.LOSSES[name](policy(obs), actions, adv)
    opt = torch.optim.SGD(policy.parameters(), lr=1e-3)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert objective(policy, obs, actions, adv) > before


@pytest.mark.parametrize("log_density", ["gaussian_log_prob", "policy.log_prob"])
def test_one_step_on_the_gaussian_surrogate_raises_the_objective(log_density):
    g = torch.Generator().manual_seed(1)
    obs, actions, adv = torch.randn(64, 3, generator=g), torch.randn(64, 2, generator=g), \
        torch.randn(64, generator=g)
    torch.manual_seed(0)
    policy = gaussian_policy.GaussianPolicy(3, 2, (16,), log_std_init=-0.5)

    def log_pi():
        if log_density == "policy.log_prob":
            return policy.log_prob(obs, actions)
        mean, log_std = policy.mean_and_log_std(obs)
        return gaussian_policy.gaussian_log_prob(actions, mean, log_std)

    before = float((adv * log_pi()).sum().detach())
    opt = torch.optim.SGD(policy.parameters(), lr=1e-3)
    trainer.surrogate_loss(log_pi(), adv, 8).backward()
    opt.step()
    assert float((adv * log_pi()).sum().detach()) > before


# --- each trainer's first update, on the batch it collected ----------------------------------

def test_torch_trainer_first_update_raises_the_objective(capture):
    batches = capture(rollout, "collect_episodes")
    cfg = torch_trainer.Config(seed=0, lr=1e-3, max_env_steps=1, target=None)
    envs = rollout.make_vec("CartPole-v1", 1)
    before = torch_trainer.make_policy(envs, cfg, torch.device("cpu"))  # the same initial weights
    envs.close()
    after = torch_trainer.train(cfg).policy
    (b,) = batches
    adv = returns.advantages(b.rewards, b.dones, cfg.gamma, cfg.advantage, mask=b.mask)
    x = (torch.as_tensor(b.obs[b.mask]), torch.as_tensor(b.actions[b.mask]),
         torch.as_tensor(adv[b.mask], dtype=torch.float32))
    assert objective(after, *x) > objective(before, *x)


def test_numpy_trainer_first_update_raises_the_objective(capture):
    batches = capture(rollout, "collect_episodes")
    cfg = numpy_trainer.Config(seed=0, lr=1e-3, max_env_steps=1, target=None)
    envs = rollout.make_vec("CartPole-v1", 1)
    before = numpy_trainer.make_params(envs, cfg)
    envs.close()
    after = numpy_trainer.train(cfg).policy
    (b,) = batches
    adv = returns.advantages(b.rewards, b.dones, cfg.gamma, cfg.advantage, mask=b.mask)
    x = (b.obs[b.mask], b.actions[b.mask].astype(np.int64), adv[b.mask])
    assert numpy_policy.policy_gradient(after, *x)[0] > numpy_policy.policy_gradient(before, *x)[0]


def test_gaussian_trainer_first_update_raises_the_objective(capture):
    batches = capture(gaussian_trainer, "collect")
    cfg = gaussian_trainer.Config(seed=0, num_envs=16, lr=1e-3, max_env_steps=1, target=None)
    before = gaussian_trainer.make_policy(cfg, torch.device("cpu"))
    after = gaussian_trainer.train(cfg, device="cpu").policy
    ((obs, actions, rewards, dones),) = batches
    adv = returns.advantages(rewards, dones, cfg.gamma, cfg.advantage)
    o, a = obs.flatten(0, 1), actions.flatten(0, 1)
    with torch.no_grad():
        gain = [float((adv.flatten() * p.log_prob(o, a)).sum()) for p in (before, after)]
    assert gain[1] > gain[0]


# --- each trainer: a short run on an easy problem raises the return ---------------------------

@pytest.mark.slow  # trains
@pytest.mark.parametrize("module", [numpy_trainer, torch_trainer], ids=["numpy", "torch"])
def test_a_short_cartpole_run_raises_the_return(module):
    h = module.train(seed=1, max_env_steps=6_000, target=None)
    first, last = h.mean_return[0], np.mean(h.mean_return[-2:])  # the initial policy; the end
    assert first < 35 and last > first + 15, (first, last)  # flipped: it falls towards 9


@pytest.mark.slow  # trains
def test_a_short_pendulum_run_raises_the_return():
    h = gaussian_trainer.train(seed=0, num_envs=64, max_env_steps=12 * 64 * 200, target=None,
                               device="cpu")
    first, last = np.mean(h.mean_return[:2]), np.mean(h.mean_return[-2:])
    assert last > first + 100, (first, last)
