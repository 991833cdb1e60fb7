"""Checks for the exercises of 03_torch_cross_entropy: REINFORCE as return-weighted cross-entropy.

Each check runs the student's function on small fixed batches, compares value and gradient with
the reference of :mod:`rlcourse.torch_policy`, and names the typical mistakes: returns that carry
gradient, the minus sign dropped, probabilities where ``cross_entropy`` wants logits, the
log-probability of a re-sampled action, π where log π belongs, ``F.cross_entropy``'s default
reduction applied before the weighting, a baseline averaged over padding, G_0 where G_t belongs,
a missing ``zero_grad`` or ``step``, an entropy bonus with the wrong sign, dropout left on while
sampling.

The batch reduction follows the course's convention (docs/conventions.md §3): the sum over the
steps of an episode, the mean over the episodes of a batch. An answer that reduces another way
(the mean over all steps, or the sum over a batch's episodes) is told which convention it used
and by how much its step differs, never that its direction is wrong.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical

from rlcourse import returns as ret
from rlcourse.checks.feedback import Exercise, Feedback, close, diagnose, fmt, keeps_global_rng
from rlcourse.torch_policy import CategoricalPolicy, cross_entropy_loss

CONVENTION = ("the course's convention (notebook 01, 'Conventions used in the whole course') is "
              "the sum over each episode's steps, averaged over the episodes of a batch")
SIGN = ("the sign is flipped: minimising this loss would *descend* on J and make rewarded "
        "actions less likely. The loss is −Σ G_t log π(a_t|s_t) = Σ G_t · CE(logits_t, a_t)")
DEFAULT_REDUCTION = (
    'F.cross_entropy\'s default reduction="mean" averaged the cross-entropies *before* the '
    "weighting: every step then gets the same weight, the mean return, and the gradient no "
    "longer tells better actions from worse ones (with advantages of mean 0 it is exactly zero). "
    'Use reduction="none", multiply each step by its return, then sum')
PROBS = ("you passed probabilities where F.cross_entropy wants logits: it applies log-softmax "
         "itself, so softmax(logits) gets a second softmax. Pass the raw logits")
RESAMPLED = ("your result changes from call to call: it uses the log-probability of a freshly "
             "sampled action (dist.sample()) instead of the action that was taken (`actions`)")
CARRIES_GRAD = ("the returns carry gradient: the loss backpropagates into them (e.g. into a "
                "value network that produced them). They are constants in REINFORCE: use "
                "returns.detach()")
ENTROPY_SIGN = (
    "the entropy bonus has the wrong sign: you added β·H to the loss, which subtracts it from "
    "the objective, so minimising the loss *lowers* the entropy and the policy turns "
    "deterministic sooner. The objective is J + β·H, so the loss is surrogate − β·H")
DROPOUT = (
    "dropout was on while sampling: in train mode every forward pass drops a random 60% of the "
    "hidden units, so your actions come from a randomly thinned network each time (their "
    "frequencies match that mixture, not π(·|s) of the network). Sample with the policy in "
    "eval mode: policy.eval() before the forward pass")
CATEGORICAL_PROBS = ("Categorical(x) reads x as *probabilities* (its first argument is probs=): "
                     "logits are not probabilities. Write Categorical(logits=logits)")
LOSS_HINTS = {"Categorical(probs": CATEGORICAL_PROBS}


def mean_over_steps(steps_per_episode: float, one_episode: bool = True) -> str:
    """The message for an answer that takes the mean over all steps (the other convention)."""
    here = ("here one episode, so the sum over its steps" if one_episode else
            "Σ over all steps, divided by the number of episodes N")
    return (f'this is the mean over all steps (reduction="mean", or .mean() of the weighted '
            f"terms); {CONVENTION}: {here}. The direction is the same; the step is smaller by "
            f"the average episode length (here {steps_per_episode:g}× smaller)")


def sum_over_episodes(n_episodes: int) -> str:
    """The message for a batch summed over its episodes as well (no 1/N)."""
    return (f"this is the sum over all the batch's steps, with no division by the number of "
            f"episodes N; {CONVENTION}: divide by num_episodes. The direction is the same; the "
            f"step is larger by N (here {n_episodes}× larger)")


def _loss_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]]:
    g = torch.Generator().manual_seed(3)
    cases = []
    for b, a, positive in ((5, 3, False), (8, 2, False), (4, 3, True)):
        logits = torch.randn(b, a, generator=g, dtype=torch.float64) * 1.5
        if positive:  # all-positive logits: lets Categorical(logits) (read as probs) be named
            logits = logits.abs() + 0.1
        actions = torch.randint(0, a, (b,), generator=g)
        returns = torch.randn(b, generator=g, dtype=torch.float64) * 3 + 1
        cases.append((logits, actions, returns,
                      f"logits = {fmt(logits)}, actions = {fmt(actions)}, returns = {fmt(returns)}"))
    return cases


def _loss_mistakes(logits, actions, returns) -> dict[str, Callable]:
    ce = F.cross_entropy(logits, actions, reduction="none")
    probs = torch.softmax(logits, 1)
    idx = torch.arange(len(actions))
    return {
        SIGN: lambda: -(ce * returns).sum(),
        mean_over_steps(len(actions)): lambda: (ce * returns).mean(),
        DEFAULT_REDUCTION: lambda: ce.mean() * returns.sum(),
        DEFAULT_REDUCTION + " (and the weighted terms are averaged too)":
            lambda: ce.mean() * returns.mean(),
        PROBS: lambda: (F.cross_entropy(probs, actions, reduction="none") * returns).sum(),
        PROBS + " (and the sign is flipped)":
            lambda: -(F.cross_entropy(probs, actions, reduction="none") * returns).sum(),
        "you used π(a|s) where log π(a|s) belongs": lambda: -(probs[idx, actions] * returns).sum(),
        CATEGORICAL_PROBS:
            lambda: -(torch.log(logits[idx, actions] / logits.sum(1)) * returns).sum()
            if (logits > 0).all() else None,
        "you used the most probable action (argmax) instead of the action that was taken":
            lambda: (F.cross_entropy(logits, logits.argmax(1), reduction="none") * returns).sum(),
        "F.nll_loss expects log-probabilities and returns −input[a]; on raw logits it gives "
        "−z_a, not −log π(a|s). Use F.cross_entropy (which applies log_softmax itself) or "
        "F.nll_loss(F.log_softmax(logits, 1), actions, reduction=\"none\")":
            lambda: -(logits[idx, actions] * returns).sum(),
        "the returns are missing: each step's cross-entropy must be weighted by its return":
            lambda: ce.sum(),
    }


def _check_loss(ex: Exercise, fn: Callable) -> int:
    for logits, actions, returns, case in _loss_cases():
        want = cross_entropy_loss(logits, actions, returns)
        outs = []
        for seed in (0, 1):  # same inputs, two random seeds: a sampled action shows up here
            torch.manual_seed(seed)
            z = logits.clone().requires_grad_()
            out = ex.call(partial(fn, z, actions.clone(), returns.clone()), case=case,
                          hints=LOSS_HINTS)
            if not isinstance(out, torch.Tensor):
                ex.fail(f"return the loss as a torch tensor (got {type(out).__name__}): the "
                        "training step calls loss.backward() on it; no .item() or NumPy", case)
            got = ex.as_array(out, shape=(), case=case, what="the loss")
            outs.append((z, out, got))
        if not close(outs[0][2], outs[1][2]):
            ex.fail(RESAMPLED, case)
        z, out, got = outs[0]
        if not close(got, want.detach().numpy(), rtol=1e-6):
            mistakes = {m: (lambda f=f: (v.detach().numpy() if (v := f()) is not None else None))
                        for m, f in _loss_mistakes(logits, actions, returns).items()}
            ex.fail(diagnose(got, mistakes, rtol=1e-6) or
                    f"expected the loss {float(want):.6g}, got {float(got):.6g}", case)
        if not out.requires_grad:
            ex.fail("the loss has no gradient with respect to the logits: did you use .item(), "
                    ".detach(), .numpy() or torch.no_grad() on the way?", case)
        (grad,) = torch.autograd.grad(out, z)
        zz = logits.clone().requires_grad_()
        (want_grad,) = torch.autograd.grad(cross_entropy_loss(zz, actions, returns), zz)
        if not close(grad.numpy(), want_grad.numpy(), rtol=1e-6):
            ex.fail(f"the loss has the right value but a wrong gradient with respect to the "
                    f"logits: expected {fmt(want_grad)}, got {fmt(grad)}", case)
    # the returns as a tensor with gradient, as when a value network produced them
    logits, actions, returns, case = _loss_cases()[0]
    g = returns.clone().requires_grad_()
    out = ex.call(lambda: fn(logits.clone().requires_grad_(), actions.clone(), g),
                  case=case + " (returns.requires_grad=True)", hints=LOSS_HINTS)
    if isinstance(out, torch.Tensor) and out.requires_grad:
        (dg,) = torch.autograd.grad(out, g, allow_unused=True)
        if dg is not None and bool((dg != 0).any()):
            ex.fail(CARRIES_GRAD, case + " (returns.requires_grad=True)")
    return len(_loss_cases())


@keeps_global_rng
def check_reinforce_cross_entropy(reinforce_cross_entropy: Callable) -> Feedback:
    """``reinforce_cross_entropy(logits (B, A), actions (B,), returns (B,)) -> scalar tensor``:
    Σ_b G_b · CE(logits_b, a_b) with ``F.cross_entropy``, the B steps of one episode (so the
    course's reduction is the sum)."""
    ex = Exercise("reinforce_cross_entropy")
    n = _check_loss(ex, reinforce_cross_entropy)
    return ex.passed(f"value and gradient match on {n} batches; the returns stay constants")


@keeps_global_rng
def check_reinforce_log_prob(reinforce_log_prob: Callable) -> Feedback:
    """``reinforce_log_prob(logits, actions, returns) -> scalar tensor``: −Σ_b G_b log π(a_b|s_b)
    with ``torch.distributions.Categorical`` over the B steps of one episode; the same loss as the
    cross-entropy form."""
    ex = Exercise("reinforce_log_prob")
    n = _check_loss(ex, reinforce_log_prob)
    return ex.passed(f"value and gradient match on {n} batches: the same loss as the "
                     "cross-entropy form")


# --- reward-to-go with a per-step baseline ------------------------------------------------------

def _advantage_cases() -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(7)
    cases = []
    for lengths, gamma in (((3, 1, 4), 0.9), ((5, 5, 2, 4), 0.5), ((2,), 0.99)):
        T, N = max(lengths), len(lengths)
        mask = np.arange(T)[:, None] < np.array(lengths)[None]
        rewards = np.where(mask, rng.integers(-2, 4, size=(T, N)).astype(np.float64), 0.0)
        cases.append((rewards, mask, gamma))
    return cases


def advantages_reference(rewards: np.ndarray, mask: np.ndarray, gamma: float) -> np.ndarray:
    """A_t = G_t − b_t, b_t the mean of G_t over the episodes still running at t; 0 on padding."""
    g = ret.reward_to_go(rewards, gamma)
    return (g - ret.batch_mean_baseline(g, mask)) * mask


def check_advantages(advantages: Callable) -> Feedback:
    """``advantages(rewards (T, N), mask (T, N), gamma) -> (T, N)``: reward-to-go minus the
    per-step batch-mean baseline, zero on padding (one episode per column)."""
    ex = Exercise("advantages")
    for rewards, mask, gamma in _advantage_cases():
        case = f"rewards = {fmt(rewards)}, mask = {fmt(mask.astype(int))}, gamma = {gamma}"
        got = ex.as_array(ex.call(advantages, rewards, mask, gamma, case=case),
                          shape=rewards.shape, case=case, what="the advantages")
        want = advantages_reference(rewards, mask, gamma)
        if close(got, want):
            continue
        if not close(got * mask, got):
            ex.fail("the padding is not zero: steps after an episode's end (mask False) must "
                    "get advantage 0, or they would push the policy at states never visited", case)
        g = ret.reward_to_go(rewards, gamma)
        t = np.arange(rewards.shape[0])[:, None]
        from_start = np.cumsum(rewards * gamma**t, axis=0)
        whole = ret.whole_episode_returns(rewards, gamma)
        msg = diagnose(got, {
            "the baseline is averaged over padding too: b_t must be the mean over the episodes "
            "still running at step t (use the mask), not over all N columns":
                (g - g.mean(axis=1, keepdims=True)) * mask,
            "the baseline is missing: subtract b_t, the mean of G_t over the running episodes":
                g * mask,
            "you subtracted one mean for the whole batch; the exercise asks for b_t, the mean "
            "at each time step t": (g - ret.constant_baseline(g, mask)) * mask,
            "every step is weighted by G_0, the return of the whole episode, instead of the "
            "reward-to-go G_t": (whole - ret.batch_mean_baseline(whole, mask)) * mask,
            "the returns are summed from the start of the episode; the reward-to-go sums the "
            "rewards *after* step t": (from_start - ret.batch_mean_baseline(from_start, mask))
            * mask,
            "γ is missing (undiscounted reward-to-go)":
                advantages_reference(rewards, mask, 1.0),
            "you also standardised the advantages; this exercise asks for G_t − b_t only":
                ret.normalize(advantages_reference(rewards, mask, gamma), mask),
            "this includes the γ^t factor of 01's exact gradient; from 02 on the course drops it "
            "(see 01, 'dropping γ^t'), so the numbers differ by γ^t at step t":
                advantages_reference(rewards, mask, gamma) * gamma**t,
        })
        if msg is None and mask.sum() > 1:
            # an affine map of the right advantages over the real steps: standardised, any std
            x, y = want[mask], np.asarray(got, dtype=np.float64)[mask]
            slope, icpt = np.polyfit(x, y, 1)
            if close(slope * x + icpt, y) and not close(slope, 1.0):
                shift = f" {icpt:+.3g}" if abs(icpt) > 1e-9 * np.abs(y).max() else ""
                msg = (f"your advantages are {slope:.3g}·(G_t − b_t){shift} on the real steps: "
                       "you standardised them (or rescaled them). This exercise asks for "
                       "G_t − b_t only")
        ex.fail(msg or f"expected {fmt(want)}, got {fmt(got)}", case)
    return ex.passed(f"correct on {len(_advantage_cases())} padded batches")


# --- the training step --------------------------------------------------------------------------

def _step_setup(seed: int):
    torch.manual_seed(seed)
    policy = CategoricalPolicy(4, 2, hidden=(8,))
    g = torch.Generator().manual_seed(100 + seed)
    obs = torch.randn(6, 4, generator=g)
    actions = torch.randint(0, 2, (6,), generator=g)
    adv = torch.randn(6, generator=g) * 2
    return policy, obs, actions, adv


def _flat(policy) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in policy.parameters()]).double().numpy()


def _reference_steps(policy, batches, lr, n_episodes, variant=None):
    """Parameters after SGD steps on the batches (``variant`` names a typical mistake or the
    other reduction convention)."""
    policy = copy.deepcopy(policy)
    opt = torch.optim.SGD(policy.parameters(), lr=lr)
    for obs, actions, adv in batches:
        if variant != "no_zero_grad":
            opt.zero_grad()
        logits = policy(obs)
        if variant == "probs":
            logits = torch.softmax(logits, 1)
        ce = F.cross_entropy(logits, actions, reduction="none")
        loss = {"sign": -(ce * adv).sum() / n_episodes, "mean": (ce * adv).mean(),
                "sum": (ce * adv).sum(), "mean_ce": ce.mean() * adv.sum() / n_episodes,
                }.get(variant, (ce * adv).sum() / n_episodes)
        loss.backward()
        opt.step()
    return _flat(policy)


@keeps_global_rng
def check_train_step(train_step: Callable) -> Feedback:
    """``train_step(policy, optimizer, obs (B, D), actions (B,), advantages (B,), num_episodes)
    -> float``: one REINFORCE update on the B steps of ``num_episodes`` episodes (zero_grad; the
    return-weighted cross-entropy summed over the steps and divided by the number of episodes;
    backward; step); returns the loss. Checked with plain SGD, where the scale of the loss
    matters."""
    ex = Exercise("train_step")
    lr = 0.1
    for seed, n_ep in ((0, 2), (1, 3)):
        policy, obs, actions, adv = _step_setup(seed)
        second = _step_setup(seed + 10)[1:]
        case = (f"a 4-8-2 policy (seed {seed}), SGD(lr={lr}), B = 6 steps of num_episodes = "
                f"{n_ep} episodes, then a second batch")
        runs = []
        for torch_seed in (0, 1):
            p = copy.deepcopy(policy)
            opt = torch.optim.SGD(p.parameters(), lr=lr)
            a = adv.clone().requires_grad_()
            torch.manual_seed(torch_seed)
            out = ex.call(partial(train_step, p, opt, obs.clone(), actions.clone(), a, n_ep),
                          case=case)
            if a.grad is not None and bool((a.grad != 0).any()):
                ex.fail(CARRIES_GRAD.replace("returns", "advantages"), case)
            after_first = _flat(p)
            ex.call(partial(train_step, p, opt, *(x.clone() for x in second), n_ep), case=case)
            runs.append((out, after_first, _flat(p)))
        (out, after_first, after_second), other = runs[0], runs[1]
        if not close(after_first, other[1]) or not close(after_second, other[2]):
            ex.fail(RESAMPLED, case)
        start = _flat(policy)
        first = [(obs, actions, adv)]
        want_first = _reference_steps(policy, first, lr, n_ep)
        if close(after_first, start):
            ex.fail("the parameters did not change: call optimizer.step() after "
                    "loss.backward()", case)
        if not close(after_first, want_first, rtol=1e-5, atol=1e-7):
            msg = diagnose(after_first, {
                SIGN: partial(_reference_steps, policy, first, lr, n_ep, "sign"),
                mean_over_steps(len(actions) / n_ep, one_episode=False):
                    partial(_reference_steps, policy, first, lr, n_ep, "mean"),
                sum_over_episodes(n_ep): partial(_reference_steps, policy, first, lr, n_ep, "sum"),
                DEFAULT_REDUCTION: partial(_reference_steps, policy, first, lr, n_ep, "mean_ce"),
                PROBS: partial(_reference_steps, policy, first, lr, n_ep, "probs"),
            }, rtol=1e-5, atol=1e-7)
            ex.fail(msg or "the parameters after one step differ from one SGD step on "
                    "Σ_t A_t · CE(policy(obs_t), a_t) / num_episodes", case)
        batches = [(obs, actions, adv), second]
        if not close(after_second, _reference_steps(policy, batches, lr, n_ep),
                     rtol=1e-5, atol=1e-7):
            no_zero = _reference_steps(policy, batches, lr, n_ep, "no_zero_grad")
            if close(after_second, no_zero, rtol=1e-5, atol=1e-7):
                ex.fail("gradients accumulate from one call to the next: call "
                        "optimizer.zero_grad() before loss.backward()", case)
            ex.fail("the first step is right but the second is not", case)
        with torch.no_grad():
            loss = float(cross_entropy_loss(policy(obs), actions, adv)) / n_ep
        got = ex.as_array(out, shape=(), case=case, what="the returned loss")
        if not np.isclose(got, loss, rtol=1e-5):
            ex.fail(f"return the loss of the batch before the step ({loss:.6g}), got "
                    f"{float(got):.6g}", case)
    return ex.passed("parameters match SGD on the return-weighted cross-entropy (summed over "
                     "the steps, divided by the number of episodes) over two steps, for two "
                     "policies")


# --- the entropy bonus --------------------------------------------------------------------------

def entropy_bonus_reference(logits: torch.Tensor, actions: torch.Tensor,
                            advantages: torch.Tensor, beta: float) -> torch.Tensor:
    """surrogate − β·H for the B steps of one episode: −Σ_t A_t log π(a_t|s_t) − β Σ_t H(π(·|s_t))."""
    dist = Categorical(logits=logits)
    return -(dist.log_prob(actions) * advantages.detach()).sum() - beta * dist.entropy().sum()


def check_entropy_bonus_loss(entropy_bonus_loss: Callable) -> Feedback:
    """``entropy_bonus_loss(logits (B, A), actions (B,), advantages (B,), beta) -> scalar``:
    −Σ_t A_t log π(a_t|s_t) − β Σ_t H(π(·|s_t)) over the B steps of one episode (the bonus
    added to the objective J + β·H, so subtracted from the loss)."""
    ex = Exercise("entropy_bonus_loss")
    g = torch.Generator().manual_seed(11)
    for b, a, beta in ((5, 3, 0.1), (7, 2, 0.5)):
        logits = torch.randn(b, a, generator=g, dtype=torch.float64) * 1.5
        actions = torch.randint(0, a, (b,), generator=g)
        adv = torch.randn(b, generator=g, dtype=torch.float64)
        case = (f"logits = {fmt(logits)}, actions = {fmt(actions)}, advantages = {fmt(adv)}, "
                f"beta = {beta}")
        z = logits.clone().requires_grad_()
        out = ex.call(partial(entropy_bonus_loss, z, actions.clone(), adv.clone(), beta),
                      case=case)
        if not isinstance(out, torch.Tensor):
            ex.fail(f"return the loss as a torch tensor (got {type(out).__name__}): the "
                    "training step calls loss.backward() on it", case)
        got = ex.as_array(out, shape=(), case=case, what="the loss")
        want = entropy_bonus_reference(logits, actions, adv, beta)
        if not close(got, want.detach().numpy(), rtol=1e-6):
            dist = Categorical(logits=logits)
            surrogate = -(dist.log_prob(actions) * adv).sum()
            entropy = dist.entropy()
            ex.fail(diagnose(got, {
                ENTROPY_SIGN: surrogate + beta * entropy.sum(),
                SIGN: -surrogate - beta * entropy.sum(),
                "the entropy is averaged over the steps while the surrogate is summed: the "
                "course reduces both the same way (the sum over an episode's steps), so here "
                f"the bonus is {b}× too small next to the surrogate":
                    surrogate - beta * entropy.mean(),
                mean_over_steps(b) + " (both terms)": (surrogate - beta * entropy.sum()) / b,
                "the bonus uses −log π(a_t|s_t) of the action taken, a one-sample estimate of "
                "the entropy whose gradient is not ∇H; use dist.entropy(), the exact entropy of "
                "each step's distribution": surrogate - beta * (-dist.log_prob(actions)).sum(),
                "the entropy bonus is missing: subtract β·Σ_t H(π(·|s_t)) from the surrogate":
                    surrogate,
                "β is missing: the bonus is β·H, not H": surrogate - entropy.sum(),
            }, rtol=1e-6) or f"expected the loss {float(want):.6g}, got {float(got):.6g}", case)
        if not out.requires_grad:
            ex.fail("the loss has no gradient with respect to the logits: did you use .item(), "
                    ".detach() or torch.no_grad() on the way?", case)
        (grad,) = torch.autograd.grad(out, z)
        zz = logits.clone().requires_grad_()
        (want_grad,) = torch.autograd.grad(entropy_bonus_reference(zz, actions, adv, beta), zz)
        if not close(grad.numpy(), want_grad.numpy(), rtol=1e-6):
            ex.fail("the loss has the right value but a wrong gradient with respect to the "
                    "logits (is the entropy detached?)", case)
    return ex.passed("value and gradient match surrogate − β·Σ_t H(π(·|s_t)) on 2 episodes: "
                     "the bonus raises the entropy")


# --- train/eval mode: dropout while sampling ---------------------------------------------------

def _dropout_policy() -> nn.Sequential:
    """A 4-32-2 policy with dropout p = 0.6 after its hidden layer, in train mode, whose
    eval-mode probabilities at :data:`_DROPOUT_STATES` are far from 0.5."""
    g = torch.Generator().manual_seed(5)
    net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Dropout(0.6), nn.Linear(32, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.6)
    return net.train()


_DROPOUT_STATES = torch.tensor([[0.0, 0.0, 0.05, 0.3], [0.0, 0.0, -0.05, -0.3],
                                [1.0, -0.5, 0.0, 0.2]])
_DRAWS = 4000  # per state: a standard error of at most 0.008 on a frequency


def _mode_probs(net: nn.Module, train: bool, passes: int = 1) -> torch.Tensor:
    """P(action 1 | state) of ``net`` in eval mode, or averaged over ``passes`` dropout masks."""
    net.train(train)
    with torch.no_grad():
        x = _DROPOUT_STATES.repeat(passes, 1)
        p = torch.softmax(net(x), dim=1)[:, 1].reshape(passes, -1).mean(0)
    return p


def check_sample_actions(sample_actions: Callable) -> Feedback:
    """``sample_actions(policy, obs (B, 4)) -> actions (B,)``: one action per row, sampled
    (``Categorical``) from the network's distribution with dropout off (``policy.eval()``).

    The policy has dropout p = 0.6 and is handed over in train mode; the frequencies of 4000
    draws per state are compared with the eval-mode probabilities and with the train-mode
    mixture (dropout on), which differ by far more than the sampling error.
    """
    ex = Exercise("sample_actions")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = _dropout_policy()
        p_eval = _mode_probs(net, train=False)
        p_train = _mode_probs(net, train=True, passes=20_000)
        net.train()
        obs = _DROPOUT_STATES.repeat_interleave(_DRAWS, dim=0)  # (3 · 4000, 4)
        case = (f"a 4-32-2 policy with nn.Dropout(0.6), in train mode; 3 states, {_DRAWS} rows "
                "each")
        out = ex.call(sample_actions, net, obs.clone(), case=case, copy_inputs=False)
    actions = ex.as_array(out, shape=(len(obs),), case=case, what="the actions", kind="int")
    if not np.isin(actions, (0, 1)).all():
        ex.fail(f"the actions should be 0 or 1 (indices of the two actions), got values "
                f"{fmt(np.unique(actions))}", case)
    freq = actions.reshape(3, _DRAWS).mean(axis=1)
    pe, pt = p_eval.numpy().astype(np.float64), p_train.numpy().astype(np.float64)
    tol = 4 * np.sqrt(pe * (1 - pe) / _DRAWS) + 1e-3
    if np.all(np.abs(freq - pe) <= tol):
        return ex.passed(f"frequencies {fmt(freq)} match π(action 1|s) = {fmt(pe)} of the "
                         "network with dropout off")
    greedy = (pe > 0.5).astype(np.float64)
    if close(freq, greedy):
        ex.fail("every row got the most probable action: that is the argmax, not a sample; "
                "draw with Categorical(logits=policy(obs)).sample()", case)
    with torch.no_grad():
        net.eval()
        z = net(_DROPOUT_STATES)
        p_twice = torch.softmax(torch.softmax(z, 1), 1)[:, 1].numpy().astype(np.float64)
    if np.all(np.abs(freq - p_twice) <= 4 * np.sqrt(p_twice * (1 - p_twice) / _DRAWS) + 1e-3):
        ex.fail(f"the frequencies of action 1, {fmt(freq)}, match softmax(softmax(logits)) = "
                f"{fmt(p_twice)}: probabilities were passed as logits "
                "(Categorical(logits=softmax(z)) applies a second softmax). Pass the raw logits: "
                "Categorical(logits=policy(obs))", case)
    tol_t = 4 * np.sqrt(pt * (1 - pt) / _DRAWS) + 1e-3
    if np.all(np.abs(freq - pt) <= tol_t):
        ex.fail(DROPOUT + f". Frequencies of action 1: {fmt(freq)}; with dropout on "
                f"(the mixture) {fmt(pt)}; with dropout off π = {fmt(pe)}", case)
    ex.fail(f"the frequencies of action 1, {fmt(freq)}, do not match the policy's π(action 1|s) "
            f"= {fmt(pe)} (dropout off): sample with Categorical(logits=policy(obs)) in eval "
            "mode", case)
