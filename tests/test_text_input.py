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
