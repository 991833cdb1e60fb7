"""The checks of 03_torch_cross_entropy accept correct answers and name the typical mistakes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Categorical

from rlcourse import returns
from rlcourse.checks import torch_cross_entropy as check
from rlcourse.checks.feedback import ExerciseFailed, ExerciseNotImplemented

# --- exercises 1 and 2: the loss ----------------------------------------------------------------


def ce_ok(logits, actions, G):
    return (F.cross_entropy(logits, actions, reduction="none") * G.detach()).sum()


def logprob_ok(logits, actions, G):
    return -(Categorical(logits=logits).log_prob(actions) * G.detach()).sum()


def nll_ok(logits, actions, G):  # another correct form: NLL of log-softmax, weighted
    return (F.nll_loss(torch.log_softmax(logits, 1), actions, reduction="none") * G.detach()).sum()


@pytest.mark.parametrize("fn", [ce_ok, logprob_ok, nll_ok])
def test_loss_checks_accept_correct_forms(fn):
    assert check.check_reinforce_cross_entropy(fn)
    assert check.check_reinforce_log_prob(fn)


LOSS_MISTAKES = [
    (lambda z, a, G: (F.cross_entropy(z, a, reduction="mean") * G).sum(),
     "default reduction=\"mean\" averaged the cross-entropies \\*before\\* the weighting"),
    (lambda z, a, G: (F.cross_entropy(z, a) * G.detach()).mean(), "averaged too"),
    (lambda z, a, G: (F.cross_entropy(z, a, reduction="none") * G).sum(), "carry gradient"),
    (lambda z, a, G: (Categorical(logits=z).log_prob(a) * G.detach()).sum(), "sign is flipped"),
    (lambda z, a, G: (F.cross_entropy(torch.softmax(z, 1), a, reduction="none")
                      * G.detach()).sum(), "probabilities where F.cross_entropy wants logits"),
    (lambda z, a, G: -(Categorical(logits=z).log_prob(Categorical(logits=z).sample())
                       * G.detach()).sum(), "freshly sampled action"),
    # the message, not the quoted source line of the answer that raised, must name it
    (lambda z, a, G: -(Categorical(z).log_prob(a) * G.detach()).sum(),
     "reads x as \\*probabilities\\*"),
    (lambda z, a, G: -(torch.softmax(z, 1)[torch.arange(len(a)), a] * G.detach()).sum(),
     "π\\(a\\|s\\) where log π"),
    (lambda z, a, G: ce_ok(z, a, G).detach(), "no gradient"),
    (lambda z, a, G: ce_ok(z, a, G).item(), "torch tensor"),
    (lambda z, a, G: (F.nll_loss(z, a, reduction="none") * G.detach()).sum(),
     "F.nll_loss expects log-probabilities"),
]


def test_loss_checks_name_the_other_reduction_as_a_convention():
    """The mean over all steps is the other convention, not a wrong direction: the check says
    so, names the course's convention, and gives the factor (one episode of B steps: B)."""
    def mean_over_steps(z, a, G):
        return (F.cross_entropy(z, a, reduction="none") * G.detach()).mean()

    for check_fn in (check.check_reinforce_cross_entropy, check.check_reinforce_log_prob):
        with pytest.raises(ExerciseFailed) as err:
            check_fn(mean_over_steps)
        text = str(err.value)
        assert "this is the mean over all steps" in text
        assert "the course's convention" in text and "sum over each episode's steps" in text
        assert "The direction is the same" in text and "5× smaller" in text  # first case: B = 5
        assert "mistake" not in text and "wrong" not in text


@pytest.mark.parametrize("fn, message", LOSS_MISTAKES)
def test_loss_checks_name_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_reinforce_cross_entropy(fn)


def test_unfinished_exercise():
    def stub(logits, actions, G):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotImplemented):
        check.check_reinforce_log_prob(stub)


# --- exercise 3: advantages ---------------------------------------------------------------------


def adv_ok(rewards, mask, gamma):
    T, N = rewards.shape
    G = np.zeros((T + 1, N))
    for t in reversed(range(T)):
        G[t] = rewards[t] + gamma * G[t + 1]
    G = G[:-1]
    b = (G * mask).sum(1, keepdims=True) / np.maximum(mask.sum(1, keepdims=True), 1)
    return (G - b) * mask


def adv_torch(rewards, mask, gamma):
    G = returns.reward_to_go(torch.tensor(rewards), gamma)
    m = torch.tensor(mask)
    b = (G * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)
    return (G - b) * m


def test_advantages_accepts_numpy_and_torch():
    assert check.check_advantages(adv_ok)
    assert check.check_advantages(adv_torch)


def unmasked_padding(r, m, g):
    G = returns.reward_to_go(r, g)
    return G - (G * m).sum(1, keepdims=True) / m.sum(1, keepdims=True)  # padding gets -b_t


def whole_episode(r, m, g):
    W = returns.whole_episode_returns(r, g)
    return (W - returns.batch_mean_baseline(W, m)) * m


def mean_over_padding(r, m, g):
    G = returns.reward_to_go(r, g)
    return (G - G.mean(1, keepdims=True)) * m


@pytest.mark.parametrize("fn, message", [
    (mean_over_padding, "averaged over padding"),
    (lambda r, m, g: returns.reward_to_go(r, g) * m, "baseline is missing"),
    (lambda r, m, g: adv_ok(r, m, 1.0), "γ is missing"),
    (unmasked_padding, "padding is not zero"),
    (whole_episode, "weighted by G_0"),
    (lambda r, m, g: returns.normalize(adv_ok(r, m, g), m), "also standardised"),
    (lambda r, m, g: adv_ok(r, m, g) * g ** np.arange(len(r))[:, None], "γ\\^t factor of 01"),
    (lambda r, m, g: adv_ok(r, m, g) / adv_ok(r, m, g)[m].std(ddof=1), "you standardised them"),
])
def test_advantages_names_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_advantages(fn)


# --- exercise 4: the training step --------------------------------------------------------------


def step_ok(policy, optimizer, obs, actions, adv, num_episodes):
    loss = (F.cross_entropy(policy(obs), actions, reduction="none")
            * adv.detach()).sum() / num_episodes
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def step_dist(policy, optimizer, obs, actions, adv, num_episodes):
    optimizer.zero_grad()
    loss = -(policy.distribution(obs).log_prob(actions) * adv.detach()).sum() / num_episodes
    loss.backward()
    optimizer.step()
    return loss.detach()


def test_train_step_accepts_correct_forms():
    assert check.check_train_step(step_ok)
    assert check.check_train_step(step_dist)


def make_step(loss_fn, zero_grad=True, step=True, reduce=None):
    def train_step(policy, optimizer, obs, actions, adv, num_episodes):
        if zero_grad:
            optimizer.zero_grad()
        if reduce is None:
            loss = loss_fn(policy(obs), actions, adv) / num_episodes
        else:
            loss = reduce(F.cross_entropy(policy(obs), actions, reduction="none") * adv.detach())
        loss.backward()
        if step:
            optimizer.step()
        return loss.item()
    return train_step


@pytest.mark.parametrize("fn, message", [
    (make_step(ce_ok, zero_grad=False), "zero_grad"),
    (make_step(ce_ok, step=False), "optimizer.step"),
    (make_step(lambda z, a, G: (F.cross_entropy(z, a) * G.detach()).sum()),
     "default reduction"),
    (make_step(lambda z, a, G: -ce_ok(z, a, G)), "sign is flipped"),
    (make_step(lambda z, a, G: (F.cross_entropy(z, a, reduction="none") * G).sum()),
     "advantages carry gradient"),
    (make_step(lambda z, a, G: ce_ok(torch.softmax(z, 1), a, G)), "probabilities"),
    (make_step(lambda z, a, G: ce_ok(z, Categorical(logits=z).sample(), G)), "freshly sampled"),
])
def test_train_step_names_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_train_step(fn)


@pytest.mark.parametrize("reduce, words", [
    (torch.mean, ["this is the mean over all steps", "3× smaller"]),  # B = 6 steps, N = 2
    (torch.sum, ["no division by the number of episodes", "2× larger"]),
])
def test_train_step_names_other_reductions_as_conventions(reduce, words):
    with pytest.raises(ExerciseFailed) as err:
        check.check_train_step(make_step(None, reduce=reduce))
    text = str(err.value)
    for w in [*words, "the course's convention", "The direction is the same"]:
        assert w in text
    assert "mistake" not in text and "wrong" not in text


# --- the entropy bonus --------------------------------------------------------------------------


def entropy_ok(z, a, adv, beta):
    dist = Categorical(logits=z)
    return -(dist.log_prob(a) * adv.detach()).sum() - beta * dist.entropy().sum()


def entropy_by_hand(z, a, adv, beta):  # another correct form: H = -Σ_j π_j log π_j
    logp = torch.log_softmax(z, 1)
    h = -(logp.exp() * logp).sum(1)
    return (F.cross_entropy(z, a, reduction="none") * adv.detach()).sum() - beta * h.sum()


def test_entropy_bonus_accepts_correct_forms():
    assert check.check_entropy_bonus_loss(entropy_ok)
    assert check.check_entropy_bonus_loss(entropy_by_hand)


def _surrogate(z, a, adv):
    return -(Categorical(logits=z).log_prob(a) * adv.detach()).sum()


@pytest.mark.parametrize("fn, message", [
    (lambda z, a, adv, b: _surrogate(z, a, adv) + b * Categorical(logits=z).entropy().sum(),
     "wrong sign"),
    (lambda z, a, adv, b: _surrogate(z, a, adv) - b * Categorical(logits=z).entropy().mean(),
     "averaged over the steps while the surrogate is summed"),
    (lambda z, a, adv, b: _surrogate(z, a, adv)
     - b * (-Categorical(logits=z).log_prob(a)).sum(), "one-sample estimate"),
    (lambda z, a, adv, b: _surrogate(z, a, adv), "bonus is missing"),
    (lambda z, a, adv, b: _surrogate(z, a, adv) - Categorical(logits=z).entropy().sum(),
     "β is missing"),
    (lambda z, a, adv, b: _surrogate(z, a, adv)
     - b * Categorical(logits=z).entropy().detach().sum(), "wrong gradient"),
])
def test_entropy_bonus_names_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_entropy_bonus_loss(fn)


# --- dropout while sampling ---------------------------------------------------------------------


def sample_eval(policy, obs):
    policy.eval()
    with torch.no_grad():
        return Categorical(logits=policy(obs)).sample()


def sample_eval_restored(policy, obs):  # another correct form: eval for sampling, then back
    was_training = policy.training
    policy.eval()
    with torch.no_grad():
        actions = torch.multinomial(torch.softmax(policy(obs), 1), 1).squeeze(1)
    policy.train(was_training)
    return actions


def test_sample_actions_accepts_correct_forms():
    assert check.check_sample_actions(sample_eval)
    assert check.check_sample_actions(sample_eval_restored)


def test_sample_actions_names_dropout_left_on():
    def train_mode(policy, obs):
        with torch.no_grad():
            return Categorical(logits=policy(obs)).sample()

    with pytest.raises(ExerciseFailed, match="dropout was on while sampling"):
        check.check_sample_actions(train_mode)


@pytest.mark.parametrize("fn, message", [
    (lambda p, o: p.eval()(o).argmax(1), "argmax"),
    (lambda p, o: torch.softmax(p.eval()(o), 1)[:, 1].detach(), "int dtype"),
    (lambda p, o: torch.ones(len(o), dtype=torch.long), "do not match"),
    (lambda p, o: Categorical(logits=torch.softmax(p.eval()(o), 1)).sample(),
     "softmax\\(softmax\\(logits\\)\\)"),
])
def test_sample_actions_names_other_mistakes(fn, message):
    with pytest.raises(ExerciseFailed, match=message):
        check.check_sample_actions(fn)


def test_sample_actions_leaves_the_global_random_stream_alone(keeps_torch_rng):
    keeps_torch_rng(lambda: check.check_sample_actions(sample_eval))


@pytest.mark.parametrize("run", [
    lambda: check.check_reinforce_cross_entropy(ce_ok),
    lambda: check.check_reinforce_log_prob(logprob_ok),
    lambda: check.check_train_step(step_ok),
])
def test_checks_leave_the_notebooks_random_stream_alone(run, keeps_torch_rng):
    assert keeps_torch_rng(run)
