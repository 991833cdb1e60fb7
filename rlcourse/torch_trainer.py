r"""Batched REINFORCE in PyTorch on gymnasium's CartPole (03_torch_cross_entropy).

:func:`train` runs :func:`_loop`, whose lines between the markers ``on the page`` and
``end of the page`` are notebook 03's cell tagged ``reinforce-loop``: the build copies them
there (``python -m rlcourse_authoring build``; ``build --check`` fails when the cell is stale).
Every update, read top to bottom:

1. **collect** one whole episode in each of N environments run side by side
   (``rollout.collect_episodes``), every action sampled by the current policy, one forward pass
   per vector step: on-policy, nothing is carried over from an earlier policy;
2. **returns and advantages**: A_t for every step (``returns.advantages``, default
   ``"normalized"``: reward-to-go minus the per-step batch mean, standardised);
3. **the surrogate loss** :math:`L = -\frac1N\sum_i\sum_t A_{i,t}\log\pi_\theta(a_{i,t}\mid
   s_{i,t})` (``trainer.surrogate_loss``), with log π from ``torch.distributions.Categorical``;
4. **one Adam step** on L (a descent on L is an ascent on J);
5. **log**, and once the batch's mean return reaches the target, **evaluate** the policy on
   ``eval_episodes`` fresh episodes, sampling its actions as in training (conventions §6); stop
   when that evaluation reaches the target too (CartPole-v1: 475).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.distributions import Categorical

from rlcourse import returns, rollout, runtime, trainer
from rlcourse.torch_policy import CategoricalPolicy
from rlcourse.trainer import History


@dataclass
class Config(trainer.Config):
    """:class:`rlcourse.trainer.Config` with this trainer's defaults: 24 environments and Adam's
    learning rate 7e-2. Of the settings swept on CartPole-v1 seeds 100-119 with the 4-64-2
    network (12-64 environments, lr 5e-2 to 1e-1), the one with the lowest median wall time to
    solve among those that solved all 20 seeds in a median of at most 100k environment steps;
    not chosen on the benchmark's seeds 0-4."""

    num_envs: int = 24
    lr: float = 7e-2
    hidden: tuple[int, ...] = (64,)


def make_policy(envs, config: Config, device: torch.device) -> CategoricalPolicy:
    """A fresh tanh MLP policy for ``envs``, its initial weights drawn from ``config.seed``
    (inside ``torch.random.fork_rng``: the caller's global RNG is left as it was)."""
    n_actions = trainer.require_discrete(envs, "torch_trainer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        policy = CategoricalPolicy(envs.single_observation_space.shape[0], n_actions,
                                   config.hidden)
    return policy.to(device)


def evaluate(policy: CategoricalPolicy, env_id: str = "CartPole-v1", episodes: int = 100,
             seed: int = 0) -> np.ndarray:
    """Undiscounted returns of ``episodes`` fresh episodes, actions **sampled** from π (the
    stochastic policy that was trained); shape (episodes,). ``seed`` seeds the environments and
    the draws (a generator of its own: training's stream is not touched)."""
    device = next(policy.parameters()).device
    gen = torch.Generator(device).manual_seed(seed)
    return rollout.evaluate(env_id, lambda obs: policy.act(obs, generator=gen), episodes,
                            seed=seed)


def train(config: Config | None = None, *, device: torch.device | str | None = "cpu",
          progress: bool = False, callback: Callable[[History], None] | None = None,
          **fields) -> History:
    """Train a categorical policy with batched REINFORCE until solved or out of steps.

    Args:
        config: a :class:`Config` (default ``Config()``); ``fields`` replace some of its fields,
            e.g. ``train(seed=1, num_envs=8)``.
        device: where the policy lives, resolved by ``runtime.get_device`` (default the CPU:
            CartPole's environments step in NumPy, and a 4-64-2 network is fastest there).
        progress: show a progress bar over environment steps.
        callback: called with the history after every update.

    Returns:
        A :class:`rlcourse.trainer.History`; ``history.policy`` is the trained policy.
    """
    config = trainer.make_config(Config, config, fields)
    device = runtime.get_device(device)
    with runtime.torch_threads(config.threads):
        envs = rollout.make_vec(config.env_id, config.num_envs,
                                vectorization_mode=rollout.fastest_mode(config.env_id))
        bar = trainer.progress_bar(config, progress, config.env_id)
        try:
            history = _loop(config, device, envs, bar, callback)
            trainer.finish_bar(bar, history)
            return history
        finally:
            bar.close()
            envs.close()


def _loop(config, device, envs, bar, callback) -> History:
    # --- on the page: notebook 03's loop cell is these lines (the build copies them) -------
    cfg = config
    gen = torch.Generator(device).manual_seed(cfg.seed)  # every action draw of training
    policy = make_policy(envs, cfg, device)  # initial weights drawn from cfg.seed
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    history = trainer.History(policy, cfg)
    envs.reset(seed=cfg.seed)
    while not history.done:
        # 1. Collect one episode per environment, every action sampled by the current policy.
        batch = rollout.collect_episodes(envs, lambda obs: policy.act(obs, generator=gen))
        m = batch.mask  # (T, N): step t belongs to episode i
        # 2. Returns and advantages: A_t of every step, (T, N).
        adv = returns.advantages(batch.rewards, batch.dones, cfg.gamma, cfg.advantage, mask=m)
        # 3. The surrogate loss -(1/N) sum_i sum_t A_t log pi(a_t|s_t) over the real steps.
        logits = policy(torch.as_tensor(batch.obs[m], device=device))
        log_pi = Categorical(logits=logits).log_prob(torch.as_tensor(batch.actions[m],
                                                                     device=device))
        a = torch.as_tensor(adv[m], dtype=log_pi.dtype, device=device)
        loss = trainer.surrogate_loss(log_pi, a, cfg.num_envs)
        # 4. One optimiser step: descending L ascends J.
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # 5. Log; evaluate on fresh episodes once the batch's episodes reach the target.
        history.log(batch.env_steps, batch.returns, loss)
        if history.evaluation_due():
            seed = history.evaluation_seed()  # fresh episodes and draws of its own
            scores = evaluate(policy, cfg.env_id, cfg.eval_episodes, seed)
            history.record_evaluation(scores.mean())
        # --- end of the page --------------------------------------------------------------
        bar.update(batch.env_steps)
        bar.set_postfix(ret=f"{history.mean_return[-1]:.0f}")
        if callback is not None:
            callback(history)
    return history
