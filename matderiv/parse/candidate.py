"""A candidate formula, from SymPy, matderiv's syntax or LaTeX, over the user's symbols."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from ..errors import ParseError
from .expr import parse_expression
from .latex import parse_latex


def symbol_table(expr: Any, names: Mapping[str, Any]) -> dict[str, Any]:
    """Names a candidate may use: the MatrixSymbols of ``expr`` and the named intermediates."""
    table: dict[str, Any] = {
        s.name: s for s in sp.sympify(expr).free_symbols if isinstance(s, sp.MatrixSymbol)
    }
    table.update(names)
    return table


def looks_like_latex(text: str) -> bool:
    return "\\" in text or "{" in text


def parse_candidate(candidate: Any, expr: Any, names: Mapping[str, Any]) -> Any:
    """The candidate as a SymPy expression.

    Strings with a backslash or braces are read as LaTeX; others in matderiv's
    syntax first and, if that fails, as LaTeX (``a b^T`` is LaTeX without
    either); the syntax error reported is the one of matderiv's syntax.
    """
    if not isinstance(candidate, str):
        try:
            return sp.sympify(candidate, strict=True)
        except sp.SympifyError as exc:
            raise ParseError(
                f"cannot read the candidate {candidate!r}: pass a SymPy expression or a string"
            ) from exc
    table = symbol_table(expr, names)
    if looks_like_latex(candidate):
        return parse_latex(candidate, table)
    try:
        return parse_expression(candidate, table)
    except ParseError as first:
        try:
            return parse_latex(candidate, table)
        except ParseError:
            raise first from None
