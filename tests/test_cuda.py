"""On a CUDA device: the batched Pendulum and the Gaussian trainer agree with the CPU, and a
rollout step needs no host-device copy or synchronisation. Skipped without CUDA (tests/conftest)."""

from __future__ import annotations

import math

import pytest
import torch

from rlcourse import gaussian_trainer, returns, runtime, torch_trainer, trainer
from rlcourse.envs import pendulum

pytestmark = pytest.mark.cuda
CUDA = torch.device("cuda")


def test_get_device_resolves_cuda():
    assert runtime.get_device("cuda").type == "cuda"
    assert runtime.get_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


def test_batched_pendulum_on_cuda_matches_the_cpu():
    g = torch.Generator().manual_seed(0)
    state = (torch.rand(1024, 2, generator=g, dtype=torch.float64) * 2 - 1) * torch.tensor(
        [math.pi, 8.0], dtype=torch.float64)
    actions = torch.randn(150, 1024, 1, generator=g, dtype=torch.float64) * 2
    envs = [pendulum.BatchedPendulum(1024, device=d, dtype=torch.float64) for d in ("cpu", CUDA)]
    for env in envs:
        env.state = state
    for t in range(150):  # before the 200-step truncation: no fresh random starts
        envs[1].state = envs[0].state  # one step from the same state (the dynamics are chaotic)
        envs[1].elapsed_steps = envs[0].elapsed_steps
        (o_cpu, r_cpu, *_), (o_gpu, r_gpu, *_) = (env.step(actions[t].to(env.device))
                                                  for env in envs)
        torch.testing.assert_close(o_gpu.cpu(), o_cpu, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(r_gpu.cpu(), r_cpu, rtol=1e-9, atol=1e-9)


def test_a_rollout_makes_no_host_device_copy_per_step():
    """torch's sync debug mode raises on any operation that waits for the device (a copy to the
    host, .item(), bool(tensor)): a whole rollout of collect() must run without one."""
    cfg = gaussian_trainer.Config(num_envs=4096)
    policy = gaussian_trainer.make_policy(cfg, CUDA)
    env = pendulum.BatchedPendulum(cfg.num_envs, device=CUDA)
    env.reset(seed=0)
    gen = torch.Generator(CUDA).manual_seed(0)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        obs, actions, rewards, dones = gaussian_trainer.collect(env, policy, 200, gen)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert obs.device.type == actions.device.type == rewards.device.type == "cuda"
    assert bool(dones[-1].all())


def test_one_gaussian_update_gives_the_same_gradient_on_cuda_and_cpu():
    cfg = gaussian_trainer.Config(num_envs=256, seed=3)
    env = pendulum.BatchedPendulum(cfg.num_envs)
    env.reset(seed=0)
    cpu_policy = gaussian_trainer.make_policy(cfg, torch.device("cpu"))
    batch = gaussian_trainer.collect(env, cpu_policy, 200, torch.Generator().manual_seed(0))
    grads = []
    for device in ("cpu", CUDA):
        policy = gaussian_trainer.make_policy(cfg, torch.device(device))
        obs, actions, rewards, dones = (x.to(device) for x in batch)
        adv = returns.advantages(rewards, dones, cfg.gamma, cfg.advantage)
        log_pi = policy.log_prob(obs.flatten(0, 1), actions.flatten(0, 1)).view_as(adv)
        trainer.surrogate_loss(log_pi, adv, cfg.num_envs).backward()
        grads.append(torch.cat([p.grad.flatten().cpu() for p in policy.parameters()]))
    assert (grads[0] - grads[1]).norm() <= 1e-4 * grads[0].norm()


def test_the_gaussian_trainer_runs_on_cuda():
    h = gaussian_trainer.train(device="cuda", num_envs=1024, max_env_steps=5 * 1024 * 200,
                               eval_every=5, target=-1e9, stop_margin=1e12)
    assert next(h.policy.parameters()).device.type == "cuda"
    assert len(h.env_steps) == 5 and len(h.evaluations) == 1
    assert h.mean_return[-1] > h.mean_return[0]  # 5 updates of 1024 episodes: already better


def test_the_cartpole_trainer_accepts_a_cuda_device():
    h = torch_trainer.train(device=torch.device("cuda"), max_env_steps=2000, target=None)
    assert next(h.policy.parameters()).device.type == "cuda" and len(h.loss) >= 2
