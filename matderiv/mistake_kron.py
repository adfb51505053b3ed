"""A commutation matrix too many, or the wrong one, in a candidate.

K_{m,n} vec(A) = vec(Aᵀ) reorders the entries of a vec; beside a Kronecker product it
swaps the factors ((I_m ⊗ xᵀ) K_{n,m} = xᵀ ⊗ I_m).  A candidate with a K it does not
need is the derivative with that K dropped, and one with K_{m,n} where K_{n,m} (its
inverse) belongs is the derivative with it turned; named so, not as Kronecker factors
in the wrong order (the fix of which restates the candidate's own factor as right).
"""

from __future__ import annotations

import sympy as sp

from .mistakes import Comparison, Found
from .nodes import CommutationMatrix
from .render.unicode import fmt

#: at most this many distinct commutation matrices are tried one at a time
MAX_TRIED = 4


def extra_commutation(m: Comparison) -> Found:
    """Each commutation matrix of the candidate dropped in turn, then turned (K_{m,n}
    for K_{n,m}): the first change that makes the candidate the derivative."""
    ks = sorted(m.candidate.atoms(CommutationMatrix), key=sp.default_sort_key)
    if not ks or len(ks) > MAX_TRIED:
        return None
    thing = m.thing
    for k in ks:
        fixed = m.candidate.xreplace({k: sp.Identity(k.shape[0])})
        if m.close(fixed, m.result):
            return (
                "commutation",
                f"the commutation matrix {fmt(k)} is one too many: without it the "
                f"candidate is the {thing} ({fmt(k)} turns vec(X) into vec(Xᵀ); beside a "
                f"Kronecker product it swaps the factors). The {thing} is "
                f"{m.shown_result}.",
                {"fix": fixed},
            )
    for k in ks:
        turned = CommutationMatrix(k.n, k.m)
        if turned == k:
            continue
        fixed = m.candidate.xreplace({k: turned})
        if m.close(fixed, m.result):
            return (
                "commutation",
                f"{fmt(k)} should be {fmt(turned)}, its inverse ({fmt(k)} vec(A) = vec(Aᵀ) "
                f"for A {fmt(k.m)} × {fmt(k.n)}). The {thing} is {m.shown_result}.",
                {"fix": fixed},
            )
    return None
