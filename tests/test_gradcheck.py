"""Finite differences and relative error (rlcourse.gradcheck)."""

import numpy as np
import pytest

from rlcourse import gradcheck


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    g = gradcheck.numerical_gradient(lambda v: np.sum(np.sin(v) * v**2), x)
    exact = np.cos(x) * x**2 + 2 * x * np.sin(x)
    assert gradcheck.rel_error(g, exact) < 1e-7


def test_numerical_gradient_restores_x_and_reads_it_through_a_closure():
    params = {"W": np.array([[1.0, -2.0], [0.5, 3.0]])}
    before = params["W"].copy()
    g = gradcheck.numerical_gradient(lambda _: float((params["W"] ** 3).sum()), params["W"])
    np.testing.assert_array_equal(params["W"], before)
    np.testing.assert_allclose(g, 3 * before**2, rtol=1e-8)


def test_centred_differences_are_second_order():
    # a one-sided difference would be off by about h * f''/2 = 5e-4 here; centred is exact-ish
    x = np.array([1.0])
    g = gradcheck.numerical_gradient(lambda v: float(np.exp(v[0])), x, h=1e-3)
    assert abs(g[0] - np.e) / np.e < 1e-6


def test_rel_error_values():
    assert gradcheck.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradcheck.rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert gradcheck.rel_error([0.0], [0.0]) == 0.0  # the 1e-8 floor: no division by zero
    assert gradcheck.rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    # the largest entry counts, not the mean
    assert gradcheck.rel_error([1.0, 1.0, 1.0], [1.0, 1.0, 3.0]) == pytest.approx(0.5)


def test_rel_error_accepts_torch():
    torch = pytest.importorskip("torch")
    assert gradcheck.rel_error(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0


@pytest.mark.parametrize("x, match", [
    ([1.0, 2.0], "x must be a NumPy array"),
    (np.array([1.0, 2.0], dtype=np.float32), "x must have dtype float64"),
])
def test_numerical_gradient_rejects_bad_x(x, match):
    with pytest.raises(TypeError, match=match):
        gradcheck.numerical_gradient(lambda v: 0.0, x)


@pytest.mark.parametrize("h", [0.0, -1e-6, float("nan"), "small", True, 2.0, None])
def test_numerical_gradient_rejects_bad_h(h):
    with pytest.raises(ValueError, match="h must be a positive number"):
        gradcheck.numerical_gradient(lambda v: 0.0, np.zeros(2), h=h)


def test_numerical_gradient_rejects_vector_valued_f_and_non_callables():
    with pytest.raises(ValueError, match="f must return a scalar"):
        gradcheck.numerical_gradient(lambda v: v * 2, np.zeros(2))
    with pytest.raises(TypeError, match="f must be a function"):
        gradcheck.numerical_gradient(3.0, np.zeros(2))


def test_rel_error_rejects_bad_input():
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        gradcheck.rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="b must be finite"):
        gradcheck.rel_error([1.0], [np.nan])
    with pytest.raises(TypeError, match="a must be an array of numbers"):
        gradcheck.rel_error(["x"], [1.0])


def test_numerical_gradient_refuses_non_finite_x_and_f():
    with pytest.raises(ValueError, match="x must be finite"):
        gradcheck.numerical_gradient(lambda v: 0.0, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="f must be finite near x"):
        gradcheck.numerical_gradient(lambda v: np.inf if v[0] > 0 else 0.0, np.array([0.0]))


def test_rel_error_refuses_booleans_and_objects():
    with pytest.raises(TypeError, match="a must be an array of numbers, got dtype bool"):
        gradcheck.rel_error([True, False], [1.0, 0.0])
    with pytest.raises(TypeError, match="b must be an array of numbers"):
        gradcheck.rel_error([1.0], [None])
