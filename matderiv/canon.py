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


def _kronecker(node: Any) -> Any:
    """A ⊗ B with scalar coefficients pulled out first (SymPy's own doit crashes on them)."""
    coeff, factors = sp.S.One, []
    for factor in node.args:
        if isinstance(factor, sp.MatMul):
            scalars = [a for a in factor.args if not getattr(a, "is_Matrix", False)]
            mats = [a for a in factor.args if getattr(a, "is_Matrix", False)]
            coeff *= sp.Mul(*scalars)
            factor = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
        factors.append(factor)
    kron = sp.KroneckerProduct(*factors).doit(deep=False)
    return kron if coeff == 1 else sp.MatMul(coeff, kron).doit(deep=False)


def matadd(*terms: Any) -> Any:
    """A sum in canonical form: nested sums flattened, zeros dropped, like terms collected.

    SymPy's own MatAdd.doit collects like terms with ``coefficient * matrix``, a
    deep doit that rewrites tr(u ⊗ vᵀ) as tr(u) tr(v) (wrong for non-square
    factors); this does the same collection without it.
    """
    flat: list[Any] = []
    for term in terms:
        flat.extend(term.args if isinstance(term, sp.MatAdd) else [term])
    coefficients: dict[Any, Any] = {}
    for term in flat:
        if isinstance(term, sp.ZeroMatrix):
            continue
        coeff, matrix = term.as_coeff_mmul()
        matrix = (
            matrix.args[0] if isinstance(matrix, sp.MatMul) and len(matrix.args) == 1 else matrix
        )
        coefficients[matrix] = coefficients.get(matrix, sp.S.Zero) + coeff
    kept = [
        matrix if coeff == 1 else sp.MatMul(coeff, matrix).doit(deep=False)
        for matrix, coeff in coefficients.items()
        if coeff != 0
    ]
    if not kept:
        return sp.ZeroMatrix(*terms[0].shape)
    if len(kept) == 1:
        return kept[0]
    return sp.MatAdd(*sorted(kept, key=sp.default_sort_key))


def canonical(node: Any) -> Any:
    """SymPy's own shallow canonical form (drop identities, flatten, pull out scalars)."""
    if isinstance(node, sp.Transpose):
        return transpose(node.arg)
    if isinstance(node, sp.KroneckerProduct):
        return _kronecker(node)
    if isinstance(node, sp.MatAdd):
        return matadd(*node.args)
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
    if isinstance(expr, sp.KroneckerProduct):
        return _kronecker(sp.KroneckerProduct(*(transpose(a) for a in expr.args)))
    if isinstance(expr, sp.MatAdd):
        return matadd(*(transpose(a) for a in expr.args))
    if isinstance(expr, _TRANSPOSE_STAYS_OUTSIDE):
        return sp.Transpose(expr)
    flipped = expr._eval_transpose() if hasattr(expr, "_eval_transpose") else None
    return sp.Transpose(expr) if flipped is None else flipped
