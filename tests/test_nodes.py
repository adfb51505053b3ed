"""matderiv's own nodes: shapes, entries at concrete sizes, printing."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import ShapeMismatch, commutation, diag, evaluate, logsumexp, softmax, vec
from matderiv.nodes import AsScalar, Reshape

m, n = sp.symbols("m n", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
v = sp.MatrixSymbol("v", n, 1)


def _explicit(expr, sizes):
    return np.array(expr.subs(sizes).as_explicit().tolist(), dtype=object)


def test_vec_stacks_columns() -> None:
    assert vec(A).shape == (m * n, 1)
    entries = _explicit(vec(A), {m: 2, n: 3}).ravel()
    A2 = sp.MatrixSymbol("A", 2, 3)
    expected = [A2[i, j] for j in range(3) for i in range(2)]
    assert list(entries) == expected


def test_commutation_matrix_maps_vec_to_vec_of_transpose() -> None:
    K = _explicit(commutation(2, 3), {}).astype(float)
    a = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(K @ a.reshape(-1, order="F"), a.T.reshape(-1, order="F"))
    assert commutation(n, m) == commutation(m, n).T
    assert commutation(m, n).shape == (m * n, m * n)


def test_diag_of_a_vector() -> None:
    D = _explicit(diag(v), {n: 3})
    v3 = sp.MatrixSymbol("v", 3, 1)
    assert D[1, 1] == v3[1, 0] and D[0, 2] == 0
    assert diag(v) == diag(v).T


def test_diag_needs_a_column() -> None:
    with pytest.raises(ShapeMismatch, match="column vector"):
        diag(A)


def test_reshape_inverts_vec() -> None:
    R = Reshape(vec(A), m, n)
    entries = _explicit(R, {m: 2, n: 3})
    A2 = sp.MatrixSymbol("A", 2, 3)
    assert entries[1, 2] == A2[1, 2]
    with pytest.raises(ShapeMismatch, match="sizes differ"):
        Reshape(vec(A), n, n)


def test_softmax_and_logsumexp_values() -> None:
    x = np.array([[0.5], [-1.0], [2.0]])
    s = evaluate(softmax(v), {v: x})
    np.testing.assert_allclose(s, np.exp(x) / np.exp(x).sum())
    np.testing.assert_allclose(evaluate(logsumexp(v), {v: x}), [[np.log(np.exp(x).sum())]])
    v3 = sp.MatrixSymbol("v", 3, 1)
    explicit = sp.Matrix(softmax(v3).as_explicit()).subs({v3[i, 0]: x[i, 0] for i in range(3)})
    np.testing.assert_allclose(np.array(explicit.evalf(), dtype=float), s)
    lse = logsumexp(v3).as_explicit()[0, 0]
    assert lse == sp.log(sum(sp.exp(v3[i, 0]) for i in range(3)))


def test_as_scalar_accepts_only_1x1() -> None:
    a = sp.MatrixSymbol("a", n, 1)
    assert AsScalar(a.T * a).arg == a.T * a
    with pytest.raises(ShapeMismatch, match="only 1 x 1"):
        AsScalar(a)


@pytest.mark.parametrize(
    "expr, fragment",
    [
        (vec(A), r"\operatorname{vec}"),
        (commutation(m, n), "K_{m,n}"),
        (diag(v), r"\operatorname{diag}"),
        (Reshape(vec(A), m, n), r"\operatorname{vec}^{-1}"),
        (softmax(v), r"\operatorname{softmax}"),
    ],
)
def test_latex(expr, fragment) -> None:
    assert fragment in sp.latex(expr)
