"""rlcourse.validate: each refusal names the argument and what was expected."""

import numpy as np
import pytest
import torch

from rlcourse import validate


def test_number_accepts_numpy_scalars_and_returns_float():
    assert validate.number("gamma", np.float32(0.5), low=0, high=1) == 0.5
    assert isinstance(validate.number("lr", 1, low=0, low_open=True), float)


@pytest.mark.parametrize("value, kind, words", [
    (1.5, ValueError, "gamma must be in [0, 1], got 1.5"),
    (float("nan"), ValueError, "gamma must be finite"),
    (True, TypeError, "gamma must be a real number, got bool"),
    ("0.9", TypeError, "gamma must be a real number, got str"),
])
def test_number_refusals(value, kind, words):
    with pytest.raises(kind, match=None) as err:
        validate.number("gamma", value, low=0, high=1)
    assert words in str(err.value)


def test_open_bounds():
    with pytest.raises(ValueError, match=r"lr must be in \(0, inf\], got 0"):
        validate.number("lr", 0.0, low=0, low_open=True)


def test_integer():
    assert validate.integer("n", np.int64(3), low=1) == 3
    for bad, kind in ((2.0, TypeError), (True, TypeError), (np.True_, TypeError), (0, ValueError),
                      ("3", TypeError)):
        with pytest.raises(kind, match="n must be an integer"):
            validate.integer("n", bad, low=1)


def test_array_dtype_rules():
    assert validate.array("r", [1, 2], dtype="float").dtype == np.float64
    with pytest.raises(TypeError, match="actions must hold integers"):
        validate.array("actions", np.array([True, False]), dtype="int")
    with pytest.raises(TypeError, match="rewards must hold real numbers, got booleans"):
        validate.array("rewards", [True], dtype="float")
    with pytest.raises(ValueError, match="dones must hold 0/1"):
        validate.array("dones", [0, 2], dtype="bool")
    assert validate.array("dones", [0, 1], dtype="bool").dtype == bool
    with pytest.raises(TypeError, match="x must hold numbers"):
        validate.array("x", ["a"])


def test_array_shape_and_values():
    with pytest.raises(ValueError, match=r"obs must have shape \(any, 4\), got \(3, 5\)"):
        validate.array("obs", np.zeros((3, 5)), shape=(None, 4))
    with pytest.raises(ValueError, match="must have 1 dimension"):
        validate.array("rewards", np.zeros((2, 2)), ndim=1)
    with pytest.raises(ValueError, match="rewards must be finite, got 2 NaN/inf"):
        validate.array("rewards", [np.nan, np.inf, 0.0], finite=True)
    with pytest.raises(ValueError, match="probs must be >= 0"):
        validate.array("probs", [-0.1, 1.1], low=0)


def test_same_shape_catches_silent_broadcasting():
    validate.same_shape(a=torch.zeros(5), b=np.zeros(5))
    with pytest.raises(ValueError, match=r"log_probs and returns must have the same shape"):
        validate.same_shape(log_probs=torch.zeros(5), returns=torch.zeros(5, 1))


def test_choice():
    assert validate.choice("kind", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="kind must be one of 'a', 'b'; got 'c'"):
        validate.choice("kind", "c", ("a", "b"))


def test_sizes_are_positive_integers_never_truncated():
    assert validate.sizes("hidden", [np.int64(64), 32]) == (64, 32)
    assert validate.sizes("hidden", ()) == ()
    for bad, kind in ((64, TypeError), ("64", TypeError), ((64.0,), TypeError),
                      ((64.5,), TypeError), ((True,), TypeError), ((0,), ValueError),
                      (np.array([64]), TypeError)):
        with pytest.raises(kind, match="hidden must be a tuple of positive integers"):
            validate.sizes("hidden", bad)
    with pytest.raises(ValueError, match=r"sizes must be a tuple of at least 2 positive "
                                         r"integers, got \(4,\)"):
        validate.sizes("sizes", (4,), min_len=2)
    with pytest.raises(TypeError, match=r"hidden must be a tuple of positive integers, got 64$"):
        validate.sizes("hidden", 64)


def test_flag_and_options():
    assert validate.flag("greedy", np.True_) is True
    with pytest.raises(TypeError, match="greedy must be True or False, got int 1"):
        validate.flag("greedy", 1)
    assert validate.options("options", None, ("x_init",)) == {}
    assert validate.options("options", {"x_init": 1.0}, ("x_init",)) == {"x_init": 1.0}
    with pytest.raises(ValueError, match=r"options has unknown key\(s\) 'x_int'; accepted: "
                                         r"'x_init'"):
        validate.options("options", {"x_int": 1.0}, ("x_init",))
    with pytest.raises(ValueError, match="none are accepted"):
        validate.options("options", {"start": 1}, ())
    with pytest.raises(TypeError, match="options must be None or a dict"):
        validate.options("options", [("x_init", 1.0)], ("x_init",))


def test_tensor_kinds_and_values():
    t = torch.tensor([1.0, 2.0])
    assert validate.tensor("x", t, dtype="float", finite=True) is t  # no copy
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor, got ndarray"):
        validate.tensor("x", np.zeros(2))
    with pytest.raises(TypeError, match=r"actions must hold integers \(indices\), got dtype "
                                        r"torch\.bool"):
        validate.tensor("actions", torch.tensor([True]), dtype="int")
    with pytest.raises(TypeError, match="x must be floating point"):
        validate.tensor("x", torch.tensor([1]), dtype="float")
    with pytest.raises(ValueError, match="x must be finite, got 2 NaN/inf"):
        validate.tensor("x", torch.tensor([float("nan"), float("inf"), 0.0]), finite=True)
    logits = torch.tensor([0.0, -float("inf")])
    assert validate.tensor("logits", logits, finite=True, allow=("-inf",)) is logits
    with pytest.raises(ValueError, match=r"logits must not hold NaN or \+inf, got 1 \+inf"):
        validate.tensor("logits", -logits, finite=True, allow=("-inf",))
    both = ("+inf", "-inf")
    with pytest.raises(ValueError, match="u must not hold NaN, got 1 NaN"):
        validate.tensor("u", torch.tensor([float("nan"), float("inf")]), finite=True, allow=both)
    with pytest.raises(ValueError, match=r"a must be in \[0, 1\], got values from 0 to 2"):
        validate.tensor("a", torch.tensor([0, 2]), low=0, high=1)


def test_tensor_sums_that_overflow_are_not_mistaken_for_inf():
    big = torch.full((4,), 3e38)  # float32: the sum overflows, every value is finite
    assert validate.tensor("x", big, finite=True) is big


def test_tensor_values_are_not_read_where_there_are_none_or_it_would_wait():
    nan = torch.full((2,), float("nan"), device="meta")
    assert validate.tensor("x", nan, finite=True) is nan  # meta: shapes only
    cpu_nan = torch.full((2,), float("nan"))
    with pytest.raises(ValueError, match="x must be finite"):
        validate.tensor("x", cpu_nan, finite=True, hot=True)  # the CPU checks hot calls too
