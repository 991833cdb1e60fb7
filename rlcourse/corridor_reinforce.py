r"""REINFORCE on the short corridor, many independent runs at once in NumPy (01_update_equation).

Reproduces Sutton & Barto's Figure 13.1 in seconds and estimates the policy gradient from many
sampled episodes. Every run plays its own episodes; all runs advance one step per iteration, and
a run whose episode ends applies its update and starts the next episode at once (no run waits
for the slowest one).

With the book's features (the same in every state, one-hot per action),
∇_θ log π_θ(a|s) = e_a − π_θ = (−d, d) with d = 1[a = right] − p, so one number per run carries
the whole gradient. The update of one episode,

.. math:: \Delta\theta = \alpha \sum_{t=0}^{T-1} \gamma^t G_t \nabla_\theta\log\pi_\theta(a_t|s_t),
          \qquad G_t = \sum_{k=t}^{T-1}\gamma^{k-t} r_k \quad (r_k = R_{k+1}),

is accumulated online by swapping the two sums (each reward is credited to the actions before it,
which is exactly causality):

.. math:: \sum_t \gamma^t G_t \psi_t = \sum_k \gamma^k r_k \Psi_k,\qquad
          \Psi_k = \sum_{t\le k}\psi_t,

and without the γ^t factor, Σ_t G_t ψ_t = Σ_k r_k z_k with the trace z_k = γ z_{k−1} + ψ_k.
All of θ is used as it was at the start of the episode; :func:`episode_update` is the same update
written directly from the returns, and the tests hold the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rlcourse import numpy_policy
from rlcourse import returns as returns_lib
from rlcourse.envs import SHORT_CORRIDOR_MAX_STEPS
from rlcourse.envs import short_corridor_exact as exact
from rlcourse.envs.short_corridor import START, step_batch

#: θ of the book's Figure 13.1 runs: π(right) = 0.05, so J(θ₀) ≈ -82.1 (a near "ε-greedy left").
FIGURE_13_1_THETA0 = exact.theta_for(0.05)
FIGURE_13_1_STEP_SIZES = (2.0**-12, 2.0**-13, 2.0**-14)
_DIRECTION = np.array([-1.0, 1.0])  # ∇ log π = d · (−1, 1)


def episode_update(theta: ArrayLike, actions: ArrayLike, rewards: ArrayLike, alpha: float,
                   gamma: float = 1.0, discount_weighting: bool = True) -> np.ndarray:
    r"""θ + α Σ_t γ^t G_t ∇_θ log π_θ(a_t|s_t) for one corridor episode (the direct form).

    Args:
        theta: (θ_left, θ_right), shape (2,); the policy that played the episode.
        actions: shape (T,), each 0 (left) or 1 (right).
        rewards: shape (T,); ``rewards[t]`` is R_{t+1}.
        alpha: step size, ≥ 0.
        gamma: discount factor in [0, 1].
        discount_weighting: keep Sutton & Barto's γ^t factor (True) or drop it, as most code does.

    Returns:
        The new θ, shape (2,).
    """
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (2,):
        raise ValueError(f"theta must have shape (2,) = (θ_left, θ_right), got {theta.shape}")
    a = np.asarray(actions)
    r = np.asarray(rewards, dtype=np.float64)
    if a.ndim != 1 or r.shape != a.shape:
        raise ValueError(f"actions and rewards must be 1-D of the same length, got shapes "
                         f"{a.shape} and {r.shape}")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError("actions must hold 0 (left) or 1 (right)")
    if float(alpha) < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    G = returns_lib.discounted_returns(r, gamma)
    weights = G * gamma ** np.arange(r.size) if discount_weighting else G
    grads = np.array([exact.grad_log_policy(theta, int(at)) for at in a]).reshape(-1, 2)
    return theta + float(alpha) * weights @ grads


@dataclass
class Runs:
    """What :func:`simulate` returns; arrays are indexed (run, episode)."""

    returns: np.ndarray      #: (B, E) undiscounted total reward of each episode
    lengths: np.ndarray      #: (B, E) number of steps of each episode
    grads: np.ndarray        #: (B, E, 2) Σ_t γ^t G_t ∇log π_t of each episode (before α)
    grads_whole: np.ndarray  #: (B, E, 2) G_0 Σ_t ∇log π_t: every step weighted by the whole return
    theta: np.ndarray        #: (B, 2) θ after the last episode
    truncated: int           #: episodes cut at ``max_steps`` (their update uses what was seen)
    iterations: int          #: vectorised steps taken (the longest run's total steps)


def simulate(theta0: ArrayLike, alphas: ArrayLike, n_episodes: int, gamma: float = 1.0,
             seed: int | None = 0, discount_weighting: bool = True,
             max_steps: int = SHORT_CORRIDOR_MAX_STEPS) -> Runs:
    """Run B independent REINFORCE learners on the short corridor for ``n_episodes`` each.

    Args:
        theta0: starting θ, shape (2,) (shared) or (B, 2).
        alphas: step size of each run, shape (B,); 0 samples episodes without learning.
        n_episodes: episodes per run, ≥ 1.
        gamma: discount factor in (0, 1].
        seed: seed of the NumPy generator that samples the actions.
        discount_weighting: keep the γ^t factor of Sutton & Barto's update.
        max_steps: an episode that reaches this many steps is cut (truncated) there.
    """
    alpha = np.asarray(alphas, dtype=np.float64)
    if alpha.ndim != 1 or alpha.size == 0 or not np.all(alpha >= 0):
        raise ValueError(f"alphas must be a non-empty 1-D array of step sizes >= 0, got {alphas!r}")
    B = alpha.size
    theta0 = np.asarray(theta0, dtype=np.float64)
    if theta0.shape not in ((2,), (B, 2)):
        raise ValueError(f"theta0 must have shape (2,) or (len(alphas), 2) = ({B}, 2), "
                         f"got {theta0.shape}")
    if not np.all(np.isfinite(theta0)):
        raise ValueError("theta0 must be finite")
    theta = np.array(np.broadcast_to(theta0, (B, 2)))
    if int(n_episodes) < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes!r}")
    if not 0.0 < float(gamma) <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    E, gamma = int(n_episodes), float(gamma)
    rng = np.random.default_rng(seed)
    rows = np.arange(B)

    out_return = np.zeros((B, E))
    out_length = np.zeros((B, E), dtype=np.int64)
    out_grad = np.zeros((B, E))
    out_whole = np.zeros((B, E))

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
    truncated = iterations = 0
    while episode.min() < E:
        iterations += 1
        right = rng.random(B) < p
        psi = right - p
        psi_sum += psi
        state, reward, terminated = step_batch(state, right)
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
        record = d[episode[d] < E]
        ep = episode[record]
        out_return[record, ep] = total[record]
        out_length[record, ep] = t[record]
        out_grad[record, ep] = grad[record]
        out_whole[record, ep] = g0[record] * psi_sum[record]
        truncated += int(np.count_nonzero(~terminated[record]))
        theta[d] += (alpha[d] * grad[d])[:, None] * _DIRECTION
        p[d] = p_right(theta[d])
        episode[d] += 1
        state[d] = START
        t[d] = 0
        for acc in (psi_sum, trace, grad, g0, total):
            acc[d] = 0.0
        discount[d] = 1.0
    return Runs(out_return, out_length, out_grad[..., None] * _DIRECTION,
                out_whole[..., None] * _DIRECTION, theta, truncated, iterations)


def learning_curves(step_sizes: ArrayLike = FIGURE_13_1_STEP_SIZES, n_runs: int = 100,
                    n_episodes: int = 1000, theta0: ArrayLike = FIGURE_13_1_THETA0,
                    gamma: float = 1.0, seed: int | None = 0) -> np.ndarray:
    """Figure 13.1: total reward per episode, shape (len(step_sizes), n_runs, n_episodes)."""
    sizes = np.asarray(step_sizes, dtype=np.float64).reshape(-1)
    if sizes.size == 0 or not np.all(sizes > 0):
        raise ValueError(f"step_sizes must be positive numbers, got {step_sizes!r}")
    if int(n_runs) < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs!r}")
    runs = simulate(theta0, np.repeat(sizes, int(n_runs)), n_episodes, gamma, seed)
    return runs.returns.reshape(sizes.size, int(n_runs), int(n_episodes))


def gradient_estimates(theta: ArrayLike, n: int, gamma: float = 1.0, seed: int | None = 0,
                       discount_weighting: bool = True) -> Runs:
    """n independent episodes of π_θ (no learning); ``grads`` holds each episode's estimate of ∇J.

    Every per-episode estimate is unbiased, so their mean converges to ``exact.grad_J(theta)``
    with standard error std/√n. Returns :class:`Runs` with B = n runs of one episode each.
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    return simulate(theta, np.zeros(int(n)), 1, gamma, seed, discount_weighting)
