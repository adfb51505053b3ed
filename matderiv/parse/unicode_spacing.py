"""∘ and ⊘ beside a matrix product, in the Unicode notation.

As matderiv prints them, without spaces, ∘ and ⊘ bind before the product: ``A∘B X``
is (A∘B) X and ``A x∘x`` is A (x∘x).  LaTeX's ``\\circ`` binds after it: ``A \\circ B
X`` is A∘(B X), as papers write σ′(z) ∘ Wᵀδ.  A ∘ with a space beside it, next to a
product of matrices, is how a person writes either reading, so it is refused with
both rather than read one way (a scalar beside it, ``2 x ∘ y``, reads either way).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from lark import Token, Tree

from ..errors import MatDerivError
from ..render.unicode import fmt
from ..shapes import check_shapes
from . import latex_algebra as alg
from .latex_text import LocatedError

#: the token put before an operand whose ∘ or ⊘ has a space beside it
SPACED = "SPACED_CIRC"


def mark_spaced(tree: Tree, source: str) -> Tree:
    """Each product with an operand A ∘ B whose ∘ (or ⊘) has a space beside it in
    ``source`` becomes a ``spaced_product``, with a SPACED token before that operand."""
    for node in list(tree.iter_subtrees()):
        factors = [c for c in node.children if isinstance(c, Tree)]
        if node.data != "product" or len(factors) < 2:
            continue
        children: list[Any] = []
        for child in node.children:
            spaced = _spaced_operator(child, source)
            if spaced is not None:
                children.append(Token(SPACED, str(spaced), start_pos=spaced.start_pos))
                node.data = "spaced_product"
            children.append(child)
        node.children = children
    return tree


def _spaced_operator(child: Any, source: str) -> Token | None:
    if not isinstance(child, Tree) or child.data != "hadamard" or enclosed(child, source):
        return None
    for op in child.children:
        if isinstance(op, Token) and op.type in ("CIRC", "OSLASH"):
            start, end = op.start_pos or 0, op.end_pos or 0
            if source[start - 1 : start].isspace() or source[end : end + 1].isspace():
                return op
    return None


def enclosed(node: Tree, source: str, unnamed: str = "") -> bool:
    """Whether ``node`` was written in parentheses of its own, X ((A) ∘ B): the tree
    keeps no parentheses, the source does ((A) ∘ (B) X has none around the whole).
    ``unnamed``: the characters of tokens the tree drops that may end the node (the
    syntax's .T and ')' of a call)."""
    tokens = list(node.scan_values(lambda v: isinstance(v, Token)))
    start = min(t.start_pos or 0 for t in tokens)
    end = max(t.end_pos or 0 for t in tokens)
    k = start - 1
    while k >= 0 and (source[k] == "(" or source[k].isspace()):
        if source[k] == "(":
            close = _closing(source, k)
            rest = source[end:close].replace(")", "").strip(unnamed).strip()
            if close >= end and not rest:
                return True
        k -= 1
    return False


def _closing(source: str, open_at: int) -> int:
    """The index of the parenthesis that closes the one at ``open_at`` (-1: none)."""
    depth = 0
    for k in range(open_at, len(source)):
        depth += {"(": 1, ")": -1}.get(source[k], 0)
        if depth == 0:
            return k
    return -1


def refuse_mixed(items: list[Any], value: Any) -> None:
    """Refuse a spaced_product's ∘ beside another factor that is a matrix, not a
    scalar; ``value`` is the product read as printed (∘ first)."""
    marks = [i for i, item in enumerate(items) if _is_mark(item)]
    operands = {i + 1 for i in marks}
    others = [x for i, x in enumerate(items) if i not in operands and not isinstance(x, Token)]
    if not any(alg.is_matrix(x) and not alg.is_1x1(x) for x in others):
        return
    if all(not isinstance(items[i], sp.HadamardProduct) for i in operands) and _conforms(value):
        return  # A x ∘ 2: a ∘ with a scalar scales, and either reading is 2 A x
    op = items[marks[0]]
    printed = f" ∘ first, {fmt(value)}," if _conforms(value) else " ∘ first"
    raise LocatedError(
        f"{op} with a space beside it, next to a matrix product, is ambiguous here: "
        f"matderiv prints it without spaces for{printed} and LaTeX's "
        r"\circ (papers' σ′(z) ∘ Wᵀ δ) takes the product first; write the parentheses "
        "you mean",
        op.start_pos or 0,
        refusal=True,
    )


def _conforms(value: Any) -> bool:
    try:
        check_shapes(value)
    except MatDerivError:
        return False
    return True


def without_marks(items: list[Any]) -> list[Any]:
    return [item for item in items if not _is_mark(item)]


def _is_mark(item: Any) -> bool:
    return isinstance(item, Token) and item.type == SPACED
