"""Candidates in every notation over everything the expression has: scalar symbols
(λ), zero matrices, the syntax's entrywise ``^``, matderiv's own LaTeX read back."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import MatDerivError, gradient, verify
from matderiv.parse.candidate import parse_candidate
from matderiv.render.unicode import fmt

n, m = sp.symbols("n m", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
x = sp.MatrixSymbol("x", n, 1)
b = sp.MatrixSymbol("b", m, 1)
lam = sp.Symbol("lambda", positive=True)
RIDGE = (A * x - b).T * (A * x - b) + lam * x.T * x


# scalar symbols of the expression


@pytest.mark.parametrize(
    "candidate",
    [
        "2 * A.T @ (A @ x - b) + 2 * lambda * x",  # matderiv's syntax
        r"2 A^T(Ax-b) + 2\lambda x",  # LaTeX
        "2 Aᵀ (A x - b) + 2·lambda x",  # Unicode, as fmt prints the gradient
    ],
)
def test_scalar_symbol_of_the_expression_in_a_candidate(candidate: str) -> None:
    v = verify(candidate, RIDGE, x, layout="denominator")
    assert v.kind == "correct", v.message


def test_the_printed_ridge_gradient_reads_back() -> None:
    printed = fmt(gradient(RIDGE, x).result)
    assert printed == "2 Aᵀ (A x - b) + 2·lambda x"
    assert verify(printed, RIDGE, x, layout="denominator").kind == "correct"


def test_scalar_symbol_and_dimension_parse_to_themselves() -> None:
    assert parse_candidate("lambda * x / n", RIDGE, {}) == lam * x / n
    wrong = verify(r"2 A^T (A x - b)", RIDGE, x, layout="denominator")
    assert wrong.kind == "missing-term" and "lacks the term 2·lambda x" in wrong.message


def test_a_symbol_named_by_its_own_name_is_accepted() -> None:
    """names={"lam": lam} names nothing new: it was refused as "already a symbol"."""
    lam2 = sp.Symbol("lam", positive=True)
    f = (A * x - b).T * (A * x - b) + lam2 * x.T * x
    v = verify("2 * A.T @ (A @ x - b) + 2 * lam * x", f, x, "denominator", names={"lam": lam2})
    assert v.kind == "correct", v.message
    assert gradient(f, x, names={"lam": lam2}).names == {}


def test_a_symbol_name_for_another_expression_is_refused_with_advice() -> None:
    with pytest.raises(MatDerivError, match=r"needs no entry in names=: candidates may use"):
        gradient(RIDGE, x, names={"x": A * x})


def test_unknown_symbol_message_is_not_only_command_line_advice() -> None:
    with pytest.raises(MatDerivError, match=r"may use the symbols of the expression and"):
        verify("mu * x", RIDGE, x, layout="denominator")
