"""Rewrite rules for scalars in products: 1 x 1 matrices inside larger products are
scalars, and a scalar's equal bases merge (the
rule table is ``rewrites.py``; each rule's identity is its docstring's first line,
why it terminates the second).

A Jacobian like d(x (aᵀx))/dx comes out of the chain rule as (xᵀa) ⊗ I_n + x aᵀ;
the textbook writes (aᵀx) I_n + x aᵀ.  A 1 x 1 factor becomes a scalar coefficient
AsScalar(s), oriented one way (aᵀx, not xᵀa), so that like terms meet."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from .canon import matmul, sort_key, transpose
from .nodes import AsScalar, DiagVector
from .scalarize import transposes_reached
from .shapes import dims_equal, is_matrix, is_scalar_shape, shape_of


def as_scalar(expr: Any) -> Any:
    """The 1 x 1 matrix ``expr`` as a scalar: numbers and each 1 x 1 run of its factors
    taken out (aᵀx aᵀx → (aᵀx)², 2 xᵀx → 2 (xᵀx)), powers as powers ((xᵀx)⁻¹ →
    1/(xᵀx)), each in one orientation of the two (sᵀ = s): fewer transposes, then the
    smaller sort_key."""
    if isinstance(expr, sp.MatMul):
        scalars = [a for a in expr.args if not is_matrix(a)]
        mats = [a for a in expr.args if is_matrix(a)]
        runs = _runs(mats)
        if len(runs) > 1 or scalars:
            return sp.Mul(*scalars, *(as_scalar(_product(run)) for run in runs))
    if isinstance(expr, sp.MatPow) and expr.args[1].is_integer:  # (xᵀx)⁻¹ → 1/(xᵀx)
        return as_scalar(expr.args[0]) ** expr.args[1]
    if isinstance(expr, DiagVector):  # diag(s) of a 1 x 1 s is s
        return as_scalar(expr.arg)
    flipped = transpose(expr)
    key = (transposes_reached(expr), sort_key(expr))
    if (transposes_reached(flipped), sort_key(flipped)) < key:
        expr = flipped
    return AsScalar(expr)


def _product(run: list[Any]) -> Any:
    return run[0] if len(run) == 1 else sp.MatMul(*run)


def _runs(mats: list[Any]) -> list[list[Any]]:
    """The factors of a 1 x 1 product cut into the shortest 1 x 1 runs, in order."""
    runs, start = [], 0
    for end in range(1, len(mats) + 1):
        if is_scalar_shape(shape_of(matmul(*mats[start:end]))) and dims_equal(
            shape_of(mats[start])[0], 1
        ):
            runs.append(mats[start:end])
            start = end
    if start < len(mats):  # not all 1 x 1 runs: one run of the rest
        runs = [*runs[:-1], [*(runs[-1] if runs else []), *mats[start:]]]
    return runs


def kron_scalar_factor(expr: Any) -> Any:
    """s ⊗ A → s A,  A ⊗ s → s A  (s a 1 x 1 matrix other than I₁: a scalar)
    terminates: one Kronecker factor fewer."""
    if not isinstance(expr, sp.KroneckerProduct):
        return None
    factors = list(expr.args)
    for i, factor in enumerate(factors):
        if is_scalar_shape(shape_of(factor)) and not isinstance(factor, sp.Identity):
            rest = factors[:i] + factors[i + 1 :]
            coeff, mats = _split(factor)
            inner = rest[0] if len(rest) == 1 else sp.KroneckerProduct(*rest)
            return matmul(coeff, *([as_scalar(matmul(*mats))] if mats else []), inner)
    return None


def _split(factor: Any) -> tuple[Any, list[Any]]:
    if isinstance(factor, sp.MatMul):
        scalars = [a for a in factor.args if not is_matrix(a)]
        return sp.Mul(*scalars), [a for a in factor.args if is_matrix(a)]
    return sp.S.One, [factor]


def scalar_in_product(expr: Any) -> Any:
    """u aᵀ x vᵀ → (aᵀx) u vᵀ,  A x (xᵀx)⁻¹ → 1/(xᵀx) A x  (a run of factors, or one
    factor, that is 1 x 1 in a product that is not: a scalar coefficient)
    terminates: the product loses matrix factors to a coefficient."""
    if not isinstance(expr, sp.MatMul) or is_scalar_shape(shape_of(expr)):
        return None
    scalars = [a for a in expr.args if not is_matrix(a)]
    mats = [a for a in expr.args if is_matrix(a)]
    for start in range(len(mats)):
        if not dims_equal(shape_of(mats[start])[0], 1):
            continue  # a 1 x 1 run starts with a row
        for end in range(start + 1, len(mats) + 1):
            if not dims_equal(shape_of(mats[end - 1])[1], 1):
                continue
            if end - start == len(mats):
                return None
            run = mats[start:end]
            rest = mats[:start] + mats[end:]
            if not is_scalar_shape(shape_of(matmul(*run))) or not rest:
                continue
            if any(isinstance(f, sp.Identity) for f in run):
                continue  # I₁ is dropped by canonical
            scalar = as_scalar(run[0] if len(run) == 1 else matmul(*run))
            return matmul(*scalars, scalar, *rest)
    return None


def scalar_normal_form(expr: Any) -> Any:
    """AsScalar(c s t) → c AsScalar(s) AsScalar(t),  AsScalar(xᵀ a) → AsScalar(aᵀ x),
    AsScalar(M⁻¹) → 1/AsScalar(M)  (numbers and 1 x 1 runs out, one orientation)
    terminates: fires only when the result differs, and ``as_scalar`` of its result
    is the result."""
    if not isinstance(expr, AsScalar) or not is_matrix(expr.arg):
        return None
    out = as_scalar(expr.arg)
    return None if out == expr else out


def scalar_powers(expr: Any) -> Any:
    """c·dᵃ·dᵇ → c·d^(a + b) for a scalar d and a symbolic exponent (s·det(X)·det(X)^(s - 1)
    is s·det(X)^s; SymPy merges equal bases only when the exponents are numbers)
    terminates: removes a factor of the product."""
    if not isinstance(expr, sp.Mul) or isinstance(expr, MatrixExpr):
        return None
    bases: dict[Any, int] = {}
    for factor in expr.args:
        base, _ = factor.as_base_exp()
        bases[base] = bases.get(base, 0) + 1
    if all(count == 1 for count in bases.values()):
        return None
    combined = sp.powsimp(expr, combine="exp", deep=False)
    return None if combined == expr else combined
