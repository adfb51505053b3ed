"""Forms of the expressions to generate code for that share work.

- (Aᵀ)⁻¹ → (A⁻¹)ᵀ, so A⁻¹ is computed (or A factorised) once when both appear;
- (Mᵀ)⁻¹ → (M⁻¹)ᵀ also when Mᵀ is not written as a transpose ((Q + X Xᵀ)⁻¹ and
  (Qᵀ + X Xᵀ)⁻¹, the gradient of log det(Q + X Xᵀ)): one matrix, one factorisation;
- aᵀ - bᵀ → (a - b)ᵀ, so a sum and its transpose are one sum.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..canon import sort_key, transpose
from ..shapes import walk
from ..substitute import substitute


def normalise(exprs: list[Any]) -> list[Any]:
    """``exprs`` (the outputs and the program's definitions, together: an inverse in
    one and its transpose's in another share a factorisation) in those forms."""
    for _ in range(4):
        swaps = {**_local_swaps(exprs), **_transposed_inverses(exprs)}
        if not swaps:
            break
        exprs = [substitute(e, swaps) for e in exprs]
    return exprs


def _local_swaps(exprs: list[Any]) -> dict[Any, Any]:
    swaps = {}
    for node in walk(*exprs):
        if isinstance(node, sp.Inverse) and isinstance(node.arg, sp.Transpose):
            swaps[node] = sp.Transpose(sp.Inverse(node.arg.arg))
        elif isinstance(node, sp.MatAdd) and all(_transposed(t) is not None for t in node.args):
            swaps[node] = sp.Transpose(sp.MatAdd(*(_transposed(t) for t in node.args)))
    return swaps


def _transposed_inverses(exprs: list[Any]) -> dict[Any, Any]:
    """(Mᵀ)⁻¹ → (M⁻¹)ᵀ where both M⁻¹ and (Mᵀ)⁻¹ appear, Mᵀ as SymPy's transpose of M
    pushed into its sums and products; M is the one of the two first by sort key."""
    matrices = {node.arg for node in walk(*exprs) if isinstance(node, sp.Inverse)}
    swaps = {}
    for matrix in matrices:
        flipped = transpose(matrix)
        if flipped != matrix and flipped in matrices and sort_key(flipped) < sort_key(matrix):
            swaps[sp.Inverse(matrix)] = sp.Transpose(sp.Inverse(flipped))
    return swaps


def _transposed(term: Any) -> Any:
    """a for aᵀ, c·a for c·aᵀ, else None."""
    if isinstance(term, sp.Transpose):
        return term.arg
    if isinstance(term, sp.MatMul):
        coeff, mats = term.as_coeff_matrices()
        if len(mats) == 1 and isinstance(mats[0], sp.Transpose):
            return sp.MatMul(coeff, mats[0].arg)
    return None
