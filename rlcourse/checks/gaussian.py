"""Checks for the exercises of 04_gaussian_policies_gpu: Gaussian log-density, policy module,
REINFORCE loss, and an episode collected on a device.

Each check names the typical mistake it recognises: a missing log σ term, σ where log σ or σ²
belongs, log-probabilities averaged instead of summed over action dimensions, log π of the
clipped action, the mean action stored instead of a sample, tensors on the wrong device. A
missing ½ log 2π is accepted, with a note.

The loss follows the course's batch reduction (docs/conventions.md §3): the sum over the steps
of an episode, the mean over the episodes of a batch; an answer that reduces another way is
told which convention it used and by how much its step differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.distributions import Normal

from rlcourse.checks.feedback import (
    Exercise,
    Feedback,
    _time_limit,
    close,
    diagnose,
    fmt,
    keeps_global_rng,
)
from rlcourse.envs import pendulum
from rlcourse.gaussian_policy import LOG_2PI, GaussianPolicy, gaussian_log_prob

HALF_LOG_2PI = 0.5 * LOG_2PI


def _call(ex: Exercise, fn: Callable, *args: Any, case: str | None = None,
          hints: dict[str, str] | None = None) -> Any:
    """``Exercise.call`` without copying the arguments: modules and distributions do not
    compare by value."""
    return ex.call(fn, *args, case=case, copy_inputs=False, hints=hints)


def _cases(seed: int = 0):
    """(actions, mean, log_std) triples in float64: d = 1, 2, 3 action dimensions."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for batch, d in ((4, 1), (5, 2), (3, 3)):
        mean = torch.randn(batch, d, generator=g, dtype=torch.float64)
        log_std = torch.linspace(-0.7, 0.6, d, dtype=torch.float64)
        actions = mean + 1.5 * torch.randn(batch, d, generator=g, dtype=torch.float64)
        out.append((actions, mean, log_std))
    return out


# -- 1. the log-density by hand ------------------------------------------------------------
def check_gaussian_log_prob(gaussian_log_prob_fn: Callable) -> Feedback:
    """``gaussian_log_prob(actions (B, d), mean (B, d), log_std (d,)) -> (B,)`` in torch."""
    ex = Exercise("gaussian_log_prob")
    constant_missing = False
    for actions, mean, log_std in _cases():
        b, d = actions.shape
        case = f"actions {tuple(actions.shape)}, log_std = {fmt(log_std)}"
        m, ls = mean.clone().requires_grad_(), log_std.clone().requires_grad_()
        out = _call(ex, gaussian_log_prob_fn, actions.clone(), m, ls, case=case)
        if isinstance(out, torch.Tensor) and tuple(out.shape) == (b, d):
            ex.fail("you returned one log-density per action dimension, shape (B, d); the "
                    "dimensions are independent, so sum them: `.sum(-1)` gives shape (B,)", case)
        got = ex.as_array(out, shape=(b,), case=case, what="the log-density")
        want = gaussian_log_prob(actions, mean, log_std).numpy()
        if close(got, want - d * -HALF_LOG_2PI, rtol=1e-6):
            constant_missing = True
        elif not close(got, want, rtol=1e-6):
            ex.fail(_diagnose_log_prob(got, actions, mean, log_std) or
                    f"expected {fmt(want)}, got {fmt(got)}", case)
        if not (isinstance(out, torch.Tensor) and out.requires_grad):
            ex.fail("the result carries no gradient: use torch operations throughout (no "
                    "`.numpy()`, `.item()`, `math.log` on tensors or `torch.no_grad()`), so that "
                    "backpropagation reaches μ and log σ", case)
        out.sum().backward()
        d_mu = ((actions - mean) / torch.exp(2 * log_std)).numpy()
        d_ls = ((actions - mean) ** 2 / torch.exp(2 * log_std) - 1).sum(0).numpy()
        if m.grad is None or not close(m.grad.numpy(), d_mu, rtol=1e-6):
            ex.fail("the gradient with respect to μ is not (a − μ)/σ²", case)
        if ls.grad is None or not close(ls.grad.numpy(), d_ls, rtol=1e-6):
            ex.fail("the gradient with respect to log σ is not (a − μ)²/σ² − 1", case)
    note = ""
    if constant_missing:
        note = (" Note: your log-density leaves out the constant −½ log 2π per dimension. "
                "That is fine for learning: a constant has zero gradient, so the policy-gradient "
                "step is the same; only the printed value of log π differs.")
    return ex.passed("correct for 1, 2 and 3 action dimensions, gradients included." + note)


def _diagnose_log_prob(got, actions, mean, log_std) -> str | None:
    d = actions.shape[1]
    sigma, diff = torch.exp(log_std), actions - mean

    def total(per_dim, with_constant=True):
        c = -HALF_LOG_2PI if with_constant else 0.0
        return (per_dim + c).sum(-1).numpy()

    # each mistake with and without the −½ log 2π constant (leaving it out is accepted)
    for c in (True, False):
        found = diagnose(got, {
            "the −log σ term is missing: the density's normaliser 1/(σ√(2π)) contributes "
            "−log σ per dimension (without it σ grows without bound)":
                total(-0.5 * (diff / sigma) ** 2, c),
            "σ is used where log σ belongs: the normaliser 1/(σ√(2π)) contributes −log σ per "
            "dimension, not −σ (log_std is already log σ: subtract it as it is)":
                total(-0.5 * (diff / sigma) ** 2 - sigma, c),
            "σ is used where σ² belongs: the exponent is −(a − μ)²/(2σ²)":
                total(-0.5 * diff**2 / sigma - log_std, c),
            "σ is used where σ² belongs (and the −log σ term is missing): the log-density is "
            "−(a − μ)²/(2σ²) − log σ − ½ log 2π":
                total(-0.5 * diff**2 / sigma, c),
            "log σ is used as if it were σ: the standard deviation is exp(log σ)":
                total(-0.5 * (diff / log_std) ** 2 - torch.log(log_std.abs()), c),
            "the square is missing from the exponent: it is −(a − μ)²/(2σ²)":
                total(-0.5 * diff / sigma**2 - log_std, c),
            "the log-densities of the action dimensions are averaged; for independent "
            "dimensions the joint log-density is their sum":
                total(-0.5 * (diff / sigma) ** 2 - log_std, c) / d if d > 1 else None,
            "the sign is flipped: the log-density is −½((a − μ)/σ)² − log σ − ½ log 2π":
                -total(-0.5 * (diff / sigma) ** 2 - log_std, c),
            "log σ² is used where log σ belongs: the normaliser 1/(σ√(2π)) contributes −log σ "
            "per dimension, not −2 log σ": total(-0.5 * (diff / sigma) ** 2 - 2 * log_std, c),
            "the ½ is missing from the exponent: it is −(a − μ)²/(2σ²), not −(a − μ)²/σ²":
                total(-(diff / sigma) ** 2 - log_std, c),
            "the log σ term has the wrong sign: the normaliser 1/(σ√(2π)) contributes −log σ "
            "per dimension, not +log σ": total(-0.5 * (diff / sigma) ** 2 + log_std, c),
        }, rtol=1e-6)
        if found:
            return found
    # a wrong constant: an offset that is the same for every row and a multiple of ½ log 2π
    # per dimension (log σ is shared by the rows, so a log σ mistake is checked above first)
    right = total(-0.5 * (diff / sigma) ** 2 - log_std, False)
    offset = np.asarray(got, dtype=np.float64) - right
    ratio = offset.flat[0] / (d * HALF_LOG_2PI)
    if (np.allclose(offset, offset.flat[0], rtol=0, atol=1e-9 * (1 + np.abs(right).max()))
            and abs(2 * ratio - round(2 * ratio)) < 1e-9):
        return (f"the constant term is wrong: your log-density differs from the right one by "
                f"{offset.flat[0]:.4g} per action, where the constant is −½ log 2π ≈ "
                f"{-HALF_LOG_2PI:.4f} per dimension (leaving it out is also accepted). A "
                "constant has no gradient, so the update would be the same, but this is not the "
                "log of the normal density")
    return None


# -- 2. the policy module --------------------------------------------------------------------
@keeps_global_rng
def check_policy_module(policy_class: type) -> Feedback:
    """``policy_class(obs_dim, act_dim)``: an ``nn.Module`` with a mean network and a
    state-independent ``log_std`` parameter; ``forward(obs (B, obs_dim))`` returns a
    ``torch.distributions.Normal`` of batch shape (B, act_dim)."""
    ex = Exercise("GaussianPolicy module")
    for obs_dim, act_dim in ((3, 1), (4, 2)):
        case = f"{getattr(policy_class, '__name__', 'policy')}(obs_dim={obs_dim}, act_dim={act_dim})"
        torch.manual_seed(0)
        policy = _call(ex, policy_class, obs_dim, act_dim, case=case)
        if not isinstance(policy, torch.nn.Module):
            ex.fail(f"expected an nn.Module, got {type(policy).__name__} (subclass nn.Module "
                    "and call super().__init__() first)", case)
        log_std = getattr(policy, "log_std", None)
        if log_std is None:
            ex.fail("the module has no attribute `log_std` (log σ, one per action dimension)", case)
        if not isinstance(log_std, torch.nn.Parameter):
            ex.fail("`log_std` is a plain tensor, not an nn.Parameter: the optimiser never sees "
                    "it, so σ is never learned. Wrap it: `nn.Parameter(torch.zeros(act_dim))`",
                    case)
        if tuple(log_std.shape) != (act_dim,):
            ex.fail(f"`log_std` has shape {tuple(log_std.shape)}; a state-independent log σ has "
                    f"one entry per action dimension: shape ({act_dim},)", case)
        if not torch.all(log_std.detach() == 0):
            ex.fail(f"`log_std` starts at {fmt(log_std)}; initialise it to zeros (σ = 1)", case)
        if all(p is not log_std for p in policy.parameters()):
            ex.fail("`log_std` is not among the module's parameters()", case)
        if sum(p.numel() for p in policy.parameters()) <= act_dim:
            ex.fail("the module has no mean network: μθ(s) must come from layers "
                    "(e.g. nn.Sequential of nn.Linear and nn.Tanh)", case)
        obs = torch.randn(6, obs_dim, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            log_std.copy_(torch.linspace(-1.0, 0.5, act_dim))
        dist = _call(ex, policy, obs, case=case + ", obs of shape (6, obs_dim)", hints={
            "constraint GreaterThan": "Normal received a negative scale with log_std = "
            f"{fmt(log_std)}: you passed log σ itself as the scale; σ = exp(log σ) is positive "
            "whatever log σ is"})
        if not isinstance(dist, Normal):
            ex.fail(f"forward should return a torch.distributions.Normal, got "
                    f"{type(dist).__name__}", case)
        if tuple(dist.mean.shape) != (6, act_dim):
            ex.fail(f"the mean has shape {tuple(dist.mean.shape)}, expected (6, {act_dim}): "
                    "one mean per observation and action dimension", case)
        scale = dist.stddev.detach().expand(6, act_dim)
        sigma = torch.exp(log_std.detach()).expand(6, act_dim)
        if not torch.allclose(scale, sigma):
            ls = log_std.detach()
            message = diagnose(scale.numpy(), {
                "you passed log σ itself as the scale; Normal takes σ = exp(log σ), which is "
                "positive whatever log σ is": ls.expand(6, act_dim).numpy(),
                "you passed the variance σ² as the scale; Normal takes the standard deviation "
                "σ = exp(log σ)": torch.exp(2 * ls).expand(6, act_dim).numpy(),
                "σ = exp(log σ / 2) treats log_std as a log-variance; here it is log σ, so "
                "σ = exp(log_std)": torch.exp(ls / 2).expand(6, act_dim).numpy(),
            })
            ex.fail(message or f"with log_std = {fmt(ls)} the scale should be exp(log_std) = "
                    f"{fmt(sigma[0])}, got {fmt(scale[0])}", case)
        if torch.allclose(dist.mean[0], dist.mean[1:]):
            ex.fail("the mean is the same for every observation: μθ(s) must depend on s", case)
        dist.log_prob(dist.mean.detach() + 0.5).sum().backward()
        if log_std.grad is None or not torch.any(log_std.grad != 0):
            ex.fail("no gradient reaches `log_std` from log_prob: build the Normal from "
                    "exp(self.log_std) without .detach(), .item() or torch.no_grad()", case)
        others = [p for p in policy.parameters() if p is not log_std]
        if any(p.grad is None for p in others):
            ex.fail("no gradient reaches the mean network from log_prob (a .detach() or "
                    "torch.no_grad() in forward?)", case)
    return ex.passed("an nn.Module with a mean network and a learned, state-independent log σ; "
                     "forward returns Normal(μθ(s), exp(log σ))")


# -- 3. the loss ---------------------------------------------------------------------------
def _mean_over_steps(steps: int) -> str:
    return ("this is the mean over all steps and episodes; the course's convention (notebook 01, "
            "'Conventions used in the whole course') is the sum over each episode's steps, "
            "averaged over the episodes: −(1/N) Σ_t Σ_n log π · A. The direction is the same; "
            f"the step is smaller by the episode length (here {steps}× smaller)")


def _sum_over_episodes(n: int) -> str:
    return ("this sums over the episodes too, with no division by their number N; the course's "
            "convention (notebook 01, 'Conventions used in the whole course') is the sum over "
            "each episode's steps, averaged over the episodes: −(1/N) Σ_t Σ_n log π · A. The "
            f"direction is the same; the step is larger by N (here {n}× larger)")


def check_reinforce_loss(reinforce_loss_fn: Callable) -> Feedback:
    """``reinforce_loss(dist, actions (T, N, d), advantages (T, N)) -> scalar`` whose gradient is
    minus the policy-gradient estimate: −(1/N) Σ_t Σ_n [Σ_j log π(a_tnj) · A_tn], ``dist`` of
    batch shape (T, N, d): N episodes of T steps."""
    ex = Exercise("reinforce_loss")
    g = torch.Generator().manual_seed(3)
    for steps, n, d in ((4, 3, 1), (3, 2, 2)):
        mean = torch.randn(steps, n, d, generator=g, dtype=torch.float64)
        log_std = torch.full((d,), 0.4, dtype=torch.float64)
        # sampled actions, some outside the env's bounds [-2, 2]: the env clips, the loss not
        actions = mean + torch.exp(log_std) * 2.5 * torch.randn(steps, n, d, generator=g,
                                                               dtype=torch.float64)
        actions[0, 0] = 3.0
        advantages = torch.randn(steps, n, generator=g, dtype=torch.float64)
        case = (f"T = {steps} steps of N = {n} episodes, d = {d}: actions {tuple(actions.shape)} "
                f"(some outside [-2, 2]), advantages {tuple(advantages.shape)} = {fmt(advantages)}")
        m, ls = mean.clone().requires_grad_(), log_std.clone().requires_grad_()
        dist = Normal(m, ls.exp().expand_as(m))
        out = _call(ex, reinforce_loss_fn, dist, actions.clone(), advantages.clone(), case=case)
        if isinstance(out, torch.Tensor) and out.numel() > 1:
            ex.fail(f"the loss has shape {tuple(out.shape)}; it must be one number (sum over "
                    "each episode's steps, then average over the episodes)", case)
        got = ex.as_array(out, case=case, what="the loss").reshape(())

        def loss(lp_of=actions, _m=mean, _ls=log_std, _adv=advantages, **variant):
            return _loss_variant(_m, _ls, lp_of, _adv, **variant)

        want = loss().numpy()
        if not close(got, want, rtol=1e-6):
            mistakes = {
                "log π is taken of the clipped action; take it of the action you sampled (the "
                "clip belongs to the environment, the policy's density is of its own sample)":
                    loss(lp_of=actions.clamp(-2.0, 2.0)),
                "the sign is flipped: the optimiser minimises, so the loss is −log π·A (minimising "
                "+log π·A descends on J)": loss(sign=1.0),
                "π is used where log π belongs": loss(fn=torch.exp),
                _mean_over_steps(steps): loss(batch_reduce="mean"),
                _sum_over_episodes(n): loss(batch_reduce="sum"),
                "this averages over each episode's steps and sums over the episodes, the reverse "
                "of the course's convention (notebook 01, 'Conventions used in the whole "
                "course'): the sum over each episode's steps, averaged over the episodes, "
                "−(1/N) Σ_t Σ_n log π · A. The direction is the same; the step differs by the "
                f"factor N/T (here {n}/{steps})": loss(batch_reduce="steps_mean"),
            }
            if d > 1:
                mistakes["the log-probs of the action dimensions are averaged; the log-density of "
                         "an action is their sum (`.sum(-1)`)"] = loss(reduce_dims="mean")
                mistakes["the log-probs of the action dimensions are averaged (and the batch "
                         "too); the log-density of an action is their sum (`.sum(-1)`), then "
                         "the sum over steps, the mean over episodes"] = loss(
                             reduce_dims="mean", batch_reduce="mean")
            ex.fail(diagnose(got, {k: v.numpy() for k, v in mistakes.items()}, rtol=1e-6)
                    or f"expected {float(want):.6g}, got {float(got):.6g}", case)
        if not (isinstance(out, torch.Tensor) and out.requires_grad):
            ex.fail("the loss carries no gradient: compute it with torch from dist.log_prob "
                    "(no .item(), .numpy() or torch.no_grad())", case)
        out.backward()
        ref_m, ref_ls = mean.clone().requires_grad_(), log_std.clone().requires_grad_()
        ref = -(Normal(ref_m, ref_ls.exp().expand_as(ref_m)).log_prob(actions).sum(-1)
                * advantages).sum() / n
        ref.backward()
        if not (close(m.grad.numpy(), ref_m.grad.numpy()) and
                close(ls.grad.numpy(), ref_ls.grad.numpy())):
            ex.fail("the loss has the right value but not the right gradient (were the "
                    "advantages or log-probs detached?)", case)
    return ex.passed("the value and the gradient match −(1/N) Σ_t Σ_n Σ_j log π(a_j)·A for 1 "
                     "and 2 action dimensions, with log π of the sampled, unclipped action")


def _loss_variant(mean, log_std, actions, advantages, reduce_dims="sum", sign=-1.0,
                  batch_reduce="episodes", fn=None):
    """The REINFORCE loss on (T, N, d), or one of its typical mistakes (for ``diagnose``):
    ``batch_reduce`` "episodes" (the course's: sum over steps, mean over the N episodes),
    "mean" (over all steps), "sum" (over everything) or "steps_mean" (mean over each episode's
    steps, sum over the episodes)."""
    lp = Normal(mean, log_std.exp().expand_as(mean)).log_prob(actions)
    lp = lp.sum(-1) if reduce_dims == "sum" else lp.mean(-1)
    terms = (fn(lp) if fn else lp) * advantages
    reduced = {"episodes": terms.sum() / terms.shape[1], "mean": terms.mean(),
               "sum": terms.sum(), "steps_mean": terms.mean(0).sum()}[batch_reduce]
    return sign * reduced


# -- 4. on a device --------------------------------------------------------------------------
@keeps_global_rng
def check_collect_on_device(collect_fn: Callable) -> Feedback:
    """``collect(policy, num_envs, steps, device) -> (observations (T, N, 3), actions (T, N, 1),
    rewards (T, N))``, everything on ``device``, the env reset with seed 0.

    Run once on the CPU (values are replayed through a fresh env and compared) and once on
    PyTorch's "meta" device, which holds shapes but no data: every tensor created without
    ``device=device`` lands on the CPU there and is caught, even on a machine without a GPU.
    The policy is a ``GaussianPolicy`` on the CPU with σ = e, so that many sampled actions fall
    outside [-2, 2].
    """

    def policy_factory() -> torch.nn.Module:
        return GaussianPolicy(3, 1, (16,), log_std_init=1.0)

    ex = Exercise("collect on a device")
    n, steps = 5, 7
    case = f"num_envs={n}, steps={steps}, device='cpu'"
    torch.manual_seed(0)
    policy = policy_factory()
    out = _call(ex, collect_fn, policy, n, steps, torch.device("cpu"), case=case)
    observations, actions, rewards = _three(ex, out, case)
    shapes = {"observations": (steps, n, 3), "actions": (steps, n, 1), "rewards": (steps, n)}
    for name, value in zip(shapes, (observations, actions, rewards)):
        ex.as_array(value, shape=shapes[name], case=case, what=name)
    env = pendulum.BatchedPendulum(n)
    obs, _ = env.reset(seed=0)
    after = pendulum.BatchedPendulum(n)
    after.reset(seed=0)
    after_first, *_ = after.step(actions[0].float())
    for t in range(steps):
        if not torch.allclose(observations[t].float(), obs, atol=1e-6):
            if t == 0 and torch.allclose(observations[0].float(), after_first, atol=1e-6):
                ex.fail("observations[0] is the observation *after* actions[0] was taken: store "
                        "the observation the action was chosen from, before `env.step`, so that "
                        "log π(a_t|s_t) pairs each action with its own state", case)
            first = "the first observation is not that of `env.reset(seed=0)`" if t == 0 else (
                f"observations[{t}] is not what the env returned after actions[{t - 1}] (store "
                "the observation the action was chosen from, before stepping)")
            ex.fail(first, case)
        obs, r, *_ = env.step(actions[t].float())
        if not torch.allclose(rewards[t].float(), r, atol=1e-5):
            ex.fail(f"rewards[{t}] is not the reward the env returned for actions[{t}]", case)
    with torch.no_grad():  # the policy the answer moved (nn.Module.to works in place)
        means = policy(observations.float().reshape(-1, 3)).mean.reshape(actions.shape)
    if torch.allclose(actions.float(), means, atol=1e-5):
        ex.fail("the stored actions are the policy's mean action μ(s), not samples: REINFORCE "
                "needs a ~ N(μ(s), σ²) (`policy(obs).sample()`), both to explore and because "
                "log π(a|s) of the mean action is the density's peak, whose gradient with "
                "respect to μ is zero", case)
    if (actions.abs() <= 2).all() and (actions.abs() == 2).any():
        ex.fail("the stored actions are clipped to [-2, 2]; store the sampled actions (the env "
                "clips them itself, and log π must be of the sampled action)", case)
    z = ((actions.float() - means) / policy.log_std.detach().exp()).flatten()
    if (actions.abs() <= 2).all() or z.std() < 0.5 or z.abs().mean() > 2:
        ex.fail(f"the stored actions do not look like samples of N(μ(s), σ²) with σ = e: "
                f"(a − μ)/σ should look standard normal, got mean {z.mean():.2f} and std "
                f"{z.std():.2f} over {z.numel()} actions. Store `policy(obs).sample()`", case)

    case = f"num_envs={n}, steps={steps}, device='meta' (shapes only, no data)"
    try:
        with _time_limit(ex.timeout_s):
            out = collect_fn(policy_factory(), n, steps, torch.device("meta"))
    except Exception as err:
        text = str(err)
        if "meta" in text and ("expected" in text.lower() or "same device" in text):
            hint = ("two tensors are on different devices: move the policy with "
                    "`policy.to(device)` and create the env with `device=device`")
        elif "meta" in text or isinstance(err, NotImplementedError):
            hint = ("data was copied between `device` and the CPU: a tensor was created on the CPU "
                    "(pass `device=device` to torch.zeros/torch.empty, or use "
                    "`obs.new_zeros(...)`) or moved there (.cpu(), .numpy(), .item(), .tolist())")
        else:
            hint = "it failed when asked to run on another device"
        ex.fail(f"{hint}. Your code raised {type(err).__name__}: {text.splitlines()[0]}", case)
    observations, actions, rewards = _three(ex, out, case)
    for name, value in zip(shapes, (observations, actions, rewards)):
        if not isinstance(value, torch.Tensor) or value.device.type != "meta":
            where = value.device if isinstance(value, torch.Tensor) else type(value).__name__
            ex.fail(f"{name} is on {where}, not on the device passed in: create it with "
                    "`device=device` (and do not call .cpu() inside the loop)", case)
    return ex.passed("correct values on the CPU, and every tensor stays on the device passed "
                     "in (checked on PyTorch's 'meta' device)")


def _three(ex: Exercise, out: Any, case: str) -> tuple[Any, Any, Any]:
    if not isinstance(out, tuple | list) or len(out) != 3:
        ex.fail("return a tuple (observations, actions, rewards)", case)
    return tuple(out)


