"""The three trainers have one shape: a Config with checked fields, one History, explicit
generators (the caller's global RNGs untouched), a device argument; short runs only."""

from __future__ import annotations

import dataclasses
import random

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcourse import gaussian_trainer, numpy_trainer, rollout, torch_trainer, trainer

TRAINERS = [numpy_trainer, torch_trainer, gaussian_trainer]
IDS = ["numpy", "torch", "gaussian"]
# one or two updates of each
SHORT = {numpy_trainer: {"max_env_steps": 400, "target": None},
         torch_trainer: {"max_env_steps": 400, "target": None},
         gaussian_trainer: {"num_envs": 8, "max_env_steps": 2 * 8 * 200, "eval_every": 1,
                            "eval_episodes": 4}}


def short(module, **kw):
    return module.train(**{**SHORT[module], "device": "cpu", **kw})


@pytest.mark.slow  # trains
@pytest.mark.parametrize("module", TRAINERS, ids=IDS)
def test_one_history_type_with_consistent_fields(module):
    h = short(module, seed=3)
    assert type(h) is trainer.History and isinstance(h.config, module.Config)
    n = len(h.env_steps)
    assert n >= 1
    assert all(len(x) == n for x in (h.mean_return, h.episode_returns, h.loss, h.wall_s))
    assert all(len(v) == n for v in h.metrics.values())
    assert np.all(np.diff(h.env_steps) > 0) and h.total_env_steps >= h.config.max_env_steps
    np.testing.assert_allclose(h.mean_return, [r.mean() for r in h.episode_returns])
    assert all(len(r) == h.config.num_envs for r in h.episode_returns)  # one episode per env
    assert np.all(np.diff(h.wall_s) >= 0)
    summary = h.summary()
    assert summary["env_steps"] == h.total_env_steps and summary["seed"] == 3


@pytest.mark.slow  # trains
@pytest.mark.parametrize("module", TRAINERS, ids=IDS)
def test_reproducible_and_leaves_the_global_rngs_alone(module):
    random.seed(5)
    np.random.seed(5)  # noqa: NPY002 - the caller's global state, which must not move
    torch.manual_seed(5)
    states = (random.getstate(), np.random.get_state()[1].copy(),  # noqa: NPY002
              torch.get_rng_state())
    a, b = short(module, seed=1), short(module, seed=1)
    assert random.getstate() == states[0]
    np.testing.assert_array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), states[2])
    assert a.mean_return == b.mean_return and a.loss == b.loss
    c = short(module, seed=2)
    assert c.mean_return != a.mean_return


@pytest.mark.parametrize("module", TRAINERS, ids=IDS)
@pytest.mark.parametrize("field, value, error", [
    ("seed", -1, ValueError), ("seed", 1.5, TypeError), ("num_envs", 0, ValueError),
    ("lr", 0.0, ValueError), ("lr", float("nan"), ValueError), ("gamma", 1.5, ValueError),
    ("hidden", (0,), ValueError), ("advantage", "gae", ValueError),
    ("advantage", "value_baseline", ValueError), ("max_env_steps", 0, ValueError),
    ("eval_every", 0, ValueError), ("eval_episodes", 0, ValueError),
    ("threads", 0, ValueError), ("stop_margin", -1.0, ValueError),
])
def test_config_fields_are_checked_once_with_their_name(module, field, value, error):
    with pytest.raises(error, match=field):
        module.Config(**{field: value})
    with pytest.raises(error, match=field):
        module.train(**{field: value})


@pytest.mark.parametrize("module", TRAINERS, ids=IDS)
def test_config_accepts_numpy_integers_and_train_rejects_unknown_settings(module):
    cfg = module.Config(seed=np.int64(2), num_envs=np.int32(3))
    assert cfg.seed == 2 and type(cfg.num_envs) is int
    with pytest.raises(TypeError, match="unknown setting"):
        module.train(acting="numpy")
    with pytest.raises(TypeError, match="config must be"):
        module.train("CartPole-v1")


def test_each_trainers_config_refuses_what_its_trainer_cannot_run():
    with pytest.raises(ValueError, match="hidden must hold one width"):
        numpy_trainer.Config(hidden=(8, 8))
    with pytest.raises(ValueError, match="env_id must be 'Pendulum-v1'"):
        gaussian_trainer.Config(env_id="CartPole-v1")
    assert {f.name for f in dataclasses.fields(trainer.Config)} <= {
        f.name for f in dataclasses.fields(gaussian_trainer.Config)}


@pytest.mark.parametrize("module", [numpy_trainer, torch_trainer], ids=IDS[:2])
def test_cartpole_trainers_need_a_discrete_action_space(module):
    with pytest.raises(ValueError, match="needs a discrete action space"):
        module.train(env_id="Pendulum-v1", max_env_steps=10)


@pytest.mark.slow  # trains
def test_devices():
    assert short(torch_trainer, device=torch.device("cpu")).policy.net[0].weight.device.type \
        == "cpu"
    with pytest.raises(ValueError, match="device must name one of"):
        short(torch_trainer, device="tpu")
    with pytest.raises(ValueError, match="device must name one of"):
        short(gaussian_trainer, device="tpu")
    numpy_trainer.train(max_env_steps=10, target=None, device="cpu")
    with pytest.raises(ValueError, match="device must name one of"):
        numpy_trainer.train(device="gpu")


@pytest.mark.slow  # trains
def test_an_easy_target_is_evaluated_solved_and_stops():
    # a random policy's mean return on CartPole is about 22: the first batch triggers an
    # evaluation (actions sampled), which reaches 15, and training stops there
    for module in (numpy_trainer, torch_trainer):
        h = module.train(max_env_steps=50_000, target=15.0, eval_episodes=20)
        assert h.solved and h.stopped and h.solved_at == h.total_env_steps
        assert h.evaluations[-1] == (h.solved_at, pytest.approx(h.evaluations[-1][1]))
        assert h.evaluations[-1][1] >= 15 and h.solved_wall_s <= h.wall_s[-1] + 1e-9


@pytest.mark.slow  # trains
def test_gaussian_evaluates_every_eval_every_updates_and_records_sigma():
    h = short(gaussian_trainer, max_env_steps=4 * 8 * 200, eval_every=2, target=-1e9,
              stop_margin=1e12)
    assert [s for s, _ in h.evaluations] == [h.env_steps[1], h.env_steps[3]]
    assert h.solved_at == h.env_steps[1] and not h.stopped
    assert len(h.metrics["std"]) == 4 and h.metrics["std"][0] == pytest.approx(1.0, abs=0.1)


def test_evaluation_seeds_differ_across_runs_and_evaluations():
    seeds = {trainer.derive_seed(s, trainer.EVALUATION, k) for s in range(20) for k in range(20)}
    assert len(seeds) == 400  # seed + k would collide (run 0's 2nd is run 1's 1st)


def test_evaluate_samples_for_categorical_and_takes_the_mean_for_gaussian():
    cfg = torch_trainer.Config(seed=0)
    envs = rollout.make_vec("CartPole-v1", 2)
    policy = torch_trainer.make_policy(envs, cfg, torch.device("cpu"))
    envs.close()
    a = torch_trainer.evaluate(policy, "CartPole-v1", 20, seed=4)
    b = torch_trainer.evaluate(policy, "CartPole-v1", 20, seed=4)
    np.testing.assert_array_equal(a, b)
    gp = gaussian_trainer.make_policy(gaussian_trainer.Config(), torch.device("cpu"))
    with torch.no_grad():
        gp.log_std.fill_(5.0)  # σ large: a sampled evaluation would differ wildly
    x = gaussian_trainer.evaluate(gp, 8, seed=1)
    with torch.no_grad():
        gp.log_std.fill_(-5.0)
    torch.testing.assert_close(x, gaussian_trainer.evaluate(gp, 8, seed=1))


def test_require_discrete_names_the_space():
    envs = gym.make_vec("Pendulum-v1", num_envs=1)
    with pytest.raises(ValueError, match=r"Box\(-2.0, 2.0"):
        trainer.require_discrete(envs, "x")
    envs.close()


def test_a_run_that_stops_at_its_target_closes_its_bar_full_and_says_why(capsys):
    tr = trainer
    cfg = tr.Config(max_env_steps=1000, target=10.0, stop_margin=0.0)
    history = tr.History(None, cfg)
    bar = tr.progress_bar(cfg, True, "test")
    history.log(300, np.array([12.0]), 0.0)
    bar.update(300)
    history.record_evaluation(11.0)
    assert history.stopped
    tr.finish_bar(bar, history)
    err = capsys.readouterr().err
    assert "100%" in err and "done at 300 of 1000 steps" in err
    assert "reached target + stop_margin = 10" in err
