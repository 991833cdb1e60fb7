r"""REINFORCE on CartPole-v1 with the NumPy policy of notebook 02, written to be read top to bottom.

The same shape as ``torch_trainer`` (a :class:`Config`, a :class:`rlcourse.trainer.History`),
with notebook 02's hand-written forward and backward passes instead of autograd. One update:

1. **collect** one whole episode in each of N environments run side by side, every action
   sampled from the current softmax policy (``rollout.collect_episodes``: on-policy);
2. **returns and advantages** (``returns.advantages``, default ``"normalized"``: reward-to-go
   minus the per-step batch mean, standardised);
3. **the gradient of the objective** :math:`\frac1N\sum_i\sum_t A_{i,t}\log\pi(a_{i,t}\mid
   s_{i,t})` by hand (``numpy_policy.policy_gradient`` with weights A/N), the surrogate loss
   being its negative;
4. **one Adam step up** that gradient (``numpy_policy.Adam(maximize=True)``);
5. **log**, and when the batch's mean return reaches the target, **evaluate** on fresh episodes,
   sampling actions as in training (conventions §6; the argmax would be a different
   policy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rlcourse import numpy_policy, returns, rollout, runtime, trainer, validate
from rlcourse.trainer import History

CARTPOLE_THRESHOLD = 475.0  # gymnasium's reward_threshold for CartPole-v1
INIT = 2  # trainer.derive_seed(seed, INIT): the stream of the initial weights


@dataclass
class Config(trainer.Config):
    """:class:`rlcourse.trainer.Config` with this trainer's defaults (16 environments, Adam
    2e-2, one hidden layer of 64: the NumPy policy has exactly one hidden layer)."""

    num_envs: int = 16
    lr: float = 2e-2
    hidden: tuple[int, ...] = (64,)
    max_env_steps: int = 300_000

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.hidden) != 1:
            raise ValueError(f"hidden must hold one width (the NumPy policy has one hidden "
                             f"layer), got {self.hidden!r}")


def sampling_policy(params: dict[str, np.ndarray], rng: np.random.Generator):
    """A function obs (N, D) -> actions (N,) that samples from the softmax policy with ``rng``.

    It reads ``params`` at every call, so it follows updates made to them in place."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")

    def act(obs: np.ndarray) -> np.ndarray:
        logits, _ = numpy_policy.forward(params, obs)
        return numpy_policy.sample_actions(numpy_policy.softmax(logits), rng)
    return act


def make_params(envs, config: Config) -> dict[str, np.ndarray]:
    """Fresh weights of the D-hidden-A tanh softmax policy, drawn from their own stream of
    ``config.seed``."""
    n_actions = trainer.require_discrete(envs, "numpy_trainer")
    rng = np.random.default_rng(trainer.derive_seed(config.seed, INIT))
    return numpy_policy.init_params(envs.single_observation_space.shape[0], n_actions,
                                    config.hidden[0], rng)


def evaluate(params: dict[str, np.ndarray], env_id: str = "CartPole-v1", episodes: int = 100,
             seed: int = 0) -> np.ndarray:
    """Undiscounted returns of ``episodes`` fresh episodes, actions sampled from π; shape
    (episodes,). ``seed`` seeds the environments and the draws."""
    episodes = validate.integer("episodes", episodes, low=1)
    return rollout.evaluate(env_id, sampling_policy(params, np.random.default_rng(seed)),
                            episodes, seed=seed)


def train(config: Config | None = None, *, device=None, progress: bool = False,
          callback: Callable[[History], None] | None = None, **fields) -> History:
    """Train the NumPy softmax policy with REINFORCE until solved or out of steps.

    Args:
        config: a :class:`Config` (default ``Config()``); ``fields`` replace some of its
            fields, e.g. ``train(seed=1)``.
        device: must resolve (``runtime.get_device``) to the CPU, or be None: NumPy runs there.
        progress: show a progress bar over environment steps.
        callback: called with the history after every update.

    Returns:
        A :class:`rlcourse.trainer.History`; ``history.policy`` is the parameter dict.
    """
    config = trainer.make_config(Config, config, fields)
    if device is not None and runtime.get_device(device).type != "cpu":
        raise ValueError(f"device must be the CPU (or None): the NumPy trainer runs in NumPy, "
                         f"got {device!r}")
    envs = rollout.make_vec(config.env_id, config.num_envs)
    bar = trainer.progress_bar(config, progress, f"seed {config.seed}")
    try:
        cfg = config
        rng = np.random.default_rng(cfg.seed)  # every action draw of training
        params = make_params(envs, cfg)
        optimiser = numpy_policy.Adam(params, lr=cfg.lr, maximize=True)  # updates params in place
        history = History(params, cfg)
        envs.reset(seed=cfg.seed)
        while not history.done:
            # 1. Collect one episode per environment, every action sampled by the current policy.
            batch = rollout.collect_episodes(envs, sampling_policy(params, rng))
            m = batch.mask
            # 2. Returns and advantages: A_t of every step, (T, N).
            adv = returns.advantages(batch.rewards, batch.dones, cfg.gamma, cfg.advantage,
                                     mask=m)
            # 3. The objective (1/N) sum_i sum_t A_t log pi(a_t|s_t) and its gradient, by hand.
            objective, grads = numpy_policy.policy_gradient(
                params, batch.obs[m], batch.actions[m].astype(np.int64), adv[m] / cfg.num_envs)
            # 4. One Adam step up the gradient.
            optimiser.step(grads)
            # 5. Log (the loss is minus the objective); evaluate once the batch looks solved.
            history.log(batch.env_steps, batch.returns, -objective)
            if history.evaluation_due():
                scores = evaluate(params, cfg.env_id, cfg.eval_episodes,
                                  history.evaluation_seed())
                history.record_evaluation(scores.mean())
            bar.update(batch.env_steps)
            bar.set_postfix(mean_return=f"{history.mean_return[-1]:.0f}")
            if callback is not None:
                callback(history)
        trainer.finish_bar(bar, history)
    finally:
        envs.close()
        bar.close()
    return history
