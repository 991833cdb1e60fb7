"""The batched torch Pendulum against gymnasium's Pendulum-v1: same states, same actions."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcourse.envs import pendulum

_GYM = gym.make("Pendulum-v1")
_GYM.reset(seed=0)


def _gym_step(state: np.ndarray, action: float):
    """One step of gymnasium's own Pendulum-v1 from ``state`` = [θ, θ̇]."""
    env = _GYM.unwrapped
    env.state = np.array(state, dtype=np.float64)
    obs, reward, terminated, _truncated, _ = env.step(np.array([action], dtype=np.float32))
    return obs, reward, terminated, env.state


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-6), (torch.float32, 2e-5)])
def test_one_step_matches_gymnasium_from_the_same_states(dtype, tol):
    rng = np.random.default_rng(0)
    n = 64
    states = np.column_stack([rng.uniform(-3 * math.pi, 3 * math.pi, n),  # unwrapped angles too
                              rng.uniform(-8, 8, n)])
    states[:4, 1] = [8.0, -8.0, 7.99, -7.99]  # speeds at the clip
    actions = rng.uniform(-3, 3, n).astype(np.float32)  # outside [-2, 2] too: the env clips
    env = pendulum.BatchedPendulum(n, dtype=dtype)
    env.state = torch.tensor(states)
    obs, reward, terminated, truncated, _info = env.step(torch.tensor(actions)[:, None])
    assert obs.shape == (n, 3) and reward.shape == (n,) and obs.dtype == dtype
    assert not terminated.any() and not truncated.any()
    for i in range(n):
        g_obs, g_reward, g_term, g_state = _gym_step(states[i], float(actions[i]))
        np.testing.assert_allclose(obs[i].numpy(), g_obs, atol=tol, rtol=0)
        np.testing.assert_allclose(reward[i].item(), g_reward, atol=tol * 10, rtol=tol)
        np.testing.assert_allclose(env.state[i].numpy(), g_state, atol=tol, rtol=0)
        assert not g_term


def test_a_whole_episode_matches_gymnasium_and_truncates_at_200():
    n = 8
    env = pendulum.BatchedPendulum(n, dtype=torch.float64)
    env.reset(seed=3)
    gyms = [gym.make("Pendulum-v1") for _ in range(n)]
    for i, g in enumerate(gyms):
        g.reset(seed=i)
        g.unwrapped.state = env.state[i].numpy().copy()
    rng = np.random.default_rng(1)
    for t in range(200):
        a = rng.uniform(-2.5, 2.5, (n, 1)).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(torch.tensor(a, dtype=torch.float64))
        for i, g in enumerate(gyms):
            g_obs, g_reward, g_term, g_trunc, _ = g.step(a[i])
            np.testing.assert_allclose(info["final_obs"][i].numpy(), g_obs, atol=1e-5)
            np.testing.assert_allclose(reward[i].item(), g_reward, atol=1e-4)
            assert bool(truncated[i]) == g_trunc == (t == 199)
            assert not terminated[i] and not g_term
    # autoreset in the same step: a fresh start, the ended episode's last obs in info
    assert info["_final_obs"].all()
    assert (env.elapsed_steps == 0).all()
    state = env.state
    assert (state[:, 0].abs() <= math.pi).all() and (state[:, 1].abs() <= 1).all()
    np.testing.assert_allclose(obs.numpy(), pendulum.BatchedPendulum._obs(state[:, 0], state[:, 1]).numpy())
    assert not torch.allclose(obs, info["final_obs"])


def test_reset_distribution_and_seeding():
    env = pendulum.BatchedPendulum(100_000)
    obs, info = env.reset(seed=7)
    assert obs.shape == (100_000, 3) and info == {}
    th, thdot = env.state.T
    assert th.abs().max() <= math.pi and thdot.abs().max() <= 1.0
    # uniform on [-π, π] and [-1, 1]: means 0, standard deviations π/√3 and 1/√3
    assert abs(th.mean()) < 0.03 and abs(th.std() - math.pi / math.sqrt(3)) < 0.03
    assert abs(thdot.mean()) < 0.01 and abs(thdot.std() - 1 / math.sqrt(3)) < 0.01
    np.testing.assert_allclose(obs[:, 0], torch.cos(th))
    np.testing.assert_allclose(obs[:, 1], torch.sin(th))
    again, _ = env.reset(seed=7)
    assert torch.equal(obs, again)
    other, _ = env.reset(seed=8)
    assert not torch.equal(obs, other)
    _small, _ = env.reset(seed=7, options={"x_init": 0.1, "y_init": 0.0})
    assert env.state[:, 0].abs().max() <= 0.1 and (env.state[:, 1] == 0).all()


def test_state_is_a_copy_and_settable():
    env = pendulum.BatchedPendulum(2)
    env.reset(seed=0)
    s = env.state
    s += 1.0
    assert not torch.equal(s, env.state)
    env.state = torch.tensor([[0.0, 0.0], [math.pi, 0.0]])
    obs, reward, *_ = env.step(torch.zeros(2, 1))
    # upright and still: reward 0 and it stays; hanging down: the worst angle cost π²
    assert reward[0].item() == 0.0 and torch.equal(obs[0], torch.tensor([1.0, 0.0, 0.0]))
    assert reward[1].item() == pytest.approx(-math.pi**2, rel=1e-6)
    env.elapsed_steps = torch.tensor([199, 0])
    *_, truncated, _ = env.step(torch.zeros(2))
    assert truncated.tolist() == [True, False]


def test_bad_input_is_rejected_with_clear_errors():
    with pytest.raises(ValueError, match="num_envs"):
        pendulum.BatchedPendulum(0)
    with pytest.raises(TypeError, match="dtype"):
        pendulum.BatchedPendulum(2, dtype=torch.int32)
    env = pendulum.BatchedPendulum(3)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(3, 1))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3, 1\)"):
        env.step(torch.zeros(4, 1))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        env.step(np.zeros((3, 1)))
    with pytest.raises(TypeError, match="floating point"):
        env.step(torch.zeros(3, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match="meta"):
        env.step(torch.zeros(3, 1, device="meta"))
    with pytest.raises(ValueError, match=r"state must have shape \(3, 2\)"):
        env.state = torch.zeros(3, 3)
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=-1)
    with pytest.raises(ValueError, match="elapsed_steps"):
        env.elapsed_steps = torch.tensor([0, 0, 200])


def test_spaces_follow_pendulum_v1():
    env = pendulum.BatchedPendulum(5)
    reference = gym.make("Pendulum-v1")
    assert env.single_action_space == reference.action_space
    assert env.single_observation_space == reference.observation_space
    assert env.action_space.shape == (5, 1) and env.observation_space.shape == (5, 3)


def test_sizes_accept_numpy_integers_and_bad_values_are_named():
    env = pendulum.BatchedPendulum(np.int64(3), max_episode_steps=np.int32(10))
    assert env.num_envs == 3 and env.max_episode_steps == 10
    with pytest.raises(TypeError, match="max_episode_steps"):
        pendulum.BatchedPendulum(2, max_episode_steps=2.5)
    with pytest.raises(ValueError, match="x_init"):
        env.reset(options={"x_init": float("nan")})
