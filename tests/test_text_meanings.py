"""One formula, one meaning: text that two readers (matderiv's syntax, the Unicode
notation, LaTeX) would read differently is refused with how to write each reading,
and what is read is checked against NumPy at random values (a string-input sweep
found each case accepted with another meaning)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

import matderiv as md
from matderiv.parse.expr import parse_program
from matderiv.render.unicode import fmt

S = md.declare("A: n x n, B: n x n, x: n, s: scalar")
_rng = np.random.default_rng(29)
VALUES: dict[str, Any] = {
    "A": _rng.uniform(0.2, 1.0, (3, 3)) + 3 * np.eye(3),
    "B": _rng.uniform(0.2, 1.0, (3, 3)),
    "x": _rng.uniform(0.2, 1.0, (3, 1)),
    "s": 0.7,
    "T": 1.3,
    "X": _rng.uniform(0.2, 1.0, (3, 3)),
    "sigma": 0.4,
}
VALUES["W"], VALUES["y"], VALUES["w"] = VALUES["X"], VALUES["x"][::-1], VALUES["x"]
A, B, x, s = (VALUES[k] for k in "ABxs")


def value(text: str, symbols: Any = S) -> np.ndarray:
    """``text`` parsed and evaluated at VALUES, as a 2-D array."""
    expr = md.parse(text, symbols)
    names = {v.name for v in expr.free_symbols if v.name in VALUES}
    return np.atleast_2d(np.asarray(md.evaluate(expr, {k: VALUES[k] for k in names}), float))


def close(text: str, expected: Any, symbols: Any = S) -> None:
    np.testing.assert_allclose(value(text, symbols), np.atleast_2d(expected), rtol=1e-10)


# -- ASCII ^ beside the Unicode operators: entrywise in the syntax, a matrix power in
#    the Unicode notation; "A^2 + Aᵀ" went to the Unicode reader (the matrix square)
#    while "A^2 + A.T" was A∘A


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("A^2 + Aᵀ", r"Write A² or matrix_power\(A, 2\) for the matrix power, A∘A or A\^∘2"),
        ("A^-1 + Bᵀ", r"Write A⁻¹ or inv\(A\) for the inverse, A\^∘-1 for the entrywise"),
        ("A^2 ∘ B", "A² or matrix_power"),
        ("tanh(A^2) ⊗ x", "A² or matrix_power"),
        ("(A⁻¹)^2", r"\(A⁻¹\)² or matrix_power\(A⁻¹, 2\)"),
        ("Aᵀ + A^3", "A³ or matrix_power"),
    ],
)
def test_an_ascii_power_beside_unicode_operators_is_refused(text: str, written: str) -> None:
    with pytest.raises(md.ParseError, match=f"ambiguous here(?s:.*){written}"):
        md.parse(text, S)


def test_each_reading_of_a_power_is_written_one_way() -> None:
    close("A^2 + A.T", A * A + A.T)  # the syntax: entrywise
    close("A² + Aᵀ", A @ A + A.T)  # as printed: the matrix power
    close("A∘A + Aᵀ", A * A + A.T)
    close("A^∘2 + Aᵀ", A * A + A.T)
    close("A⁻¹ + Bᵀ", np.linalg.inv(A) + B.T)
    close("A^∘-1 + Bᵀ", 1 / A + B.T)
    close("A^2 Aᵀ", A @ A @ A.T)  # juxtaposed: not the syntax, the one reading is math's
    close("x^2 + s·x", x**2 + s * x)  # a vector's power is entrywise in both
    close("s^2 xᵀ x + s^2", s**2 * x.T @ x + s**2)
    # what the printer writes for each reads back
    for expr in (S["A"] ** 2 + S["A"].T, sp.HadamardPower(S["A"], 2) + S["A"].T):
        close(fmt(expr), md.evaluate(expr, {"A": A}))
    close(fmt(sp.HadamardPower(S["A"], -1) + S["B"].T), 1 / A + B.T)


# -- a program's bare expression before its last statement was dropped without a word
#    ("x.T @ x; A @ x" was A x)


@pytest.mark.parametrize(
    ("text", "where"),
    [("x.T @ x; A @ x", "statement 1"), ("a = x; A @ a; a", "statement 2")],
)
def test_a_bare_statement_before_the_last_is_refused(text: str, where: str) -> None:
    with pytest.raises(md.ParseError, match=f"{where} is an expression that is not the last"):
        md.parse(text, S)


def test_a_bare_statement_is_pointed_at() -> None:
    with pytest.raises(md.ParseError) as caught:
        md.parse("a = x;  A @ a; a", S)
    line, marker = str(caught.value).split("\n")[1:3]
    assert line[marker.index("^") :].startswith("A @ a")


def test_definitions_and_a_last_expression_still_read() -> None:
    close("a = A @ x; a.T @ a", x.T @ A.T @ A @ x)
    close("a = A @ x; L = a.T @ a;", x.T @ A.T @ A @ x)
    close("A @ x;", A @ x)


# -- X^T with a T declared was the entrywise power X^∘T, the transpose everywhere else

S4 = md.declare("X: n x n, T: scalar")
X, T = VALUES["X"], VALUES["T"]


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("X^T", S4),
        ("X^T @ X", S4),
        ("X.T @ X + X^T", S4),
        ("T = s * 2; A^T @ x", S),  # a name defined so
        ("X^T", "X: T x T"),  # a dimension
    ],
)
def test_a_power_by_a_declared_t_is_refused_as_ambiguous(text: str, symbols: Any) -> None:
    with pytest.raises(md.ParseError, match=r"\^T is ambiguous here(?s:.*)\.T \(or .*'\) for the"):
        md.parse(text, symbols)


def test_each_reading_of_x_to_the_t_is_written_one_way() -> None:
    close("X**T @ X", (X**T) @ X, S4)
    close("X^(T) @ X", (X**T) @ X, S4)
    close("X.T @ X", X.T @ X, S4)
    close("X' @ X", X.T @ X, S4)
    close("(x.T @ x)^T + T", (x.T @ x) ** T + T, "x: n, T: scalar")  # 1 x 1: a scalar's
    close("X^T @ A", X.T @ A, "X: n x n, A: n x n")  # no T declared: the transpose


# -- a transpose after an exponent bound to the exponent (a number: dropped): A^2' was A∘A


@pytest.mark.parametrize(
    ("text", "write"),
    [
        ("A^2'", r"\(A\^2\)\.T"),
        ("A^2^T", "the power in parentheses, then .T"),
        ("((A + B)')**2'", r"\(\(\(A \+ B\)\.T\)\^2\)\.T"),
        ("A^-2'", r"\(A\^-2\)\.T"),
        ("A^s.T", r"\(A\^s\)\.T"),
        ("A^(2)'", r"\(A\^2\)\.T"),
    ],
)
def test_a_transpose_after_an_exponent_is_refused(text: str, write: str) -> None:
    with pytest.raises(md.ParseError, match=f"applies to the exponent(?s:.*)Write {write}"):
        md.parse(text, S)


def test_a_transposed_power_is_written_with_parentheses() -> None:
    close("(A^2)' + B", (A * A).T + B)
    close("(A^2).T @ x", (A * A).T @ x)
    close("(A.T)^2 + A.T^2", 2 * (A.T * A.T))
    close("A² ᵀ + B", (A @ A).T + B)  # the Unicode notation: the matrix power, transposed


# -- stacked exponents: right to left in the syntax (Python's 2**3**2) but left to right
#    in the Unicode notation (s^2^3 xᵀx was s⁶ xᵀx); a number to a symbolic power was
#    refused with "Cannot convert expression to float"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s^2^3 * x.T @ x", s**8 * x.T @ x),
        ("s^2^3 xᵀx", s**8 * x.T @ x),
        ("s**2**3 xᵀx", s**8 * x.T @ x),
        ("2^3^2 xᵀ", 512 * x.T),
        ("s^2^3^2 + s", s**512 + s),
        ("s^3^-1^2 xᵀ", s**3 * x.T),
        ("A^2^2 Aᵀ", np.linalg.matrix_power(A, 4) @ A.T),
        ("x^2^2 ∘ x", x**5),
    ],
)
def test_stacked_exponents_read_right_to_left_in_both_notations(text: str, expected: Any) -> None:
    close(text, expected)


def test_a_number_to_a_symbolic_power() -> None:
    close("2**s * x", 2**s * x)
    close("2^(x.T @ x) * x", 2 ** (x.T @ x) * x)
    close("2^2^s * x", 2 ** (2**s) * x)
    with pytest.raises(md.ParseError, match="an exponent larger than 1000"):
        md.parse("s^9^9 xᵀ", S)


# -- σ(x) with a symbol called sigma: sigma·x (README), as sigma(x) and \sigma(x) read;
#    it was the sigmoid in the Unicode notation only

S6 = md.declare("x: n, sigma: scalar, W: n x n")
sigma, W = VALUES["sigma"], VALUES["X"]


def test_sigma_before_a_parenthesis_is_the_symbol_when_one_is_called_sigma() -> None:
    close("σ(x)", sigma * x, S6)
    close("sigma(x)", sigma * x, S6)
    close("2·σ(W x) + x", 2 * sigma * W @ x + x, S6)
    close("σ(x)", 1 / (1 + np.exp(-x)), "x: n")  # no symbol sigma: the sigmoid
    close("σ(x) ∘ x", x / (1 + np.exp(-x)), "x: n")


# -- a Unicode minus sign (U+2212) beside LaTeX commands: refused as "LaTeX commands do
#    not mix with the Unicode notation"


def test_a_pasted_minus_sign_does_not_make_latex_unicode() -> None:
    S2 = md.declare("x: n, y: n, A: n x n")
    y = VALUES["y"]
    close(r"\frac{1}{2} x − y", x / 2 - y, S2)
    close(r"x^\top A x − \tfrac{1}{2} y^\top y", x.T @ A @ x - y.T @ y / 2, S2)
    close("x − y", x - y, S2)
    close("xᵀ A x − 1", x.T @ A @ x - 1, S2)


# -- a ones or zeros matrix with an unbraced subscript that is no dimension: 𝟏_9nᵀ x was
#    read as 𝟏ᵀ x of a 1 x 9n 𝟏 (the printer writes 𝟏_n, 𝟏₃ and 𝟏_{m·n})


@pytest.mark.parametrize("text", ["𝟏_9nᵀ x", "𝟏_n7ᵀ x", "𝟎_nnᵀ x + 1"])
def test_a_garbled_size_subscript_is_refused(text: str) -> None:
    with pytest.raises(md.ParseError, match="is not one dimension or number"):
        md.parse(text, S)


def test_sizes_as_printed_still_read() -> None:
    close("𝟏_nᵀ x", x.sum())
    close("𝟏ₙᵀ x + 𝟏₃ᵀ y", x.sum() + VALUES["y"].sum(), "x: n, y: 3")
    close("𝟏_nhᵀ w", VALUES["x"].sum(), "w: nh")


# -- a definition of a size: 'n = 3; f = x.T @ x' was accepted, and n = 3 changed no
#    size (n * x.T @ x was 3 xᵀx, zeros(n, 1) of size 3 beside x of size n)


@pytest.mark.parametrize(
    "text", ["n = 3; f = x.T @ x", "n = 3; f = n * x.T @ x", "a = x; n = 2; f = a.T @ a"]
)
def test_a_definition_of_a_size_is_refused(text: str) -> None:
    says = (
        r"n is a size \(A: n x n, B: n x n, x: n\), and a definition cannot set it(?s:.*)"
        r"declare numbers in the shapes, as 'A: 3 x 3, B: 3 x 3, x: 3'"
    )
    with pytest.raises(md.ParseError, match=says):
        md.parse(text, S)
    with pytest.raises(md.ParseError, match=says):  # as the CLI's --program reads it
        parse_program(text, S, as_program=True)


# -- a sized constant of another size in a program: refused by the syntax, as in a
#    formula (0_{n×m} + W of an m x n W was read as W by LaTeX and Unicode)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a = zeros(n, m); f = W + a", r"W has shape \(m × n\) but 𝟎_{n×m} has shape"),
        ("a = eye(m); f = W @ a", "inner dimensions n and m do not agree"),
        ("a = ones(n, m); f = W * a", r"W has shape \(m × n\) but 𝟏_{n×m} has shape"),
    ],
)
def test_a_sized_constant_of_another_size_in_a_program_is_refused(text: str, says: str) -> None:
    with pytest.raises(md.ShapeMismatch, match=says):
        md.parse(text, "W: m x n")
    with pytest.raises(md.ShapeMismatch):
        parse_program(text, md.declare("W: m x n"), as_program=True)


@pytest.mark.parametrize(
    "text",
    ["a = 0; f = a + W", "a = zeros(m, n); f = W - a", "f = 0 + W", "a = eye(m); f = a @ W"],
)
def test_a_zero_or_identity_that_fits_leaves_w(text: str) -> None:
    """0 + W was W + 0 (a zero times the ones matrix, printed W + 0)."""
    S = md.declare("W: m x n")
    assert md.parse(text, S) == S["W"]


# -- ∘ beside a matrix product: printed without spaces it binds first (A∘B X is
#    (A∘B) X, A x∘x is A (x∘x)); LaTeX's \circ binds after the product. "Wᵀ y ∘ σ(x)",
#    as a person writes (Wᵀ y)∘σ(x), read as Wᵀ (y∘σ(x))


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("Wᵀ y ∘ σ(x)", 6),
        ("A ∘ B W", 3),
        ("A W ∘ B", 5),
        ("x ∘ A x", 3),
        ("A∘ B W", 2),
        ("A ⊘ B W", 3),
        ("(A) ∘ (B) W", 5),
        ("xᵀ A x x ∘ y", 10),
    ],
)
def test_a_spaced_hadamard_beside_a_matrix_product_is_refused(text: str, column: int) -> None:
    symbols = md.declare("A: n x n, B: n x n, W: n x n, x: n, y: n")
    with pytest.raises(md.ParseError, match="is ambiguous here: ") as caught:
        md.parse(text, symbols)
    assert "write the parentheses you mean" in str(caught.value)
    assert f"(at column {column})" in str(caught.value)


def test_each_reading_of_a_hadamard_beside_a_product_is_written_one_way() -> None:
    symbols = md.declare("A: n x n, B: n x n, W: n x n, x: n, y: n")
    W, y = VALUES["W"], VALUES["y"]
    sigma = 1 / (1 + np.exp(-x))
    first, after = (W.T @ y) * sigma, W.T @ (y * sigma)
    for text, expected in [
        ("(Wᵀ y) ∘ σ(x)", first),
        ("Wᵀ (y ∘ σ(x))", after),
        ("Wᵀ y∘σ(x)", after),  # as printed: ∘ without spaces binds first
        ("(A ∘ B) W", (A * B) @ W),
        ("W ((A) ∘ B)", W @ (A * B)),
        ("((A ∘ B)) W", (A * B) @ W),
        ("A ∘ (B W)", A * (B @ W)),
        ("A x∘x", A @ (x * x)),
        ("2 x ∘ y", 2 * x * y),  # a scalar beside it: either reading
        ("A W ∘ 2", 2 * A @ VALUES["W"]),  # a ∘ with a scalar scales: either reading
        ("1 - x ∘ x", 1 - x * x),
        (r"(W^T y) \circ \sigma(x)", first),
        (r"W^T y \circ \sigma(x)", first),  # LaTeX: \circ after the product
    ]:
        close(text, expected, symbols)
