"""The checks of 01_update_equation: right answers pass (NumPy or torch), typical mistakes are
named in words, and no check shows a traceback from inside rlcourse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcourse.checks import update_equation as ue
from rlcourse.checks.feedback import ExerciseFailed, ExerciseNotImplemented, Feedback
from rlcourse.envs import short_corridor_exact as exact


def fails_with(check, fn, words: str) -> str:
    with pytest.raises(ExerciseFailed) as err:
        check(fn)
    assert words in str(err.value), str(err.value)
    assert "Traceback" not in str(err.value)
    return str(err.value)


# ---------------------------------------------------------------- 1. discounted returns

def returns_loop(rewards, gamma):
    G, out = 0.0, np.zeros(len(rewards))
    for t in reversed(range(len(rewards))):
        G = rewards[t] + gamma * G
        out[t] = G
    return out


def returns_torch_matrix(rewards, gamma):
    """A different correct method: a Toeplitz matrix of discounts, in torch."""
    r = torch.as_tensor(rewards, dtype=torch.float64)
    T = r.shape[0]
    k = torch.arange(T)
    expo = (k[None, :] - k[:, None]).to(torch.float64)
    D = torch.where(expo >= 0, torch.tensor(float(gamma), dtype=torch.float64) ** expo.clamp(min=0),
                    torch.zeros((), dtype=torch.float64))
    return D @ r


@pytest.mark.parametrize("fn", [returns_loop, returns_torch_matrix])
def test_correct_returns_pass(fn):
    assert isinstance(ue.check_discounted_returns(fn), Feedback)


def test_returns_from_the_start_of_the_episode_are_named():
    def forward(rewards, gamma):
        return np.cumsum(gamma ** np.arange(len(rewards)) * rewards)
    msg = fails_with(ue.check_discounted_returns, forward,
                     "returns are summed from the start of the episode, not from t")
    assert "rewards = [1., 0., 2.]" in msg  # names the first failing input


def test_gamma_at_the_wrong_end_is_named():
    def wrong_end(rewards, gamma):
        T = len(rewards)
        return np.array([sum(gamma ** (T - 1 - k) * rewards[k] for k in range(t, T))
                         for t in range(T)])
    fails_with(ue.check_discounted_returns, wrong_end, "γ is applied at the wrong end")


def test_gamma_at_the_absolute_index_is_named():
    def absolute(rewards, gamma):  # γ^k instead of γ^(k−t)
        T = len(rewards)
        return np.array([sum(gamma**k * rewards[k] for k in range(t, T)) for t in range(T)])
    msg = fails_with(ue.check_discounted_returns, absolute,
                     "γ is applied at the absolute index: you weighted rewards[k] by γ^k")
    assert "instead of γ^(k−t)" in msg and "rewards = [1., 0., 2.]" in msg


def test_returns_that_skip_the_reward_right_after_the_action_are_named():
    fails_with(ue.check_discounted_returns,
               lambda r, g: np.append(returns_loop(r, g)[1:], 0.0) if len(r) else np.zeros(0),
               "off by one: G_t must include rewards[t]")


def test_whole_episode_return_and_off_by_ones_are_named():
    fails_with(ue.check_discounted_returns,
               lambda r, g: np.full(len(r), returns_loop(r, g)[0] if len(r) else 0.0),
               "whole episode's return G_0")
    fails_with(ue.check_discounted_returns, lambda r, g: g * returns_loop(r, g),
               "exponent is off by one")
    fails_with(ue.check_discounted_returns, lambda r, g: returns_loop(r, g)[::-1],
               "reversed")
    fails_with(ue.check_discounted_returns, lambda r, g: returns_loop(r, 1.0), "γ is missing")


def test_returns_check_reports_shape_missing_return_and_unfinished():
    fails_with(ue.check_discounted_returns, lambda r, g: float(np.sum(r)), "shape")
    fails_with(ue.check_discounted_returns, lambda r, g: None, "forget to `return`")

    def stub(r, g):
        raise NotImplementedError()
    with pytest.raises(ExerciseNotImplemented, match="not implemented yet"):
        ue.check_discounted_returns(stub)


def test_returns_check_reports_in_place_changes():
    def in_place(rewards, gamma):
        for t in reversed(range(len(rewards) - 1)):
            rewards[t] += gamma * rewards[t + 1]
        return rewards
    fails_with(ue.check_discounted_returns, in_place, "modified its input in place")


# ---------------------------------------------------------------- 2. ∇ log π

def grad_log_numpy(theta, features, action):
    h = features @ theta
    log_pi = h - (h.max() + np.log(np.exp(h - h.max()).sum()))
    pi = np.exp(log_pi)
    return features[action] - features.T @ pi


def grad_log_autograd(theta, features, action):
    """A correct alternative that lets torch differentiate log_softmax."""
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    torch.log_softmax(torch.as_tensor(features) @ t, dim=0)[action].backward()
    return t.grad


@pytest.mark.parametrize("fn", [grad_log_numpy, grad_log_autograd])
def test_correct_grad_log_pass(fn):
    assert isinstance(ue.check_grad_log_softmax(fn), Feedback)


def test_reference_grad_log_agrees_with_finite_differences():
    for theta, X, a in ue.GRAD_LOG_CASES[:4]:
        def log_pi(th, X=X, a=a):
            h = X @ th
            return h[a] - np.log(np.exp(h).sum())
        eps = 1e-6
        fd = [(log_pi(theta + eps * e) - log_pi(theta - eps * e)) / (2 * eps)
              for e in np.eye(theta.size)]
        np.testing.assert_allclose(ue.reference_grad_log_softmax(theta, X, a), fd, atol=1e-8)


def _softmax(h):
    z = np.exp(h - h.max())
    return z / z.sum()


def test_grad_of_pi_instead_of_log_pi_is_named():
    def grad_pi(theta, X, a):
        pi = _softmax(X @ theta)
        return pi[a] * (X[a] - pi @ X)
    fails_with(ue.check_grad_log_softmax, grad_pi, "this is ∇π(a|s), not ∇log π(a|s)")


def test_only_the_chosen_action_and_flipped_sign_are_named():
    def chosen_only(theta, X, a):
        return (1 - _softmax(X @ theta)[a]) * X[a]
    fails_with(ue.check_grad_log_softmax, chosen_only, "only the chosen action's preference")
    fails_with(ue.check_grad_log_softmax, lambda th, X, a: -grad_log_numpy(th, X, a),
               "the sign is flipped")
    fails_with(ue.check_grad_log_softmax, lambda th, X, a: X[a] - X.mean(axis=0),
               "weighted uniformly")
    fails_with(ue.check_grad_log_softmax, lambda th, X, a: X[a], "x(s,a) alone")
    fails_with(ue.check_grad_log_softmax, lambda th, X, a: X[a] - (X @ th) @ X,
               "weighted by the preferences")


@pytest.mark.parametrize("call, error, words", [
    (lambda: ue.reference_grad_log_softmax(np.zeros(2), np.eye(2), True), TypeError,
     "action must be an integer"),
    (lambda: ue.reference_grad_log_softmax(np.zeros(2), np.eye(2), 2), ValueError,
     "action must be an integer in"),
    (lambda: ue.reference_grad_log_softmax(np.zeros(3), np.eye(2), 0), ValueError,
     "features must have shape"),
    (lambda: ue.reference_grad_log_softmax(np.array([np.nan, 0.0]), np.eye(2), 0), ValueError,
     "theta must be finite"),
    (lambda: ue.reference_grad_log_softmax(np.zeros(2), np.ones(2), 0), ValueError,
     "features must have 2 dimension"),
])
def test_reference_grad_log_softmax_refuses_bad_input_by_name(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("check", [ue.check_discounted_returns, ue.check_grad_log_softmax,
                                   ue.check_reinforce_update])
def test_checks_say_when_they_are_not_given_a_function(check):
    with pytest.raises(ExerciseFailed, match="expected a function, got int"):
        check(3)


def test_softmax_without_the_max_shift_is_caught_on_huge_preferences():
    def unshifted(theta, X, a):
        with np.errstate(over="ignore", invalid="ignore"):
            z = np.exp(X @ theta)
            return X[a] - (z / z.sum()) @ X
    msg = fails_with(ue.check_grad_log_softmax, unshifted, "overflow in exp")
    assert "800" in msg


# ---------------------------------------------------------------- 3. one REINFORCE update

def update_loop(theta, actions, rewards, alpha, gamma):
    """The book's pseudocode with θ frozen during the episode, written with plain loops."""
    T = len(rewards)
    pi = _softmax(np.asarray(theta, dtype=float))
    new = np.array(theta, dtype=float)
    for t in range(T):
        G = sum(gamma ** (k - t) * rewards[k] for k in range(t, T))
        new += alpha * gamma**t * G * (np.eye(2)[actions[t]] - pi)
    return new


def update_torch(theta, actions, rewards, alpha, gamma):
    """The surrogate-loss way: minimise −Σ γ^t G_t log π(a_t), one SGD step."""
    from rlcourse import returns
    th = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    G = torch.as_tensor(returns.discounted_returns(rewards, gamma))
    disc = torch.tensor(gamma, dtype=torch.float64) ** torch.arange(len(rewards))
    log_pi = torch.log_softmax(th, dim=0)[torch.as_tensor(actions, dtype=torch.long)]
    loss = -(disc * G * log_pi).sum()
    loss.backward()
    with torch.no_grad():
        return th - alpha * th.grad


@pytest.mark.parametrize("fn", [update_loop, update_torch])
def test_correct_updates_pass(fn):
    assert isinstance(ue.check_reinforce_update(fn), Feedback)


def test_descending_update_is_named():
    def descend(theta, actions, rewards, alpha, gamma):
        return 2 * np.asarray(theta) - update_loop(theta, actions, rewards, alpha, gamma)
    fails_with(ue.check_reinforce_update, descend, "the update descends")


def test_missing_gamma_t_and_whole_return_are_named():
    def no_gamma_t(theta, actions, rewards, alpha, gamma):
        from rlcourse import returns
        G = returns.discounted_returns(rewards, gamma)
        pi = _softmax(np.asarray(theta, dtype=float))
        return theta + alpha * sum(G[t] * (np.eye(2)[actions[t]] - pi) for t in range(len(G)))
    msg = fails_with(ue.check_reinforce_update, no_gamma_t,
                     "this is the update without the γ^t factor, the convention the course "
                     "follows from notebook 02 on")
    assert "gamma = 0.9" in msg  # first failing input: the first case with γ < 1
    assert "mistake" not in msg and "wrong" not in msg  # the other convention, not an error

    def whole_return(theta, actions, rewards, alpha, gamma):
        pi = _softmax(np.asarray(theta, dtype=float))
        G0 = sum(gamma**k * r for k, r in enumerate(rewards))
        return theta + alpha * sum(gamma**t * G0 * (np.eye(2)[a] - pi)
                                   for t, a in enumerate(actions))
    fails_with(ue.check_reinforce_update, whole_return, "whole episode's return G_0")


def test_delta_instead_of_theta_and_mean_over_steps_are_named():
    fails_with(ue.check_reinforce_update,
               lambda th, a, r, al, g: update_loop(th, a, r, al, g) - th, "you returned Δθ")
    fails_with(ue.check_reinforce_update,
               lambda th, a, r, al, g: th + (update_loop(th, a, r, al, g) - th) / len(r),
               "this is the mean over the episode's steps; the course's convention is the sum "
               "over each episode's steps (averaged over episodes; here one episode): the "
               "direction is the same, your step is smaller by the episode length (here ×1/3)")


def test_reference_update_is_one_gradient_ascent_step_on_the_surrogate():
    # ties the reference to autograd: the check's answer is θ + α ∇θ Σ_t γ^t G_t log π(a_t)
    for theta, actions, rewards, alpha, gamma in ue.UPDATE_CASES:
        np.testing.assert_allclose(
            update_torch(theta, np.array(actions), np.array(rewards), alpha, gamma).numpy(),
            update_loop(theta, actions, rewards, alpha, gamma), rtol=1e-12)
    assert exact.prob_right(ue.UPDATE_CASES[2][0]) == pytest.approx(0.3)


def _pi(theta):
    return _softmax(np.asarray(theta, dtype=float))


def _update_with(weights_of, grads_of=None):
    """A learner's update θ + α Σ_t weights_of(G, γ, rewards)[t] · grads_of(π, a_t)."""
    from rlcourse import returns

    def update(theta, actions, rewards, alpha, gamma):
        G = returns.discounted_returns(rewards, gamma)
        pi = _pi(theta)
        w = weights_of(G, gamma, np.asarray(rewards, dtype=float))
        grad = grads_of or (lambda pi, a: np.eye(2)[a] - pi)
        return np.asarray(theta) + alpha * sum(w[t] * grad(pi, a) for t, a in enumerate(actions))
    return update


def _disc(G, g):
    return g ** np.arange(len(G))


@pytest.mark.parametrize("learner, words", [
    (lambda th, a, r, al, g: update_loop(th, a, r, 1.0, g), "α is missing"),
    (_update_with(lambda G, g, r: _disc(G, g) * np.cumsum(_disc(G, g) * r)),
     "returns are summed from the start of the episode"),
    (_update_with(lambda G, g, r: _disc(G, g) ** 2 * G), "γ^t is applied twice"),
    (_update_with(lambda G, g, r: _disc(G, g) * np.array(  # γ^k at the absolute index, plus γ^t
        [np.sum(g ** np.arange(t, len(r)) * r[t:]) for t in range(len(r))])),
     "γ^t is applied twice"),
    (_update_with(lambda G, g, r: _disc(G, g) * np.array(
        [np.sum(g ** (len(r) - 1 - np.arange(t, len(r))) * r[t:]) for t in range(len(r))])),
     "γ is applied at the wrong end of G_t"),
    (_update_with(lambda G, g, r: _disc(G, g) * G, lambda pi, a: pi[a] * (np.eye(2)[a] - pi)),
     "π where log π belongs"),
    (_update_with(lambda G, g, r: _disc(G, g) * G, lambda pi, a: np.eye(2)[a] * (1 - pi[a])),
     "only the taken action's preference moved"),
])
def test_every_named_update_mistake_is_recognised(learner, words):
    fails_with(ue.check_reinforce_update, learner, words)



# ---------------------------------------------------------------- named after a fresh-eyes review

def test_forward_recursion_is_named():
    def forward(rewards, gamma):  # G[t] = rewards[t] + γ G[t−1]: the rewards before t
        G, out = 0.0, np.zeros(len(rewards))
        for t in range(len(rewards)):
            G = rewards[t] + gamma * G
            out[t] = G
        return out
    fails_with(ue.check_discounted_returns, forward,
               "the recursion runs forward, G[t] = rewards[t] + γ G[t−1]")


def test_integer_returns_are_refused_not_truncated_silently():
    def int_array(rewards, gamma):
        out = np.zeros(len(rewards), dtype=int)
        out[:] = returns_loop(rewards, gamma)  # truncates 2.62 to 2
        return out
    fails_with(ue.check_discounted_returns, int_array,
               "the returns has dtype int64, expected a float dtype")


def test_returns_check_accepts_a_list_and_the_empty_episode():
    assert ue.check_discounted_returns(lambda r, g: list(returns_loop(r, g)))


def test_the_books_per_step_loop_is_named():
    def per_step(theta, actions, rewards, alpha, gamma, gamma_t=True):
        from rlcourse import returns
        G = returns.discounted_returns(rewards, gamma)
        th = np.array(theta, dtype=float)
        for t, a in enumerate(actions):  # θ moves inside the episode, as in the book
            th = th + alpha * (gamma**t if gamma_t else 1.0) * G[t] * (np.eye(2)[a] - _softmax(th))
        return th
    msg = fails_with(ue.check_reinforce_update, per_step,
                     "you updated θ inside the episode, as the book's pseudocode does")
    assert "O(α²)" in msg and "at fixed θ" in msg
    fails_with(ue.check_reinforce_update,
               lambda *args: per_step(*args, gamma_t=False), "as the book's pseudocode does")


def test_immediate_rewards_as_weights_are_named():
    def immediate(theta, actions, rewards, alpha, gamma):
        pi = _softmax(np.asarray(theta, dtype=float))
        return theta + alpha * sum(gamma**t * rewards[t] * (np.eye(2)[a] - pi)
                                   for t, a in enumerate(actions))
    fails_with(ue.check_reinforce_update, immediate,
               "weighted by the immediate reward rewards[t] (R_{t+1})")


def test_whole_return_messages_point_to_section_8():
    msg = fails_with(ue.check_discounted_returns,
                     lambda r, g: np.full(len(r), returns_loop(r, g)[0] if len(r) else 0.0),
                     "section 8 measures it")
    assert "section 2" not in msg
