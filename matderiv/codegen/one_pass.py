"""Aᵀ g(A V) with A read from memory once: the two products taken by blocks of rows.

A least-squares gradient Aᵀ (2 (A x - b)), a logistic regression's gradient
Xᵀ (y ∘ (σ(y ∘ X w) - 1)) and their Hessian-vector products read the matrix
twice: once for A V and once for Aᵀ times the result.  When A is larger than a
cache, both products stream it from memory, and that is the whole cost: both
are memory-bound.  Every row of g(A V) depends on the same rows of A only (g is
entrywise; its other operands have A's rows), so

    Aᵀ g(A V) = Σ_r A_rᵀ g(A_r V),    A_r = A[r], for blocks of rows r,

and each block serves both products while it is in cache.  The generated code
passes the rows of g, as a function of r and the block's products A_r V, to the
helper ``_one_pass`` with the right factors V, and the helper takes the blocks
(about 1 MiB of A each) and their products; an A of at most 1 MiB is left to the
two products, in the generated code itself:

    (A.T.dot(2 * (A.dot(x) - b)) if A.size <= 131072
     else _one_pass(A, lambda r, A_x: 2 * (A_x - b[r]), (x,)))

since the helper's call costs about a third of a microsecond, 15% of the whole
gradient at n = 64.  A node of g over A's rows that g uses twice, such as the
logistic HVP's s = σ(y ∘ X w) in (X V) ∘ s ∘ (1 - s), is computed once a block in
a temporary of a rows function defined just before the call (there is no small
case in the code then; the helper takes a small A whole):

    def rows7(r, X_V, X_w):
        t6 = (numpy.exp(X_w * y[r]) + 1) ** (-1.0)
        return X_V * (1.0 - t6) * t6 * t4[r]
    return _one_pass(X, rows7, (V, w), 3)

The last argument is the number of times the two products would read A (the
distinct products A V in g, and Aᵀ).  The blocks pay only when those reads do not
fit in the last-level cache, so the helper takes A whole when reads x A's bytes
fit (the cache's size read from Linux, 8 MiB elsewhere).  Measured on one core:
least squares' Aᵀ (A x - b) on an AMD EPYC (1 MiB of L2, 32 MiB of L3), 250 µs
as two products and 269 µs in blocks at 8 MiB of A, 662 and 716 µs at 16 MiB,
1834 and 1352 µs at 24.7 MiB; the logistic HVP (three reads) at 16 MiB, 1361 and
1175 µs.  On an Intel Xeon (2 MiB of L2) the blocks won already at 8 MiB, 573
against 431 µs, where the two products ran at memory speed: its caches were not
measured, and the rule may choose the two products there where blocks were faster.

Two products of a block, X_r w and X_r V, are one product X_r [w V] where that is
faster: with OpenBLAS (0.3.31 measured, on that EPYC) a product with two columns
below 10⁶ multiply-adds takes 0.4-0.6x the time of the two matrix-vector products,
and 2-3x above, so the helper takes such blocks of A, below 2¹⁹ multiply-adds,
at every size of A from 2¹⁶ entries (below, the stacking costs more than it
saves: the logistic HVP at n = 128, X of 2¹⁵ entries, 16.4 µs apart, 19 merged).
Measured at n = 256-1024 (X: 2n x n): 0.72-0.89x the time with the products apart.
Other BLAS libraries keep the products apart (``_merges``).

The numba backend compiles the two products (it cannot pass the rows' function
to a compiled helper): its code is emitted without this form (``em.one_pass``).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..canon import matmul, transpose
from ..graph import arguments, count_uses, is_leaf, post_order
from ..nodes import DiagVector
from ..shapes import mentions, shape_of
from .products import is_one, product_code

if TYPE_CHECKING:
    from .emit import Emitter

BLOCK = 1048576  # bytes of A per block (the helper _one_pass has the same number;
# the generated test compares A.size, in float64 entries, with BLOCK // 8)
_ENTRYWISE = (sp.MatAdd, sp.HadamardProduct)
_SHORT_SUM = 12  # longer sums are accumulated in temporaries (Emitter._MatAdd)


def one_pass_code(em: Emitter, mats: list[Any]) -> str | None:
    """Code for the product of ``mats``, Aᵀ g(A V) (or g(A V)ᵀ A) with A an array of
    the program, in one pass over A's rows (the helper takes A whole when that pays
    better); None for any other product, and for the numba backend's code."""
    if len(mats) < 2 or not em.one_pass:
        return None
    first, last = mats[0], mats[-1]
    if isinstance(first, sp.Transpose) and _is_array(em, first.arg):
        rest = mats[1] if len(mats) == 2 else sp.MatMul(*mats[1:])
        A, fused = first.arg, _fused(em, first.arg, rest)
        after = ""
    elif _is_array(em, last):  # g(A V)ᵀ A = (Aᵀ g(A V))ᵀ
        rest = mats[0] if len(mats) == 2 else sp.MatMul(*mats[:-1])
        A, fused = last, _fused(em, last, transpose(rest))
        after = ".T"
    else:
        return None
    if fused is None:
        return None
    call, defined = fused
    if defined:  # a rows function with temporaries: the helper takes a small A whole
        return call + after
    # small: exactly the two products, without the helper's call (a third of a µs)
    whole = product_code(em, mats)
    return f"({whole} if {em.names[A]}.size <= {BLOCK // 8} else {call}{after})"


def _is_array(em: Emitter, node: Any) -> bool:
    """A matrix (not a vector) that is an input or a defined symbol of the program."""
    if not isinstance(node, sp.MatrixSymbol) or node not in em.names:
        return False
    rows, cols = node.shape
    return not is_one(rows) and not is_one(cols)


def _outside(em: Emitter, A: Any, node: Any, inside: Counter[Any]) -> bool:
    """Whether ``node`` of g is computed whole, before the pass: a name of the
    program, free of A, or used outside g too (``inside``: its uses within g)."""
    return node in em.names or not _uses(em, A, node) or em.uses[node] > inside[node]


def _uses(em: Emitter, A: Any, node: Any) -> bool:
    """Whether A occurs in ``node``, each node of the code asked once (a walk of each
    node's free symbols was quadratic in the depth of g)."""
    return mentions(node, {A}, em.mentions.setdefault(A, {}))


def _products(em: Emitter, A: Any, node: Any, inside: Counter[Any]) -> set[Any] | None:
    """The products A V that ``node`` computes over A's rows, when each of its rows
    needs only the same rows of A (None when some row needs others)."""
    if _outside(em, A, node, inside):
        return _outside_ok(A, node)
    if isinstance(node, sp.MatMul):
        coeff, mats = node.as_coeff_matrices()
        if A in coeff.free_symbols:
            return None
        if mats[0] == A and len(mats) > 1:
            return {matmul(*mats)}  # (A x and -A x: one product)
        if _scaled_rows(mats):  # diag(d) M = d ∘ M, for a column M
            return _union([mats[0].arg, sp.MatMul(*mats[1:])], em, A, inside)
        return _products(em, A, mats[0], inside) if len(mats) == 1 else None
    if isinstance(node, _ENTRYWISE) and len(node.args) <= _SHORT_SUM:
        return _union(node.args, em, A, inside)
    if isinstance(node, sp.HadamardPower) and A not in node.exp.free_symbols:
        return _products(em, A, node.base, inside)
    if isinstance(node, ElementwiseApplyFunction):
        return _products(em, A, node.expr, inside)
    return None


def _union(nodes: Any, em: Emitter, A: Any, inside: Counter[Any]) -> set[Any] | None:
    found: set[Any] = set()
    for node in nodes:
        products = _products(em, A, node, inside)
        if products is None:
            return None
        found |= products
    return found


def _outside_ok(A: Any, node: Any) -> set[Any] | None:
    """No products for an operand computed whole before the pass (a scalar, a ones
    matrix, or a matrix with A's rows), None for one that cannot be cut into A's
    row blocks."""
    if not getattr(node, "is_Matrix", False) or isinstance(node, sp.OneMatrix):
        return set()
    if isinstance(node, (sp.ZeroMatrix, sp.Identity)) or shape_of(node)[0] != A.rows:
        return None
    return set()


def _scaled_rows(mats: list[Any]) -> bool:
    """diag(d) M with M a column: the rows of M scaled by d."""
    return len(mats) > 1 and isinstance(mats[0], DiagVector) and is_one(shape_of(mats[-1])[1])


class _Rows:
    """g(A V) rewritten over the rows r of a block: A V becomes A_r V, an operand b
    with A's rows b[r]; each replaced by a placeholder that ``code`` reads by name."""

    def __init__(self, em: Emitter, A: Any, inside: Counter[Any]) -> None:
        self.em, self.A, self.inside = em, A, inside
        self.rows = _param(em, "r")
        self.holders: dict[Any, str] = {}
        self.products: dict[str, Any] = {}  # code of V in a product A V -> its holder
        self.params: list[str] = []  # the rows function's parameter for each A_r V
        self.done: dict[Any, Any] = {}
        self.shared = False  # whether a node over the rows is used twice (a temporary)

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
        """``node`` over the block's rows (``_products`` said it can be)."""
        if node not in self.done:
            self.done[node] = self._local(node)
        return self.done[node]

    def _local(self, node: Any) -> Any:
        em, A = self.em, self.A
        if _outside(em, A, node, self.inside):
            if not getattr(node, "is_Matrix", False) or isinstance(node, sp.OneMatrix):
                return node
            coeff, mats = _scaled(node)
            # c·M: the number stays outside the rows (-b[r], not t = -b; t[r]); not c·𝟏,
            # whose 𝟏 would be written with A's m rows, not the block's
            scalable = coeff != 1 and mats and not isinstance(mats[0], sp.OneMatrix)
            if scalable and not _uses(em, A, node) and node not in em.names:
                return matmul(coeff, self.local(mats[0]))
            return self.holder(node, f"{self.whole(node)}[{self.rows}]")
        self.shared |= self.inside[node] > 1
        if isinstance(node, sp.MatMul):
            coeff, mats = node.as_coeff_matrices()
            if mats[0] == A and len(mats) > 1:
                operand = mats[1] if len(mats) == 2 else sp.MatMul(*mats[1:])
                code = self.whole(operand)
                if code not in self.products:  # (A x and -A x: one product)
                    stem = f"{em.names[A]}_{code if code.isidentifier() else 'v'}"
                    self.params.append(_param(em, stem))
                    self.products[code] = self.holder(sp.MatMul(*mats), self.params[-1])
                return matmul(coeff, self.products[code])
            if _scaled_rows(mats):
                rest = self.local(sp.MatMul(*mats[1:]))
                return matmul(coeff, sp.HadamardProduct(self.local(mats[0].arg), rest))
            return matmul(coeff, self.local(mats[0]))  # c·M
        if isinstance(node, _ENTRYWISE):
            return node.func(*(self.local(a) for a in node.args))
        if isinstance(node, sp.HadamardPower):
            return sp.HadamardPower(self.local(node.base), node.exp)
        return ElementwiseApplyFunction(node.function, self.local(node.expr))


def _scaled(node: Any) -> tuple[Any, list[Any]]:
    """(c, [M]) for a product c·M of a number and one matrix, else (1, [])."""
    if isinstance(node, sp.MatMul):
        coeff, mats = node.as_coeff_matrices()
        if len(mats) == 1 and not coeff.free_symbols:
            return coeff, list(mats)
    return sp.S.One, []


def _inside_uses(em: Emitter, A: Any, g: Any) -> Counter[Any]:
    """How many parents computed over the rows use each node of g (parents before
    children: a node computed whole before the pass does not count for its operands,
    which it does not need again)."""
    inside: Counter[Any] = Counter({g: 1})
    for node in reversed(post_order(g, arguments)):
        if is_leaf(node) or _outside(em, A, node, inside):
            continue
        for arg in arguments(node):
            inside[arg] += 1
    return inside


def _param(em: Emitter, stem: str) -> str:
    """A parameter of the rows function: ``stem`` unless the code already has that name."""
    name = em.fresh(stem) if stem in em.taken else stem
    em.taken.add(name)
    return name


def _fused(em: Emitter, A: Any, g: Any) -> tuple[str, bool] | None:
    """``_one_pass(A, rows[, reads])`` and whether rows is a function defined just
    before (when some node over the rows is used twice: computed once, in a
    temporary) rather than a lambda; reads = the passes over A that the two products
    would make."""
    inside = _inside_uses(em, A, g)
    products = _products(em, A, g, inside)
    if not products:  # None, or no product A V to take by rows
        return None
    rows = _Rows(em, A, inside)
    local = rows.local(g)
    em.names.update(rows.holders)
    try:
        if rows.shared:
            function = _define(em, rows, local)
        else:
            function = f"lambda {', '.join([rows.rows, *rows.params])}: {_inline(em, local)}"
    finally:
        for holder in rows.holders:
            del em.names[holder]
    em.helpers.add("_one_pass")
    codes = list(rows.products)
    right = f"({codes[0]},)" if len(codes) == 1 else f"({', '.join(codes)})"
    reads = "" if len(products) == 1 else f", {len(products) + 1}"
    return f"_one_pass({em.names[A]}, {function}, {right}{reads})", rows.shared


def _inline(em: Emitter, local: Any) -> str:
    inline, em.inline = em.inline, True
    before = len(em.lines)
    try:
        body = em.code(local)
    finally:
        em.inline = inline
    assert len(em.lines) == before, "the rows of a one-pass product needed a temporary"
    return body


def _define(em: Emitter, rows: _Rows, local: Any) -> str:
    """The name of a function of (r, A_r V, ...) defined by new lines; its temporaries are its
    own (the names of the program's code are restored after it)."""
    lines, uses, names, by_code = em.lines, em.uses, dict(em.names), dict(em.by_code)
    em.lines, em.uses = [], count_uses([local])
    try:
        result = em.code(local)
        body = em.lines
    finally:
        em.lines, em.uses, em.names, em.by_code = lines, uses, names, by_code
    name = em.fresh("rows")
    em.lines.append(f"def {name}({', '.join([rows.rows, *rows.params])}):")
    em.lines.extend(f"    {line}" for line in [*body, f"return {result}"])
    return name
