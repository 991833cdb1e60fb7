r"""Pendulum-v1 as N environments in one torch tensor (taught in 04_gaussian_policies_gpu).

Same dynamics, reward, action bounds, observation, reset distribution and 200-step truncation as
gymnasium's ``Pendulum-v1``; the state of all ``N`` environments is one ``(N, 2)`` tensor
``[θ, θ̇]`` on one device, so a training loop never leaves the GPU (or the CPU).

.. math::
    u = \mathrm{clip}(a, -2, 2),\qquad
    r = -\big(\mathrm{norm}(θ)^2 + 0.1\,θ̇^2 + 0.001\,u^2\big)

    θ̇' = \mathrm{clip}\big(θ̇ + (\tfrac{3g}{2l}\sin θ + \tfrac{3}{ml^2}u)\,Δt,\ -8, 8\big),
    \qquad θ' = θ + θ̇'\,Δt

with g = 10, m = l = 1, Δt = 0.05 and norm(θ) the angle wrapped to [-π, π). The observation is
``[cos θ', sin θ', θ̇']``. The interface follows gymnasium's vector environments: ``reset(seed=)``
returns ``(obs, info)``; ``step(actions)`` returns ``(obs, rewards, terminated, truncated, info)``;
an environment whose episode ends is reset inside the same step (gymnasium's ``SAME_STEP``
autoreset): the returned observation starts the next episode and ``info["final_obs"]`` holds the
last observation of the one that ended.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rlcourse import validate

MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
MASS = 1.0
LENGTH = 1.0
MAX_EPISODE_STEPS = 200


def angle_normalize(theta: torch.Tensor) -> torch.Tensor:
    """Wrap angles to [-π, π) exactly as gymnasium's ``angle_normalize`` does."""
    return torch.remainder(theta + math.pi, 2 * math.pi) - math.pi


class BatchedPendulum:
    """``num_envs`` Pendulum-v1 environments stepped together on ``device``.

    Args:
        num_envs: how many environments (N >= 1).
        device: torch device (or its name) holding the state; default the CPU.
        dtype: ``torch.float32`` (fast) or ``torch.float64`` (bit-for-bit closer to gymnasium,
            whose state is float64).
        g: gravity, as gymnasium's ``g`` argument (default 10).
        max_episode_steps: truncation horizon (gymnasium's ``TimeLimit``; 200 for Pendulum-v1).

    Attributes:
        state: ``(N, 2)`` tensor ``[θ, θ̇]`` (a copy when read; set it to place the pendulums).
        elapsed_steps: ``(N,)`` int64 tensor, steps taken in the current episode of each env.
    """

    metadata: ClassVar[dict] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float32, g: float = 10.0,
                 max_episode_steps: int = MAX_EPISODE_STEPS):
        num_envs = validate.integer("num_envs", num_envs, low=1)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        max_episode_steps = validate.integer("max_episode_steps", max_episode_steps, low=1)
        g = validate.number("g", g)
        self.num_envs = num_envs
        # A tensor's own device ("cuda:0", not "cuda"), so that comparisons with inputs work.
        self.device = torch.empty(0, device="cpu" if device is None else device).device
        self.dtype = dtype
        self.g = float(g)
        self.max_episode_steps = max_episode_steps
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        self.single_observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = spaces.Box(-MAX_TORQUE, MAX_TORQUE, shape=(1,),
                                              dtype=np.float32)
        self.observation_space = spaces.Box(np.tile(-high, (self.num_envs, 1)),
                                            np.tile(high, (self.num_envs, 1)), dtype=np.float32)
        self.action_space = spaces.Box(-MAX_TORQUE, MAX_TORQUE, shape=(self.num_envs, 1),
                                       dtype=np.float32)
        # The "meta" device (shapes only, no data) has no generator; the course's checks use it
        # to catch tensors left on the wrong device on machines without a GPU.
        self._generator = None
        if self.device.type != "meta":
            self._generator = torch.Generator(device=self.device)
            self._generator.seed()
        self._high = torch.tensor([math.pi, 1.0], device=self.device, dtype=dtype)
        # θ and θ̇ as two contiguous (N,) tensors: element-wise kernels run fastest on them
        self._th = torch.zeros(self.num_envs, device=self.device, dtype=dtype)
        self._thdot = torch.zeros(self.num_envs, device=self.device, dtype=dtype)
        self._elapsed = torch.zeros(self.num_envs, device=self.device, dtype=torch.int64)
        self._needs_reset = True

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> torch.Tensor:
        return torch.stack([self._th, self._thdot], dim=1)

    @state.setter
    def state(self, value: Any) -> None:
        value = torch.as_tensor(value, dtype=self.dtype, device=self.device)
        if value.shape != (self.num_envs, 2):
            raise ValueError(f"state must have shape ({self.num_envs}, 2) holding [theta, "
                             f"theta_dot] per env, got {tuple(value.shape)}")
        validate.tensor("state", value, finite=True)
        self._th, self._thdot = value[:, 0].clone(), value[:, 1].clone()
        self._needs_reset = False

    @property
    def elapsed_steps(self) -> torch.Tensor:
        return self._elapsed.clone()

    @elapsed_steps.setter
    def elapsed_steps(self, value: Any) -> None:
        value = torch.as_tensor(value, device=self.device)
        if value.shape != (self.num_envs,) or value.is_floating_point():
            raise ValueError(f"elapsed_steps must be an integer tensor of shape "
                             f"({self.num_envs},), got {value.dtype} {tuple(value.shape)}")
        validate.tensor("elapsed_steps", value, dtype="int")
        if bool((value < 0).any()) or bool((value >= self.max_episode_steps).any()):
            raise ValueError(f"elapsed_steps must lie in [0, {self.max_episode_steps})")
        self._elapsed = value.to(torch.int64).clone()

    # -- gymnasium-style interface ------------------------------------------------------------
    def reset(self, *, seed: int | None = None,
              options: dict | None = None) -> tuple[torch.Tensor, dict]:
        """Start a new episode in every env: θ ~ U[-π, π], θ̇ ~ U[-1, 1] (as Pendulum-v1).

        Args:
            seed: seeds this env's torch generator (same seed, same starts, same device).
            options: like Pendulum-v1, ``{"x_init": float, "y_init": float}`` replace the
                bounds π and 1 of the starting angle and speed; any other key is refused
                (gymnasium's Pendulum-v1 ignores it, a misspelt bound with it).

        Returns:
            ``(obs, info)``: obs of shape (N, 3) and dtype ``self.dtype``; info is ``{}``.
        """
        if seed is not None:
            seed = validate.integer("seed", seed, low=0)
            if self._generator is not None:
                self._generator.manual_seed(int(seed))
        options = validate.options("options", options, ("x_init", "y_init"))
        high = self._high
        if options:
            x = validate.number("options['x_init']", options.get("x_init", math.pi))
            y = validate.number("options['y_init']", options.get("y_init", 1.0))
            high = torch.tensor([x, y], device=self.device, dtype=self.dtype)
        self._th, self._thdot = self._sample_states(high)
        self._elapsed.zero_()
        self._needs_reset = False
        return self._obs(self._th, self._thdot), {}

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                   torch.Tensor, dict]:
        """Apply one torque per env (clipped to [-2, 2]) and advance every env by Δt = 0.05 s.

        Args:
            actions: shape (N, 1) or (N,), floating point, on ``self.device``; ±inf is a torque
                beyond the bound (clipped, as gymnasium does), NaN is refused (on the CPU: on an
                accelerator the check would wait for the device at every step, and a NaN state
                shows as NaN observations and rewards).

        Returns:
            ``(obs, rewards, terminated, truncated, info)`` with shapes (N, 3), (N,), (N,), (N,);
            rewards in ``self.dtype``, terminated (always False: Pendulum never terminates) and
            truncated (True where the 200th step of an episode was taken) as bool. Envs that
            truncated are already reset: ``info["final_obs"]`` (N, 3) holds every env's
            observation before any reset and ``info["_final_obs"]`` marks the envs that ended.
        """
        if self._needs_reset:
            raise RuntimeError("call reset() (or set `state`) before step()")
        u = self._check_actions(actions).clamp(-MAX_TORQUE, MAX_TORQUE)
        th, thdot = self._th, self._thdot
        # The module docstring's equations, with in-place and fused ops (fewer passes over N).
        # cost = norm(θ)² + 0.1 θ̇² + 0.001 u²
        costs = angle_normalize(th).square_()
        costs.addcmul_(thdot, thdot, value=0.1).addcmul_(u, u, value=0.001)
        # θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(ml²) u) Δt, -8, 8);  θ' = θ + θ̇' Δt
        newthdot = torch.sin(th).mul_(3 * self.g / (2 * LENGTH) * DT)
        newthdot.add_(u, alpha=3.0 / (MASS * LENGTH**2) * DT).add_(thdot)
        newthdot.clamp_(-MAX_SPEED, MAX_SPEED)
        newth = torch.add(th, newthdot, alpha=DT)
        self._elapsed += 1
        truncated = self._elapsed >= self.max_episode_steps
        terminated = torch.zeros_like(truncated)
        final_obs = self._obs(newth, newthdot)
        obs = final_obs
        # Autoreset. On an accelerator, without a host-device sync: fresh starts everywhere,
        # kept where truncated. On the CPU, asking whether any env truncated is free.
        if self.device.type != "cpu" or bool(truncated.any()):
            fresh_th, fresh_thdot = self._sample_states(self._high)
            newth = torch.where(truncated, fresh_th, newth)
            newthdot = torch.where(truncated, fresh_thdot, newthdot)
            self._elapsed = torch.where(truncated, 0, self._elapsed)
            obs = torch.where(truncated[:, None], self._obs(newth, newthdot), final_obs)
        self._th, self._thdot = newth, newthdot
        info = {"final_obs": final_obs, "_final_obs": truncated}
        return obs, costs.neg_(), terminated, truncated, info

    # -- helpers ------------------------------------------------------------------------------
    def _sample_states(self, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """θ ~ U[-high[0], high[0]] and θ̇ ~ U[-high[1], high[1]], each of shape (N,)."""
        u = torch.rand(self.num_envs, 2, generator=self._generator, device=self.device,
                       dtype=self.dtype)
        state = (2 * u - 1) * high
        return state[:, 0].contiguous(), state[:, 1].contiguous()

    @staticmethod
    def _obs(th: torch.Tensor, thdot: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.cos(th), torch.sin(th), thdot], dim=1)

    def _check_actions(self, actions: Any) -> torch.Tensor:
        if not isinstance(actions, torch.Tensor):
            raise TypeError(f"actions must be a torch.Tensor of shape ({self.num_envs}, 1) on "
                            f"{self.device}, got {type(actions).__name__}")
        if actions.device != self.device:
            raise ValueError(f"actions are on {actions.device} but the env is on {self.device}: "
                             f"move them with `.to(env.device)`")
        if not actions.is_floating_point():
            raise TypeError(f"actions must be floating point (torques), got {actions.dtype}")
        if actions.shape == (self.num_envs, 1):
            actions = actions[:, 0]
        elif actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs}, 1) or "
                             f"({self.num_envs},), got {tuple(actions.shape)}")
        validate.tensor("actions", actions, finite=True, allow=("+inf", "-inf"), hot=True)
        return actions.to(self.dtype)

    def close(self) -> None:
        """Nothing to release (present for gymnasium compatibility)."""

    def __repr__(self) -> str:
        return (f"BatchedPendulum(num_envs={self.num_envs}, device={self.device}, "
                f"dtype={self.dtype})")
