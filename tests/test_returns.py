"""discounted_returns and reward_to_go against brute-force sums; bad input named in the error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcourse import returns


def brute_force(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = Σ_{k=t}^{T-1} γ^(k−t) rewards[k], one double loop."""
    T = len(rewards)
    return np.array([sum(gamma ** (k - t) * rewards[k] for k in range(t, T)) for t in range(T)])


@pytest.mark.parametrize("seed", range(20))
def test_discounted_returns_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 40))
    rewards = rng.normal(scale=3.0, size=T)
    gamma = float(rng.choice([0.0, 0.5, 0.9, 0.99, 1.0, rng.uniform()]))
    got = returns.discounted_returns(rewards, gamma)
    assert got.dtype == np.float64 and got.shape == (T,)
    np.testing.assert_allclose(got, brute_force(rewards, gamma), rtol=1e-12, atol=1e-12)


def test_discounted_returns_small_example_by_hand():
    # G_2 = 2, G_1 = 0 + 0.5*2 = 1, G_0 = 1 + 0.5*1 = 1.5
    np.testing.assert_allclose(returns.discounted_returns([1.0, 0.0, 2.0], 0.5), [1.5, 1.0, 2.0])


def test_discounted_returns_accepts_lists_ints_and_torch():
    np.testing.assert_allclose(returns.discounted_returns([1, 1, 1], 1), [3.0, 2.0, 1.0])
    np.testing.assert_allclose(returns.discounted_returns(torch.tensor([1.0, 1.0]), 0.5),
                               [1.5, 1.0])


def test_empty_in_empty_out():
    out = returns.discounted_returns(np.array([]), 0.9)
    assert out.shape == (0,) and out.dtype == np.float64


def test_discounted_returns_does_not_modify_its_input():
    r = np.array([1.0, 2.0, 3.0])
    returns.discounted_returns(r, 0.9)
    np.testing.assert_array_equal(r, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("gamma", [-0.1, 1.5, float("nan"), "high", None])
def test_gamma_outside_unit_interval_is_named(gamma):
    with pytest.raises((TypeError, ValueError), match="gamma"):
        returns.discounted_returns([1.0, 2.0], gamma)


@pytest.mark.parametrize("rewards", [[1.0, np.nan], [np.inf, 0.0], [1.0, -np.inf]])
def test_non_finite_rewards_are_named(rewards):
    with pytest.raises(ValueError, match="rewards"):
        returns.discounted_returns(rewards, 0.9)


@pytest.mark.parametrize("rewards", [np.zeros((2, 3)), np.float64(1.0), [[1.0]]])
def test_rewards_must_be_one_dimensional(rewards):
    with pytest.raises(ValueError, match=r"rewards must be 1-D"):
        returns.discounted_returns(rewards, 0.9)


def test_long_episode_runs_in_linear_time():
    # a quadratic implementation would do 10^10 operations here and never finish the test
    out = returns.discounted_returns(np.ones(100_000), 1.0)
    assert out[0] == 100_000 and out[-1] == 1


# ---------------------------------------------------------------- reward_to_go

def _episodes(dones_column: np.ndarray) -> list[slice]:
    """The time slices of the episodes in one column (an episode ends where dones is 1)."""
    ends = [*np.flatnonzero(dones_column), len(dones_column) - 1]
    out, start = [], 0
    for end in ends:
        if end >= start:
            out.append(slice(start, end + 1))
            start = end + 1
    return out


@pytest.mark.parametrize("seed", range(10))
def test_reward_to_go_is_discounted_returns_per_episode_of_each_column(seed):
    rng = np.random.default_rng(seed)
    T, N, gamma = 25, 6, float(rng.uniform(0.5, 1.0))
    rewards = rng.normal(size=(T, N))
    dones = rng.random((T, N)) < 0.15
    got = returns.reward_to_go(rewards, gamma, dones)
    for n in range(N):
        for sl in _episodes(dones[:, n]):
            want = returns.discounted_returns(rewards[sl, n], gamma)
            np.testing.assert_allclose(got[sl, n], want, rtol=1e-12, atol=1e-12)


def test_reward_to_go_without_dones_is_one_episode_per_column():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(12, 3))
    got = returns.reward_to_go(rewards, 0.9)
    for n in range(3):
        np.testing.assert_allclose(got[:, n], brute_force(rewards[:, n], 0.9), rtol=1e-12)


def test_reward_to_go_keeps_torch_and_carries_no_gradient():
    rewards = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], requires_grad=True)
    dones = torch.tensor([[False, True], [False, False], [True, False]])
    got = returns.reward_to_go(rewards, 0.5, dones)
    assert isinstance(got, torch.Tensor) and not got.requires_grad
    want = returns.reward_to_go(rewards.detach().numpy(), 0.5, dones.numpy())
    np.testing.assert_allclose(got.numpy(), want)
    np.testing.assert_allclose(want[:, 1], [0.0, 1.0 + 0.5 * 2.0, 2.0])


def test_reward_to_go_names_bad_arguments():
    with pytest.raises(ValueError, match="dones"):
        returns.reward_to_go(np.zeros((3, 2)), 0.9, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="gamma"):
        returns.reward_to_go(np.zeros((3, 2)), 2.0)
    with pytest.raises(ValueError, match="rewards"):
        returns.reward_to_go(np.zeros((3, 2, 1)), 0.9)


# ---------------------------------------------------------------- bad input, by family (#15)

INT_REWARDS = [np.array([[1, 0], [1, 1]]), torch.tensor([[1, 0], [1, 1]])]


@pytest.mark.parametrize("rewards", INT_REWARDS, ids=["numpy", "torch"])
@pytest.mark.parametrize("fn", [returns.reward_to_go, returns.whole_episode_returns])
def test_integer_rewards_give_float_returns_never_truncated(fn, rewards):
    g = fn(rewards, 0.5)
    assert g.dtype in (np.float64, torch.float32)
    np.testing.assert_allclose(np.asarray(g)[0], [1.5, 0.5])  # G_0 of both columns
    adv = returns.advantages(rewards, None, 0.5, "reward_to_go")
    assert np.asarray(adv)[0, 1] == 0.5  # 0 + 0.5 * 1, not truncated to 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("conv", [np.asarray, torch.tensor], ids=["numpy", "torch"])
def test_non_finite_rewards_are_refused_everywhere(bad, conv):
    r = conv(np.array([[1.0, bad], [0.0, 1.0]]))
    for call in (lambda: returns.reward_to_go(r, 0.9), lambda: returns.whole_episode_returns(r, 0.9),
                 lambda: returns.advantages(r, None, 0.9)):
        with pytest.raises(ValueError, match="rewards must be finite"):
            call()
    with pytest.raises(ValueError, match="values must be finite"):
        returns.normalize(r)


@pytest.mark.parametrize("dones", [np.array([0, 2, 1]), np.array([0.0, 0.5, 1.0]),
                                   torch.tensor([0, -1, 1]), torch.tensor([0.0, np.nan, 1.0])])
def test_dones_must_be_zero_or_one(dones):
    r = torch.ones(3) if isinstance(dones, torch.Tensor) else np.ones(3)
    with pytest.raises(ValueError, match="dones must hold 0/1 or booleans"):
        returns.reward_to_go(r, 0.9, dones)
    with pytest.raises(ValueError, match="dones must hold 0/1 or booleans"):
        returns.advantages(r, dones, 0.9, "reward_to_go")


def test_dones_and_mask_must_have_the_shape_of_the_rewards():
    with pytest.raises(ValueError, match="dones must have the shape"):
        returns.reward_to_go(np.ones((3, 2)), 0.9, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="mask must have the shape"):
        returns.batch_mean_baseline(torch.ones(3, 2), torch.ones(3, 1, dtype=torch.bool))


@pytest.mark.parametrize("conv", [np.asarray, torch.tensor], ids=["numpy", "torch"])
def test_normalize_of_constant_values_with_eps_zero_is_refused(conv):
    with pytest.raises(ValueError, match="constant"):
        returns.normalize(conv(np.full((3, 2), 4.0)), eps=0)
    out = returns.normalize(conv(np.full((3, 2), 4.0)))  # eps > 0: zeros, not NaN
    assert np.all(np.asarray(out) == 0)
    with pytest.raises(TypeError, match="eps"):
        returns.normalize(conv(np.ones(3)), eps="small")


def test_boolean_rewards_are_refused():
    with pytest.raises(TypeError, match="rewards must hold real numbers"):
        returns.reward_to_go(np.array([True, False]), 0.9)
    with pytest.raises(TypeError, match="rewards must hold real numbers"):
        returns.reward_to_go(torch.tensor([True, False]), 0.9)
