"""Checks of a LaTeX parse tree before it is built: how deep it nests without
brackets, and a function written without parentheses before more factors."""

from __future__ import annotations

from lark import Token, Tree

from .latex_text import LocatedError
from .limits import MAX_DEPTH


def _pos(token: Token) -> int:
    return token.start_pos or 0


def check_depth(tree: Tree) -> None:
    """Nesting without brackets (\\log\\log ... x, - - ... x) is limited like brackets."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            while isinstance(node, Tree):
                node = node.children[0]
            raise LocatedError(f"the formula nests deeper than {MAX_DEPTH} levels", _pos(node))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def check_bare_calls(tree: Tree) -> None:
    """A function without parentheses takes the one factor after it (\\log\\det X, \\tanh
    z); followed by more factors, \\operatorname{tr} A B, \\log x^T A x, it was read as
    tr(A) B, which no one means: refused, with the parentheses to write."""
    for node in tree.iter_subtrees():
        if node.data != "product":
            continue
        for child, after in zip(node.children, node.children[1:], strict=False):
            if not isinstance(child, Tree) or child.data != "bare_call":
                continue
            if isinstance(after, Token) and after.type == "DIVOP":  # \log x / 2
                continue
            token = child.children[0]
            func = str(token).strip()
            raise LocatedError(
                f"{func} without parentheses applies to the one factor after it, and more "
                f"factors follow: put its argument in parentheses, as in {func}(A B) or "
                f"{func}(A) B",
                _pos(token) if isinstance(token, Token) else 0,
                refusal=True,
            )
