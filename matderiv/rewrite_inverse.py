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


def product_times_inverse(expr: Any) -> Any:
    """F₁…Fₖ (F₁…Fₖ)⁻¹ → I,  (F₁…Fₖ)⁻¹ F₁…Fₖ → I  (the factors of an inverted product
    beside it, in a longer product: Aᵀ A (Aᵀ A)⁻¹ with A not square)
    terminates: removes the inverse and its k factors."""
    if not isinstance(expr, sp.MatMul):
        return None
    coeff, mats = expr.as_coeff_matrices()
    for i, m in enumerate(mats):
        factors = _product_inverted(m)
        if factors is None:
            continue
        k = len(factors)
        if i >= k and tuple(mats[i - k : i]) == factors:
            rest = [*mats[: i - k], *mats[i + 1 :]]
        elif tuple(mats[i + 1 : i + 1 + k]) == factors:
            rest = [*mats[:i], *mats[i + 1 + k :]]
        else:
            continue
        return matmul(coeff, *(rest or [sp.Identity(shape_of(m)[0])]))
    return None
