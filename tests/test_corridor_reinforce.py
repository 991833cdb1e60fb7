"""The vectorised corridor REINFORCE: the online (trace) update equals the textbook one."""

from __future__ import annotations

import numpy as np
import pytest

from rlcourse import corridor_reinforce as cr
from rlcourse.envs import short_corridor as sc
from rlcourse.envs import short_corridor_exact as exact


def replay(theta0, alphas, n_episodes, gamma, seed, discount_weighting):
    """The same learners written the slow, obvious way, consuming the same random numbers.

    ``simulate`` draws ``rng.random(B)`` once per vectorised step and run b takes the b-th
    number; here each run keeps its own episode and updates with ``episode_update`` (returns
    from ``discounted_returns``, then Σ_t γ^t G_t ∇log π). Returns per-episode totals and θ.
    """
    rng = np.random.default_rng(seed)
    B = len(alphas)
    theta = [np.array(theta0, dtype=float) for _ in range(B)]
    state, acts, rews = [sc.START] * B, [[] for _ in range(B)], [[] for _ in range(B)]
    done_eps = [[] for _ in range(B)]
    while min(len(d) for d in done_eps) < n_episodes:
        u = rng.random(B)
        for b in range(B):
            a = int(u[b] < exact.prob_right(theta[b]))
            state[b] = int(sc.NEXT_STATE[state[b], a])
            acts[b].append(a)
            rews[b].append(-1.0)
            if state[b] == sc.GOAL or len(acts[b]) >= cr.SHORT_CORRIDOR_MAX_STEPS:
                if len(done_eps[b]) < n_episodes:
                    done_eps[b].append(sum(rews[b]))
                theta[b] = cr.episode_update(theta[b], acts[b], rews[b], alphas[b], gamma,
                                             discount_weighting)
                state[b], acts[b], rews[b] = sc.START, [], []
    return np.array(done_eps), np.array(theta)


@pytest.mark.parametrize("gamma, discount_weighting", [(1.0, True), (0.9, True), (0.9, False)])
def test_simulate_equals_the_textbook_update_episode_by_episode(gamma, discount_weighting):
    theta0 = exact.theta_for(0.4)
    alphas = np.array([0.0, 0.001, 0.004])
    runs = cr.simulate(theta0, alphas, 8, gamma, seed=5, discount_weighting=discount_weighting)
    want_returns, want_theta = replay(theta0, alphas, 8, gamma, 5, discount_weighting)
    np.testing.assert_array_equal(runs.returns, want_returns)
    # both keep every run learning until the slowest has its 8 episodes, so θ agrees too
    np.testing.assert_allclose(runs.theta, want_theta, rtol=1e-10, atol=1e-12)
    assert np.abs(runs.theta[2] - theta0).max() > 1e-3  # the test is not vacuous: θ moved
    np.testing.assert_allclose(runs.theta[0], theta0)
    assert runs.truncated == 0


def test_each_recorded_gradient_is_the_textbook_sum():
    theta = exact.theta_for(0.35)
    for gamma, dw in [(1.0, True), (0.8, True), (0.8, False)]:
        runs = cr.gradient_estimates(theta, 50, gamma=gamma, seed=2, discount_weighting=dw)
        rng = np.random.default_rng(2)
        B = 50
        acts = [[] for _ in range(B)]
        state, alive = np.zeros(B, dtype=int), np.ones(B, dtype=bool)
        while alive.any():
            right = rng.random(B) < exact.prob_right(theta)
            for b in np.flatnonzero(alive):
                acts[b].append(int(right[b]))
            state[alive] = sc.NEXT_STATE[state[alive], right[alive].astype(int)]
            alive &= state != sc.GOAL
        for b in range(B):
            rewards = [-1.0] * len(acts[b])
            delta = cr.episode_update(theta, acts[b], rewards, 1.0, gamma, dw) - theta
            np.testing.assert_allclose(runs.grads[b, 0], delta, rtol=1e-10, atol=1e-10)
            G0 = sum(gamma**k * r for k, r in enumerate(rewards))
            whole = G0 * sum(exact.grad_log_policy(theta, a) for a in acts[b])
            np.testing.assert_allclose(runs.grads_whole[b, 0], whole, rtol=1e-10, atol=1e-10)
            assert runs.lengths[b, 0] == len(acts[b]) and runs.returns[b, 0] == -len(acts[b])


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_gradient_estimates_are_unbiased_for_the_exact_gradient(gamma):
    # bound: mean within 4 standard errors (see test_short_corridor.py)
    theta = exact.theta_for(0.3)
    runs = cr.gradient_estimates(theta, 40_000, gamma=gamma, seed=11)
    for g in (runs.grads[:, 0], runs.grads_whole[:, 0]):
        se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
        assert np.all(np.abs(g.mean(axis=0) - exact.grad_J(theta, gamma)) < 4 * se)
    rets = runs.returns[:, 0]
    if gamma == 1.0:
        assert abs(rets.mean() - exact.J(theta)) < 4 * rets.std(ddof=1) / np.sqrt(len(rets))


def test_dropping_earlier_rewards_lowers_the_variance():
    runs = cr.gradient_estimates(exact.theta_for(0.3), 20_000, seed=1)
    assert runs.grads[:, 0, 1].var() < 0.8 * runs.grads_whole[:, 0, 1].var()


def test_learning_curves_reach_near_the_optimum_with_the_books_step_sizes():
    curves = cr.learning_curves(n_runs=50, n_episodes=1000, seed=0)
    assert curves.shape == (3, 50, 1000)
    first = curves[:, :, 0].ravel()  # every run's first episode is played by θ0: J(θ0) ≈ -82.1
    se = first.std(ddof=1) / np.sqrt(first.size)
    assert abs(first.mean() - exact.J(cr.FIGURE_13_1_THETA0)) < 4 * se
    _, v_star = exact.optimum()
    last = curves[:, :, -100:].mean(axis=(1, 2))
    assert last[0] > v_star - 1.5  # α = 2^-12: within 1.5 of v*(s0) = -11.66
    assert last[0] > last[1] > last[2]  # larger step, faster learning (at these sizes)


def test_simulate_names_bad_arguments():
    with pytest.raises(ValueError, match="alphas"):
        cr.simulate([0.0, 0.0], [-1.0], 1)
    with pytest.raises(ValueError, match="n_episodes"):
        cr.simulate([0.0, 0.0], [0.1], 0)
    with pytest.raises(ValueError, match="gamma"):
        cr.simulate([0.0, 0.0], [0.1], 1, gamma=1.5)
    with pytest.raises(ValueError, match="n_runs"):
        cr.learning_curves(n_runs=0)
    with pytest.raises(ValueError, match="step_sizes"):
        cr.learning_curves(step_sizes=[0.1, -0.1])
    with pytest.raises(ValueError, match="theta0"):
        cr.simulate([0.0, 0.0, 0.0], [0.1, 0.1], 1)
    with pytest.raises(ValueError, match="theta"):
        cr.gradient_estimates([0.0], 10)
    with pytest.raises(ValueError, match="theta"):
        cr.episode_update([0.0, 0.0, 1.0], [0], [-1.0], 0.1)
    with pytest.raises(ValueError, match="actions"):
        cr.episode_update([0.0, 0.0], [0, 2], [-1.0, -1.0], 0.1)
    with pytest.raises(ValueError, match="alpha"):
        cr.episode_update([0.0, 0.0], [0, 1], [-1.0, -1.0], -0.1)
