"""derive / gradient / jacobian: result kinds, shapes by the convention table, numeric sizes."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import commutation, derive, evaluate, gradient, hessian, jacobian, vec
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation

m, n, p = sp.symbols("m n p", integer=True, positive=True)
DIMS = {m: 3, n: 4, p: 2}
X = sp.MatrixSymbol("X", m, n)
A = sp.MatrixSymbol("A", p, m)
a = sp.MatrixSymbol("a", m, 1)
b = sp.MatrixSymbol("b", n, 1)
x = sp.MatrixSymbol("x", n, 1)

# (expression, wrt, expected shape in numerator layout)
KINDS = [
    ("scalar by matrix", a.T * X * b, X, (n, m)),
    ("scalar by vec", a.T * X * b, vec(X), (1, m * n)),
    ("scalar by vec of transpose", a.T * X * b, vec(X.T), (1, m * n)),
    ("scalar by vector", x.T * x, x, (1, n)),
    ("vector by vector", X * x, x, (m, n)),
    ("vector by matrix", X * b, X, (m, m * n)),
    ("matrix by matrix", A * X, X, (p * n, m * n)),
]


@pytest.mark.parametrize("name, expr, wrt, shape", KINDS, ids=[k[0] for k in KINDS])
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_result_kinds_follow_the_convention_table(name, expr, wrt, shape, layout) -> None:
    d = derive(expr, wrt, layout)
    expected = shape if layout == "numerator" else shape[::-1]
    assert tuple(sp.expand(s) for s in d.shape) == tuple(sp.expand(s) for s in expected)
    assert sp.expand(d.result.shape[0] - expected[0]) == 0
    assert sp.expand(d.result.shape[1] - expected[1]) == 0
    assert d.layout == layout and d.of == expr and d.wrt == wrt
    check_derivation(d, DIMS)


def test_gradient_and_jacobian_pick_their_layouts() -> None:
    assert gradient(a.T * X * b, X).layout == "denominator"
    assert jacobian(X * b, X).layout == "numerator"
    assert gradient(a.T * X * b, X).result == a * b.T


def test_textbook_answers() -> None:
    S = sp.MatrixSymbol("S", n, n)
    C = sp.MatrixSymbol("C", n, n)
    B = sp.MatrixSymbol("B", n, p)
    assert gradient(sp.Trace(C * S), S).result == C.T
    assert gradient(sp.log(sp.Determinant(S)), S).result == sp.Inverse(S).T
    assert jacobian(A * X * B, X).result == sp.KroneckerProduct(B.T, A)
    assert jacobian(X.T, X).result == commutation(m, n)
    assert gradient(x.T * C * x, x).result == sp.MatMul(C + C.T, x)


def test_numeric_dimensions() -> None:
    Y = sp.MatrixSymbol("Y", 3, 2)
    c = sp.MatrixSymbol("c", 3, 1)
    d = derive((Y.T * c).applyfunc(sp.tanh), Y, "denominator")
    assert d.shape == (6, 2)
    check_derivation(d, {})


def test_scalar_variable_as_1x1() -> None:
    t = sp.MatrixSymbol("t", 1, 1)
    d = derive(sp.log(1 + sp.exp(t)) + sp.Trace(t * t), t)
    assert d.shape == (1, 1)
    check_derivation(d, DIMS)


def test_wrt_itself_is_the_identity() -> None:
    d = jacobian(X, X)
    assert d.result == sp.Identity(m * n)


def test_steps_record_definitions_rules_and_result() -> None:
    d = derive(
        (X * b).applyfunc(sp.tanh), X, "denominator", names={"h": (X * b).applyfunc(sp.tanh)}
    )
    kinds = [s.kind for s in d.steps]
    assert kinds[0] == "define" and kinds[-1] == "result"
    assert {"define", "local", "chain", "result"} <= set(kinds)
    assert any(s.lhs == "h" for s in d.steps if s.kind == "define")
    assert {s.rule for s in d.steps if s.kind == "local"} == {"product", "elementwise"}
    assert "denominator layout" in d.description and "vec" in d.description


def test_explicit_entries_of_a_result() -> None:
    d = jacobian(A * X, X)
    sizes = {m: 2, n: 3, p: 2}
    explicit = np.array(d.result.subs(sizes).as_explicit().tolist(), dtype=object)
    A2 = sp.MatrixSymbol("A", 2, 2)
    values = {A2: np.arange(4.0).reshape(2, 2)}
    numeric = np.array(
        [
            [
                float(
                    sp.sympify(e).subs(
                        {A2[i, j]: values[A2][i, j] for i in range(2) for j in range(2)}
                    )
                )
                for e in row
            ]
            for row in explicit
        ]
    )
    np.testing.assert_allclose(numeric, evaluate(d.result, {"A": values[A2], **sizes}))


_t = sp.Symbol("t")
_SOFT = _t / (_t**2 + 1)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "body",
    [
        sp.tanh(_SOFT),
        _SOFT / (_SOFT**2 + 1),
        sp.tanh(_t) ** 3,  # sp.solve ran for minutes (a review found it)
        sp.cosh(2 * _t) / sp.cosh(_t),  # 20 s
        sp.tanh(2 * _t) / sp.tanh(_t),
    ],
    ids=["tanh(t/(t²+1))", "soft(soft(t))", "tanh(t)³", "cosh(2t)/cosh(t)", "tanh(2t)/tanh(t)"],
)
def test_a_function_of_a_nonlinear_argument_is_differentiated_without_solving(
    layout, body, monkeypatch
) -> None:
    """tanh(t/(t² + 1)) and a rational function of degree 4 entrywise: their
    derivatives are no polynomials in their values, and sp.solve for the inverse
    took 53 s and 3.8 s (a random-loss test found them); the engine now skips the
    search for such functions.  The result is checked against central differences
    at distinct sizes."""
    m, n = sp.symbols("m n", integer=True, positive=True)
    A, x = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("x", n, 1)
    squashed = sp.Lambda(_t, body)

    def no_solve(*args, **kwargs):
        raise AssertionError("sp.solve was called")

    monkeypatch.setattr(sp, "solve", no_solve)
    f = sp.OneMatrix(1, m) * (A * x).applyfunc(squashed)
    d = derive(f, x, layout)
    check_derivation(d, {m: 4, n: 3}, seed=5)


def test_a_name_for_a_subexpression_that_does_not_occur_is_warned_about() -> None:
    """names={"h": tanh(W x)} for an expression with tanh(Wᵀ x): the name was silently
    ignored, a typo unnoticed."""
    import warnings

    from matderiv import UnusedNameWarning

    n = sp.Symbol("n", integer=True, positive=True)
    W, x, c = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("c", n, 1)
    f = c.T * (W.T * x).applyfunc(sp.tanh)
    with pytest.warns(UnusedNameWarning, match=r"names: h := tanh\(W x\) does not occur"):
        derive(f, W, names={"h": (W * x).applyfunc(sp.tanh)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnusedNameWarning)
        d = derive(f, W, names={"h": (W.T * x).applyfunc(sp.tanh)})  # it occurs: no warning
        hessian(f, x, names={"h": (W.T * x).applyfunc(sp.tanh)})  # nor in the 2nd phase
    assert "h" in [s.lhs for s in d.steps if s.kind == "define"]
    # a name that occurs but is constant in the variable (one names= for every
    # parameter's gradient): no warning that it "does not occur", and shown by name (it
    # was left out, and the result mixed names with the written-out constant)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnusedNameWarning)
        d = gradient(f, c, names={"h": (W.T * x).applyfunc(sp.tanh)})
    assert "h" in [s.lhs for s in d.steps if s.kind == "define"]
    assert fmt(d.steps[-1].expr) == "h" and fmt(d.result) == "tanh(Wᵀ x)"


def test_a_scalar_symbol_is_a_variable() -> None:
    """d det(A + sB)/ds with s a plain Symbol (the Cookbook's eqs. 46 and 59) was
    refused ("use MatrixSymbol('s', 1, 1)"); it is the 1 x 1 matrix s, and evaluate,
    lambdify and verify take s as the user's Symbol."""
    from matderiv import hvp, lambdify, verify

    n = sp.Symbol("n", integer=True, positive=True)
    s = sp.Symbol("s")
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    f = sp.Determinant(A + s * B)
    d = derive(f, s)
    check_derivation(d, {n: 3})
    rng = np.random.default_rng(0)
    A0, B0 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    h = 1e-6
    fd = (np.linalg.det(A0 + (0.3 + h) * B0) - np.linalg.det(A0 + (0.3 - h) * B0)) / (2 * h)
    assert evaluate(d, {A: A0, B: B0, s: 0.3}) == pytest.approx(fd, rel=1e-6)
    assert lambdify(d)(A=A0, B=B0, s=0.3) == pytest.approx(fd, rel=1e-6)
    assert verify("det(A + s*B)*trace(inv(A + s*B) @ B)", f, s)
    assert verify(sp.Determinant(A + s * B) * sp.Trace((A + s * B).I * B), f, s)
    assert not verify(sp.Determinant(A + s * B) * sp.Trace(B * (A + s * B).I * B), f, s)
    # (A + sB)⁻¹ by s: a matrix by a scalar, vec form (n² x 1)
    for layout in ("numerator", "denominator"):
        check_derivation(derive((A + s * B).I, s, layout), {n: 3})
        C = sp.MatrixSymbol("C", m, n)  # an m x n result by s: distinct sizes
        check_derivation(derive(C * (A + s * B).I, s, layout), {m: 2, n: 4})
    # second order, and s³ whose s² was written (s³)^(2/3): complex for s < 0
    g = s**3 * sp.Trace(A)
    H = hessian(g, s)
    at = {A: A0, s: -0.7}
    assert evaluate(H, at) == pytest.approx(6 * -0.7 * np.trace(A0), rel=1e-12)
    assert verify("6*s*trace(A)", g, s, order=2)
    check_derivation(hvp(sp.log(f), s), {n: 3})


def test_an_entry_of_a_one_by_one_product_by_a_scalar_symbol() -> None:
    """(xᵀ (A + s I)⁻¹ x)[0, 0], which SymPy writes as a Sum over entries, by a Symbol s:
    the sum was read back after s became a 1 x 1 matrix inside it, and could not be
    ("the sum over entries ... could not read this one"); by x and by A it read."""
    n = sp.Symbol("n", integer=True, positive=True)
    s = sp.Symbol("s")
    A, x = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1)
    f = (x.T * (A + s * sp.Identity(n)).I * x)[0, 0]
    d = derive(f, s)
    check_derivation(d, {n: 3})
    assert fmt(d.result) == "-xᵀ (s I_n + A)⁻² x", fmt(d.result)
    check_derivation(hessian(f, s), {n: 4})
