r"""The short corridor solved exactly: J(θ) = v_π(s₀) from the Bellman equations, and ∇J(θ).

Taught in 01_update_equation. The policy is the book's softmax over action preferences
h(s, a, θ) = θᵀx(s, a) with the same features in every state, x(s, LEFT) = (1, 0) and
x(s, RIGHT) = (0, 1), so θ = (θ_left, θ_right) and

.. math:: \pi_\theta(a \mid s) = \frac{e^{\theta_a}}{e^{\theta_{\rm left}}
          + e^{\theta_{\rm right}}},
          \qquad p = \pi_\theta({\rm right}) = \sigma(\theta_{\rm right} - \theta_{\rm left}).

(The book writes x(s, right) = (1, 0); here θ[a] is the preference of action a, which matches the
environment's action numbers.) For γ = 1 the Bellman equations give the closed form
J = -2 (2 - p) / (p (1 - p)), largest at p* = 2 - √2 with v*(s₀) ≈ -11.66.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from rlcourse import numpy_policy
from rlcourse.envs.short_corridor import N_STATES, NEXT_STATE, REWARD_PER_STEP, START

N_ACTIONS = 2
#: FEATURES[a] = x(s, a), the same for every state s.
FEATURES = np.eye(N_ACTIONS)


def _theta(theta: ArrayLike) -> np.ndarray:
    t = np.asarray(theta, dtype=np.float64)
    if t.shape != (N_ACTIONS,):
        raise ValueError(f"theta must have shape (2,) = (θ_left, θ_right), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"theta must be finite, got {t}")
    return t


def _gamma(gamma: float) -> float:
    g = float(gamma)
    if not 0.0 < g <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    return g


def policy(theta: ArrayLike) -> np.ndarray:
    """π_θ(·|s), the same in every state: softmax of the preferences θᵀx(s, a), shape (2,)."""
    return numpy_policy.softmax(_theta(theta))


def prob_right(theta: ArrayLike) -> float:
    """p = π_θ(right | s), the same in every state."""
    return float(policy(theta)[1])


def theta_for(p_right: float) -> np.ndarray:
    """The θ = (-ℓ/2, ℓ/2), ℓ = log(p / (1 - p)), whose policy moves right with probability p."""
    p = _prob(p_right, "p_right")
    logit = np.log(p) - np.log1p(-p)
    return np.array([-logit / 2, logit / 2])


def grad_log_policy(theta: ArrayLike, action: int) -> np.ndarray:
    r"""∇_θ log π_θ(a|s) = x(s, a) - Σ_b π_θ(b|s) x(s, b), shape (2,) (book, eq. 13.9)."""
    if action not in (0, 1):
        raise ValueError(f"action must be 0 (left) or 1 (right), got {action!r}")
    return FEATURES[action] - policy(theta) @ FEATURES


def _prob(p: float, name: str) -> float:
    p = float(p)
    if not 0.0 < p < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {p!r}")
    return p


def _transitions(p: float) -> tuple[np.ndarray, np.ndarray]:
    """P_a[s, s'] among non-terminal states for each action, shape (2, 3, 3); and P_π = Σ π P_a."""
    P_a = np.zeros((N_ACTIONS, N_STATES, N_STATES))
    for s in range(N_STATES):
        for a in range(N_ACTIONS):
            s_next = NEXT_STATE[s, a]
            if s_next < N_STATES:  # the goal is absorbing with value 0: leave it out
                P_a[a, s, s_next] = 1.0
    return P_a, (1 - p) * P_a[0] + p * P_a[1]


def values_of_p(p_right: float, gamma: float = 1.0) -> np.ndarray:
    r"""v_π(s) for s = 0, 1, 2 when π moves right with probability p: solves (I - γP_π) v = r_π."""
    p, g = _prob(p_right, "p_right"), _gamma(gamma)
    _, P = _transitions(p)
    return np.linalg.solve(np.eye(N_STATES) - g * P, np.full(N_STATES, REWARD_PER_STEP))


def state_values(theta: ArrayLike, gamma: float = 1.0) -> np.ndarray:
    """v_π(s) for the three non-terminal states under π_θ, shape (3,)."""
    return values_of_p(prob_right(theta), gamma)


def J(theta: ArrayLike, gamma: float = 1.0) -> float:
    """J(θ) = v_{π_θ}(s₀), the expected (discounted) return from the start state."""
    return float(state_values(theta, gamma)[START])


def grad_J(theta: ArrayLike, gamma: float = 1.0) -> np.ndarray:
    r"""∇_θ J(θ) exactly, shape (2,), by differentiating the Bellman equations.

    From (I - γP_π) v = r (r does not depend on θ here):

    .. math:: (I - \gamma P_\pi)\,\frac{\partial v}{\partial p} = \gamma\,(P_{\rm right} -
              P_{\rm left})\, v, \qquad \nabla_\theta J = \frac{\partial v(s_0)}{\partial p}\,
              \nabla_\theta p, \qquad \nabla_\theta p = p(1-p)\,(-1, 1).
    """
    t, g = _theta(theta), _gamma(gamma)
    p = prob_right(t)
    P_a, P = _transitions(p)
    A = np.eye(N_STATES) - g * P
    v = np.linalg.solve(A, np.full(N_STATES, REWARD_PER_STEP))
    dv_dp = np.linalg.solve(A, g * (P_a[1] - P_a[0]) @ v)
    return dv_dp[START] * p * (1 - p) * np.array([-1.0, 1.0])


def J_closed_form(p_right: ArrayLike) -> np.ndarray:
    """J = -2 (2 - p) / (p (1 - p)) for γ = 1 (vectorised over p); used to check :func:`J`."""
    p = np.asarray(p_right, dtype=np.float64)
    return -2.0 * (2.0 - p) / (p * (1.0 - p))


def optimum(gamma: float = 1.0, tol: float = 1e-12) -> tuple[float, float]:
    """(p*, v*(s₀)): the best probability of moving right and its value, by golden-section search.

    J is unimodal in p (for γ = 1, p* = 2 - √2 ≈ 0.5858 and v*(s₀) ≈ -11.657).
    """
    g = _gamma(gamma)
    lo, hi = 1e-9, 1 - 1e-9
    ratio = (np.sqrt(5.0) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = values_of_p(a, g)[START], values_of_p(b, g)[START]
    while hi - lo > tol:
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = values_of_p(b, g)[START]
        else:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = values_of_p(a, g)[START]
    p_star = (lo + hi) / 2
    return p_star, float(values_of_p(p_star, g)[START])
