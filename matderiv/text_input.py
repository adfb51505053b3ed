"""Formulas as text in Python: ``declare`` the symbols, ``parse`` a formula over them.

    S = declare("A: n x n, x: n, lam: scalar")
    f = parse("x.T @ A @ x + lam * x.T @ x", S)  # matderiv's syntax, LaTeX or Unicode
    gradient(f, S["x"])

The text is read by a parser, never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from .errors import ParseError
from .parse.candidate import is_headline, parse_notation, read_formula, read_headline
from .parse.declarations import parse_shapes
from .parse.expr import parse_expression
from .shapes import check_shapes

__all__ = ["declare", "parse"]


def declare(shapes: str) -> dict[str, sp.MatrixSymbol]:
    """MatrixSymbols by name from declarations as the command line's --shapes takes
    them: ``"W: n x m, x: m, lam: scalar"`` (one size: a column; sizes are names or
    positive integers, NumPy's ``(n, m)`` too)."""
    return parse_shapes(shapes)


def parse(text: str, symbols: str | Mapping[str, Any]) -> Any:
    """The SymPy expression of ``text`` over ``symbols`` (a ``declare`` result, a dict
    of names to MatrixSymbols, or declarations as a string).

    ``text`` is in matderiv's syntax (``x.T @ A @ x``, definitions ``a = ...; L = ...``
    substituted), in LaTeX (``x^\\top A x``) or in the Unicode notation matderiv prints
    (``xᵀ A x``), told apart as ``verify`` tells a candidate's notation.  Operands
    whose shapes do not conform raise ShapeMismatch."""
    if not isinstance(text, str):
        raise ParseError(f"parse takes a string, got {type(text).__name__}")
    if not isinstance(symbols, (str, Mapping)):
        raise ParseError(
            f"parse takes the symbols as declare() gives them (a dict of names to "
            f"MatrixSymbols) or as declarations ('A: n x n, x: n'), got a "
            f"{type(symbols).__name__}"
        )
    table = declare(symbols) if isinstance(symbols, str) else dict(symbols)
    if is_headline(text):  # as matderiv prints a result: "A v, with v = B x"
        formula = read_headline(text, table)
    elif parse_notation(text, table) is None and (";" in text or "=" in text):
        formula = parse_expression(text, table)  # a program: the syntax's
    else:
        formula = read_formula(text, table)
    check_shapes(formula)  # W y of an m x n W and an m-vector y: refused here, as the
    return formula  # syntax refuses it (verify reads such a candidate as ill-formed)
