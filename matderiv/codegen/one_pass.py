"""Aᵀ g(A V) with A read from memory once: the two products taken by blocks of rows.

A least-squares gradient Aᵀ (2 (A x - b)), a logistic regression's gradient
Xᵀ (y ∘ (σ(y ∘ X w) - 1)) and their Hessian-vector products read the matrix
twice: once for A V and once for Aᵀ times the result.  When A is larger than a
cache, both products stream it from memory, and that is the whole cost: both
are memory-bound.  Every row of g(A V) depends on the same rows of A only (g is
entrywise; its other operands have A's rows), so

    Aᵀ g(A V) = Σ_r A_rᵀ g(A_r V),    A_r = A[r], for blocks of rows r,

and each block serves both products while it is in cache.  The generated code
passes the rows of g as a function of (A_r, r) to the helper ``_one_pass``,
which takes blocks of about 1 MiB of A; an A of at most 1 MiB is left to the
two products, in the generated code itself:

    (A.T.dot(2 * (A.dot(x) - b)) if A.size <= 131072
     else _one_pass(A, lambda A_r, r: 2 * (A_r.dot(x) - b[r])))

since the helper's call costs about a third of a microsecond, 15% of the whole
gradient at n = 64.  Measured on one core (OpenBLAS, 2 MiB of L2 cache): A of
1024 x 1024, 573 µs for the two products, 431 µs in one pass; 512 x 512, 72
and 68 µs; 256 x 256 (one block), 16 and 15 µs.

The numba backend compiles the two products (it cannot pass the rows' function
to a compiled helper): ``numba_dialect.TwoProducts`` keeps the first branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..canon import transpose
from ..nodes import DiagVector
from ..shapes import shape_of
from .products import is_one, product_code

if TYPE_CHECKING:
    from .emit import Emitter

BLOCK = 1048576  # bytes of A per block (the helper _one_pass has the same number;
# the generated test compares A.size, in float64 entries, with BLOCK // 8)
_ENTRYWISE = (sp.MatAdd, sp.HadamardProduct)
_SHORT_SUM = 12  # longer sums are accumulated in temporaries (Emitter._MatAdd)


def one_pass_code(em: Emitter, mats: list[Any]) -> str | None:
    """Code for the product of ``mats``, Aᵀ g(A V) (or g(A V)ᵀ A) with A an array of
    the program: the two products when A is at most one block (1 MiB), else one
    pass; None for any other product."""
    if len(mats) < 2:
        return None
    first, last = mats[0], mats[-1]
    if isinstance(first, sp.Transpose) and _is_array(em, first.arg):
        rest = mats[1] if len(mats) == 2 else sp.MatMul(*mats[1:])
        A, fused = first.arg, _fused(em, first.arg, rest)
    elif _is_array(em, last):  # g(A V)ᵀ A = (Aᵀ g(A V))ᵀ
        rest = mats[0] if len(mats) == 2 else sp.MatMul(*mats[:-1])
        A, fused = last, _fused(em, last, transpose(rest))
        fused = None if fused is None else f"{fused}.T"
    else:
        return None
    if fused is None:
        return None
    # small: exactly the two products, without the helper's call (a third of a µs)
    whole = product_code(em, mats)
    return f"({whole} if {em.names[A]}.size <= {BLOCK // 8} else {fused})"


def _is_array(em: Emitter, node: Any) -> bool:
    """A matrix (not a vector) that is an input or a defined symbol of the program."""
    if not isinstance(node, sp.MatrixSymbol) or node not in em.names:
        return False
    rows, cols = node.shape
    return not is_one(rows) and not is_one(cols)


def _fusable(em: Emitter, A: Any, node: Any) -> int | None:
    """How many products A V ``node`` computes over A's rows, when each of its rows
    needs only the same rows of A (None when some row needs others)."""
    if node in em.names or A not in node.free_symbols or em.uses[node] > 1:
        return _outside_ok(A, node)  # (used twice: computed whole, once, before the pass)
    if isinstance(node, sp.MatMul):
        coeff, mats = node.as_coeff_matrices()
        if A in coeff.free_symbols:
            return None
        if mats[0] == A and len(mats) > 1:
            return 1
        if _scaled_rows(mats):  # diag(d) M = d ∘ M, for a column M
            return _total([mats[0].arg, sp.MatMul(*mats[1:])], em, A)
        return _fusable(em, A, mats[0]) if len(mats) == 1 else None
    if isinstance(node, _ENTRYWISE) and len(node.args) <= _SHORT_SUM:
        return _total(node.args, em, A)
    if isinstance(node, sp.HadamardPower) and A not in node.exp.free_symbols:
        return _fusable(em, A, node.base)
    if isinstance(node, ElementwiseApplyFunction):
        return _fusable(em, A, node.expr)
    return None


def _total(nodes: Any, em: Emitter, A: Any) -> int | None:
    total = 0
    for node in nodes:
        count = _fusable(em, A, node)
        if count is None:
            return None
        total += count
    return total


def _outside_ok(A: Any, node: Any) -> int | None:
    """0 for an operand computed whole before the pass (a scalar, a ones matrix, or a
    matrix with A's rows), None for one that cannot be cut into A's row blocks."""
    if not getattr(node, "is_Matrix", False) or isinstance(node, sp.OneMatrix):
        return 0
    if isinstance(node, (sp.ZeroMatrix, sp.Identity)) or shape_of(node)[0] != A.rows:
        return None
    return 0


def _scaled_rows(mats: list[Any]) -> bool:
    """diag(d) M with M a column: the rows of M scaled by d."""
    return len(mats) > 1 and isinstance(mats[0], DiagVector) and is_one(shape_of(mats[-1])[1])


class _Rows:
    """g(A V) rewritten over the rows r of a block: A V becomes A_r V, an operand b
    with A's rows b[r]; each replaced by a placeholder that ``code`` reads by name."""

    def __init__(self, em: Emitter, A: Any) -> None:
        self.em, self.A = em, A
        self.block = _param(em, f"{em.names[A]}_r")  # the rows of A in the block
        self.rows = _param(em, "r")
        self.holders: dict[Any, str] = {}

    def holder(self, like: Any, code: str) -> Any:
        node = sp.MatrixSymbol(self.em.fresh("_MDROWS"), *like.shape)
        self.holders[node] = code
        return node

    def whole(self, node: Any) -> str:
        """A name for ``node``, computed whole before the pass (and reused after it)."""
        name = self.em.temp(self.em.code(node))
        self.em.names.setdefault(node, name)
        return name

    def local(self, node: Any) -> Any:
        """``node`` over the block's rows (``_fusable`` said it can be)."""
        em, A = self.em, self.A
        if isinstance(node, sp.MatMul) and node not in em.names and em.uses[node] <= 1:
            coeff, mats = node.as_coeff_matrices()
            if mats[0] == A and len(mats) > 1:
                operand = mats[1] if len(mats) == 2 else sp.MatMul(*mats[1:])
                product = f"{self.block}.dot({self.whole(operand)})"
                return sp.MatMul(coeff, self.holder(node, product))
            if _scaled_rows(mats):
                rest = self.local(sp.MatMul(*mats[1:]))
                return sp.MatMul(coeff, sp.HadamardProduct(self.local(mats[0].arg), rest))
            if len(mats) == 1:  # c·M: the number stays outside the rows (-b[r], not (-b)[r])
                return sp.MatMul(coeff, self.local(mats[0]))
        if node in em.names or A not in node.free_symbols or em.uses[node] > 1:
            if not getattr(node, "is_Matrix", False) or isinstance(node, sp.OneMatrix):
                return node
            return self.holder(node, f"{self.whole(node)}[{self.rows}]")
        if isinstance(node, _ENTRYWISE):
            return node.func(*(self.local(a) for a in node.args))
        if isinstance(node, sp.HadamardPower):
            return sp.HadamardPower(self.local(node.base), node.exp)
        return ElementwiseApplyFunction(node.function, self.local(node.expr))


def _param(em: Emitter, stem: str) -> str:
    """A lambda parameter: ``stem`` unless the code already has that name."""
    name = em.fresh(stem) if stem in em.taken else stem
    em.taken.add(name)
    return name


def _fused(em: Emitter, A: Any, g: Any) -> str | None:
    if not _fusable(em, A, g):  # None, or no product A V to take by rows
        return None
    rows = _Rows(em, A)
    local = rows.local(g)
    em.names.update(rows.holders)
    inline, em.inline = em.inline, True
    before = len(em.lines)
    try:
        body = em.code(local)
    finally:
        em.inline = inline
        for holder in rows.holders:
            del em.names[holder]
    assert len(em.lines) == before, "the rows of a one-pass product needed a temporary"
    em.helpers.add("_one_pass")
    return f"_one_pass({em.names[A]}, lambda {rows.block}, {rows.rows}: {body})"
