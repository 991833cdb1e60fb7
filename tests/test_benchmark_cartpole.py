"""benchmarks/cartpole.py: its JSON lines, its table and its medians (not its timings)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "cartpole.py"
spec = importlib.util.spec_from_file_location("bench_cartpole", PATH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def run(trainer="batched", seed=0, solved=True, steps=1000, wall=1.0):
    return {"trainer": trainer, "seed": seed, "solved": solved, "env_steps": steps, "wall_s": wall}


def test_medians_count_unsolved_runs_as_infinite():
    runs = [run(steps=10), run(steps=30), run(solved=False, steps=99)]
    assert bench.median_or_none(runs, "env_steps") == 30
    assert bench.median_or_none(runs[1:], "env_steps") is None  # median is an unsolved run


def test_table_reports_ratio_and_unsolved():
    results = [run("per_episode", wall=100.0), run("per_episode", seed=1, solved=False),
               run("per_episode", seed=2, wall=80.0), run("batched", wall=4.0),
               run("batched", seed=1, wall=6.0)]
    text = bench.table(results)
    assert "NO" in text and "per_episode / batched: 20.0x" in text  # 100 / 5
    text = bench.table([run("per_episode", solved=False), run("batched", wall=4.0)])
    assert "did not solve most seeds" in text
    assert bench.parse_seeds("3") == [0, 1, 2] and bench.parse_seeds("4,7") == [4, 7]


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["per_episode", "batched", "numpy"])
def test_json_lines_of_capped_runs(trainer):
    out = subprocess.run([sys.executable, str(PATH), "--trainers", trainer, "--seeds", "1",
                          "--cap-steps", "1500", "--json"], capture_output=True, text=True,
                         check=True, timeout=120)
    (line,) = out.stdout.strip().splitlines()
    r = json.loads(line)
    assert set(r) == {"trainer", "seed", "solved", "env_steps", "wall_s", "cpu_s", "load_1min"}
    assert r["trainer"] == trainer and r["seed"] == 0 and r["solved"] is False
    assert r["env_steps"] >= 1500 and r["wall_s"] > 0


def test_unknown_trainer_is_an_error():
    with pytest.raises(SystemExit):
        bench.main(["--trainers", "ppo"])


def test_on_policy_fraction_is_measured_and_is_one():
    r = bench.on_policy_fraction(seed=0, cap_steps=1500)
    assert r["updates"] >= 2 and r["steps_in_updates"] >= 12 * 9  # at least 9 steps an episode
    assert r["sampled_by_the_updated_policy"] == r["steps_in_updates"] and r["fraction"] == 1.0


FAKE_EXAMPLE = '''import argparse
import gymnasium as gym

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int)
args = parser.parse_args()
env = gym.make("CartPole-v1")
env.reset(seed=args.seed)
for _ in range(STEPS):
    _, _, terminated, truncated, _ = env.step(0)
    if terminated or truncated:
        env.reset()
print(f"Solved! seed {args.seed}")
'''


@pytest.mark.parametrize("steps, cap, solved", [(120, 1000, True), (120, 50, False)])
def test_pytorch_examples_runs_the_script_by_path_and_counts_its_steps(tmp_path, steps, cap,
                                                                       solved):
    script = tmp_path / "reinforce.py"
    script.write_text(FAKE_EXAMPLE.replace("STEPS", str(steps)))
    import gymnasium as gym

    make = gym.make
    r = bench.train_pytorch_examples(3, cap, str(script))
    assert gym.make is make, "gym.make is restored"
    assert r["trainer"] == "pytorch_examples" and r["seed"] == 3 and r["solved"] is solved
    assert r["env_steps"] == min(steps, cap) and r["cpu_s"] >= 0
    assert len(r["script_sha256"]) == 64 and "running reward" in r["criterion"]


def test_pytorch_examples_needs_its_path():
    with pytest.raises(SystemExit):
        bench.main(["--trainers", "pytorch_examples"])
    with pytest.raises(SystemExit):
        bench.main(["--trainers", "pytorch_examples", "--pytorch-examples", "/no/such/file.py"])
