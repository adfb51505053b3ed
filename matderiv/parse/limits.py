"""Bounds on what the front ends accept, so hostile input fails fast with a ParseError:
the length of a formula, how deep it nests, and the size of its numbers and exponents."""

from __future__ import annotations

from lark import Tree

from ..errors import ParseError
from .expr_messages import caret

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 200  # nested brackets or operators
MAX_DIGITS = 30  # in a number or an exponent
MAX_EXPONENT = 1_000
MAX_MAGNITUDE = 400  # decimal digits of a number's size: |value| in 10^±400
MAX_MATRIX_POWER = 100  # matrix_power(A, k): the derivative of Aᵏ has |k| terms


def check_text(text: str) -> None:
    """The syntax's bounds on a text: its length and its bracket nesting."""
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression too long ({len(text)} characters; at most {MAX_LENGTH})")
    depth = 0
    for pos, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth > MAX_DEPTH:
            raise ParseError(f"nesting deeper than {MAX_DEPTH} levels:\n{caret(text, pos)}")


def tree_depth(tree: Tree) -> int:
    """The depth of a parse tree, counted up to twice MAX_DEPTH."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH * 2:
            break
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return deepest
