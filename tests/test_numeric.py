"""evaluate: structured products agree with dense NumPy, dimensions bind from shapes."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import EvaluationError, commutation, diag, evaluate, vec
from matderiv.linops import Commutation, Diag, Ident, Kron, chain

m, n, p, q = sp.symbols("m n p q", integer=True, positive=True)
rng = np.random.default_rng(7)


def _k(m_: int, n_: int) -> np.ndarray:
    K = np.zeros((m_ * n_, m_ * n_))
    for i in range(m_):
        for j in range(n_):
            K[i * n_ + j, j * m_ + i] = 1.0
    return K


def test_commutation_operator_matches_definition() -> None:
    a = rng.standard_normal((2, 3))
    op = Commutation(2, 3)
    assert np.array_equal(op.dense(), _k(2, 3))
    np.testing.assert_allclose(op.apply(a.reshape(-1, 1, order="F")).ravel(), a.T.ravel(order="F"))
    M = rng.standard_normal((4, 6))
    np.testing.assert_allclose(op.rapply(M), M @ _k(2, 3))


@pytest.mark.parametrize("k", [1, 3])
def test_kron_operator_matches_np_kron(k: int) -> None:
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    op = Kron(A, B)
    M = rng.standard_normal((15, k))
    np.testing.assert_allclose(op.apply(M), np.kron(A, B) @ M)
    L = rng.standard_normal((k, 8))
    np.testing.assert_allclose(op.rapply(L), L @ np.kron(A, B))
    nested = Kron(Ident(2), Kron(Commutation(2, 3), B))
    N = rng.standard_normal((2 * 6 * 5, k))
    np.testing.assert_allclose(nested.apply(N), np.kron(np.eye(2), np.kron(_k(2, 3), B)) @ N)


def test_chain_applies_structure_without_materialising() -> None:
    v = rng.standard_normal(4)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    M = rng.standard_normal((15, 2))
    out = chain([Diag(np.ones(8)), Kron(A, B), M])
    np.testing.assert_allclose(out, np.kron(A, B) @ M)
    np.testing.assert_allclose(chain([Diag(v), Ident(4)]).dense(), np.diag(v))


def test_evaluate_binds_dimensions_from_arrays() -> None:
    A = sp.MatrixSymbol("A", m, n)
    B = sp.MatrixSymbol("B", p, q)
    X = sp.MatrixSymbol("X", q, n)
    a, b, x = rng.standard_normal((2, 3)), rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    expr = sp.MatMul(sp.KroneckerProduct(A, B), vec(X))
    got = evaluate(expr, {A: a, B: b, X: x})
    np.testing.assert_allclose(got, np.kron(a, b) @ x.reshape(-1, 1, order="F"))
    assert got.shape == (8, 1)


def test_evaluate_by_name_and_scalars() -> None:
    X = sp.MatrixSymbol("X", n, n)
    x = rng.standard_normal((3, 3))
    np.testing.assert_allclose(
        evaluate(sp.log(sp.Trace(X * X.T)), {"X": x}), np.log(np.sum(x * x))
    )
    np.testing.assert_allclose(evaluate(sp.Determinant(X), {X: x}), np.linalg.det(x))


def test_evaluate_identity_commutation_and_diag_nodes() -> None:
    v = sp.MatrixSymbol("v", n, 1)
    vv = rng.standard_normal((3, 1))
    np.testing.assert_allclose(evaluate(diag(v), {v: vv}), np.diag(vv.ravel()))
    np.testing.assert_allclose(evaluate(commutation(m, n), {m: 2, n: 3}), _k(2, 3))
    np.testing.assert_allclose(evaluate(sp.Identity(n), {n: 4}), np.eye(4))


def test_elementwise_functions_and_lambdas() -> None:
    X = sp.MatrixSymbol("X", m, n)
    t = sp.Symbol("t")
    x = rng.standard_normal((2, 3))
    sigmoid = sp.Lambda(t, 1 / (1 + sp.exp(-t)))
    np.testing.assert_allclose(evaluate(X.applyfunc(sigmoid), {X: x}), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(evaluate(X.applyfunc(sp.tanh), {X: x}), np.tanh(x))


def test_matrix_powers() -> None:
    x = sp.MatrixSymbol("x", n, 1)
    S = sp.MatrixSymbol("S", n, n)
    xv = np.arange(1.0, 5.0).reshape(4, 1)
    np.testing.assert_allclose(evaluate(sp.sqrt(x.T * x), {x: xv}), [[np.sqrt(30.0)]])
    np.testing.assert_allclose(
        evaluate(sp.MatPow(x.T * x, sp.Rational(3, 2)), {x: xv}), [[30**1.5]]
    )
    s = rng.standard_normal((3, 3))
    np.testing.assert_allclose(evaluate(sp.MatPow(S, 3), {S: s}), s @ s @ s)
    with pytest.raises(EvaluationError, match="non-integer exponent"):
        evaluate(sp.MatPow(S, sp.Rational(1, 2)), {S: s})


def test_log_det_does_not_overflow() -> None:
    """log det S at 0.1 I of size 400 was -inf (det = 1e-400 underflows): evaluate and
    the generated code take log det from LU's log-magnitude (slogdet)."""
    from matderiv import gradient, lambdify

    k = sp.Symbol("k", integer=True, positive=True)
    S, x = sp.MatrixSymbol("S", k, k), sp.MatrixSymbol("x", k, 1)
    f = -sp.log(sp.Determinant(S)) / 2 - sp.Trace(x.T * S.I * x) / 2
    S0, x0 = 0.1 * np.eye(400), np.ones((400, 1))
    expected = -200 * np.log(0.1) - 0.5 * 400 / 0.1
    assert np.isclose(evaluate(f, {S: S0, x: x0}), expected)
    assert np.isclose(lambdify(f)(S=S0, x=x0), expected)
    g = gradient(sp.log(sp.Determinant(S)) ** 2, S)  # 2 log det(S) S⁻ᵀ
    assert np.isclose(evaluate(g, {S: S0})[0, 0], 2 * 400 * np.log(0.1) / 0.1)
    assert np.isclose(lambdify(g)(S=S0)[0, 0], 2 * 400 * np.log(0.1) / 0.1)
    # the log of a negative determinant is NaN, of a zero one -inf, as before
    logdet = sp.log(sp.Determinant(S))
    assert np.isnan(evaluate(logdet, {S: -np.eye(3)}))
    assert evaluate(logdet, {S: np.zeros((3, 3))}) == -np.inf


def test_a_pole_is_inf_or_nan_as_numpy_gives_it_not_a_zero_division_error() -> None:
    """gradient(norm(x)) at x = 0 raised a bare ZeroDivisionError from evaluate (Python's
    floats); the generated code gave NaN.  Both give NumPy's values now."""
    import warnings

    from matderiv import gradient, lambdify, norm

    k = sp.Symbol("k", integer=True, positive=True)
    x, X = sp.MatrixSymbol("x", k, 1), sp.MatrixSymbol("X", k, k)
    d = gradient(norm(x), x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(evaluate(d, {x: np.zeros((3, 1))})).all()
        assert np.isnan(lambdify(d)(x=np.zeros((3, 1)))).all()
        assert evaluate(1 / sp.Trace(X), {X: np.zeros((2, 2))}) == np.inf


def test_a_definition_the_result_does_not_use_needs_no_values() -> None:
    """evaluate ran every where= definition ("no values for B, b" for u := B b, which
    the gradient does not use); the generated code runs only the needed ones."""
    from matderiv import gradient, lambdify

    k = sp.Symbol("k", integer=True, positive=True)
    x, a, b, c, h, u = (sp.MatrixSymbol(s, k, 1) for s in "xabchu")
    B = sp.MatrixSymbol("B", k, k)
    d = gradient(c.T * h, x, where={h: (x + a).applyfunc(sp.tanh), u: B * b})
    values = {x: np.full((3, 1), 0.5), a: np.zeros((3, 1)), c: np.ones((3, 1))}
    expected = np.full((3, 1), 1 - np.tanh(0.5) ** 2)
    assert np.allclose(evaluate(d, values), expected)
    assert np.allclose(lambdify(d)(x=values[x], a=values[a], c=values[c]), expected)
