"""Named products and sums kept as operands of the expressions that use them.

SymPy flattens a product into the product that uses it and a sum into the sum: with
z = W₂ᵀ v, the loss logsumexp(z) - yᵀ z holds yᵀ W₂ᵀ v, so the steps could not say
v₃ := -yᵀ z, and the chain rule would not go through z (∂L/∂z = softmax(z) - y).
``regroup`` nests each named run again, yᵀ (W₂ᵀ v), without SymPy's flattening, so
that the graph has the named node as an operand.  Values are unchanged: only the
grouping of the factors or terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sympy as sp

from .canon import transpose
from .shapes import is_matrix, shape_of, transposes_reached, walk
from .substitute import rebuild, substitute, unchecked


def _factors(product: Any) -> tuple[Any, ...] | None:
    """The matrix factors of a product without a number in front (a run to find)."""
    coeff, mats = product.as_coeff_matrices()
    if coeff != 1 or len(mats) < 2 or len(mats) != len(product.args):
        return None
    return tuple(mats)


def _patterns(named: Iterable[Any]) -> tuple[list[tuple[tuple[Any, ...], Any]], list[Any]]:
    """(factors, node) for each named product and its transpose, longest first; the
    named sums."""
    runs: list[tuple[tuple[Any, ...], Any]] = []
    sums: list[Any] = []
    for node in named:
        if isinstance(node, sp.MatMul):
            factors = _factors(node)
            if factors is not None:
                runs.append((factors, node))
                flipped = tuple(transpose(f) for f in reversed(factors))
                if flipped != factors:
                    runs.append((flipped, sp.Transpose(node)))
        elif isinstance(node, sp.MatAdd):
            sums.append(node)
    runs.sort(key=lambda run: -len(run[0]))
    sums.sort(key=lambda s: -len(s.args))
    return runs, sums


def _regroup_product(args: tuple[Any, ...], runs: list[Any]) -> Any:
    scalars = [a for a in args if not is_matrix(a)]
    mats = [a for a in args if is_matrix(a)]
    changed = False
    for factors, named in runs:
        k = len(factors)
        if k >= len(mats):
            continue
        i = 0
        while i + k <= len(mats):
            if tuple(mats[i : i + k]) == factors:
                mats[i : i + k] = [named]
                changed = True
            i += 1
    return unchecked(sp.MatMul, *scalars, *mats) if changed else None


def _regroup_sum(args: tuple[Any, ...], sums: list[Any]) -> Any:
    terms = list(args)
    changed = False
    for named in sums:
        inner = list(named.args)
        if len(inner) >= len(terms) or any(t not in terms for t in inner):
            continue
        for t in inner:
            terms.remove(t)
        terms.insert(0, named)
        changed = True
    return unchecked(sp.MatAdd, *terms) if changed else None


def regroup(expr: Any, named: Iterable[Any]) -> Any:
    """``expr`` with each named product or sum nested as one operand where SymPy had
    flattened it into a larger product or sum."""
    runs, sums = _patterns(named)
    if not runs and not sums:
        return expr
    # post-order over the distinct subexpressions, without recursion (deep programs)
    order: list[Any] = []
    seen: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or not isinstance(node, sp.Basic) or isinstance(node, sp.Lambda):
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((a, False) for a in node.args)
    new: dict[Any, Any] = {}
    for node in order:
        args = tuple(new.get(a, a) for a in node.args)
        out = node if args == node.args else rebuild(node, args)
        if isinstance(node, sp.MatMul):
            out = _regroup_product(args, runs) or out
        elif isinstance(node, sp.MatAdd):
            out = _regroup_sum(args, sums) or out
        new[node] = out
    return new.get(expr, expr)


def shared_transposes(expr: Any) -> Any:
    """A sum that is another sum of ``expr`` transposed term by term, as that sum's
    transpose: SymPy's .T distributes, so (A x - b).T * (A x - b) holds xᵀAᵀ - bᵀ
    beside A x - b, two nodes (and two copies in the steps) for one residual.  The
    sum read with more transposes (or as a row) becomes (A x - b)ᵀ."""
    sums = [n for n in walk(expr) if isinstance(n, sp.MatAdd)]
    if len(sums) < 2:
        return expr
    by_terms = {frozenset(s.args): s for s in sums}
    mapping: dict[Any, Any] = {}
    for s in sums:
        other = by_terms.get(frozenset(transpose(t) for t in s.args))
        if other is None or other == s or other in mapping:
            continue
        mine, theirs = transposes_reached(s), transposes_reached(other)
        row = shape_of(s)[0] == 1 and shape_of(s)[1] != 1
        if mine > theirs or (mine == theirs and row):
            mapping[s] = sp.Transpose(other)
    return substitute(expr, mapping) if mapping else expr
