"""The torch trainers reduce a batch as the course's convention says: the sum over each
episode's steps, the mean over the episodes (docs/conventions.md §3)."""

from __future__ import annotations

import torch
from torch.distributions import Categorical

from rlcourse import gaussian_trainer, returns, rollout, torch_trainer


def test_cartpole_loss_is_the_sum_over_steps_over_the_number_of_episodes(capture):
    seen = capture(rollout, "collect_episodes")
    cfg = torch_trainer.Config(seed=4, num_envs=5, max_env_steps=1, target=None)
    envs = rollout.make_vec("CartPole-v1", 1)
    policy = torch_trainer.make_policy(envs, cfg, torch.device("cpu"))
    envs.close()
    h = torch_trainer.train(cfg)
    (b,) = seen
    adv = returns.advantages(b.rewards, b.dones, cfg.gamma, "normalized", mask=b.mask)
    log_pi = Categorical(logits=policy(torch.as_tensor(b.obs))).log_prob(
        torch.as_tensor(b.actions)).double().detach()
    want = -(torch.as_tensor(adv) * log_pi * torch.as_tensor(b.mask)).sum() / 5
    assert abs(h.loss[0] - float(want)) < 1e-4 * max(1.0, abs(float(want)))


def test_gaussian_loss_is_the_sum_over_steps_over_the_number_of_episodes(capture):
    seen = capture(gaussian_trainer, "collect")
    cfg = gaussian_trainer.Config(seed=2, num_envs=6, max_env_steps=1, target=None)
    policy = gaussian_trainer.make_policy(cfg, torch.device("cpu"))
    h = gaussian_trainer.train(cfg, device="cpu")
    ((obs, actions, rewards, dones),) = seen
    adv = returns.advantages(rewards, dones, cfg.gamma)
    with torch.no_grad():  # log π summed over the action dimension, by torch.distributions
        log_pi = policy(obs.flatten(0, 1)).log_prob(actions.flatten(0, 1)).sum(-1)
    want = -(adv.flatten() * log_pi).sum() / 6
    assert abs(h.loss[0] - float(want)) < 1e-4 * max(1.0, abs(float(want)))
