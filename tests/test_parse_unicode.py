"""The Unicode notation matderiv prints, read back (``matderiv/parse/unicode.py``).

A user who copies a printed result (``fmt``, ``str(d)``) can paste it into
``verify``.  Every identity row's result, in both layouts, is printed and parsed
back over the expression's symbol table and must evaluate to ``d.result`` at
random values; random well-shaped expressions (the property-test strategy of
``test_random_expressions``) must too, with no filter: the forms the printer
once wrote ambiguously now print unambiguously and read back
(test_printed_notation.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import event, given, note, reject
from hypothesis import strategies as st
from identity_harness import row_values
from random_trees import DIMS as POOL
from random_trees import SIZES, VARIABLES, budget, expressions
from random_trees import m as pm
from random_trees import n as pn
from random_trees import p as pp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from test_identities_linear import ROWS as LINEAR
from test_identities_nonlinear import ROWS as NONLINEAR

from matderiv import ParseError, ShapeMismatch, derive, evaluate, vec, verify
from matderiv.examples import rnn_loss, rnn_step
from matderiv.nodes import AsScalar, Reshape, commutation, diag
from matderiv.parse.candidate import parse_candidate, symbol_table
from matderiv.parse.unicode import parse_unicode
from matderiv.render.unicode import fmt
from matderiv.testing import random_values

ROWS = [*LINEAR, *NONLINEAR]
LAYOUTS = ("numerator", "denominator")


def _close(got: Any, want: Any, rtol: float = 1e-9) -> None:
    got, want = np.atleast_2d(got), np.atleast_2d(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


# -- every printed result of the identity battery reads back ------------------------------


@pytest.mark.parametrize("spec", ROWS, ids=lambda r: r.id)
def test_printed_result_reads_back(spec: Any) -> None:
    expr, wrt, dims, _, kwargs = spec.build()
    table = symbol_table(expr, {})
    env = row_values(expr, dims, kwargs)
    for layout in LAYOUTS:
        d = derive(expr, wrt, layout)
        text = fmt(d.result)
        want = evaluate(d.result, env)
        _close(evaluate(parse_unicode(text, table), env), want)
        _close(evaluate(parse_candidate(text, expr, {}), env), want)  # as verify reads it


# -- the RNN step: paste the printed result into verify -------------------------------------

STEP = rnn_step()
RIGHT = "(e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)"
WRONG = "(e₁ᵀ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)"


def _verify(candidate: Any, wrt: Any = STEP.wrt, layout: str = "denominator", ex: Any = STEP):
    return verify(candidate, ex.expr, wrt, layout, names=ex.names)


def test_the_printed_rnn_result_verifies() -> None:
    d = derive(STEP.expr, STEP.wrt, STEP.layout, names=STEP.names)
    header = str(d).splitlines()[0]  # ∂h₁/∂vec(Wₕₓᵀ) = ...   (nₕ·nᵢ × nₕ)
    assert RIGHT in header and header.startswith("∂h₁/∂vec(Wₕₓᵀ) = ")
    boxed = f"│ {header}      │"  # as copied from rich's panel in the terminal
    for candidate in (RIGHT, header, boxed, fmt(d.result), "(e₁ ⊗ I_{nₕ}) diag(1 − h₁²)"):
        verdict = _verify(candidate)
        assert verdict and verdict.kind == "correct", (candidate, verdict.message)


def test_the_wrong_rnn_candidate_is_diagnosed_as_in_latex_and_syntax() -> None:
    forms = {
        "unicode": WRONG,
        "latex": r"(e_1^T \otimes I_{n_h}) \operatorname{diag}(1 - h_1^2)",
        "syntax": "kron(e_1.T, eye(n_h)) @ diag(1 - h_1^2)",
    }
    verdicts = {k: _verify(c) for k, c in forms.items()}
    assert {v.kind for v in verdicts.values()} == {"ill-formed"}
    assert len({v.message for v in verdicts.values()}) == 1
    assert "inner dimensions nₕ·nᵢ and nₕ do not agree" in verdicts["unicode"].message


W = STEP.wrt.arg.arg


@pytest.mark.parametrize(
    ("candidate", "wrt", "layout", "kind"),
    [
        ("diag(1 - h₁∘h₁) (e₁ᵀ ⊗ I_{nₕ})", vec(W.T), "numerator", "correct"),
        ("(I_{nₕ} ⊗ e₁) diag(1 - h₁∘h₁)", W, "denominator", "correct"),
        ("diag(1 - h₁∘h₁) (e₁ᵀ ⊗ I_{nₕ})", vec(W.T), "denominator", "other-layout"),
        (RIGHT, W, "denominator", "commutation"),
    ],
)
def test_rnn_diagnoses_match_the_latex_cases(candidate, wrt, layout, kind) -> None:
    assert _verify(candidate, wrt, layout).kind == kind


def test_the_rnn_loss_gradient() -> None:
    loss = rnn_loss()
    d = derive(loss.expr, loss.wrt, loss.layout, names=loss.names)
    assert str(d).startswith("∂L/∂Wₕₓ = e₁ ((1 - h₁∘h₁)∘c)ᵀ")
    right = verify(str(d).splitlines()[0], loss.expr, loss.wrt, loss.layout, names=loss.names)
    assert right.kind == "correct"
    wrong = [
        verify(c, loss.expr, loss.wrt, loss.layout, names=loss.names)
        for c in ("((1 - h₁∘h₁)∘c) e₁ᵀ", r"((1 - h_1 \circ h_1) \circ c) e_1^T")
    ]
    assert wrong[0].kind == wrong[1].kind == "other-layout"


# -- the notation, form by form -------------------------------------------------------------

n, m = sp.symbols("n m", integer=True, positive=True)
SHAPES = {
    "X A B": (n, n),  # X: square, invertible, positive entries
    "a x hbar_1 h1bar": (n, 1),  # hbar_1 prints as h̄₁, h1bar (the adjoint of h1) as h̄1
    "R W_hx": (m, n),  # W_hx prints as Wₕₓ
    "v": (m * n, 1),
    "C": (3, 3),
    "D": (4, 4),
    "G": (3, 2),
}
TABLE = {k: sp.MatrixSymbol(k, *shape) for names, shape in SHAPES.items() for k in names.split()}
X, A, B, a, x, R, W_hx, v = (TABLE[k] for k in ["X", "A", "B", "a", "x", "R", "W_hx", "v"])
DIMS = {n: 3, m: 2}
ENV = {**random_values(sp.Tuple(*TABLE.values()), DIMS, np.random.default_rng(1)), **DIMS}
ENV[X] = np.abs(ENV[X]) @ np.abs(ENV[X]).T + 3 * np.eye(3)  # invertible, positive entries
t = sp.Dummy("t")
SIGMOID = sp.Lambda(t, 1 / (1 + sp.exp(-t)))
TR = sp.Trace(X)
AX = AsScalar(a.T * x)
HP, KP, HPow = sp.HadamardProduct, sp.KroneckerProduct, sp.HadamardPower

FORMS = [
    ("Xᵀ X⁻¹ X⁻ᵀ", X.T * X.I * X.I.T),
    ("X^2 X^-2 Xᵀ^-1", sp.MatPow(X, 2) * sp.MatPow(X, -2) * X.T.I),
    ("X⁻¹^2", sp.MatPow(X.I, 2)),
    (
        "X^∘-1 + X^∘1/2 + X∘² + X^∘(3/2)",
        HPow(X, -1) + HPow(X, sp.S.Half) + HPow(X, 2) + HPow(X, 1.5),
    ),
    ("tr(X)² X + tr(X)**(-2) X + tr(X)**(3/2) X", (TR**2 + TR**-2 + TR**1.5) * X),
    ("2·tr(X) I_n", 2 * TR * sp.Identity(n)),
    ("I₃ C", TABLE["C"]),
    ("I_{m·n} v + I_{n m} v", 2 * v),
    ("I_{n²} vec(X)", vec(X)),
    ("K_{m,n} vec(R)", commutation(m, n) * vec(R)),
    ("vec⁻¹_{m×n}(v)", Reshape(v, m, n)),
    ("Wₕₓ + W_hx", 2 * W_hx),
    ("h̄₁ + a", TABLE["hbar_1"] + a),
    ("h̄1 + a", TABLE["h1bar"] + a),
    ("(t ↦ 1/(1 + exp(-t)))∘(X)", ElementwiseApplyFunction(SIGMOID, X)),
    ("(u ↦ u/(u² + 1))∘(a)", a.applyfunc(lambda u: u / (u**2 + 1))),
    (
        "tanh(X) + sin(X) + cos(X) + log(X) + exp(X)",
        sp.MatAdd(*(X.applyfunc(f) for f in (sp.tanh, sp.sin, sp.cos, sp.log, sp.exp))),
    ),
    ("sqrt(aᵀ a) + Abs(tr(X)) - tr(X)", sp.sqrt(AsScalar(a.T * a)) + abs(TR) - TR),
    ("1/sqrt(tr(Xᵀ X)) Xᵀ", X.T / sp.sqrt(sp.Trace(X.T * X))),
    ("2·aᵀ x a", 2 * AX * a),
    ("1/aᵀ x X", X / AX),
    ("-exp(-aᵀ x)/(exp(-aᵀ x) + 1) xᵀ", -sp.exp(-AX) / (sp.exp(-AX) + 1) * x.T),
    ("3/4 X - 1/2 A", sp.Rational(3, 4) * X - sp.Rational(1, 2) * A),
    ("A∘A B", HPow(A, 2) * B),  # ∘ binds tighter than juxtaposition, as the printer means
    ("(A B)∘X ⊘ A", HP(A * B, X, HPow(A, -1))),
    ("A ⊗ B X", KP(A, B * X)),  # ⊗ looser, as in LaTeX
    ("-X⁻ᵀ ⊗ X⁻¹ + diag(a) ⊗ I_n", -KP(X.I.T, X.I) + KP(diag(a), sp.Identity(n))),
    ("1 - a∘a + tr(X) + x", sp.OneMatrix(n, 1) * (1 + TR) - HPow(a, 2) + x),
    ("det(X) X⁻ᵀ + |X| X", sp.Determinant(X) * (X.I.T + X)),
    ("softmax(a) + diag(softmax(a)) x + logsumexp(a) a", None),  # against NumPy below
    ("∂f/∂X = X⁻ᵀ   (n × n)", X.I.T),  # a pasted line of str(d)
    ("X^T − A⊤ + A⊙B", X.T - A.T + HP(A, B)),  # variants: ^T, −, ⊤, ⊙
]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=[f[0] for f in FORMS])
def test_printed_forms(text: str, expected: Any) -> None:
    got = evaluate(parse_unicode(text, TABLE), ENV)
    if expected is None:
        s = _softmax(ENV[a])
        want = s + np.diag(s.ravel()) @ ENV[x] + np.log(np.exp(ENV[a]).sum()) * ENV[a]
    else:
        want = evaluate(expected, ENV)
    _close(got, want)


def test_what_fmt_prints_reads_back_to_the_same_text() -> None:
    for _, expected in FORMS:
        if expected is not None:
            text = fmt(expected)
            _close(evaluate(parse_unicode(text, TABLE), ENV), evaluate(expected, ENV))


def test_candidates_with_unicode_characters_are_read_as_unicode() -> None:
    expr = a.T * X * x
    assert parse_candidate("a xᵀ", expr, {}) == a * x.T
    assert parse_candidate("a x^T", expr, {}) == a * x.T  # LaTeX, as before
    assert parse_candidate("a @ x.T", expr, {}) == a * x.T  # matderiv's syntax, as before
    assert verify("a xᵀ", expr, X, "denominator").kind == "correct"
    assert verify("x aᵀ", expr, X, "denominator").kind == "transposed"


# -- errors -----------------------------------------------------------------------------------


def parse(text: str) -> Any:
    return parse_unicode(text, TABLE)


def test_unknown_name_is_named_with_close_matches_and_a_caret() -> None:
    with pytest.raises(ParseError) as info:
        parse("Wₕₕ x")
    message = str(info.value)
    assert "unknown symbol 'Wₕₕ'; did you mean 'Wₕₓ'" in message
    assert message.endswith("    Wₕₕ x\n    ^")
    with pytest.raises(ParseError, match=r"unknown symbol 'h₂'; did you mean 'h₁'"):
        _verify("(e₁ ⊗ I_{nₕ}) diag(1 - h₂∘h₂)")
    with pytest.raises(ParseError, match="unknown dimension 'q'"):
        parse("I_{q} a")


def test_unbalanced_parentheses_show_where() -> None:
    with pytest.raises(ParseError, match="'\\(' is never closed") as info:
        parse("diag(1 - a∘a")
    assert str(info.value).endswith("    diag(1 - a∘a\n        ^")
    with pytest.raises(ParseError, match="'\\)' has no matching '\\('"):
        parse("aᵀ x)")
    with pytest.raises(ParseError, match="'\\{' is never closed"):
        parse("I_{n a")


def test_shape_mismatches_name_the_problem() -> None:
    with pytest.raises(ShapeMismatch, match=r"C · D .*\(3 x 3\) times \(4 x 4\)"):
        parse("C D")
    with pytest.raises(ShapeMismatch, match=r"the sum adds C \(3 x 3\) and D \(4 x 4\)"):
        parse("C + D")
    with pytest.raises(ShapeMismatch, match="needs a square matrix"):
        parse("tr(a)")
    with pytest.raises(ShapeMismatch, match="needs a square matrix"):
        parse("G⁻¹")
    with pytest.raises(ShapeMismatch, match="sizes differ"):
        parse("vec⁻¹_{n×n}(v)")
    verdict = _verify(WRONG)  # symbolic sizes: verify says what does not fit
    assert verdict.kind == "ill-formed" and "do not agree" in verdict.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a ⊗", "unexpected end of the formula; expected"),
        ("a * x", "write a matrix product as juxtaposition"),
        ("∂f/∂X", "derivative notation is not parsed"),
        ("X \\otimes A", "LaTeX commands do not mix"),
        ("‖X‖₂", "spectral norm"),
        ("‖a", "'‖' is never closed"),
        ("X/a", "division by a matrix"),
        ("a ⊗ I", r"the size of I .* is unknown"),
        ("X^∘5000", "exponent larger than 1000"),
        ("X^∘" + "9" * 40, "exponent longer than"),
        ("1" * 40 + " X", "number longer than"),
        ("vec(X, A)", "vec takes one argument"),
        ("(t ↦ X)∘(A)", "must give a scalar"),
        ("I_{1.5}", "a size must be a whole number"),
        ("∂f/∂X = ", "nothing to parse"),
        ("0_{n×n} + X", "a sized matrix of zeros is 𝟎_{m×n}"),
        ("1_{n×n}∘X", "a sized matrix of ones is 𝟏_{m×n}"),
        ("2 (X⁺)ᵀ", r"pseudo-inverse X⁺ is not supported: .*\(Xᵀ X\)⁻¹ Xᵀ"),
        ("X^†", "pseudo-inverse X†"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        parse(text)
    assert "^" in str(info.value).splitlines()[-1]


def test_size_and_nesting_are_bounded() -> None:
    assert parse("(" * 200 + "Xᵀ" + ")" * 200) == X.T
    with pytest.raises(ParseError, match="deeper than 200"):
        parse("(" * 201 + "X" + ")" * 201)
    with pytest.raises(ParseError, match="deeper than 200"):
        parse("-" * 300 + "X")
    with pytest.raises(ParseError, match="limit is 10000"):
        parse("X " * 5001)
    long = " + ".join(["A B∘Xᵀ"] * 1000)  # ~9,000 characters
    _close(evaluate(parse(long), ENV), 1000 * ENV[A] @ (ENV[B] * ENV[X].T))


@pytest.mark.parametrize("text", ["__import__('os')ᵀ", "X.__class__ᵀ", "exec(X)ᵀ", "(λ ↦ X)∘(X)"])
def test_code_is_never_run(text: str, no_eval: None) -> None:
    with pytest.raises(ParseError):
        parse(text)
    assert parse("X^∘1/2 + tr(X)**(-2) X") == HPow(X, sp.S.Half) + TR**-2 * X


def test_max_and_min_take_scalars() -> None:
    relu = parse("(t ↦ Max(0, t))∘(X)")
    assert isinstance(relu, ElementwiseApplyFunction) and relu.expr == X
    assert parse("Min(tr(X), 1, aᵀ a)") == sp.Min(TR, 1, AsScalar(a.T * a))
    with pytest.raises(ParseError, match="takes scalars"):
        parse("Max(X, 1)")


# -- random expressions ---------------------------------------------------------------------


@budget(60)
@given(st.data())
def test_random_expressions_read_back(data: Any) -> None:
    """fmt of the property-test strategy's expressions parses back to the same values
    (ones-matrix leaves, bare nested products and all)."""
    var = data.draw(st.sampled_from(VARIABLES))
    shape = (data.draw(st.sampled_from(POOL)), data.draw(st.sampled_from(POOL)))
    expr = data.draw(expressions(shape, var, 4))
    text = fmt(expr)
    note(text)
    got = parse_unicode(text, symbol_table(expr, {}), dims={"m": pm, "n": pn, "p": pp})
    values = random_values(expr, SIZES, np.random.default_rng(0))
    env = {**values, **SIZES}
    want = np.atleast_2d(evaluate(expr, env))
    if not (np.all(np.isfinite(want)) and np.abs(want).max(initial=0.0) < 1e6):
        event("values too large to compare")
        reject()
    _close(evaluate(got, env), want, rtol=1e-7)


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("hbar_1", "h\u0304\u2081"),  # h̄₁: a combining macron, not a precomposed letter
        ("h1bar", "h\u03041"),
        ("hdot", "h\u0307"),
        ("h12dot_t", "h\u030712\u209c"),
        ("hbar1", "hbar1"),
        ("htilde_1", "h\u0303\u2081"),  # h̃₁: an HVP's second-phase adjoint
        ("abardot", "a\u0304\u0307"),  # ā̇: the tangent of the adjoint ā (Hessians)
        ("abartilde", "a\u0304\u0303"),  # ā̃: ∂p/∂ā in an HVP
        ("hbartilde_12", "h\u0304\u0303\u2081\u2082"),
        ("h1bardot", "h\u0304\u03071"),
    ],
)
def test_accented_names_print_and_read_back(name: str, printed: str) -> None:
    """Adjoints and tangents print with the accent over their letter (the CLI's h1 has
    the adjoint h1bar: h̄1); what prints reads back as the same symbol."""
    symbol = sp.MatrixSymbol(name, n, 1)
    assert fmt(symbol) == printed
    assert parse_unicode(printed, {name: symbol, "a": a}) == symbol


def test_typed_precomposed_accents_read_like_printed_ones() -> None:
    """A keyboard gives ā as one character (U+0101); matderiv prints a + U+0304."""
    abar, atilde = sp.MatrixSymbol("abar", n, 1), sp.MatrixSymbol("atilde", n, 1)
    table = {"abar": abar, "atilde": atilde}
    assert parse_unicode("\u0101 + \u00e3", table) == abar + atilde


@given(
    letter=st.sampled_from("ahxWUV"),
    digits=st.sampled_from(["", "1", "12"]),
    accents=st.lists(st.sampled_from(["bar", "dot", "tilde"]), min_size=1, max_size=3),
    sub=st.sampled_from(["", "_1", "_t", "_12", "_hx"]),
)
def test_generated_names_print_and_read_back(letter, digits, accents, sub) -> None:
    """Any generated name (a letter, the CLI's digits, up to three stacked accents, a
    subscript) prints with its accents over the letter, in Unicode and in LaTeX, and
    the printed form reads back as the same symbol."""
    from matderiv.render.latex import tex

    name = letter + digits + "".join(accents) + sub
    symbol = sp.MatrixSymbol(name, n, 1)
    printed = fmt(symbol)
    note(f"{name} -> {printed!r}")
    assert not any(word in printed for word in ("bar", "dot", "tilde")), printed
    assert parse_unicode(printed, {name: symbol}) == symbol
    latex = tex(symbol)
    assert latex.count("{") == latex.count("}")
    for accent in accents:
        assert f"\\{accent}{{" in latex, latex


def test_an_entrywise_exponent_must_be_a_scalar() -> None:
    """X^∘(matrix) and X^∘w for a vector w are refused in the Unicode notation, and in
    LaTeX X^{\\circ w}; the syntax says the same of x ^ w."""
    from matderiv.errors import ParseError as Refused
    from matderiv.parse.expr import parse_expression
    from matderiv.parse.latex import parse_latex

    n = sp.Symbol("n", integer=True, positive=True)
    X, w = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("w", n, 1)
    table = {"X": X, "w": w}
    with pytest.raises(Refused, match="the exponent after \\^∘ must be a scalar"):
        parse_unicode("X^∘(w wᵀ)", table)
    with pytest.raises(Refused, match="the exponent w is not a scalar"):
        parse_unicode("X^∘w", table)
    with pytest.raises(Refused, match=r"the exponent after \\circ must be a scalar"):
        parse_latex(r"X^{\circ w}", table)
    with pytest.raises(
        Refused, match=r"exponents must be numbers or scalars, not a matrix of shape \(n × 1\)"
    ):
        parse_expression("X ^ w", table)


def test_a_prime_transposes_and_vulgar_fractions_are_numbers() -> None:
    """(x - μ)' Σ⁻¹ and ½ Σ⁻¹ were refused ("unexpected character"), though A' is
    the syntax's transpose and ½ how many type a half."""
    from matderiv.parse.declarations import parse_shapes

    S = parse_shapes("x: n, mu: n, Sigma: n x n")
    x, mu, Sigma = S["x"], S["mu"], S["Sigma"]
    assert parse_unicode("(x - μ)' Σ⁻¹", S) == parse_unicode("(x - μ)ᵀ Σ⁻¹", S)
    assert parse_unicode("x' Σ x", S) == x.T * Sigma * x
    assert parse_unicode("½ Σ⁻¹ + ¾ Σ - ⅓ Σᵀ", S) == (
        sp.Rational(1, 2) * Sigma.I + sp.Rational(3, 4) * Sigma - sp.Rational(1, 3) * Sigma.T
    )
    f = -((x - mu).T * Sigma.I * (x - mu)) / 2
    assert verify("-½ (Σ⁻¹ + Σ⁻ᵀ) (x - μ)", f, x, "denominator")
    with pytest.raises(ParseError, match="a size must be a whole number, not 1/2"):
        parse_unicode("𝟏_{½}ᵀ x", S)
    # a mixed number is one number (2½ read as 2·½ made a right candidate "2/5 times"),
    # and the primes a document has for ' transpose too
    assert parse_unicode("2½ Σ", S) == sp.Rational(5, 2) * Sigma
    assert parse_unicode("x′ Σ x", S) == parse_unicode("x’ Σ x", S) == x.T * Sigma * x
