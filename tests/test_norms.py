"""Norms: ‖x‖ of a vector, ‖X‖_F of a matrix, in every front end and printer.

Every derivative is compared with central finite differences; every printed form
is read back by the parser of its notation and compared with the expression.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import (
    MatDerivError,
    ParseError,
    derive,
    evaluate,
    gradient,
    hessian,
    hvp,
    lambdify,
    norm,
)
from matderiv.nodes import AsScalar
from matderiv.parse.expr import parse_expression
from matderiv.parse.latex import parse_latex
from matderiv.parse.unicode import parse_unicode
from matderiv.render.latex import tex
from matderiv.render.rows import title
from matderiv.render.syntax import to_syntax
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation, random_values

m, n, k = sp.symbols("m n k", positive=True, integer=True)
DIMS = {m: 4, n: 3, k: 5}
A, X, Y = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("Y", n, k)
x, b, r = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", m, 1), sp.MatrixSymbol("r", 1, n)
SYMBOLS = {"A": A, "X": X, "Y": Y, "x": x, "b": b, "r": r}

# (f, variable): every one differentiated in both layouts and checked numerically
CASES = {
    "‖x‖": (lambda: norm(x), x),
    "‖A x - b‖²": (lambda: norm(A * x - b) ** 2, x),
    "‖A x - b‖": (lambda: norm(A * x - b), x),
    "‖A x - b‖ by A": (lambda: norm(A * x - b), A),
    "‖X‖_F": (lambda: norm(X), X),
    "‖X‖_F²": (lambda: norm(X) ** 2, X),
    "‖X Y‖_F": (lambda: norm(X * Y), Y),
    "‖r‖ (a row)": (lambda: norm(r), r),
    "1/‖x‖": (lambda: 1 / norm(x), x),
    "‖x‖³": (lambda: norm(x) ** 3, x),
    "x / ‖x‖ (a vector)": (lambda: x * (1 / norm(x)), x),
    "‖tanh(A x)‖": (lambda: norm((A * x).applyfunc(sp.tanh)), x),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_norm_derivatives_match_finite_differences(case: str, layout: str) -> None:
    build, wrt = CASES[case]
    check_derivation(derive(build(), wrt, layout), DIMS, seed=3)


@pytest.mark.parametrize("case", ["‖x‖", "‖A x - b‖", "‖X‖_F", "‖x‖³"])
def test_norm_hessians_and_hvps_match_second_differences(case: str) -> None:
    build, wrt = CASES[case]
    check_derivation(hessian(build(), wrt), DIMS, seed=5)
    check_derivation(hvp(build(), wrt), DIMS, seed=6)


def test_the_textbook_forms() -> None:
    """d‖x‖ = xᵀ/‖x‖; ∇‖X‖_F = X/‖X‖_F; ∇²‖x‖ = (I - x xᵀ/(xᵀx))/‖x‖."""
    assert fmt(gradient(norm(x), x).result) == "1/‖x‖ x"
    assert fmt(gradient(norm(X), X).result) == "1/‖X‖_F X"
    assert fmt(hessian(norm(x), x).result) == "1/‖x‖ (I_n - 1/(xᵀ x) x xᵀ)"
    assert "‖" in title(gradient(norm(A * x - b), x))
    assert r"\left\lVert X \right\rVert_{F}" in gradient(norm(X), X).to_latex(standalone=True)


EXPRESSIONS = {
    "‖x‖": norm(x),
    "‖A x - b‖": norm(A * x - b),
    "‖X‖_F": norm(X),
    "‖r‖": norm(r),
    "1/‖x‖ xᵀ": 1 / norm(x) * x.T,
    "‖A x - b‖³": norm(A * x - b) ** 3,
    "‖X‖_F⁻³": norm(X) ** -3,
    "‖x‖ ‖X‖_F": norm(x) * norm(X),
    "∇²‖x‖": hessian(norm(x), x).result,
    "∇‖X Y‖_F": gradient(norm(X * Y), Y).result,
}


def _same(read, expr) -> None:
    """Equal values at random points, and the same printed form (the terms of a sum
    may come back in another order, which SymPy's == tells apart)."""
    values = random_values(sp.Tuple(expr, read), DIMS, np.random.default_rng(2))
    np.testing.assert_allclose(evaluate(read, values), evaluate(expr, values), rtol=1e-12)
    assert sorted(fmt(read).split(" - ")) == sorted(fmt(expr).split(" - "))


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_printed_norms_read_back(name: str) -> None:
    expr = EXPRESSIONS[name]
    _same(parse_unicode(fmt(expr), SYMBOLS), expr)
    _same(parse_latex(tex(expr), SYMBOLS), expr)
    _same(parse_expression(to_syntax(expr), SYMBOLS), expr)


def test_printed_norms_use_the_notation() -> None:
    assert fmt(norm(A * x - b)) == "‖A x - b‖"
    assert fmt(norm(X) ** 3) == "‖X‖_F³"
    assert to_syntax(norm(X)) == "norm(X)"
    assert fmt(x.T * x) == "xᵀ x"  # an even power stays a product


@pytest.mark.parametrize(
    "text",
    [
        r"\|A x - b\|",
        r"\lVert A x - b \rVert",
        r"\left\| A x - b \right\|",
        r"\Vert A x - b \Vert_2",
        r"\|A x - b\|_{2}",
        r"$\lVert A x - b\rVert$",
    ],
)
def test_latex_norm_spellings(text: str) -> None:
    assert parse_latex(text, SYMBOLS) == norm(A * x - b)


def test_latex_norm_powers_and_frobenius() -> None:
    assert parse_latex(r"\|A x - b\|^2", SYMBOLS) == norm(A * x - b) ** 2
    assert parse_latex(r"\|X\|_F^2", SYMBOLS) == sp.Trace(X.T * X)
    assert parse_latex(r"\frac{x^T}{\|x\|}", SYMBOLS) == x.T / norm(x)
    nested = r"\lVert \lVert x \rVert A x - b \rVert"
    assert parse_latex(nested, SYMBOLS) == norm(norm(x) * (A * x) - b)


def test_a_one_by_one_matrix_divides_as_a_number_in_latex() -> None:
    """\\frac{1}{x^T x}, as matderiv prints 1/(xᵀx), was 'division by a matrix'."""
    assert parse_latex(r"\frac{1}{x^T x} x", SYMBOLS) == x * (1 / AsScalar(x.T * x))


def test_unicode_norm_spellings() -> None:
    assert parse_unicode("‖x‖₂", SYMBOLS) == norm(x)
    assert parse_unicode("‖X‖_F²", SYMBOLS) == sp.Trace(X.T * X)
    assert parse_unicode("‖x‖ ‖X‖_F", SYMBOLS) == norm(x) * norm(X)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (r"\|X\|_2", "spectral norm"),
        # these were "unexpected character '_'"
        (r"\|X\|_*", "the nuclear norm"),
        (r"\|x\|_\infty", "the max norm"),
        (r"\|x\|_{\infty}", "the max norm"),
        (r"\|x\|_p", "subscript p, which matderiv does not know"),
        (r"\|x", "'‖' is never closed"),
        (r"\lVert x \rVert \rVert", "closing '‖' without an opening one"),
        # bare bars pair innermost-first: nest with \lVert ... \rVert instead
        (r"\| \|x\| A x - b \|", "unexpected '‖'"),
    ],
)
def test_latex_norm_errors(text: str, fragment: str) -> None:
    with pytest.raises(ParseError, match=fragment):
        parse_latex(text, SYMBOLS)


def test_bars_of_a_number_are_its_absolute_value_not_a_determinant() -> None:
    """|aᵀx| read as det(aᵀx) = aᵀx: wrong for a negative number."""
    a = sp.MatrixSymbol("a", n, 1)
    read = parse_latex("|a^T x|", {"a": a, "x": x})
    assert read == sp.Abs(AsScalar(a.T * x))
    values = {a: -np.ones((3, 1)), x: np.ones((3, 1))}
    assert evaluate(read, values) == pytest.approx(3.0)
    assert fmt(gradient(read, x).result) == "sign(aᵀ x) a"
    check_derivation(derive(read, x), {n: 3})


def test_norm_of_a_scalar_is_refused() -> None:
    with pytest.raises(MatDerivError, match="scalar"):
        norm(sp.Symbol("s"))
    with pytest.raises(ParseError, match="norm expects matrices"):
        parse_expression("norm(2)", SYMBOLS)


def test_generated_code_of_a_norm_gradient() -> None:
    d = gradient(norm(A * x - b) ** 3, x)
    values = random_values(d.result, DIMS, np.random.default_rng(1))
    f = lambdify(d)
    got = f(**{str(s): v for s, v in values.items()})
    np.testing.assert_allclose(got, evaluate(d, values), rtol=1e-12)
    residual = values[A] @ values[x] - values[b]
    expected = 3 * np.linalg.norm(residual) * values[A].T @ residual
    np.testing.assert_allclose(got, expected, rtol=1e-10)


# -- ‖x‖₁ ------------------------------------------------------------------------------


def test_the_1_norm_in_every_notation() -> None:
    """norm(x, 1), \\|x\\|_1 and ‖x‖₁ are 𝟏ᵀ|x|, and print back as themselves."""
    want = AsScalar(parse_expression("sum(abs(x))", SYMBOLS))
    assert parse_expression("norm(x, 1)", SYMBOLS) == want
    assert parse_latex(r"\|x\|_1", SYMBOLS) == want
    assert parse_latex(r"\lVert x \rVert_{1}", SYMBOLS) == want
    assert parse_unicode("‖x‖₁", SYMBOLS) == want
    assert fmt(want) == "‖x‖₁" and to_syntax(want) == "norm(x, 1)"
    assert tex(want) == r"\left\lVert x \right\rVert_{1}"
    lasso = parse_expression("norm(A @ x - b)**2 + 3 * norm(x, 1)", SYMBOLS)
    assert fmt(lasso).startswith("3·‖x‖₁ + ")
    _same(parse_unicode(fmt(lasso), SYMBOLS), lasso)
    _same(parse_latex(tex(lasso), SYMBOLS), lasso)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "text, wrt",
    [("norm(x, 1)", "x"), ("norm(A @ x - b, 1)", "x"), ("norm(r, 1)", "r"), ("norm(x, 2)", "x")],
)
def test_1_norm_derivatives(text: str, wrt: str, layout: str) -> None:
    check_derivation(derive(parse_expression(text, SYMBOLS), SYMBOLS[wrt], layout), DIMS, seed=8)


def test_the_lasso_gradient() -> None:
    lasso = parse_expression("norm(A @ x - b)**2 + 3 * norm(x, 1)", SYMBOLS)
    assert fmt(gradient(lasso, x).result) == "2 Aᵀ (A x - b) + 3 sign(x)"


@pytest.mark.parametrize(
    "text, message",
    [
        ("norm(X, 1)", "largest column sum.*sum\\(abs\\(X\\)\\)"),
        ("norm(X, 2)", "spectral norm"),
        ("norm(x, 3)", "p = 1 or 2"),
    ],
)
def test_norms_matderiv_does_not_differentiate_are_refused(text: str, message: str) -> None:
    with pytest.raises(MatDerivError, match=message):
        parse_expression(text, SYMBOLS)
    with pytest.raises(ParseError, match="largest column sum"):
        parse_latex(r"\|X\|_1", SYMBOLS)


def test_norms_of_one_by_one_residuals() -> None:
    """Fitting one data row: ‖wᵀx - b‖ with b 1 x 1.  SymPy's signsimp rebuilt the
    residual inside the scalar as -(b - wᵀx), a scalar Mul the 1 x 1 node refused
    (ShapeMismatch from inside SymPy); ‖M‖₁ of a 1 x 1 M went through SymPy's abs of a
    matrix, M Adjoint(Mᵀ), which had no rule."""
    k = sp.Symbol("k", integer=True, positive=True)
    w, v = sp.MatrixSymbol("w", k, 1), sp.MatrixSymbol("v", k, 1)
    b, M = sp.MatrixSymbol("b", 1, 1), sp.MatrixSymbol("M", 1, 1)
    for f, wrt in ((norm(w.T * v - b), v), (norm(M, 1), M)):
        check_derivation(gradient(f, wrt), {k: 3})
