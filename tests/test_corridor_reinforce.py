"""The vectorised corridor REINFORCE: the online (trace) update equals the textbook one, with and
without the book's baseline; Figure 13.2's claims; bad arguments named."""

from __future__ import annotations

import numpy as np
import pytest

from rlcourse import corridor_reinforce as cr
from rlcourse.envs import short_corridor as sc
from rlcourse.envs import short_corridor_exact as exact


def replay(theta0, alphas, n_episodes, gamma, seed, discount_weighting, alpha_w=None, w0=0.0):
    """The same learners written the slow, obvious way, consuming the same random numbers.

    ``simulate`` draws ``rng.random(B)`` once per vectorised step and run b takes the b-th
    number; here each run keeps its own episode and updates with ``episode_update`` (returns
    from ``discounted_returns``, then Σ_t γ^t G_t ∇log π), or with the book's step-by-step
    baseline loop when ``alpha_w`` is given. Returns per-episode totals, θ, and w.
    """
    rng = np.random.default_rng(seed)
    B = len(alphas)
    theta = [np.array(theta0, dtype=float) for _ in range(B)]
    state, acts, rews = [sc.START] * B, [[] for _ in range(B)], [[] for _ in range(B)]
    done_eps = [[] for _ in range(B)]
    w = [float(w0)] * B
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
                if alpha_w is None:
                    theta[b] = cr.episode_update(theta[b], acts[b], rews[b], alphas[b], gamma,
                                                 discount_weighting)
                else:
                    theta[b], w[b] = cr.episode_update_with_baseline(
                        theta[b], w[b], acts[b], rews[b], alphas[b], alpha_w, gamma,
                        discount_weighting)
                state[b], acts[b], rews[b] = sc.START, [], []
    return np.array(done_eps), np.array(theta), np.array(w)


@pytest.mark.parametrize("gamma, discount_weighting", [(1.0, True), (0.9, True), (0.9, False)])
def test_simulate_equals_the_textbook_update_episode_by_episode(gamma, discount_weighting):
    theta0 = exact.theta_for(0.4)
    alphas = np.array([0.0, 0.001, 0.004])
    runs = cr.simulate(theta0, alphas, 8, gamma, seed=5, discount_weighting=discount_weighting)
    want_returns, want_theta, _ = replay(theta0, alphas, 8, gamma, 5, discount_weighting)
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


@pytest.mark.slow  # trains 100s of runs
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


@pytest.mark.parametrize("gamma, discount_weighting", [(1.0, True), (0.9, True), (0.8, False)])
def test_simulate_with_baseline_equals_the_books_step_by_step_loop(gamma, discount_weighting):
    # the online (a_t, b_t, trace) form of the baseline against δ_t = G_t − w; w += α_w δ_t
    theta0 = exact.theta_for(0.4)
    alphas = np.array([0.0, 0.002, 0.01])
    runs = cr.simulate(theta0, alphas, 6, gamma, seed=9, discount_weighting=discount_weighting,
                       baseline_alpha=0.05, w0=-3.0)
    want_returns, want_theta, want_w = replay(theta0, alphas, 6, gamma, 9, discount_weighting,
                                              alpha_w=0.05, w0=-3.0)
    np.testing.assert_array_equal(runs.returns, want_returns)
    np.testing.assert_allclose(runs.theta, want_theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(runs.w, want_w, rtol=1e-10)
    assert np.abs(runs.w - (-3.0)).min() > 0.1  # w learned
    assert np.abs(runs.theta[2] - theta0).max() > 1e-3


def test_recorded_baseline_gradients_and_w_are_the_books_loop():
    theta = exact.theta_for(0.35)
    for gamma, dw in [(1.0, True), (0.8, True), (0.8, False)]:
        runs = cr.simulate(theta, np.zeros(40), 1, gamma, seed=3, discount_weighting=dw,
                           baseline_alpha=0.1, w0=-2.0)
        rng = np.random.default_rng(3)
        acts = [[] for _ in range(40)]
        state, alive = np.zeros(40, dtype=int), np.ones(40, dtype=bool)
        while alive.any():
            right = rng.random(40) < exact.prob_right(theta)
            for b in np.flatnonzero(alive):
                acts[b].append(int(right[b]))
            state[alive] = sc.NEXT_STATE[state[alive], right[alive].astype(int)]
            alive &= state != sc.GOAL
        for b in range(40):
            rewards = [-1.0] * len(acts[b])
            new, _ = cr.episode_update_with_baseline(theta, -2.0, acts[b], rewards, 1.0, 0.1,
                                                     gamma, dw)
            np.testing.assert_allclose(runs.grads[b, 0], new - theta, rtol=1e-10, atol=1e-10)
            # the mean of the baselines w_0 … w_{T−1} that the episode's steps used
            G = np.array([sum(gamma ** (k - t) * rewards[k] for k in range(t, len(rewards)))
                          for t in range(len(rewards))])
            w, used = -2.0, []
            for g in G:
                used.append(w)
                w += 0.1 * (g - w)
            assert runs.w_mean[b, 0] == pytest.approx(np.mean(used), rel=1e-10)
            assert runs.w_start[b, 0] == -2.0


def test_episode_update_with_baseline_zero_is_plain_reinforce_and_matches_autograd():
    torch = pytest.importorskip("torch")
    theta = np.array([0.3, -0.1])
    actions, rewards = [1, 0, 0, 1], [-1.0, 0.5, -1.0, 2.0]
    for gamma in (1.0, 0.9):
        plain = cr.episode_update(theta, actions, rewards, 0.1, gamma)
        np.testing.assert_allclose(
            cr.episode_update_with_baseline(theta, 0.0, actions, rewards, 0.1, 0.0, gamma)[0],
            plain)
        # a fixed baseline b: θ + α ∇_θ Σ_t γ^t (G_t − b) log π(a_t), by autograd
        th = torch.tensor(theta, requires_grad=True)
        G = torch.tensor([sum(gamma ** (k - t) * rewards[k] for k in range(t, 4))
                          for t in range(4)], dtype=torch.float64)
        disc = gamma ** torch.arange(4, dtype=torch.float64)
        (disc * (G - 1.5) * torch.log_softmax(th, 0)[torch.tensor(actions)]).sum().backward()
        got, w = cr.episode_update_with_baseline(theta, 1.5, actions, rewards, 0.1, 0.0, gamma)
        np.testing.assert_allclose(got, theta + 0.1 * th.grad.numpy(), rtol=1e-12)
        assert w == 1.5  # α_w = 0: the baseline stays


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_a_fixed_baseline_keeps_the_estimate_unbiased_and_lowers_its_variance(gamma):
    theta = exact.theta_for(0.3)
    plain = cr.gradient_estimates(theta, 20_000, gamma=gamma, seed=5).grads[:, 0, 1]
    b = exact.J(theta, gamma) * 0.6  # a reasonable constant baseline, about the mean return
    based = cr.gradient_estimates(theta, 20_000, gamma=gamma, seed=5, baseline=b).grads[:, 0, 1]
    se = based.std(ddof=1) / np.sqrt(based.size)
    assert abs(based.mean() - exact.grad_J(theta, gamma)[1]) < 4 * se
    assert based.var() < 0.8 * plain.var()


@pytest.mark.slow  # trains 100s of runs
def test_figure_13_2_the_baseline_reaches_near_v_star_much_faster():
    _, v_star = exact.optimum()
    plain = cr.learning_curves([cr.FIGURE_13_2_STEP_SIZE], n_runs=40, seed=0)[0]
    based = cr.learning_curves([cr.FIGURE_13_2_STEP_SIZE_THETA], n_runs=40, seed=1,
                               baseline_alpha=cr.FIGURE_13_2_STEP_SIZE_W)[0]
    for curves in (plain, based):  # both start from θ0 of Figure 13.1: J(θ0) ≈ -82.1
        first = curves[:, 0]
        assert abs(first.mean() - exact.J(cr.FIGURE_13_1_THETA0)) < 4 * first.std() / np.sqrt(40)
    # episodes 101-200: with the baseline within 1 of v*, without it still far below
    assert based[:, 100:200].mean() > v_star - 1.0
    assert plain[:, 100:200].mean() < v_star - 8.0
    assert based[:, -100:].mean() > plain[:, -100:].mean()
    assert based[:, -100:].mean() < v_star + 0.5  # nobody beats the optimum (up to noise)


@pytest.mark.slow  # trains 100s of runs
def test_the_baseline_w_converges_to_the_visit_weighted_value_not_v_s0():
    # policy fixed (α_θ = 0): the time average of w equals that of the returns G_t it is fitted
    # to, Σ_s η(s) v(s) / Σ_s η(s) with η the expected visits, above v(s0) in the corridor
    for p in (0.3, 2 - np.sqrt(2)):
        runs = cr.simulate(exact.theta_for(p), np.zeros(100), 300, seed=3, baseline_alpha=2**-6)
        lengths, w_mean = runs.lengths[:, 100:], runs.w_mean[:, 100:]
        per_run = (w_mean * lengths).sum(axis=1) / lengths.sum(axis=1)
        se = per_run.std(ddof=1) / np.sqrt(per_run.size)
        eta, v = exact.state_visits(p), exact.values_of_p(p)
        want = eta @ v / eta.sum()
        assert abs(per_run.mean() - want) < 4 * se, (per_run.mean(), want, se)
        assert abs(per_run.mean() - v[0]) > 20 * se  # and not v(s0)


def test_gradient_estimates_without_gamma_t_match_the_exact_expected_update():
    theta = exact.theta_for(0.3)
    g = cr.gradient_estimates(theta, 40_000, gamma=0.9, seed=8,
                              discount_weighting=False).grads[:, 0, 1]
    se = g.std(ddof=1) / np.sqrt(g.size)
    assert abs(g.mean() - exact.expected_update(theta, 0.9, discount_weighting=False)[1]) < 4 * se
    assert abs(g.mean() - exact.grad_J(theta, 0.9)[1]) > 10 * se  # the bias of dropping γ^t


GOOD_UPDATE = dict(theta=[0.0, 0.0], actions=[0, 1], rewards=[-1.0, -1.0], alpha=0.1)


@pytest.mark.parametrize("change, error, words", [
    (dict(actions=[True, False]), TypeError, "actions must hold integers"),  # rng.random() < p
    (dict(actions=[0.0, 1.0]), TypeError, "actions must hold integers"),
    (dict(actions=[0, 2]), ValueError, "actions must hold 0"),
    (dict(actions=[[0, 1]]), ValueError, "actions must have 1 dimension"),
    (dict(rewards=[-1.0, np.nan]), ValueError, "rewards must be finite"),
    (dict(rewards=[-1.0, np.inf]), ValueError, "rewards must be finite"),
    (dict(rewards=[-1.0]), ValueError, "actions and rewards must have the same shape"),
    (dict(rewards=[True, False]), TypeError, "rewards must hold real numbers"),
    (dict(theta=[np.inf, 0.0]), ValueError, "theta must be finite"),
    (dict(theta=[0.0, 0.0, 0.0]), ValueError, "theta must have shape"),
    (dict(alpha=np.nan), ValueError, "alpha must be finite"),
    (dict(alpha=-0.1), ValueError, r"alpha must be in \[0, inf\]"),
    (dict(alpha="0.1"), TypeError, "alpha must be a real number"),
    (dict(gamma=1.5), ValueError, "gamma must be in"),
    (dict(gamma=True), TypeError, "gamma must be a real number"),
    (dict(discount_weighting="yes"), TypeError, "discount_weighting must be True or False"),
])
def test_episode_update_refuses_bad_input_by_name(change, error, words):
    with pytest.raises(error, match=words):
        cr.episode_update(**{**GOOD_UPDATE, **change})


def test_episode_update_with_baseline_refuses_bad_w_and_alpha_w():
    with pytest.raises(ValueError, match="w must be finite"):
        cr.episode_update_with_baseline([0.0, 0.0], np.nan, [0], [-1.0], 0.1, 0.1)
    with pytest.raises(ValueError, match="alpha_w must be in"):
        cr.episode_update_with_baseline([0.0, 0.0], 0.0, [0], [-1.0], 0.1, 1.5)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(alphas=[0.1, np.nan]), ValueError, "alphas must be finite"),
    (dict(alphas=[]), ValueError, "alphas must hold at least one"),
    (dict(alphas=[-1.0]), ValueError, "alphas must be >= 0"),
    (dict(theta0=[0.0, 0.0, 0.0]), ValueError, r"theta0 must have shape \(2,\)"),
    (dict(n_episodes=0), ValueError, r"n_episodes must be an integer in \[1, inf\]"),
    (dict(theta0=[np.nan, 0.0]), ValueError, "theta0 must be finite"),
    (dict(n_episodes=2.5), TypeError, "n_episodes must be an integer"),
    (dict(n_episodes=True), TypeError, "n_episodes must be an integer"),
    (dict(gamma=0.0), ValueError, "gamma must be in"),
    (dict(seed=-1), ValueError, "seed must be an integer"),
    (dict(seed=1.5), TypeError, "seed must be an integer"),
    (dict(max_steps=0), ValueError, "max_steps must be an integer"),
    (dict(discount_weighting=1), TypeError, "discount_weighting must be True or False"),
    (dict(baseline_alpha=-0.1), ValueError, "baseline_alpha must be in"),
    (dict(baseline_alpha=2.0), ValueError, "baseline_alpha must be in"),
    (dict(baseline_alpha=0.1, w0=np.inf), ValueError, "w0 must be finite"),
])
def test_simulate_refuses_bad_input_by_name(kwargs, error, words):
    args = dict(theta0=[0.0, 0.0], alphas=[0.1], n_episodes=1)
    with pytest.raises(error, match=words):
        cr.simulate(**{**args, **kwargs})


def test_learning_curves_and_gradient_estimates_refuse_bad_input_by_name():
    with pytest.raises(ValueError, match="step_sizes must be finite"):
        cr.learning_curves(step_sizes=[np.nan])
    with pytest.raises(TypeError, match="n_runs must be an integer"):
        cr.learning_curves(n_runs=2.0)
    with pytest.raises(ValueError, match=r"n_runs must be an integer in \[1, inf\]"):
        cr.learning_curves(n_runs=0)
    with pytest.raises(ValueError, match="step_sizes must be positive numbers"):
        cr.learning_curves(step_sizes=[0.1, -0.1])
    with pytest.raises(ValueError, match=r"theta must have shape \(2,\)"):
        cr.gradient_estimates([0.0], 10)
    with pytest.raises(TypeError, match="n must be an integer"):
        cr.gradient_estimates([0.0, 0.0], 10.0)
    with pytest.raises(ValueError, match="baseline must be finite"):
        cr.gradient_estimates([0.0, 0.0], 10, baseline=np.nan)
