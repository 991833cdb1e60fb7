"""The check framework: student code called safely, results checked, failures said in words."""

from __future__ import annotations

import re
import sys
import time

import numpy as np
import pytest
import torch

from rlcourse.checks import feedback
from rlcourse.checks.feedback import (
    Exercise,
    ExerciseFailed,
    ExerciseNotImplemented,
    Feedback,
    close,
    diagnose,
    fmt,
    to_numpy,
)

EX = Exercise("demo", timeout_s=0.5)


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(ExerciseFailed) as info:
        fn(*args, **kwargs)
    return str(info.value)


# ----------------------------------------------------------------------------- Exercise.call

def test_call_returns_the_result_and_leaves_the_callers_data_alone():
    x = np.arange(3.0)
    assert np.array_equal(EX.call(lambda a: a * 2, x), [0.0, 2.0, 4.0])
    assert np.array_equal(x, [0.0, 1.0, 2.0])


def test_not_implemented_is_its_own_failure():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(ExerciseNotImplemented) as info:
        EX.call(stub, 1)
    assert "not implemented yet" in str(info.value)
    assert isinstance(info.value, NotImplementedError)  # nbval lets exactly these cells raise


def test_an_exception_is_named_with_the_students_own_line():
    def wrong(rewards):
        total = 0.0
        for t in range(len(rewards) + 1):
            total += rewards[t]
        return total

    message = failure(EX.call, wrong, np.ones(3), case="rewards = [1, 1, 1]")
    assert message.startswith("✘ demo: your function raised IndexError")
    assert re.search(r"\(at line \d+ of test_feedback.py: `total \+= rewards\[t\]`\)", message)
    assert "input: rewards = [1, 1, 1]" in message
    assert "Traceback" not in message and "checks/feedback.py" not in message


def test_an_exception_inside_numpy_points_at_the_call_in_student_code():
    def wrong(x):
        return np.reshape(x, (4, 4))

    message = failure(EX.call, wrong, np.ones(3))
    assert "ValueError" in message and "`return np.reshape(x, (4, 4))`" in message


def test_a_hang_is_stopped_by_the_time_limit():
    def endless(x):
        while True:
            x = x + 1

    start = time.monotonic()
    message = failure(EX.call, endless, 0)
    assert time.monotonic() - start < 5
    assert "did not return within 0.5 s (an endless loop?)" in message


def test_an_enclosing_time_limit_survives_a_nested_one():
    outer = Exercise("outer", timeout_s=0.6)
    inner = Exercise("inner", timeout_s=5)

    def slow_then_endless(_):
        inner.call(lambda y: y, 1)  # finishes at once; the outer limit must still be armed
        while True:
            pass

    assert "did not return within 0.6 s" in failure(outer.call, slow_then_endless, 0)


def test_sys_exit_is_reported_not_obeyed():
    assert "called sys.exit(3)" in failure(EX.call, lambda x: sys.exit(3), 1)


@pytest.mark.parametrize("make", [np.zeros, lambda n: torch.zeros(n, dtype=torch.float64)])
def test_in_place_modification_is_reported(make):
    def sneaky(x):
        x += 1
        return x

    message = failure(EX.call, sneaky, make(3))
    assert "modified its input in place" in message


def test_in_place_change_of_a_list_or_dict_argument_is_reported():
    assert "in place" in failure(EX.call, lambda d: d.update(a=2), {"a": 1})
    assert "in place" in failure(EX.call, lambda lst: lst.append(0), [1.0])


def test_modules_and_plain_objects_are_compared_by_value_not_identity():
    net = torch.nn.Linear(2, 1)

    class Box:
        def __init__(self):
            self.w = np.ones(2)

    EX.call(lambda m, b: m(torch.ones(2)).sum().item(), net, Box())  # untouched: passes

    def train_step(m):
        with torch.no_grad():
            m.weight += 1.0

    assert "in place" in failure(EX.call, train_step, net)

    def poke(b):
        b.w[0] = 5.0

    assert "in place" in failure(EX.call, poke, Box())


def test_non_leaf_tensors_can_be_passed():
    x = torch.ones(3, requires_grad=True) * 2  # a non-leaf tensor refuses deepcopy
    out = EX.call(lambda t: t.sum(), x)
    assert float(out.detach()) == 6.0


def test_warnings_are_kept_off_stderr_and_quoted_in_a_failure(capsys):
    import warnings

    def noisy(x):
        warnings.warn("divide by zero encountered in log", RuntimeWarning, stacklevel=1)
        print("debugging", file=sys.stderr)
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping the call would raise here
        assert EX.call(noisy, 2) == 2
    captured = capsys.readouterr()
    assert captured.err == "" and "debugging" in captured.out  # nbgrader fails on stderr
    EX.call(noisy, 2)
    message = failure(EX.fail, "expected 3, got 2", "x = 2")
    assert message.endswith("your function warned: RuntimeWarning: divide by zero "
                            "encountered in log")
    EX.call(lambda x: x, 2)
    assert "warned" not in failure(EX.fail, "wrong")


def test_not_a_function():
    assert "expected a function, got int" in failure(EX.call, 3)


# ----------------------------------------------------------------------------- as_array

def test_numpy_torch_lists_and_numbers_are_accepted():
    for value in (np.array([1, 2]), torch.tensor([1.0, 2.0]), [1, 2],
                  torch.tensor([1.0, 2.0], requires_grad=True) * 1,
                  torch.tensor([1.0, 2.0], dtype=torch.bfloat16)):
        arr = EX.as_array(value, shape=(2,))
        assert arr.dtype == np.float64 and np.array_equal(arr, [1.0, 2.0])
    assert EX.as_array(3, shape=()) == 3.0


def test_none_says_return_is_missing():
    assert "is None: did you forget to `return` it?" in failure(EX.as_array, None)


@pytest.mark.parametrize("value, expected", [
    (np.ones(6), "shape (6,), expected (2, 3) (same number of entries: a reshape"),
    (np.float64(1.0), "shape (), expected (2, 3) (a single number: did you sum or average"),
    (np.ones((3, 3)), "shape (3, 3), expected (2, 3)"),
])
def test_wrong_shape_is_reported_with_a_hint(value, expected):
    assert expected in failure(EX.as_array, value, shape=(2, 3))


def test_nan_and_inf_are_reported_with_their_usual_causes():
    assert "contains NaN (a log of 0" in failure(EX.as_array, np.array([np.nan, 1.0]))
    assert "contains inf" in failure(EX.as_array, torch.tensor([np.inf]))


def test_wrong_dtypes_are_reported():
    assert "should hold numbers, got dtype <U1" in failure(EX.as_array, np.array(["a"]))
    assert "should be an array or tensor, got str" in failure(EX.as_array, "1.0")
    assert "complex dtype" in failure(EX.as_array, np.array([1j]))
    assert "expected a int dtype" in failure(EX.as_array, np.array([0.3, 0.7]), kind="int")
    assert "expected a float dtype" in failure(EX.as_array, np.array([1, 2]), kind="float")
    assert EX.as_array(torch.tensor([1, 0]), kind="int", shape=(2,)).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="kind must be"):
        EX.as_array(np.ones(1), kind="complex")


# ----------------------------------------------------------------------------- helpers

def test_diagnose_names_the_first_matching_mistake_and_runs_callables_lazily():
    calls = []

    def costly():
        calls.append(1)
        return np.array([9.0])

    got = np.array([2.0])
    assert diagnose(got, {"mean instead of sum": np.array([2.0]), "costly": costly}) \
        == "mean instead of sum"
    assert calls == []
    assert diagnose(got, {"other": np.array([3.0]), "shape": np.ones(2)}) is None


def test_close_fmt_to_numpy():
    assert close(np.ones(2), np.ones(2) + 1e-9) and not close(np.ones(2), np.ones(3))
    assert fmt([1.0, 2.5]) == "[1. , 2.5]" and fmt(object) == repr(object)
    assert to_numpy("x") is None and to_numpy(torch.ones(1)).shape == (1,)


def test_feedback_prints_as_one_line_and_is_truthy():
    fb = EX.passed("3 cases")
    assert isinstance(fb, Feedback) and fb and str(fb) == repr(fb) == "✔ demo: 3 cases"


def test_fail_names_the_exercise_and_the_input():
    assert failure(EX.fail, "wrong sign", "x = 1") == "✘ demo: wrong sign\n  input: x = 1"


# ----------------------------------------------------------------------------- IPython

def test_ipython_shows_only_the_message_of_a_failed_check():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shown: list[list[str]] = []
    shell._showtraceback = lambda etype, value, stb: shown.append(stb)
    shell.set_custom_exc((ExerciseFailed,), feedback._show_message_only)
    result = shell.run_cell(
        "from rlcourse.checks.feedback import Exercise\n"
        "Exercise('demo').fail('the sign is flipped', 'x = 1')\n")
    assert isinstance(result.error_in_exec, ExerciseFailed)  # the cell counts as failed
    assert shown == [["✘ demo: the sign is flipped\n  input: x = 1"]]
    result = shell.run_cell("1 / 0")  # other errors keep IPython's own traceback
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert len(shown) == 2 and any("ZeroDivisionError" in line for line in shown[1])


# ----------------------------------------------------------------------------- shortcuts

def _demo_exercise(name: str = "demo_ref") -> Exercise:
    return Exercise(name, timeout_s=2)  # made here: its check module is this test module


@pytest.fixture
def demo_reference(monkeypatch):
    from rlcourse.checks import references

    module = __name__.rpartition(".")[2]
    monkeypatch.setitem(references.REFERENCES, (module, "demo_ref"),
                        ("rlcourse.returns.discounted_returns",))


def test_an_answer_that_calls_the_packages_implementation_cannot_pass(demo_reference):
    from rlcourse import returns

    ex = _demo_exercise()
    out = ex.call(lambda r, g: returns.discounted_returns(r, g) + 0.0, np.ones(3), 0.5)
    assert np.allclose(out, [1.75, 1.5, 1.0])  # the check still sees (and may diagnose) it
    message = failure(ex.passed, "all cases")
    assert "calls the course's own implementation (`returns.discounted_returns`)" in message
    assert "earns no points" in message


def test_an_answer_that_is_the_packages_implementation_is_refused_at_once(demo_reference):
    from rlcourse import returns

    message = failure(_demo_exercise().call, returns.discounted_returns, np.ones(3), 0.5)
    assert "`returns.discounted_returns`" in message


def test_other_package_functions_and_other_exercises_are_allowed(demo_reference):
    from rlcourse import numpy_policy, returns

    ex = _demo_exercise()
    ex.call(lambda z: numpy_policy.softmax(z), np.zeros((1, 2)))  # not this exercise's reference
    assert ex.passed("ok")
    other = _demo_exercise("another exercise")
    other.call(returns.discounted_returns, np.ones(2), 0.9)
    assert other.passed("ok")


def test_calling_a_checks_reference_function_cannot_pass():
    from rlcourse.checks import update_equation

    ex = _demo_exercise("any")
    ex.call(lambda *a: update_equation.reference_grad_log_softmax(*a),
            np.zeros(2), np.eye(2), 0)
    assert "reference_grad_log_softmax" in failure(ex.passed, "ok")


def test_a_real_check_refuses_the_package_answer():
    from rlcourse import returns
    from rlcourse.checks import update_equation

    message = failure(update_equation.check_discounted_returns,
                      lambda r, g: returns.discounted_returns(r, g))
    assert "course's own implementation" in message and "discounted_returns" in message


def test_every_listed_reference_exists_and_names_an_exercise_of_its_check_module():
    import importlib

    from rlcourse.checks import references

    for (module, exercise), dotted in references.REFERENCES.items():
        source = importlib.import_module(f"rlcourse.checks.{module}").__file__
        with open(source, encoding="utf-8") as f:
            assert f'Exercise("{exercise}"' in f.read(), (module, exercise)
        for name in dotted:
            assert references._resolve(name) is not None, name


@pytest.fixture
def grading(monkeypatch):
    """As in a kernel of `python -m rlcourse_grading grade` (RLCOURSE_GRADING=1)."""
    from rlcourse.checks import feedback

    monkeypatch.setattr(feedback, "GRADING", True)


def test_in_the_learners_kernel_a_check_installs_no_trace_function():
    seen = []

    def tracer(frame, event, arg):  # a debugger's or coverage's
        seen.append(frame.f_code.co_name)
        return None

    def my_answer(x):
        assert sys.gettrace() is tracer, "the check replaced the debugger's trace function"
        return x

    sys.settrace(tracer)
    try:
        _demo_exercise("any").call(my_answer, 1.0)
    finally:
        sys.settrace(None)
    assert "my_answer" in seen


def test_the_time_limit_waits_while_a_debugger_holds_the_answer():
    import time

    def tracer(frame, event, arg):
        return None

    def paused_at_a_breakpoint(x):
        time.sleep(1.5)  # the learner looks around in pdb
        return x

    sys.settrace(tracer)
    try:
        assert Exercise("any", timeout_s=0.5).call(paused_at_a_breakpoint, 2.0) == 2.0
    finally:
        sys.settrace(None)
    assert "did not return within" in failure(Exercise("any", timeout_s=0.5).call,
                                              paused_at_a_breakpoint, 2.0)


def test_an_answer_calling_the_implementation_through_its_own_helper_cannot_pass(
        demo_reference):
    ex = _demo_exercise()
    ex.call(_helper_answer, np.ones(3), 0.5)
    assert "`returns.discounted_returns`" in failure(ex.passed, "all cases")


def test_a_function_that_patches_numpy_fails_and_numpy_is_put_back(grading):
    original = np.allclose

    def sneaky(x):
        np.allclose = lambda *a, **k: True
        return x

    message = failure(_demo_exercise("any").call, sneaky, np.ones(2))
    assert "replaced `numpy.allclose`" in message and "earns no points" in message
    assert np.allclose is original


def test_a_function_that_rewrites_a_checks_code_fails_and_the_code_is_put_back(grading):
    from rlcourse.checks import start_here

    code = start_here.check_total_reward.__code__

    def sneaky(x):
        start_here.check_total_reward.__code__ = (lambda f: None).__code__
        return x

    message = failure(_demo_exercise("any").call, sneaky, 1.0)
    assert "check_total_reward (its code)" in message
    assert start_here.check_total_reward.__code__ is code


def test_a_function_that_turns_the_call_watch_off_fails(grading):
    def sneaky(x):
        sys.settrace(None)
        return x

    assert "sys.settrace" in failure(_demo_exercise("any").call, sneaky, 1.0)


def test_an_array_subclass_cannot_answer_the_comparison_itself():
    class Liar(np.ndarray):
        def __array_function__(self, func, types, args, kwargs):
            return True

        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

    liar = np.zeros(3).view(Liar)
    got = _demo_exercise("any").as_array(liar, shape=(3,))
    assert type(got) is np.ndarray and not close(got, np.ones(3))


def _helper(r, g):
    from rlcourse import returns

    return returns.discounted_returns(r, g)


def _helper_answer(r, g):  # a notebook's answer that calls its own helper
    return _helper(r, g) * 1.0


def test_honest_habits_in_a_correct_answer_keep_the_check_passing(capsys):
    """print, a log line, a warning, a tqdm bar and a trace function (a debugger's) inside a
    correct answer: the check passes in the learner's kernel."""
    import logging
    import warnings

    from tqdm.auto import tqdm

    from rlcourse.checks import start_here

    logging.basicConfig()
    log = logging.getLogger("mine")

    def total_reward(rewards):
        print("summing", len(rewards))
        log.warning("summing %d", len(rewards))
        warnings.warn("a slow loop", stacklevel=1)
        return float(sum(float(r) for r in tqdm(rewards, disable=False)))

    def tracer(frame, event, arg):
        return None

    sys.settrace(tracer)
    try:
        assert start_here.check_total_reward(total_reward)
    finally:
        sys.settrace(None)
