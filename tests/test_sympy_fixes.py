"""Regressions found by the second-order property tests (test_random_second_order):
SymPy's KroneckerProduct bugs (matderiv.sympy_fixes), SymPy's deep doit reached
from hvp and the simplifier, a display name that clashed with a dimension, and a
size the generated code used without binding it.  Every derivative is checked
against finite differences."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.simplify.simplify import signsimp

import matderiv
from matderiv import EvaluationError, evaluate, gradient, hessian, hvp, jacobian, lambdify
from matderiv.nodes import AsScalar
from matderiv.parse.expr import parse_expression
from matderiv.testing import check_derivation

m, n, p = sp.symbols("m n p", integer=True, positive=True)
DIMS = {m: 2, n: 3, p: 4}
x = sp.MatrixSymbol("x", p, 1)
a, b = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("b", n, 1)
K = sp.KroneckerProduct


def _value(expr, seed=0):
    rng = np.random.default_rng(seed)
    values = {
        s: rng.normal(size=tuple(int(sp.sympify(d).subs(DIMS)) for d in s.shape))
        for s in expr.atoms(sp.MatrixSymbol)
    }
    return evaluate(expr, {**values, **DIMS}), values


def test_trace_of_a_kronecker_product_of_non_square_factors_is_not_split() -> None:
    """tr(A ⊗ B) = tr(A) tr(B) only for square A and B; SymPy split it always."""
    A, B = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("B", n, m)
    trace = sp.Trace(K(A, B)).doit()
    assert not trace.has(sp.Trace(A))
    value, values = _value(trace)
    assert value == pytest.approx(np.trace(np.kron(values[A], values[B])))
    S, T = sp.MatrixSymbol("S", n, n), sp.MatrixSymbol("T", m, m)
    assert sp.Trace(K(S, T)).doit() == sp.Trace(S) * sp.Trace(T)  # square: still split


def test_a_kronecker_factor_with_a_coefficient_canonicalises() -> None:
    """2·(A B) ⊗ C raised AttributeError inside SymPy's extract_commutative."""
    A, B, C = (sp.MatrixSymbol(s, n, n) for s in "ABC")
    product = K(sp.MatMul(2, A, B), C).doit()
    value, values = _value(product)
    np.testing.assert_allclose(value, 2 * np.kron(values[A] @ values[B], values[C]))


def test_hvp_through_the_trace_of_a_non_square_kronecker_product() -> None:
    """hvp's ⟨∇f, V⟩ went through SymPy's deep doit, which split the trace and then
    refused tr(x bᵀ) as not square."""
    f = sp.Trace(K(a * x.T, x * b.T)) ** 2
    check_derivation(hvp(f, x), DIMS, trials=2)
    check_derivation(hessian(f, x), DIMS, trials=2)


def test_jacobian_through_the_trace_of_a_non_square_kronecker_product() -> None:
    """The simplifier's factoring (coeff·I) held tr of a non-square matrix."""
    u, v = sp.MatrixSymbol("u", p, 1), sp.MatrixSymbol("v", p, 1)
    A, B = sp.MatrixSymbol("A", p, p), sp.MatrixSymbol("B", p, p)
    trace = sp.Trace(K(a * u.T, v * b.T))
    check_derivation(jacobian(sp.MatAdd(sp.MatMul(trace, B, x), sp.MatMul(A, B, x)), x), DIMS)


def test_a_coefficient_times_a_kronecker_product_inside_a_function() -> None:
    """tanh(2·(a x ⊗ (c x + c x))): the coefficient crashed SymPy's canonicalisation,
    reached from tanh's assumptions."""
    r, c = sp.MatrixSymbol("r", 1, p), sp.MatrixSymbol("c", 1, p)
    inner = MatrixElement(sp.MatMul(2, K(r * x, sp.MatAdd(c * x, c * x))), 0, 0)
    check_derivation(gradient(sp.tanh(inner), x), DIMS)


@pytest.mark.parametrize(
    "build",
    [
        lambda r: MatrixElement((r * x).applyfunc(sp.tanh).applyfunc(sp.exp), 0, 0),
        lambda r: (
            MatrixElement((r * x).applyfunc(sp.sin).applyfunc(sp.tanh), 0, 0)
            * MatrixElement(r * x, 0, 0)
        ),
    ],
    ids=["exp∘tanh", "sin∘tanh times r x"],
)
def test_nested_functions_of_a_1x1_matrix(build) -> None:
    """SymPy's deep doit of nested entrywise functions of a 1 x 1 raised TypeError
    ('Mix of Matrix and Scalar symbols') in hvp and in the Hessian's simplifier."""
    f = build(sp.MatrixSymbol("r", 1, p))
    check_derivation(hvp(f, x), DIMS, trials=2)
    check_derivation(hessian(f, x), DIMS, trials=2)


def test_hvp_names_avoid_a_dimension_the_gradient_holds_as_a_value() -> None:
    """∇(tr(I_p) xᵀx) = 2p x holds p as a value: ⟨∇f, V⟩ may not be named p."""
    x3 = sp.MatrixSymbol("x", 3, 1)
    d = hvp(sp.MatMul(sp.Trace(sp.Identity(p)), x3.T, x3), x3)
    assert "p" not in {step.lhs for step in d.steps}
    check_derivation(d, DIMS)


def test_generated_code_asks_for_a_size_used_as_a_value() -> None:
    """m·n b with b: mn x 1 used m and n without reading or asking for them."""
    bb = sp.MatrixSymbol("b", m * n, 1)
    fn = lambdify(sp.MatMul(m * n, bb))
    assert set(inspect.signature(fn).parameters) == {"b", "m", "n"}
    np.testing.assert_allclose(fn(b=np.ones((6, 1)), m=2, n=3), np.full((6, 1), 6.0))


def test_evaluate_names_values_whose_shapes_do_not_conform() -> None:
    """A value shaped unlike its symbol's sizes: NumPy raised a bare error for a
    product and silently broadcast a column over a matrix in a sum."""
    A, y = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("y", m, 1)
    values = {A: np.ones((2, 3)), x: np.ones((4, 1)), y: np.ones((2, 1))}
    with pytest.raises(EvaluationError, match=r"A x: A has the value shape \(2, 3\)"):
        evaluate(sp.MatMul(A, x), values)
    with pytest.raises(EvaluationError, match=r"\(2, 1\), \(2, 3\)"):
        evaluate(sp.MatAdd(A, y), values)
    z = sp.MatrixSymbol("z", n, 1)
    assert matderiv.evaluate(A * z, {A: np.ones((2, 3)), z: np.ones((3, 1))}).shape == (2, 1)


def test_the_content_of_a_matrix_sum_is_one() -> None:
    """factor_terms(tr(2 A + 4 B)) raised TypeError ('Mix of Matrix and Scalar symbols')
    in SymPy's Add.as_content_primitive; SymPy's power evaluation reached it through
    √(4 uᵀu) of a 1 x 1 u, a case the random-tree tests found."""
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    total = sp.Trace(sp.MatAdd(sp.MatMul(2, A), sp.MatMul(4, B)))
    assert str(sp.factor_terms(total)) == str(total)  # no content taken out, no error
    X = sp.MatrixSymbol("X", m, n)
    row, col = sp.MatrixSymbol("r", 1, m), sp.MatrixSymbol("c", n, 1)
    u = sp.MatAdd(row * X * col, row * X * col, col.T * X.T * row.T)
    d = matderiv.derive(sp.sqrt(AsScalar(u.T * u)), X)
    check_derivation(d, DIMS)


def test_sizes_substitute_into_tanh_of_a_one_by_one_product() -> None:
    """tanh(u).is_real computed im(u) % (π/2) for a 1 x 1 matrix u and raised ("Mix of
    Matrix and Scalar symbols") when sizes were substituted into exp(tanh(aᵀ X b)),
    as check_derivation does (a random-tree hunt found it).  The derivative is
    checked against central differences too."""
    m, n = sp.symbols("m n", integer=True, positive=True)
    a, X, b = sp.MatrixSymbol("a", m, 1), sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("b", n, 1)
    u = a.T * X * b
    f = MatrixElement((u.applyfunc(lambda t: sp.exp(sp.tanh(t))) * u), 0, 0) ** 2
    for sizes in ({m: 2, n: 3}, {m: 3, n: 4}, {m: 4, n: 5}):
        f.subs(sizes)  # raised TypeError
    assert sp.tanh(u)._eval_is_real() is None  # not known, where SymPy's check raised
    check_derivation(gradient(f, X), {m: 3, n: 4})


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_max_and_abs_of_a_scalar_over_a_scaled_product(layout) -> None:
    """relu((2 aᵀX b)⁻¹ tr(S)² - 1) was refused ("cannot build the expression: mat
    should be a matrix"): Max compares its arguments through factor_terms, which took
    the 2 out of 2 aᵀX b (Mul.as_content_primitive, inherited by MatMul) and put it
    back as a scalar product, an Inverse of which SymPy refuses (a random-tree hunt
    found it; under a power or a transpose the error was another one)."""
    X, S = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("S", n, n)
    two_ax = sp.MatMul(2, sp.Inverse(sp.MatMul(2, a.T, X, b)))
    assert sp.factor_terms(sp.Trace(two_ax)) == sp.Trace(two_ax)  # raised TypeError
    symbols = {"X": X, "S": S, "a": a, "b": b}
    for text in (
        "relu(inv(2 * a.T @ X @ b) * tr(S)^2 - 1)",
        "abs(inv(2 * a.T @ X @ b) * tr(S)^2 - 1)",
        "relu(1 - ((2 * a.T @ X @ b)^2)' * tr(S))",
    ):
        d = matderiv.derive(parse_expression(text, symbols), X, layout)
        check_derivation(d, DIMS)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_abs_and_sign_of_a_scalar_over_a_difference_of_matrices(layout) -> None:
    """|tr((B - A) X)| was refused ("noncommutative scalars in MatMul are not
    supported"): Abs and sign call signsimp, which rewrote B - A as the scalar product
    -1·(A - B) (found by a random-tree hunt through |·|)."""
    X, A, B = (sp.MatrixSymbol(name, n, n) for name in "XAB")
    for scalar in (sp.Trace((B - A) * X), sp.Trace((B - A).applyfunc(sp.tanh) * X)):
        assert signsimp(scalar) == scalar  # raised NotImplementedError, ValueError
    symbols = {"X": X, "A": A, "B": B, "a": a, "b": b}
    for text in (
        "abs(tr((B - A) @ X))",
        "abs(tr(tanh(B - A) @ X))",
        "sign(tr(X @ (B - A))) * tr(X)",
        "abs(a.T @ (B - A) @ X @ b)",
    ):
        d = matderiv.derive(parse_expression(text, symbols), X, layout)
        check_derivation(d, DIMS)
