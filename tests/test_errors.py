"""Bad input gets a clear matderiv error naming the node and the shapes; never a silent zero."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from matderiv import (
    LayoutError,
    MatDerivError,
    ShapeMismatch,
    UnsupportedNode,
    derive,
    diag,
    evaluate,
    gradient,
    vec,
)
from matderiv.errors import EvaluationError
from matderiv.testing import check_derivation

n_i, n_h, m, n = sp.symbols("n_i n_h m n", integer=True, positive=True)
X = sp.MatrixSymbol("X", n, n)
W = sp.MatrixSymbol("W", n_h * n_i, n_h)
e = sp.MatrixSymbol("e", n_i, 1)
V = sp.MatrixSymbol("V", m, n)


def test_non_conformable_product_names_the_factors_and_shapes() -> None:
    wrong = sp.MatMul(W, e)  # (n_h·n_i × n_h) times (n_i × 1): SymPy accepts it
    with pytest.raises(ShapeMismatch) as info:
        derive(wrong, W)
    message = str(info.value)
    assert "W" in message and "e" in message
    assert "(n_h·n_i × n_h)" in message and "(n_i × 1)" in message
    assert "inner dimensions" in message


def test_seed_wrong_formula_is_not_conformable() -> None:
    h = sp.MatrixSymbol("h", n_h, 1)
    wrong = sp.MatMul(sp.KroneckerProduct(e.T, sp.Identity(n_h)), diag(h))
    with pytest.raises(ShapeMismatch, match="inner dimensions"):
        derive(sp.Trace(wrong.T * wrong), h)


def test_sum_of_different_shapes() -> None:
    A = sp.MatrixSymbol("A", n, m)
    with pytest.raises(ShapeMismatch, match="same shape"):
        derive(sp.MatAdd(V, A, evaluate=False), V)


def test_non_square_inverse() -> None:
    with pytest.raises(ShapeMismatch, match=r"square.*\(m × n\)"):
        derive(sp.Inverse(V), V)


@pytest.mark.parametrize(
    "outer",
    [sp.Trace, sp.Determinant, lambda M: a_row * M * b_col],
    ids=["tr", "det", "a M b"],
)
def test_a_non_square_inverse_inside_is_blamed_not_its_parent(outer) -> None:
    """tr(V⁻¹) for V: m x n was "Trace needs a square matrix, but V⁻¹ has shape
    (m × n)": the inverse, which does not exist, is the error (a tester's sweep)."""
    with pytest.raises(ShapeMismatch) as info:
        derive(outer(sp.Inverse(V)), V)
    assert str(info.value).startswith("Inverse needs a square matrix, but V has shape (m × n)")


a_row, b_col = sp.MatrixSymbol("a", 1, m), sp.MatrixSymbol("b", n, 1)


@pytest.mark.parametrize("wrt", [X.T, X * X, vec(X * X), 3])  # a Symbol is a scalar variable
def test_wrt_must_be_a_symbol_or_its_vec(wrt) -> None:
    with pytest.raises(LayoutError, match="MatrixSymbol X, vec"):
        derive(sp.Trace(X), wrt)


def test_unknown_layout() -> None:
    with pytest.raises(LayoutError, match="numerator"):
        derive(sp.Trace(X), X, layout="mixed")


def test_node_without_rule_is_reported_not_treated_as_constant() -> None:
    f = sp.Function("f")
    expr = sp.Derivative(f(sp.Trace(X)), sp.Symbol("t"))
    with pytest.raises(UnsupportedNode, match=r"no rule for Derivative.*Supported:"):
        derive(expr, X)


def test_matrix_function_of_a_matrix_is_unsupported() -> None:
    with pytest.raises(UnsupportedNode, match="applyfunc"):
        derive(sp.exp(X), X)


def test_element_of_a_larger_matrix_is_unsupported() -> None:
    x = sp.MatrixSymbol("x", 3, 1)
    with pytest.raises(UnsupportedNode, match="1 x 1"):
        derive(MatrixElement(x, 1, 0), x)


def test_gradient_of_a_non_scalar() -> None:
    with pytest.raises(MatDerivError, match="jacobian"):
        gradient(X, X)


def test_not_a_sympy_expression() -> None:
    with pytest.raises(MatDerivError, match=r"cannot differentiate <object .*SymPy expression"):
        derive(object(), X)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_variable_absent_gives_zero_of_the_right_shape(layout) -> None:
    A = sp.MatrixSymbol("A", m, m)
    d = derive(sp.Trace(A), V, layout)
    assert isinstance(d.result, sp.ZeroMatrix)
    assert d.result.shape == ((m, n) if layout == "denominator" else (n, m))
    d = derive(A, V, layout)
    assert isinstance(d.result, sp.ZeroMatrix)
    assert d.result.shape == ((m * m, m * n) if layout == "numerator" else (m * n, m * m))
    for wrt in (vec(V), vec(V.T)):  # a zero gradient over vec(V) was left as vec(0)
        d = derive(sp.Trace(A), wrt, layout)
        assert isinstance(d.result, sp.ZeroMatrix)
        assert d.result.shape == ((m * n, 1) if layout == "denominator" else (1, m * n))


def test_log_det_is_not_silently_zero() -> None:
    # SymPy's own diff returns 0 here.
    assert str(sp.log(sp.Determinant(X)).diff(X)) == "0"
    d = gradient(sp.log(sp.Determinant(X)), X)
    assert d.result != 0
    check_derivation(d, {n: 3})


def test_logistic_loss_is_not_silently_zero() -> None:
    w = sp.MatrixSymbol("w", n, 1)
    x = sp.MatrixSymbol("x", n, 1)
    loss = sp.log(1 + sp.exp(-(w.T * x)))
    d = gradient(loss, w)
    check_derivation(d, {n: 4})
    values = {w: np.ones((4, 1)), x: np.arange(4.0).reshape(4, 1)}
    assert np.abs(evaluate(d.result, values)).max() > 1e-3


def test_evaluate_reports_missing_values_and_bad_shapes() -> None:
    with pytest.raises(EvaluationError, match="no values for X"):
        evaluate(sp.Trace(X), {})
    A = sp.MatrixSymbol("A", n, n)
    with pytest.raises(EvaluationError, match="shape"):
        evaluate(A * X, {A: np.eye(3), X: np.eye(4)})


_t = sp.Symbol("t")


@pytest.mark.parametrize("function", [sp.floor, sp.ceiling], ids=["floor", "ceiling"])
def test_an_entrywise_function_without_a_usable_derivative_is_refused(function) -> None:
    """derive returned an unevaluated Derivative, which evaluate could not compute.
    (|t|, sign and Heaviside are differentiated away from their kinks:
    tests/test_nonsmooth.py.)"""
    with pytest.raises(UnsupportedNode, match="has no derivative matderiv can use") as info:
        derive(V.applyfunc(function), V)
    assert "Hint" in str(info.value)


@pytest.mark.parametrize("wrap", [sp.floor, sp.ceiling], ids=["floor", "ceiling"])
def test_a_scalar_function_without_a_usable_derivative_is_refused(wrap) -> None:
    with pytest.raises(UnsupportedNode, match=rf"{wrap.__name__} has no derivative"):
        derive(wrap(sp.Trace(X * X)), X)


def test_a_function_by_cases_is_refused() -> None:
    """A ReLU by cases crashed inside SymPy; relu(t) is Max(t, 0)."""
    relu = V.applyfunc(sp.Lambda(_t, sp.Piecewise((_t, _t > 0), (0, True))))
    with pytest.raises(UnsupportedNode, match="defined by cases") as info:
        derive(relu, V)
    assert "relu(t) (Max(t, 0))" in str(info.value)
    # SymPy's own reason ("Invalid NaN comparison") is not the user's, nor is floor
    assert "NaN" not in str(info.value) and "floor" not in str(info.value)


def test_a_scalar_function_by_cases_is_refused() -> None:
    """A scalar Piecewise ended in SymPy's bare TypeError (ExprCondPair.__new__)."""
    for f in (
        sp.Piecewise((sp.Trace(X), sp.Trace(X) > 0), (0, True)),
        sp.Piecewise((sp.Trace(X * X), sp.Trace(X) > 1), (sp.Trace(X), True)),
    ):
        with pytest.raises(UnsupportedNode, match=r"defined by cases \(Piecewise\)"):
            derive(f, X)


@pytest.mark.parametrize(
    "build",
    [
        lambda x: x.applyfunc(sp.Lambda(_t, _t * sp.Trace(X))),  # X only inside
        lambda x: sp.Trace(X.applyfunc(sp.Lambda(_t, _t * sp.Trace(X)))),  # tr(X)², as X ∘ ...
        lambda x: X.applyfunc(sp.Lambda(_t, _t / sp.Trace(X))),
        lambda x: x.applyfunc(sp.Lambda(_t, _t * MatrixElement(X, 0, 0))),
    ],
    ids=["x ∘ tr(X)", "tr(X ∘ tr(X))", "X / tr(X)", "x · X[0, 0]"],
)
def test_a_matrix_inside_an_entrywise_function_is_refused(build) -> None:
    """The body of (t ↦ t·tr(X))∘(x) counted as a constant: the derivative by X was 0,
    that of tr(X ∘ tr(X)) = tr(X)² was tr(X) I (half), and verify called the right
    2 tr(X) I wrong."""
    x = sp.MatrixSymbol("x", n, 1)
    with pytest.raises(UnsupportedNode, match=r"uses X in its body") as info:
        derive(build(x), X)
    assert "take the matrix out of the function" in str(info.value)


def test_a_scalar_variable_inside_an_entrywise_function_is_told_to_move_in() -> None:
    """By a scalar s in the body of t ↦ exp(s·t), the hint said to take "the matrix" out
    (a tester's sweep): it says to move s into the argument, which then works."""
    x = sp.MatrixSymbol("x", n, 1)
    s = sp.Symbol("s")
    ones = sp.OneMatrix(1, n)
    with pytest.raises(UnsupportedNode, match=r"uses s in its body") as info:
        derive(ones * x.applyfunc(sp.Lambda(_t, sp.exp(s * _t))), s)
    assert "move s into the argument" in str(info.value)
    moved = derive(ones * (s * x).applyfunc(sp.exp), s)
    check_derivation(moved, {n: 4})


def test_an_entrywise_jump_is_refused_as_not_differentiable() -> None:
    with pytest.raises(UnsupportedNode, match=r"it jumps .* not differentiable"):
        derive(V.applyfunc(sp.Lambda(_t, sp.floor(_t))), V)


@pytest.mark.parametrize("wrap", [sp.Abs, sp.re, sp.conjugate], ids=["Abs", "re", "conj"])
def test_functions_of_real_scalars(wrap) -> None:
    """|u| (sign(u) du), and re(u) = conjugate(u) = u for the real matrices matderiv
    differentiates: these were refused as complex-only."""
    assert check_derivation(derive(wrap(sp.Trace(X * X) - 3), X), {n: 3}) < 1e-6


def test_max_as_a_relu_keeps_its_heaviside_derivative() -> None:
    relu = V.applyfunc(sp.Lambda(_t, sp.Max(_t, 0)))
    d = derive(relu, V, "denominator")
    values = {V: np.array([[-1.0, 2.0, 0.5], [3.0, -0.2, -4.0]])}
    got = np.diag(np.asarray(evaluate(d, {**values, m: 2, n: 3}), dtype=float))
    np.testing.assert_array_equal(got, (values[V].ravel(order="F") > 0).astype(float))


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_zeroth_matrix_power_is_the_identity(layout) -> None:
    """derive(MatPow(Q, 0), Q) crashed with an IndexError."""
    d = derive(sp.MatPow(X, 0), X, layout)
    assert d.shape == (n**2, n**2)
    got = np.asarray(evaluate(d, {X: np.arange(9.0).reshape(3, 3), n: 3}), dtype=float)
    assert got.shape == (9, 9) and not got.any()
    assert check_derivation(derive(sp.MatPow(X, 0) * X * X, X, layout), {n: 3}) < 1e-6


@pytest.mark.parametrize(
    ("names", "says"),
    [
        ({"X": X * X}, "already a symbol of the expression"),  # the variable's own name
        ({"": X * X}, "non-empty strings"),
        ({X: X * X}, "non-empty strings"),
        ({"h": 3}, "must be a SymPy expression"),
        ({"my h": X * X}, r"one word, without spaces.*e\.g\. 'my_h'"),  # was accepted
        ({"h(t)": X * X}, r"one word.*e\.g\. 'h_t'"),
    ],
)
def test_display_names_must_not_repeat_a_symbol_or_be_empty(names, says) -> None:
    """names={"x": tanh(A x)} printed x := tanh(v₁) and a result in a second x."""
    with pytest.raises(MatDerivError, match=says):
        derive(sp.Trace(X * X), X, names=names)


def test_an_element_sympy_expanded_into_a_sum_it_cannot_read_is_refused() -> None:
    """(bᵀx)[0, 0] is a Sum over entries in SymPy; matderiv reads it back as bᵀx
    (test_entry_sums.py).  A sum it cannot read, the entry of a Kronecker product, is
    refused with sp.Trace (or the 1 x 1 matrix) as the hint, which works."""
    x, b = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    product = sp.KroneckerProduct(x, x).T * sp.KroneckerProduct(b, b)
    with pytest.raises(UnsupportedNode, match=r"sum over entries .*Hint: write sp.Trace"):
        derive(sp.log(product[0, 0]), x)
    assert check_derivation(gradient(sp.log(sp.Trace(product)), x), {n: 3}, positive={b}) < 1e-6
    assert check_derivation(gradient(sp.log((x.T * x)[0, 0]), x), {n: 3}) < 1e-6


def test_a_sum_over_an_index_is_not_called_an_entry() -> None:
    """Sum(i tr(X), (i, 1, 3)) was "the sum over entries ...: SymPy writes an element
    of a matrix expression ... as a Sum", which it is not."""
    X, i = sp.MatrixSymbol("X", n, n), sp.Symbol("i")
    with pytest.raises(UnsupportedNode, match=r"a SymPy Sum over an index.*write out its terms"):
        derive(sp.Sum(i * sp.Trace(X), (i, 1, 3)), X)


def test_names_must_be_a_mapping() -> None:
    """names= given as a list of pairs ended in a bare AttributeError ('list' object
    has no attribute 'items')."""
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    with pytest.raises(MatDerivError, match=r"names= maps display names .* got a list"):
        gradient(x.T * A * x, x, names=[("a", A * x)])


def test_lambdify_of_nothing_is_refused() -> None:
    """lambdify([]) generated `return (,)`, a SyntaxError."""
    from matderiv import lambdify

    for empty in ([], ()):
        with pytest.raises(MatDerivError, match="lambdify got an empty list"):
            lambdify(empty)


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (
            lambda Z, ones: sp.Trace(sp.Inverse(Z)) + sp.Trace(X),
            "a zero matrix (n × n) is singular",
        ),
        (lambda Z, ones: sp.Trace(sp.MatPow(Z, -2)) + sp.Trace(X), "zero matrix"),
        (lambda Z, ones: sp.log(sp.Determinant(Z)) + sp.Trace(X), "log(det(𝟎_{n×n}))"),
        (lambda Z, ones: sp.Trace(sp.Inverse(ones)) + sp.Trace(X), "a matrix of ones (n × n)"),
        (lambda Z, ones: sp.zoo * sp.Trace(X), "holds ∞ (zoo)"),
        (lambda Z, ones: sp.sqrt(-1) * sp.Trace(X), "holds the imaginary unit"),
        (lambda Z, ones: sp.nan * sp.Trace(X), "holds nan"),
    ],
    ids=["inv(0)", "0⁻²", "log det 0", "inv(ones)", "zoo", "i", "nan"],
)
def test_what_has_no_real_value_is_refused(build, says) -> None:
    """inv(X - X), log det of a zero matrix and zoo·tr(X) were differentiated (to 𝟎⁻¹,
    I, zoo·I) without a word; the parser refused log of a zero matrix only."""
    expr = build(sp.ZeroMatrix(n, n), sp.OneMatrix(n, n))
    with pytest.raises(MatDerivError, match=re.escape(says)):
        gradient(expr, X)


def test_the_inverse_of_a_one_by_one_ones_matrix_is_fine() -> None:
    d = gradient(sp.Trace(sp.Inverse(sp.OneMatrix(1, 1))) * sp.Trace(X), X)
    assert d.result == sp.Identity(n)


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (
            lambda x: gradient(sp.Trace(X * X), sp.MatrixSymbol("X", n, m)),
            "named X: a matrix (n × m) and a matrix (n × n)",
        ),
        (
            lambda x: gradient(sp.MatrixSymbol("x", m, 1).T * V * x, x),
            "named x: a matrix (n × 1) and a matrix (m × 1)",
        ),
        (lambda x: gradient(sp.Symbol("x") * (x.T * x), x), "named x"),
        (
            lambda x: gradient(
                x.T * sp.MatrixSymbol("h", n, 1),
                x,
                where={sp.MatrixSymbol("h", n, 1): x, sp.MatrixSymbol("h", m, 1): V * x},
            ),
            "named h",
        ),
    ],
    ids=["wrt", "two x", "scalar x", "where"],
)
def test_two_symbols_of_one_name_are_refused(build, says) -> None:
    """They were silently different: the gradient by a redeclared X was 0, and a
    lambdified result asked for a mysterious x_2."""
    x = sp.MatrixSymbol("x", n, 1)
    with pytest.raises(MatDerivError, match=re.escape(says)):
        build(x)


def test_a_lambda_variable_may_share_a_name() -> None:
    x = sp.MatrixSymbol("x", n, 1)
    t = sp.Symbol("x")
    d = gradient(x.T * x.applyfunc(sp.Lambda(t, sp.tanh(t))), x)
    check_derivation(d, {n: 3})


def test_a_dimension_as_the_variable_is_named_a_size() -> None:
    x = sp.MatrixSymbol("x", n, 1)
    with pytest.raises(LayoutError, match="n looks like a size"):
        derive(x.T * x, n)


def test_a_symbolic_matrix_power_and_an_undefined_function_are_named_as_such() -> None:
    """X**k with k an integer symbol was "non-integer exponent k ... use HadamardPower";
    g(tr X) for an undefined g was "not differentiable (floor, ceiling)"."""
    X = sp.MatrixSymbol("X", n, n)
    with pytest.raises(UnsupportedNode, match=r"symbolic exponent k.*give the exponent a value"):
        derive(sp.MatPow(X, sp.Symbol("k", integer=True)), X)
    with pytest.raises(UnsupportedNode, match=r"non-integer exponent 1/2.*HadamardPower"):
        derive(sp.MatPow(X, sp.Rational(1, 2)), X)
    with pytest.raises(UnsupportedNode, match=r"g\(tr\(X\)\).*an undefined function"):
        derive(sp.Function("g")(sp.Trace(X)), X)
    with pytest.raises(UnsupportedNode, match=r"floor.*it jumps"):
        derive(sp.floor(sp.Trace(X)), X)


def test_messages_name_nodes_in_words_not_sympy_classes() -> None:
    """'cannot differentiate with respect to A*x (MatMul)', 'A*x has shape (n, 1)'."""
    from matderiv import hessian

    A, x = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1)
    with pytest.raises(MatDerivError, match=r"respect to A x \(a product\)"):
        derive(x.T * A * x, A * x)
    with pytest.raises(MatDerivError, match=r"but A x is \(n × 1\)"):
        hessian(A * x, x)


def test_an_entry_sympy_wrote_out_with_numeric_sizes_gets_the_trace_hint() -> None:
    """With numeric sizes SymPy writes (eᵀe)[0, 0] out as a sum of W[i, j] entries; the
    hint only said to write e_iᵀ A e_j, for an entry the user never wrote."""
    W, x = sp.MatrixSymbol("W", 3, 3), sp.MatrixSymbol("x", 3, 1)
    e = W * x
    with pytest.raises(UnsupportedNode, match=r"element W\[.*write sp\.Trace\(x\.T\*A\*x\)"):
        gradient((e.T * e)[0, 0], W)
    assert check_derivation(gradient(sp.Trace(e.T * e), W), {}) < 1e-6


def test_softmax_of_a_matrix_asks_for_an_axis_and_points_to_softmax_rows() -> None:
    """softmax(Z) of a matrix is refused (one per row? per column? over all entries?);
    the message names axis=1 and softmax_rows, and the batch loss written so is right:
    its gradient is each row's softmax minus the labels."""
    from matderiv import softmax
    from matderiv.parse.expr import parse_expression

    N, k = sp.symbols("N k", integer=True, positive=True)
    Z, Y = sp.MatrixSymbol("Z", N, k), sp.MatrixSymbol("Y", N, k)
    with pytest.raises(ShapeMismatch) as info:
        softmax(Z)
    message = " ".join(str(info.value).split())
    assert "softmax(..., axis=1) in Python" in message and "softmax_rows(Z)" in message
    assert "softmax(vec(Z))" in message
    Q, K = sp.MatrixSymbol("Q", N, k), sp.MatrixSymbol("K", N, k)
    with pytest.raises(ShapeMismatch) as info:  # in the syntax: @, not SymPy's *
        softmax(Q * K.T)
    assert "softmax_rows(Q @ K.T)" in str(info.value) and "Q*K" not in str(info.value)
    d = gradient(parse_expression("sum(logsumexp_rows(Z)) - trace(Y.T @ Z)", {"Z": Z, "Y": Y}), Z)
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((4, 3)), np.eye(3)[[0, 2, 1, 2]]
    rows = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(evaluate(d, {Z: z, Y: y}), rows - y, rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 2, -3, 1.0, True, "rows"])
def test_an_axis_other_than_0_or_1_is_refused(axis) -> None:
    from matderiv import logsumexp, softmax

    Q = sp.MatrixSymbol("Q", 3, 4)
    for fn in (softmax, logsumexp):
        with pytest.raises(ShapeMismatch, match="axis"):
            fn(Q, axis=axis)


def test_an_axis_counts_from_the_end_and_may_be_a_numpy_integer() -> None:
    from matderiv import logsumexp, softmax

    Q = sp.MatrixSymbol("Q", 3, 4)
    for fn in (softmax, logsumexp):
        assert fn(Q, axis=-1) == fn(Q, axis=np.int64(1)) == fn(Q, axis=1)
        assert fn(Q, axis=-2) == fn(Q, axis=sp.Integer(0)) == fn(Q, axis=0)


def test_the_axis_hint_fits_the_function() -> None:
    from matderiv import logsumexp

    with pytest.raises(ShapeMismatch) as info:
        logsumexp(sp.MatrixSymbol("Z", 3, 4))
    message = " ".join(str(info.value).split())
    assert "cross-entropy" in message and "attention" not in message
    assert r"\operatorname{logsumexp}_{\mathrm{rows}}" in message


def test_two_sizes_of_one_name_are_said_to_be_two_symbols() -> None:
    """A (n × n) times x (n × 1) "do not agree" with n from sp.Symbol('n') and
    sp.Symbol('n', integer=True, positive=True): the message read as nonsense."""
    k1, k2 = sp.Symbol("k", integer=True, positive=True), sp.Symbol("k")
    A, x = sp.MatrixSymbol("A", k1, k1), sp.MatrixSymbol("x", k2, 1)
    with pytest.raises(ShapeMismatch, match="two different symbols named k"):
        derive(sp.MatMul(A, x), x)
