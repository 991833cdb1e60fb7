"""CartPole-v1: environment steps and wall time until the policy is solved, for the course's
trainers, pytorch/examples' reinforce.py, and (b) with one of (a)'s settings at a time.

Solved = the mean return of 100 evaluation episodes (the policy samples its actions, as in
training) is at least 475. Every course trainer evaluates when the episodes of its latest
update(s) average 475 (for the per-episode loop: its last 8 episodes) and stops at the first
passed evaluation; evaluation steps are not counted, their time is.

Trainers:
  pytorch_examples  pytorch/examples' reinforcement_learning/reinforce.py, unmodified, run by
               path (``--pytorch-examples PATH``; never copied into this repository) with
               ``--seed S``, to its own criterion: it stops once its running reward (an
               exponential average of episode returns, weight 0.05) exceeds 475. A 4-128-2 ReLU
               network with dropout 0.6, one environment, an action per forward pass on a batch of
               one, one Adam update (lr 1e-2) per episode on per-episode standardised returns.
               Its environment steps are counted by a wrapper around ``gymnasium.make``;
  per_episode  (a) the loop most tutorials copy, written below: one environment, each action
               sampled by a forward pass on a batch of one, one Adam update (lr 1e-2) per
               episode on −Σ log π(a_t|s_t) Ĝ_t with γ = 0.99 returns standardised per episode;
  batched      (b) rlcourse.torch_trainer.train (03_torch_cross_entropy) with its defaults: 24
               environments in gymnasium's vectorised CartPole-v1, one episode each per update
               (on-policy: every step sampled by the policy being updated), one forward pass per
               vector step (``CategoricalPolicy.act``: Gumbel-max sampling in torch), one
               forward and one backward pass per batch, normalised advantages, Adam lr 7e-2 (24
               and 7e-2 were chosen on seeds 100-119, not on the seeds 0-4 reported by default);
  numpy        (c) rlcourse.numpy_trainer.train (02_numpy_backprop): 16 copies of CartPole-v1
               in a SyncVectorEnv, NumPy forward and backward by hand.

(b) with one of (a)'s settings, the rest as (b) (what each factor of (a) / (b) costs):
  batched_a_lr          Adam lr 1e-2;
  batched_a_advantages  each episode's reward-to-go standardised over its own steps (no
                        baseline across episodes);
  batched_a_sampler     each action drawn as (a) draws it: a forward pass on a batch of one
                        with gradient, a validated ``Categorical``, ``sample``, ``log_prob``,
                        ``.item()`` (training only; the evaluation samples as (b) does);
  batched_a_envs        1 environment, so one update per episode (environments and update
                        schedule are one factor in this loop), with (a)'s advantages as well:
                        with one episode per batch, (b)'s per-step batch-mean baseline is G_t
                        itself and every advantage would be 0.

Environment steps count every step the environments took for training, including those that
finished environments take while the others complete their episodes (masked out of the update).

Each run is a separate process with one torch/BLAS thread, runs go one at a time, interleaved
per seed (every trainer's seed 0, then every trainer's seed 1, ...), so that a change of the
machine's load over the session hits all trainers alike; each process warms up (imports, a
first backward and Adam step, a first environment) before its clock starts. Each run reports
its wall time and its process's CPU time (what it would take on an idle machine: on a shared
one, wall time also counts the time other processes held the core) and the load average. Evaluations use
``rlcourse.rollout.evaluate`` for every course trainer (gymnasium's vectorised CartPole-v1).
Usage:

    python benchmarks/cartpole.py                     # the course's trainers, 5 seeds, table
    python benchmarks/cartpole.py --pytorch-examples /tmp/examples/reinforcement_learning/reinforce.py \\
        --trainers all --json                         # everything, as stored in results/
    python benchmarks/cartpole.py --trainers batched,numpy --seeds 3 --json
    python benchmarks/cartpole.py --trainers per_episode --cap-steps 100000
    python benchmarks/cartpole.py --on-policy-fraction      # share of update steps sampled by
                                                            # the policy being updated
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import runpy
import statistics
import subprocess
import sys
import time

COURSE = ("per_episode", "batched", "numpy")
ABLATIONS = ("batched_a_lr", "batched_a_advantages", "batched_a_sampler", "batched_a_envs")
TRAINERS = ("pytorch_examples", *COURSE, *ABLATIONS)
TARGET = 475.0
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# --- (a) the per-episode, batch-of-one loop --------------------------------------------------

def train_per_episode(seed: int, cap_steps: int) -> dict:
    """The classic REINFORCE loop (as in PyTorch's old examples/reinforcement_learning)."""
    import gymnasium as gym
    import numpy as np
    import torch
    from torch import nn
    from torch.distributions import Categorical

    from rlcourse import rollout

    start = _clock()
    torch.manual_seed(seed)
    env = gym.make("CartPole-v1")
    policy = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 2), nn.Softmax(dim=-1))
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()

    def evaluation_policy(obs):  # the same policy, batched, only for the shared evaluation
        with torch.no_grad():
            probs = policy(torch.as_tensor(obs, dtype=torch.float32))
        return Categorical(probs=probs).sample().numpy()

    env_steps, recent, episode = 0, [], 0
    state, _ = env.reset(seed=seed)
    while env_steps < cap_steps:
        log_probs, rewards, done = [], [], False
        while not done:
            probs = policy(torch.from_numpy(state).float().unsqueeze(0))
            m = Categorical(probs)
            action = m.sample()
            log_probs.append(m.log_prob(action))
            state, reward, terminated, truncated, _ = env.step(action.item())
            rewards.append(reward)
            done = terminated or truncated
            env_steps += 1
        state, _ = env.reset()
        episode += 1
        R, returns = 0.0, []
        for r in reversed(rewards):
            R = r + 0.99 * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        loss = torch.cat([-lp * g for lp, g in zip(log_probs, returns)]).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        recent = [*recent, sum(rewards)][-8:]
        if len(recent) == 8 and sum(recent) / 8 >= TARGET:
            score = rollout.evaluate("CartPole-v1", evaluation_policy, 100,
                                     seed=10_000 + 1000 * seed + episode).mean()
            if score >= TARGET:
                return _result("per_episode", seed, True, env_steps, start)
    return _result("per_episode", seed, False, env_steps, start)


# --- (b) and (c): the course's trainers ------------------------------------------------------

def train_batched(seed: int, cap_steps: int) -> dict:
    from rlcourse import torch_trainer

    start = _clock()
    h = torch_trainer.train(seed=seed, max_env_steps=cap_steps, target=TARGET, device="cpu")
    return _result("batched", seed, h.solved, h.solved_at or h.total_env_steps, start)


def train_numpy(seed: int, cap_steps: int) -> dict:
    from rlcourse import numpy_trainer

    start = _clock()
    h = numpy_trainer.train(seed=seed, max_env_steps=cap_steps, target=TARGET)
    return _result("numpy", seed, h.solved, h.solved_at or h.total_env_steps, start)


def train_pytorch_examples(seed: int, cap_steps: int, script: str) -> dict:
    """pytorch/examples' reinforce.py, as its own ``__main__`` in this process, to its own
    criterion; unsolved if it has not stopped after ``cap_steps`` environment steps."""
    import gymnasium as gym

    class Cap(Exception):
        pass

    class CountSteps(gym.Wrapper):  # counts and caps; changes nothing else
        steps = 0

        def step(self, action):
            CountSteps.steps += 1
            if CountSteps.steps > cap_steps:
                raise Cap
            return self.env.step(action)

    make = gym.make
    gym.make = lambda *args, **kwargs: CountSteps(make(*args, **kwargs))
    argv, sys.argv = sys.argv, [script, "--seed", str(seed)]
    log = io.StringIO()
    start = _clock()
    try:
        with contextlib.redirect_stdout(log):
            runpy.run_path(script, run_name="__main__")
        solved = "Solved!" in log.getvalue()
    except Cap:
        solved = False
    finally:
        gym.make, sys.argv = make, argv
    result = _result("pytorch_examples", seed, solved, min(CountSteps.steps, cap_steps), start)
    with open(script, "rb") as f:
        result["script_sha256"] = hashlib.sha256(f.read()).hexdigest()
    result["criterion"] = "its own: running reward > 475"
    return result


def train_ablation(trainer: str, seed: int, cap_steps: int) -> dict:
    """(b), torch_trainer.train with its defaults, with one of (a)'s settings (see the module
    docstring); the advantages and the sampler are swapped from outside, as on_policy_fraction
    does, so the trainer runs its own loop."""
    import numpy as np
    import torch
    from torch.distributions import Categorical

    from rlcourse import returns, rollout, torch_policy, torch_trainer

    fields, patches = {}, []
    if trainer == "batched_a_lr":
        fields["lr"] = 1e-2
    if trainer in ("batched_a_advantages", "batched_a_envs"):
        original_advantages = returns.advantages

        def per_episode_standardised(rewards, dones, gamma, kind="normalized", *, mask=None,
                                     values=None):
            g = original_advantages(rewards, dones, gamma, "reward_to_go", mask=mask)
            return np.stack([returns.normalize(g[:, i], mask[:, i]) for i in range(g.shape[1])],
                            axis=1)
        patches.append((returns, "advantages", per_episode_standardised))
    if trainer == "batched_a_envs":
        fields["num_envs"] = 1
    if trainer == "batched_a_sampler":
        original_collect, batched_act = rollout.collect_episodes, torch_policy.CategoricalPolicy.act

        def one_at_a_time(self, obs, greedy=False, *, generator=None):
            actions = []
            for s in obs:  # (a)'s per-action work, the log-probability's graph included
                m = Categorical(logits=self(torch.from_numpy(s).float().unsqueeze(0)))
                action = m.sample()
                m.log_prob(action)
                actions.append(action.item())
            return np.array(actions)

        def collect(*args, **kwargs):  # training's collection only, not the evaluations
            torch_policy.CategoricalPolicy.act = one_at_a_time
            try:
                return original_collect(*args, **kwargs)
            finally:
                torch_policy.CategoricalPolicy.act = batched_act
        patches.append((rollout, "collect_episodes", collect))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    start = _clock()
    try:
        h = torch_trainer.train(seed=seed, max_env_steps=cap_steps, target=TARGET, device="cpu",
                                **fields)
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
    return _result(trainer, seed, h.solved, h.solved_at or h.total_env_steps, start)


def on_policy_fraction(seed: int, cap_steps: int) -> dict:
    """Of the steps that entered torch_trainer's updates, the share sampled by the parameters
    the update's gradient was computed at.

    Measured from outside the trainer: every call of the policy passed to
    ``rollout.collect_episodes`` is tagged with the number of optimiser steps taken so far (a
    global ``torch.optim`` post-step hook counts them), and a pre-step hook compares, for every
    real step (``mask``) of the batch being updated, its tag with the count now.
    """
    import numpy as np
    from torch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    from rlcourse import rollout, torch_trainer

    count = {"optimiser_steps": 0, "steps": 0, "on_policy": 0}
    pending: list[tuple] = []
    original = rollout.collect_episodes

    def collect(envs, policy, *args, **kwargs):
        tags: list[int] = []

        def tagged(obs):
            tags.append(count["optimiser_steps"])
            return policy(obs)
        batch = original(envs, tagged, *args, **kwargs)
        pending.append((batch, np.array(tags)))
        return batch

    def before_step(optimizer, args, kwargs):
        batch, tags = pending.pop()  # the latest collection (evaluations come before it)
        pending.clear()
        sampled_now = (tags == count["optimiser_steps"])[:, None] & batch.mask
        count["steps"] += int(batch.mask.sum())
        count["on_policy"] += int(sampled_now.sum())

    def after_step(optimizer, args, kwargs):
        count["optimiser_steps"] += 1

    rollout.collect_episodes = collect
    hooks = [register_optimizer_step_pre_hook(before_step),
             register_optimizer_step_post_hook(after_step)]
    try:
        h = torch_trainer.train(seed=seed, max_env_steps=cap_steps, target=TARGET, device="cpu")
    finally:
        rollout.collect_episodes = original
        for hook in hooks:
            hook.remove()
    return {"measure": "on_policy_fraction", "trainer": "batched", "seed": seed,
            "updates": count["optimiser_steps"], "steps_in_updates": count["steps"],
            "sampled_by_the_updated_policy": count["on_policy"],
            "fraction": count["on_policy"] / count["steps"], "solved": h.solved}


def _clock() -> tuple[float, float, float]:
    """Wall clock, this process's CPU time, and the machine's 1-minute load average now."""
    return time.perf_counter(), time.process_time(), os.getloadavg()[0]


def _result(trainer: str, seed: int, solved: bool, env_steps: int,
            start: tuple[float, float, float]) -> dict:
    """One run's JSON line. ``cpu_s`` (the process's CPU time) is what the run would take on an
    idle machine; ``wall_s`` is what it took on this one, whose load average at the start of
    the run was ``load_1min`` (a busy machine stretches wall time, hardly CPU time)."""
    return {"trainer": trainer, "seed": seed, "solved": bool(solved),
            "env_steps": int(env_steps), "wall_s": round(time.perf_counter() - start[0], 3),
            "cpu_s": round(time.process_time() - start[1], 3), "load_1min": round(start[2], 2)}


RUNNERS = {"per_episode": train_per_episode, "batched": train_batched, "numpy": train_numpy,
           "on_policy_fraction": on_policy_fraction,
           **{name: functools.partial(train_ablation, name) for name in ABLATIONS}}


# --- driver ----------------------------------------------------------------------------------

def warm_up() -> None:
    """Pay the one-time costs of a fresh process (imports, torch's first backward and Adam step,
    gymnasium's env modules) before the clock starts, the same for every trainer."""
    import gymnasium as gym
    import numpy as np
    import torch

    from rlcourse import rollout

    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.zeros(1, 4)).sum().backward()
    opt.step()
    gym.make("CartPole-v1").reset(seed=0)
    rollout.evaluate("CartPole-v1", lambda obs: np.zeros(len(obs), dtype=np.int64), 2)
    rollout.make_vec("CartPole-v1", 2).close()


def run_in_subprocess(trainer: str, seed: int, cap_steps: int, script: str | None = None) -> dict:
    """One run in a fresh process with one thread; returns its JSON result (``script``: the
    path of pytorch/examples' reinforce.py, for that trainer only)."""
    env = {**os.environ, **THREADS}
    cmd = [sys.executable, os.path.abspath(__file__), "--_one", trainer, str(seed), str(cap_steps),
           *([script] if script else [])]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{trainer} seed {seed} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_or_none(runs: list[dict], key: str) -> float | None:
    """The median over all runs, unsolved ones counting as +inf (None if that is the median)."""
    values = [r[key] if r["solved"] else float("inf") for r in runs]
    m = statistics.median(values)
    return None if m == float("inf") else m


def table(results: list[dict]) -> str:
    lines = [f"{'trainer':<20} {'seed':>4} {'solved':>6} {'env steps':>10} {'wall s':>8}"]
    for r in results:
        lines.append(f"{r['trainer']:<20} {r['seed']:>4} {'yes' if r['solved'] else 'NO':>6} "
                     f"{r['env_steps']:>10,} {r['wall_s']:>8.2f}")
    lines.append("")
    lines.append(f"{'trainer':<20} {'solved':>7} {'median env steps':>17} {'median wall s':>14} "
                 f"{'median cpu s':>13}")
    medians, cpu_medians = {}, {}
    for name in TRAINERS:
        runs = [r for r in results if r["trainer"] == name]
        if not runs:
            continue
        steps, wall = median_or_none(runs, "env_steps"), median_or_none(runs, "wall_s")
        cpu = median_or_none(runs, "cpu_s") if all("cpu_s" in r for r in runs) else None
        medians[name], cpu_medians[name] = wall, cpu
        solved = sum(r["solved"] for r in runs)
        lines.append(f"{name:<20} {solved:>3}/{len(runs):<3} "
                     f"{f'{steps:,.0f}' if steps is not None else 'unsolved':>17} "
                     f"{f'{wall:.2f}' if wall is not None else 'unsolved':>14} "
                     f"{f'{cpu:.2f}' if cpu is not None else '-':>13}")
    if medians.get("batched"):
        lines.append("")
        for name in ("pytorch_examples", "per_episode", *ABLATIONS):
            if name not in medians:
                continue
            if medians[name] is None:
                lines.append(f"{name} did not solve most seeds within the cap: its median wall "
                             "time is a lower bound of >= the cap's time")
            else:
                cpu = ""
                if cpu_medians.get(name) and cpu_medians.get("batched"):
                    cpu = f" (CPU time {cpu_medians[name] / cpu_medians['batched']:.1f}x)"
                lines.append(f"median wall time, {name} / batched: "
                             f"{medians[name] / medians['batched']:.1f}x{cpu}")
    return "\n".join(lines)


def parse_seeds(text: str) -> list[int]:
    if "," in text:
        return [int(s) for s in text.split(",") if s]
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"--seeds must be >= 1 or a list like 0,3,4, got {text}")
    return list(range(n))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_one"]:  # a child process: one run, one JSON line
        import torch

        torch.set_num_threads(1)
        warm_up()
        trainer, seed, cap = argv[1], int(argv[2]), int(argv[3])
        if trainer == "pytorch_examples":
            print(json.dumps(train_pytorch_examples(seed, cap, argv[4])))
        else:
            print(json.dumps(RUNNERS[trainer](seed, cap)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trainers", default=",".join(COURSE),
                        help=f"comma-separated subset of {','.join(TRAINERS)}, or all")
    parser.add_argument("--seeds", type=parse_seeds, default=list(range(5)),
                        help="number of seeds (0..n-1) or a comma-separated list")
    parser.add_argument("--cap-steps", type=int, default=300_000,
                        help="env steps after which a run counts as unsolved")
    parser.add_argument("--pytorch-examples", metavar="PATH",
                        help="pytorch/examples' reinforcement_learning/reinforce.py (a checkout "
                             "outside this repository), for the trainer pytorch_examples")
    parser.add_argument("--pytorch-examples-commit", metavar="SHA",
                        help="the pytorch/examples commit of that file, stored with its runs")
    parser.add_argument("--pytorch-examples-cap-steps", type=int, default=2_000_000,
                        help="env steps after which a reinforce.py run counts as unsolved")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    parser.add_argument("--on-policy-fraction", action="store_true",
                        help="measure, per seed, the share of the steps in torch_trainer's "
                             "updates that the updated policy sampled (one JSON line each)")
    args = parser.parse_args(argv)
    trainers = list(TRAINERS) if args.trainers == "all" else [t for t in args.trainers.split(",")
                                                               if t]
    unknown = set(trainers) - set(TRAINERS)
    if unknown:
        parser.error(f"unknown trainers {sorted(unknown)}; choose from {TRAINERS}")
    if "pytorch_examples" in trainers and not args.pytorch_examples:
        parser.error("the trainer pytorch_examples needs --pytorch-examples PATH (reinforce.py "
                     "of a pytorch/examples checkout outside this repository)")
    if args.pytorch_examples and not os.path.isfile(args.pytorch_examples):
        parser.error(f"--pytorch-examples: no file at {args.pytorch_examples}")
    if args.on_policy_fraction:
        for seed in args.seeds:
            print(json.dumps(run_in_subprocess("on_policy_fraction", seed, args.cap_steps)),
                  flush=True)
        return 0
    results = []
    for seed in args.seeds:  # interleaved: every trainer's seed 0, then every trainer's seed 1
        for trainer in trainers:
            if trainer == "pytorch_examples":
                r = run_in_subprocess(trainer, seed, args.pytorch_examples_cap_steps,
                                      os.path.abspath(args.pytorch_examples))
                r["commit"] = args.pytorch_examples_commit
            else:
                r = run_in_subprocess(trainer, seed, args.cap_steps)
            results.append(r)
            if args.json:
                print(json.dumps(r), flush=True)
            else:
                print(f"  {trainer} seed {seed}: {'solved' if r['solved'] else 'UNSOLVED'} "
                      f"{r['env_steps']:,} steps {r['wall_s']:.1f} s", file=sys.stderr, flush=True)
    if not args.json:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
