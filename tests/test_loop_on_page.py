"""The loop on the page is the package's loop (issue #13, part 3).

Notebooks 03 and 04 show the REINFORCE loop in a cell tagged ``reinforce-loop``; the cell reads
``config`` and ``device`` from the cells before it. Run here for a few updates from a seed, it
must end with the same weights, losses and step counts as ``torch_trainer.train`` /
``gaussian_trainer.train`` given the same config; and its loop must read as the package's loop
(the same statements, module prefixes aside), in one screen.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch.distributions import Categorical

from rlcourse import gaussian_trainer, returns, rollout, runtime, torch_trainer, trainer
from rlcourse.envs import pendulum

ROOT = Path(__file__).resolve().parents[1]
TAG = "reinforce-loop"
CASES = {
    "03": ("solutions/03_torch_cross_entropy.ipynb", torch_trainer,
           torch_trainer.Config(seed=3, max_env_steps=2_000, target=None)),
    "04": ("solutions/04_gaussian_policies_gpu.ipynb", gaussian_trainer,
           gaussian_trainer.Config(seed=3, num_envs=16, max_env_steps=4 * 16 * 200,
                                   eval_every=2, eval_episodes=8)),
}
MAX_LINES = 45  # one screen


def loop_cell(path: str, module) -> str:
    nb = nbformat.read(ROOT / path, as_version=4)
    cells = [c for c in nb.cells if TAG in c.metadata.get("tags", [])]
    if len(cells) != 1:
        pytest.fail(f"{path} has {len(cells)} cells tagged {TAG!r}, expected 1: the notebook must "
                    f"show the REINFORCE loop that {module.__name__}.train runs, in one cell "
                    f"tagged {TAG!r} that reads `config` and `device` from earlier cells")
    return cells[0].source


def run_cell(source: str, config, path: str) -> dict:
    ns = {"torch": torch, "Categorical": Categorical, "returns": returns, "rollout": rollout,
          "runtime": runtime, "trainer": trainer, "torch_trainer": torch_trainer,
          "gaussian_trainer": gaussian_trainer, "pendulum": pendulum, "config": config,
          "device": torch.device("cpu")}
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("while not history.done"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and lines[i][0] != " "),
               len(lines))
    body = "\n".join(lines[:end])  # the setup and the loop; not the report after it
    exec(compile(body, f"{path}::{TAG}", "exec"), ns)
    return ns


def loop_statements(source: str, prefix: str) -> str:
    """The loop from ``while not history.done:`` to the evaluation, whitespace and the
    ``module.`` prefix removed."""
    start = source.index("while not history.done:")
    end = source.index("history.record_evaluation(scores.mean())", start)
    return re.sub(r"\s+", "", source[start:end].replace(prefix, ""))


@pytest.mark.slow  # trains, twice
@pytest.mark.parametrize("notebook", sorted(CASES))
def test_the_notebook_loop_is_the_package_loop(notebook):
    path, module, config = CASES[notebook]
    source = loop_cell(path, module)
    assert len(source.splitlines()) <= MAX_LINES, "the loop no longer fits one screen"
    package = inspect.getsource(module._loop)
    assert loop_statements(source, f"{module.__name__.split('.')[-1]}.") == \
        loop_statements(package, ""), f"{path}'s loop differs from {module.__name__}._loop"

    ns = run_cell(source, config, path)
    want = module.train(config, device="cpu")
    got = ns["history"]
    assert got.env_steps == want.env_steps and got.loss == want.loss
    assert got.evaluations == want.evaluations
    for (name, p), (_, q) in zip(got.policy.named_parameters(), want.policy.named_parameters(),
                                 strict=True):
        assert torch.equal(p, q), f"parameter {name} differs after {len(want.loss)} updates"
