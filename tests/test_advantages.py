"""Baselines and normalisation of rlcourse.returns, and the trainer's advantage variants."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcourse import returns, rollout

# two columns: a 3-step episode, and a 2-step episode followed by padding
REWARDS = np.array([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0]])
MASK = np.array([[True, True], [True, True], [True, False]])


def test_whole_episode_returns_weights_every_step_by_g0():
    g = returns.whole_episode_returns(REWARDS, 0.5)
    np.testing.assert_allclose(g, [[1.75, 2.5]] * 3)
    # two episodes in one column: the second gets its own G_0
    r = np.array([1.0, 1.0, 4.0, 2.0])
    d = np.array([False, True, False, True])
    np.testing.assert_allclose(returns.whole_episode_returns(r, 0.5, d), [1.5, 1.5, 5.0, 5.0])
    torch.testing.assert_close(
        returns.whole_episode_returns(torch.tensor(r), 0.5, torch.tensor(d)),
        torch.tensor([1.5, 1.5, 5.0, 5.0], dtype=torch.float64))


def test_constant_and_batch_mean_baselines():
    g = np.array([[4.0, 2.0], [1.0, 6.0], [7.0, 99.0]])  # 99 is padding: ignored
    assert float(returns.constant_baseline(g, MASK)) == pytest.approx(20 / 5)
    b = returns.batch_mean_baseline(g, MASK)
    np.testing.assert_allclose(b, [[3.0, 3.0], [3.5, 3.5], [7.0, 0.0]])
    bt = returns.batch_mean_baseline(torch.tensor(g), torch.tensor(MASK))
    np.testing.assert_allclose(bt.numpy(), b)
    # rows where no episode is running give 0, not NaN
    m = MASK.copy()
    m[2] = False
    assert np.isfinite(returns.batch_mean_baseline(g, m)).all()


def test_normalize_masked_mean_zero_std_one():
    rng = np.random.default_rng(0)
    v = rng.normal(3.0, 5.0, size=(6, 4))
    m = rng.random((6, 4)) < 0.7
    out = returns.normalize(v, m)
    assert out[m].mean() == pytest.approx(0.0, abs=1e-12)
    assert out[m].std() == pytest.approx(1.0, rel=1e-6)
    assert not out[~m].any()
    np.testing.assert_allclose(returns.normalize(torch.tensor(v), torch.tensor(m)).numpy(), out)
    # one episode's standardised returns, as in the per-episode tutorial loop
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(returns.normalize(x), (x - 2) / np.sqrt(2 / 3), rtol=1e-6)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="mask must have the shape"):
        returns.normalize(np.ones((3, 2)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="selects no step"):
        returns.constant_baseline(np.ones(3), np.zeros(3, bool))
    with pytest.raises(ValueError, match=r"shape \(T, N\)"):
        returns.batch_mean_baseline(np.ones(3))
    with pytest.raises(ValueError, match="eps"):
        returns.normalize(np.ones(3), eps=-1)


def make_batch():
    rewards = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]], bool)
    term = np.zeros((3, 3), bool)
    term[2, 0] = term[1, 1] = term[0, 2] = True
    return rollout.EpisodeBatch(obs=np.zeros((3, 3, 1)), actions=np.zeros((3, 3), int),
                                rewards=rewards, mask=mask, terminated=term,
                                truncated=np.zeros((3, 3), bool), lengths=mask.sum(0),
                                returns=rewards.sum(0), env_steps=9)


@pytest.mark.parametrize("as_torch", [False, True])
def test_advantage_variants_by_hand(as_torch):
    batch, gamma = make_batch(), 0.5
    g = np.array([[1.75, 1.5, 1.0], [1.5, 1.0, 0.0], [1.0, 0.0, 0.0]])  # reward-to-go
    conv = torch.as_tensor if as_torch else np.asarray
    adv = {k: np.asarray(returns.advantages(
        conv(batch.rewards), conv(batch.dones), gamma, k, mask=conv(batch.mask),
        values=conv(np.ones((3, 3))) if k == "value_baseline" else None))
        for k in returns.ADVANTAGES}
    np.testing.assert_allclose(adv["reward_to_go"], g)
    np.testing.assert_allclose(adv["whole_episode"], [[1.75, 1.5, 1], [1.75, 1.5, 0],
                                                      [1.75, 0, 0]])
    np.testing.assert_allclose(adv["constant_baseline"], (g - 7.75 / 6) * batch.mask)
    np.testing.assert_allclose(adv["batch_mean_baseline"],
                               [[1.75 - 4.25 / 3, 1.5 - 4.25 / 3, 1 - 4.25 / 3],
                                [0.25, -0.25, 0], [0, 0, 0]])
    np.testing.assert_allclose(adv["value_baseline"], (g - 1) * batch.mask)
    a = adv["normalized"][batch.mask]
    assert a.mean() == pytest.approx(0, abs=1e-12) and a.std() == pytest.approx(1, rel=1e-6)


def test_advantages_refuses_what_it_cannot_use():
    batch = make_batch()
    r, d = batch.rewards, batch.dones
    with pytest.raises(ValueError, match="kind must be one of"):
        returns.advantages(r, d, 0.5, "gae")
    with pytest.raises(ValueError, match="needs values"):
        returns.advantages(r, d, 0.5, "value_baseline")
    with pytest.raises(ValueError, match="values must have the shape"):
        returns.advantages(r, d, 0.5, "value_baseline", values=np.ones(3))
    with pytest.raises(ValueError, match="only used by kind='value_baseline'"):
        returns.advantages(r, d, 0.5, "reward_to_go", values=np.ones((3, 3)))
    with pytest.raises(ValueError, match="mask must have the shape"):
        returns.advantages(r, d, 0.5, mask=np.ones((3, 1), bool))


def test_advantages_without_dones_or_mask_is_one_episode_per_column():
    r = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    got = returns.advantages(r, None, 1.0, "reward_to_go")
    torch.testing.assert_close(got, torch.tensor([[4.0, 6.0], [3.0, 4.0]]))
    assert got.dtype == torch.float32  # the type and dtype of the rewards


def test_a_baseline_leaves_the_expected_gradient_unchanged():
    """E[∇log π(a) b] = 0: in a one-step bandit, the exact expected gradient with and without a
    constant baseline is the same (summing over actions with their probabilities)."""
    logits = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64, requires_grad=True)
    reward = torch.tensor([1.0, 5.0, 2.0], dtype=torch.float64)

    def expected_grad(b):
        p = torch.softmax(logits, 0)
        logp = torch.log_softmax(logits, 0)
        (grad,) = torch.autograd.grad((p.detach() * logp * (reward - b)).sum(), logits)
        return grad

    torch.testing.assert_close(expected_grad(0.0), expected_grad(3.7))
