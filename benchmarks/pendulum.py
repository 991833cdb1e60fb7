"""Pendulum: env steps/s of the batched torch Pendulum vs gymnasium, and REINFORCE's time to −200.

    python benchmarks/pendulum.py                  # table: throughput, then 5 training seeds
    python benchmarks/pendulum.py --json           # one JSON object per measurement
    python benchmarks/pendulum.py --quick          # small batches, 2 seeds: a smoke test
    python benchmarks/pendulum.py --seeds 0 1 2 --no-throughput
    python benchmarks/pendulum.py --busy-check     # 1 vs 2 threads, alone and next to a busy core

Throughput: ``BatchedPendulum`` stepped with zero torques for batch sizes 1 ... 65536 on the CPU
(and 1 ... 2**20 on CUDA when present; ``benchmarks/gpu_check.py`` for the GPU alone), against
gymnasium's ``Pendulum-v1`` in a ``SyncVectorEnv`` of 16. Training: ``gaussian_trainer.train``
with its default ``Config`` on the CPU, one torch thread: env steps and seconds until the mean
action first scores −200 over 1000 episodes of the batched env (training goes on to −180, the
trainer's margin); "solved" means the final policy also scores ≥ −200 on 100 episodes of
gymnasium's own ``Pendulum-v1``. Wall seconds count other processes' load too; "CPU s" (this
process's CPU time) is what an idle single-threaded run would take.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import torch

from rlcourse import gaussian_trainer, throughput


def training_run(seed: int, config: gaussian_trainer.Config, device: str = "cpu") -> dict:
    cfg = dataclasses.replace(config, seed=seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = gaussian_trainer.train(cfg, device=device)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    gym_score = float(gaussian_trainer.evaluate_gymnasium(history.policy, 100,
                                                          seed=1000 + seed).mean())
    return {"trainer": "gaussian_trainer (REINFORCE, batched torch Pendulum)", "seed": seed,
            "device": device, "solved": bool(history.solved and gym_score >= -200.0),
            "env_steps": history.solved_at if history.solved else history.total_env_steps,
            "wall_s": round(history.solved_wall_s if history.solved else wall, 2),
            "cpu_s": round(history.solved_cpu_s if history.solved else cpu, 2),
            "updates": len(history.env_steps), "gymnasium_score": round(gym_score, 1),
            "num_envs": cfg.num_envs, "lr": cfg.lr}


def busy_check(updates: int = 20) -> list[dict]:
    """Notebook 04's training (its config, ``updates`` updates) with 1 and 2 torch threads,
    alone and next to a busy process (a Python loop that spins on one core): the cost of a busy
    machine, as a learner running ``make lab`` next to other work sees it."""
    import subprocess
    import sys

    rows = []
    cfg = gaussian_trainer.Config(seed=0, target=None, max_env_steps=updates * 512 * 200)
    for busy in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            for threads in (1, 2):
                start = time.perf_counter()
                gaussian_trainer.train(dataclasses.replace(cfg, threads=threads), device="cpu")
                rows.append({"measure": "busy_check", "threads": threads, "busy": busy,
                             "updates": updates, "wall_s": round(time.perf_counter() - start, 2)})
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per measurement")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--quick", action="store_true",
                        help="batches up to 4096 and seeds 0 and 1 only")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-training", action="store_true")
    parser.add_argument("--busy-check", action="store_true",
                        help="only: 20 updates with 1 and 2 threads, alone and next to a busy "
                             "process (one JSON line each)")
    args = parser.parse_args()
    if args.busy_check:
        for row in busy_check():
            print(json.dumps(row), flush=True)
        return
    torch.set_num_threads(1)  # CI's workers get one thread each
    seeds = args.seeds[:2] if args.quick else args.seeds

    def emit(row: dict) -> dict:
        if args.json:
            print(json.dumps(row), flush=True)
        return row

    speeds, runs = [], []
    if not args.no_throughput:
        speeds.append(emit(throughput.gymnasium_vector()))
        sizes = [4**k for k in range(9)]  # 1 ... 65536
        if args.quick:
            sizes = [1, 64, 4096]
        for n in sizes:
            speeds.append(emit(throughput.batched_pendulum(n, "cpu")))
        if torch.cuda.is_available():
            for n in [4**k for k in range(11)] if not args.quick else [1024, 1 << 20]:
                speeds.append(emit(throughput.batched_pendulum(n, "cuda")))
    if not args.no_training:
        for seed in seeds:
            runs.append(emit(training_run(seed, gaussian_trainer.Config())))
    if args.json:
        return
    if speeds:
        base = speeds[0]["steps_per_s"]
        print(f"{'environment':<40} {'device':>6} {'N':>8} {'steps/s':>14} {'× gymnasium':>12}")
        for row in speeds:
            print(f"{row['env']:<40} {row['device']:>6} {row['num_envs']:>8} "
                  f"{row['steps_per_s']:>14,} {row['steps_per_s'] / base:>12,.1f}")
    if runs:
        print(f"\n{'seed':>4} {'solved':>7} {'updates':>8} {'env steps':>12} {'wall s':>8} "
              f"{'CPU s':>7} {'gymnasium':>10}")
        for r in runs:
            print(f"{r['seed']:>4} {r['solved']!s:>7} {r['updates']:>8} {r['env_steps']:>12,} "
                  f"{r['wall_s']:>8.1f} {r['cpu_s']:>7.1f} {r['gymnasium_score']:>10.1f}")
        print(f"median: {statistics.median(r['env_steps'] for r in runs):,.0f} env steps, "
              f"{statistics.median(r['wall_s'] for r in runs):.1f} s wall, "
              f"{statistics.median(r['cpu_s'] for r in runs):.1f} s CPU "
              f"({sum(r['solved'] for r in runs)}/{len(runs)} solved; "
              f"num_envs={runs[0]['num_envs']}, lr={runs[0]['lr']})")


if __name__ == "__main__":
    main()
