"""The short corridor (Sutton & Barto, Example 13.1): dynamics, gymnasium API, exact J and ∇J.

Statistical bound used below: a Monte Carlo mean of n i.i.d. samples is compared with the exact
value within 4 standard errors (SE = sample std / √n). For a correct solution and normal-ish
means a miss has probability about 6e-5 per comparison; the seeds are fixed, so the tests are
deterministic, and a wrong J or ∇J (e.g. a sign, a factor p(1 − p), or a missing γ) is off by
tens of standard errors.
"""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import rlcourse.envs
from rlcourse.envs import short_corridor as sc
from rlcourse.envs import short_corridor_exact as exact

N_SE = 4.0


def make(**kwargs):
    return gymnasium.make(rlcourse.envs.SHORT_CORRIDOR_ID, **kwargs)


def play(env, actions):
    env.reset(seed=0)
    return [env.step(a) for a in actions]


# ---------------------------------------------------------------- dynamics

def test_normal_states_move_as_labelled_and_the_wall_holds():
    env = make()
    steps = play(env, [sc.LEFT, sc.RIGHT])
    assert [s[0] for s in steps] == [0, 1]  # left at the wall stays in 0; right moves to 1


def test_switched_middle_state_reverses_the_actions():
    env = make()
    # in state 1, RIGHT moves back to 0 ...
    assert [s[0] for s in play(env, [sc.RIGHT, sc.RIGHT])] == [1, 0]
    # ... and LEFT moves on to 2
    assert [s[0] for s in play(env, [sc.RIGHT, sc.LEFT])] == [1, 2]


def test_third_state_moves_as_labelled_and_right_reaches_the_goal():
    env = make()
    # step by step: 0 -R-> 1 -L-> 2 -L-> 1 -L-> 2 -R-> 3 (goal)
    env.reset(seed=0)
    seen = [env.step(a) for a in [sc.RIGHT, sc.LEFT, sc.LEFT, sc.LEFT, sc.RIGHT]]
    assert [s[0] for s in seen] == [1, 2, 1, 2, 3]
    assert [s[1] for s in seen] == [-1.0] * 5
    assert [s[2] for s in seen] == [False] * 4 + [True]
    assert not any(s[3] for s in seen)


def test_shortest_episode_has_return_minus_three():
    env = make()
    env.reset(seed=0)
    total, terminated = 0.0, False
    for a in [sc.RIGHT, sc.LEFT, sc.RIGHT]:
        _, r, terminated, _, _ = env.step(a)
        total += r
    assert terminated and total == -3.0


def test_step_batch_agrees_with_the_environment_everywhere():
    states = np.array([0, 0, 1, 1, 2, 2])
    actions = np.array([0, 1, 0, 1, 0, 1])
    nxt, rew, term = sc.step_batch(states, actions)
    np.testing.assert_array_equal(nxt, [0, 1, 2, 0, 1, 3])
    np.testing.assert_array_equal(rew, -1.0)
    np.testing.assert_array_equal(term, [False] * 5 + [True])
    env = sc.ShortCorridorEnv()
    for s, a, s_next in zip(states, actions, nxt):
        env.reset()
        env._state = int(s)  # place the agent directly (white-box: the env has no such option)
        assert env.step(int(a))[0] == s_next


def test_passes_gymnasium_env_checker_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(make().unwrapped)
        check_env(make(render_mode="ansi").unwrapped)


def test_registered_with_a_time_limit_that_truncates():
    env = make()
    assert env.spec.id == "rlcourse/ShortCorridor-v0"
    assert env.spec.max_episode_steps == rlcourse.envs.SHORT_CORRIDOR_MAX_STEPS
    env.reset(seed=0)
    for _ in range(rlcourse.envs.SHORT_CORRIDOR_MAX_STEPS):  # always right: loops between 0 and 1
        _, _, terminated, truncated, _ = env.step(sc.RIGHT)
    assert truncated and not terminated


def test_bad_actions_and_stepping_after_the_end_are_errors():
    env = sc.ShortCorridorEnv()
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(2)
    for a in [sc.RIGHT, sc.LEFT, sc.RIGHT]:
        env.step(a)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(sc.LEFT)
    with pytest.raises(ValueError, match="render_mode"):
        sc.ShortCorridorEnv(render_mode="human")


def test_ansi_render_shows_the_agent_and_the_switched_state():
    env = sc.ShortCorridorEnv(render_mode="ansi")
    env.reset()
    assert env.render() == "[A | x|  | G]"
    env.step(sc.RIGHT)
    assert env.render() == "[  |Ax|  | G]"


# ---------------------------------------------------------------- exact solution

@pytest.mark.parametrize("p", [0.05, 0.2, 0.5, 2 - np.sqrt(2), 0.8, 0.95])
def test_exact_J_solves_bellman_and_matches_closed_form(p):
    v = exact.values_of_p(p)
    # Bellman equations written out by hand, one per state
    np.testing.assert_allclose(v[0], -1 + (1 - p) * v[0] + p * v[1])
    np.testing.assert_allclose(v[1], -1 + (1 - p) * v[2] + p * v[0])
    np.testing.assert_allclose(v[2], -1 + (1 - p) * v[1] + p * 0.0)
    np.testing.assert_allclose(exact.J(exact.theta_for(p)), exact.J_closed_form(p), rtol=1e-10)


def test_optimum_is_two_minus_root_two():
    p_star, v_star = exact.optimum()
    assert abs(p_star - (2 - np.sqrt(2))) < 1e-6
    np.testing.assert_allclose(v_star, -(6 + 4 * np.sqrt(2)), rtol=1e-12)  # ≈ -11.657
    # and it is a maximum: nearby probabilities are worse, the gradient vanishes there
    for p in (p_star - 0.01, p_star + 0.01):
        assert exact.J(exact.theta_for(p)) < v_star
    np.testing.assert_allclose(exact.grad_J(exact.theta_for(p_star)), 0.0, atol=1e-6)


def test_theta_for_and_policy_are_inverse():
    for p in [0.01, 0.05, 0.5, 0.9]:
        assert abs(exact.prob_right(exact.theta_for(p)) - p) < 1e-12
    np.testing.assert_allclose(exact.policy([1000.0, 0.0]), [1.0, 0.0])  # no overflow


THETAS = [np.array([0.0, 0.0]), np.array([0.3, -0.2]), exact.theta_for(0.05),
          np.array([-1.0, 0.5]), np.array([2.0, 1.7])]


@pytest.mark.parametrize("theta", THETAS)
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_exact_grad_J_matches_finite_differences_of_exact_J(theta, gamma):
    h = 1e-5
    fd = np.array([(exact.J(theta + h * e, gamma) - exact.J(theta - h * e, gamma)) / (2 * h)
                   for e in np.eye(2)])
    got = exact.grad_J(theta, gamma)
    rel = np.abs(got - fd).max() / max(np.abs(fd).max(), 1e-8)
    assert rel < 1e-7, (got, fd)


def _J_torch(theta: torch.Tensor, gamma: float) -> torch.Tensor:
    """J(θ) written independently in torch (Bellman solve), differentiated by autograd."""
    pi = torch.softmax(theta, dim=0)
    P = torch.zeros(3, 3, dtype=theta.dtype)
    for s in range(3):
        for a in range(2):
            s_next = int(sc.NEXT_STATE[s, a])
            if s_next < 3:
                P = P + pi[a] * torch.nn.functional.one_hot(
                    torch.tensor(s * 3 + s_next), 9).reshape(3, 3).to(theta.dtype)
    v = torch.linalg.solve(torch.eye(3, dtype=theta.dtype) - gamma * P,
                           -torch.ones(3, dtype=theta.dtype))
    return v[0]


@pytest.mark.parametrize("theta", THETAS)
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_exact_J_and_grad_J_match_torch_autograd(theta, gamma):
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    J = _J_torch(t, gamma)
    J.backward()
    np.testing.assert_allclose(exact.J(theta, gamma), J.item(), rtol=1e-12)
    np.testing.assert_allclose(exact.grad_J(theta, gamma), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("theta", [np.array([0.0, 0.0]), np.array([0.3, -0.2])])
@pytest.mark.parametrize("action", [0, 1])
def test_grad_log_policy_matches_autograd_and_finite_differences(theta, action):
    t = torch.tensor(theta, requires_grad=True, dtype=torch.float64)
    torch.log_softmax(t, dim=0)[action].backward()
    got = exact.grad_log_policy(theta, action)
    np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-15)
    h = 1e-6

    def log_pi(th):
        return np.log(exact.policy(th)[action])

    fd = [(log_pi(theta + h * e) - log_pi(theta - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-9)


def test_exact_functions_name_bad_arguments():
    with pytest.raises(ValueError, match="theta"):
        exact.J([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="theta"):
        exact.grad_J([np.nan, 0.0])
    with pytest.raises(ValueError, match="gamma"):
        exact.J([0.0, 0.0], gamma=0.0)
    with pytest.raises(ValueError, match="p_right"):
        exact.values_of_p(1.0)
    with pytest.raises(ValueError, match="action"):
        exact.grad_log_policy([0.0, 0.0], 2)


@pytest.mark.parametrize("action", [True, False, np.True_, 1.0, np.float64(0.0), "1"])
def test_grad_log_policy_refuses_booleans_and_non_integers(action):
    # rng.random() < p is a bool; as an index NumPy would read it as a mask, shape (1, 2)
    with pytest.raises(TypeError, match="action must be an integer"):
        exact.grad_log_policy([0.0, 0.0], action)
    np.testing.assert_allclose(exact.grad_log_policy([0.0, 0.0], np.int64(1)), [-0.5, 0.5])


@pytest.mark.parametrize("tol", [0.0, 1e-16, -1.0, np.nan, 0.5])
def test_optimum_and_fixed_point_refuse_a_tolerance_they_cannot_reach(tol):
    # tol = 0 would never end: the bracket stops shrinking at a few float64 spacings
    with pytest.raises(ValueError, match="tol must"):
        exact.optimum(tol=tol)
    with pytest.raises(ValueError, match="tol must"):
        exact.fixed_point(0.9, tol=tol)


def test_the_smallest_allowed_tolerance_terminates():
    p, _ = exact.optimum(tol=1e-14)
    assert abs(p - (2 - np.sqrt(2))) < 1e-7
    assert abs(exact.fixed_point(1.0, tol=1e-14) - (2 - np.sqrt(2))) < 1e-12


@pytest.mark.parametrize("call, error, words", [
    (lambda: exact.J([0.0, np.inf]), ValueError, "theta must be finite"),
    (lambda: exact.J([True, False]), TypeError, "theta must hold real numbers"),
    (lambda: exact.J(["a", "b"]), TypeError, "theta must hold numbers"),
    (lambda: exact.J([0.0, 0.0], gamma=np.nan), ValueError, "gamma must be finite"),
    (lambda: exact.J([0.0, 0.0], gamma="0.9"), TypeError, "gamma must be a real number"),
    (lambda: exact.grad_J([0.0, 0.0], gamma=1.1), ValueError, "gamma must be in"),
    (lambda: exact.values_of_p(np.nan), ValueError, "p_right must be finite"),
    (lambda: exact.theta_for(0.0), ValueError, "p_right must be in"),
    (lambda: exact.q_values(1.0), ValueError, "p_right must be in"),
    (lambda: exact.state_visits(0.5, gamma=0.0), ValueError, "gamma must be in"),
    (lambda: exact.J_closed_form([0.5, 1.0]), ValueError, "p_right must be strictly between"),
    (lambda: exact.J_closed_form([0.5, np.nan]), ValueError, "p_right must be finite"),
    (lambda: exact.expected_update([0.0, 0.0], discount_weighting=None), TypeError,
     "discount_weighting must be True or False"),
])
def test_exact_functions_refuse_bad_input_by_name(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("states, actions, error, words", [
    ([0, 3], [0, 1], ValueError, "states must hold 0, 1 or 2"),
    ([0.0, 1.0], [0, 1], TypeError, "states must hold integers"),
    ([0, 1], [0, 2], ValueError, "actions must hold 0"),
    ([0, 1], [0.5, 1.0], TypeError, "actions must hold integers 0/1 or booleans"),
    ([0, 1], [0, 1, 1], ValueError, "states and actions must have the same shape"),
    ([[0, 1]], [[0, 1]], ValueError, "states must have 1 dimension"),
])
def test_step_batch_refuses_bad_input_by_name(states, actions, error, words):
    with pytest.raises(error, match=words):
        sc.step_batch(np.array(states), np.array(actions))


def test_step_batch_reads_booleans_as_moved_right():
    s, _, term = sc.step_batch(np.array([0, 1, 2]), np.array([True, True, True]))
    np.testing.assert_array_equal(s, [1, 0, 3])
    np.testing.assert_array_equal(term, [False, False, True])


@pytest.mark.parametrize("p", [0.2, 2 - np.sqrt(2), 0.8])
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_q_values_and_visits_satisfy_their_definitions(p, gamma):
    q, v = exact.q_values(p, gamma), exact.values_of_p(p, gamma)
    np.testing.assert_allclose((1 - p) * q[:, 0] + p * q[:, 1], v, rtol=1e-12)  # v = Σ_a π q
    np.testing.assert_allclose(q[2, 1], -1.0)  # right from state 2 reaches the goal
    eta = exact.state_visits(p, gamma)
    # η = e_s0 + γ P_πᵀ η: visits now, plus the visits of the successors one step later
    P = np.zeros((3, 3))
    for s_ in range(3):
        for a_, prob in ((0, 1 - p), (1, p)):
            if sc.NEXT_STATE[s_, a_] < 3:
                P[s_, sc.NEXT_STATE[s_, a_]] += prob
    np.testing.assert_allclose(eta, np.eye(3)[0] + gamma * P.T @ eta, rtol=1e-12)
    if gamma == 1.0:  # the expected episode length is -J (every step costs 1)
        np.testing.assert_allclose(eta.sum(), -v[0], rtol=1e-12)
        assert eta @ v / eta.sum() > v[0]  # later states are nearer the goal: above v(s0)


@pytest.mark.parametrize("theta", THETAS)
@pytest.mark.parametrize("gamma", [1.0, 0.9, 0.5])
def test_policy_gradient_theorem_gives_the_exact_gradient(theta, gamma):
    # Σ_s η_γ(s) Σ_a q(s,a) ∇π(a|s) (S&B 13.5 with γ^t-discounted visits) equals ∇J from the
    # differentiated Bellman equations
    np.testing.assert_allclose(exact.expected_update(theta, gamma), exact.grad_J(theta, gamma),
                               rtol=1e-9, atol=1e-12)


def test_dropping_gamma_t_changes_the_expected_update_and_moves_its_fixed_point():
    theta = exact.theta_for(0.3)
    np.testing.assert_allclose(exact.expected_update(theta, 1.0, discount_weighting=False),
                               exact.grad_J(theta, 1.0), rtol=1e-9)  # γ = 1: nothing to drop
    biased = exact.expected_update(theta, 0.9, discount_weighting=False)
    assert biased[1] > 2 * exact.grad_J(theta, 0.9)[1] > 0  # same sign, much larger
    for gamma in (0.9, 0.5):
        p_opt, v_opt = exact.optimum(gamma)
        assert exact.fixed_point(gamma) == pytest.approx(p_opt, abs=1e-7)
        p_moved = exact.fixed_point(gamma, discount_weighting=False)
        assert p_moved > p_opt + 1e-3  # it moves (towards "right")
        assert exact.J(exact.theta_for(p_moved), gamma) < v_opt  # and is worse for J_γ
        # at the moved point the exact gradient is not zero, the update without γ^t is
        assert abs(exact.grad_J(exact.theta_for(p_moved), gamma)[1]) > 1e-4
        assert abs(exact.expected_update(exact.theta_for(p_moved), gamma, False)[1]) < 1e-9
    assert exact.fixed_point(1.0, discount_weighting=False) == pytest.approx(2 - np.sqrt(2),
                                                                             abs=1e-9)


# ---------------------------------------------------------------- exact vs Monte Carlo (the env)

def _sample_episodes(theta: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n episodes of π_θ in the registered gymnasium env: returns (n,) and REINFORCE terms (n, 2).

    The per-episode gradient estimate Σ_t G_t ∇log π(a_t) (γ = 1) is written out here from its
    definition, independently of rlcourse.corridor_reinforce.
    """
    env = make()
    rng = np.random.default_rng(seed)
    pi = exact.policy(theta)
    score = {a: exact.grad_log_policy(theta, a) for a in (0, 1)}
    rets, grads = np.zeros(n), np.zeros((n, 2))
    for i in range(n):
        env.reset(seed=seed + i)
        actions, rewards, done = [], [], False
        while not done:
            a = int(rng.random() < pi[1])
            _, r, terminated, truncated, _ = env.step(a)
            actions.append(a)
            rewards.append(r)
            done = terminated or truncated
        G = np.cumsum(rewards[::-1])[::-1]
        rets[i] = G[0]
        grads[i] = sum(g * score[a] for g, a in zip(G, actions))
    return rets, grads


@pytest.mark.parametrize("p", [0.3, 2 - np.sqrt(2), 0.75])
def test_exact_J_and_grad_J_match_monte_carlo_from_the_environment(p):
    theta = exact.theta_for(p)
    n = 3000
    rets, grads = _sample_episodes(theta, n, seed=int(p * 1000))
    se_J = rets.std(ddof=1) / np.sqrt(n)
    assert abs(rets.mean() - exact.J(theta)) < N_SE * se_J, (rets.mean(), exact.J(theta), se_J)
    se_g = grads.std(axis=0, ddof=1) / np.sqrt(n)
    err = np.abs(grads.mean(axis=0) - exact.grad_J(theta))
    assert np.all(err < N_SE * se_g), (grads.mean(axis=0), exact.grad_J(theta), se_g)


def test_monte_carlo_bound_is_tight_enough_to_catch_a_wrong_gradient():
    # the same estimate rejects ∇J without its factor p(1-p) (a typical slip): the bound has teeth
    theta = exact.theta_for(0.3)
    _, grads = _sample_episodes(theta, 3000, seed=300)
    se_g = grads.std(axis=0, ddof=1) / np.sqrt(3000)
    p = exact.prob_right(theta)
    wrong = exact.grad_J(theta) / (p * (1 - p))
    assert np.all(np.abs(grads.mean(axis=0) - wrong) > N_SE * se_g)
