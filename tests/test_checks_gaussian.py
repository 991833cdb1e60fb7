"""The checks of 04_gaussian_policies_gpu: correct answers pass, typical mistakes are named."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import Normal

from rlcourse.checks import gaussian as check
from rlcourse.checks.feedback import ExerciseFailed, ExerciseNotImplemented
from rlcourse.envs import pendulum

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# -- 1. log-density --------------------------------------------------------------------------
def log_prob_written_out(a, mu, log_std):
    return (-(a - mu) ** 2 / (2 * torch.exp(2 * log_std)) - log_std - HALF_LOG_2PI).sum(-1)


def log_prob_with_normal(a, mu, log_std):  # a correct alternative
    return Normal(mu, log_std.exp()).log_prob(a).sum(dim=1)


def test_log_prob_accepts_correct_answers():
    assert check.check_gaussian_log_prob(log_prob_written_out)
    assert check.check_gaussian_log_prob(log_prob_with_normal)


def test_log_prob_accepts_a_missing_constant_with_a_note():
    fb = check.check_gaussian_log_prob(
        lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(2 * ls)) - ls).sum(-1))
    assert fb and "½ log 2π" in fb.message and "gradient" in fb.message


@pytest.mark.parametrize("wrong, message", [
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(2 * ls)) - HALF_LOG_2PI).sum(-1),
     "−log σ term is missing"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(ls)) - ls - HALF_LOG_2PI).sum(-1),
     "σ is used where σ² belongs"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(ls))).sum(-1),  # σ for σ², no log σ
     "σ is used where σ² belongs"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(2 * ls)) - torch.exp(ls)
                        - HALF_LOG_2PI).sum(-1), "σ is used where log σ belongs"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(2 * ls)) - torch.exp(ls)).sum(-1),
     "σ is used where log σ belongs"),  # and the constant left out
    (lambda a, mu, ls: log_prob_written_out(a, mu, ls) / a.shape[1], "averaged"),
    (lambda a, mu, ls: Normal(mu, ls.exp()).log_prob(a).mean(-1), "averaged"),
    (lambda a, mu, ls: Normal(mu, ls.exp()).log_prob(a), "sum them"),
    (lambda a, mu, ls: torch.tensor(log_prob_written_out(a, mu, ls).tolist()),
     "carries no gradient"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / torch.exp(2 * ls) - ls - HALF_LOG_2PI).sum(-1),
     "½ is missing from the exponent"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(2 * ls)) + ls - HALF_LOG_2PI).sum(-1),
     "log σ term has the wrong sign"),
    (lambda a, mu, ls: (-(a - mu) ** 2 / (2 * torch.exp(2 * ls)) - 2 * ls).sum(-1),
     "log σ² is used where log σ belongs"),
    (lambda a, mu, ls: log_prob_written_out(a, mu, ls) - HALF_LOG_2PI * a.shape[1],  # −log 2π
     "constant term is wrong"),
])
def test_log_prob_names_typical_mistakes(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_gaussian_log_prob(wrong)


def test_log_prob_unfinished_and_crashing_answers():
    def unfinished(a, mu, ls):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotImplemented):
        check.check_gaussian_log_prob(unfinished)
    with pytest.raises(ExerciseFailed, match="raised ZeroDivisionError"):
        check.check_gaussian_log_prob(lambda a, mu, ls: 1 / 0)


# -- 2. the module ---------------------------------------------------------------------------
class GoodPolicy(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden=32):
        super().__init__()
        self.mean_net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(),
                                      nn.Linear(hidden, act_dim))
        self.log_std = nn.Parameter(torch.zeros(act_dim))

    def forward(self, obs):
        return Normal(self.mean_net(obs), torch.exp(self.log_std))


class PlainTensorLogStd(GoodPolicy):
    def __init__(self, obs_dim, act_dim):
        super().__init__(obs_dim, act_dim)
        del self.log_std
        self.log_std = torch.zeros(act_dim)


class LogStdAsScale(GoodPolicy):
    def forward(self, obs):
        return Normal(self.mean_net(obs), self.log_std)


class VarianceAsScale(GoodPolicy):
    def forward(self, obs):
        return Normal(self.mean_net(obs), torch.exp(2 * self.log_std))


class DetachedStd(GoodPolicy):
    def forward(self, obs):
        return Normal(self.mean_net(obs), torch.exp(self.log_std).detach())


def test_policy_module_accepts_correct_answers():
    assert check.check_policy_module(GoodPolicy)



def test_the_packages_own_module_earns_no_points():
    def course_policy(obs_dim, act_dim):  # right, but it is the course's implementation
        from rlcourse.gaussian_policy import GaussianPolicy

        return GaussianPolicy(obs_dim, act_dim, (16,))

    with pytest.raises(ExerciseFailed, match=r"course's own implementation \(`gaussian_policy"):
        check.check_policy_module(course_policy)


@pytest.mark.parametrize("wrong, message", [
    (PlainTensorLogStd, "not an nn.Parameter"),
    (LogStdAsScale, "passed log σ itself as the scale"),
    (VarianceAsScale, "passed the variance σ²"),
    (DetachedStd, "no gradient reaches `log_std`"),
])
def test_policy_module_names_typical_mistakes(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_policy_module(wrong)


# -- 3. the loss ------------------------------------------------------------------------------
def loss_ok(dist, a, adv):  # sum over each episode's steps, mean over the N episodes
    return -(dist.log_prob(a).sum(-1) * adv).sum(0).mean()


def test_loss_accepts_correct_answers():
    assert check.check_reinforce_loss(loss_ok)
    assert check.check_reinforce_loss(
        lambda dist, a, adv: -torch.einsum("tn,tn->", dist.log_prob(a).sum(-1), adv)
        / adv.shape[1])


@pytest.mark.parametrize("wrong, message", [
    (lambda dist, a, adv: loss_ok(dist, a.clamp(-2, 2), adv), "clipped action"),
    (lambda dist, a, adv: -(dist.log_prob(a).mean(-1) * adv).sum(0).mean(), "averaged"),
    (lambda dist, a, adv: -(dist.log_prob(a) * adv[..., None]).mean(), "averaged"),
    (lambda dist, a, adv: -loss_ok(dist, a, adv), "sign is flipped"),
    (lambda dist, a, adv: -(dist.log_prob(a).sum(-1).exp() * adv).sum(0).mean(),
     "π is used where log π belongs"),
    (lambda dist, a, adv: -(dist.log_prob(a).sum(-1) * adv), "one number"),
])
def test_loss_names_typical_mistakes(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_reinforce_loss(wrong)


@pytest.mark.parametrize("wrong, words", [
    (lambda dist, a, adv: -(dist.log_prob(a).sum(-1) * adv).mean(),  # the mean over all steps
     ["this is the mean over all steps and episodes", "4× smaller"]),  # first case: T = 4
    (lambda dist, a, adv: -(dist.log_prob(a).sum(-1) * adv).sum(),  # no 1/N
     ["sums over the episodes too", "3× larger"]),  # first case: N = 3
    (lambda dist, a, adv: -(dist.log_prob(a).sum(-1) * adv).mean(0).sum(),  # mean over steps
     ["averages over each episode's steps and sums over the episodes", "N/T (here 3/4)"]),
])
def test_loss_names_other_reductions_as_conventions(wrong, words):
    """A check never calls the other reduction wrong: it names it and the factor."""
    with pytest.raises(ExerciseFailed) as err:
        check.check_reinforce_loss(wrong)
    text = str(err.value)
    for w in [*words, "the course's convention", "The direction is the same"]:
        assert w in text
    assert "mistake" not in text and "wrong" not in text


# -- 4. on a device -------------------------------------------------------------------------
def collect_good(policy, num_envs, steps, device):
    policy = policy.to(device)
    env = pendulum.BatchedPendulum(num_envs, device=device)
    obs, _ = env.reset(seed=0)
    observations = torch.empty(steps, num_envs, 3, device=device)
    actions = torch.empty(steps, num_envs, 1, device=device)
    rewards = torch.empty(steps, num_envs, device=device)
    with torch.no_grad():
        for t in range(steps):
            observations[t] = obs
            actions[t] = policy(obs).sample()
            obs, rewards[t], _, _, _ = env.step(actions[t])
    return observations, actions, rewards


def collect_with_lists(policy, num_envs, steps, device):  # a correct alternative
    policy.to(device)
    env = pendulum.BatchedPendulum(num_envs, device=device)
    obs, _ = env.reset(seed=0)
    observations, actions, rewards = [], [], []
    with torch.no_grad():
        for _ in range(steps):
            a = policy(obs).sample()
            observations.append(obs)
            actions.append(a)
            obs, r, _, _, _ = env.step(a)
            rewards.append(r)
    return torch.stack(observations), torch.stack(actions), torch.stack(rewards)


def test_collect_accepts_correct_answers():
    assert check.check_collect_on_device(collect_good)
    assert check.check_collect_on_device(collect_with_lists)


def _buffers_on_cpu(policy, num_envs, steps, device):
    policy = policy.to(device)
    env = pendulum.BatchedPendulum(num_envs, device=device)
    obs, _ = env.reset(seed=0)
    observations = torch.empty(steps, num_envs, 3)  # no device=
    actions = torch.empty(steps, num_envs, 1)
    rewards = torch.empty(steps, num_envs)
    with torch.no_grad():
        for t in range(steps):
            observations[t] = obs
            actions[t] = policy(obs).sample()
            obs, rewards[t], _, _, _ = env.step(actions[t].to(device))
    return observations, actions, rewards


def _policy_not_moved(policy, num_envs, steps, device):
    env = pendulum.BatchedPendulum(num_envs, device=device)
    obs, _ = env.reset(seed=0)
    out = ([], [], [])
    with torch.no_grad():
        for _ in range(steps):
            a = policy(obs).sample()
            out[0].append(obs)
            out[1].append(a)
            obs, r, _, _, _ = env.step(a)
            out[2].append(r)
    return tuple(torch.stack(x) for x in out)


def _returned_on_cpu(policy, num_envs, steps, device):
    return tuple(x.cpu() for x in collect_good(policy, num_envs, steps, device))


def _new_tensor_on_cpu(policy, num_envs, steps, device):
    o, a, r = collect_good(policy, num_envs, steps, device)
    return o, a, torch.zeros(r.shape) if device.type == "meta" else r


def _collect_choosing(choose):
    """A collection that stores ``choose(π(·|s))`` as the action (a wrong one, below)."""

    def collect(policy, num_envs, steps, device):
        policy = policy.to(device)
        env = pendulum.BatchedPendulum(num_envs, device=device)
        obs, _ = env.reset(seed=0)
        out = ([], [], [])
        with torch.no_grad():
            for _ in range(steps):
                a = choose(policy(obs))
                out[0].append(obs)
                out[1].append(a)
                obs, r, _, _, _ = env.step(a)
                out[2].append(r)
        return tuple(torch.stack(x) for x in out)

    return collect


_clipped_actions = _collect_choosing(lambda dist: dist.sample().clamp(-2, 2))
_mean_actions = _collect_choosing(lambda dist: dist.mean)  # WRONG: the mean, not a sample


def _next_obs_stored(policy, num_envs, steps, device):
    o, a, r = collect_good(policy, num_envs, steps + 1, device)
    return o[1:], a[:-1], r[:-1]


# samples, but from N(μ, (σ/10)²)
_std_shrunk = _collect_choosing(lambda d: d.mean + 0.1 * d.stddev * torch.randn_like(d.mean))


@pytest.mark.parametrize("wrong, message", [
    (_mean_actions, "mean action μ\\(s\\), not samples"),
    (_std_shrunk, "do not look like samples"),
    (_buffers_on_cpu, "created on the CPU"),
    (_returned_on_cpu, "moved there"),
    (_policy_not_moved, "different devices"),
    (_new_tensor_on_cpu, "not on the device passed in"),
    (_clipped_actions, "clipped"),
    (_next_obs_stored, "observation \\*after\\* actions\\[0\\] was taken"),
])
def test_collect_names_typical_mistakes(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_collect_on_device(wrong)


def test_checks_leave_the_global_random_stream_alone(keeps_torch_rng):
    keeps_torch_rng(lambda: (check.check_policy_module(GoodPolicy),
                             check.check_collect_on_device(collect_good)))
