"""Kronecker products and commutation matrices as operators in generated code.

(A ⊗ B) M is computed with the vec trick (``_kron_left``), a Kronecker product of
three or more factors or with a commutation factor one factor at a time
(``_kron_mid``, ``_commute_mid``), so none is built.  When every factor of a
product is structured, one must be built: the smallest, and never a permutation
while another factor will do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

from ..canon import transpose
from ..nodes import CommutationMatrix
from ..shapes import shape_of

if TYPE_CHECKING:
    from .emit import Emitter


def _factor_or_none(em: Emitter, node: Any) -> str:
    return "None" if isinstance(node, sp.Identity) else em.code(node)


def kron_two(em: Emitter, factor: Any, acc: str, right: bool = False) -> str:
    """(A ⊗ B) @ acc, or acc @ (A ⊗ B) when ``right``, for a product of two factors."""
    a, b = factor.args
    operands = [_factor_or_none(em, a), _factor_or_none(em, b)]
    if right:
        em.helpers.add("_kron_right")
        args = [acc, *operands, em.dim(a.rows), em.dim(b.rows)]
        return f"_kron_right({', '.join(args)})"
    em.helpers.add("_kron_left")
    return f"_kron_left({', '.join([*operands, acc, em.dim(a.cols), em.dim(b.cols)])})"


def by_factor(node: Any) -> bool:
    """A Kronecker product applied one factor at a time: one of three or more factors,
    or one with a commutation factor (which ``_kron_left`` would build)."""
    return len(node.args) > 2 or any(isinstance(a, CommutationMatrix) for a in node.args)


def kron_by_factor(em: Emitter, node: Any, acc: str, transposed: bool = False) -> str:
    """(F_1 ⊗ ... ⊗ F_r) @ acc (or its transpose @ acc) as (I ⊗ F_i ⊗ I) @ acc for each
    factor in turn, the last first: no factor is spread over the whole product, and a
    commutation factor permutes rows in place of being built."""
    factors = [transpose(f) if transposed else f for f in node.args]
    sizes = [f.cols for f in factors]  # axis i has F_i's column count until F_i is applied
    for i in reversed(range(len(factors))):
        f = factors[i]
        a, b = em.dim(sp.Mul(*sizes[:i])), em.dim(sp.Mul(*sizes[i + 1 :]))
        if isinstance(f, CommutationMatrix):
            em.helpers.add("_commute_mid")
            acc = f"_commute_mid({acc}, {a}, {em.dim(f.m)}, {em.dim(f.n)}, {b})"
        elif not isinstance(f, sp.Identity):
            em.helpers.add("_kron_mid")
            acc = f"_kron_mid({em.code(f)}, {acc}, {a}, {b})"
        sizes[i] = f.rows
    return acc


def built_factor(em: Emitter, mats: list[Any]) -> tuple[int, int, str]:
    """For a product of structured factors only: the factors ``mats[lo:hi]`` to build
    and their code; the others are applied to it."""
    if _kron_then_commutation(mats[0], mats[1]):
        a, b = mats[0].args
        em.helpers.add("_kron_commuted")
        return 0, 2, f"_kron_commuted({em.code(a)}, {em.code(b)})"
    i = min(range(len(mats)), key=lambda i: (_is_permutation(mats[i]), _entries(mats[i])))
    return i, i + 1, em.code(mats[i])


TYPICAL_SIZE = 1000  # every symbolic dimension, when comparing how large factors are


def _entries(node: Any) -> Any:
    """How many entries ``node`` has, with each symbolic dimension set to 1000."""
    rows, cols = shape_of(node)
    size = sp.sympify(rows * cols)
    return size.subs({d: TYPICAL_SIZE for d in size.free_symbols})


def _is_permutation(node: Any) -> bool:
    """K_{m,n}, or a Kronecker product of identities and commutation matrices."""
    if isinstance(node, sp.KroneckerProduct):
        return all(isinstance(a, (sp.Identity, CommutationMatrix)) for a in node.args)
    return isinstance(node, CommutationMatrix)


def _kron_then_commutation(first: Any, second: Any) -> bool:
    """(A ⊗ B) K_{q,s} with A: p x q and B: r x s, which one broadcast builds."""
    if not isinstance(first, sp.KroneckerProduct) or len(first.args) != 2:
        return False
    if not isinstance(second, CommutationMatrix):
        return False
    a, b = first.args
    if isinstance(a, sp.Identity) or isinstance(b, sp.Identity):
        return False
    return bool(sp.sympify(second.m - a.cols) == 0 and sp.sympify(second.n - b.cols) == 0)
