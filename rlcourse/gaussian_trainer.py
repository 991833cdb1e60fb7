r"""REINFORCE with a Gaussian policy on the batched torch Pendulum (04_gaussian_policies_gpu).

:func:`train` runs :func:`_loop`, whose lines between the markers ``on the page`` and
``end of the page`` are notebook 04's cell tagged ``reinforce-loop``: the build copies them
there (``python -m rlcourse_authoring build``; ``build --check`` fails when the cell is stale).
Everything (policy, environments, rollouts, returns, update) lives on one device. Every update,
read top to bottom:

1. **collect** one 200-step episode in each of N Pendulums (:func:`collect`), a ~ N(μθ(s), σ²)
   sampled by the current policy with an explicit generator, no graph kept: on-policy;
2. **returns and advantages** (``returns.advantages``, default ``"normalized"``: reward-to-go
   minus the mean over the N episodes at the same step t, standardised);
3. **the surrogate loss** :math:`L = -\frac1N\sum_i\sum_t A_{i,t}\log\pi_\theta(a_{i,t}\mid
   s_{i,t})`, log π summed over the action dimensions, of the *sampled* action (the env clips
   it to [-2, 2]; the policy never sees the clipped one);
4. **one Adam step**;
5. **log**, and every ``eval_every`` updates **evaluate** the mean action μθ(s) (conventions §6)
   on ``eval_episodes`` fresh episodes; stop once that reaches ``target + stop_margin``.

No step leaves the device: the loop reads numbers back to the host once per update (the log),
never once per environment step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from rlcourse import returns, runtime, trainer, validate
from rlcourse.envs import pendulum
from rlcourse.gaussian_policy import GaussianPolicy
from rlcourse.trainer import History

ENV_ID = "Pendulum-v1"
HORIZON = pendulum.MAX_EPISODE_STEPS


@dataclass
class Config(trainer.Config):
    """:class:`rlcourse.trainer.Config` with this trainer's defaults (tuned on a 2-core CPU,
    see benchmarks/pendulum.py), plus ``log_std_init``, the initial log σ.

    ``max_env_steps`` 300 updates of 512 × 200 steps; the evaluation (mean action, 1000
    batched episodes: cheap, and precise to a few points) runs every 5 updates; the run counts
    as solved at −200 and stops at −180, a margin that lets the policy also pass a separate
    100-episode test on gymnasium's own Pendulum-v1.
    """

    env_id: str = ENV_ID
    num_envs: int = 512
    lr: float = 0.02
    hidden: tuple[int, ...] = (32, 32)
    max_env_steps: int = 300 * 512 * HORIZON
    target: float | None = -200.0
    stop_margin: float = 20.0
    eval_every: int | None = 5
    eval_episodes: int = 1000
    log_std_init: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.env_id != ENV_ID:
            raise ValueError(f"env_id must be {ENV_ID!r} (the batched torch Pendulum), "
                             f"got {self.env_id!r}")
        self.log_std_init = float(validate.number("log_std_init", self.log_std_init))


def make_policy(config: Config, device: torch.device) -> GaussianPolicy:
    """A fresh Gaussian policy for Pendulum (3 observations, 1 torque), initial weights drawn
    from ``config.seed`` inside ``torch.random.fork_rng`` (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        policy = GaussianPolicy(3, 1, config.hidden, config.log_std_init)
    return policy.to(device)


@torch.no_grad()
def collect(env: pendulum.BatchedPendulum, policy: GaussianPolicy, steps: int,
            generator: torch.Generator | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reset all N envs and run ``steps`` steps with actions sampled from ``policy``.

    Returns:
        ``(observations (T, N, obs_dim), actions (T, N, d), rewards (T, N), dones (T, N))`` on
        the env's device, no graph; the actions are the sampled ones, before the env clips them.
    """
    obs, _ = env.reset()
    observations = obs.new_empty(steps, env.num_envs, obs.shape[1])
    actions = obs.new_empty(steps, env.num_envs, policy.act_dim)
    rewards = obs.new_empty(steps, env.num_envs)
    dones = torch.empty(steps, env.num_envs, dtype=torch.bool, device=obs.device)
    for t in range(steps):
        observations[t] = obs
        actions[t] = policy.act(obs, generator=generator)
        obs, rewards[t], terminated, truncated, _ = env.step(actions[t])
        dones[t] = terminated | truncated
    return observations, actions, rewards, dones


@torch.no_grad()
def evaluate(policy: GaussianPolicy, episodes: int = 100, seed: int = 0,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Returns of ``episodes`` whole episodes of the deterministic policy (mean action), in the
    batched torch Pendulum on ``device`` (default: the policy's device); shape (episodes,)."""
    param = next(policy.parameters())
    device = param.device if device is None else runtime.get_device(device)
    env = pendulum.BatchedPendulum(episodes, device=device, dtype=param.dtype)
    obs, _ = env.reset(seed=seed)
    total = torch.zeros(episodes, device=env.device, dtype=env.dtype)
    for _ in range(env.max_episode_steps):
        obs, reward, _, _, _ = env.step(policy.act(obs, deterministic=True))
        total += reward
    return total


def evaluate_gymnasium(policy: GaussianPolicy, episodes: int = 100, seed: int = 0) -> np.ndarray:
    """Returns of ``episodes`` episodes of gymnasium's own Pendulum-v1 (a ``SyncVectorEnv``,
    env i seeded with ``seed + i``) under the deterministic policy; shape (episodes,)."""
    import gymnasium as gym

    param = next(policy.parameters())
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("Pendulum-v1")] * episodes)
    obs, _ = envs.reset(seed=seed)
    total = np.zeros(episodes)
    done = np.zeros(episodes, dtype=bool)
    while not done.all():
        o = torch.as_tensor(obs, dtype=param.dtype, device=param.device)
        action = policy.act(o, deterministic=True).cpu().numpy()
        obs, reward, terminated, truncated, _ = envs.step(action)
        total += np.where(done, 0.0, reward)
        done |= terminated | truncated
    envs.close()
    return total


def train(config: Config | None = None, *, device: torch.device | str | None = None,
          progress: bool = False, callback: Callable[[History], None] | None = None,
          **fields) -> History:
    """Train a :class:`GaussianPolicy` on the batched Pendulum with REINFORCE.

    Args:
        config: a :class:`Config` (default ``Config()``); ``fields`` replace some of its
            fields, e.g. ``train(seed=3, num_envs=1024)``.
        device: where everything runs, resolved by ``runtime.get_device`` (default: CUDA, then
            MPS, else the CPU; ``RLCOURSE_DEVICE`` overrides).
        progress: show a progress bar over environment steps.
        callback: called with the history after every update.

    Returns:
        A :class:`rlcourse.trainer.History`; ``history.policy`` is the trained policy and
        ``history.metrics["std"]`` its σ after each update.
    """
    config = trainer.make_config(Config, config, fields)
    device = runtime.get_device(device)
    bar = trainer.progress_bar(config, progress, "REINFORCE")
    try:
        with runtime.torch_threads(config.threads):
            history = _loop(config, device, bar, callback)
        trainer.finish_bar(bar, history)
        return history
    finally:
        bar.close()


def _loop(config, device, bar, callback) -> History:
    # --- on the page: notebook 04's loop cell is these lines (the build copies them) -------
    cfg = config
    gen = torch.Generator(device).manual_seed(cfg.seed)  # every action draw of training
    env = pendulum.BatchedPendulum(cfg.num_envs, device=device)
    env.reset(seed=cfg.seed)
    policy = make_policy(cfg, device)  # initial weights drawn from cfg.seed
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    history = trainer.History(policy, cfg)
    while not history.done:
        # 1. Collect one 200-step episode per environment, sampled by the current policy.
        obs, actions, rewards, dones = collect(env, policy, env.max_episode_steps, gen)
        # 2. Returns and advantages: A_t of every step, (T, N).
        adv = returns.advantages(rewards, dones, cfg.gamma, cfg.advantage)
        # 3. The surrogate loss -(1/N) sum_i sum_t A_t log pi(a_t|s_t), log pi summed over dims.
        log_pi = policy.log_prob(obs.flatten(0, 1), actions.flatten(0, 1)).view_as(adv)
        loss = trainer.surrogate_loss(log_pi, adv, cfg.num_envs)
        # 4. One optimiser step: descending L ascends J.
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # 5. Log; every eval_every updates, evaluate the mean action on fresh episodes.
        history.log(rewards.numel(), rewards.sum(0), loss, std=policy.log_std.exp().mean())
        if history.evaluation_due():
            scores = evaluate(policy, cfg.eval_episodes, history.evaluation_seed())
            history.record_evaluation(scores.mean())
        # --- end of the page --------------------------------------------------------------
        bar.update(rewards.numel())
        if history.evaluations:
            bar.set_postfix(eval=f"{history.evaluations[-1][1]:.0f}",
                            sigma=f"{history.metrics['std'][-1]:.2f}")
        if callback is not None:
            callback(history)
    return history
