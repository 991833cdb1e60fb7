"""The NumPy REINFORCE trainer (rlcourse.numpy_trainer): short correctness tests, no long runs
(the training curve and the 475 threshold are measured in benchmarks/cartpole.py)."""

import numpy as np
import pytest

from rlcourse import numpy_policy, numpy_trainer, returns, rollout


def test_advantages_subtract_the_per_step_mean_and_standardise():
    G = np.array([[3.0, 1.0, 5.0], [2.0, 0.0, 9.0], [1.0, 0.0, 0.0]])
    mask = np.array([[True, True, True], [True, False, True], [True, False, False]])
    adv = numpy_trainer.advantages(G, mask)
    assert np.all(adv[~mask] == 0)
    centred = np.array([[0.0, -2.0, 2.0], [-3.5, 0.0, 3.5], [0.0, 0.0, 0.0]])  # G_t - b_t
    real = centred[mask]
    expected = (real - real.mean()) / real.std()
    np.testing.assert_allclose(adv[mask], expected, rtol=1e-6)
    assert adv[mask].mean() == pytest.approx(0.0, abs=1e-12)
    assert adv[mask].std() == pytest.approx(1.0, rel=1e-6)


def test_one_adam_step_on_the_policy_gradient_increases_the_surrogate():
    rng = np.random.default_rng(0)
    params = numpy_policy.init_params(4, 2, rng=rng, out_scale=1.0)
    envs = rollout.make_vec("CartPole-v1", 8)
    try:
        batch = rollout.collect_episodes(envs, numpy_trainer.sampling_policy(params, rng), seed=0)
    finally:
        envs.close()
    m = batch.mask
    G = returns.reward_to_go(batch.rewards, 0.99, batch.dones)
    w = numpy_trainer.advantages(G, m)[m] / m.sum()
    obs, actions = batch.obs[m], batch.actions[m].astype(np.int64)

    J0, grads = numpy_policy.policy_gradient(params, obs, actions, w)
    step = {k: 1e-3 * g for k, g in grads.items()}  # a small step along the gradient
    J_up = numpy_policy.policy_gradient({k: params[k] + step[k] for k in params}, obs, actions, w)[0]
    J_down = numpy_policy.policy_gradient({k: params[k] - step[k] for k in params}, obs, actions,
                                          w)[0]
    assert J_up > J0 > J_down  # the gradient points uphill

    before = {k: v.copy() for k, v in params.items()}
    numpy_policy.Adam(params, lr=1e-3, maximize=True).step(grads)
    for k in params:  # Adam's first step is lr * g / (|g| + eps) ≈ lr * sign(g): uphill
        delta, g = params[k] - before[k], grads[k]
        assert np.all(np.sign(delta) == np.sign(g))
        big = np.abs(g) > 1e-4
        np.testing.assert_allclose(delta[big], 1e-3 * np.sign(g[big]), rtol=1e-3)
    J1 = numpy_policy.policy_gradient(params, obs, actions, w)[0]
    assert J1 > J0


def test_a_short_run_records_a_consistent_history():
    h = numpy_trainer.train(seed=3, max_env_steps=2_000, target=None)
    n = len(h.env_steps)
    assert n >= 2
    assert all(len(x) == n for x in (h.seconds, h.mean_return, h.episode_returns, h.entropy))
    assert np.all(np.diff(h.env_steps) > 0) and h.env_steps[-1] >= 2_000
    assert h.env_steps[-1] - h.env_steps[-2] < 2_000  # it stopped right after the budget
    assert h.evaluations == [] and not h.solved and h.solved_at is None
    assert h.entropy[0] == pytest.approx(np.log(2), abs=0.05)  # an almost uniform start
    assert all(len(r) >= 16 for r in h.episode_returns)  # at least one episode per env
    np.testing.assert_allclose(h.mean_return, [r.mean() for r in h.episode_returns])
    assert h.wall_s >= h.seconds[-1] > 0
    s = h.summary()
    assert s["trainer"] == "numpy" and s["env_steps"] == h.env_steps[-1] and not s["solved"]


def test_training_is_reproducible_and_changes_the_weights():
    a = numpy_trainer.train(seed=1, max_env_steps=1_000, target=None)
    b = numpy_trainer.train(seed=1, max_env_steps=1_000, target=None, hidden=(64,))
    c = numpy_trainer.train(seed=2, max_env_steps=1_000, target=None)
    init = numpy_policy.init_params(4, 2, 64, np.random.default_rng(1))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
        assert not np.allclose(a.params[k], init[k])
    assert not np.allclose(a.params["W1"], c.params["W1"])


def test_an_easy_target_is_evaluated_and_reached():
    # target 15: a random policy's mean return on CartPole is about 22, so the first batch
    # triggers an evaluation with sampled actions and training stops there
    h = numpy_trainer.train(seed=0, max_env_steps=50_000, target=15.0, eval_episodes=20)
    assert h.solved and h.solved_at == h.env_steps[-1] == h.evaluations[-1][0]
    assert h.evaluations[-1][1] >= 15.0 and h.solved_seconds <= h.wall_s


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"seed": 1.5}, "seed must be a non-negative integer"),
    ({"max_env_steps": 0}, "max_env_steps must be a positive integer"),
    ({"hidden": (64, 64)}, "hidden must be an int or a 1-tuple"),
    ({"hidden": 0}, "hidden must be a positive integer"),
])
def test_train_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        numpy_trainer.train(**kwargs)
