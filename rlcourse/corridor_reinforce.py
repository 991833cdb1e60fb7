r"""REINFORCE on the short corridor, many independent runs at once in NumPy (01_update_equation).

Reproduces Sutton & Barto's Figures 13.1 and 13.2 (without and with a baseline) in seconds and
estimates the policy gradient from many sampled episodes. Every run plays its own episodes; all
runs advance one step per iteration, and a run whose episode ends applies its update and starts
the next episode at once (no run waits for the slowest one).

With the book's features (the same in every state, one-hot per action), θ holds the action
preferences themselves, so ∇_θ log π_θ(a|s) = e_a − π_θ = (−d, d) with d = 1[a = right] − p:
one number per run carries the whole gradient. The update of one episode (``rewards[k]`` is
R_{k+1}, the reward that follows the action at step k),

.. math:: \Delta\theta = \alpha \sum_{t=0}^{T-1} \gamma^t G_t \nabla_\theta\log\pi_\theta(A_t|S_t),
          \qquad G_t = \sum_{k=t}^{T-1}\gamma^{k-t}\,{\rm rewards}[k],

is accumulated online by swapping the two sums (each reward is credited to the actions before it,
which is exactly causality):

.. math:: \sum_t \gamma^t G_t \psi_t = \sum_k \gamma^k\,{\rm rewards}[k]\,\Psi_k,\qquad
          \Psi_k = \sum_{t\le k}\psi_t,

and without the γ^t factor, Σ_t G_t ψ_t = Σ_k rewards[k] z_k with the trace z_k = γ z_{k−1} + ψ_k.

**With a baseline** (the book's "REINFORCE with baseline", Figure 13.2) the weight of step t is
δ_t = G_t − w_t, with the state-value estimate v̂(s, w) = w (the agent cannot tell the states
apart), updated at every step as in the book, w_{t+1} = w_t + α_w δ_t. Since w_t depends on
returns that are only known when the episode ends, a little algebra accumulates the baseline's
part Σ_t γ^t w_t ψ_t online too. **The baseline, online:** unrolling w_{t+1} = β w_t + α_w G_t
(β = 1 − α_w) and splitting each G_s (s < t) at step t gives w_t = a_t + b_t G_t, where

.. math:: a_t = \beta^t w_0 + \alpha_w A_t,\quad A_{t+1} = \beta A_t + {\rm rewards}[t]\,C_t,
          \quad C_t = \beta\gamma\, C_{t-1} + 1,\quad b_t = \alpha_w \gamma\, C_{t-1}
          \quad (A_0 = C_{-1} = 0)

are known at step t. So Σ_t γ^t w_t ψ_t = Σ_t γ^t a_t ψ_t + Σ_t (γ^t b_t ψ_t) G_t, and the second
sum is accumulated with a trace like the one above; the episode's last w is w_T = a_T.

All of θ is used as it was at the start of the episode; :func:`episode_update_with_baseline` is
the same update written directly, step by step, and the tests hold the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rlcourse import numpy_policy, validate
from rlcourse import returns as returns_lib
from rlcourse.envs import SHORT_CORRIDOR_MAX_STEPS
from rlcourse.envs import short_corridor_exact as exact
from rlcourse.envs.short_corridor import START, _step_batch

#: θ of the book's Figure 13.1 runs: π(right) = 0.05, so J(θ₀) ≈ -82.1 (a near "ε-greedy left").
FIGURE_13_1_THETA0 = exact.theta_for(0.05)
FIGURE_13_1_STEP_SIZES = (2.0**-12, 2.0**-13, 2.0**-14)
#: Figure 13.2's step sizes: plain REINFORCE at its best (2^-13) and REINFORCE with baseline
#: (α_θ = 2^-9, α_w = 2^-6), from the same θ₀ as Figure 13.1 and w₀ = 0.
FIGURE_13_2_STEP_SIZE = 2.0**-13
FIGURE_13_2_STEP_SIZE_THETA = 2.0**-9
FIGURE_13_2_STEP_SIZE_W = 2.0**-6
_DIRECTION = np.array([-1.0, 1.0])  # ∇ log π = d · (−1, 1)


def _seed(seed: object) -> int | None:
    return None if seed is None else validate.integer("seed", seed, low=0)


def _actions(actions: ArrayLike) -> np.ndarray:
    a = validate.array("actions", actions, ndim=1)
    if a.size == 0:
        return a.astype(np.int64)
    if a.dtype.kind not in "iu":  # bools (rng.random() < p) and floats are not action numbers
        raise TypeError(f"actions must hold integers 0 (left) or 1 (right), got dtype {a.dtype}; "
                        "convert a boolean 'moved right' array with .astype(int)")
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"actions must hold 0 (left) or 1 (right), got values "
                         f"{np.unique(a)[:5].tolist()}")
    return a


def episode_update_with_baseline(theta: ArrayLike, w: float, actions: ArrayLike,
                                 rewards: ArrayLike, alpha: float, alpha_w: float,
                                 gamma: float = 1.0, discount_weighting: bool = True
                                 ) -> tuple[np.ndarray, float]:
    r"""One episode of the book's REINFORCE with baseline v̂(s, w) = w, written step by step.

    For t = 0 … T−1: δ_t = G_t − w_t; w_{t+1} = w_t + α_w δ_t; and θ moves by
    α γ^t δ_t ∇_θ log π_θ(a_t|s_t), every ∇log π taken at the θ that played the episode.
    With ``w = 0`` and ``alpha_w = 0`` this is plain REINFORCE (:func:`episode_update`).

    Args:
        theta: (θ_left, θ_right), shape (2,); the policy that played the episode.
        w: the baseline's weight at the start of the episode, finite.
        actions: shape (T,), integers, each 0 (left) or 1 (right).
        rewards: shape (T,), finite; ``rewards[t]`` is R_{t+1}.
        alpha: step size of θ, ≥ 0.
        alpha_w: step size of w, in [0, 1] (0 keeps the baseline fixed).
        gamma: discount factor in [0, 1].
        discount_weighting: keep Sutton & Barto's γ^t factor (True) or drop it, as most code does.

    Returns:
        ``(new θ of shape (2,), new w)``.
    """
    theta = exact._theta(theta)
    w = validate.number("w", w)
    a = _actions(actions)
    r = validate.array("rewards", rewards, ndim=1, dtype="float", finite=True)
    validate.same_shape(actions=a, rewards=r)
    alpha = validate.number("alpha", alpha, low=0.0)
    alpha_w = validate.number("alpha_w", alpha_w, low=0.0, high=1.0)
    gamma = validate.number("gamma", gamma, low=0.0, high=1.0)
    G = returns_lib.discounted_returns(r, gamma)
    discount_weighting = validate.flag("discount_weighting", discount_weighting)
    step = np.zeros(2)
    for t in range(r.size):
        delta = G[t] - w
        w += alpha_w * delta
        weight = gamma**t * delta if discount_weighting else delta
        step += weight * exact.grad_log_policy(theta, int(a[t]))
    return theta + alpha * step, w


def episode_update(theta: ArrayLike, actions: ArrayLike, rewards: ArrayLike, alpha: float,
                   gamma: float = 1.0, discount_weighting: bool = True) -> np.ndarray:
    r"""θ + α Σ_t γ^t G_t ∇_θ log π_θ(a_t|s_t) for one corridor episode (the direct form).

    Args:
        theta: (θ_left, θ_right), shape (2,); the policy that played the episode.
        actions: shape (T,), integers, each 0 (left) or 1 (right).
        rewards: shape (T,), finite; ``rewards[t]`` is R_{t+1}.
        alpha: step size, ≥ 0.
        gamma: discount factor in [0, 1].
        discount_weighting: keep Sutton & Barto's γ^t factor (True) or drop it, as most code does.

    Returns:
        The new θ, shape (2,).
    """
    return episode_update_with_baseline(theta, 0.0, actions, rewards, alpha, 0.0, gamma,
                                        discount_weighting)[0]


@dataclass
class Runs:
    """What :func:`simulate` returns; arrays are indexed (run, episode)."""

    returns: np.ndarray      #: (B, E) undiscounted total reward of each episode
    lengths: np.ndarray      #: (B, E) number of steps of each episode
    grads: np.ndarray        #: (B, E, 2) Σ_t γ^t (G_t − w_t) ∇log π_t of each episode (before α)
    grads_whole: np.ndarray  #: (B, E, 2) G_0 Σ_t ∇log π_t: every step weighted by the whole return
    theta: np.ndarray        #: (B, 2) θ after the last episode
    truncated: int           #: episodes cut at ``max_steps`` (their update uses what was seen)
    iterations: int          #: vectorised steps taken (the longest run's total steps)
    #: (B, E) the baseline's w at the start of each episode (all w₀ without a baseline)
    w_start: np.ndarray | None = None
    #: (B, E) the mean of w_t over each episode's steps (the baselines its steps used)
    w_mean: np.ndarray | None = None
    w: np.ndarray | None = None  #: (B,) w after the last episode (None without a baseline)


def simulate(theta0: ArrayLike, alphas: ArrayLike, n_episodes: int, gamma: float = 1.0,
             seed: int | None = 0, discount_weighting: bool = True,
             max_steps: int = SHORT_CORRIDOR_MAX_STEPS, baseline_alpha: float | None = None,
             w0: float = 0.0) -> Runs:
    """Run B independent REINFORCE learners on the short corridor for ``n_episodes`` each.

    Args:
        theta0: starting θ, shape (2,) (shared) or (B, 2), finite.
        alphas: step size of each run (α_θ with a baseline), shape (B,), each ≥ 0; 0 samples
            episodes without learning θ.
        n_episodes: episodes per run, ≥ 1.
        gamma: discount factor in (0, 1].
        seed: seed (≥ 0) of the NumPy generator that samples the actions, or None.
        discount_weighting: keep the γ^t factor of Sutton & Barto's update.
        max_steps: an episode that reaches this many steps is cut (truncated) there, ≥ 1.
        baseline_alpha: None for plain REINFORCE; otherwise the step size α_w in [0, 1] of the
            book's baseline v̂(s, w) = w (0 keeps the baseline fixed at ``w0``).
        w0: the baseline's starting weight (ignored without a baseline).
    """
    alpha = validate.array("alphas", alphas, ndim=1, dtype="float", finite=True, low=0.0)
    if alpha.size == 0:
        raise ValueError("alphas must hold at least one step size, got an empty array")
    B = alpha.size
    theta0 = validate.array("theta0", theta0, dtype="float", finite=True)
    if theta0.shape not in ((2,), (B, 2)):
        raise ValueError(f"theta0 must have shape (2,) or (len(alphas), 2) = ({B}, 2), "
                         f"got {theta0.shape}")
    theta = np.array(np.broadcast_to(theta0, (B, 2)))
    E = validate.integer("n_episodes", n_episodes, low=1)
    gamma = validate.number("gamma", gamma, low=0.0, high=1.0, low_open=True)
    discount_weighting = validate.flag("discount_weighting", discount_weighting)
    max_steps = validate.integer("max_steps", max_steps, low=1)
    with_baseline = baseline_alpha is not None
    if with_baseline:
        alpha_w = validate.number("baseline_alpha", baseline_alpha, low=0.0, high=1.0)
    w0 = validate.number("w0", w0)
    rng = np.random.default_rng(_seed(seed))
    rows = np.arange(B)

    out_return = np.zeros((B, E))
    out_length = np.zeros((B, E), dtype=np.int64)
    out_grad = np.zeros((B, E))
    out_whole = np.zeros((B, E))
    out_w_start = np.full((B, E), w0)
    out_w_mean = np.full((B, E), w0)

    def p_right(th):  # π(right) = σ(θ_right − θ_left) for every run
        return numpy_policy.sigmoid(th[:, 1] - th[:, 0])

    p = p_right(theta)
    state = np.full(B, START)
    episode = np.zeros(B, dtype=np.int64)
    t = np.zeros(B, dtype=np.int64)
    psi_sum = np.zeros(B)  # Ψ = Σ ψ_t (right component); also the trace with the γ^t factor
    trace = np.zeros(B)    # z_k = γ z_{k-1} + ψ_k, for the update without the γ^t factor
    grad = np.zeros(B)     # Σ_k (γ^k) r_k (Ψ_k or z_k)
    discount = np.ones(B)  # γ^k
    g0 = np.zeros(B)       # G_0 = Σ_k γ^k r_k
    total = np.zeros(B)    # Σ_k r_k
    if with_baseline:  # see "The baseline, online" in the module's docstring
        beta = 1.0 - alpha_w
        w = np.full(B, w0)         # w at the start of the episode
        beta_t = np.ones(B)        # β^t
        A = np.zeros(B)            # A_t
        C_prev = np.zeros(B)       # C_{t-1}
        b_direct = np.zeros(B)     # Σ_t c_t ψ_t a_t
        y = np.zeros(B)            # y_k = γ y_{k-1} + c_k b_k ψ_k
        b_future = np.zeros(B)     # Σ_k r_k y_k = Σ_t c_t ψ_t b_t G_t
        w_direct = np.zeros(B)     # Σ_t a_t
        yb = np.zeros(B)           # trace of b_t
        w_future = np.zeros(B)     # Σ_t b_t G_t
    truncated = iterations = 0
    while episode.min() < E:
        iterations += 1
        right = rng.random(B) < p
        psi = right - p
        psi_sum += psi
        if with_baseline:  # w_t = a_t + b_t G_t: a_t and b_t are known now, G_t is not
            a_t = beta_t * w + alpha_w * A
            b_t = alpha_w * gamma * C_prev
            c_t = discount if discount_weighting else 1.0
            b_direct += c_t * psi * a_t
            y = gamma * y + c_t * b_t * psi
            w_direct += a_t
            yb = gamma * yb + b_t
        state, reward, terminated = _step_batch(state, right)
        if with_baseline:
            b_future += reward * y
            w_future += reward * yb
            C_prev = beta * gamma * C_prev + 1.0  # now C_t
            A = beta * A + reward * C_prev
            beta_t *= beta
        if discount_weighting:
            grad += discount * reward * psi_sum
        else:
            trace = gamma * trace + psi
            grad += reward * trace
        g0 += discount * reward
        total += reward
        discount *= gamma
        t += 1
        done = terminated | (t >= max_steps)
        if not done.any():
            continue
        d = rows[done]
        if with_baseline:
            grad[d] -= b_direct[d] + b_future[d]
            w_mean = (w_direct[d] + w_future[d]) / t[d]
            w_start = w[d].copy()
            w[d] = beta_t[d] * w[d] + alpha_w * A[d]  # w_T = a_T (G_T = 0)
            for acc in (A, C_prev, b_direct, y, b_future, w_direct, yb, w_future):
                acc[d] = 0.0
            beta_t[d] = 1.0
        record = episode[d] < E
        r_rows, ep = d[record], episode[d[record]]
        out_return[r_rows, ep] = total[r_rows]
        out_length[r_rows, ep] = t[r_rows]
        out_grad[r_rows, ep] = grad[r_rows]
        out_whole[r_rows, ep] = g0[r_rows] * psi_sum[r_rows]
        if with_baseline:
            out_w_start[r_rows, ep] = w_start[record]
            out_w_mean[r_rows, ep] = w_mean[record]
        truncated += int(np.count_nonzero(~terminated[r_rows]))
        theta[d] += (alpha[d] * grad[d])[:, None] * _DIRECTION
        p[d] = p_right(theta[d])
        episode[d] += 1
        state[d] = START
        t[d] = 0
        for acc in (psi_sum, trace, grad, g0, total):
            acc[d] = 0.0
        discount[d] = 1.0
    return Runs(out_return, out_length, out_grad[..., None] * _DIRECTION,
                out_whole[..., None] * _DIRECTION, theta, truncated, iterations,
                out_w_start, out_w_mean, w.copy() if with_baseline else None)


def learning_curves(step_sizes: ArrayLike = FIGURE_13_1_STEP_SIZES, n_runs: int = 100,
                    n_episodes: int = 1000, theta0: ArrayLike = FIGURE_13_1_THETA0,
                    gamma: float = 1.0, seed: int | None = 0,
                    baseline_alpha: float | None = None) -> np.ndarray:
    """Figures 13.1 and 13.2: total reward per episode, shape (len(step_sizes), n_runs, n_episodes).

    ``step_sizes`` are positive (α_θ with a baseline); ``baseline_alpha`` (α_w in [0, 1], or None
    for plain REINFORCE) is passed to :func:`simulate`, as are the other arguments.
    """
    sizes = validate.array("step_sizes", step_sizes, ndim=(0, 1), dtype="float",
                           finite=True).reshape(-1)
    if sizes.size == 0 or not np.all(sizes > 0):
        raise ValueError(f"step_sizes must be positive numbers, got {sizes.tolist()}")
    n_runs = validate.integer("n_runs", n_runs, low=1)
    n_episodes = validate.integer("n_episodes", n_episodes, low=1)
    runs = simulate(theta0, np.repeat(sizes, n_runs), n_episodes, gamma, seed,
                    baseline_alpha=baseline_alpha)
    return runs.returns.reshape(sizes.size, n_runs, n_episodes)


def gradient_estimates(theta: ArrayLike, n: int, gamma: float = 1.0, seed: int | None = 0,
                       discount_weighting: bool = True, baseline: float | None = None) -> Runs:
    """n independent episodes of π_θ (no learning); ``grads`` holds each episode's estimate of ∇J.

    Every per-episode estimate is unbiased (with ``discount_weighting``), so their mean converges
    to ``exact.grad_J(theta, gamma)`` with standard error std/√n. ``baseline``: a fixed number b
    subtracted from every G_t (unbiased too: the score has mean zero), or None. Returns
    :class:`Runs` with B = n runs of one episode each.
    """
    theta = exact._theta(theta)  # named here: simulate would call it theta0
    n = validate.integer("n", n, low=1)
    if baseline is None:
        return simulate(theta, np.zeros(n), 1, gamma, seed, discount_weighting)
    b = validate.number("baseline", baseline)
    return simulate(theta, np.zeros(n), 1, gamma, seed, discount_weighting,
                    baseline_alpha=0.0, w0=b)
