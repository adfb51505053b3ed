"""Symmetric matrices (``symmetric=[Sigma, S]``): results written with Mᵀ = M, and the
gradient by a symmetric variable.

A constant declared symmetric (a covariance Σ, a data matrix S) changes no derivative,
only how it is written: Σ⁻ᵀ(x - μ) reads Σ⁻¹(x - μ).  A scalar f of a symmetric
variable X has, among symmetric matrices (with the inner product tr(AᵀB)), the gradient
(G + Gᵀ)/2 for the gradient G by X's n² independent entries: the matrix whose inner
product with every symmetric direction E is the derivative of f along E.  It depends
only on f's values at symmetric X, so it is the same for every way of writing f.  (The
Matrix Cookbook's G + Gᵀ - G∘I is the derivative by the independent entries Xᵢⱼ,
i ≥ j, instead; ``verify`` names it.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from .canon import canonical, transpose
from .errors import EvaluationError, MatDerivError
from .render.unicode import fmt
from .shapes import dims_equal
from .simplify import Rewrite, simplify

#: relative tolerance of the check that a value given for a symmetric matrix is one
VALUE_RTOL = 1e-8


def check_symmetric(
    symmetric: Iterable[Any] | None, exprs: Iterable[Any], variable: Any = None
) -> tuple[Any, ...]:
    """``symmetric`` (MatrixSymbols or their names) as a tuple of square MatrixSymbols
    that ``exprs`` use (or the variable), sorted by name; a clear error for anything
    else."""
    if symmetric is None:
        return ()
    if isinstance(symmetric, (sp.Basic, str)) or not isinstance(symmetric, Iterable):
        raise MatDerivError(
            f"symmetric= takes a list of square MatrixSymbols ([Sigma, S]), got {symmetric!r}"
        )
    used = set().union(*(e.free_symbols for e in exprs if isinstance(e, sp.Basic)))
    by_name = {s.name: s for s in (*used, variable) if isinstance(s, sp.MatrixSymbol)}
    out = []
    for M in symmetric:
        if isinstance(M, str):  # symmetric=["Sigma"]: the matrix of that name
            if M not in by_name:
                raise MatDerivError(
                    f"symmetric=: no matrix named {M!r} in the expression (matrices: "
                    f"{', '.join(sorted(by_name)) or 'none'})"
                )
            M = by_name[M]
        if not isinstance(M, sp.MatrixSymbol) or not dims_equal(*M.shape):
            shape = f" of shape ({M.shape[0]} x {M.shape[1]})" if hasattr(M, "shape") else ""
            raise MatDerivError(
                f"symmetric= takes square MatrixSymbols, got {fmt(M)}{shape}: only a square "
                "matrix can be symmetric"
            )
        if M not in used and variable != M:
            raise MatDerivError(
                f"symmetric=: {fmt(M)} does not occur in the expression (or its where= "
                "program); check the name"
            )
        out.append(M)
    return tuple(sorted(set(out), key=str))


def refuse_variable(matrices: tuple[Any, ...], variable: Any, what: str) -> None:
    """An error when the variable is declared symmetric where that is not supported."""
    if variable in matrices:
        raise MatDerivError(
            f"symmetric=: {what} by the symmetric matrix {fmt(variable)} is not supported "
            f"(its entries are not independent). matderiv takes the gradient of a scalar "
            f"by a symmetric variable; declare only constant matrices symmetric here, or "
            f"leave {fmt(variable)} out (then its n² entries count as independent)."
        )


def written_symmetric(expr: Any, matrices: tuple[Any, ...]) -> Any:
    """``expr`` with Mᵀ = M for each symmetric M (M⁻ᵀ = M⁻¹, (Mᵀ)ᵏ = Mᵏ too)."""
    if not matrices or not isinstance(expr, sp.Basic):
        return expr
    table: dict[Any, Any] = {}
    for M in matrices:
        table[sp.Transpose(M)] = M
        table[sp.Inverse(sp.Transpose(M))] = sp.Inverse(M)
        table[sp.Transpose(sp.Inverse(M))] = sp.Inverse(M)
    return _replaced(expr, table, {})


def _replaced(expr: Any, table: dict[Any, Any], memo: dict[Any, Any]) -> Any:
    """``expr.xreplace(table)`` with each changed node in canonical form: Σ⁻¹ + Σ⁻ᵀ
    becomes 2 Σ⁻¹, not Σ⁻¹ + Σ⁻¹ (a shared subexpression rebuilt once)."""
    if expr in table:
        return table[expr]
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    if expr not in memo:
        args = tuple(_replaced(a, table, memo) for a in expr.args)
        same = all(new is old for new, old in zip(args, expr.args, strict=True))
        memo[expr] = expr if same else canonical(expr.func(*args))
    return memo[expr]


def symmetrised(raw: Any, variable: Any, matrices: tuple[Any, ...], log: list[Rewrite]) -> Any:
    """A gradient ``raw`` (shaped like the variable) with the symmetric matrices
    written so, and for a symmetric variable (G + Gᵀ)/2 unless G is symmetric as
    written (Σ⁻¹ for log det Σ); each change logged."""
    written = written_symmetric(raw, matrices)
    if written != raw:
        log.append(Rewrite("symmetric_matrices", raw, written))
    if variable not in matrices or not getattr(written, "is_Matrix", False):
        return written
    flipped = written_symmetric(transpose(written), matrices)
    if _vanishes(simplify(sp.MatAdd(written, -flipped))):
        return written
    half = sp.MatMul(sp.Rational(1, 2), sp.MatAdd(written, flipped))
    log.append(Rewrite("symmetric_gradient", written, half))
    return half


def _vanishes(expr: Any) -> bool:
    return expr == 0 or isinstance(expr, sp.ZeroMatrix)


def check_values(matrices: tuple[Any, ...], values: Mapping[Any, Any]) -> None:
    """Each value given for a matrix declared symmetric is symmetric (to VALUE_RTOL):
    the result holds only there."""
    for M in matrices:
        value = next((v for k, v in values.items() if getattr(k, "name", k) == M.name), None)
        if value is None:
            continue
        array = np.asarray(value)
        if array.ndim != 2 or array.shape[0] != array.shape[1]:
            continue  # the evaluator says what is wrong with its shape
        gap = float(np.max(np.abs(array - array.T), initial=0.0))
        if gap > VALUE_RTOL * max(float(np.max(np.abs(array), initial=0.0)), 1e-300):
            raise EvaluationError(
                f"{fmt(M)} was declared symmetric (symmetric=[{fmt(M)}]), but the value "
                f"given is not: its largest |{M.name}ᵢⱼ - {M.name}ⱼᵢ| is {gap:.3g}. The "
                f"derivation holds only for a symmetric {fmt(M)}: give a symmetric array "
                "((A + A.T)/2 of an array A)."
            )
