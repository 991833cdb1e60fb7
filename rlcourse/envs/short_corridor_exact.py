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

from rlcourse import numpy_policy, validate
from rlcourse.envs.short_corridor import N_STATES, NEXT_STATE, REWARD_PER_STEP, START

N_ACTIONS = 2
#: FEATURES[a] = x(s, a), the same for every state s.
FEATURES = np.eye(N_ACTIONS)


def _theta(theta: ArrayLike) -> np.ndarray:
    t = validate.array("theta", theta, dtype="float", finite=True)
    if t.shape != (N_ACTIONS,):
        raise ValueError(f"theta must have shape (2,) = (θ_left, θ_right), got shape {t.shape}")
    return t


def _gamma(gamma: float) -> float:
    # γ = 0 is refused: the corridor's values would all be -1, and nothing could be learned
    return validate.number("gamma", gamma, low=0.0, high=1.0, low_open=True)


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
    r"""∇_θ log π_θ(a|s) = x(s, a) - Σ_b π_θ(b|s) x(s, b), shape (2,) (book, eq. 13.9).

    ``action`` is an integer, 0 (left) or 1 (right). A boolean such as ``rng.random() < p`` is
    refused: NumPy reads a boolean index as a mask, which would return shape (1, 2) or (0, 2).
    """
    a = validate.integer("action", action, low=0, high=N_ACTIONS - 1)
    return FEATURES[a] - policy(theta) @ FEATURES


def _prob(p: float, name: str) -> float:
    # p = 0 or 1 never reaches the goal from every state: the values are -inf
    return validate.number(name, p, low=0.0, high=1.0, low_open=True, high_open=True)


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


def q_values(p_right: float, gamma: float = 1.0) -> np.ndarray:
    """q_π(s, a) = r + γ v_π(s') for s = 0, 1, 2 and a = left, right, shape (3, 2).

    The goal's value is 0, so an action that reaches it is worth exactly the step's reward.
    """
    p, g = _prob(p_right, "p_right"), _gamma(gamma)
    v_next = np.append(values_of_p(p, g), 0.0)[NEXT_STATE]  # v(s') with v(goal) = 0
    return REWARD_PER_STEP + g * v_next


def state_visits(p_right: float, gamma: float = 1.0) -> np.ndarray:
    r"""η(s) = Σ_t γ^t Pr(S_t = s | S_0 = s₀): the (discounted) expected visits, shape (3,).

    Row s₀ of (I - γP_π)⁻¹, found by solving (I - γP_π)ᵀ η = e_{s₀}. With γ = 1 it counts the
    expected visits to each state in one episode, and Σ_s η(s) = E[T], the expected length.
    """
    p, g = _prob(p_right, "p_right"), _gamma(gamma)
    _, P = _transitions(p)
    return np.linalg.solve((np.eye(N_STATES) - g * P).T, np.eye(N_STATES)[START])


def expected_update(theta: ArrayLike, gamma: float = 1.0,
                    discount_weighting: bool = True) -> np.ndarray:
    r"""E[Σ_t w_t G_t ∇_θ log π_θ(A_t|S_t)] exactly, shape (2,), with w_t = γ^t or 1.

    By the policy gradient theorem (Sutton & Barto, eqs. 13.5-13.8), since E[G_t | S_t, A_t] =
    q_π(S_t, A_t):

    .. math:: \mathbb{E}\Big[\sum_t w_t G_t\,\nabla\log\pi(A_t|S_t)\Big]
              = \sum_s \eta(s) \sum_a q_\pi(s, a)\,\nabla_\theta \pi_\theta(a|s),

    with η the visits discounted by γ^t when ``discount_weighting`` (then this is ∇J, the same
    as :func:`grad_J`) and the undiscounted visits otherwise: the mean update of the REINFORCE
    that drops γ^t, which is not the gradient of J when γ < 1.
    """
    t, g = _theta(theta), _gamma(gamma)
    discount_weighting = validate.flag("discount_weighting", discount_weighting)
    pi = policy(t)
    q = q_values(pi[1], g)
    eta = state_visits(pi[1], g if discount_weighting else 1.0)
    # Σ_a q(s,a) ∇π(a|s) with ∇π(a|s) = π(a)(e_a - π): π_L π_R (q(s,R) - q(s,L)) (-1, 1)
    per_state = pi[0] * pi[1] * (q[:, 1] - q[:, 0])
    return float(eta @ per_state) * np.array([-1.0, 1.0])


def fixed_point(gamma: float = 1.0, discount_weighting: bool = True,
                tol: float = 1e-12) -> float:
    """The probability of moving right p at which :func:`expected_update` vanishes, by bisection.

    With ``discount_weighting`` it is the optimum of J (the p of :func:`optimum`); without it,
    and γ < 1, the update without γ^t settles elsewhere: its fixed point moves. ``tol`` is the
    final width of the bracket on p, in [1e-14, 0.1].
    """
    g, tol = _gamma(gamma), _tol(tol)

    def right(p: float) -> float:
        return float(expected_update(theta_for(p), g, discount_weighting)[1])

    lo, hi = 1e-6, 1 - 1e-6
    f_lo, f_hi = right(lo), right(hi)
    if not (f_lo > 0 > f_hi):  # the corridor's update pushes p up when small, down when large
        raise RuntimeError(f"no sign change of the expected update on [{lo}, {hi}] "
                           f"(gamma = {g}): {f_lo:g}, {f_hi:g}")
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if right(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def J_closed_form(p_right: ArrayLike) -> np.ndarray:
    """J = -2 (2 - p) / (p (1 - p)) for γ = 1 (vectorised over p); used to check :func:`J`."""
    p = validate.array("p_right", p_right, dtype="float", finite=True)
    if p.size and not ((p > 0) & (p < 1)).all():
        raise ValueError(f"p_right must be strictly between 0 and 1, got values from "
                         f"{p.min():g} to {p.max():g}")
    return -2.0 * (2.0 - p) / (p * (1.0 - p))


def _tol(tol: float) -> float:
    # below ~1e-14 the bracket around p ≈ 0.6 stops shrinking (float64 spacing is 1.1e-16 there,
    # and the search keeps a few ulps), so the loop would never end
    return validate.number("tol", tol, low=1e-14, high=0.1)


def optimum(gamma: float = 1.0, tol: float = 1e-12) -> tuple[float, float]:
    """(p*, v*(s₀)): the best probability of moving right and its value, by golden-section search.

    J is unimodal in p (for γ = 1, p* = 2 - √2 ≈ 0.5858 and v*(s₀) ≈ -11.657). ``tol`` (the
    final width of the bracket on p) must lie in [1e-14, 0.1].
    """
    g = _gamma(gamma)
    tol = _tol(tol)
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
