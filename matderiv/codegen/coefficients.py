"""Numbers and reciprocals in generated products and sums: where a coefficient goes
(on the smallest factor), and an operand without its coefficient or reciprocal."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..nodes import DiagVector
from .products import is_one


def is_reciprocal(node: Any) -> bool:
    """A Hadamard power with a negative integer exponent."""
    return isinstance(node, sp.HadamardPower) and node.exp.is_Integer and bool(node.exp < 0)


def reciprocal(node: Any) -> Any:
    """b^∘k for b^∘-k."""
    return node.base if node.exp == -1 else sp.HadamardPower(node.base, -node.exp)


def is_plain_number(a: Any) -> bool:
    return bool(getattr(a, "is_Number", False))


def scale_small_factor(mats: list[Any], coeff: Any) -> tuple[list[Any], Any]:
    """Put a number on a small factor (a Kronecker product's first factor, a diag's
    vector, a vector) rather than on the product, which may be large."""
    for k, m in enumerate(mats):
        if isinstance(m, sp.KroneckerProduct):
            first, *rest = m.args
            return [
                *mats[:k],
                sp.KroneckerProduct(sp.MatMul(coeff, first), *rest),
                *mats[k + 1 :],
            ], 1
        if isinstance(m, DiagVector):
            return [*mats[:k], DiagVector(sp.MatMul(coeff, m.arg)), *mats[k + 1 :]], 1
    for k, m in enumerate(mats):
        if is_one(m.cols) or is_one(m.rows):
            return [*mats[:k], sp.MatMul(coeff, m), *mats[k + 1 :]], 1
    return mats, coeff


def bare(operand: Any) -> Any:
    """An operand of a sum or ∘ product without its coefficient or reciprocal."""
    operand = split_coeff(operand)[1]
    return reciprocal(operand) if is_reciprocal(operand) else operand


def split_coeff(term: Any) -> tuple[Any, Any]:
    """(number, rest) for a term of a sum: -2·A → (-2, A)."""
    if isinstance(term, sp.MatMul):
        coeff, mats = term.as_coeff_matrices()
        if coeff.is_Number and mats:
            rest = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
            return coeff, rest
    return sp.S.One, term
