"""REINFORCE on CartPole-v1 with the NumPy policy of notebook 02, written to be read top to bottom.

One update:

1. run ``num_envs`` environments side by side until each has finished an episode, sampling
   actions from the softmax policy (:class:`rlcourse.rollout.EpisodeCollector`: episodes still
   running at the end of a batch are completed in the next, so no step is thrown away);
2. reward-to-go G_t with discount γ for every step (:func:`rlcourse.returns.reward_to_go`);
3. advantage A_t = G_t − b_t with b_t the mean of G_t over the episodes still running at step
   t, then standardised over the batch (mean 0, standard deviation 1)
   (:func:`rlcourse.returns.batch_mean_baseline`, :func:`rlcourse.returns.normalize`);
4. the gradient of :math:`\\frac{1}{n}\\sum_{t,i} A_{t,i} \\log\\pi(a_{t,i} \\mid s_{t,i})` by
   hand (:func:`rlcourse.numpy_policy.policy_gradient`), and one Adam step *up* that gradient.

When the mean return of an update's episodes reaches ``target``, the policy is evaluated on
``eval_episodes`` fresh episodes, **sampling** its actions as it does in training (the argmax
would be a different, usually better, policy); training stops once that evaluation reaches
``target``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rlcourse import numpy_policy, returns, rollout

CARTPOLE_THRESHOLD = 475.0  # gymnasium's reward_threshold for CartPole-v1


@dataclass
class History:
    """What :func:`train` did: one entry per update in the lists (``evaluations``: one per
    evaluation). Field names follow :class:`rlcourse.torch_trainer.History`.

    ``env_steps`` counts every environment step of training, not those of evaluations;
    ``seconds`` is the wall time since the start after each update, evaluations included;
    ``entropy`` the policy's mean entropy (nats) on the batch's states after the update.
    ``solved_at`` is the env-step count of the first evaluation that reached the target
    (None if none), ``solved_seconds`` its wall time; ``wall_s`` is the whole run's.
    """

    seed: int
    params: dict[str, np.ndarray]
    env_steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    mean_return: list[float] = field(default_factory=list)
    episode_returns: list[np.ndarray] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    evaluations: list[tuple[int, float]] = field(default_factory=list)  # (env_steps, mean)
    solved_at: int | None = None
    solved_seconds: float | None = None
    wall_s: float = 0.0

    @property
    def solved(self) -> bool:
        return self.solved_at is not None

    def summary(self) -> dict:
        """A JSON-friendly summary of the run (for benchmarks/cartpole.py)."""
        return {"trainer": "numpy", "seed": self.seed, "solved": self.solved,
                "solved_at": self.solved_at, "solved_seconds": self.solved_seconds,
                "updates": len(self.env_steps),
                "env_steps": self.env_steps[-1] if self.env_steps else 0,
                "wall_s": self.wall_s,
                "last_eval": self.evaluations[-1][1] if self.evaluations else None}


def sampling_policy(params: dict[str, np.ndarray], rng: np.random.Generator):
    """A function obs (N, D) -> actions (N,) that samples from the softmax policy."""
    def act(obs: np.ndarray) -> np.ndarray:
        logits, _ = numpy_policy.forward(params, obs)
        return numpy_policy.sample_actions(numpy_policy.softmax(logits), rng)
    return act


def advantages(G: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """G_t minus the per-step batch mean b_t, standardised over the real steps; shape (T, N).

    ``G`` and ``mask`` have shape (T, N); entries outside the episodes (``mask`` False) are 0.
    """
    return returns.normalize(G - returns.batch_mean_baseline(G, mask), mask)


def train(env_id: str = "CartPole-v1", *, seed: int = 0, max_env_steps: int = 300_000,
          num_envs: int = 16, lr: float = 2e-2, gamma: float = 0.99,
          hidden: int | tuple[int] = 64,
          target: float | None = CARTPOLE_THRESHOLD, eval_episodes: int = 100,
          progress: bool = False) -> History:
    """Train a D-hidden-A tanh softmax policy with REINFORCE; returns its :class:`History`.

    Args:
        env_id: a gymnasium environment with a vector observation and discrete actions.
        seed: seeds the weights, the action sampling and the environments.
        max_env_steps: stop after this many training environment steps.
        num_envs: environments run side by side; each finishes at least one episode per update.
        lr: Adam's step size (ascent). gamma: discount of the reward-to-go.
        hidden: width of the hidden layer (an int, or a 1-tuple as torch_trainer takes).
        target: evaluate once a batch's mean return reaches it, stop once the mean return of
            ``eval_episodes`` evaluation episodes does; None never evaluates.
        progress: show a tqdm bar over env steps.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(max_env_steps, (int, np.integer)) or max_env_steps < 1:
        raise ValueError(f"max_env_steps must be a positive integer, got {max_env_steps!r}")
    if isinstance(hidden, tuple):
        if len(hidden) != 1:
            raise ValueError(f"hidden must be an int or a 1-tuple (the NumPy policy has one "
                             f"hidden layer), got {hidden!r}")
        hidden = hidden[0]
    if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or hidden < 1:
        raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    envs = rollout.make_vec(env_id, num_envs)
    obs_dim = envs.single_observation_space.shape[0]
    n_actions = int(envs.single_action_space.n)
    params = numpy_policy.init_params(obs_dim, n_actions, hidden, rng)
    optimiser = numpy_policy.Adam(params, lr=lr, maximize=True)
    act = sampling_policy(params, rng)  # reads params, which Adam updates in place
    collector = rollout.EpisodeCollector(envs, seed=int(seed))
    history = History(seed=int(seed), params=params)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=max_env_steps, unit="step", desc=f"seed {seed}")

    steps = 0
    update = 0
    try:
        while steps < max_env_steps:
            # 1. at least one whole episode per environment, all N actions in one forward pass
            batch = collector.collect(act)
            steps += batch.env_steps

            # 2-3. reward-to-go, baseline, standardisation: one weight per real step
            G = returns.reward_to_go(batch.rewards, gamma, batch.dones)
            adv = advantages(G, batch.mask)

            # 4. gradient of the mean of A_t log π(a_t|s_t) over the real steps, then ascend
            m = batch.mask
            _, grads = numpy_policy.policy_gradient(params, batch.obs[m],
                                                    batch.actions[m].astype(np.int64),
                                                    adv[m] / m.sum())
            optimiser.step(grads)
            update += 1

            # bookkeeping
            logits, _ = numpy_policy.forward(params, batch.obs[m])
            p = numpy_policy.softmax(logits)
            history.env_steps.append(steps)
            history.mean_return.append(float(batch.returns.mean()))
            history.episode_returns.append(batch.returns.copy())
            history.entropy.append(float(-(p * numpy_policy.log_softmax(logits)).sum(1).mean()))
            if bar is not None:
                bar.update(batch.env_steps)
                bar.set_postfix(mean_return=f"{batch.returns.mean():.0f}")

            if target is not None and batch.returns.mean() >= target:
                score = rollout.evaluate(env_id, sampling_policy(params, rng), eval_episodes,
                                         seed=int(seed) + 10_000 + update).mean()
                history.evaluations.append((steps, float(score)))
                if score >= target:
                    history.solved_at = steps
                    history.solved_seconds = time.perf_counter() - start
            history.seconds.append(time.perf_counter() - start)
            if history.solved:
                break
    finally:
        envs.close()
        if bar is not None:
            bar.close()
    history.wall_s = time.perf_counter() - start
    return history
