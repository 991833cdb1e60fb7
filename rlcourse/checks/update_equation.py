"""Checks for the exercises of 01_update_equation: returns, ∇log π of a softmax, one update.

Each check calls the student's function on several inputs, compares it with a reference and,
when it differs, names the typical mistake whose output it matches (see COURSE_DESIGN §4).
They follow docs/conventions.md: where an answer uses the course's *other* convention (the update
without γ^t that the course uses from notebook 02 on, the mean over steps instead of the sum,
G_0 at every step), the message names that convention and what differs, not "a mistake".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rlcourse import corridor_reinforce, numpy_policy, returns, validate
from rlcourse.checks.feedback import Exercise, Feedback, close, diagnose, fmt
from rlcourse.envs import short_corridor_exact

# ---------------------------------------------------------------- 1. discounted returns

_RNG_REWARDS = np.round(np.random.default_rng(7).normal(size=6), 2)
RETURNS_CASES = (
    ([1.0, 0.0, 2.0], 0.9),
    ([0.0, 0.0, 0.0, 1.0], 0.5),
    (list(_RNG_REWARDS), 0.9),
    ([-1.0, -1.0, -1.0, -1.0, -1.0], 1.0),
    ([1.0, 2.0, 3.0], 0.0),
    ([3.0], 0.9),
    ([], 0.9),
)


def _returns_mistakes(r: np.ndarray, gamma: float) -> dict[str, Callable[[], np.ndarray]]:
    T = r.size
    k = np.arange(T)
    G = returns.discounted_returns(r, gamma)
    return {
        "returns are summed from the start of the episode, not from t: G_t adds only the "
        "rewards that come after the action at step t (rewards[t], rewards[t+1], ...)":
            lambda: np.cumsum(gamma ** k * r),
        "γ is applied at the absolute index: you weighted rewards[k] by γ^k, counted from the "
        "start of the episode, instead of γ^(k−t), counted from step t. G_t = rewards[t] + "
        "γ rewards[t+1] + γ² rewards[t+2] + ... does not depend on when step t happens; your "
        "values are γ^t G_t (the weight of step t in section 3's exact gradient, not the return)":
            lambda: np.array([np.sum(gamma ** k[t:] * r[t:]) for t in range(T)]),
        "every step got the whole episode's return G_0 (weighting every step by G_0 is "
        "'REINFORCE as first written', unbiased but noisier; section 8 measures it). This "
        "function returns G_t, the return from step t on":
            lambda: np.full(T, G[0]),
        "γ is applied at the wrong end: the reward right after step t (rewards[t]) gets γ^0, "
        "the next one γ^1, and so on; you discounted the early rewards, not the late ones":
            lambda: np.array([np.sum(gamma ** (T - 1 - k[t:]) * r[t:]) for t in range(T)]),
        "γ is missing: every later reward must be multiplied by one more factor γ":
            lambda: np.cumsum(r[::-1])[::-1],
        "the discount exponent is off by one: rewards[t] (R_{t+1}) is not discounted, "
        "G_t = R_{t+1} + γ R_{t+2} + ...":
            lambda: gamma * G,
        "off by one: G_t must include rewards[t], the reward that follows the action at t":
            lambda: np.append(G[1:], 0.0),
        "the result is reversed: G[t] belongs to step t, so G[0] is the return of the whole "
        "episode":
            lambda: G[::-1],
        "the recursion runs forward, G[t] = rewards[t] + γ G[t−1]: that accumulates the rewards "
        "that came before step t. G_t = rewards[t] + γ G_{t+1} runs backwards, from the last "
        "step (G_T = 0) to the first, because G_t needs the return after it":
            lambda: np.array([np.sum(gamma ** (t - k[:t + 1]) * r[:t + 1]) for t in range(T)]),
    }


def check_discounted_returns(discounted_returns: Callable) -> Feedback:
    """``discounted_returns(rewards, gamma) -> G`` with G[t] = Σ_{k≥t} γ^(k−t) rewards[k]."""
    ex = Exercise("discounted_returns")
    if not callable(discounted_returns):
        ex.fail(f"expected a function, got {type(discounted_returns).__name__}")
    for rewards, gamma in RETURNS_CASES:
        r = np.array(rewards, dtype=np.float64)
        case = f"rewards = {fmt(r)}, gamma = {gamma}"
        # kind="float": an integer array (`np.zeros(T, dtype=int)`) truncates every G_t silently
        got = ex.as_array(ex.call(discounted_returns, r, gamma, case=case), shape=r.shape,
                          case=case, what="the returns", kind="float")
        want = returns.discounted_returns(r, gamma)
        if not close(got, want):
            message = diagnose(got, _returns_mistakes(r, gamma))
            ex.fail(message or f"expected {fmt(want)}, got {fmt(got)}", case)
    return ex.passed(f"correct on {len(RETURNS_CASES)} episodes (γ = 0 and 1 and the empty "
                     "episode included)")


# ---------------------------------------------------------------- 2. ∇ log π of a softmax

def reference_grad_log_softmax(theta: np.ndarray, features: np.ndarray, action: int) -> np.ndarray:
    """x(s, a) − Σ_b π(b|s) x(s, b) with π = softmax(features @ theta) (book, eq. 13.9).

    ``theta``: shape (d,); ``features``: shape (n_actions, d), row b is x(s, b); ``action``: an
    integer in [0, n_actions). Returns shape (d,). With one-hot features (x(s, a) = e_a, so the
    preferences are θ itself) this is e_a − π, the gradient with respect to the preferences.
    """
    theta = validate.array("theta", theta, ndim=1, dtype="float", finite=True)
    features = validate.array("features", features, ndim=2, dtype="float", finite=True)
    if features.shape[1] != theta.shape[0]:
        raise ValueError(f"features must have shape (n_actions, {theta.shape[0]}) to match theta, "
                         f"got {features.shape}")
    action = validate.integer("action", action, low=0, high=features.shape[0] - 1)
    pi = numpy_policy.softmax(features @ theta)
    return features[action] - pi @ features


_rng = np.random.default_rng(3)
GRAD_LOG_CASES = (
    (np.array([0.5, -0.5]), np.eye(2), 1),  # the corridor's features: θ = (θ_left, θ_right)
    (short_corridor_exact.theta_for(0.05), np.eye(2), 0),
    (np.round(_rng.normal(size=4), 2), np.round(_rng.normal(size=(3, 4)), 2), 2),
    (np.round(_rng.normal(size=3), 2), np.round(_rng.normal(size=(4, 3)), 2), 0),
    (np.array([800.0, 0.0]), np.eye(2), 1),  # large preferences: exp overflows without a shift
)


def _grad_log_mistakes(theta, X, a) -> dict[str, Callable[[], np.ndarray]]:
    pi = numpy_policy.softmax(X @ theta)
    correct = X[a] - pi @ X
    return {
        "this is ∇π(a|s), not ∇log π(a|s): the log divides by π(a|s), leaving "
        "x(s,a) − Σ_b π(b|s) x(s,b)": lambda: pi[a] * correct,
        "only the chosen action's preference got gradient: the other actions' features enter "
        "too, through −Σ_b π(b|s) x(s,b) (the softmax's normaliser depends on every action)":
            lambda: (1 - pi[a]) * X[a],
        "you returned x(s,a) alone: subtract the expected features Σ_b π(b|s) x(s,b)":
            lambda: X[a],
        "the sign is flipped: ∇log π(a|s) = x(s,a) − Σ_b π(b|s) x(s,b), not the reverse":
            lambda: -correct,
        "the expected features are weighted uniformly: weight x(s,b) by π(b|s)":
            lambda: X[a] - X.mean(axis=0),
        "the expected features are weighted by the preferences θᵀx(s,b); weight them by the "
        "probabilities π(b|s) = softmax of the preferences": lambda: X[a] - (X @ theta) @ X,
    }


def check_grad_log_softmax(grad_log_softmax: Callable) -> Feedback:
    """``grad_log_softmax(theta, features, action) -> ∇_θ log π_θ(action|s)``, shape (d,).

    ``features`` has shape (n_actions, d): row b is x(s, b); π = softmax(features @ theta).
    """
    ex = Exercise("grad_log_softmax")
    if not callable(grad_log_softmax):
        ex.fail(f"expected a function, got {type(grad_log_softmax).__name__}")
    for theta, X, a in GRAD_LOG_CASES:
        case = f"theta = {fmt(theta)}, features = {fmt(X)}, action = {a}"
        got = ex.as_array(ex.call(grad_log_softmax, theta, X, a, case=case),
                          shape=theta.shape, case=case, what="the gradient")
        want = reference_grad_log_softmax(theta, X, a)
        if not close(got, want):
            message = diagnose(got, _grad_log_mistakes(theta, X, a))
            ex.fail(message or f"expected {fmt(want)}, got {fmt(got)}", case)
    return ex.passed(f"correct on {len(GRAD_LOG_CASES)} policies (2 to 4 actions, huge "
                     "preferences included)")


# ---------------------------------------------------------------- 3. one REINFORCE update

UPDATE_CASES = (
    (np.array([0.2, -0.1]), [1, 0, 1], [-1.0, -1.0, -1.0], 0.1, 1.0),
    (np.array([0.3, 0.1]), [0, 1, 1, 0], [1.0, 0.0, 2.0, -1.0], 0.05, 0.9),
    (short_corridor_exact.theta_for(0.3), [0, 1, 0, 0, 1, 1], [-1.0] * 6, 2.0**-4, 0.8),
    (np.array([-0.4, 0.7]), [1], [5.0], 0.5, 0.9),
)


def _update_mistakes(theta, actions, rewards, alpha, gamma) -> dict[str, Callable]:
    a = np.asarray(actions)
    r = np.asarray(rewards, dtype=np.float64)
    T = r.size
    disc = gamma ** np.arange(T)
    G = returns.discounted_returns(r, gamma)
    pi = short_corridor_exact.policy(theta)
    psi = np.array([short_corridor_exact.grad_log_policy(theta, int(x)) for x in a])

    def step(weights, grads=psi):
        return alpha * weights @ grads

    delta = step(disc * G)

    def per_step_loop(weights):
        # the book's pseudocode: θ moves after every step, so step t's gradient is taken at the
        # θ already moved by steps 0..t−1
        th = np.array(theta, dtype=np.float64)
        for t in range(T):
            th = th + alpha * weights[t] * short_corridor_exact.grad_log_policy(th, int(a[t]))
        return th

    return {
        "the update descends: REINFORCE climbs J, θ ← θ + α γ^t G_t ∇log π (you subtracted)":
            lambda: theta - delta,
        "you returned Δθ; return the new parameters θ + Δθ": lambda: delta,
        "α is missing: Δθ = α Σ_t γ^t G_t ∇log π(a_t|s_t)": lambda: theta + delta / alpha,
        "every step is weighted by the whole episode's return G_0: that is 'REINFORCE as first "
        "written', unbiased but with a higher variance (section 8 measures it); this "
        "exercise asks for the weight G_t, the return from step t on, which drops the rewards "
        "that came before the action": lambda: theta + step(disc * G[0]),
        "returns are summed from the start of the episode, not from t":
            lambda: theta + step(disc * np.cumsum(disc * r)),
        "the steps were weighted by the immediate reward rewards[t] (R_{t+1}), not by the return "
        "G_t = R_{t+1} + γ R_{t+2} + ..., which adds every later reward":
            lambda: theta + step(disc * r),
        "this is the update without the γ^t factor, the convention the course follows from "
        "notebook 02 on (see 'Conventions used in the whole course'). This exercise asks for "
        "01's exact gradient, which keeps it: step t is weighted by γ^t G_t, so your numbers "
        "differ by γ^t at step t (with γ = 1 the two agree)":
            lambda: theta + step(G),
        "γ^t is applied twice: G_t is discounted from step t (γ^(k−t)) and the factor γ^t comes "
        "once more, not twice (returns computed with γ^k at the absolute index already hold "
        "γ^t G_t)":
            lambda: theta + step(disc**2 * G),
        "γ is applied at the wrong end of G_t: rewards[t] gets γ^0, rewards[t+1] γ^1, ...":
            lambda: theta + step(disc * np.array(
                [np.sum(gamma ** (T - 1 - np.arange(t, T)) * r[t:]) for t in range(T)])),
        "this is the mean over the episode's steps; the course's convention is the sum over "
        "each episode's steps (averaged over episodes; here one episode): the direction is the "
        f"same, your step is smaller by the episode length (here ×1/{T})":
            lambda: theta + delta / T,
        "π where log π belongs: use ∇log π(a_t|s_t) = ∇π(a_t|s_t) / π(a_t|s_t)":
            lambda: theta + step(disc * G, pi[a][:, None] * psi),
        "only the taken action's preference moved: the other action's preference gets "
        "−π(b|s) of the gradient too":
            lambda: theta + step(disc * G, np.eye(2)[a] * (1 - pi[a])[:, None]),
        "you updated θ inside the episode, as the book's pseudocode does: each step's gradient "
        "was taken at the θ that the earlier steps had already moved. This exercise asks for "
        "the episode's update at fixed θ, every ∇log π(a_t|s_t) at the θ that played the "
        "episode; the two differ by O(α²) (section 10 measures it)":
            lambda: per_step_loop(disc * G),
        "you updated θ inside the episode, as the book's pseudocode does, and without the γ^t "
        "factor. This exercise asks for the episode's update at fixed θ (every ∇log π(a_t|s_t) "
        "at the θ that played the episode; the two differ by O(α²)), weighted by 01's exact "
        "γ^t G_t (with γ = 1 the weights agree)":
            lambda: per_step_loop(G),
    }


def check_reinforce_update(reinforce_update: Callable) -> Feedback:
    """``reinforce_update(theta, actions, rewards, alpha, gamma) -> new theta``, shape (2,).

    θ + α Σ_t γ^t G_t ∇_θ log π_θ(a_t|s_t) for the corridor's policy π_θ = softmax(θ) (the same
    in every state), all gradients taken at the θ that played the episode.
    """
    ex = Exercise("reinforce_update")
    if not callable(reinforce_update):
        ex.fail(f"expected a function, got {type(reinforce_update).__name__}")
    for theta, actions, rewards, alpha, gamma in UPDATE_CASES:
        a, r = np.array(actions), np.array(rewards, dtype=np.float64)
        case = (f"theta = {fmt(theta)}, actions = {fmt(a)}, rewards = {fmt(r)}, "
                f"alpha = {alpha:g}, gamma = {gamma}")
        got = ex.as_array(ex.call(reinforce_update, theta, a, r, alpha, gamma, case=case),
                          shape=(2,), case=case, what="the new theta")
        want = corridor_reinforce.episode_update(theta, a, r, alpha, gamma)
        if not close(got, want):
            message = diagnose(got, _update_mistakes(theta, a, r, alpha, gamma))
            ex.fail(message or f"expected {fmt(want, 5)}, got {fmt(got, 5)}", case)
    return ex.passed(f"correct on {len(UPDATE_CASES)} episodes (γ = 1 and γ < 1)")
