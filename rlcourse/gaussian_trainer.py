r"""REINFORCE with a Gaussian policy on the batched torch Pendulum (taught in 04_gaussian_policies_gpu).

Everything (policy, environments, rollouts, returns, update) lives on one device. One update:

1. run N Pendulums for one 200-step episode each, sampling a ~ N(μθ(s), σ²) (no graph kept);
2. G_t = reward-to-go with discount γ (``returns.reward_to_go``), minus the baseline b_t = the
   mean of G_t over the N episodes at the same time step t, then normalised to mean 0, std 1;
3. loss = −mean over (t, n) of log πθ(a_t|s_t)·A_t, with log π of the *sampled* action (the env
   clips it to [-2, 2], the policy never sees the clipped one); one Adam step.

The loss is evaluated in chunks whose gradients add up to the full batch's gradient (gradient
accumulation): the same step, but activations that fit the CPU's caches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from rlcourse import returns, runtime
from rlcourse.envs import pendulum
from rlcourse.gaussian_policy import GaussianPolicy


@dataclass
class Config:
    """Hyper-parameters of :func:`train` (tuned for a 2-core CPU; see benchmarks/pendulum.py)."""

    num_envs: int = 512
    lr: float = 0.02
    gamma: float = 0.99
    hidden: tuple[int, ...] = (32, 32)
    log_std_init: float = 0.0
    max_updates: int = 300
    eval_every: int = 5
    eval_episodes: int = 1000  # batched: cheap, and a mean precise to a few points
    target: float = -200.0  # the score to reach; history.solved_* record when it first was
    stop_at: float | None = -180.0  # stop once the evaluation reaches this (None: never)
    seed: int = 0
    chunk_size: int | None = None  # None: 2048 on CPU (fits its caches), whole batch on a GPU

    def __post_init__(self) -> None:
        for name in ("num_envs", "max_updates", "eval_every", "eval_episodes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")


@dataclass
class History:
    """What :func:`train` records: per update, and per evaluation of the mean action."""

    env_steps: list[int] = field(default_factory=list)      # after each update
    train_return: list[float] = field(default_factory=list)  # mean return of the sampled episodes
    std: list[float] = field(default_factory=list)           # σ (mean over action dims)
    wall_s: list[float] = field(default_factory=list)
    eval_env_steps: list[int] = field(default_factory=list)
    eval_return: list[float] = field(default_factory=list)   # deterministic, eval_episodes episodes
    solved_env_steps: int | None = None  # env steps (training only) when target was first reached
    solved_wall_s: float | None = None
    solved_cpu_s: float | None = None  # this process's CPU time then (wall time without others' load)
    stopped: bool = False  # whether training stopped early, at stop_at

    def as_dict(self) -> dict:
        return asdict(self)


def collect(env: pendulum.BatchedPendulum, policy: GaussianPolicy, obs: torch.Tensor,
            steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                 torch.Tensor]:
    """Run ``steps`` steps in all N envs with actions sampled from ``policy``; no graph kept.

    Returns:
        ``(observations (T, N, obs_dim), actions (T, N, d), rewards (T, N), dones (T, N),
        next_obs (N, obs_dim))``: the actions are the sampled ones, before the env clips them.
    """
    n = env.num_envs
    observations = obs.new_empty(steps, n, obs.shape[1])
    actions = obs.new_empty(steps, n, policy.act_dim)
    rewards = obs.new_empty(steps, n)
    dones = torch.empty(steps, n, dtype=torch.bool, device=obs.device)
    with torch.no_grad():
        for t in range(steps):
            observations[t] = obs
            actions[t] = policy(obs).sample()
            obs, rewards[t], terminated, truncated, _ = env.step(actions[t])
            dones[t] = terminated | truncated
    return observations, actions, rewards, dones, obs


def advantages(rewards: torch.Tensor, dones: torch.Tensor, gamma: float) -> torch.Tensor:
    """Reward-to-go minus the per-time-step batch mean, normalised: shape (T, N), no gradient."""
    g = returns.reward_to_go(rewards, gamma, dones)
    return returns.normalize(g - returns.batch_mean_baseline(g))


def reinforce_loss(log_probs: torch.Tensor, adv: torch.Tensor) -> torch.Tensor:
    """−mean(log π(a|s)·A): its gradient is minus the REINFORCE estimate of ∇J."""
    return -(log_probs * adv).mean()


def accumulate_gradient(policy: GaussianPolicy, observations: torch.Tensor,
                        actions: torch.Tensor, adv: torch.Tensor, chunk_size: int) -> float:
    """Backpropagate :func:`reinforce_loss` over the whole batch, ``chunk_size`` rows at a time.

    Each chunk's loss is weighted by its share of the batch, so the accumulated ``.grad`` equals
    that of one pass over everything. Returns the loss value.
    """
    obs = observations.reshape(-1, observations.shape[-1])
    act = actions.reshape(-1, actions.shape[-1])
    a = adv.reshape(-1)
    total = 0.0
    for start in range(0, obs.shape[0], chunk_size):
        sl = slice(start, start + chunk_size)
        weight = a[sl].shape[0] / a.shape[0]
        loss = reinforce_loss(policy.log_prob(obs[sl], act[sl]), a[sl]) * weight
        loss.backward()
        total += float(loss.detach())
    return total


@torch.no_grad()
def evaluate(policy: GaussianPolicy, episodes: int = 100, seed: int = 0,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Returns of ``episodes`` whole episodes of the deterministic policy (mean action), in the
    batched torch Pendulum on ``device`` (default: the policy's device); shape (episodes,)."""
    device = next(policy.parameters()).device if device is None else device
    env = pendulum.BatchedPendulum(episodes, device=device,
                                   dtype=next(policy.parameters()).dtype)
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


def train(config: Config | None = None, device: torch.device | str | None = None,
          progress: bool = True,
          callback: Callable[[int, History], None] | None = None,
          ) -> tuple[GaussianPolicy, History]:
    """Train a :class:`GaussianPolicy` on the batched Pendulum with REINFORCE.

    Every ``config.eval_every`` updates the deterministic policy (mean action) plays
    ``config.eval_episodes`` fresh episodes; ``history.solved_*`` record when their mean return
    first reached ``config.target``. Training stops after ``config.max_updates`` updates, or
    once the evaluation reaches ``config.stop_at`` (a margin above the target, so that the
    policy also passes a separate 100-episode test on gymnasium's env).

    Args:
        config: hyper-parameters (default :class:`Config`).
        device: where everything runs (default ``runtime.get_device()``).
        progress: show a tqdm bar.
        callback: called as ``callback(update, history)`` after every update.

    Returns:
        ``(policy, history)``.
    """
    from tqdm.auto import tqdm

    cfg = config or Config()
    device = runtime.get_device() if device is None else torch.device(device)
    runtime.seed_everything(cfg.seed)
    env = pendulum.BatchedPendulum(cfg.num_envs, device=device)
    policy = GaussianPolicy(3, 1, cfg.hidden, cfg.log_std_init).to(device)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    chunk = cfg.chunk_size or (2048 if env.device.type == "cpu" else 1 << 62)
    horizon = env.max_episode_steps
    history = History()
    obs, _ = env.reset(seed=cfg.seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = tqdm(range(cfg.max_updates), disable=not progress, desc="REINFORCE", unit="update")
    for update in bar:
        observations, actions, rewards, dones, obs = collect(env, policy, obs, horizon)
        adv = advantages(rewards, dones, cfg.gamma)
        optimizer.zero_grad()
        accumulate_gradient(policy, observations, actions, adv, chunk)
        optimizer.step()

        steps = (update + 1) * cfg.num_envs * horizon
        history.env_steps.append(steps)
        history.train_return.append(float(rewards.sum(0).mean()))
        history.std.append(float(policy.log_std.detach().exp().mean()))
        history.wall_s.append(time.perf_counter() - start)
        if (update + 1) % cfg.eval_every == 0 or update + 1 == cfg.max_updates:
            score = float(evaluate(policy, cfg.eval_episodes, seed=10_000 + update).mean())
            history.eval_env_steps.append(steps)
            history.eval_return.append(score)
            bar.set_postfix(eval=f"{score:.0f}", sigma=f"{history.std[-1]:.2f}")
            if score >= cfg.target and history.solved_env_steps is None:
                history.solved_env_steps = steps
                history.solved_wall_s = time.perf_counter() - start
                history.solved_cpu_s = time.process_time() - cpu_start
            history.stopped = cfg.stop_at is not None and score >= cfg.stop_at
        if callback is not None:
            callback(update, history)
        if history.stopped:
            break
    bar.close()
    return policy, history
