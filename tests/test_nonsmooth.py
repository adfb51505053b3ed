"""Functions with kinks: relu, abs, sign, step (Heaviside), and sums that broadcast a
1 x 1 matrix.

relu′ = step, |t|′ = sign(t) and sign′ = step′ = 0 hold everywhere but at t = 0,
which random points miss; every derivative is compared with central finite
differences there.  Every printed form is read back by its parser.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, event, given, note, reject
from hypothesis import strategies as st
from random_trees import DIMS as TREE_DIMS
from random_trees import SIZES as TREE_SIZES
from random_trees import VARIABLES, budget, expressions

from matderiv import (
    MatDerivError,
    UnsupportedNode,
    derive,
    evaluate,
    gradient,
    hessian,
    hvp,
    lambdify,
)
from matderiv.nodes import AsScalar
from matderiv.parse.declarations import parse_shapes
from matderiv.parse.expr import parse_expression
from matderiv.parse.latex import parse_latex
from matderiv.parse.unicode import parse_unicode
from matderiv.render.latex import tex
from matderiv.render.syntax import to_syntax
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation, random_values

SYMBOLS = parse_shapes("A: m x n, W: k x m, X: m x n, x: n, a: n, b: m, y: m")
A, W, X, x, a = (SYMBOLS[s] for s in ("A", "W", "X", "x", "a"))
(m, n), k = A.shape, W.shape[0]
DIMS = {m: 4, n: 3, k: 5}


def parse(text: str):
    return parse_expression(text, SYMBOLS)


# (expression in the syntax, variable): each differentiated in both layouts
CASES = [
    ("relu(A @ x)", "x"),
    ("relu(A @ x)", "A"),
    ("sum(relu(A @ x))", "A"),
    ("abs(A @ x)", "x"),
    ("sum(abs(X))", "X"),
    ("abs(a.T @ x)", "x"),
    ("sign(A @ x) * (A @ x)", "x"),  # = |A x|
    ("step(A @ x) * (A @ x)", "x"),  # = relu(A x)
    ("tanh(W @ relu(A @ x))", "x"),
    ("sum(relu(W @ relu(A @ x)))", "A"),
    ("abs(a.T @ x) * x", "x"),
    ("relu(a.T @ x) * x", "x"),  # Max(0, u) of a scalar (d_function's Max)
    ("step(a.T @ x) * x", "x"),  # Heaviside of a scalar: step′ = 0
]


@pytest.mark.parametrize("text, wrt", CASES, ids=[f"{t} by {w}" for t, w in CASES])
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_kinked_derivatives_match_finite_differences(text: str, wrt: str, layout: str) -> None:
    check_derivation(derive(parse(text), SYMBOLS[wrt], layout), DIMS, seed=11)


def test_the_derivatives_are_the_textbook_ones() -> None:
    assert fmt(gradient(parse("sum(relu(A @ x))"), A).result) == "step(A x) xᵀ"
    assert fmt(gradient(parse("sum(abs(A @ x))"), x).result) == "Aᵀ sign(A x)"
    assert fmt(gradient(parse("abs(a.T @ x)"), x).result) == "sign(aᵀ x) a"
    assert fmt(derive(parse("sign(A @ x)"), x).result) == "𝟎_{m×n}"
    assert fmt(derive(parse("step(A @ x)"), x).result) == "𝟎_{m×n}"


@pytest.mark.parametrize(
    "text", ["sum(relu(A @ x))", "sum(abs(A @ x))", "sum(tanh(W @ relu(A @ x)))"]
)
def test_hessians_of_kinked_functions(text: str) -> None:
    """relu″ = step′ = 0 away from the kinks: the Hessian of a relu layer is zero,
    and a relu network's second derivative comes from its smooth parts."""
    check_derivation(hessian(parse(text), x), DIMS, seed=4)
    check_derivation(hvp(parse(text), x), DIMS, seed=5)


def test_the_hessian_of_a_relu_layer_is_zero() -> None:
    assert fmt(hessian(parse("sum(relu(A @ x))"), x).result) == "𝟎_{n×n}"


PRINTED = [
    "relu(A @ x)",
    "step(A @ x)",
    "abs(A @ x)",
    "sign(A @ x)",
    "softplus(A @ x)",
    "abs(a.T @ x) * x",
    "step(a.T @ x) * x",
    "relu(a.T @ x) * x",
    "sign(a.T @ x) * x",
]


@pytest.mark.parametrize("text", PRINTED)
def test_printed_forms_read_back(text: str) -> None:
    expr = parse(text)
    values = random_values(expr, DIMS, np.random.default_rng(3))
    want = np.asarray(evaluate(expr, {**values, **DIMS}), dtype=float)
    for read in (
        parse_unicode(fmt(expr), SYMBOLS),
        parse_latex(tex(expr), SYMBOLS),
        parse_expression(to_syntax(expr), SYMBOLS),
    ):
        got = np.asarray(evaluate(read, {**values, **DIMS}), dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_names_in_every_notation() -> None:
    relu = parse("relu(A @ x)")
    assert fmt(relu) == "relu(A x)" and to_syntax(relu) == "relu(A @ x)"
    assert tex(relu) == r"\operatorname{relu}\left(A x\right)"
    assert fmt(parse("abs(a.T @ x)")) == "|aᵀ x|"
    assert fmt(parse("step(a.T @ x)")) == "step(aᵀ x)"
    for spelled in (r"\operatorname{sgn}(A x)", r"\mathrm{sign}(A x)", r"\text{sign}(A x)"):
        assert parse_latex(spelled, SYMBOLS) == parse("sign(A @ x)")
    for spelled in (r"\operatorname{ReLU}(A x)", r"\mathrm{relu}(Ax)", r"\text{ReLU}(A x)"):
        assert parse_latex(spelled, SYMBOLS) == relu


def test_step_is_one_half_at_zero_everywhere() -> None:
    """SymPy's Heaviside, NumPy's heaviside and the numba helper agree at 0."""
    v = sp.MatrixSymbol("v", 4, 1)
    expr = v.applyfunc(sp.Lambda(sp.Symbol("t"), sp.Heaviside(sp.Symbol("t"))))
    values = np.array([[-2.0], [0.0], [3.0], [np.nan]])
    want = np.array([[0.0], [0.5], [1.0], [np.nan]])
    np.testing.assert_array_equal(np.asarray(evaluate(expr, {v: values}), dtype=float), want)
    d = derive(sp.Trace(v.T * expr), v, "denominator")  # ∇ vᵀ step(v) = step(v)
    for backend in ("numpy", "numba"):
        got = lambdify(d, backend=backend)(v=values)
        np.testing.assert_array_equal(np.asarray(got)[:3], want[:3])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_generated_code_of_a_relu_network(backend: str) -> None:
    f = parse("sum(tanh(W @ relu(A @ x)))")
    for wrt in (A, W, x):
        d = gradient(f, wrt)
        values = random_values(f, DIMS, np.random.default_rng(7))
        want = np.asarray(evaluate(d, {**values, **DIMS}), dtype=float)
        got = lambdify(d, backend=backend)(**{s.name: v for s, v in values.items()})
        np.testing.assert_allclose(np.asarray(got, dtype=float).reshape(want.shape), want)
    assert "numpy.heaviside" in gradient(f, A).to_code()
    assert "numpy.maximum" in gradient(f, A).to_code()


@pytest.mark.parametrize("function", [sp.floor, sp.ceiling])
def test_a_function_without_a_derivative_is_still_refused(function) -> None:
    with pytest.raises(UnsupportedNode, match="has no derivative matderiv can use"):
        derive(x.applyfunc(function), x)
    with pytest.raises(UnsupportedNode, match="has no derivative matderiv can use"):
        derive(function(AsScalar(a.T * x)), x)


# -- a 1 x 1 matrix in a sum is added to every entry, as in NumPy -------------------


@pytest.mark.parametrize(
    "text, wrt",
    [
        ("x - sum(x) / n", "x"),
        ("sum(x) / n - x", "x"),
        ("X - a.T @ x", "X"),
        ("x.T - a.T @ x", "x"),
        ("sum((x - sum(x) / n) ** 2)", "x"),
    ],
)
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_1x1_term_is_broadcast(text: str, wrt: str, layout: str) -> None:
    expr = parse(text)
    values = random_values(expr, DIMS, np.random.default_rng(1))
    got = np.asarray(evaluate(expr, {**values, **DIMS}), dtype=float)
    numpy_env = {s.name: v for s, v in values.items()}
    left, _, right = text.partition(" - ")
    if text.startswith("sum((x"):
        xv = numpy_env["x"]
        want = np.sum((xv - xv.mean()) ** 2)
    else:
        names = {**numpy_env, "n": DIMS[n], "sum": np.sum}
        want = _numpy(left, names) - _numpy(right, names)
    np.testing.assert_allclose(got.reshape(np.shape(want)), want, rtol=1e-12)
    check_derivation(derive(expr, SYMBOLS[wrt], layout), DIMS, seed=2)


def _numpy(text: str, names: dict) -> np.ndarray:
    """The NumPy value of the few operand forms used above (no eval)."""
    forms = {
        "x": lambda: names["x"],
        "X": lambda: names["X"],
        "x.T": lambda: names["x"].T,
        "a.T @ x": lambda: names["a"].T @ names["x"],
        "sum(x) / n": lambda: np.sum(names["x"]) / names["n"],
    }
    return np.asarray(forms[text]())


def test_a_sum_of_a_column_and_a_row_is_still_refused() -> None:
    with pytest.raises(MatDerivError, match="shape"):
        parse("x + x.T")


# -- random trees through a kink -----------------------------------------------------

KINKED = {
    "relu": sp.Lambda(sp.Symbol("t"), sp.Max(0, sp.Symbol("t"))),
    "abs": sp.Lambda(sp.Symbol("t"), sp.Abs(sp.Symbol("t"))),
    "sign·id": sp.Lambda(sp.Symbol("t"), sp.sign(sp.Symbol("t")) * sp.Symbol("t")),
}


@st.composite
def kinked_cases(draw):
    """f(E) of a random tree E with f ∈ {relu, |·|, sign(t)·t}, as it is or summed,
    times a second random tree (∘) or not; by the tree's variable, in a layout."""
    var = draw(st.sampled_from(VARIABLES))
    shape = (draw(st.sampled_from(TREE_DIMS)), draw(st.sampled_from(TREE_DIMS)))
    inner = draw(expressions(shape, var, 4))
    f = KINKED[draw(st.sampled_from(sorted(KINKED)))]
    layout = draw(st.sampled_from(("numerator", "denominator")))
    if shape == (1, 1):  # a 1 x 1 matrix: f of its number, as the syntax builds it
        try:
            return inner, f(AsScalar(inner)), var, layout
        except (TypeError, ValueError, AttributeError, NotImplementedError, MatDerivError):
            # SymPy's Max and Abs simplify their argument and cannot rebuild every
            # tree: nested unflattened sums and products, which the syntax does not
            # build (tests/test_sympy_fixes.py has the ones it does build)
            event("f(tree) refused by SymPy")
            reject()
    kinked = inner.applyfunc(f)
    if draw(st.booleans()):
        kinked = sp.HadamardProduct(kinked, draw(expressions(shape, var, 3)))
    if draw(st.booleans()):
        kinked = sp.Trace(sp.MatMul(sp.OneMatrix(shape[1], shape[0]), kinked))
    return inner, kinked, var, layout


@budget(150)
@given(kinked_cases())
def test_random_trees_through_a_kink(case) -> None:
    """Derivatives through relu, |·| and sign(t)·t of random well-shaped trees match
    central differences at points away from the kinks (every entry of the tree's
    value at least 1e-3 from 0), and the generated code computes the same."""
    inner, expr, var, layout = case
    note(f"expr = {sp.srepr(expr)}")
    values = random_values(expr, TREE_SIZES, np.random.default_rng(0))
    env = {**values, **TREE_SIZES}
    inner_value = np.asarray(evaluate(inner, env), dtype=float)
    assume(np.all(np.abs(inner_value) > 1e-3) and np.all(np.abs(inner_value) < 1e3))
    d = derive(expr, var, layout)
    if var in expr.free_symbols:
        check_derivation(d, TREE_SIZES, trials=1, rtol=1e-5)
    fn = lambdify(d)
    params = inspect.signature(fn).parameters
    got = fn(**{str(k): v for k, v in env.items() if str(k) in params})
    np.testing.assert_allclose(
        np.asarray(got, dtype=float),
        np.asarray(evaluate(d.result, env), dtype=float),
        rtol=1e-9,
        atol=1e-9,
    )


def test_the_variance_gradient_is_the_centering_matrix() -> None:
    """𝟏ᵀ(I - 𝟏𝟏ᵀ/n) = 0 removes the mean's own term: ∇ Σ(x - x̄)² = 2 (I - 𝟏𝟏ᵀ/n) x."""
    d = gradient(parse("sum((x - sum(x) / n) ** 2)"), x)
    assert fmt(d.result) == "2 (I_n - 1/n 𝟏_{n×n}) x"
    check_derivation(d, DIMS, seed=9)


_t = sp.Symbol("t")
# entrywise functions built from Max and Min beyond relu: they crashed every printer
# (StrPrinter has no _print_Max) and the code SymPy prints for a nested Min
# (functools.reduce), which the generated code does not import
LATTICE = {
    "leaky relu": sp.Lambda(_t, sp.Max(_t, _t / 10)),
    "clip": sp.Lambda(_t, sp.Max(-1, sp.Min(_t, 1))),
    "max of two curves": sp.Lambda(_t, sp.Max(_t, _t**2)),
    "min of three": sp.Lambda(_t, sp.Min(_t, 1, 2 * _t)),
}


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("name", LATTICE)
def test_max_and_min_functions_differentiate_print_and_compile(name: str, layout: str) -> None:
    fn = LATTICE[name]
    expr = (A * x).applyfunc(fn)
    for wrt in (x, A):
        d = derive(expr, wrt, layout)
        check_derivation(d, DIMS, seed=3)
        d.to_latex(), d.to_index_notation(), str(d)
        values = random_values(d.result, DIMS, np.random.default_rng(5))
        generated = lambdify(d)(**{str(s): v for s, v in values.items()})
        np.testing.assert_allclose(generated, evaluate(d, values), rtol=1e-12)
    printed = fmt(expr)
    assert printed.count("max(") == str(fn).count("Max(") and "Max" not in printed, printed
    forward = random_values(expr, DIMS, np.random.default_rng(2))
    want = np.vectorize(sp.lambdify(_t, fn.expr, "math"))(forward[A] @ forward[x])
    np.testing.assert_allclose(evaluate(expr, forward), want, rtol=1e-12)
