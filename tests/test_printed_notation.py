"""The printed notation has one reading: forms ``fmt`` (and ``tex``) once wrote ambiguously.

Before, a matrix of ones or zeros printed as a bare ``1`` / ``0`` everywhere
(``1 x`` for 𝟏ₙᵀx read back as x), a product nested in a product and a 1 x 1
sum used as a scalar lost their parentheses (``tr(A) -1/2 B``,
``2·aᵀ x + xᵀ a·tr(A)``), and matrix powers were ASCII (``-X^-2``), which
``verify`` read in matderiv's syntax as an entrywise power.  Each form below
prints as shown and reads back as the expression, through ``parse_unicode`` and
through ``verify``'s dispatch (``parse_candidate``); where given, the LaTeX form
too.
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy as sp
from test_parse_unicode import (
    AX,
    ENV,
    HP,
    KP,
    TABLE,
    TR,
    A,
    B,
    HPow,
    R,
    X,
    _close,
    a,
    m,
    n,
    parse,
    x,
)

from matderiv import ParseError, evaluate, vec
from matderiv.nodes import AsScalar
from matderiv.parse.candidate import parse_candidate
from matderiv.parse.latex import parse_latex
from matderiv.parse.unicode import looks_like_unicode
from matderiv.render.latex import tex
from matderiv.render.unicode import fmt

CONTEXT = sp.Tuple(*TABLE.values())  # the symbols verify would know from the expression
ONES_ROW = sp.OneMatrix(1, n)
ONCE_AMBIGUOUS = [
    # a matrix of ones or zeros shows its size where no neighbour gives it ...
    (ONES_ROW * x, "𝟏_nᵀ x", r"\mathbf{1}_{n}^{T} x"),  # was "1 x", read as x
    (sp.OneMatrix(n, 1), "𝟏_n", r"\mathbf{1}_{n}"),
    (KP(sp.OneMatrix(n, 1), X), "𝟏_n ⊗ X", r"\mathbf{1}_{n} \otimes X"),
    (sp.OneMatrix(m, n) * X, "𝟏_{m×n} X", r"\mathbf{1}_{m \times n} X"),
    (sp.ZeroMatrix(n, m), "𝟎_{n×m}", r"\mathbf{0}_{n \times m}"),
    (vec(sp.OneMatrix(3, 2)), "vec(𝟏_{3×2})", None),
    (sp.OneMatrix(3, 1).T * TABLE["C"], "𝟏₃ᵀ C", None),
    (KP(B, sp.OneMatrix(n, n) * A), "B ⊗ (𝟏_{n×n} A)", None),  # not str(d)'s shape suffix
    (
        R * (sp.OneMatrix(n, 1).applyfunc(sp.tanh) + sp.OneMatrix(n, 1)),
        "R (tanh(𝟏_n) + 𝟏_n)",
        None,
    ),
    # ... and stays a bare 1 where a sum or ∘ product does
    (sp.OneMatrix(n, 1) - HPow(a, 2), "1 - a∘a", r"\mathbf{1} - a \circ a"),
    (HP(sp.OneMatrix(n, 1) - HPow(a, 2), x), "(1 - a∘a)∘x", None),
    (TR * sp.OneMatrix(n, 1) + a, "tr(X) 𝟏_n + a", None),  # a scalar times ones: sized
    # a number times bare ones is the number (was "1/2 1", read as 1/2 times 1)
    (
        sp.MatMul(sp.Rational(1, 2), sp.OneMatrix(n, 1)) - HPow(a, 2),
        "1/2 - a∘a",
        r"\frac{1}{2} - a \circ a",
    ),
    (
        HP(sp.MatMul(sp.Rational(1, 2), sp.OneMatrix(n, 1)), x),
        "(1/2)∘x",
        r"\left(\frac{1}{2}\right) \circ x",
    ),
    # nested products and 1 x 1 sums or products used as scalars are parenthesised
    (sp.MatMul(sp.Trace(A), sp.MatMul(sp.Rational(-1, 2), B)), "tr(A) (-1/2 B)", None),
    (2 * AsScalar(a.T * x + x.T * a) * sp.Trace(A), "2·(aᵀ x + xᵀ a)·tr(A)", None),
    (X / AsScalar(a.T * x + x.T * a), "1/(aᵀ x + xᵀ a) X", None),
    (2 * AX * a, "2·(aᵀ x) a", r"2 \left(a^{T} x\right) a"),
    (X / AX, "1/(aᵀ x) X", None),
    (-AX * X, "-(aᵀ x) X", r"- \left(a^{T} x\right) X"),
    (AX**3 * X, "(aᵀ x)³ X", r"\left(a^{T} x\right)^{3} X"),  # LaTeX was a^{T} x^{3}
    # matrix powers are superscripts, so a pasted result is read as Unicode
    (-sp.MatPow(X, -2), "-X⁻²", "- X^{-2}"),
    (-sp.MatPow(A + X, -2), "-(A + X)⁻²", None),
    (sp.MatPow(X.I, 2), "(X⁻¹)²", None),
    (TR**-2 * X, "tr(X)⁻² X", None),
    # det is \det, not |X|, which is also the absolute value (|det X| was ||X||)
    (sp.Abs(sp.Determinant(X)), "|det(X)|", r"\left|{\det\left(X\right)}\right|"),
    (sp.log(sp.Determinant(X)), "log(det(X))", r"\log{\left(\det\left(X\right) \right)}"),
    # exp, log and √ entrywise on a matrix that is no vector are marked ∘ in LaTeX:
    # e^{X} reads as the matrix exponential (a vector's e^{x} stays)
    (X.applyfunc(sp.exp), "exp(X)", r"\exp_{\circ}\left(X\right)"),
    (HP(X.applyfunc(sp.log), A), "log(X)∘A", r"\log_{\circ}\left(X\right) \circ A"),
    (X.applyfunc(sp.sqrt), "(t ↦ √t)∘(X)", r"\operatorname{sqrt}_{\circ}\left(X\right)"),
    (x.applyfunc(sp.exp), "exp(x)", "e^{x}"),
]


@pytest.mark.parametrize(
    ("expr", "text", "latex"), ONCE_AMBIGUOUS, ids=[f[1] for f in ONCE_AMBIGUOUS]
)
def test_once_ambiguous_forms_read_back(expr: Any, text: str, latex: str | None) -> None:
    """What fmt prints reads back as the expression, by parse_unicode and by verify's
    dispatch (Unicode for a text with a character of its own, else the syntax or LaTeX);
    LaTeX likewise."""
    assert fmt(expr) == text
    want = evaluate(expr, ENV)
    _close(evaluate(parse(text), ENV), want)
    _close(evaluate(parse_candidate(text, CONTEXT, {}), ENV), want)
    if latex is not None:
        assert tex(expr) == latex
        _close(evaluate(parse_latex(latex, TABLE), ENV), want)


def test_matrix_powers_are_unicode_so_verify_does_not_read_them_entrywise() -> None:
    power = -sp.MatPow(X, -2)
    assert looks_like_unicode(fmt(power)) and parse_candidate(fmt(power), X, {}) == power
    assert parse_candidate("-X^-2", X, {}) == -HPow(X, -2)  # matderiv's syntax: entrywise


def test_sized_constants_read_in_every_written_form() -> None:
    ones = sp.OneMatrix
    assert parse("𝟏_{n}") == parse("𝟏ₙ") == parse("𝟏_n") == ones(n, 1)
    assert parse("𝟏_{m×n}") == ones(m, n) and parse("𝟎_{m·n×1}") == sp.ZeroMatrix(m * n, 1)
    assert parse("𝟏₃ᵀ") == ones(1, 3)
    with pytest.raises(ParseError, match="write the size of a matrix of ones"):
        parse("𝟏ᵀ x")
    with pytest.raises(ParseError, match="unknown dimension 'q'"):
        parse("𝟏_q")


_n = sp.Symbol("n", integer=True, positive=True)
_X = sp.MatrixSymbol("X", _n, _n)
_x = sp.MatrixSymbol("x", _n, 1)
_s, _t = sp.symbols("s t")


@pytest.mark.parametrize(
    "f",
    [
        sp.Determinant(_X) ** _s,  # s·det(X)·det(X)^(s - 1) X⁻ᵀ
        sp.Trace(_X) ** (2 * _s),
        sp.Determinant(_X) ** sp.Rational(1, 3),  # \sqrt[3]{\det(X)} in LaTeX
        _x.applyfunc(sp.Lambda(_t, _t * (1 + sp.erf(_t / sp.sqrt(2))) / 2)),  # GELU
        sp.OneMatrix(1, _n) * _x.applyfunc(sp.erfc),
    ],
    ids=["det^s", "tr^(2s)", "det^(1/3)", "GELU", "erfc"],
)
@pytest.mark.parametrize("notation", ["unicode", "latex"])
def test_scalar_powers_roots_and_erf_in_results_read_back(f, notation) -> None:
    """det(X)^(s - 1), \\det(X)^{s - 1}, \\sqrt[3]{...} and erf, as matderiv prints them
    in results, were refused by both readers ("unexpected character '^'", "unsupported
    superscript ^{s - 1}", "unknown function 'erf'"; a tester's sweep): each result is
    printed, then verified as the candidate."""
    from matderiv import derive, verify
    from matderiv.render.latex import tex
    from matderiv.render.unicode import fmt

    wrt = _X if f.has(_X) else _x
    d = derive(f, wrt, "denominator")
    printed = fmt(d.result) if notation == "unicode" else tex(d.result)
    verdict = verify(printed, f, wrt, layout="denominator")
    assert verdict.ok, (printed, verdict)


def test_a_fractional_entrywise_exponent_is_in_parentheses() -> None:
    """x^∘-3/2 (the gradient of 𝟏ᵀ x^∘-1/2) reads as (x^∘-3)/2: x^∘(-3/2), which the
    Unicode reader reads back to the same power."""
    import sympy as sp

    from matderiv import declare, parse
    from matderiv.render.unicode import fmt

    table = declare("x: n")
    x = table["x"]
    for k in (sp.Rational(-3, 2), sp.Rational(1, 2)):
        text = fmt(sp.HadamardPower(x, k))
        assert text == f"x^∘({k})", text
        assert parse(text, table) == sp.HadamardPower(x, k)
    assert fmt(sp.HadamardPower(x, -1)) == "x^∘-1"  # a whole number stays bare


def test_a_name_of_several_letters_is_one_word_in_latex() -> None:
    """lam (a lasso's weight) was typeset l·a·m; \\mathit{lam}, read back as lam."""
    import sympy as sp

    from matderiv.parse.latex import parse_latex
    from matderiv.render.tex_printer import tex

    for name, want in (
        ("lam", r"\mathit{lam}"),
        ("loss_t", r"\mathit{loss}_{t}"),
        ("x1", "x_{1}"),
    ):
        text = tex(sp.Symbol(name))
        assert text == want, text
        assert parse_latex(text, {name: sp.Symbol(name)}) == sp.Symbol(name)
    assert tex(sp.Symbol("lambda")) == r"\lambda"  # a Greek letter stays a letter
