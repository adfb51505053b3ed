"""Sizes given as arguments: checked against the inputs given with them, and refused
when they are not integers, by the generated code and by evaluate alike."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from test_codegen_inputs import backends

from matderiv import EvaluationError, InputShapeError, derive, evaluate, lambdify
from matderiv.testing import numeric_jacobian

n, m = sp.symbols("n m", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, m)
A = sp.MatrixSymbol("A", m, n)
TRANSPOSE = derive(X.T, X)  # K_{n,m}: uses no input, sizes from X or given
TRACE = derive(sp.Trace(A * X), X)  # Aᵀ or A: X optional, sizes from A


@pytest.mark.parametrize("backend", backends())
def test_a_size_given_alone_gives_the_derivative(backend) -> None:
    got = lambdify(TRANSPOSE, backend=backend)(n=2, m=np.int64(3))
    rng = np.random.default_rng(0)
    fd = numeric_jacobian(X.T, X, {X: rng.standard_normal((2, 3))})
    np.testing.assert_allclose(got, fd, atol=1e-8)


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize(
    ("target", "given"),
    [
        (TRANSPOSE, {"X": np.ones((2, 4)), "m": 3, "n": 2}),  # X's 4 columns were ignored
        (TRANSPOSE, {"X": np.ones((2, 4)), "m": 3}),
        (TRACE, {"A": np.ones((3, 2)), "X": np.ones((2, 4))}),  # X against A's sizes
    ],
)
def test_an_unused_input_given_is_checked_against_the_sizes(target, given, backend) -> None:
    with pytest.raises(InputShapeError, match=r"X has shape \(2, 4\); expected \(n, m\)"):
        lambdify(target, backend=backend)(**given)


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("bad", [-1, 0, 3.0, 3.5, "3"])
def test_a_size_that_is_not_a_whole_number_is_named(bad, backend) -> None:
    with pytest.raises(InputShapeError, match=rf"the size m = {bad!r} is not an integer"):
        lambdify(TRANSPOSE, backend=backend)(m=bad, n=2)


@pytest.mark.parametrize("bad", [-1, 0, 3.0, 3.5])
def test_evaluate_names_a_size_that_is_not_a_whole_number(bad) -> None:
    with pytest.raises(EvaluationError, match=rf"the size m was given as {bad!r}"):
        evaluate(TRANSPOSE, {m: bad, n: 2})


def test_evaluate_takes_numpy_and_sympy_integers() -> None:
    for size in (np.int64(3), sp.Integer(3)):
        assert np.asarray(evaluate(TRANSPOSE, {m: size, n: 2})).shape == (6, 6)
