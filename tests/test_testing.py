"""matderiv.testing: the random values behind every numeric check.

Inverted and determinant matrices must be invertible, well conditioned, with
det > 0 (log det defined) and *not* symmetric: at a symmetric X, X⁻ᵀ = X⁻¹ and a
transposed derivative would pass every finite-difference check.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import derive, evaluate, gradient
from matderiv.testing import (
    check_derivation,
    definite_matrix,
    needs_definite,
    random_values,
    spd_matrix,
)

n, m = sp.symbols("n m", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, n)
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", m, n)
a = sp.MatrixSymbol("a", n, 1)
b = sp.MatrixSymbol("b", n, 1)
LOGDET = sp.log(sp.Determinant(X))


def _asymmetry(M: np.ndarray) -> float:
    return float(np.linalg.norm(M - M.T) / np.linalg.norm(M))


@pytest.mark.parametrize(
    "expr",
    [LOGDET, a.T * sp.Inverse(X) * b, sp.Determinant(X), sp.MatPow(X, -2), sp.Trace(X.I)],
    ids=["logdet", "inverse", "det", "matpow", "trace-inverse"],
)
@pytest.mark.parametrize("size", [2, 3, 4, 7])
def test_inverted_and_det_matrices_are_definite_not_symmetric(expr, size) -> None:
    assert X in needs_definite(expr)
    rng = np.random.default_rng(size)
    for _ in range(50):
        value = random_values(expr, {n: size}, rng)[X]
        assert value.shape == (size, size)
        assert _asymmetry(value) > 0.1  # far from symmetric: X⁻ᵀ and X⁻¹ differ
        assert np.linalg.det(value) > 0  # log det is defined
        assert np.linalg.svd(value, compute_uv=False)[-1] >= 1 - 1e-12  # xᵀXx >= ‖x‖²
        assert np.linalg.cond(value) < 50
        assert np.all(np.linalg.eigvals(value).real > 0)
        inverse = np.linalg.inv(value)
        assert not np.allclose(inverse, inverse.T)


def test_transposed_logdet_gradient_fails_at_the_drawn_values() -> None:
    """X⁻¹ is not d log det X / dX = X⁻ᵀ: the values tell them apart."""
    values = random_values(LOGDET, {n: 4}, np.random.default_rng(0))
    right = evaluate(derive(LOGDET, X, "denominator").result, values)
    assert np.allclose(right, np.linalg.inv(values[X]).T)
    assert not np.allclose(right, np.linalg.inv(values[X]))


def test_check_derivation_passes_logdet_in_both_layouts() -> None:
    for layout in ("numerator", "denominator"):
        assert check_derivation(derive(LOGDET, X, layout), {n: 4}, trials=3) < 1e-6


def test_other_symbols_are_gaussian() -> None:
    expr = sp.Trace(B * sp.Inverse(X) * B.T) + sp.Trace(A)
    assert needs_definite(expr) == {X}
    values = random_values(expr, {n: 3, m: 2}, np.random.default_rng(1))
    assert values[B].shape == (2, 3) and values[A].shape == (3, 3)
    assert _asymmetry(values[X]) > 0.1


def test_plain_gaussian_on_request() -> None:
    values = random_values(LOGDET, {n: 3}, np.random.default_rng(2), definite=set())
    reference = np.random.default_rng(2).standard_normal((3, 3))
    assert np.array_equal(values[X], reference)


def test_symmetric_values_only_on_request() -> None:
    """A symmetric-only identity (e.g. Cookbook (53)) asks for symmetric values explicitly."""
    expr = sp.Determinant(B * A * B.T)
    rng = np.random.default_rng(3)
    plain = random_values(expr, {n: 3, m: 2}, rng)
    assert _asymmetry(plain[A]) > 0.1
    values = random_values(expr, {n: 3, m: 2}, rng, symmetric={A})
    assert np.allclose(values[A], values[A].T)
    assert np.all(np.linalg.eigvalsh(values[A]) >= 1 - 1e-12)
    with pytest.raises(ValueError, match="square"):
        random_values(expr, {n: 3, m: 2}, rng, symmetric={B})


def test_definite_and_spd_matrices() -> None:
    rng = np.random.default_rng(4)
    assert definite_matrix(1, rng)[0, 0] >= 1
    s = spd_matrix(5, rng)
    assert np.allclose(s, s.T) and np.linalg.eigvalsh(s).min() >= 1 - 1e-12
    d = definite_matrix(5, rng)
    sym, skew = (d + d.T) / 2, (d - d.T) / 2
    assert np.linalg.eigvalsh(sym).min() >= 1 - 1e-12
    assert 0.5 - 1e-9 <= np.linalg.norm(skew, 2) / np.linalg.norm(sym, 2) <= 1 + 1e-9


def test_scalar_symbols_get_random_values_but_sizes_do_not() -> None:
    """s in s·xᵀx is drawn in [0.5, 1.5] (check_derivation used to stop at 'no values
    for s'); the size n is not a value to draw."""
    k, s = sp.Symbol("k", integer=True, positive=True), sp.Symbol("s")
    v = sp.MatrixSymbol("v", k, 1)
    values = random_values(s * (v.T * v), {k: 3}, np.random.default_rng(0))
    assert set(values) == {v, s} and 0.5 <= values[s] <= 1.5
    check_derivation(gradient(s * (v.T * v), v), {k: 3})


def test_a_derivative_of_an_expression_without_the_variable_is_checked() -> None:
    """d tr(A)/dX = 0: the variable needs a value though the expression has none of it
    (check_derivation raised KeyError: X)."""
    n = sp.Symbol("n", integer=True, positive=True)
    X, A = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("A", n, n)
    for layout in ("numerator", "denominator"):
        assert check_derivation(derive(sp.Trace(A), X, layout), {n: 3}) == 0.0


def test_finite_differences_retry_a_finer_step_only_when_they_converge() -> None:
    """sin(exp((A X B)^∘3)ᵀ 2 A X C): arguments of sin near 500 make the O(h²) truncation
    of central differences at h = 1e-6 about 3e-5 of the scale, and a hunt failed on
    the right derivative.  At h = 1e-7 the error shrinks 100x; a derivative 0.1% off
    does not shrink and is still caught."""
    from dataclasses import replace

    m, n, p = sp.symbols("m n p", integer=True, positive=True)
    A, X = sp.MatrixSymbol("A_pm", p, m), sp.MatrixSymbol("X", m, n)
    B, C = sp.MatrixSymbol("B_nn", n, n), sp.MatrixSymbol("B_np", n, p)
    inner = sp.HadamardPower(A * X * B, 3).applyfunc(sp.exp).T * (A * X * C + A * X * C)
    d = derive(inner.applyfunc(sp.sin), X, "numerator")
    dims = {m: 2, n: 3, p: 4}
    assert check_derivation(d, dims, seed=0, trials=1) < 1e-5
    with pytest.raises(AssertionError, match="is off by"):
        check_derivation(replace(d, result=d.result * 1.001), dims, seed=0, trials=1)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_derivative_that_is_not_finite_at_the_point_fails() -> None:
    """log(x) at random values of either sign is NaN: NaN compared as no error, so the
    check passed; it fails now and says to draw values that keep it defined."""
    x = sp.MatrixSymbol("x", n, 1)
    d = gradient(sp.OneMatrix(1, n) * x.applyfunc(sp.log), x)
    with pytest.raises(AssertionError, match="not finite at the random point"):
        check_derivation(d, {n: 4}, seed=1)
    assert check_derivation(d, {n: 4}, seed=1, positive={x}) < 1e-6
