"""How many environment steps per second a vectorised environment takes (04_gaussian_policies_gpu).

Used by the notebook's speed cell and by ``benchmarks/pendulum.py``. Each function steps with
zero actions for at least ``min_s`` seconds after a short warm-up and returns a JSON-ready row.
"""

from __future__ import annotations

import time

import numpy as np


def batched_pendulum(num_envs: int, device=None, min_s: float = 0.3) -> dict:
    """Steps/s of ``rlcourse.envs.pendulum.BatchedPendulum`` with ``num_envs`` environments on
    ``device`` (None: the CPU; a name or a ``torch.device``, resolved by ``runtime.get_device``).

    On CUDA the clock stops only after the device has finished (``torch.cuda.synchronize``).
    """
    import torch

    from rlcourse import runtime, validate
    from rlcourse.envs import pendulum

    num_envs = validate.integer("num_envs", num_envs, low=1)
    min_s = validate.number("min_s", min_s, low=0.0)
    device = runtime.get_device("cpu" if device is None else device)
    env = pendulum.BatchedPendulum(num_envs, device=device)
    env.reset(seed=0)
    actions = torch.zeros(num_envs, 1, device=device)
    for _ in range(5):  # warm-up: first calls allocate
        env.step(actions)
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(20):
            env.step(actions)
        steps += 20
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= min_s:
            break
    return {"env": "BatchedPendulum", "device": str(device), "num_envs": num_envs,
            "steps_per_s": round(num_envs * steps / elapsed)}


def gymnasium_vector(env_id: str = "Pendulum-v1", num_envs: int = 16, min_s: float = 0.5) -> dict:
    """Steps/s of gymnasium's ``SyncVectorEnv`` of ``num_envs`` copies of ``env_id`` (a Box action)."""
    import gymnasium as gym

    from rlcourse import validate

    num_envs = validate.integer("num_envs", num_envs, low=1)
    min_s = validate.number("min_s", min_s, low=0.0)
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs)
    envs.reset(seed=0)
    actions = np.zeros((num_envs, *envs.single_action_space.shape), dtype=np.float32)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_s:
        envs.step(actions)
        steps += 1
    elapsed = time.perf_counter() - start
    envs.close()
    return {"env": f"gymnasium SyncVectorEnv({env_id})", "device": "cpu",
            "num_envs": num_envs, "steps_per_s": round(num_envs * steps / elapsed)}
