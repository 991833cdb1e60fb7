"""The NumPy REINFORCE trainer's update: the gradient points uphill and Adam(maximize=True) climbs
it (the shared shape is tested in test_trainers.py, the signs in test_signs.py)."""

import numpy as np

from rlcourse import numpy_policy, numpy_trainer, returns, rollout


def test_one_adam_step_on_the_policy_gradient_increases_the_surrogate():
    rng = np.random.default_rng(0)
    params = numpy_policy.init_params(4, 2, rng=rng, out_scale=1.0)
    envs = rollout.make_vec("CartPole-v1", 8)
    try:
        batch = rollout.collect_episodes(envs, numpy_trainer.sampling_policy(params, rng), seed=0)
    finally:
        envs.close()
    m = batch.mask
    w = returns.advantages(batch.rewards, batch.dones, 0.99, mask=m)[m] / m.shape[1]
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
