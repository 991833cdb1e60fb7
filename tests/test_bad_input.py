"""A probe of bad input: every public function of ``rlcourse`` refuses it, naming the argument.

Each case calls one public function with one bad argument and expects a ``TypeError`` or
``ValueError`` whose message contains the given words (the argument's name and what was
expected). The families (issue #20, part 4):

- ``sizes``: non-integer sizes (64.0, 64.5, True, "64") and an int where a tuple of hidden
  sizes is meant: truncated or misread before;
- ``nan``: NaN/inf through losses, log-densities (``log_std = -inf``), policies, the batched
  Pendulum's actions and state, plots;
- ``bool-index``: booleans (and other non-indices) used as indices;
- ``reset-options``: unknown ``reset(options=...)`` keys, ignored before;
- ``other``: flags, rates and callables of the wrong kind.

Run as a script to count the cases that come back silently (no exception) or with an unclear
error (another exception, or a message without the words)::

    python tests/test_bad_input.py            # counts per family
    python tests/test_bad_input.py -v         # and every case that is not refused clearly
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Normal

from rlcourse import gaussian_policy as gp
from rlcourse import numpy_policy as npp
from rlcourse import numpy_trainer, plotting, progress, rollout, runtime, torch_trainer
from rlcourse import torch_policy as tp
from rlcourse.envs import SHORT_CORRIDOR_ID, pendulum, short_corridor

NAN, INF = float("nan"), float("inf")


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    call: Callable[[], object]
    error: type[Exception]
    words: str  # must appear in the error's message
    left: str | None = None  # why the case is left as it is (the test is a strict xfail)

    @property
    def id(self) -> str:
        return f"{self.family}: {self.name}"


CASES: list[Case] = []


def case(family: str, name: str, call: Callable[[], object], error: type[Exception],
         words: str, left: str | None = None) -> None:
    CASES.append(Case(family, name, call, error, words, left))


# A per-step call checks one tensor (its result) on the CPU: an infinite observation saturates
# tanh into a finite action there; log_prob, once per update, refuses it.
PER_STEP = "per-step act checks its result only: inf saturates tanh (log_prob refuses it)"


# --- valid objects the cases spoil one argument of -------------------------------------------

def _with(x: torch.Tensor, value: float, index=0) -> torch.Tensor:
    """A copy of ``x`` with ``value`` at ``index`` (of the flattened tensor)."""
    y = x.clone()
    y.view(-1)[index] = value
    return y


LOGITS = torch.tensor([[0.5, -0.5], [0.0, 1.0], [2.0, 0.0]])
ACTIONS = torch.tensor([0, 1, 1])
WEIGHTS = torch.tensor([1.0, -0.5, 2.0])
G_ACTIONS, G_MEAN, G_LOG_STD = torch.zeros(4, 2), torch.full((4, 2), 0.5), torch.zeros(2)
OBS3 = torch.zeros(5, 3)


def _gauss(**kwargs) -> gp.GaussianPolicy:
    torch.manual_seed(0)
    return gp.GaussianPolicy(3, 1, (8,), **kwargs)


def _gauss_nan_weight() -> gp.GaussianPolicy:
    policy = _gauss()
    with torch.no_grad():
        policy.net[0].weight[0, 0] = NAN
    return policy


def _gauss_nan_log_std() -> gp.GaussianPolicy:
    policy = _gauss()
    with torch.no_grad():
        policy.log_std.fill_(NAN)
    return policy


def _params(**changes) -> dict[str, np.ndarray]:
    params = npp.init_params(4, 2, 8, np.random.default_rng(0))
    for key, (index, value) in changes.items():
        params[key][index] = value
    return params


def _grads() -> dict[str, np.ndarray]:
    return {k: np.zeros_like(v) for k, v in _params().items()}


def _pendulum(n: int = 3) -> pendulum.BatchedPendulum:
    env = pendulum.BatchedPendulum(n)
    env.reset(seed=0)
    return env


def _set_state(value) -> None:
    _pendulum().state = value


def _set_elapsed(value) -> None:
    _pendulum().elapsed_steps = value


def _corridor_env() -> short_corridor.ShortCorridorEnv:
    env = short_corridor.ShortCorridorEnv()
    env.reset(seed=0)
    return env


def _made_corridor_reset(options) -> object:
    env = gym.make(SHORT_CORRIDOR_ID)
    try:
        return env.reset(seed=0, options=options)
    finally:
        env.close()


def _vec_corridor_reset(options) -> object:
    envs = rollout.make_vec(SHORT_CORRIDOR_ID, 2)
    try:
        return envs.reset(seed=0, options=options)
    finally:
        envs.close()


def _batch() -> rollout.EpisodeBatch:
    envs = rollout.make_vec("CartPole-v1", 3)
    try:
        return rollout.collect_episodes(envs, lambda obs: np.zeros(len(obs), dtype=np.int64),
                                        seed=0)
    finally:
        envs.close()


def _collect(**kwargs) -> object:
    envs = rollout.make_vec("CartPole-v1", 2)
    try:
        return rollout.collect_episodes(envs, lambda obs: np.zeros(len(obs), dtype=np.int64),
                                        **kwargs)
    finally:
        envs.close()


def _threads(n) -> None:
    with runtime.torch_threads(n):
        pass


def _bar(**kwargs) -> None:
    progress.bar(disable=True, **kwargs).close()


FRAMES = [np.zeros((4, 4, 3), dtype=np.uint8)] * 3


def _plot(fn: Callable, *args, **kwargs) -> object:
    """Call a plotting function and close what it drew (pyplot is imported only if it was)."""
    try:
        return fn(*args, **kwargs)
    finally:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")


def _filmstrip(**kwargs) -> object:
    return _plot(plotting.filmstrip, FRAMES, **kwargs)


def _uniform_policy(obs):
    return np.zeros(len(obs), dtype=np.int64)


# --- sizes: non-integers truncated, an int where a tuple is meant ----------------------------

SIZES = "sizes must be a tuple of at least 2 positive integers"
HIDDEN = "hidden must be a tuple of positive integers"
for label, sizes in (("64.0", (4, 64.0, 2)), ("64.5", (4, 64.5, 2)), ("True", (4, True, 2)),
                     ("'64'", (4, "64", 2)), ("np.float64(8)", (4, np.float64(8), 2)),
                     ("first 4.0", (4.0, 2))):
    case("sizes", f"mlp(sizes with {label})", lambda s=sizes: tp.mlp(s), TypeError, SIZES)
case("sizes", "mlp(64): an int, not a tuple", lambda: tp.mlp(64), TypeError, SIZES)
case("sizes", "mlp('42'): a string", lambda: tp.mlp("42"), TypeError, SIZES)
case("sizes", "mlp((4,)): one width", lambda: tp.mlp((4,)), ValueError, SIZES)
case("sizes", "mlp((4, 0, 2))", lambda: tp.mlp((4, 0, 2)), ValueError, SIZES)
for label, args, words in (("obs_dim=4.0", (4.0, 2), "obs_dim must be an integer"),
                           ("obs_dim=4.5", (4.5, 2), "obs_dim must be an integer"),
                           ("obs_dim=True", (True, 2), "obs_dim must be an integer"),
                           ("n_actions=2.5", (4, 2.5), "n_actions must be an integer"),
                           ("n_actions=np.float32(2)", (4, np.float32(2)),
                            "n_actions must be an integer")):
    case("sizes", f"CategoricalPolicy({label})", lambda a=args: tp.CategoricalPolicy(*a),
         TypeError, words)
case("sizes", "CategoricalPolicy(obs_dim=0)", lambda: tp.CategoricalPolicy(0, 2), ValueError,
     "obs_dim must be an integer in [1, inf]")
for label, hidden in (("64", 64), ("(64.5,)", (64.5,)), ("(64.0,)", (64.0,)),
                      ("(True,)", (True,)), ("'64'", "64"), ("(32, 16.5)", (32, 16.5)),
                      ("np.int64(64)", np.int64(64))):
    case("sizes", f"CategoricalPolicy(hidden={label})",
         lambda h=hidden: tp.CategoricalPolicy(4, 2, hidden=h), TypeError, HIDDEN)
case("sizes", "CategoricalPolicy(hidden=(0,))", lambda: tp.CategoricalPolicy(4, 2, hidden=(0,)),
     ValueError, HIDDEN)
case("sizes", "ValueNet(obs_dim=4.0)", lambda: tp.ValueNet(4.0), TypeError,
     "obs_dim must be an integer")
case("sizes", "ValueNet(hidden=64)", lambda: tp.ValueNet(4, hidden=64), TypeError, HIDDEN)
case("sizes", "torch_trainer.Config(hidden=64)", lambda: torch_trainer.Config(hidden=64),
     TypeError, HIDDEN)
case("sizes", "ValueNet(hidden=(32.5,))", lambda: tp.ValueNet(4, hidden=(32.5,)), TypeError,
     HIDDEN)
case("sizes", "GaussianPolicy(obs_dim=3.0)", lambda: gp.GaussianPolicy(3.0, 1), TypeError,
     "obs_dim must be an integer")
case("sizes", "GaussianPolicy(act_dim=True)", lambda: gp.GaussianPolicy(3, True), TypeError,
     "act_dim must be an integer")
case("sizes", "GaussianPolicy(hidden=64)", lambda: gp.GaussianPolicy(3, 1, 64), TypeError,
     HIDDEN)
case("sizes", "GaussianPolicy(hidden=(64.5, 64))", lambda: gp.GaussianPolicy(3, 1, (64.5, 64)),
     TypeError, HIDDEN)
case("sizes", "GaussianPolicy(hidden=(32, 32.0))", lambda: gp.GaussianPolicy(3, 1, (32, 32.0)),
     TypeError, HIDDEN)
case("sizes", "numpy init_params(hidden=64.0)", lambda: npp.init_params(4, 2, 64.0), TypeError,
     "hidden must be an integer")
case("sizes", "numpy init_params(hidden=(64,))", lambda: npp.init_params(4, 2, (64,)),
     TypeError, "hidden must be an integer")
case("sizes", "numpy init_params(obs_dim=4.0)", lambda: npp.init_params(4.0, 2), TypeError,
     "obs_dim must be an integer")
case("sizes", "BatchedPendulum(num_envs=2.0)", lambda: pendulum.BatchedPendulum(2.0), TypeError,
     "num_envs must be an integer")
case("sizes", "make_vec(num_envs=2.0)", lambda: rollout.make_vec("CartPole-v1", 2.0), TypeError,
     "num_envs must be an integer")
case("sizes", "collect_episodes(max_steps=10.5)", lambda: _collect(max_steps=10.5), TypeError,
     "max_steps must be an integer")
case("sizes", "rollout.evaluate(n_episodes=2.5)",
     lambda: rollout.evaluate("CartPole-v1", _uniform_policy, n_episodes=2.5), TypeError,
     "n_episodes must be an integer")
case("sizes", "numpy_trainer.evaluate(episodes=2.0)",
     lambda: numpy_trainer.evaluate(_params(), episodes=2.0), TypeError,
     "episodes must be an integer")
case("sizes", "learning_curve(window=2.5)",
     lambda: _plot(plotting.learning_curve, [1.0, 2.0, 3.0], window=2.5), TypeError,
     "window must be an integer")
case("sizes", "filmstrip(n=2.5)", lambda: _filmstrip(n=2.5), TypeError, "n must be an integer")
case("sizes", "filmstrip(n=0)", lambda: _filmstrip(n=0), ValueError, "n must be an integer in")
case("sizes", "torch_threads(2.0)", lambda: _threads(2.0), TypeError,
     "threads must be an integer")
case("sizes", "progress.bar(total='10')", lambda: _bar(total="10"), TypeError,
     "total must be a real number")

# --- nan: NaN/inf through losses, log-densities, policies, the Pendulum, plots ---------------

for loss in tp.LOSSES.values():
    label = loss.__name__
    case("nan", f"{label}(logits with NaN)", lambda f=loss: f(_with(LOGITS, NAN), ACTIONS,
                                                              WEIGHTS),
         ValueError, "logits must not hold NaN or +inf")
    case("nan", f"{label}(logits with +inf)", lambda f=loss: f(_with(LOGITS, INF), ACTIONS,
                                                               WEIGHTS),
         ValueError, "logits must not hold NaN or +inf")
    case("nan", f"{label}(weights with NaN)", lambda f=loss: f(LOGITS, ACTIONS,
                                                               _with(WEIGHTS, NAN)),
         ValueError, "weights must be finite")
    case("nan", f"{label}(weights with inf)", lambda f=loss: f(LOGITS, ACTIONS,
                                                               _with(WEIGHTS, -INF)),
         ValueError, "weights must be finite")
for fn in (gp.gaussian_log_prob, gp.gaussian_log_prob_grads):
    label = fn.__name__
    for value in (-INF, INF, NAN):
        case("nan", f"{label}(log_std={value})",
             lambda f=fn, v=value: f(G_ACTIONS, G_MEAN, torch.full((2,), v)), ValueError,
             "log_std must be finite")
    case("nan", f"{label}(actions with NaN)",
         lambda f=fn: f(_with(G_ACTIONS, NAN), G_MEAN, G_LOG_STD), ValueError,
         "actions must be finite")
    case("nan", f"{label}(mean with inf)",
         lambda f=fn: f(G_ACTIONS, _with(G_MEAN, INF), G_LOG_STD), ValueError,
         "mean must be finite")
case("nan", "tanh_log_det_jacobian(u with NaN)",
     lambda: gp.tanh_log_det_jacobian(_with(G_ACTIONS, NAN)), ValueError, "u must be finite")
case("nan", "tanh_log_det_jacobian(scale=inf)",
     lambda: gp.tanh_log_det_jacobian(G_ACTIONS, INF), ValueError, "scale must be finite")
case("nan", "squashed_log_prob(u with NaN)",
     lambda: gp.squashed_log_prob(Normal(G_MEAN, 1.0), _with(G_ACTIONS, NAN)), ValueError,
     "u must be finite")
for value in (-INF, NAN):
    case("nan", f"GaussianPolicy(log_std_init={value})",
         lambda v=value: gp.GaussianPolicy(3, 1, log_std_init=v), ValueError,
         "log_std_init must be finite")
case("nan", "GaussianPolicy.act(obs with NaN)", lambda: _gauss().act(_with(OBS3, NAN)),
     ValueError, "obs must be finite")
case("nan", "GaussianPolicy.act(obs with inf), deterministic",
     lambda: _gauss().act(_with(OBS3, INF), deterministic=True), ValueError,
     "obs must be finite", PER_STEP)
case("nan", "GaussianPolicy.log_prob(obs with inf)",
     lambda: _gauss().log_prob(_with(OBS3, INF), torch.zeros(5, 1)), ValueError,
     "obs must be finite")
case("nan", "GaussianPolicy(obs with NaN): forward", lambda: _gauss()(_with(OBS3, NAN)),
     ValueError, "obs must be finite")
case("nan", "GaussianPolicy.mean_and_log_std(obs with NaN)",
     lambda: _gauss().mean_and_log_std(_with(OBS3, NAN)), ValueError, "obs must be finite")
case("nan", "GaussianPolicy.log_prob(obs with NaN)",
     lambda: _gauss().log_prob(_with(OBS3, NAN), torch.zeros(5, 1)), ValueError,
     "obs must be finite")
case("nan", "GaussianPolicy.log_prob(actions with NaN)",
     lambda: _gauss().log_prob(OBS3, _with(torch.zeros(5, 1), NAN)), ValueError,
     "actions must be finite")
case("nan", "GaussianPolicy with a NaN weight: act",
     lambda: _gauss_nan_weight().act(OBS3), ValueError, "the policy's parameters hold NaN")
case("nan", "GaussianPolicy with a NaN weight: log_prob",
     lambda: _gauss_nan_weight().log_prob(OBS3, torch.zeros(5, 1)), ValueError,
     "the policy's parameters hold NaN")
case("nan", "GaussianPolicy with NaN log_std: act",
     lambda: _gauss_nan_log_std().act(OBS3), ValueError, "the policy's parameters hold NaN")
case("nan", "GaussianPolicy with a std head: forward with NaN obs",
     lambda: _gauss(std_head=True)(_with(OBS3, NAN)), ValueError, "obs must be finite")
case("nan", "numpy forward(params with NaN)",
     lambda: npp.forward(_params(W1=((0, 0), NAN)), np.zeros((2, 4))), ValueError,
     "params['W1'] must be finite")
case("nan", "numpy forward(params with inf)",
     lambda: npp.forward(_params(b2=(0, INF)), np.zeros((2, 4))), ValueError,
     "params['b2'] must be finite")
case("nan", "numpy ascent_step(params with NaN)",
     lambda: npp.ascent_step(_params(b1=(0, NAN)), _grads(), 0.1), ValueError,
     "params['b1'] must be finite")
case("nan", "numpy Adam(params with NaN)", lambda: npp.Adam(_params(W2=((0, 0), NAN))),
     ValueError, "params['W2'] must be finite")
case("nan", "numpy gaussian_log_prob(log_std=-inf)",
     lambda: npp.gaussian_log_prob(np.zeros((2, 1)), [-INF], np.zeros((2, 1))), ValueError,
     "log_std must be finite")
case("nan", "BatchedPendulum.step(actions (N, 1) with NaN)",
     lambda: _pendulum().step(_with(torch.zeros(3, 1), NAN)), ValueError,
     "actions must not hold NaN")
case("nan", "BatchedPendulum.step(actions (N,) with NaN, float64)",
     lambda: _pendulum().step(_with(torch.zeros(3, dtype=torch.float64), NAN, 2)), ValueError,
     "actions must not hold NaN")
case("nan", "BatchedPendulum.state = NaN", lambda: _set_state(torch.full((3, 2), NAN)),
     ValueError, "state must be finite")
case("nan", "BatchedPendulum.state = inf", lambda: _set_state([[0.0, INF]] * 3), ValueError,
     "state must be finite")
case("nan", "BatchedPendulum(g=nan)", lambda: pendulum.BatchedPendulum(2, g=NAN), ValueError,
     "g must be finite")
case("nan", "learning_curve(returns with NaN)",
     lambda: _plot(plotting.learning_curve, [1.0, NAN, 3.0], window=2), ValueError,
     "returns must be finite")
case("nan", "curves_with_band(runs with NaN)",
     lambda: _plot(plotting.curves_with_band, [0, 1], np.array([[1.0, NAN], [0.0, 1.0]])),
     ValueError, "runs must be finite")
case("nan", "animation_gif(fps=inf)", lambda: plotting.animation_gif(FRAMES, fps=INF),
     ValueError, "fps must be finite")
case("nan", "animation_gif(fps=nan)", lambda: plotting.animation_gif(FRAMES, fps=NAN),
     ValueError, "fps must be finite")
case("nan", "progress.bar(total=nan)", lambda: _bar(total=NAN), ValueError,
     "total must be finite")

# --- bool-index: booleans (and other non-indices) used as indices ----------------------------

for loss in tp.LOSSES.values():
    label = loss.__name__
    case("bool-index", f"{label}(actions as bools)",
         lambda f=loss: f(LOGITS, torch.tensor([False, True, True]), WEIGHTS), TypeError,
         "actions must hold integers (indices)")
    case("bool-index", f"{label}(action 2 of 2)",
         lambda f=loss: f(LOGITS, torch.tensor([0, 2, 1]), WEIGHTS), ValueError,
         "actions must be in [0, 1]")
    case("bool-index", f"{label}(action -1)",
         lambda f=loss: f(LOGITS, torch.tensor([0, -1, 1]), WEIGHTS), ValueError,
         "actions must be in [0, 1]")
for label, columns, error in (("True", True, TypeError), ("np.True_", np.True_, TypeError),
                              ("1 (a scalar: drops the episode axis)", 1, TypeError),
                              ("a bool mask of the wrong length", [True, False], ValueError),
                              ("floats", [0.0, 1.0], TypeError),
                              ("index 5 of 3", [0, 5], ValueError)):
    case("bool-index", f"EpisodeBatch.select({label})",
         lambda c=columns: _batch().select(c), error, "columns must")
case("bool-index", "ShortCorridorEnv.step(True)", lambda: _corridor_env().step(True), TypeError,
     "action must be an integer")
case("bool-index", "ShortCorridorEnv.step(np.True_)", lambda: _corridor_env().step(np.True_),
     TypeError, "action must be an integer")
case("bool-index", "ShortCorridorEnv.step(1.0)", lambda: _corridor_env().step(1.0), TypeError,
     "action must be an integer")
case("bool-index", "BatchedPendulum.elapsed_steps = bools",
     lambda: _set_elapsed(torch.tensor([True, False, True])), TypeError,
     "elapsed_steps must hold integers")
case("bool-index", "filmstrip(n=True)", lambda: _filmstrip(n=True), TypeError,
     "n must be an integer")
case("bool-index", "progress.bar(total=True)", lambda: _bar(total=True), TypeError,
     "total must be a real number")
case("bool-index", "torch_threads(True)", lambda: _threads(True), TypeError,
     "threads must be an integer")
case("bool-index", "step_batch(states as bools)",
     lambda: short_corridor.step_batch(np.array([True]), np.array([1])), TypeError,
     "states must hold integers")

# --- reset-options: unknown keys ignored -----------------------------------------------------

case("reset-options", "BatchedPendulum.reset(options={'x_int': 1.0}) (a typo)",
     lambda: _pendulum().reset(options={"x_int": 1.0}), ValueError,
     "options has unknown key(s) 'x_int'")
case("reset-options", "BatchedPendulum.reset(options with an extra 'seed')",
     lambda: _pendulum().reset(options={"x_init": 1.0, "seed": 3}), ValueError,
     "options has unknown key(s) 'seed'")
case("reset-options", "BatchedPendulum.reset(options=[('x_init', 1.0)])",
     lambda: _pendulum().reset(options=[("x_init", 1.0)]), TypeError,
     "options must be None or a dict")
case("reset-options", "BatchedPendulum.reset(options=1.0)",
     lambda: _pendulum().reset(options=1.0), TypeError, "options must be None or a dict")
case("reset-options", "ShortCorridorEnv.reset(options={'start': 2})",
     lambda: short_corridor.ShortCorridorEnv().reset(options={"start": 2}), ValueError,
     "options has unknown key(s) 'start'")
case("reset-options", "gym.make(ShortCorridor).reset(options={'start': 2})",
     lambda: _made_corridor_reset({"start": 2}), ValueError,
     "options has unknown key(s) 'start'")
case("reset-options", "make_vec(ShortCorridor).reset(options={'start': 2})",
     lambda: _vec_corridor_reset({"start": 2}), ValueError, "options has unknown key(s) 'start'")

# --- other: flags, numbers and callables of the wrong kind -----------------------------------

case("other", "mlp(activation=nn.Tanh()) (an instance)",
     lambda: tp.mlp((4, 8, 2), nn.Tanh()), TypeError, "activation must be an nn.Module class")
case("other", "CategoricalPolicy(activation=torch.tanh) (a function)",
     lambda: tp.CategoricalPolicy(4, 2, activation=torch.tanh), TypeError,
     "activation must be an nn.Module class")
case("other", "GaussianPolicy(std_head='yes')", lambda: gp.GaussianPolicy(3, 1, std_head="yes"),
     TypeError, "std_head must be True or False")
case("other", "GaussianPolicy(log_std_init='0.5')",
     lambda: gp.GaussianPolicy(3, 1, log_std_init="0.5"), TypeError,
     "log_std_init must be a real number")
case("other", "tanh_log_det_jacobian(scale=True)",
     lambda: gp.tanh_log_det_jacobian(G_ACTIONS, True), TypeError, "scale must be a real number")
case("other", "tanh_log_det_jacobian(scale=0)",
     lambda: gp.tanh_log_det_jacobian(G_ACTIONS, 0), ValueError, "scale must be in (0, inf]")
case("other", "squashed_log_prob(dist=None)",
     lambda: gp.squashed_log_prob(None, G_ACTIONS), TypeError,
     "dist must be a torch.distributions.Normal")
case("other", "animation_gif(fps=True)", lambda: plotting.animation_gif(FRAMES, fps=True),
     TypeError, "fps must be a real number")
case("other", "numpy ascent_step(lr=True)", lambda: npp.ascent_step(_params(), _grads(), True),
     TypeError, "lr must be a real number")
case("other", "numpy Adam(betas=(0.9, '0.999'))",
     lambda: npp.Adam(_params(), betas=(0.9, "0.999")), TypeError,
     "betas[1] must be a real number")
case("other", "numpy Adam(betas=(0.9,))", lambda: npp.Adam(_params(), betas=(0.9,)), TypeError,
     "betas must be a pair")
case("other", "numpy Adam(betas=(1.0, 0.999))", lambda: npp.Adam(_params(), betas=(1.0, 0.999)),
     ValueError, "betas[0] must be in [0, 1)")


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.left)]
                 if c.left else []) for c in CASES])
def test_bad_input_is_refused_naming_the_argument(case):
    with pytest.raises(case.error) as err:
        case.call()
    assert case.words in str(err.value), str(err.value)


def test_the_probe_covers_every_family_with_distinct_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert {c.family for c in CASES} == {"sizes", "nan", "bool-index", "reset-options", "other"}


# --- what stays accepted (the checks must not refuse valid input) ----------------------------

def test_numpy_integers_and_lists_are_sizes():
    assert tp.mlp([np.int64(4), 8, np.int32(2)])[0].in_features == 4
    policy = tp.CategoricalPolicy(np.int64(4), 2, hidden=[8, np.int16(8)])
    assert [m.out_features for m in policy.net if isinstance(m, nn.Linear)] == [8, 8, 2]
    assert gp.GaussianPolicy(np.int64(3), 1, [4]).obs_dim == 3
    assert tp.ValueNet(4, hidden=()).net[0].out_features == 1  # no hidden layer: linear


def test_episode_columns_are_selected_by_slice_list_or_mask():
    batch = _batch()
    for columns in (slice(0, 2), [0, 1], np.array([True, True, False]), range(2)):
        np.testing.assert_array_equal(batch.select(columns).lengths, batch.lengths[:2])


def test_reset_options_that_are_known_still_work():
    env = pendulum.BatchedPendulum(4)
    a, _ = env.reset(seed=1, options={})
    b, _ = env.reset(seed=1, options=None)
    torch.testing.assert_close(a, b)
    small, _ = env.reset(seed=1, options={"x_init": 0.1})
    assert bool((torch.atan2(small[:, 1], small[:, 0]).abs() <= 0.1 + 1e-6).all())
    assert short_corridor.ShortCorridorEnv().reset(options={}) == (0, {})


def test_infinite_torques_are_clipped_as_in_gymnasium():
    """±inf is a torque beyond the bound (the env clips it); NaN is refused."""
    a, b = _pendulum(2), _pendulum(2)
    out_a = a.step(torch.tensor([INF, -INF]))
    out_b = b.step(torch.tensor([2.0, -2.0]))
    for x, y in zip(out_a[:4], out_b[:4]):
        torch.testing.assert_close(x, y)


def test_ruled_out_actions_keep_a_finite_loss():
    """A −inf logit rules an action out; the losses stay finite where it is not taken."""
    logits = torch.tensor([[0.0, -INF], [1.0, 0.0]])
    for loss in tp.LOSSES.values():
        assert torch.isfinite(loss(logits, torch.tensor([0, 1]), torch.ones(2)))


def test_meta_device_has_no_values_to_check():
    """Course checks run collectors on PyTorch's "meta" device (shapes only): no value check
    may read data there."""
    env = pendulum.BatchedPendulum(3, device="meta")
    obs, _ = env.reset(seed=0)
    policy = gp.GaussianPolicy(3, 1, (4,)).to("meta")
    actions = policy.act(obs)
    out = env.step(actions)
    assert out[0].device.type == "meta" and policy.log_prob(obs, actions).shape == (3,)
    assert tp.logprob_loss(torch.zeros(3, 2, device="meta"),
                           torch.zeros(3, dtype=torch.long, device="meta"),
                           torch.ones(3, device="meta")).device.type == "meta"


# --- the probe as a script -------------------------------------------------------------------

def _outcome(c: Case) -> tuple[str, str]:
    try:
        result = c.call()
    except c.error as err:
        return ("refused", "") if c.words in str(err) else ("unclear", f"{err}")
    except Exception as err:  # the probe classifies whatever comes back
        return "unclear", f"{type(err).__name__}: {err}"
    return "silent", f"returned {type(result).__name__}"


def main(argv: list[str]) -> int:
    import warnings

    warnings.simplefilter("ignore")
    counts: dict[str, dict[str, int]] = {}
    left: dict[str, dict[str, int]] = {}
    for c in CASES:
        kind, detail = _outcome(c)
        counts.setdefault(c.family, {"refused": 0, "silent": 0, "unclear": 0})[kind] += 1
        if kind != "refused" and c.left:
            left.setdefault(c.left, {}).setdefault(kind, 0)
            left[c.left][kind] += 1
        if kind != "refused" and "-v" in argv:
            print(f"{kind:8} {c.id}: {detail[:150]}")
    total = {k: sum(f[k] for f in counts.values()) for k in ("refused", "silent", "unclear")}
    for family, f in [*counts.items(), ("all", total)]:
        print(f"{family:14} {sum(f.values()):4} cases: {f['silent']:3} silent, "
              f"{f['unclear']:3} unclear, {f['refused']:3} refused clearly")
    for reason, n in left.items():
        print(f"  left as they are ({reason}): " + ", ".join(f"{v} {k}" for k, v in n.items()))
    return 0 if total["silent"] == total["unclear"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
