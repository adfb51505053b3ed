"""Named products and sums kept as operands of the expressions that use them.

SymPy flattens a product into the product that uses it and a sum into the sum: with
z = W₂ᵀ v, the loss logsumexp(z) - yᵀ z holds yᵀ W₂ᵀ v, so the steps could not say
v₃ := -yᵀ z, and the chain rule would not go through z (∂L/∂z = softmax(z) - y).
``regroup`` nests each named run again, yᵀ (W₂ᵀ v), without SymPy's flattening, so
that the graph has the named node as an operand.  Values are unchanged: only the
grouping of the factors or terms.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

import sympy as sp

from .canon import transpose
from .graph import post_order
from .scalarize import transposes_reached
from .shapes import is_matrix, shape_of, walk
from .substitute import rebuild, substitute, unchecked

#: a named product to find: (its matrix factors, its number or scalar, itself)
Run = tuple[tuple[Any, ...], Any, Any]


def _split(product: Any) -> tuple[Any, tuple[Any, ...]] | None:
    """(scalar, matrix factors) of a product of two or more matrices, or of one matrix
    and a scalar that is not a number (y = x/‖x‖ in cᵀ x/‖x‖; 2 x would be found in
    every product that holds x, 3 Aᵀ x read 3/2 Aᵀ y)."""
    coeff, mats = product.as_coeff_matrices()
    if any(isinstance(m, sp.MatMul) for m in mats):
        return None
    if len(mats) < 2 and (not mats or sp.sympify(coeff).is_Number):
        return None
    return coeff, tuple(mats)


def _patterns(named: Iterable[Any]) -> tuple[list[Run], list[Any]]:
    """The named products and their transposes, longest first; the named sums."""
    runs: list[Run] = []
    sums: list[Any] = []
    for node in named:
        if isinstance(node, sp.MatMul):
            found = _split(node)
            if found is not None:
                coeff, factors = found
                runs.append((factors, coeff, node))
                flipped = tuple(transpose(f) for f in reversed(factors))
                if flipped != factors:
                    runs.append((flipped, coeff, sp.Transpose(node)))
        elif isinstance(node, sp.MatAdd):
            sums.append(node)
    runs.sort(key=lambda run: -len(run[0]))
    sums.sort(key=lambda s: -len(s.args))
    return runs, sums


def _lifted(args: tuple[Any, ...]) -> tuple[Any, list[Any], bool]:
    """The product's scalar and matrices, a number c of a factor c·Y lifted out of it:
    𝟏 (-μ) is -𝟏 μ."""
    coeff = sp.Mul(*(a for a in args if not is_matrix(a)))
    mats, lifted = [], False
    for a in args:
        if not is_matrix(a):
            continue
        if isinstance(a, sp.MatMul) and len(a.args) == 2 and a.args[0].is_Number:
            coeff, a, lifted = coeff * a.args[0], a.args[1], True
        mats.append(a)
    return coeff, mats, lifted


def _in_order(candidates: dict[Any, list[int]], present: Iterable[Any]) -> list[int]:
    """A heap of the patterns (by index) whose first part is one of ``present``."""
    heap = sorted({k for p in present for k in candidates.get(p, ())})
    return heap


def _regroup_product(
    args: tuple[Any, ...], runs: list[Run], by_first: dict[Any, list[int]]
) -> Any:
    """A product with a named run nested (the number adjusted: -1/n 𝟏ᵀx is -μ for
    μ = 𝟏ᵀx/n), or None when nothing changes.  The runs are tried longest first; only
    those whose first factor is in the product (``by_first``), so that a program of N
    named products is not N² comparisons."""
    coeff, mats, changed = _lifted(args)
    heap = _in_order(by_first, mats)
    seen = set(heap)
    while heap:
        index = heapq.heappop(heap)
        factors, c, named = runs[index]
        k = len(factors)
        if k > len(mats):
            continue
        ratio = coeff if c == 1 else coeff / c  # -1/n over 1/n is -1 as SymPy builds it
        if (c != 1 and not ratio.is_Number) or (k == len(mats) and ratio == 1):
            continue  # the named product itself, or a scalar that does not divide
        for i in range(len(mats) - k + 1):
            if tuple(mats[i : i + k]) == factors:
                mats[i : i + k] = [named]
                coeff, changed = ratio, True
                for later in by_first.get(named, ()):  # a run that starts with it
                    if later > index and later not in seen:
                        seen.add(later)
                        heapq.heappush(heap, later)
                break
    if not changed:
        return None
    return unchecked(sp.MatMul, *([] if coeff == 1 else [coeff]), *mats)


def _regroup_sum(args: tuple[Any, ...], sums: list[Any], by_term: dict[Any, list[int]]) -> Any:
    terms = list(args)
    changed = False
    heap = _in_order(by_term, terms)
    seen = set(heap)
    while heap:
        index = heapq.heappop(heap)
        named = sums[index]
        inner = list(named.args)
        if len(inner) >= len(terms) or any(t not in terms for t in inner):
            continue
        for t in inner:
            terms.remove(t)
        terms.insert(0, named)
        changed = True
        for later in by_term.get(named, ()):
            if later > index and later not in seen:
                seen.add(later)
                heapq.heappush(heap, later)
    return unchecked(sp.MatAdd, *terms) if changed else None


def _named_power(node: Any, powers: dict[Any, Any]) -> tuple[Any, Any] | None:
    """(s, r) with bᵉ = sʳ for a named s = bᵉ⁰ and r = e/e₀ a number: c/s with s = √q
    was q^(-1/2), and s was gone; now it is 1/s.  None when nothing changes."""
    base, exponent = node.args
    named = powers.get(base)
    if named is None or named == node or not exponent.is_Number:
        return None
    ratio = exponent / named.exp
    if not ratio.is_Number:
        return None
    # (bᵉ⁰)ʳ = bᵉ for every real b only for an integer r: s² is not (s³)^(2/3) for s < 0
    return (named, ratio) if ratio.is_Integer or base.is_nonnegative else None


def _children(node: Any) -> tuple[Any, ...]:
    """A node's arguments; an entrywise function's body is not regrouped."""
    return () if isinstance(node, sp.Lambda) else node.args


class Regrouper:
    """``regroup`` over one set of named expressions, its patterns found once: a
    program names hundreds of products, and each definition is regrouped."""

    def __init__(self, named: Iterable[Any]) -> None:
        self.named = list(named)
        self.runs, self.sums = _patterns(self.named)
        self.by_first: dict[Any, list[int]] = {}
        for k, (factors, _, _) in enumerate(self.runs):
            self.by_first.setdefault(factors[0], []).append(k)
        self.by_term: dict[Any, list[int]] = {}
        for k, named_sum in enumerate(self.sums):
            self.by_term.setdefault(named_sum.args[0], []).append(k)
        self.powers = {
            n.base: n
            for n in self.named
            if isinstance(n, sp.Pow) and n.exp.is_Number and not getattr(n, "is_Matrix", False)
        }
        # node -> regrouped, kept across calls: the named expressions share their
        # subexpressions (an HVP's second phase names every level of a nested chain),
        # and each is regrouped once, not once per expression that holds it
        self.done: dict[Any, Any] = {}

    def __call__(self, expr: Any) -> Any:
        """``expr`` with each named product or sum nested as one operand where SymPy
        had flattened it into a larger product or sum, and a named power of a scalar
        found under another exponent."""
        if not self.runs and not self.sums and not self.powers:
            return expr
        new = self.done
        for node in post_order(expr, lambda n: () if n in new else _children(n)):
            if node in new:
                continue
            args = tuple(new.get(a, a) for a in node.args)
            out = node if args == node.args else rebuild(node, args)
            if isinstance(node, sp.MatMul):
                out = _regroup_product(args, self.runs, self.by_first) or out
            elif isinstance(node, sp.MatAdd):
                out = _regroup_sum(args, self.sums, self.by_term) or out
            elif isinstance(node, sp.Pow) and self.powers:
                found = _named_power(node, self.powers)  # the original base: as s was named
                if found is not None:
                    s, ratio = found
                    out = sp.Pow(self(s), ratio, evaluate=False)
            new[node] = out
        return new.get(expr, expr)


def regroup(expr: Any, named: Iterable[Any]) -> Any:
    """``expr`` with the ``named`` products, sums and powers nested (``Regrouper``)."""
    return Regrouper(named)(expr)


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
