"""matderiv's expression syntax, parsed with lark into SymPy.

NumPy-flavoured: ``@`` matrix product, ``*`` elementwise (or scalar) product,
``A.T`` and ``A'`` transpose, ``^`` / ``**`` elementwise power, the functions
in ``FUNCTIONS``, numbers, parentheses, and definitions separated by ``;``::

    a = W_hx.T @ e + W_hh.T @ h0; h = tanh(a); L = c.T @ h

Shapes come from declarations (``shapes.py``).  The grammar's nodes
(expr_grammar.py, with the function vocabulary) map to SymPy constructors by
an allow-list (expr_build.py); nothing is passed to eval, exec or sympify.  Input size, nesting
depth, number length and exponents are bounded (limits.py) before anything is
built, so hostile input fails fast with a ParseError.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from lark.exceptions import UnexpectedInput, VisitError

from ..errors import MatDerivError, ParseError
from .expr_ambiguous import check_printed_operators
from .expr_build import Build
from .expr_grammar import PARSER
from .expr_messages import syntax_error
from .limits import MAX_DEPTH, check_text, tree_depth


@dataclass
class Program:
    """A parsed program: the final expression and the named definitions before it."""

    expr: Any
    names: dict[str, Any] = field(default_factory=dict)
    definitions: dict[Any, Any] = field(default_factory=dict)  # as_program=True: where=


def parse_program(text: str, symbols: Mapping[str, Any], as_program: bool = False) -> Program:
    """Parse ``a = ...; h = ...; L = ...`` (or one expression) over declared ``symbols``.

    By default each definition is substituted into what follows (``names``);
    with ``as_program`` each becomes a symbol with a definition (``definitions``,
    for ``where=``), so long programs stay small.
    """
    if not isinstance(text, str):
        raise ParseError(f"expected a string, got {type(text).__name__}")
    check_text(text)
    text = unicodedata.normalize("NFD", text.translate(_PASTED))  # a typed ā: a + ̄
    try:
        tree = PARSER.parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(text, exc) from None
    if tree_depth(tree) > MAX_DEPTH * 2:
        raise ParseError(f"expression nested deeper than {MAX_DEPTH * 2} operations")
    check_printed_operators(tree, text)
    builder = Build(text, symbols, as_program)
    try:
        expr = builder.transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, MatDerivError):
            raise exc.orig_exc from None
        raise ParseError(f"cannot build the expression: {exc.orig_exc}") from None
    for value in (expr, *builder.definitions.values()):
        if isinstance(value, sp.Basic) and value.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            raise ParseError(
                f"{value} is not finite (a division by zero or log(0)?); "
                "matderiv differentiates finite expressions"
            )
    return Program(expr, builder.names, builder.definitions)


#: characters a text pasted from a document or a web page has for ASCII ones (one for
#: one: the positions in messages stay the user's): the minus sign, curly quotes
_PASTED = str.maketrans({"−": "-", "’": "'", "‘": "'", "′": "'"})


def parse_expression(text: str, symbols: Mapping[str, Any]) -> Any:
    """The SymPy expression of ``text`` (definitions before ``;`` are substituted)."""
    return parse_program(text, symbols).expr
