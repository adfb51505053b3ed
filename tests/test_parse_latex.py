"""The LaTeX front end: formulas as people paste them, into SymPy; errors with a caret."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import event, given, note, reject
from hypothesis import strategies as st
from random_trees import DIMS as POOL
from random_trees import SIZES as TREE_SIZES
from random_trees import VARIABLES, budget, expressions
from random_trees import m as pm
from random_trees import n as pn
from random_trees import p as pp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from matderiv import (
    ParseError,
    ShapeMismatch,
    commutation,
    derive,
    diag,
    evaluate,
    gradient,
    vec,
    verify,
)
from matderiv.nodes import AsScalar, Reshape
from matderiv.parse.candidate import symbol_table
from matderiv.parse.latex import parse_latex
from matderiv.render.latex import tex
from matderiv.testing import random_values

n_i, n_h, n, m = sp.symbols("n_i n_h n m", integer=True, positive=True)
e1 = sp.MatrixSymbol("e_1", n_i, 1)
h1 = sp.MatrixSymbol("h_1", n_h, 1)
W = sp.MatrixSymbol("W_hx", n_i, n_h)
delta = sp.MatrixSymbol("delta", n_h, 1)
a = sp.MatrixSymbol("a", n, 1)
b = sp.MatrixSymbol("b", n, 1)
v = sp.MatrixSymbol("v", n, 1)
X = sp.MatrixSymbol("X", n, n)
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", n, n)
M = sp.MatrixSymbol("M", m, n)
C3 = sp.MatrixSymbol("C", 3, 3)
D4 = sp.MatrixSymbol("D", 4, 4)

SYMBOLS = {
    "e_1": e1,
    "h_1": h1,
    "W_hx": W,
    "delta": delta,
    "a": a,
    "b": b,
    "v": v,
    "X": X,
    "A": A,
    "B": B,
    "M": M,
    "C": C3,
    "D": D4,
    "lambda": sp.Symbol("lambda"),
}


def parse(text: str) -> sp.Basic:
    return parse_latex(text, SYMBOLS)


# -- the examples -----------------------------------------------------------


def test_seed_right_formula() -> None:
    got = parse(r"(e_1 \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)")
    expected = sp.MatMul(
        sp.KroneckerProduct(e1, sp.Identity(n_h)),
        diag(sp.OneMatrix(n_h, 1) - sp.HadamardPower(h1, 2)),
    )
    assert got == expected
    assert got.shape == (n_i * n_h, n_h)


def test_seed_wrong_formula_still_parses() -> None:
    """Ill-formed only in its shapes: verify reports that, the parser does not."""
    got = parse(r"(e_1^T \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)")
    kron, d = got.args
    assert kron == sp.KroneckerProduct(e1.T, sp.Identity(n_h))
    assert kron.shape == (n_h, n_i * n_h) and d.shape == (n_h, n_h)


STRUCTURAL = [
    (r"\mathbf{a}\mathbf{b}^T", a * b.T),
    (r"X^{-T}", X.T.I),
    (r"X^{-\top}", X.T.I),
    (r"\text{diag}(\delta)", diag(delta)),
    (r"\mathrm{vec}(X)", vec(X)),
    (r"\operatorname{vec}(X)", vec(X)),
    (r"vec(X)", vec(X)),
    (r"A \odot B", sp.HadamardProduct(A, B)),
    (r"A \circ B", sp.HadamardProduct(A, B)),
    (r"A \otimes B", sp.KroneckerProduct(A, B)),
    (r"\operatorname{tr}(A X)", sp.Trace(A * X)),
    (r"\mathrm{tr}\left[A X\right]", sp.Trace(A * X)),
    (r"\operatorname{Tr}(A X)", sp.Trace(A * X)),
    (r"tr(A X)", sp.Trace(A * X)),
    (r"A^\top", A.T),
    (r"A^{\top}", A.T),
    (r"A^T", A.T),
    (r"A^{T}", A.T),
    (r"A'", A.T),
    (r"A^\intercal", A.T),
    (r"-2 X^{-T} a a^T X^{-T}", -2 * X.T.I * a * a.T * X.T.I),
    (r"\frac{1}{2} A", sp.Rational(1, 2) * A),
    (r"\frac12 A", sp.Rational(1, 2) * A),
    (r"A / 2", sp.Rational(1, 2) * A),
    (r"0.5 A", sp.Rational(1, 2) * A),
    (r"A B", A * B),
    (r"A \cdot B", A * B),
    (r"A \times B", A * B),
    (r"A^{-1}", A.I),
    (r"A^2", sp.MatPow(A, 2)),
    (r"h_1^2", sp.HadamardPower(h1, 2)),
    (r"A^{\circ 2}", sp.HadamardPower(A, 2)),
    (r"(a^T b)^2", sp.Pow(AsScalar(a.T * b), 2)),
    (r"\log\det X", sp.log(sp.Determinant(X))),
    (r"\log |X|", sp.log(sp.Determinant(X))),
    (r"\det(X) X^{-T}", sp.Determinant(X) * X.T.I),
    (r"K_{n,n} \mathrm{vec}(X)", commutation(n, n) * vec(X)),
    (r"\mathbf{1}_n", sp.OneMatrix(n, 1)),
    (r"\mathbf{1}^T a", sp.OneMatrix(1, n) * a),
    (r"1 - v", sp.OneMatrix(n, 1) - v),
    (r"\mathbf{1} - v", sp.OneMatrix(n, 1) - v),
    (r"A + B - A^T", A + B - A.T),
    (r"-A", -A),
    (r"\lambda I + A", sp.Symbol("lambda") * sp.Identity(n) + A),
]


@pytest.mark.parametrize(("text", "expected"), STRUCTURAL, ids=[t for t, _ in STRUCTURAL])
def test_structure(text: str, expected: sp.Basic) -> None:
    assert parse(text) == expected


# -- names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        r"W_{hx}",
        r"W_hx",
        r"\mathbf{W}_{hx}",
        r"\mathbf{W_{hx}}",
        r"\boldsymbol{W}_{hx}",
        r"\bm{W}_{hx}",
        r"\mathbf W_{hx}",
    ],
)
def test_styled_names_match_by_name(text: str) -> None:
    assert parse(text) == W


def test_greek_letters_and_superscript_before_subscript() -> None:
    assert parse(r"\boldsymbol{\delta}") == delta
    assert parse(r"e_1 \delta^T") == e1 * delta.T
    assert parse(r"W^T_{hx} e_1") == W.T * e1
    assert parse(r"h_{1}") == h1


def test_juxtaposed_letters_read_as_a_product() -> None:
    assert parse("ab^T") == a * b.T
    assert parse(r"W_hx h_1") == W * h1  # W_hx is the symbol's name here


def test_layer_superscripts_are_part_of_a_name() -> None:
    W1 = sp.MatrixSymbol("W1", n, n)
    h_prev = sp.MatrixSymbol("h_prev", n, 1)
    got = parse_latex(r"W^{(1)} h_{t-1}", {"W^{(1)}": W1, "h_{t-1}": h_prev})
    assert got == W1 * h_prev


def test_named_intermediate_is_substituted_as_its_expression() -> None:
    tanh = ElementwiseApplyFunction(sp.tanh, W.T * e1)
    got = parse_latex(r"\operatorname{diag}(1 - h_1^2)", {"h_1": tanh, "e_1": e1, "W_hx": W})
    assert got == diag(sp.OneMatrix(n_h, 1) - sp.HadamardPower(tanh, 2))


def test_identity_sizes() -> None:
    assert parse(r"I_{n_h}") == sp.Identity(n_h)
    assert parse(r"I_3") == sp.Identity(3)
    assert parse(r"I_{n_i n_h}") == sp.Identity(n_i * n_h)
    assert parse(r"\left( A + I \right) X") == (A + sp.Identity(n)) * X
    assert parse(r"I \odot A") == sp.HadamardProduct(sp.Identity(n), A)


def test_explicit_dims() -> None:
    d = sp.Symbol("d", integer=True, positive=True)
    assert parse_latex(r"I_{d}", {"A": A}, dims={"d": d}) == sp.Identity(d)
    # an identity of another size than A's (n): refused, not kept (nor dropped)
    with pytest.raises(ShapeMismatch, match=r"I_d \(d x d\), of different shapes"):
        parse_latex(r"I_{d} + A", {"A": A}, dims={"d": d})


# -- numeric checks (structure that SymPy may reorder) --------------------------------

SIZES = {n: 3, n_i: 2, n_h: 4, m: 5}
rng = np.random.default_rng(7)
VALUES = {
    s: rng.normal(size=tuple(int(sp.sympify(d).subs(SIZES)) for d in s.shape))
    for s in (e1, h1, W, delta, a, b, v, X, A, B)
}
VALUES[X] = VALUES[X] @ VALUES[X].T + 3 * np.eye(3)  # SPD: invertible, positive det


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


NUMERIC = [
    (r"\sigma(W_{hx}^T e_1)", lambda V: _sigmoid(V[W].T @ V[e1])),
    (r"1 - \tanh(a)^2", lambda V: 1 - np.tanh(V[a]) ** 2),
    (r"\exp(a^T b)", lambda V: np.exp(V[a].T @ V[b]).item()),
    (r"(a^T b) A", lambda V: (V[a].T @ V[b]).item() * V[A]),
    (r"a^T b + 1", lambda V: (V[a].T @ V[b]).item() + 1),
    (r"\log(\exp(a) + 1)", lambda V: np.log(np.exp(V[a]) + 1)),
    (r"\sqrt{a^T a}", lambda V: np.sqrt((V[a].T @ V[a]).item())),
    (
        r"\frac{\partial L}{\partial W} = e_1 (\delta \odot (1 - h_1 \circ h_1))^T",
        lambda V: V[e1] @ (V[delta] * (1 - V[h1] ** 2)).T,
    ),
    (r"A \oslash B", lambda V: V[A] / V[B]),
    # a bare 1 with scalars only is 1 x 1, as tex() prints tanh' of a 1 x 1 matrix
    (
        r"\mathbf{1} - \tanh{\left(a^{T} b\right)}^{2}",
        lambda V: 1 - np.tanh(V[a].T @ V[b]).item() ** 2,
    ),
    (
        r"\left(\mathbf{1} - \tanh\left(a^{T} b\right) \circ \tanh\left(a^{T} b\right)\right) a",
        lambda V: (1 - np.tanh(V[a].T @ V[b]).item() ** 2) * V[a],
    ),
    # exponents nesting braces three and four levels deep, as tex() prints them
    (r"e^{e^{a^{T} b}}", lambda V: np.exp(np.exp(V[a].T @ V[b])).item()),
    (r"a \circ e^{\tanh{\left(b \right)}}", lambda V: V[a] * np.exp(np.tanh(V[b]))),
    (
        r"e^{e^{e^{\sigma\left(a^{T} b\right)}}}",
        lambda V: np.exp(np.exp(np.exp(_sigmoid(V[a].T @ V[b])))),
    ),
    (
        r"\operatorname{tr}\left(X^{-1} A\right) - \log\det X",
        lambda V: np.trace(np.linalg.solve(V[X], V[A])) - np.log(np.linalg.det(V[X])),
    ),
]


@pytest.mark.parametrize(("text", "reference"), NUMERIC, ids=[t for t, _ in NUMERIC])
def test_numeric(text: str, reference) -> None:
    got = evaluate(parse(text), VALUES)
    want = reference(VALUES)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_delimiters_and_trailing_punctuation_are_ignored() -> None:
    assert parse(r"$$X^{-\top}.$$") == X.T.I
    assert parse(r"\[ A \odot B \]") == sp.HadamardProduct(A, B)
    assert parse("[A + B]\n  X") == (A + B) * X
    assert parse(r"\{A + B\} X") == (A + B) * X


# -- errors ---------------------------------------------------------------------------


def test_unknown_symbol_suggests_close_names_with_a_caret() -> None:
    with pytest.raises(ParseError) as info:
        parse(r"e_1 W_{xh}")
    message = str(info.value)
    assert "unknown symbol 'W_xh'" in message and "did you mean 'W_hx'" in message
    assert message.endswith("    e_1 W_{xh}\n        ^")


def test_unbalanced_braces_show_where() -> None:
    with pytest.raises(ParseError, match="never closed") as info:
        parse(r"\operatorname{diag}(1 - h_1^2")
    assert str(info.value).endswith("\n                       ^")
    with pytest.raises(ParseError, match=r"expected '\)' to close"):
        parse(r"(A + B]")
    with pytest.raises(ParseError, match="no matching"):
        parse(r"A + B}")


def test_syntax_error_says_what_was_expected() -> None:
    with pytest.raises(ParseError, match="unexpected end of the formula; expected") as info:
        parse("A +")
    assert "a symbol" in str(info.value) and str(info.value).endswith("A +\n       ^")


def test_too_deep_and_too_long() -> None:
    with pytest.raises(ParseError, match="deeper than 200"):
        parse("(" * 201 + "A" + ")" * 201)
    assert parse("(" * 200 + "A" + ")" * 200) == A
    with pytest.raises(ParseError, match="deeper than 200"):
        parse(r"\log" * 300 + " a")
    with pytest.raises(ParseError, match="limit is 10000"):
        parse("A" * 10_001)


def test_long_input_parses() -> None:
    text = " + ".join(["A B"] * 1600)  # ~9,600 characters
    assert evaluate(parse(text), VALUES) == pytest.approx(1600 * VALUES[A] @ VALUES[B])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"\foo A", r"unknown command \\foo"),
        (r"\partial A", "derivative notation"),
        (r"\operatorname{foo}(A)", "unknown function 'foo'"),
        (r"\|a", "'‖' is never closed"),
        (r"A^{x}", "unsupported superscript"),
        (r"A^{+}", r"pseudo-inverse X\^\{\+\} is not supported: .*\(X\^T X\)\^\{-1\} X\^T"),
        (r"2(\mathbf{A}^+)^T", "pseudo-inverse"),  # was "unexpected character '^'"
        (r"A^\dagger B", "pseudo-inverse"),
        (r"\sigma z", "sigmoid only before"),
        (r"A \otimes I", r"write I_\{n\}"),
        (r"I", r"the size of I is unknown"),
        (r"I_{n_x}", "unknown dimension 'n_x'"),
        (r"1/A", "division by a matrix"),
        (r"h_1^{2}_{3}", "a second subscript"),
        (r"\frac{\partial L}{\partial W} = ", "nothing to parse"),
        (r"2^{100000}", "exponent larger than"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse(text)
    assert "^" in str(info.value).splitlines()[-1]


def test_concrete_shape_mismatch_names_both_operands() -> None:
    with pytest.raises(ShapeMismatch, match=r"C · D .*\(3 x 3\) times \(4 x 4\)"):
        parse("C D")
    with pytest.raises(ShapeMismatch, match="needs a square matrix"):
        parse(r"M^{-1}")


def test_a_power_of_a_matrix_that_is_not_square_is_entrywise() -> None:
    """M^2 of a non-square M has no matrix power: it is entrywise, as of a vector (it
    was refused: 1 - \tanh(X W)^2 of a batch, as papers write it); ^{-1} is not."""
    assert parse("M^2") == sp.HadamardPower(M, 2)
    assert parse(r"1 - \tanh(M)^{2}").has(sp.HadamardPower)
    assert parse("X^2") == sp.MatPow(X, 2)  # square: the matrix power
    with pytest.raises(ShapeMismatch, match=r"needs a square matrix"):
        parse(r"M^{-2}")  # a negative power: no inverse, as ^{-1} (was 1/M², entrywise)
    with pytest.raises(ParseError, match=r"write the entrywise power \(X B\)\^\{\\circ 1/2\}"):
        parse(r"(X B)^{1/2}")  # the hint keeps the parentheses (it wrote X B^{∘ 1/2})


@pytest.mark.parametrize(
    "text",
    ["__import__('os')", "A.__class__", 'exec("1")', "eval(A)", "lambda x: x", "A; B", "`A`"],
)
def test_code_is_never_run(text: str, no_eval: None) -> None:
    with pytest.raises(ParseError):
        parse(text)
    assert parse(r"\operatorname{diag}(1 - h_1^2)") == diag(
        sp.OneMatrix(n_h, 1) - sp.HadamardPower(h1, 2)
    )


def test_multiline_error_names_the_line() -> None:
    with pytest.raises(ParseError, match="line 2, column 3") as info:
        parse("A +\nB \\foo")
    assert str(info.value).endswith("    B \\foo\n      ^")


# -- random expressions, printed by tex(), read back ------------------------------------

#: what tex() prints that the LaTeX reader does not read: nothing now.  (A function
#: with no name, (t ↦ ...)∘(X), a bare 𝟏 inside a function, tanh(𝟏) sized from
#: outside, and vec or diag of a 1 x 1 matrix printed as a number were not read.)
UNREAD: tuple[str, ...] = ()


@budget(300)
@given(st.data())
def test_random_expressions_print_and_read_back(data) -> None:
    """tex() of the property-test strategy's expressions parses back to the same
    values, except for the forms in UNREAD.  (A longer randomised run found
    exponents nesting braces more than two levels deep, e^{e^{aᵀ x}}, refused:
    NUMERIC has them.)"""
    var = data.draw(st.sampled_from(VARIABLES))
    shape = (data.draw(st.sampled_from(POOL)), data.draw(st.sampled_from(POOL)))
    expr = data.draw(expressions(shape, var, 4))
    text = tex(expr)
    note(text)
    values = random_values(expr, TREE_SIZES, np.random.default_rng(0))
    env = {**values, **TREE_SIZES}
    _reads_back(text, expr, expr, env)


def test_sizes_with_powers_read_as_tex_prints_them() -> None:
    """tex() prints the size n² as n^{2} (I_{n^{2}}, 0_{m n^{2} × n}); it was an unknown
    dimension."""
    assert parse(r"I_{n^{2}}") == sp.Identity(n**2)
    assert parse(r"I_{n^2}").shape == (n**2, n**2)
    assert parse(r"\mathbf{0}_{m n^{2} \times n}").shape == (m * n**2, n)
    assert parse(r"\mathbf{1}_{m^{2} \times n}").shape == (m**2, n)
    assert tex(sp.Identity(n**2)) == r"I_{n^{2}}"  # what the reader must read


def test_unvec_reads_as_tex_prints_it() -> None:
    """vec⁻¹_{m×n}(v) prints as \\operatorname{vec}^{-1}_{m \\times n}(v); it did not
    read back, so a gradient through a Kronecker product (tr(A (X ⊗ B))) printed in
    LaTeX could not be pasted into verify."""
    col, C = sp.MatrixSymbol("c", n * m, 1), sp.MatrixSymbol("C", m, n)
    table = {**SYMBOLS, "c": col, "C": C}
    folded = Reshape(col, n, m)
    for expr in (folded, 2 * folded.T, C * folded):
        text = tex(expr)
        assert r"\operatorname{vec}^{-1}_{n \times m}" in text
        assert parse_latex(text, table) == expr
    assert parse_latex(r"\mathrm{vec}^{-1}_{n,m}(c)", table) == folded
    got = evaluate(
        parse_latex(r"\operatorname{vec}^{-1}_{n \times m}(c)", table),
        {col: np.arange(12.0).reshape(12, 1), n: 3, m: 4},
    )
    np.testing.assert_array_equal(got, np.arange(12.0).reshape(4, 3).T)  # column-major
    with pytest.raises(ShapeMismatch, match="sizes differ"):
        parse_latex(r"\operatorname{vec}^{-1}_{n \times n}(c)", table)
    Y, K, E = (sp.MatrixSymbol(s, m, m) for s in "YKE")
    d = gradient(sp.Trace(sp.MatrixSymbol("F", m * m, m * m) * sp.KroneckerProduct(Y, K)), Y)
    assert d.result.has(Reshape), d.result  # no plain matrix formula: vec⁻¹ is printed
    assert verify(tex(d.result), d.of, Y, "denominator")
    assert not verify(tex(d.result) + " + E", d.of, Y, "denominator", names={"E": E})


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # f(𝟏) = f(1) 𝟏 entrywise, sized by its neighbour, as tex() prints x∘tanh(𝟏_n)
        (r"a \circ \tanh{\left(\mathbf{1} \right)}", lambda V: np.tanh(1.0) * V[a]),
        (r"a + e^{\mathbf{1}}", lambda V: V[a] + np.e),
        (r"a^{T} \circ \sigma\left(- \mathbf{1}\right)", lambda V: V[a].T / (1 + np.e)),
        (r"a \circ \left(\mathbf{1} \circ \mathbf{1}\right)", lambda V: V[a]),
        # 𝟏 ∘ a 1 x 1 matrix printed as a scalar: 1 x 1, as in a sum
        (r"\mathbf{1} \circ \sin\left(a^{T} b\right)", lambda V: np.sin(V[a].T @ V[b])),
        # vec and diag of a 1 x 1 matrix printed as a number
        (r"\operatorname{vec}\left(a^{T} b\right) a^{T}", lambda V: (V[a].T @ V[b]) * V[a].T),
        (r"\operatorname{diag}\left(3\right)", lambda V: np.array([[3.0]])),
    ],
)
def test_bare_ones_in_functions_and_vec_of_numbers_read_back(text, want) -> None:
    got = evaluate(parse(text), VALUES)
    np.testing.assert_allclose(np.atleast_2d(np.asarray(got, dtype=float)), want(VALUES))


def test_fractional_entrywise_powers_read_back_as_printed() -> None:
    """∇ 𝟏ᵀ√x prints \\frac{1}{2} x^{\\circ - \\frac{1}{2}}, which was "unsupported
    superscript" (only x^{\\circ -1/2} read)."""
    x0 = np.abs(VALUES[a]) + 0.5
    for k in (sp.Rational(-1, 2), sp.Rational(3, 2), sp.Rational(-12, 5)):
        text = tex(sp.HadamardPower(a, k) / 2)
        assert "frac" in text, text
        got = evaluate(parse(text), {**VALUES, a: x0})
        np.testing.assert_allclose(got, x0 ** float(k) / 2, rtol=1e-12)


def test_a_function_with_no_name_reads_as_tex_prints_it() -> None:
    """(t ↦ body)∘(X) prints as \\left(t \\mapsto body\\right)_{\\circ}\\left(X\\right)."""
    t = sp.Dummy("t")
    for f in (sp.Lambda(t, t / (t**2 + 1)), sp.Lambda(t, t * sp.exp(t)), sp.Lambda(t, t**3)):
        expr = a.T * ElementwiseApplyFunction(f, X) * b + ElementwiseApplyFunction(f, a).T * b
        text = tex(expr)
        assert r"\mapsto" in text
        np.testing.assert_allclose(
            evaluate(parse(text), VALUES), evaluate(expr, VALUES), rtol=1e-12
        )
    got = parse(r"a \circ (s \mapsto s^{2})_{\circ}(\mathbf{1})")  # 𝟏 sized by a
    np.testing.assert_allclose(evaluate(got, VALUES), VALUES[a])
    with pytest.raises(ParseError, match="must give a scalar"):
        parse(r"(t \mapsto X)_{\circ}(X)")
    with pytest.raises(ParseError, match=r"^t is bound by \(t \\mapsto \.\.\.\) and used outside"):
        parse(r"(t \mapsto t)_{\circ}(X) \cdot t")
    with pytest.raises(ParseError, match=r"size of \\mathbf\{1\} inside vec\^\{-1\}"):
        parse(r"\operatorname{vec}^{-1}_{n \times n}(\mathbf{1})")


def test_a_power_written_on_the_function_is_of_its_value() -> None:
    """SymPy's LaTeX printer writes sin(d)² as \\sin^{2}{\\left(d \\right)} (inside a
    function with no name, tex() prints it so); only of a scalar: of a matrix the power
    is ambiguous."""
    got = evaluate(parse(r"\sin^{2}{\left(a^{T} b \right)} + \det^2(X)"), VALUES)
    s = float((VALUES[a].T @ VALUES[b])[0, 0])
    np.testing.assert_allclose(got, np.sin(s) ** 2 + np.linalg.det(VALUES[X]) ** 2)
    with pytest.raises(ParseError, match="ambiguous"):
        parse(r"\tanh^{2}(X)")
    with pytest.raises(ParseError, match="inverse function"):
        parse(r"\sin^{-1}(a^T b)")


def test_a_sum_of_bare_ones_is_sized_by_its_neighbour() -> None:
    """(𝟏 + 𝟏)ᵀ next to a 1 x 1 matrix, as tex() printed a random tree."""
    got = evaluate(parse(r"a^{T} b + \left(\mathbf{1} + \mathbf{1}\right)^{T}"), VALUES)
    np.testing.assert_allclose(got, VALUES[a].T @ VALUES[b] + 2)
    np.testing.assert_allclose(evaluate(parse(r"a + (\mathbf{1} - 3)"), VALUES), VALUES[a] - 2)


def test_a_bare_one_with_nothing_to_size_it_is_still_refused() -> None:
    for text in (r"\tanh(\mathbf{1})", r"\mathbf{1} \circ 2", r"\log(I) + a"):
        with pytest.raises(ParseError, match="is unknown"):
            parse(text)


def test_a_run_of_one_by_one_factors_next_to_a_matrix_is_scalars() -> None:
    """In s w a (s, w: 1 x 1, a: n x 1) both s and w are numbers: only w, the factor
    next to a, was, and s w a then multiplied a 1 x 1 by an n x 1 matrix."""
    s, w = sp.MatrixSymbol("s", 1, 1), sp.MatrixSymbol("w", 1, 1)
    table = {**SYMBOLS, "s": s, "w": w}
    values = {**VALUES, s: np.array([[1.5]]), w: np.array([[-2.0]])}
    for text in (r"s w a", r"a^T s w", r"s w a a^T s"):
        got = evaluate(parse_latex(text, table), values)
        want = {
            r"s w a": -3.0 * values[a],
            r"a^T s w": -3.0 * values[a].T,
            r"s w a a^T s": -4.5 * values[a] @ values[a].T,
        }[text]
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # a run that conforms stays a product of matrices: a w is (n x 1)(1 x 1)
    assert parse_latex("a w", table) == a * w


@budget(60)
@given(st.data())
def test_derivatives_print_and_read_back(data) -> None:
    """tex() of derivatives of random trees, in both layouts (Kronecker and
    commutation factors, vec, sizes such as n², runs of 1 x 1 factors), parses back
    to the same values, except for the forms in UNREAD (vec⁻¹ too: it once had no
    reader).  A randomised hunt found 10% of them read back to a product that did
    not conform and refused sizes n^{2}."""
    var = data.draw(st.sampled_from(VARIABLES))
    shape = (data.draw(st.sampled_from(POOL)), data.draw(st.sampled_from(POOL)))
    expr = data.draw(expressions(shape, var, 3))
    layout = data.draw(st.sampled_from(("numerator", "denominator")))
    result = derive(expr, var, layout).result
    text = tex(result)
    note(text)
    both = sp.Tuple(expr, result)
    env = {**random_values(both, TREE_SIZES, np.random.default_rng(0)), **TREE_SIZES}
    _reads_back(text, result, both, env)


def _reads_back(text: str, printed: sp.Basic, context: sp.Basic, env: dict) -> None:
    """``text`` (tex of ``printed``) parses, over the symbols of ``context``, to the
    value of ``printed``; a form in UNREAD is rejected."""
    want = np.atleast_2d(np.asarray(evaluate(printed, env), dtype=float))
    if not (np.all(np.isfinite(want)) and np.abs(want).max(initial=0.0) < 1e6):
        event("values too large to compare")
        reject()
    try:
        got = parse_latex(text, symbol_table(context, {}), dims={"m": pm, "n": pn, "p": pp})
    except (ParseError, ShapeMismatch) as exc:
        if not any(form in str(exc) for form in UNREAD):
            raise
        event("a form tex() prints and the reader does not read")
        reject()
    got_value = np.atleast_2d(np.asarray(evaluate(got, env), dtype=float))
    assert got_value.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got_value, want, rtol=1e-7, atol=1e-7 * scale)


@pytest.mark.parametrize(
    "candidate",
    [
        r"2(A^\top A + \lambda I)x - 2A^\top b",
        r"2(\lambda \mathbf{I} + A^\top A)x - 2A^\top b",
        r"2(A^\top A + I\lambda)x - 2A^\top b",
        r"2\lambda I x + 2 A^T(Ax - b)",
    ],
)
def test_an_identity_beside_a_1x1_factor_takes_the_size_of_the_sum(candidate: str) -> None:
    """λ I with λ declared 1 x 1 (the command line's only scalar) was read I₁ = 1:
    the ridge gradient came back ill-formed, "Aᵀ A (n × n) but λ (1 × 1)"."""
    from matderiv import verify
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("A: m x n, x: n, b: m, lambda: 1")
    A, x, b, lam = (S[k] for k in ("A", "x", "b", "lambda"))
    r = A * x - b
    f = r.T * r + lam * x.T * x
    assert verify(candidate, f, x, "denominator")


def test_a_1x1_product_times_an_unsized_identity() -> None:
    """(aᵀx) I + x aᵀ, matderiv's own printed form of ∂(x aᵀx)/∂x, was ill-formed."""
    from matderiv import verify
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("a: n, x: n")
    a, x = S["a"], S["x"]
    for candidate in (r"(a^\top x) I + x a^\top", r"\left(a^{T} x\right) \mathbb{I} + x a^{T}"):
        assert verify(candidate, x * a.T * x, x, "numerator"), candidate


@pytest.mark.parametrize(
    ("candidate", "says"),
    [
        (r"\nabla_x f = 2A^\top(Ax - b) = 0", "more than one '='"),
        (r"2A^\top r \text{ where } r = Ax - b", r"goes on after \text{ where"),
        (r"\nabla f = 2A^\top(Ax - b) \implies x = (A^\top A)^{-1}A^\top b", r"after \implies"),
    ],
)
def test_a_formula_that_goes_on_is_refused_not_cut(candidate: str, says: str) -> None:
    """Only the text after the last '=' was read: ∇f = 2Aᵀ(Ax − b) = 0 was checked as
    0 ("wrong"), 2Aᵀr where r = Ax − b as Ax − b ("wrong-shape")."""
    from matderiv import verify
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("A: m x n, x: n, b: m")
    r = S["A"] * S["x"] - S["b"]
    with pytest.raises(ParseError, match=re.escape(says)):
        verify(candidate, r.T * r, S["x"], "denominator")
    assert verify(r"\nabla_x f = 2A^\top(Ax - b)", r.T * r, S["x"], "denominator")


def test_the_matlab_solve_hint_is_only_for_a_backslash_between_operands() -> None:
    r"""\end, \label after a formula got "A\b, MATLAB's solve, is A⁻¹ b"."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("A: n x n, b: n")
    with pytest.raises(ParseError, match="MATLAB"):
        parse_latex(r"A\b", S)
    # a label after the formula is dropped (it was refused, and named MATLAB's solve)
    assert parse_latex(r"A b \label{eq:1}", S) == S["A"] * S["b"]


def test_vector_powers_quotients_and_a_declared_sigma_read_as_papers_mean_them() -> None:
    r"""\tanh^2(Wx) of a vector was "ambiguous"; \frac{1}{1 + e^{-Xw}} of a vector was
    "division by a matrix ... X^{-1}"; \sigma(2x) with a scalar sigma declared was read
    as the sigmoid of 2x."""
    from matderiv import verify
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("W: k x n, x: n, X: m x n, w: n, y: m, sigma: 1")
    W, x, X, w, y, sigma = (S[s] for s in ("W", "x", "X", "w", "y", "sigma"))
    tanh_layer = (W * x).applyfunc(sp.tanh)
    assert verify(r"\operatorname{diag}(1 - \tanh^2(W x)) W", tanh_layer, x, "numerator")
    assert verify(r"\operatorname{diag}(\operatorname{sech}^2(W x)) W", tanh_layer, x)
    ones = sp.OneMatrix(1, X.shape[0])
    logistic = (
        ones * (sp.OneMatrix(X.shape[0], 1) + (X * w).applyfunc(sp.exp)).applyfunc(sp.log)
        - y.T * X * w
    )
    for quotient in (r"\frac{1}{1 + e^{-Xw}}", r"1/(1 + e^{-Xw})", r"\frac{e^{Xw}}{1 + e^{Xw}}"):
        candidate = rf"X^\top\left({quotient} - y\right)"
        assert verify(candidate, logistic, w, "denominator"), quotient
    assert verify(r"\sigma(2x)", sigma * x.T * x, x, "denominator")


@pytest.mark.parametrize(
    "norm",
    [r"\|Ax-b\|^2_2", r"\lVert Ax - b\rVert_{\mathrm{2}}^{2}", r"\|Ax - b\|^{2}_{2}"],
)
def test_a_norms_scripts_in_either_order_and_font(norm: str) -> None:
    r"""\|Ax-b\|^2_2 (superscript first, valid LaTeX) was "unexpected '_2'", and
    \rVert_{\mathrm{F}} "unexpected character '_'"."""
    from matderiv import verify
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("A: m x n, x: n, b: m, X: m x n")
    assert verify(r"2A^\top(Ax - b)", parse_latex(norm, S), S["x"], "denominator")
    frobenius = parse_latex(r"\lVert X\rVert^{2}_{\mathrm{F}}", S)
    assert verify("2 X", frobenius, S["X"], "denominator")


_LS_A = sp.MatrixSymbol("A", pm, pn)
_LS_x, _LS_b = sp.MatrixSymbol("x", pn, 1), sp.MatrixSymbol("b", pm, 1)
_LEAST_SQUARES = (_LS_A * _LS_x - _LS_b).T * (_LS_A * _LS_x - _LS_b)


@pytest.mark.parametrize(
    "pasted",
    [
        r"\begin{equation} 2A^T(Ax-b) \end{equation}",
        r"\begin{equation*}\label{eq:grad} 2A^T(Ax-b) \end{equation*}",
        r"\begin{align*} \nabla f &= 2A^T(Ax-b) \end{align*}",
        r"2A^T(Ax-b) \label{eq:1} \nonumber",
        r"2A^T(Ax-b) \quad \text{(by the chain rule)}",
        r"2A^T(Ax-b), \qquad \text{by the chain rule.}",
        r"2A^\mathrm{T}(Ax-b)",
        r"2 \mathbf{A}^\mathsf{T}(\mathbf{A}\mathbf{x}-\mathbf{b})",
        r"2((Ax-b)^\text{T} A)^\text{T}",
    ],
)
def test_a_formula_pasted_from_a_paper_reads(pasted: str) -> None:
    """Equation environments, labels, a remark in \\text after the formula and a
    transpose's T in a font without braces were refused (or the remark read as a
    product of symbols)."""
    assert verify(pasted, _LEAST_SQUARES, _LS_x, "denominator")


def test_a_function_name_in_bold_reads_as_the_function() -> None:
    W, x = sp.MatrixSymbol("W", pn, pn), sp.MatrixSymbol("x", pn, 1)
    f = sp.OneMatrix(1, pn) * (W * x).applyfunc(lambda t: 1 / (1 + sp.exp(-t)))
    s = r"\boldsymbol{\sigma}(Wx)"
    assert verify(rf"({s} \odot (1 - {s})) x^T", f, W, "denominator")
    assert not verify(rf"({s} \odot (1 - {s})) x", f, W, "denominator")


def test_a_text_symbol_at_the_end_is_no_remark() -> None:
    """Only a \\text with words (a space or a parenthesis) after the formula is a
    remark; \\text{c} is the symbol c (it was dropped: c (A + Aᵀ) x was "correct")."""
    A, x = sp.MatrixSymbol("A", pn, pn), sp.MatrixSymbol("x", pn, 1)
    b, c = sp.MatrixSymbol("b", pn, 1), sp.Symbol("c")
    quadratic = sp.Trace(x.T * A * x)
    assert not verify(r"(A + A^T) x \, \text{c}", quadratic + c, x, "denominator")
    assert verify(r"(A + A^T) x + \text{b}", quadratic + sp.Trace(b.T * x), x, "denominator")


def test_an_entrywise_power_by_a_scalar_reads_back() -> None:
    """∂ X^∘s/∂X prints diag(vec(s X^{∘ s - 1})): a scalar exponent, read in the same
    scope (it was "unsupported superscript"); the syntax prints X^(s - 1), Unicode
    X^∘(s - 1)."""
    from matderiv import derive
    from matderiv.parse.expr import parse_expression
    from matderiv.parse.unicode import parse_unicode
    from matderiv.render.syntax import to_syntax
    from matderiv.render.unicode import fmt

    s = sp.Symbol("s")
    result = derive(sp.HadamardPower(a, s), a, "numerator").result
    values = {**VALUES, a: np.abs(VALUES[a]) + 0.5, s: 0.7}
    want = evaluate(result, values)
    table = {"a": a, "s": s}
    for text, read in ((tex(result), parse_latex), (fmt(result), parse_unicode)):
        assert "s - 1" in text, text
        np.testing.assert_allclose(evaluate(read(text, table), values), want, rtol=1e-12)
    back = parse_expression(to_syntax(result), table)
    np.testing.assert_allclose(evaluate(back, values), want, rtol=1e-12)


def test_a_syntax_function_read_as_latex_is_said_to_be_one() -> None:
    """inv(H P H^T + R) nu (juxtaposition, so read as LaTeX) was only "unknown symbol
    'inv'", though inv is a documented function: of the syntax, whose products are @."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("H: m x n, P: n x n, R: m x m, nu: m")
    with pytest.raises(ParseError, match=r"inv\(\.\.\.\) is a function of matderiv's syntax"):
        parse_latex("inv(H P H^T + R) nu", S)
    with pytest.raises(ParseError, match=r"in LaTeX write \\log\\det\(A B\)"):
        parse_latex("logdet(H P H^T + R)", S)
    with pytest.raises(ParseError) as info:
        parse_latex("nux", S)  # not a function name: no such hint
    assert "syntax" not in str(info.value)


def test_lecture_note_spellings() -> None:
    """W^{(2)} (a layer's weights) was "did you mean W2?" with no way to say yes;
    \\sigma'(z) and \\max(0, z) had no hint."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("W2: n x n, W_3: n x n, z: n")
    assert parse_latex(r"W^{(2)} z", S) == S["W2"] * S["z"]
    assert parse_latex(r"W^{(3)} z", S) == S["W_3"] * S["z"]
    # a superscript after the layer's: W^{(2)T} was "unknown symbol 'W'"
    assert parse_latex(r"W^{(2)T} z", S) == S["W2"].T * S["z"]
    assert parse_latex(r"W^{(2)\top} z", S) == S["W2"].T * S["z"]
    assert parse_latex(r"W^{(3) -1} z", S) == S["W_3"].I * S["z"]
    assert parse_latex(r"W^{(2)'} z", S) == S["W2"].T * S["z"]  # W' as W^{(2)'}
    with pytest.raises(ParseError, match=r"for σ′\(z\) write its value"):
        parse_latex(r"\sigma'(z)", S)
    with pytest.raises(ParseError, match=r"operatorname\{relu\}"):
        parse_latex(r"\max(0, z)", S)
