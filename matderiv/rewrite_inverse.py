"""Rewrite rules for inverses of products (the rule table is ``rewrites.py``; each
rule's identity is its docstring's first line, why it terminates the second)."""

from __future__ import annotations

from typing import Any

import sympy as sp

from .canon import canonical, matmul
from .shapes import dims_equal, shape_of


def _square(expr: Any) -> bool:
    return dims_equal(*shape_of(expr))


def inverse_of(*factors: Any) -> Any:
    """(F₁ F₂ …)⁻¹ in canonical form (I⁻¹ is I)."""
    rest = factors[0] if len(factors) == 1 else matmul(*factors)
    return rest if isinstance(rest, sp.Identity) else canonical(sp.Inverse(rest))


def _product_inverted(expr: Any) -> tuple[Any, ...] | None:
    """The factors of P for an inverse (P)⁻¹ of a product of matrices, else None."""
    if not isinstance(expr, sp.Inverse) or not isinstance(expr.arg, sp.MatMul):
        return None
    factors = expr.arg.args
    if any(not getattr(f, "is_Matrix", False) for f in factors):
        return None  # a scalar coefficient: left alone
    return factors


def inverse_cancel(left: Any, right: Any) -> Any:
    """F (G F)⁻¹ → G⁻¹,  (F G)⁻¹ F → G⁻¹  (F square, so G is too, and both are
    invertible where G F is: det(A X B)'s gradient det(A X B) X⁻ᵀ)
    terminates: removes a factor and a product from the inverse."""
    factors = _product_inverted(right)
    if factors is not None and factors[-1] == left and _square(left):
        return (inverse_of(*factors[:-1]),)
    factors = _product_inverted(left)
    if factors is not None and factors[0] == right and _square(right):
        return (inverse_of(*factors[1:]),)
    return None
