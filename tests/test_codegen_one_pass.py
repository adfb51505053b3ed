"""Aᵀ g(A V) in one pass over A (codegen/one_pass.py): which products take that
form, that the blocked computation agrees with ``evaluate`` and with central
differences at sizes where A is cut into several blocks (the last one partial),
and that forms whose rows need other rows of A keep the two products.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

from matderiv import derive, evaluate, gradient, hvp, lambdify, logsumexp
from matderiv.codegen.helpers import _one_pass
from matderiv.testing import random_values

m, n, k = sp.symbols("m n k", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
M = sp.MatrixSymbol("M", m, n)
B = sp.MatrixSymbol("B", m, k)
C = sp.MatrixSymbol("C", m, m)
X = sp.MatrixSymbol("X", n, k)
b = sp.MatrixSymbol("b", m, 1)
x = sp.MatrixSymbol("x", n, 1)
y = sp.MatrixSymbol("y", m, 1)

# m = 3001 rows of n = 50: 400 bytes a row, blocks of 2621 rows, so two blocks, the
# second partial; the other sizes are small and distinct
BLOCKED = {m: 3001, n: 50, k: 3}
SMALL = {m: 5, n: 3, k: 2}

residual = A * x - b
logistic = sp.OneMatrix(1, m) * (
    sp.OneMatrix(m, 1) + (-sp.HadamardProduct(y, A * x)).applyfunc(sp.exp)
).applyfunc(sp.log)
matrix_residual = A * X - B

FUSED = {
    "least squares, denominator": lambda: gradient(residual.T * residual, x),
    "least squares, numerator": lambda: derive(residual.T * residual, x),
    "least squares HVP": lambda: hvp(residual.T * residual, x),
    "logistic gradient": lambda: gradient(logistic, x),
    "logistic HVP": lambda: hvp(logistic, x),
    # the same through a defined M = 2A: M is an array of the program, not an input
    "logistic HVP, M = 2A": lambda: hvp(logistic.xreplace({A: M}), x, where={M: 2 * A}),
    "tr((AX - B)ᵀ(AX - B)) by X": lambda: gradient(
        sp.Trace(matrix_residual.T * matrix_residual), X
    ),
}

TWO_PRODUCTS = {
    # softmax mixes the rows of A x: Aᵀ softmax(A x)
    "logsumexp(A x)": lambda: gradient(logsumexp(A * x), x),
    # Aᵀ (C + Cᵀ) A x: a row of (C + Cᵀ) A x needs every row of A
    "xᵀAᵀ C A x": lambda: gradient(x.T * A.T * C * A * x, x),
}


def _inputs(fn, d, sizes, seed):
    exprs = sp.Tuple(d.of, d.result, *d.definitions.values())
    values = random_values(exprs, sizes, np.random.default_rng(seed))
    values = {s: v for s, v in values.items() if s not in d.definitions}  # M = 2A
    params = inspect.signature(fn).parameters
    return {str(s): v for s, v in values.items() if str(s) in params}, values


def _body(source: str) -> str:
    return source.split("\ndef f(")[1]


@pytest.mark.parametrize("case", FUSED, ids=str)
@pytest.mark.parametrize("sizes", [BLOCKED, SMALL], ids=["blocked", "small"])
def test_one_pass_products_agree_with_evaluate(case, sizes) -> None:
    d = FUSED[case]()
    fn = lambdify(d)
    assert "_one_pass(" in _body(fn.source), fn.source
    kwargs, values = _inputs(fn, d, sizes, seed=len(case))
    np.testing.assert_allclose(
        fn(**kwargs), evaluate(d, {**values, **sizes}), rtol=1e-9, atol=1e-9, err_msg=fn.source
    )


@pytest.mark.parametrize("case", ["least squares, denominator", "logistic gradient"])
def test_one_pass_gradients_match_central_differences(case) -> None:
    """The blocked gradient against central differences of the loss itself."""
    d = FUSED[case]()
    fn = lambdify(d)
    kwargs, values = _inputs(fn, d, BLOCKED, seed=7)
    Av, bv, yv = values[A], values.get(b), values.get(y)

    def f(v):
        if case.startswith("least"):
            r = Av @ v - bv
            return float((r.T @ r)[0, 0])
        return float(np.sum(np.log1p(np.exp(-yv * (Av @ v)))))

    v0 = values[x]
    h = 1e-6
    fd = np.zeros_like(v0)
    for i in range(v0.shape[0]):
        e = np.zeros_like(v0)
        e[i] = h
        fd[i] = (f(v0 + e) - f(v0 - e)) / (2 * h)
    np.testing.assert_allclose(fn(**kwargs), fd, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("case", TWO_PRODUCTS, ids=str)
@pytest.mark.parametrize("sizes", [BLOCKED, SMALL], ids=["blocked", "small"])
def test_rows_that_need_other_rows_keep_two_products(case, sizes) -> None:
    d = TWO_PRODUCTS[case]()
    fn = lambdify(d)
    assert "_one_pass" not in fn.source, fn.source
    kwargs, values = _inputs(fn, d, sizes, seed=3)
    np.testing.assert_allclose(
        fn(**kwargs), evaluate(d, {**values, **sizes}), rtol=1e-9, atol=1e-9
    )


def test_the_helper_cuts_a_large_c_ordered_matrix_into_blocks_of_rows() -> None:
    rng = np.random.default_rng(0)
    calls: list[int] = []
    v = rng.standard_normal((50, 1))

    def rows(block, r):
        calls.append(block.shape[0])
        return np.tanh(block @ v)

    big = rng.standard_normal((3001, 50))
    want = big.T @ np.tanh(big @ v)
    np.testing.assert_allclose(_one_pass(big, rows), want, rtol=1e-12)
    assert calls == [2621, 380]  # 1 MiB of rows, then the rest
    calls.clear()
    np.testing.assert_allclose(_one_pass(np.asfortranarray(big), rows), want, rtol=1e-12)
    assert calls == [3001]  # a Fortran-ordered matrix is taken whole
    calls.clear()
    small = big[:100]
    np.testing.assert_allclose(_one_pass(small, rows), small.T @ np.tanh(small @ v))
    assert calls == [100]


def test_a_result_too_wide_for_blocks_is_computed_whole_after_the_first_block() -> None:
    rng = np.random.default_rng(2)
    big, V = rng.standard_normal((6001, 50)), rng.standard_normal((50, 400))
    calls: list[int] = []

    def rows(block, r):
        calls.append(block.shape[0])
        return np.sin(block @ V)

    np.testing.assert_allclose(_one_pass(big, rows), big.T @ np.sin(big @ V), rtol=1e-12)
    assert calls == [2621, 3380]  # 400 columns: 8 x 400 > 2621 rows; the rest at once


def test_integer_inputs_give_the_exact_integer_gradient() -> None:
    d = FUSED["least squares, denominator"]()
    fn = lambdify(d)
    rng = np.random.default_rng(1)
    Av = rng.integers(-3, 4, (3001, 50))
    bv, xv = rng.integers(-3, 4, (3001, 1)), rng.integers(-3, 4, (50, 1))
    got = fn(A=Av, b=bv, x=xv)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, 2 * Av.T @ (Av @ xv - bv))


@pytest.mark.parametrize("case", ["least squares, numerator", "logistic HVP"])
def test_the_numba_backend_takes_the_two_products(case) -> None:
    pytest.importorskip("numba")
    d = FUSED[case]()
    compiled, plain = lambdify(d, backend="numba"), lambdify(d)
    assert "_one_pass" not in compiled.source and "lambda" not in compiled.source
    kwargs, _ = _inputs(plain, d, BLOCKED, seed=5)
    np.testing.assert_allclose(compiled(**kwargs), plain(**kwargs), rtol=1e-9, atol=1e-9)
