"""What every REINFORCE trainer of the course shares: its config, its history, its seeds.

The three trainers (``numpy_trainer``: NumPy CartPole, 02; ``torch_trainer``: torch CartPole,
03; ``gaussian_trainer``: Gaussian Pendulum, 04) have one shape:

    history = <trainer>.train(config=None, *, device=..., progress=False, callback=None, **fields)

``config`` is the trainer's ``Config`` (a subclass of :class:`Config`, with the trainer's own
defaults; keyword ``fields`` build one or replace some of its fields); the result is a
:class:`History` whose ``policy`` is the trained policy. Every update of every trainer is the
loop CleanRL writes out: collect a batch with the current policy (on-policy: every step of an
update was sampled by the policy being updated), compute the advantages with
``returns.advantages``, the surrogate loss −(1/N) Σ_episodes Σ_t A_t log π(a_t|s_t), one
optimiser step, log; then, when due, evaluate.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlcourse import returns, validate


@dataclass
class Config:
    """Hyper-parameters every trainer shares; each trainer subclasses it with its defaults.

    Attributes:
        env_id: the gymnasium environment (the Gaussian trainer: the batched torch Pendulum).
        seed: seeds the policy's initial weights, the action sampling and the environments
            (through explicit generators; the caller's global RNGs are left alone).
        num_envs: N, episodes per update (one per environment run side by side).
        lr: Adam's learning rate.
        gamma: discount of the reward-to-go, in [0, 1].
        hidden: widths of the tanh MLP's hidden layers.
        advantage: the weights A_t, one of ``returns.ADVANTAGES`` (see ``returns.advantages``).
        max_env_steps: stop once training has taken this many environment steps.
        target: the evaluation score that counts as solved (``history.solved_at``); None never
            evaluates.
        stop_margin: stop once an evaluation reaches ``target + stop_margin`` (a margin above the
            target, so that the policy also passes a separate test).
        eval_every: evaluate every this many updates; None evaluates only when the mean return
            of an update's episodes reaches ``target`` (cheap when evaluation costs episodes).
        eval_episodes: episodes per evaluation.
        threads: torch's CPU threads during training (restored after); None leaves them.
    """

    env_id: str = "CartPole-v1"
    seed: int = 0
    num_envs: int = 16
    lr: float = 1e-2
    gamma: float = 0.99
    hidden: tuple[int, ...] = (64,)
    advantage: str = "normalized"
    max_env_steps: int = 200_000
    target: float | None = 475.0
    stop_margin: float = 0.0
    eval_every: int | None = None
    eval_episodes: int = 100
    threads: int | None = 1

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str):
            raise TypeError(f"env_id must be a string, got {type(self.env_id).__name__}")
        self.seed = validate.integer("seed", self.seed, low=0)
        self.num_envs = validate.integer("num_envs", self.num_envs, low=1)
        self.lr = validate.number("lr", self.lr, low=0.0, low_open=True)
        self.gamma = validate.number("gamma", self.gamma, low=0.0, high=1.0)
        # hidden=64 is refused, as by the policies: (64,) is meant, and says so
        self.hidden = validate.sizes("hidden", self.hidden)
        validate.choice("advantage", self.advantage, returns.ADVANTAGES)
        if self.advantage == "value_baseline":
            raise ValueError("advantage='value_baseline' needs a learned value network, which "
                             "the trainers do not fit; 03 shows it at a fixed policy")
        self.max_env_steps = validate.integer("max_env_steps", self.max_env_steps, low=1)
        if self.target is not None:
            self.target = validate.number("target", self.target)
        self.stop_margin = validate.number("stop_margin", self.stop_margin, low=0.0)
        if self.eval_every is not None:
            self.eval_every = validate.integer("eval_every", self.eval_every, low=1)
        self.eval_episodes = validate.integer("eval_episodes", self.eval_episodes, low=1)
        if self.threads is not None:
            self.threads = validate.integer("threads", self.threads, low=1)


def make_config(cls: type[Config], config: Config | None, fields: dict[str, Any]) -> Config:
    """``config`` (default ``cls()``) with ``fields`` replaced; checked once, here."""
    if config is None:
        config = cls()
    elif not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__module__}.{cls.__qualname__}, got "
                        f"{type(config).__name__} {config!r:.60}; pass other settings by name, "
                        f"e.g. train(env_id='CartPole-v1', seed=1)")
    unknown = set(fields) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; {cls.__qualname__} has "
                        f"{[f.name for f in dataclasses.fields(cls)]}")
    return dataclasses.replace(config, **fields)


def derive_seed(seed: int, *keys: int) -> int:
    """A seed for a separate stream (e.g. evaluation k of run ``seed``): distinct for distinct
    ``(seed, *keys)``, unlike ``seed + k``, which collides across runs."""
    return int(np.random.SeedSequence((int(seed), *map(int, keys))).generate_state(1)[0])


EVALUATION = 1  # derive_seed(seed, EVALUATION, k): the k-th evaluation's environments and draws


@dataclass
class History:
    """What a trainer did: one entry per update (``evaluations``: one per evaluation).

    Attributes:
        policy: the trained policy (a torch module, or the NumPy trainer's parameter dict).
        config: the :class:`Config` it was trained with.
        env_steps: training environment steps taken so far, after each update (evaluation
            steps are not counted; masked steps after an episode's end are: the env took them).
        mean_return: mean undiscounted return of the update's episodes (sampled actions).
        episode_returns: the update's episode returns, one array (N,) per update.
        loss: the surrogate loss of each update (its value says nothing about performance).
        wall_s: wall seconds since the start, after each update (evaluations included).
        metrics: trainer-specific curves, one value per update (``"entropy"``: the categorical
            policy's mean entropy in nats on the batch; ``"std"``: the Gaussian policy's σ).
        evaluations: ``(env_steps, mean evaluation return)`` pairs.
        solved_at: ``env_steps`` of the first evaluation that reached ``config.target``.
        solved_wall_s, solved_cpu_s: wall and process CPU seconds then (CPU time is what an
            idle machine would have taken).
        stopped: training stopped at ``target + stop_margin`` (not at ``max_env_steps``).
    """

    policy: Any
    config: Config
    env_steps: list[int] = field(default_factory=list)
    mean_return: list[float] = field(default_factory=list)
    episode_returns: list[np.ndarray] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    evaluations: list[tuple[int, float]] = field(default_factory=list)
    solved_at: int | None = None
    solved_wall_s: float | None = None
    solved_cpu_s: float | None = None
    stopped: bool = False
    _clock: tuple[float, float] = field(default=(0.0, 0.0), repr=False)

    def __post_init__(self) -> None:
        self._clock = (time.perf_counter(), time.process_time())

    @property
    def solved(self) -> bool:
        return self.solved_at is not None

    @property
    def total_env_steps(self) -> int:
        return self.env_steps[-1] if self.env_steps else 0

    @property
    def done(self) -> bool:
        """Whether training should stop: the step budget is spent, or the last evaluation
        reached ``target + stop_margin``."""
        return self.stopped or self.total_env_steps >= self.config.max_env_steps

    def log(self, env_steps: int, episode_returns, loss, **metrics: float) -> None:
        """Record one update: the environment steps it took, its episodes' returns (N,), its
        loss (a float or a 0-d tensor), and any trainer-specific ``metrics``."""
        ep = np.asarray(episode_returns.cpu() if hasattr(episode_returns, "cpu")
                        else episode_returns, dtype=np.float64)
        self.env_steps.append(self.total_env_steps + int(env_steps))
        self.episode_returns.append(ep)
        self.mean_return.append(float(ep.mean()))
        self.loss.append(_float(loss))
        for name, value in metrics.items():
            self.metrics.setdefault(name, []).append(_float(value))
        self.wall_s.append(time.perf_counter() - self._clock[0])

    def evaluation_due(self) -> bool:
        """Evaluate now? Every ``eval_every`` updates, or (``eval_every=None``) once the mean
        return of the latest update's episodes reaches the target."""
        cfg = self.config
        if cfg.target is None:
            return False
        if cfg.eval_every is not None:
            return len(self.env_steps) % cfg.eval_every == 0
        return self.mean_return[-1] >= cfg.target

    def evaluation_seed(self) -> int:
        """The seed of the next evaluation: its own stream, distinct across runs and updates."""
        return derive_seed(self.config.seed, EVALUATION, len(self.evaluations))

    def record_evaluation(self, score: float) -> None:
        """Record an evaluation's mean return; mark ``solved_at`` and ``stopped``."""
        cfg = self.config
        score = _float(score)
        now, cpu = time.perf_counter() - self._clock[0], time.process_time() - self._clock[1]
        self.evaluations.append((self.total_env_steps, score))
        if self.wall_s:  # the update's time includes its evaluation
            self.wall_s[-1] = now
        if cfg.target is not None and score >= cfg.target and self.solved_at is None:
            self.solved_at, self.solved_wall_s, self.solved_cpu_s = self.total_env_steps, now, cpu
        self.stopped = cfg.target is not None and score >= cfg.target + cfg.stop_margin

    def summary(self) -> dict:
        """A JSON-ready summary of the run (benchmarks print it)."""
        return {"env_id": self.config.env_id, "seed": self.config.seed, "solved": self.solved,
                "solved_at": self.solved_at, "solved_wall_s": self.solved_wall_s,
                "updates": len(self.env_steps), "env_steps": self.total_env_steps,
                "wall_s": self.wall_s[-1] if self.wall_s else 0.0,
                "last_eval": self.evaluations[-1][1] if self.evaluations else None}


def _float(x: Any) -> float:
    """A Python float from a number, a NumPy scalar or a 0-d tensor (detached)."""
    return float(x.detach() if hasattr(x, "detach") else x)


def require_discrete(envs: Any, trainer: str) -> int:
    """The number of actions of a vector env's discrete action space, or a clear error."""
    import gymnasium as gym

    space = envs.single_action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"{trainer} trains a categorical (softmax) policy and needs a discrete "
                         f"action space; {envs.spec.id if envs.spec else 'this environment'} has "
                         f"{space} (for continuous actions use gaussian_trainer)")
    if len(envs.single_observation_space.shape) != 1:
        raise ValueError(f"{trainer} needs vector observations of shape (obs_dim,), got "
                         f"{envs.single_observation_space.shape}")
    return int(space.n)


def surrogate_loss(log_probs, advantages, num_episodes: int):
    r"""The REINFORCE surrogate loss of a batch: :math:`L = -\frac1N \sum_i \sum_t A_{i,t}
    \log\pi_\theta(a_{i,t} \mid s_{i,t})` (sum over an episode's steps, mean over N episodes).

    Its gradient is the REINFORCE estimate of −∇J; its value says nothing about performance.

    Args:
        log_probs: log π of the taken actions, any shape (e.g. (T, N) or (B,)), with gradient.
        advantages: the same shape, without gradient (constants of the loss).
        num_episodes: N, the number of episodes the steps come from.
    """
    import torch

    for name, x in (("log_probs", log_probs), ("advantages", advantages)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    validate.same_shape(log_probs=log_probs, advantages=advantages)
    if advantages.requires_grad:
        raise ValueError("advantages carry gradient: they are constants in the REINFORCE loss; "
                         "pass advantages.detach()")
    num_episodes = validate.integer("num_episodes", num_episodes, low=1)
    return -(advantages * log_probs).sum() / num_episodes


def progress_bar(config: Config, show: bool, desc: str):
    """The trainers' bar over environment steps (:mod:`rlcourse.progress`: plain text, stored
    as its last state)."""
    from rlcourse import progress

    return progress.bar(total=config.max_env_steps, desc=desc, unit="step", disable=not show)


def finish_bar(bar, history: History) -> None:
    """Close ``bar``; a run that stopped at its target before the step budget closes full and
    says so, instead of ending part-way (it stopped on purpose)."""
    if history.stopped:
        cfg = history.config
        bar.stop_early(f"evaluation return {history.evaluations[-1][1]:.1f} reached "
                       f"target + stop_margin = {cfg.target + cfg.stop_margin:g}")
    bar.close()
