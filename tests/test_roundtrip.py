"""Round trips SymPy -> matderiv syntax -> SymPy (``render/syntax.py``, ``parse/expr.py``).

Every identity row of the engine's battery (``test_identities_linear``,
``test_identities_nonlinear``) is printed with ``to_syntax``, declared with
``to_shapes`` and parsed back.  The reparsed expression must evaluate to the
original's value, and its derivative must equal the original's derivative in
both layouts (the ground truth stays numeric: random values at small distinct
sizes).  The printer's precedence and its "no syntax" errors have unit tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, event, given, note, reject, settings
from hypothesis import strategies as st
from sympy.matrices.expressions.matexpr import MatrixElement
from test_identities_linear import ROWS as LINEAR
from test_identities_nonlinear import ROWS as NONLINEAR
from test_random_expressions import DIMS as POOL
from test_random_expressions import SIZES, VARIABLES, expressions

from matderiv import MatDerivError, ParseError, commutation, derive, evaluate
from matderiv.nodes import AsScalar, Reshape, Vec
from matderiv.parse.declarations import parse_shapes
from matderiv.parse.expr import parse_expression
from matderiv.render.syntax import to_shapes, to_syntax
from matderiv.testing import random_values

ROWS = [*LINEAR, *NONLINEAR]
LAYOUTS = ("numerator", "denominator")

#: rows whose expression has no syntax form, with the reason (at most 10% of the rows)
EXCLUDED: dict[str, str] = {}


def _close(got: Any, want: Any) -> None:
    got, want = np.atleast_2d(got), np.atleast_2d(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale, equal_nan=False)


def _renamed(expr: Any, symbols: dict[str, Any]) -> Any:
    """``expr`` (a wrt: X, vec(X), vec(X.T)) over the reparsed symbols, matched by name."""
    return expr.xreplace({s: symbols[s.name] for s in expr.atoms(sp.MatrixSymbol)})


def _reparse(expr: Any) -> tuple[Any, dict[str, Any]]:
    symbols = parse_shapes(to_shapes(expr))
    return parse_expression(to_syntax(expr), symbols), symbols


def test_exclusions_are_few_and_named() -> None:
    ids = {r.id for r in ROWS}
    assert set(EXCLUDED) <= ids
    assert len(EXCLUDED) <= len(ROWS) // 10
    assert len(ROWS) >= 90


def test_excluded_rows_really_have_no_syntax() -> None:
    for spec in ROWS:
        if spec.id in EXCLUDED:
            with pytest.raises(MatDerivError, match="no syntax"):
                to_syntax(spec.build()[0])


@pytest.mark.parametrize("spec", [r for r in ROWS if r.id not in EXCLUDED], ids=lambda r: r.id)
def test_identity_row_round_trips(spec: Any) -> None:
    expr, wrt, dims, _, kwargs = spec.build()
    reparsed, symbols = _reparse(expr)
    rng = np.random.default_rng(kwargs.get("seed", 0))
    values = random_values(expr, dims, rng, kwargs.get("spd"), kwargs.get("positive"))
    env = {**values, **dims}
    env_reparsed = {**{symbols[s.name]: v for s, v in values.items()}, **dims}
    _close(evaluate(reparsed, env_reparsed), evaluate(expr, env))
    for layout in LAYOUTS:
        want = derive(expr, wrt, layout)
        got = derive(reparsed, _renamed(wrt, symbols), layout)
        _close(evaluate(got.result, env_reparsed), evaluate(want.result, env))


#: rows that come back equal in value but built differently: the parser reads a 1 x 1
#: under ^, sqrt or a scalar function as a scalar (AsScalar), where SymPy has a MatPow,
#: an entry or the matrix itself
NOT_STRUCTURAL = {
    "euclidean_norm": "sqrt((x-a)ᵀ(x-a)), a MatPow, comes back as AsScalar(...)**(1/2)",
    "aT_x_squared": "(aᵀx)**2, a MatPow, comes back as AsScalar(aᵀx)**2",
    "logistic_loss": "exp(-wᵀx) of the 1 x 1 matrix comes back as exp(AsScalar(-wᵀx))",
    "exp_of_entry_wT_x": "the entry (wᵀx)[0, 0] comes back as AsScalar(wᵀx)",
}


def _named_lambdas(expr: Any) -> Any:
    """``expr`` with every one-variable Lambda over the same variable (x.applyfunc(tanh)
    holds a fresh Dummy each time)."""
    t = sp.Symbol("t")
    lambdas = [f for f in expr.atoms(sp.Lambda) if len(f.variables) == 1]
    return expr.xreplace({f: sp.Lambda(t, f.expr.xreplace({f.variables[0]: t})) for f in lambdas})


def test_rows_come_back_structurally_equal() -> None:
    assert set(NOT_STRUCTURAL) <= {r.id for r in ROWS}
    for spec in ROWS:
        if spec.id in EXCLUDED:
            continue
        expr = spec.build()[0]
        same = _named_lambdas(_reparse(expr)[0]) == _named_lambdas(expr)
        assert same == (spec.id not in NOT_STRUCTURAL), spec.id


def test_printing_is_stable_after_one_round_trip() -> None:
    """Printing the reparsed expression gives the same text again, for every row."""
    for spec in ROWS:
        if spec.id not in EXCLUDED:
            text = to_syntax(_reparse(spec.build()[0])[0])
            symbols = parse_shapes(to_shapes(spec.build()[0]))
            assert to_syntax(parse_expression(text, symbols)) == text, spec.id


# -- random expressions ------------------------------------------------------------------

#: SymPy crashes the parser meets while building a valid expression (reported):
#: multiplying, transposing or tracing a Kronecker product with a factor c·A·B
SYMPY_CRASHES = ("Mix of Matrix and Scalar symbols", "object has no attribute 'is_Identity'")


#: a dimension no declared matrix has is unknown where a size goes (eye(n)) or a
#: number (m 𝟏ᵀx, from tr(I_m) or a sum of ones)
KINDS = ("dimension", "symbol")


def _known_parse_failure(exc: ParseError, expr: Any) -> str | None:
    dimensions = {str(d) for d in expr.free_symbols if not isinstance(d, sp.MatrixSymbol)}
    if any(f"unknown {kind} '{d}'" in str(exc) for d in dimensions for kind in KINDS):
        return "a dimension no declared matrix has (eye(n) alone, m x)"
    if any(crash in str(exc) for crash in SYMPY_CRASHES):
        return "SymPy crash on a Kronecker factor c·A·B"
    return None


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.data())
def test_random_expressions_round_trip(data: Any) -> None:
    """The property-test strategy's expressions (test_random_expressions) print and
    parse back to the same values, unless they have no syntax form."""
    var = data.draw(st.sampled_from(VARIABLES))
    shape = (data.draw(st.sampled_from(POOL)), data.draw(st.sampled_from(POOL)))
    expr = data.draw(expressions(shape, var, 4))
    try:
        text, shapes = to_syntax(expr), to_shapes(expr)
    except MatDerivError as exc:  # a lone matrix of ones, softsign, an m·n dimension
        event("no syntax: an m·n dimension" if "dimension" in str(exc) else str(exc)[:26])
        reject()
    note(f"{text}   [{shapes}]")
    symbols = parse_shapes(shapes)
    try:
        reparsed = parse_expression(text, symbols)
    except ParseError as exc:
        reason = _known_parse_failure(exc, expr)
        if reason is None:
            raise
        event(reason)
        reject()
    values = random_values(expr, SIZES, np.random.default_rng(0))
    want = np.atleast_2d(evaluate(expr, {**values, **SIZES}))
    assume(np.all(np.isfinite(want)) and np.abs(want).max(initial=0.0) < 1e6)
    got = evaluate(reparsed, {**{symbols[k.name]: v for k, v in values.items()}, **SIZES})
    got = np.atleast_2d(got)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-7 * scale)


# -- the printer's cases ------------------------------------------------------------------

m, n = sp.symbols("m n", integer=True, positive=True)
DIMS = {m: 3, n: 4}
A, B, C = (sp.MatrixSymbol(k, n, n) for k in "ABC")
X = sp.MatrixSymbol("X", m, n)
a, x, s = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("s", 1, 1)
HP, KP, T = sp.HadamardProduct, sp.KroneckerProduct, sp.Trace
ax = AsScalar(a.T * x)

_t = sp.Dummy("t")
PRINTED = [
    # matrix products, sums, unary minus
    (A * (B + C), "A @ (B + C)"),
    ((A + B) * C, "(A + B) @ C"),
    (-A * B, "-A @ B"),
    (-(A + B), "-A - B"),
    (A - B * C, "A - B @ C"),
    (B - A, "B - A"),
    (-A - B * C, "-A - B @ C"),
    (2 * A * B, "2 * A @ B"),
    (-2 * A, "-2 * A"),
    (sp.Rational(1, 2) * A, "(1/2) * A"),
    (sp.Rational(-3, 2) * A * B, "-(3/2) * A @ B"),
    (sp.Float(0.5) * A, "0.500000000000000 * A"),
    (T(A) * B, "tr(A) * B"),
    ((1 + T(A)) * B, "(tr(A) + 1) * B"),
    (2 * T(A) * B * C, "2 * tr(A) * B @ C"),
    (ax * A, "(a.T @ x) * A"),
    # transposes
    (sp.Transpose(A * B), "(A @ B).T"),
    (sp.Transpose(A + B), "(A + B).T"),
    (A.T * B.T, "A.T @ B.T"),
    (sp.Transpose(sp.HadamardPower(A, 2)), "(A^2).T"),
    (sp.Inverse(A).T * B, "inv(A.T) @ B"),
    # entrywise products and powers against @ and unary minus
    (HP(A, B + C), "A * (B + C)"),
    (HP(A * B, C), "(A @ B) * C"),
    (HP(A, B) * C, "(A * B) @ C"),
    (2 * HP(A, B), "2 * (A * B)"),
    (-HP(A, B), "-A * B"),
    (sp.HadamardPower(A + B, 2), "(A + B)^2"),
    (sp.HadamardPower(A.T, 2), "A.T^2"),
    (-sp.HadamardPower(A, 2), "-A^2"),
    (sp.HadamardPower(-A, 2), "(-A)^2"),
    (sp.HadamardPower(A, -1), "A^-1"),
    (sp.HadamardPower(A, sp.Rational(1, 2)), "A^(1/2)"),
    (sp.HadamardPower(A, sp.Rational(-1, 3)), "A^-(1/3)"),
    (HP(A, sp.HadamardPower(B, 2)), "A * B^2"),
    # matrix powers: products and inverses up to |k| = 2, matrix_power(A, k) beyond
    (A**2, "A @ A"),
    (A**3 * B, "matrix_power(A, 3) @ B"),
    (sp.MatPow(A, -3), "matrix_power(A, -3)"),
    (sp.MatPow(A, -2), "inv(A) @ inv(A)"),
    (sp.MatPow(A + B, 2), "(A + B) @ (A + B)"),
    (sp.Inverse(A + B), "inv(A + B)"),
    (sp.MatPow(A, 0), "eye(n)"),
    # functions and structure
    (KP(A, B, C), "kron(A, kron(B, C))"),
    (KP(A, B) * KP(B, C), "kron(A, B) @ kron(B, C)"),
    (sp.Identity(n) + A, "eye(n) + A"),
    (sp.log(sp.Determinant(A)), "logdet(A)"),
    (sp.Determinant(A) * sp.Inverse(A).T, "det(A) * inv(A.T)"),
    (sp.OneMatrix(n, 1) - x, "1 - x"),
    (x - 2 * sp.OneMatrix(n, 1), "x - 2"),
    (T(A) * sp.OneMatrix(n, n) + B, "tr(A) + B"),
    (ax * sp.OneMatrix(n, n) - A, "tr(a.T @ x) - A"),
    (sp.OneMatrix(1, n) * x, "sum(x)"),
    (x.T * sp.OneMatrix(n, 1), "sum(x.T)"),
    (sp.OneMatrix(1, n) * A * B * sp.OneMatrix(n, 1), "sum(A @ B)"),
    (3 * sp.OneMatrix(1, m) * X * sp.OneMatrix(n, 1), "3 * sum(X)"),
    # scalars
    (T(A) ** 2, "tr(A)^2"),
    (-(T(A) ** 2), "-tr(A)^2"),
    ((1 + T(A)) ** 2, "(tr(A) + 1)^2"),
    (1 / T(A), "1 / tr(A)"),
    (2 / (1 + T(A)), "2 / (tr(A) + 1)"),
    (T(B) / (T(A) * sp.Determinant(A)), "tr(B) / (det(A) * tr(A))"),
    (T(A) ** sp.Rational(1, 3), "tr(A)^(1/3)"),
    (T(A) ** sp.Rational(-1, 3), "1 / tr(A)^(1/3)"),
    (T(A) ** -2, "1 / tr(A)^2"),
    (sp.sqrt(T(A.T * A)), "norm(A)"),  # the Frobenius norm
    (sp.exp(-T(A)), "exp(-tr(A))"),
    (sp.E * A, "exp(1) * A"),
    (sp.log(1 + sp.exp(-(a.T * x))), "log(1 + exp(-a.T @ x))"),
    (T(A) / ax, "(a.T @ x)^-1 * tr(A)"),
    (1 / (1 + ax), "1 / (a.T @ x + 1)"),
    ((a.T * x) ** 2, "(a.T @ x)^2"),
    (sp.sqrt(a.T * x), "sqrt(a.T @ x)"),
    (sp.exp(MatrixElement(a.T * x, 0, 0)), "exp(a.T @ x)"),
    (sp.cos(T(A)) * sp.sin(T(B)) + sp.tanh(T(C)), "cos(tr(A)) * sin(tr(B)) + tanh(tr(C))"),
    # Kronecker products: coefficients in front, transposes inside (SymPy crashes
    # multiplying or transposing a Kronecker product with a factor c·A·B)
    (KP(A, 3 * B * C), "3 * kron(A, B @ C)"),
    (2 * KP(A, -B), "-2 * kron(A, B)"),
    (sp.Transpose(KP(A, B)), "kron(A.T, B.T)"),
    (sp.Transpose(KP(2 * A * B, C)), "2 * kron((A @ B).T, C.T)"),
    # 1 x 1 operands the parser reads as scalars, where a matrix is needed
    (KP(sp.HadamardPower(s, 2), X), "s^2 * X"),
    (sp.Inverse(sp.HadamardPower(s, 2)), "inv(s^2 * eye(1))"),
    (T(s.applyfunc(sp.exp)), "tr(exp(s) * eye(1))"),
    (sp.HadamardProduct(s.applyfunc(sp.tanh), s), "tanh(s) * s"),
    # a function with no name, (t ↦ g(t))∘(X), as g written at X (entrywise operations)
    (A.applyfunc(sp.Lambda(_t, _t**3 + 1)), "A^3 + 1"),
    ((A + B).applyfunc(sp.Lambda(_t, _t / (_t**2 + 1))), "(A + B) / ((A + B)^2 + 1)"),
    (A.T.applyfunc(sp.Lambda(_t, 1 - sp.tanh(_t) ** 2)), "1 - tanh(A.T)^2"),
    (A.applyfunc(sp.Lambda(_t, sp.Integer(3))), "3 * ones(n, n)"),
    (
        A.applyfunc(sp.Lambda(_t, sp.exp(-_t))).applyfunc(sp.Lambda(_t, _t * sp.cos(_t))),
        "exp(-A) * cos(exp(-A))",
    ),
]


@pytest.mark.parametrize("expr, text", PRINTED, ids=[t for _, t in PRINTED])
def test_printed_form(expr: Any, text: str) -> None:
    assert to_syntax(expr) == text
    reparsed, symbols = _reparse(expr)
    rng = np.random.default_rng(1)
    values = random_values(expr, DIMS, rng, positive=expr.atoms(sp.MatrixSymbol))
    env_reparsed = {**{symbols[s.name]: v for s, v in values.items()}, **DIMS}
    _close(evaluate(reparsed, env_reparsed), evaluate(expr, {**values, **DIMS}))


@pytest.mark.parametrize(
    "name", ["tanh", "exp", "log", "sqrt", "sin", "cos", "sigmoid", "relu", "softplus"]
)
def test_entrywise_functions_print_by_name(name: str) -> None:
    symbols = parse_shapes("X: m x n")
    expr = parse_expression(f"{name}(X)", symbols)
    assert to_syntax(expr) == f"{name}(X)"
    assert to_syntax(sp.MatrixSymbol("X", m, n).applyfunc(expr.function)) == f"{name}(X)"


def test_structurally_equal_where_sympy_allows() -> None:
    for expr in (A * (B + C), HP(A, B) * C, sp.MatPow(A, -2), KP(A, B), T(A) ** 2 * B):
        assert _reparse(expr)[0] == expr


def test_commutation_matrices_round_trip() -> None:
    """commutation(m, n) is K_{m,n} in the syntax, so a Hessian like -(X⁻¹ ⊗ X⁻ᵀ) K
    can be written in a candidate."""
    for expr in (
        commutation(m, n) * Vec(X),  # X: m x n declares the dimensions
        KP(A, B) * commutation(n, n),
        commutation(2, m * n) * KP(Vec(X), sp.Identity(2)),
    ):
        assert _reparse(expr)[0] == expr
    reparsed, symbols = _reparse(KP(A, B) * commutation(n, n) + KP(B, A))
    a_, b_ = np.arange(4.0).reshape(2, 2), np.array([[1.0, -2.0], [0.5, 3.0]])
    got = evaluate(reparsed, {symbols["A"]: a_, symbols["B"]: b_, n: 2})
    K = np.zeros((4, 4))  # K vec(M) = vec(Mᵀ) for M 2 x 2 (vec stacks columns)
    K[[0, 2, 1, 3], [0, 1, 2, 3]] = 1.0
    _close(got, np.kron(a_, b_) @ K + np.kron(b_, a_))


@pytest.mark.parametrize(
    "expr",
    [
        Reshape(sp.MatrixSymbol("v", m * n, 1), m, n),
        A.applyfunc(sp.Lambda(sp.Symbol("t"), sp.atan(sp.Symbol("t")) + 1)),
        A.applyfunc(sp.atan),
        sp.atan(T(A)),
        sp.pi * A,
        sp.MatPow(A, sp.Rational(1, 2)),
        MatrixElement(A, 1, 2),
    ],
    ids=str,
)
def test_no_syntax_is_a_clear_error(expr: Any) -> None:
    with pytest.raises(MatDerivError, match="no syntax for"):
        to_syntax(expr)


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (sp.OneMatrix(1, n) * A, "ones(1, n) @ A"),
        (HP(sp.OneMatrix(n, n), A), "ones(n, n) * A"),
        (A * sp.OneMatrix(n, n), "A @ ones(n, n)"),
        (sp.MatAdd(sp.ZeroMatrix(n, n), A), "zeros(n, n) + A"),
        (HP(x, sp.OneMatrix(n, 1) + sp.OneMatrix(n, 1)), "x * (2 * ones(n, 1))"),
        (x - sp.OneMatrix(n, 1), "x - 1"),  # where a term gives the size, the scalar
    ],
    ids=str,
)
def test_matrices_of_ones_print_as_ones_and_read_back(expr: Any, text: str) -> None:
    """A matrix of ones had no syntax outside a sum with a sized term (1 - v) or sum();
    now ones(m, n), as zeros(m, n)."""
    assert to_syntax(expr) == text
    reparsed, symbols = _reparse(expr)
    values = random_values(expr, {n: 3}, np.random.default_rng(0))
    got = evaluate(reparsed, {**{symbols[k.name]: v for k, v in values.items()}, n: 3})
    _close(got, evaluate(expr, {**values, n: 3}))


def test_shapes() -> None:
    r = sp.MatrixSymbol("r", 1, n)
    assert to_shapes(A * x + X.T * sp.MatrixSymbol("b", m, 1)) == "A: n x n, X: m x n, b: m, x: n"
    assert to_shapes(r * sp.MatrixSymbol("s", n, 1)) == "r: 1 x n, s: n"
    assert to_shapes(sp.MatrixSymbol("Q", 3, 2) * sp.MatrixSymbol("c", 2, 1)) == "Q: 3 x 2, c: 2"
    assert to_shapes(T(A)) == "A: n x n"
    with pytest.raises(MatDerivError, match="dimension"):
        to_shapes(sp.MatrixSymbol("v", m * n, 1))
    with pytest.raises(MatDerivError, match="two matrices are named X"):
        to_shapes(X.T * sp.MatrixSymbol("X", m, m))
