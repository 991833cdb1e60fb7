"""The package's own implementation of each exercise, which an answer may not call.

Each exercise of the course is something the package also implements (notebook 01's
``discounted_returns`` is :func:`rlcourse.returns.discounted_returns`). An answer that returns
the package's result passes every comparison while teaching nothing, so
:meth:`rlcourse.checks.feedback.Exercise.call` watches the calls the student's function makes and
fails the exercise, saying why, when one of them reaches:

- a function listed here for that exercise (by check module and exercise name), or
- any ``check_...`` or ``reference_...`` function of a check module (the checks' own
  reference answers are public: they teach).

Later exercises may use what earlier ones built: notebook 02's ``episode_policy_gradient``
calls the package's ``backward`` by design, so only what *is* the exercise is listed.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterator
from pathlib import Path

# (check module, Exercise name) -> dotted names of the package's implementations of it
REFERENCES: dict[tuple[str, str], tuple[str, ...]] = {
    ("update_equation", "discounted_returns"): (
        "rlcourse.returns.discounted_returns", "rlcourse.returns.reward_to_go",
        "rlcourse.returns.whole_episode_returns", "rlcourse.returns.advantages"),
    ("update_equation", "grad_log_softmax"): (
        "rlcourse.numpy_policy.log_prob_grad", "rlcourse.envs.short_corridor_exact.grad_log_policy"),
    ("update_equation", "reinforce_update"): (
        "rlcourse.corridor_reinforce.episode_update",
        "rlcourse.corridor_reinforce.episode_update_with_baseline"),
    ("numpy_backprop", "softmax and log_softmax"): (
        "rlcourse.numpy_policy.softmax", "rlcourse.numpy_policy.log_softmax",
        "rlcourse.numpy_policy.log_prob"),
    ("numpy_backprop", "backward"): (
        "rlcourse.numpy_policy.backward", "rlcourse.numpy_policy.policy_gradient"),
    ("numpy_backprop", "episode_policy_gradient"): (
        "rlcourse.numpy_policy.policy_gradient", "rlcourse.numpy_policy.log_prob_grad",
        "rlcourse.checks.numpy_backprop._pg"),
    ("numpy_backprop", "reinforce_update"): ("rlcourse.checks.numpy_backprop._update_with",),
    ("numpy_backprop", "dloss_dlogits"): (
        "rlcourse.numpy_policy.log_prob_grad", "rlcourse.numpy_policy.policy_gradient",
        "rlcourse.checks.numpy_backprop._dloss_dlogits"),
    ("torch_cross_entropy", "reinforce_cross_entropy"): (
        "rlcourse.torch_policy.cross_entropy_loss", "rlcourse.torch_policy.logprob_loss",
        "rlcourse.torch_policy.log_softmax_loss", "rlcourse.trainer.surrogate_loss"),
    ("torch_cross_entropy", "reinforce_log_prob"): (
        "rlcourse.torch_policy.cross_entropy_loss", "rlcourse.torch_policy.logprob_loss",
        "rlcourse.torch_policy.log_softmax_loss", "rlcourse.trainer.surrogate_loss"),
    ("torch_cross_entropy", "advantages"): (
        "rlcourse.returns.advantages", "rlcourse.returns.batch_mean_baseline"),
    ("gaussian", "gaussian_log_prob"): (
        "rlcourse.gaussian_policy.gaussian_log_prob", "rlcourse.numpy_policy.gaussian_log_prob"),
    ("gaussian", "GaussianPolicy module"): ("rlcourse.gaussian_policy.GaussianPolicy",),
    ("gaussian", "reinforce_loss"): ("rlcourse.trainer.surrogate_loss",),
    ("gaussian", "collect on a device"): ("rlcourse.gaussian_trainer.collect",),
}

CHECKS_DIR = str(Path(__file__).resolve().parent)
_PUBLIC_PREFIXES = ("check_", "reference_")


def _resolve(dotted: str) -> object | None:
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):  # an optional dependency missing: nothing to watch
        return None


def _codes_of(obj: object) -> Iterator[types.CodeType]:
    if isinstance(obj, types.FunctionType):
        yield obj.__code__
    elif isinstance(obj, type):  # a class: every method written in Python
        for value in vars(obj).values():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            if isinstance(value, types.FunctionType):
                yield value.__code__


def forbidden_codes(check_module: str, exercise: str) -> dict[types.CodeType, str]:
    """Code objects an answer to ``exercise`` may not run, mapped to the name to tell."""
    found: dict[types.CodeType, str] = {}
    for dotted in REFERENCES.get((check_module, exercise), ()):
        obj = _resolve(dotted)
        for code in _codes_of(obj):
            found[code] = dotted.removeprefix("rlcourse.")
    return found


def is_check_code(code: types.CodeType) -> bool:
    """A ``check_...`` or ``reference_...`` function written in a check module."""
    return code.co_name.startswith(_PUBLIC_PREFIXES) and code.co_filename.startswith(CHECKS_DIR)
