"""Batched REINFORCE in PyTorch over gymnasium vector environments (03_torch_cross_entropy).

Read top to bottom, like a CleanRL script: every update

1. runs N environments side by side until each has finished an episode, sampling all N actions
   with one forward pass per vector step (``rollout.EpisodeCollector``; episodes still running at
   the end of a batch are completed in the next, so no step is wasted). Sampling needs no
   gradient: by default it runs on a NumPy snapshot of the weights taken after each update
   (``policy.numpy_sampler``), because on a CPU torch's per-call overhead on a dozen rows costs
   more than the arithmetic, as much as the environment step itself; ``acting="torch"``
   samples with ``policy.act``;
2. turns the rewards into weights Ψ_t (reward-to-go, minus a baseline, normalised: see
   :func:`advantages`);
3. takes one gradient step on the return-weighted cross-entropy Σ_t Ψ_t CE(f_θ(s_t), a_t), with
   one forward and one backward pass over the whole batch;
4. when the batch's mean return reaches the target, evaluates the policy on 100 fresh episodes
   and stops once their mean return does too (CartPole-v1: 475).

Evaluation episodes are not counted in ``env_steps``: only the steps the learner trained on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from rlcourse import returns, rollout, runtime
from rlcourse.torch_policy import CategoricalPolicy, ValueNet, cross_entropy_loss

ACTING = ("numpy", "torch")
ADVANTAGES = ("whole_episode", "reward_to_go", "constant_baseline", "batch_mean_baseline",
              "value_baseline", "normalized")


def advantages(batch: rollout.EpisodeBatch, gamma: float, kind: str = "normalized",
               values: np.ndarray | None = None) -> np.ndarray:
    """The weights Ψ_t of every step of a batch, shape (T, N), 0 where ``batch.mask`` is False.

    ``kind`` (the variants 03 compares):

    - ``"whole_episode"``: G_0, the discounted return of the whole episode, at every step;
    - ``"reward_to_go"``: G_t, only the rewards after the action;
    - ``"constant_baseline"``: G_t − b, b the mean of all G_t in the batch;
    - ``"batch_mean_baseline"``: G_t − b_t, b_t the mean of G_t over the batch's episodes at t;
    - ``"value_baseline"``: G_t − V(s_t), with ``values`` (T, N) the learned baseline's output;
    - ``"normalized"``: G_t − b_t, then standardised over the batch (the trainer's default).
    """
    if kind not in ADVANTAGES:
        raise ValueError(f"kind must be one of {ADVANTAGES}, got {kind!r}")
    m = batch.mask
    if kind == "whole_episode":
        return returns.whole_episode_returns(batch.rewards, gamma, batch.dones) * m
    g = returns.reward_to_go(batch.rewards, gamma, batch.dones)
    if kind == "reward_to_go":
        return g * m
    if kind == "constant_baseline":
        return (g - returns.constant_baseline(g, m)) * m
    if kind == "value_baseline":
        if values is None or np.shape(values) != g.shape:
            raise ValueError(f"kind='value_baseline' needs values of shape {g.shape}, "
                             f"got {None if values is None else np.shape(values)}")
        return (g - values) * m
    adv = g - returns.batch_mean_baseline(g, m)
    return returns.normalize(adv, m) if kind == "normalized" else adv * m


@dataclass
class History:
    """What :func:`train` did, one entry per update (evaluations: one per evaluation)."""

    policy: CategoricalPolicy
    env_steps: list[int] = field(default_factory=list)  # cumulative, after each update
    mean_return: list[float] = field(default_factory=list)  # the batch's undiscounted returns
    loss: list[float] = field(default_factory=list)
    evaluations: list[tuple[int, float]] = field(default_factory=list)  # (env_steps, mean)
    solved_at: int | None = None  # env steps when the evaluation first reached the target
    wall_s: float = 0.0

    @property
    def solved(self) -> bool:
        return self.solved_at is not None


def train(env_id: str = "CartPole-v1", *, seed: int = 0, num_envs: int = 12, gamma: float = 0.99,
          lr: float = 5e-2, hidden: tuple[int, ...] = (64,), advantage: str = "normalized",
          max_env_steps: int = 200_000, target: float | None = 475.0, eval_episodes: int = 100,
          vectorization_mode: str | None = None, acting: str = "numpy",
          progress: bool = True) -> History:
    """Train a categorical policy with batched REINFORCE; stop at ``target`` or ``max_env_steps``.

    Args:
        env_id: a gymnasium environment with a discrete action space.
        seed: seeds torch, NumPy and the environments.
        num_envs: N, episodes per update (one per environment of the vector env). The defaults
            of ``num_envs`` and ``lr`` were chosen on CartPole-v1 seeds 100-119 (all solved).
        gamma: discount factor of the reward-to-go.
        lr: Adam's learning rate (the value network, if any, uses the same).
        hidden: hidden layer widths of the tanh MLP.
        advantage: one of :data:`ADVANTAGES` (see :func:`advantages`).
        max_env_steps: stop after this many training environment steps.
        target: evaluate once the batch's mean return reaches it, stop once the mean over
            ``eval_episodes`` evaluation episodes does; None never evaluates.
        vectorization_mode: how to run the N environments (see ``rollout.make_vec``); None
            takes gymnasium's own vectorised implementation where there is one (CartPole-v1:
            the same dynamics in NumPy arrays, several times faster than N copies), else N
            copies stepped in turn ("sync"). Evaluations use the same default.
        acting: how actions are sampled, in training and evaluation: ``"numpy"`` from a NumPy
            snapshot of the policy (``policy.numpy_sampler``, refreshed after every update; the
            faster on a CPU), ``"torch"`` with ``policy.act``. The same distribution either way.
        progress: show a tqdm bar.

    Returns:
        A :class:`History` (``history.policy`` is the trained policy).
    """
    if advantage not in ADVANTAGES:
        raise ValueError(f"advantage must be one of {ADVANTAGES}, got {advantage!r}")
    if acting not in ACTING:
        raise ValueError(f"acting must be one of {ACTING}, got {acting!r}")
    if max_env_steps < 1:
        raise ValueError(f"max_env_steps must be positive, got {max_env_steps}")
    start = time.perf_counter()
    rng = runtime.seed_everything(seed)
    mode = rollout.fastest_mode(env_id) if vectorization_mode is None else vectorization_mode
    envs = rollout.make_vec(env_id, num_envs, vectorization_mode=mode)
    obs_dim, n_actions = envs.single_observation_space.shape[0], int(envs.single_action_space.n)
    policy = CategoricalPolicy(obs_dim, n_actions, hidden)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    value_net = ValueNet(obs_dim, hidden) if advantage == "value_baseline" else None
    value_opt = torch.optim.Adam(value_net.parameters(), lr=lr) if value_net else None
    history = History(policy=policy)

    def sampler():  # the policy as it is now, as the collectors call it
        return policy.numpy_sampler(rng) if acting == "numpy" else policy.act

    collector = rollout.EpisodeCollector(envs, seed=seed)  # no step thrown away between updates
    env_steps = 0
    bar = tqdm(total=max_env_steps, disable=not progress, unit="step", desc=env_id)
    try:
        while env_steps < max_env_steps:
            # 1. One episode per environment, one forward pass per vector step.
            batch = collector.collect(sampler())
            env_steps += batch.env_steps
            obs = torch.as_tensor(batch.obs, dtype=torch.float32)  # (T, N, obs_dim)
            mask = torch.as_tensor(batch.mask)

            # 2. The weight of every step.
            values = None
            if value_net is not None:
                with torch.no_grad():
                    values = value_net(obs).double().numpy()
            adv = advantages(batch, gamma, advantage, values)

            # 3. One forward and one backward pass over the batch's real steps.
            logits = policy(obs[mask])
            actions = torch.as_tensor(batch.actions)[mask]
            loss = cross_entropy_loss(logits, actions, torch.as_tensor(adv, dtype=torch.float32)[mask])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if value_net is not None:  # regress V(s_t) on G_t
                g = torch.as_tensor(returns.reward_to_go(batch.rewards, gamma, batch.dones),
                                    dtype=torch.float32)[mask]
                value_loss = ((value_net(obs[mask]) - g) ** 2).mean()
                value_opt.zero_grad()
                value_loss.backward()
                value_opt.step()

            history.env_steps.append(env_steps)
            history.mean_return.append(float(batch.returns.mean()))
            history.loss.append(float(loss.detach()))
            bar.update(batch.env_steps)
            bar.set_postfix(ret=f"{batch.returns.mean():.0f}")

            # 4. Evaluate on fresh episodes once training episodes look good enough.
            if target is not None and batch.returns.mean() >= target:
                score = float(rollout.evaluate(env_id, sampler(), eval_episodes,
                                               seed=10_000 + 1000 * seed + len(history.loss),
                                               vectorization_mode=mode).mean())
                history.evaluations.append((env_steps, score))
                bar.set_postfix(ret=f"{batch.returns.mean():.0f}", eval=f"{score:.0f}")
                if score >= target:
                    history.solved_at = env_steps
                    break
    finally:
        bar.close()
        envs.close()
    history.wall_s = time.perf_counter() - start
    return history
