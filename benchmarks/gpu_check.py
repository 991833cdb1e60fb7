"""GPU check: notebook 04's training and the batched Pendulum's throughput on a CUDA device.

    python benchmarks/gpu_check.py                       # on CUDA; exits 2 if there is none
    python benchmarks/gpu_check.py --device cpu --max-envs 256 --quick   # a smoke test

Prints one JSON object per line, one per figure:

- ``device``: the device's name and torch's version;
- ``throughput``: steps/s of ``BatchedPendulum`` for N = 1, 4, 16, ... up to ``--max-envs``
  (default 2**20 = 1,048,576 environments), zero torques, clock stopped after the device finished;
- ``parity``: one update's gradient on the device against the CPU's, from the same batch
  (relative difference of the flattened gradients);
- ``no_sync_per_step``: a whole 200-step rollout of ``gaussian_trainer.collect`` runs under
  ``torch.cuda.set_sync_debug_mode("error")`` (no host-device copy or synchronisation per step);
- ``training``: notebook 04's REINFORCE run (its config, seed 0) on the device: updates, env
  steps and seconds until the mean action scores −200, the last evaluation, and the score of the
  final policy on 100 episodes of gymnasium's own Pendulum-v1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from rlcourse import gaussian_trainer, returns, runtime, throughput, trainer
from rlcourse.envs import pendulum


def notebook_04_config(quick: bool) -> gaussian_trainer.Config:
    """The config of notebook 04's training cell (``--quick``: 3 updates of 64 episodes)."""
    if quick:
        return gaussian_trainer.Config(num_envs=64, seed=0, max_env_steps=3 * 64 * 200,
                                       eval_every=3, eval_episodes=16)
    return gaussian_trainer.Config(num_envs=512, lr=0.02, gamma=0.99, hidden=(32, 32),
                                   target=-200.0, stop_margin=20.0, seed=0,
                                   max_env_steps=150 * 512 * 200)


def parity(device: torch.device, num_envs: int) -> dict:
    cfg = gaussian_trainer.Config(num_envs=num_envs, seed=3)
    env = pendulum.BatchedPendulum(num_envs)
    env.reset(seed=0)
    batch = gaussian_trainer.collect(env, gaussian_trainer.make_policy(cfg, torch.device("cpu")),
                                     200, torch.Generator().manual_seed(0))
    grads = []
    for d in (torch.device("cpu"), device):
        policy = gaussian_trainer.make_policy(cfg, d)
        obs, actions, rewards, dones = (x.to(d) for x in batch)
        adv = returns.advantages(rewards, dones, cfg.gamma, cfg.advantage)
        log_pi = policy.log_prob(obs.flatten(0, 1), actions.flatten(0, 1)).view_as(adv)
        trainer.surrogate_loss(log_pi, adv, cfg.num_envs).backward()
        grads.append(torch.cat([p.grad.flatten().cpu() for p in policy.parameters()]))
    rel = float((grads[0] - grads[1]).norm() / grads[0].norm())
    return {"figure": "parity", "device": str(device), "num_envs": num_envs,
            "gradient_relative_difference": rel, "ok": rel < 1e-4}


def no_sync_per_step(device: torch.device, num_envs: int) -> dict:
    cfg = gaussian_trainer.Config(num_envs=num_envs)
    policy = gaussian_trainer.make_policy(cfg, device)
    env = pendulum.BatchedPendulum(num_envs, device=device)
    env.reset(seed=0)
    gen = torch.Generator(device).manual_seed(0)
    if device.type != "cuda":
        return {"figure": "no_sync_per_step", "device": str(device), "checked": False,
                "reason": "torch's sync debug mode exists for CUDA only"}
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        start = time.perf_counter()
        gaussian_trainer.collect(env, policy, 200, gen)
        ok, error = True, None
    except RuntimeError as err:
        ok, error = False, str(err).splitlines()[0]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    return {"figure": "no_sync_per_step", "device": str(device), "checked": True, "ok": ok,
            "error": error, "num_envs": num_envs,
            "rollout_s": round(time.perf_counter() - start, 3)}


def training(device: torch.device, quick: bool) -> dict:
    cfg = notebook_04_config(quick)
    start = time.perf_counter()
    h = gaussian_trainer.train(cfg, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    gym_score = float(gaussian_trainer.evaluate_gymnasium(h.policy, 100, seed=2024).mean())
    return {"figure": "training", "device": str(device), "num_envs": cfg.num_envs,
            "updates": len(h.env_steps), "solved_at_env_steps": h.solved_at,
            "solved_wall_s": None if h.solved_wall_s is None else round(h.solved_wall_s, 2),
            "wall_s": round(wall, 2),
            "last_eval": None if not h.evaluations else round(h.evaluations[-1][1], 1),
            "gymnasium_score_100": round(gym_score, 1), "stopped_at_margin": h.stopped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="default cuda; cpu for a smoke test")
    parser.add_argument("--max-envs", type=int, default=1 << 20,
                        help="largest batch of the throughput sweep (default 2**20)")
    parser.add_argument("--quick", action="store_true", help="a 3-update training run")
    parser.add_argument("--no-training", action="store_true")
    args = parser.parse_args(argv)
    try:
        device = runtime.get_device(args.device)
    except (RuntimeError, ValueError) as err:
        print(f"gpu_check: {err}. Run it on a machine with a CUDA device, or pass --device cpu "
              f"(with a small --max-envs) for a smoke test of this script.", file=sys.stderr)
        return 2

    def emit(row: dict) -> None:
        print(json.dumps(row), flush=True)

    emit({"figure": "device", "device": str(device), "torch": torch.__version__,
          "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"})
    n = 1
    while n <= args.max_envs:
        emit({"figure": "throughput", **throughput.batched_pendulum(n, device)})
        n *= 4
    if n // 4 < args.max_envs:
        emit({"figure": "throughput", **throughput.batched_pendulum(args.max_envs, device)})
    emit(parity(device, 64 if args.quick else 512))
    emit(no_sync_per_step(device, 64 if args.quick else 4096))
    if not args.no_training:
        emit(training(device, args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
