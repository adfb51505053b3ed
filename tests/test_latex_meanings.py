"""LaTeX that a reader means one way and the parser read another: refused with the
braces or parentheses to write, or read as meant (a tester's sweep of string inputs;
each was accepted silently before).  Meanings are checked numerically."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import (
    ParseError,
    ShapeMismatch,
    UnsupportedNode,
    declare,
    derive,
    evaluate,
    parse,
)
from matderiv.parse.latex import parse_latex

SYMBOLS = declare("A: n x n, B: n x n, x: n, s: scalar, e: scalar")
A, B, x, s, e = (SYMBOLS[k] for k in ("A", "B", "x", "s", "e"))
rng = np.random.default_rng(7)
VALUES = {
    A: rng.standard_normal((3, 3)),
    B: rng.standard_normal((3, 3)),
    x: rng.standard_normal((3, 1)),
    s: 1.3,
    e: 0.7,
}


def _value(expr: sp.Basic) -> np.ndarray:
    return np.atleast_2d(np.asarray(evaluate(expr, VALUES), dtype=float))


@pytest.mark.parametrize("text", ["s^10 x", "x^T A x + s^10", "s^0.5 x", "A^12 x", "s^-10 x"])
def test_an_exponent_of_several_digits_needs_braces(text: str) -> None:
    """TeX takes one character after ^: s^10 x was read as s¹·0 x = 0 (and s^0.5 x as
    x/2, s^12 x as 2 s x)."""
    with pytest.raises(ParseError, match=r"without braces.*write \^\{"):
        parse_latex(text, SYMBOLS)


def test_an_exponent_in_braces_reads_whole() -> None:
    got = _value(parse_latex("s^{10} x", SYMBOLS))
    np.testing.assert_allclose(got, VALUES[s] ** 10 * VALUES[x])


@pytest.mark.parametrize(
    ("text", "scale"), [("1e-3", 1e-3), ("2.5e-3", 2.5e-3), ("4e+2", 400.0), (".5e-1", 0.05)]
)
def test_scientific_notation_is_a_number(text: str, scale: float) -> None:
    """1e-3 was read as the symbol e (e - 3 x^T x with e declared, else "unknown symbol
    'e'")."""
    got = _value(parse_latex(f"x^T A x + {text} x^T x", SYMBOLS))
    X, M = VALUES[x], VALUES[A]
    np.testing.assert_allclose(got, X.T @ M @ X + scale * X.T @ X)
    # e·x, with e declared, is still the symbol: no digits after a sign
    np.testing.assert_allclose(_value(parse_latex("2 e x", SYMBOLS)), 2 * 0.7 * X)


@pytest.mark.parametrize(
    "text",
    [r"\operatorname{tr} A B", r"\det A B", r"\log x^T A x", r"\tanh A^T x", r"\log x \cdot s"],
)
def test_a_function_without_parentheses_before_more_factors_is_refused(text: str) -> None:
    r"""\operatorname{tr} A B was tr(A)·B (a matrix), \log x^T A x was log∘(xᵀ) A x."""
    with pytest.raises(ParseError, match="without parentheses applies to the one factor"):
        parse_latex(text, SYMBOLS)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (r"\log\det A^T A", None),  # refused: \det takes A^T only
        (r"\operatorname{tr}(A B)", lambda V: np.trace(V[A] @ V[B])),
        (r"\operatorname{tr}(A) B", lambda V: np.trace(V[A]) * V[B]),
        (r"2 \operatorname{tr} A", lambda V: 2 * np.trace(V[A])),
        (r"\operatorname{tr} A + s", lambda V: np.trace(V[A]) + V[s]),
        (r"\tanh x / 2", lambda V: np.tanh(V[x]) / 2),
        (r"\exp x \circ x", lambda V: np.exp(V[x]) * V[x]),
    ],
)
def test_a_function_without_parentheses_alone_reads_as_before(text, want) -> None:
    if want is None:
        with pytest.raises(ParseError, match="without parentheses"):
            parse_latex(text, SYMBOLS)
        return
    np.testing.assert_allclose(_value(parse_latex(text, SYMBOLS)), np.atleast_2d(want(VALUES)))


@pytest.mark.parametrize("text", ["x^T A x / x^T x", "1 / x^T x", "s / x^T A x"])
def test_dividing_by_a_matrix_before_more_factors_is_refused(text: str) -> None:
    """x^T A x / x^T x was (xᵀ A x) (xᵀ)^∘-1 x = n xᵀ A x, not the Rayleigh quotient."""
    with pytest.raises(ParseError, match="divides by the one factor after it"):
        parse_latex(text, SYMBOLS)


def test_the_rayleigh_quotient_in_parentheses_or_frac() -> None:
    X, M = VALUES[x], VALUES[A]
    want = (X.T @ M @ X) / (X.T @ X)
    for text in (r"(x^T A x) / (x^T x)", r"\frac{x^T A x}{x^T x}", "x^T A x / (x^T x)"):
        np.testing.assert_allclose(_value(parse_latex(text, SYMBOLS)), want, err_msg=text)


def test_a_transpose_marker_is_refused_where_a_symbol_is_called_t() -> None:
    """With a scalar T declared, X^T read as the power by T in one notation and the
    transpose in another: refused in LaTeX, with both spellings."""
    table = declare("X: n x n, T: scalar, x: n")
    for text in ("X^T X", "X^{T} X", "x^{-T} X"):
        with pytest.raises(ParseError, match=r"ambiguous: T is also a symbol.*\\top"):
            parse_latex(text, table)
    got = parse_latex(r"X^{\top} X", table)
    assert got == table["X"].T * table["X"]
    power = parse_latex(r"X^{\circ T}", table)
    assert isinstance(power, sp.HadamardPower) and str(power.exp) == "T"


def test_a_large_matrix_power_is_refused_by_name_not_expanded() -> None:
    """A^{1000} x was written out as a 1000-term sum (8 s); a program squaring A 40
    times (A^(2^40)) ran past 90 s.  The power is refused by the rule, whatever the
    spelling."""
    with pytest.raises(UnsupportedNode, match=r"\|k\| = 1000 terms"):
        derive(parse_latex("A^{1000} x", SYMBOLS), A)
    program = "; ".join(["a0 = A", *(f"a{k} = a{k - 1} @ a{k - 1}" for k in range(1, 41))])
    expr = parse(program + "; a40 @ x", SYMBOLS)
    with pytest.raises(UnsupportedNode, match="matrix power"):
        derive(expr, A)
    d = derive(A**3 * x, A)  # small powers still differentiate
    assert d.result is not None


def test_an_identity_of_another_symbolic_size_is_refused() -> None:
    """x^T I_m x of an n-vector x: SymPy's product dropped I_m, and the gradient was
    2 x; it was then kept for derive to name, and is now refused as read, with the
    sizes and the identity that fits."""
    table = declare("x: n, y: m")
    says = r"xᵀ · I_m .*\(1 x n\) times \(m x m\), and n ≠ m.*write I_n"
    with pytest.raises(ShapeMismatch, match=says):
        parse_latex("x^T I_m x", table)
    assert parse_latex("x^T I_n x", table) == table["x"].T * table["x"]  # the right size


MN = declare("W: m x n, y: m")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (r"\mathbf{0}_{n \times m} + W", r"adds W \(m x n\) and 𝟎_{n×m} \(n x m\).*write 𝟎_{m×n}"),
        (r"W + \mathbf{0}_{n \times m}", r"adds W \(m x n\) and 𝟎_{n×m} \(n x m\)"),
        (r"W - \mathbf{0}_{n \times m}", r"𝟎_{n×m} \(n x m\).*write 𝟎_{m×n}"),
        (r"3 \mathbf{0}_{n \times m} + W", r"𝟎_{n×m} \(n x m\)"),
        (r"(\mathbf{0}_{n \times m} + W) y", r"𝟎_{n×m} \(n x m\)"),
        ("𝟎_{n×m} + W", r"adds W \(m x n\) and 𝟎_{n×m} \(n x m\).*write 𝟎_{m×n}"),
        ("W - 𝟎_{n×m}", r"𝟎_{n×m} \(n x m\)"),
        (r"I_{n} + W", r"I_n \(n x n\).*W is not square"),
        (r"W + I_{m}", r"I_m \(m x m\).*W is not square"),
        ("I_m + W", r"I_m \(m x m\)"),
        (r"\mathbf{1}_{n} + W", r"𝟏_n \(n x 1\).*write 𝟏_{m×n}"),
        (r"W + \mathbf{1}_{n \times m}", r"𝟏_{n×m} \(n x m\).*write 𝟏_{m×n}"),
        ("𝟏_n + W", r"𝟏_n \(n x 1\)"),
        (r"W \circ \mathbf{0}_{n \times m}", r"Hadamard product of W \(m x n\) and 𝟎_{n×m}"),
        ("W ∘ 𝟎_{n×m}", r"Hadamard product of W \(m x n\) and 𝟎_{n×m}"),
        (r"W \mathbf{0}_{m \times m}", r"W · 𝟎_{m×m}.*\(m x n\) times \(m x m\).*write 𝟎_{n×m}"),
        (r"\mathbf{0}_{n \times n} W", r"𝟎_{n×n} · W.*write 𝟎_{n×m}"),
        (r"W I_{m}", r"W · I_m.*n ≠ m.*write I_n"),
        (r"I_{n} W", r"I_n · W.*n ≠ m.*write I_m"),
        (r"W \mathbf{1}_{m}", r"W · 𝟏_m.*write 𝟏_n"),
        ("W 𝟎_{m×m}", r"W · 𝟎_{m×m}"),
        ("W I_m", r"W · I_m"),
    ],
)
def test_a_sized_constant_of_another_symbolic_size_is_refused(text: str, says: str) -> None:
    """0_{n×m} + W with W m x n was read as W (the zero, first, set the sum's shape, and
    then matched itself); the others were kept ill-formed.  A sized 0, I or 1 of another
    symbolic size is refused, with the shapes and the constant that fits."""
    with pytest.raises(ShapeMismatch, match=says):
        parse(text, MN)


@pytest.mark.parametrize(
    "text",
    [
        r"\mathbf{0}_{m \times n} + W",
        r"W + \mathbf{0}_{m \times n}",
        r"W - \mathbf{0}_{m \times n}",
        "𝟎_{m×n} + W",
        r"W + \mathbf{0}_{m,n}",
    ],
)
def test_a_zero_of_the_right_size_is_dropped_from_a_sum(text: str) -> None:
    assert parse(text, MN) == MN["W"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"I_{m} W", "W"),
        (r"W I_{n}", "W"),
        (r"W \mathbf{0}_{n \times m}", "0"),
        (r"\mathbf{1}_{m}^T W", "ones"),
        ("0 + W", "W"),
        ("W - 0", "W"),
        (r"W + \mathbf{1}_{m \times n}", "W+ones"),
    ],
)
def test_sized_constants_of_the_right_size_read_as_before(text: str, expected: str) -> None:
    W = MN["W"]
    m, n = W.shape
    want = {
        "W": W,
        "0": sp.ZeroMatrix(m, m),
        "ones": sp.OneMatrix(1, m) * W,
        "W+ones": W + sp.OneMatrix(m, n),
    }[expected]
    assert parse(text, MN) == want


@pytest.mark.parametrize("text", [r"I^{\circ 0} x", r"(2 I)^{\circ -1} x", r"I^{\circ s} x"])
def test_a_non_positive_entrywise_power_of_an_unsized_identity_is_refused(text: str) -> None:
    """I^{∘0} x was read as x (I^{∘0} is the matrix of ones), (2 I)^{∘-1} x as x/2 (its
    entries off the diagonal are infinite)."""
    with pytest.raises(ParseError, match="of an identity is not an identity"):
        parse_latex(text, SYMBOLS)


def test_a_positive_entrywise_power_of_an_unsized_identity_is_its_scaled_identity() -> None:
    got = _value(parse_latex(r"(2 I)^{\circ 3} x", SYMBOLS))
    np.testing.assert_allclose(got, 8 * VALUES[x])


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (r"e^{x} \circ e^{A}", "exp(x)"),
        (r"(x \circ x) + A", "x∘x"),
        (r"\tanh(x)^T \tanh(A) A", "tanh"),
    ],
)
def test_shape_errors_show_formulas_as_matderiv_prints_them(text: str, shown: str) -> None:
    """The messages wrote SymPy's repr: Lambda(_d, exp(_d)).(x), HadamardPower(v3, 2)."""
    table = declare("x: 3, A: 4 x 4")
    with pytest.raises(Exception) as info:
        parse_latex(text, table)
    message = str(info.value)
    assert shown in message, message
    assert "Lambda(" not in message and "HadamardPower(" not in message, message


@pytest.mark.parametrize(
    ("text", "k"), [("s^{0.5} x", 0.5), ("s^{2.5/5} x", 0.5), ("s^{1.5} x", 1.5)]
)
def test_a_decimal_exponent_in_braces_is_read(text: str, k: float) -> None:
    """x^{1/2} was read and x^{0.5} refused ("unsupported superscript")."""
    np.testing.assert_allclose(_value(parse_latex(text, SYMBOLS)), VALUES[s] ** k * VALUES[x])


def test_a_transpose_marker_is_refused_in_the_unicode_reader_too() -> None:
    """X^T X with a scalar T declared: refused by the syntax and LaTeX, it was read by
    the Unicode reader as Xᵀ X."""
    from matderiv.parse.unicode import parse_unicode

    table = declare("X: n x n, T: scalar")
    with pytest.raises(ParseError, match="ambiguous: T is also a symbol"):
        parse_unicode("X^T X", table)
    with pytest.raises(ParseError):
        parse("X^T X", table)
    assert parse("Xᵀ X", table) == table["X"].T * table["X"]


@pytest.mark.parametrize("text", ["s^2^3 x", "s^{2}^{3} x", r"A^{\circ 2}^{2} x"])
def test_two_exponents_in_a_row_are_refused(text: str) -> None:
    """s^2^3 x was read as s⁶ x (TeX refuses a double superscript; the syntax reads
    s^2^3 as s⁸)."""
    with pytest.raises(ParseError, match="two exponents in a row"):
        parse_latex(text, SYMBOLS)


def test_a_transpose_after_an_inverse_still_reads_one_way() -> None:
    np.testing.assert_allclose(
        _value(parse_latex(r"A^{-1}^T x", SYMBOLS)), np.linalg.inv(VALUES[A]).T @ VALUES[x]
    )
    np.testing.assert_allclose(
        _value(parse_latex("(s^2)^3 x", SYMBOLS)), VALUES[s] ** 6 * VALUES[x]
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("s^10 x", r"write ^{10}"),
        ("x^T A x + s^10", r"write ^{10}"),
        (r"\operatorname{tr} A B", "without parentheses applies"),
    ],
)
def test_parse_shows_the_latex_refusal_not_the_syntax_error(text: str, says: str) -> None:
    """parse("s^10 x") said the syntax's "syntax error; expected '@', ..." though LaTeX
    had said what to write."""
    with pytest.raises(ParseError) as info:
        parse(text, SYMBOLS)
    assert says in str(info.value), str(info.value)
