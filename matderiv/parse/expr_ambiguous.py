"""What the expression syntax refuses though its grammar reads it: text with a second
reading that would be dropped or silently changed (expr_build.py raises these).

- a bare expression before a program's last statement (it would have no effect);
- X^T with a T declared, defined or a dimension (the entrywise power X^∘T, or the
  transpose that X^T is everywhere else);
- a transpose after an exponent, A^2' or A^2^T (it binds to the exponent, which it
  leaves as it is, where the transpose of the power was meant).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sympy as sp
from lark import Token, Tree

from ..errors import ParseError
from ..render.syntax import to_syntax
from .expr_messages import caret
from .unicode_spacing import enclosed


class Bare:
    """A statement that is an expression, not a definition (the program's value if last)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def bare_statement(text: str, index: int) -> ParseError:
    """Statement ``index`` (from 0) is an expression but not the last."""
    starts = [0, *(m.end() for m in re.finditer(";", text))]
    start = starts[index]
    pos = start + len(text[start:]) - len(text[start:].lstrip())
    return ParseError(
        f"statement {index + 1} is an expression that is not the last, so it would have "
        f"no effect:\n{caret(text, pos)}\n"
        "Only the last statement is the result; one before it defines a name (a = ...) "
        "used after it. Name it, or remove it."
    )


def _written(base: Any) -> str:
    name = to_syntax(base)
    return name if isinstance(base, sp.MatrixSymbol) else f"({name})"


def power_by_t(
    text: str, base: Any, op: Token, names: Mapping[str, Any], symbols: Mapping[str, Any]
) -> ParseError | None:
    """X^T (with ^, the exponent just T) for a matrix X when T is declared, defined or a
    dimension: both the entrywise power X^∘T and the transpose Xᵀ."""
    if op != "^" or not re.match(r"\s*T(?![A-Za-z0-9_])", text[op.end_pos :]):
        return None
    what = "defined" if "T" in names else "declared" if "T" in symbols else "a dimension"
    name = _written(base)
    return ParseError(
        f"{name}^T is ambiguous here: T is {what}, so it reads as the entrywise power "
        f"{name}^∘T, and it is also the transpose {name}ᵀ:\n{caret(text, op.start_pos)}\n"
        f"Write {name}.T (or {name}') for the transpose, {name}**T (or {name}^(T)) "
        "for the power.",
        refusal=True,
    )


def mark_transposed_exponents(tree: Tree) -> None:
    """Rename a power whose exponent ends in a transpose (A^2', A^-2') to pow_transposed,
    and a power by T inside an exponent (the 2^T of A^2^T) to pow_transposed_base."""
    for node in list(tree.iter_subtrees()):
        if node.data != "pow":
            continue
        exponent = node.children[2]
        while isinstance(exponent, Tree) and exponent.data == "neg":
            exponent = exponent.children[0]
        if isinstance(exponent, Tree) and exponent.data == "transpose":
            node.data = "pow_transposed"
        elif isinstance(exponent, Tree) and exponent.data == "pow":
            last = exponent.children[2]
            if isinstance(last, Tree) and last.data == "name" and last.children[0] == "T":
                exponent.data = "pow_transposed_base"


def transposed_exponent(text: str, base: Any, op: Token, exponent: Any) -> ParseError:
    """A^2': the transpose of the exponent 2 (``base`` None where it is not known)."""
    if isinstance(exponent, sp.Transpose):
        exponent = exponent.arg  # s.T of a 1 x 1 s
    power = "the power in parentheses, then .T"
    if base is not None:
        power = f"({_written(base)}^{to_syntax(exponent)}).T"
    return ParseError(
        f"a transpose after an exponent is ambiguous here: it applies to the exponent "
        f"{to_syntax(exponent)}, which it leaves as it is, not to the power:\n"
        f"{caret(text, op.start_pos)}\n"
        f"Write {power} for the transpose of the power, or the power without it.",
        refusal=True,
    )


#: the printed operators whose binding beside juxtaposition differs from the syntax's
_PRINTED = {"circ": "∘", "kron": "⊗"}


def check_printed_operators(tree: Tree, text: str) -> None:
    """∘ or ⊗ beside @ without parentheses: the syntax reads them left to right, as
    NumPy's * and @ (A @ x ∘ y is (A x)∘y), while matderiv prints ∘ binding before the
    product (A x∘y is A (x∘y)) and ⊗ after it (A ⊗ B X is A ⊗ (B X)); a printed
    result edited with @ would change its meaning silently.  Refused, with both
    readings to choose from."""
    for node in tree.iter_subtrees():
        pairs = []
        if node.data in _PRINTED:
            pairs = [c for c in node.children if isinstance(c, Tree) and c.data == "matmul"]
        elif node.data == "matmul":
            pairs = [c for c in node.children if isinstance(c, Tree) and c.data in _PRINTED]
        for child in pairs:
            if enclosed(child, text, ".T'ᵀ⁻¹"):
                continue
            op = _PRINTED[node.data if node.data in _PRINTED else child.data]
            pos = min(t.start_pos or 0 for t in node.scan_values(lambda v: isinstance(v, Token)))
            raise ParseError(
                f"{op} beside @ without parentheses is ambiguous here: this syntax reads "
                f"them left to right (as NumPy's * and @), while matderiv prints {op} "
                f"binding {'before' if op == '∘' else 'after'} a product:\n"
                f"{caret(text, pos)}\n"
                f"Write the parentheses you mean: (A @ x) {op} y or A @ (x {op} y).",
                refusal=True,
            )
