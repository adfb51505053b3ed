"""The terms of an expression as a sum of products, for ``verify``'s comparisons.

SymPy's ``MatrixExpr.expand`` distributes products over sums but calls ``doit``
on every product it builds, and each of those walks its whole operand: on the
Hessian-vector product of tr(F(A) ⊗ G(softmax_cols(softmax_cols(A x b)))), 300
nodes with 4 terms, it took 10 s, and longer trees ran for minutes.  Here a sum
is split into its terms, and a product (ordinary, Kronecker, transposed) of sums
into the sum of the products of their terms, with matderiv's own constructors
(no ``doit``), each distinct subexpression once; like terms are collected as
``canon.matadd`` does (so a scalar coefficient (a + b) stays whole).  The work is
linear in the size of the expansion, which is capped: beyond ``MAX_TERMS`` the
expression is left whole (one term), as verify then lets the values decide.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import sympy as sp

from .canon import kronecker, matadd, matmul, transpose
from .shapes import is_matrix

#: an expansion with more terms than this is not listed (the expression is one term)
MAX_TERMS = 256


def expanded(expr: Any) -> Any:
    """The matrix ``expr`` with its products distributed over sums (itself, whole,
    beyond MAX_TERMS terms)."""
    terms = _Expansion().terms(expr)
    return expr if terms is None else matadd(*terms)


def expanded_terms(expr: Any) -> list[Any]:
    """The terms of ``expr`` as a sum of products (products distributed over sums;
    I ⊗ (A + Aᵀ) has the terms I ⊗ A and I ⊗ Aᵀ)."""
    if not is_matrix(expr):
        total = sp.expand(expr)
        return list(total.args) if isinstance(total, sp.Add) else [total]
    total = expanded(expr)
    return list(total.args) if isinstance(total, sp.MatAdd) else [total]


class _Expansion:
    """Distributes products over sums, each distinct subexpression once (a shared
    one is expanded once, however often it occurs)."""

    def __init__(self) -> None:
        self.done: dict[Any, list[Any] | None] = {}

    def terms(self, node: Any) -> list[Any] | None:
        """The terms of ``node`` distributed, or None when there would be more than
        MAX_TERMS."""
        if node not in self.done:
            self.done[node] = self._terms(node)
        return self.done[node]

    def _terms(self, node: Any) -> list[Any] | None:
        if isinstance(node, sp.MatAdd):
            found: list[Any] = []
            for arg in node.args:
                terms = self.terms(arg)
                if terms is None or len(found) + len(terms) > MAX_TERMS:
                    return None
                found.extend(terms)
            return found
        if isinstance(node, sp.Transpose):
            terms = self.terms(node.arg)
            return None if terms is None else [transpose(t) for t in terms]
        if isinstance(node, (sp.MatMul, sp.KroneckerProduct)):
            coeff, factors = (
                node.as_coeff_matrices() if isinstance(node, sp.MatMul) else (1, node.args)
            )
            choices: list[list[Any]] = []
            for factor in factors:
                terms = self.terms(factor)
                if terms is None:
                    return None
                choices.append(terms)
            if math.prod(len(c) for c in choices) > MAX_TERMS:
                return None
            combos = itertools.product(*choices)
            if isinstance(node, sp.KroneckerProduct):
                return [kronecker(sp.KroneckerProduct(*f)) for f in combos]
            return [matmul(coeff, *f) for f in combos]
        return [node]
