"""lambdify / to_code: what the generated code does, not only what it returns.

Each case compares the generated function with ``evaluate`` at distinct sizes
(2, 3, 4, 5) and with sizes of 1, and asserts on the source what the code
computes: a diag(v) factor scales rows or columns (never ``numpy.diagflat``), a
matrix and its transpose share one LU factorisation, an inverse the result needs
is formed from that factorisation.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

import matderiv
from matderiv import derive, evaluate, gradient, lambdify
from matderiv.testing import check_derivation, random_values

m, n, p = sp.symbols("m n p", integer=True, positive=True)
A = sp.MatrixSymbol("A", p, m)
B = sp.MatrixSymbol("B", n, p)
C = sp.MatrixSymbol("C", m, n)
Q = sp.MatrixSymbol("Q", m, m)
X = sp.MatrixSymbol("X", m, n)
x = sp.MatrixSymbol("x", n, 1)
y = sp.MatrixSymbol("y", m, 1)


def size_sets(*dims):
    """Distinct sizes 2, 3, 4, ...; every size 1; each size 1 with the others distinct."""
    distinct = {d: k + 2 for k, d in enumerate(dims)}
    yield distinct
    yield dict.fromkeys(dims, 1)
    for d in dims:
        yield {**distinct, d: 1}


def agrees(target, *dims, backend="numpy", seed=0):
    """``lambdify(target)`` agrees with ``evaluate`` at every size set; its source."""
    fn = lambdify(target, backend=backend)
    targets = target if isinstance(target, list) else [target]
    for k, sizes in enumerate(size_sets(*dims)):
        exprs = [t.of for t in targets] + [t.result for t in targets]
        env = {**random_values(sp.Tuple(*exprs), sizes, np.random.default_rng(seed + k))}
        params = inspect.signature(fn).parameters
        got = fn(**{str(s): v for s, v in {**env, **sizes}.items() if str(s) in params})
        got = got if isinstance(got, tuple) else (got,)
        for value, t in zip(got, targets, strict=True):
            want = evaluate(t, {**env, **sizes})
            np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-11, err_msg=fn.source)
    return fn.source


def body(source: str) -> str:
    """The generated function without the helpers pasted above it."""
    return source.split("\ndef f(")[1]


# -- diag(v) is applied as a scaling, wherever it stands ------------------------------

DIAG_CASES = {
    # numerator Jacobian of tanh(A X): diag(vec(1 - tanh²)) (I_n ⊗ A)
    "tanh(AX)": (lambda: derive((A * X).applyfunc(sp.tanh), X), (m, n, p)),
    # denominator Jacobian of A tanh(X) B: diag(vec(1 - tanh²(X))) (B ⊗ Aᵀ)
    "A tanh(X) B": (
        lambda: derive(A * X.applyfunc(sp.tanh) * B, X, layout="denominator"),
        (m, n, p),
    ),
    # denominator Jacobian of exp(X)ᵀ: diag(vec(exp X)) K
    "exp(X)ᵀ": (lambda: derive(X.applyfunc(sp.exp).T, X, layout="denominator"), (m, n)),
    "exp(X)ᵀ numerator": (lambda: derive(X.applyfunc(sp.exp).T, X), (m, n)),
    "diag(x)": (lambda: derive(matderiv.diag(x), x), (n,)),
}


@pytest.mark.parametrize("case", DIAG_CASES, ids=str)
def test_a_diag_factor_at_either_end_scales_instead_of_being_built(case) -> None:
    build, dims = DIAG_CASES[case]
    source = agrees(build(), *dims)
    assert "diagflat" not in source


def test_a_diag_on_the_left_of_a_kronecker_factor_scales_its_rows() -> None:
    source = agrees(derive((A * X).applyfunc(sp.tanh), X), m, n, p)
    assert '.reshape(-1, 1, order="F")) * (_kron_eye_left(n, A))' in source
    assert "_kron_right(" not in source


# -- one factorisation per matrix, shared with its transpose --------------------------


@pytest.mark.parametrize("wrt", [X, y], ids=["matrix X", "vector x"])
def test_a_matrix_and_its_transpose_are_factorised_once(wrt) -> None:
    # ∂ log det(Q + X Xᵀ)/∂X = ((Q + X Xᵀ)⁻ᵀ + (Q + X Xᵀ)⁻¹) X
    d = gradient(sp.log(sp.Determinant(Q + wrt * wrt.T)), wrt)
    code = body(agrees(d, *((m, n) if wrt == X else (m,))))
    assert code.count("= _lu(") == 1 and "numpy.linalg.inv(" not in code
    assert code.count(f"{wrt}.dot({wrt}.T)") == 1  # Q + X Xᵀ formed once
    assert ", 0)" in code and ", 1)" in code  # solved with A and with Aᵀ


def test_an_inverse_the_result_needs_comes_from_the_factorisation() -> None:
    # ∂(Q⁻¹ C)/∂Q = -(Cᵀ Q⁻ᵀ) ⊗ Q⁻¹: a solve with Q's factors, and Q⁻¹ itself
    code = body(agrees(derive(Q.I * C, Q), m, n))
    assert code.count("= _lu(") == 1 and "numpy.linalg.inv(" not in code
    assert "_inv_lu(" in code


def test_an_inverse_formed_first_is_multiplied_by_not_factorised() -> None:
    first, second = derive(Q.I, Q), derive(Q.I * C, Q)
    code = body(agrees([first, second], m, n))
    assert code.count("numpy.linalg.inv(") + code.count("= _lu(") == 1


def test_the_shared_factorisation_compiles_with_numba() -> None:
    pytest.importorskip("numba")
    code = agrees(derive(Q.I * C, Q), m, n, backend="numba")
    assert "_inv_lu(" in code
    agrees(gradient(sp.log(sp.Determinant(Q + X * X.T)), X), m, n, backend="numba")


# -- permutations are applied, never built ------------------------------------------

Y = sp.MatrixSymbol("Y", n, n)
P = sp.MatrixSymbol("P", n, m)

PERMUTATION_CASES = {
    # (I_p ⊗ K_{n,m} ⊗ I_m)(vec(A) ⊗ I_{mn}): the permutation is (pmnm)² entries
    "A ⊗ X by X": (lambda layout: derive(sp.KroneckerProduct(A, X), X, layout), (m, n, p)),
    "X ⊗ A by X": (lambda layout: derive(sp.KroneckerProduct(X, A), X, layout), (m, n, p)),
    "Y ⊗ Y by Y": (lambda layout: derive(sp.KroneckerProduct(Y, Y), Y, layout), (n,)),
    # (x ⊗ I) K: the Kronecker product is built, the commutation permutes its columns
    "vec(Pᵀ) yᵀ by P": (lambda layout: derive(matderiv.vec(P.T) * y.T, P, layout), (m, n)),
}


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("case", PERMUTATION_CASES, ids=str)
def test_a_commutation_factor_permutes_rows_or_columns_instead_of_being_built(
    case, layout
) -> None:
    build, dims = PERMUTATION_CASES[case]
    d = build(layout)
    assert d.result.has(matderiv.commutation(2, 3).func)  # the case has a permutation
    code = body(agrees(d, *dims))
    assert "_commutation(" not in code
    assert "_commute" in code


@pytest.mark.parametrize("case", ["A ⊗ X by X", "vec(Pᵀ) yᵀ by P"])
def test_permutations_applied_by_blocks_compile_with_numba(case) -> None:
    pytest.importorskip("numba")
    build, dims = PERMUTATION_CASES[case]
    for layout in ("numerator", "denominator"):
        agrees(build(layout), *dims, backend="numba")


def test_a_three_factor_kronecker_product_is_applied_one_factor_at_a_time() -> None:
    # (Aᵀ ⊗ Bᵀ ⊗ C) v, (m²p x pn²) times (pn² x 1): three block products
    v = sp.MatrixSymbol("v", p * n * n, 1)
    x3 = sp.MatrixSymbol("x3", m, 1)
    expr = sp.KroneckerProduct(A.T, B.T, C) * v * x3.T * x3
    code = body(agrees(derive(expr, x3), m, n, p))
    assert code.count("_kron_mid(") == 3 and "_kron(" not in code


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "entries",
    [
        [[1, 2, 0], [3, 4, -1], [0, 5, 2]],
        [[1, sp.Symbol("s")], [sp.Rational(1, 3), -2.5]],
    ],
    ids=["integers", "a scalar symbol and fractions"],
)
def test_an_explicit_matrix_is_generated_as_an_array(entries, layout) -> None:
    """d tr(M Y Y)/dY for an explicit sp.Matrix M: derive and evaluate took it, lambdify
    refused it ("cannot generate code for ImmutableDenseMatrix"; a tester's sweep)."""
    M = sp.Matrix(entries)
    Y = sp.MatrixSymbol("Y", *M.shape)
    d = derive(sp.Trace(M * Y * Y), Y, layout)
    check_derivation(d, {})
    fn = lambdify(d)
    assert "numpy.array([[" in fn.source, fn.source
    rng = np.random.default_rng(len(entries))
    values = {Y: rng.standard_normal(M.shape), sp.Symbol("s"): 0.7}
    params = inspect.signature(fn).parameters
    kwargs = {str(k): v for k, v in values.items() if str(k) in params}
    np.testing.assert_allclose(fn(**kwargs), evaluate(d, values), rtol=1e-12)
