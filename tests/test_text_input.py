"""matderiv.declare and matderiv.parse: formulas as text in Python (the error messages
pointed to "matderiv's parser", which was not public)."""

from __future__ import annotations

import pytest
import sympy as sp

import matderiv as md
from matderiv.testing import check_derivation


@pytest.mark.parametrize(
    "text", ["x.T @ A @ x", "x^T A x", r"x^\top A x", "xᵀ A x", "a = A @ x; L = x.T @ a"]
)
def test_every_notation_parses_to_the_same_function(text: str) -> None:
    S = md.declare("A: n x n, x: n")
    d = md.gradient(md.parse(text, S), S["x"])
    assert d.result == (S["A"] + S["A"].T) * S["x"]
    check_derivation(d, {sp.Symbol("n", integer=True, positive=True): 3})


def test_declarations_may_be_given_as_text_and_scalars_declared() -> None:
    f = md.parse("lam * x.T @ x", "x: n, lam: scalar")
    assert {s.name for s in f.free_symbols} == {"lam", "x"}


def test_the_messages_point_to_declare_and_parse() -> None:
    S = md.declare("A: n x n, x: n")
    with pytest.raises(md.MatDerivError, match=r"matderiv\.parse\("):
        md.derive("x.T @ A @ x", S["x"])
    with pytest.raises(md.MatDerivError, match=r"matderiv\.declare\("):
        md.derive(S["x"].T * S["x"], "x")
    with pytest.raises(md.ParseError, match="parse takes a string"):
        md.parse(3, S)


def test_review_findings_on_the_new_readers() -> None:
    """½ in the syntax (hint), lamx for a scalar lam (lam * x), symbols given as a list
    (parse hung: dict() of a MatrixSymbol of symbolic size never ends)."""
    S = md.declare("x: n, lam: scalar")
    with pytest.raises(md.ParseError, match="Write 1/2 for ½"):
        md.parse("½ * x.T @ x", S)
    with pytest.raises(md.ParseError, match=r"Did you mean lam \* x\?"):
        md.parse("sum(lamx)", S)
    with pytest.raises(md.ParseError, match="got a list"):
        md.parse("x.T @ x", [S["x"]])


def test_a_printed_headline_is_read_with_its_names_substituted() -> None:
    """ "A v, with v = B x" went to the program reader (it has "=") and came back as the
    last definition, B x (found by a reviewer pasting an attention gradient back)."""
    S = md.declare("A: n x n, B: n x n, x: n, K: m x n, q: n, V: m x n")
    A, B, x, K, q, V = (S[k] for k in ("A", "B", "x", "K", "q", "V"))
    assert md.parse("A v, with v = B x", S) == A * B * x
    assert md.parse("Aᵀ x, with v = B x", S) == A.T * x  # a name the formula does not use
    s = md.softmax(K * q)
    got = md.parse("Vᵀ (diag(v₂) - v₂ v₂ᵀ) K, with v₂ = softmax(K q)", S)
    assert got == V.T * (md.diag(s) - s * s.T) * K
    assert md.parse(r"A v, \quad \text{with } v = B x", S) == A * B * x


@pytest.mark.parametrize(
    ("text", "bracket"),
    [
        ("x[0]", "[0]"),
        ("A[1]", "[1]"),
        ("A[0][1]", "[0]"),
        ("log(x)[0]", "[0]"),
        ("x[0,0]", "[0,0]"),
        ("A[:, 0]", "[:, 0]"),
        ("x{0}", "{0}"),
        (r"\mathbf{x}[2]", "[2]"),
        (r"x\left[0\right]", r"\left[0\right]"),
    ],
)
def test_indexing_is_refused_not_read_as_a_product(text: str, bracket: str) -> None:
    """x[0] failed matderiv's syntax and LaTeX read it as x times the group [0]: the
    formula was silently 0 (x[2] was 2x), its derivative 0, and verify called 0 right
    (found by a tester's sweep)."""
    S = md.declare("x: n, A: n x n")
    with pytest.raises(md.ParseError, match="indexing") as caught:
        md.parse(text, S)
    assert bracket in str(caught.value)
    caret_line = str(caught.value).splitlines()[-1]
    assert caret_line.index("^") - 4 == text.index(bracket)  # under the bracket
    with pytest.raises(md.ParseError, match="indexing"):
        md.verify(text, S["x"].T * S["x"], S["x"])


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("A [x + x]", 2),
        (r"A \left[x + x\right]", 2),
        ("[2] A x", 2),
        (r"\frac{1}{2} A x", sp.Rational(1, 2)),
        (r"\sqrt{2} A x", sp.sqrt(2)),
    ],
)
def test_brackets_as_grouping_and_braced_arguments_still_read(text: str, factor) -> None:
    S = md.declare("x: n, A: n x n")
    got = md.parse(text, S)
    assert sp.simplify((got - factor * S["A"] * S["x"]).doit()) == sp.ZeroMatrix(*got.shape)


@pytest.mark.parametrize("text", ["logdet(X)", "det(X)", "inv(X)", "tr(X)", "logdet(B)"])
def test_a_function_of_a_square_matrix_names_the_matrix_and_its_shape(text: str) -> None:
    """logdet(X) of a 2 x 3 X gave SymPy's bare "logdet: Det of a non-square matrix"
    (a tester's sweep); every such function names the matrix, its shape and a hint."""
    S = md.declare("X: 2 x 3, B: n x m")
    name = text.split("(")[0]
    matrix = text[len(name) + 1]
    shape = "(2 × 3)" if matrix == "X" else "(n × m)"
    with pytest.raises(md.ShapeMismatch) as caught:
        md.parse(text, S)
    message = str(caught.value)
    assert message.startswith(f"{name} needs a square matrix, but {matrix} has shape {shape}")
    assert "Hint:" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"\sqrt[1]{s}", r"\\sqrt\[1\] needs a whole number from 2"),
        (r"\sqrt[2.5]{s}", r"\\sqrt\[2\.5\] needs a whole number from 2"),
        (r"\det(X)^{x}", "the exponent of a power must be a scalar"),
        ("det(Xᵀ)^(x)", r"the exponent after \^ must be a scalar"),
        ("det(Xᵀ)^x", r"the exponent after \^ must be a scalar"),
        ("(Xᵀ X)^(s)", r"only a scalar takes a power \^\(\.\.\.\) by a formula"),
    ],
)
def test_powers_by_a_formula_refuse_what_they_cannot_mean(text: str, message: str) -> None:
    """A scalar's power by a formula reads back (d^{s - 1}, det(X)^(s - 1)); a root
    that is not a whole number from 2, a matrix exponent, or a matrix base is refused."""
    S = md.declare("X: n x n, s: scalar, x: n")
    with pytest.raises(md.ParseError, match=message):
        md.parse(text, S)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("W y", "inner dimensions n and m do not agree"),  # Unicode/LaTeX: was returned
        (r"W \mathbf{y}", "inner dimensions n and m do not agree"),
        ("Wᵀ + W", "must have the same shape"),
        ("y ∘ x", "must have the same shape"),
        ("W @ y", "inner dimensions n and m do not agree"),  # the syntax's, as before
        ("0 W y", r"the product W · y is not defined"),  # the 0 hid it (read as 0)
        ("0·W y", r"the product W · y is not defined"),
    ],
)
def test_parse_refuses_operands_that_do_not_conform(text: str, says: str) -> None:
    symbols = md.declare("W: m x n, x: n, y: m")
    with pytest.raises(md.ShapeMismatch, match=says):
        md.parse(text, symbols)
