"""SymPy's shallow canonical forms, with the one exception matderiv needs.

``canonical`` lets SymPy flatten products, drop identities and pull out
scalars; a transpose is pushed into products, sums and Kronecker products but
kept outside entrywise operations, so gradients read (c ∘ g)ᵀ and tanh(a)ᵀ
rather than cᵀ ∘ gᵀ and tanh(aᵀ).  Use ``transpose(e)``, never ``e.T``, in the
engine: SymPy's ``.T`` distributes eagerly.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

_CANONICAL = (
    sp.MatMul,
    sp.MatAdd,
    sp.KroneckerProduct,
    sp.HadamardProduct,
)


_TRANSPOSE_STAYS_OUTSIDE = (sp.HadamardProduct, sp.HadamardPower, ElementwiseApplyFunction)


def canonical(node: Any) -> Any:
    """SymPy's own shallow canonical form (drop identities, flatten, pull out scalars)."""
    if isinstance(node, sp.Transpose):
        return transpose(node.arg)
    if isinstance(node, _CANONICAL):
        return node.doit(deep=False)
    return node


def transpose(expr: Any) -> Any:
    """expr transposed, pushed into products, sums and Kronecker products only."""
    if not getattr(expr, "is_Matrix", False):
        return expr
    if isinstance(expr, sp.Transpose):
        return expr.arg
    if isinstance(expr, sp.MatMul):
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        mats = [transpose(a) for a in reversed(expr.args) if getattr(a, "is_Matrix", False)]
        return sp.MatMul(*scalars, *mats).doit(deep=False)
    if isinstance(expr, (sp.MatAdd, sp.KroneckerProduct)):
        return expr.func(*(transpose(a) for a in expr.args)).doit(deep=False)
    if isinstance(expr, _TRANSPOSE_STAYS_OUTSIDE):
        return sp.Transpose(expr)
    flipped = expr._eval_transpose() if hasattr(expr, "_eval_transpose") else None
    return sp.Transpose(expr) if flipped is None else flipped
