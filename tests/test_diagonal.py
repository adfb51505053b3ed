"""diag(X) of a square matrix: the column of its diagonal (NumPy's ``diag`` of a matrix).

Every derivative is compared with central finite differences, in both layouts and
with respect to X and vec(X); printed forms are read back by every parser.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import ShapeMismatch, derive, diag, evaluate, gradient, hessian, lambdify, norm, vec
from matderiv.nodes import Diagonal, DiagVector
from matderiv.parse.expr import parse_expression
from matderiv.parse.latex import parse_latex
from matderiv.parse.unicode import parse_unicode
from matderiv.render.latex import tex
from matderiv.render.rows import title
from matderiv.render.syntax import to_syntax
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation, random_values

m, n = sp.symbols("m n", positive=True, integer=True)
DIMS = {m: 4, n: 3}
X, A, B = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("B", n, m)
R = sp.MatrixSymbol("R", m, n)
y, a = sp.MatrixSymbol("y", n, 1), sp.MatrixSymbol("a", m, 1)
SYMBOLS = {"X": X, "A": A, "B": B, "R": R, "y": y, "a": a}

CASES = {
    "diag(X)": (lambda: diag(X), X),
    "diag(X) by vec(X)": (lambda: diag(X), vec(X)),
    "diag(A X B)": (lambda: diag(A * X * B), X),
    "aᵀ diag(A X B)": (lambda: a.T * diag(A * X * B), X),
    "tr(X) as 𝟏ᵀ diag(X)": (lambda: sp.OneMatrix(1, n) * diag(X), X),
    "‖diag(Rᵀ R) - y‖²": (lambda: norm(diag(R.T * R) - y) ** 2, R),
    "diag(X)ᵀ diag(X)": (lambda: diag(X).T * diag(X), X),
    "tanh(diag(X X))": (lambda: diag(X * X).applyfunc(sp.tanh), X),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_diagonal_derivatives_match_finite_differences(case: str, layout: str) -> None:
    build, wrt = CASES[case]
    check_derivation(derive(build(), wrt, layout), DIMS, seed=4)


def test_the_textbook_forms() -> None:
    """∇ tr(X) = I; ∇ yᵀ diag(X) = diag(y); d diag(X) = (𝟏ᵀ ⊗ I) diag(vec I) d vec X."""
    assert derive(sp.OneMatrix(1, n) * diag(X), X, "denominator").result == sp.Identity(n)
    assert derive(y.T * diag(X), X, "denominator").result == DiagVector(y)
    assert fmt(derive(diag(X), X).result) == "(𝟏_nᵀ ⊗ I_n) diag(vec(I_n))"


def test_second_order_through_a_diagonal() -> None:
    f = norm(diag(X) - y) ** 2  # Hessian 2 diag(vec I): the diagonal entries only
    h = hessian(f, X)
    check_derivation(h, DIMS, seed=2)
    values = random_values(h.result, DIMS, np.random.default_rng(0))
    expected = 2 * np.diag(np.eye(3).reshape(-1, order="F"))
    np.testing.assert_allclose(evaluate(h.result, {**values, **DIMS}), expected, atol=1e-12)


def test_diag_dispatches_on_the_shape_as_numpy_does() -> None:
    assert isinstance(diag(y), DiagVector) and isinstance(diag(X), Diagonal)
    assert parse_expression("diag(X)", SYMBOLS) == Diagonal(X)
    assert parse_expression("diag(y)", SYMBOLS) == DiagVector(y)
    with pytest.raises(ShapeMismatch, match="square matrix"):
        diag(A)
    with pytest.raises(ShapeMismatch, match="square"):
        Diagonal(A)


@pytest.mark.parametrize("expr", [Diagonal(X), Diagonal(A * X * B).T * a, DiagVector(Diagonal(X))])
def test_printed_diagonals_read_back(expr) -> None:
    assert parse_unicode(fmt(expr), SYMBOLS) == expr, fmt(expr)
    assert parse_latex(tex(expr), SYMBOLS) == expr, tex(expr)
    assert parse_expression(to_syntax(expr), SYMBOLS) == expr, to_syntax(expr)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_generated_code_of_a_diagonal(backend: str) -> None:
    if backend == "numba":
        pytest.importorskip("numba")
    d = derive(norm(diag(R.T * R) - y) ** 2, R, "denominator")
    assert "diag(diag(Rᵀ R) - y)" in title(d)
    values = random_values(d.result, DIMS, np.random.default_rng(5))
    got = lambdify(d, backend=backend)(**{str(s): v for s, v in values.items()})
    r, yv = values[R], values[y]
    expected = 4 * r @ np.diag((np.diag(r.T @ r)[:, None] - yv).ravel())
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_index_notation_reads_the_diagonal() -> None:
    text = derive(y.T * diag(X), X, "denominator").to_index_notation()
    assert "X[a,a]" in text and "δ(i,j)·y[i]" in text


def test_the_adjoint_of_diag_is_the_diagonal_in_textbook_form() -> None:
    """The adjoint of diag(v) is the diagonal of the adjoint matrix; it printed as
    (G∘I_n) 𝟏_n. Outer products and diagonal factors leave it: ∂/∂y xᵀ X diag(y) Xᵀ x
    is (Xᵀx)∘(Xᵀx), and ∂/∂y ‖X diag(y)‖² is 2 diag(XᵀX)∘y."""
    x, W = sp.MatrixSymbol("x", m, 1), sp.MatrixSymbol("W", m, n)
    quad = gradient(x.T * W * DiagVector(y) * W.T * x, y)
    check_derivation(quad, DIMS, seed=8)
    assert fmt(quad.result) == "(Wᵀ x)∘(Wᵀ x)"
    scaled = gradient(norm(W * DiagVector(y)) ** 2, y)
    check_derivation(scaled, DIMS, seed=9)
    assert fmt(scaled.result) == "2 diag(Wᵀ W)∘y"
    assert "‖W diag(y)‖_F" in fmt(gradient(norm(W * DiagVector(y)), y).result)


def _weighted() -> dict:
    from matderiv.parse.declarations import parse_shapes

    return parse_shapes("A: n x n, w: n, X: n x p, y: n")


@pytest.mark.parametrize(
    "text, order, textbook",
    [
        ("logdet(diag(w) + A)", 2, "-(diag(w) + A)⁻¹∘(diag(w) + Aᵀ)⁻¹"),
        ("-logdet(X.T @ diag(w) @ X)", 2, "(X (Xᵀ diag(w) X)⁻¹ Xᵀ)∘(X (Xᵀ diag(w) X)⁻¹ Xᵀ)"),
        ("diag(w) @ y", 1, "diag(y)"),
        (
            "inv(X.T @ diag(w) @ X) @ X.T @ diag(w) @ y",  # weighted least squares' β̂
            1,
            "(Xᵀ diag(w) X)⁻¹ Xᵀ diag(y - X (Xᵀ diag(w) X)⁻¹ Xᵀ (w∘y))",
        ),
        ("y.T @ diag(w) @ A @ diag(w) @ y", 2, "(y yᵀ)∘A + diag(y) Aᵀ diag(y)"),
    ],
)
def test_derivatives_through_diag_of_the_variable_read_as_textbooks_write_them(
    text, order, textbook
) -> None:
    """Eᵀ(A ⊗ B)E with E = diag(vec(I))(𝟏 ⊗ I), the Jacobian of diag(w), was left as
    five factors: (𝟏ᵀ ⊗ I) diag(vec(I)) (P ⊗ P) diag(vec(I)) (𝟏 ⊗ I) for P∘P."""
    S = _weighted()
    n_, p_ = (sp.Symbol(s, integer=True, positive=True) for s in "np")
    f = parse_expression(text, S)
    layouts = ["numerator", "denominator"] if order == 1 else [None]
    for layout in layouts:
        d = derive(f, S["w"], layout) if order == 1 else hessian(f, S["w"])
        if layout != "denominator":
            assert fmt(d.result) == textbook
        assert "vec(I" not in fmt(d.result)
        for seed, dims in enumerate(({n_: 4, p_: 2}, {n_: 3, p_: 2}, {n_: 5, p_: 3})):
            check_derivation(d, dims, seed=seed, positive={S["w"]})
