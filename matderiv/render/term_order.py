"""How the printers arrange the operands of sums and products, alike in Unicode and LaTeX.

- **A sum beside its own transpose** in a matrix product prints as that
  transpose: (x - μ)(x - μ)ᵀ and (x - μ)ᵀ A (x - μ), not (x - μ)(xᵀ - μᵀ); so
  does a row of transposed vectors there, 2(μ - y)ᵀ Σ⁻¹, not 2(μᵀ - yᵀ) Σ⁻¹
  (``with_transposed_twins``).
- **Terms of a sum in step order**: x₁ (...) + x₂ (...) + ... + x₁₀ (...), not in
  SymPy's string order (x₁, x₁₀, x₁₁, ..., x₂), when every term has numbered names
  (``in_step_order``).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import sympy as sp

# -- terms in step order ------------------------------------------------------------

_NUMBERED = re.compile(r"_(\d+)$")


def in_step_order(terms: tuple[Any, ...]) -> list[Any]:
    """The terms of a sum ordered by the numbers of their names (h_1 ... h_16, by
    value), when every term has a numbered name; else as given."""
    if any(isinstance(t, (sp.Symbol, sp.MatrixSymbol)) and not _name_numbers(t) for t in terms):
        return list(terms)  # a name without a number (b in A e + b): no walk of the others
    keys = []
    for term in terms:
        numbers = _name_numbers(term)
        if not numbers:
            return list(terms)
        keys.append(numbers)
    order = sorted(range(len(terms)), key=lambda k: keys[k])
    return [terms[k] for k in order]


def _name_numbers(term: Any) -> tuple[int, ...]:
    """The numbers of the numbered names in ``term`` (h_1 → 1), in preorder, each
    distinct subexpression visited once and without recursion: a term of a deep
    nested tree costs its distinct nodes, where ``preorder_traversal`` (nested
    generators) cost its depth per node."""
    numbers = []
    seen: set[Any] = set()
    stack = [term]
    while stack:
        node = stack.pop()
        if node in seen or not isinstance(node, sp.Basic):
            continue
        seen.add(node)
        if isinstance(node, (sp.Symbol, sp.MatrixSymbol)):
            found = _NUMBERED.search(str(node.name))
            if found is not None:
                numbers.append(int(found.group(1)))
        stack.extend(reversed(node.args))
    return tuple(numbers)


# -- a sum beside its own transpose ---------------------------------------------------


def _transposes(expr: Any) -> int:
    """The number of distinct transposed subexpressions of ``expr`` (a DAG walk)."""
    from ..shapes import walk  # not at the top: shapes → the printers

    return sum(1 for node in walk(expr) if isinstance(node, sp.Transpose))


def with_transposed_twins(factors: tuple[Any, ...]) -> list[Any]:
    """The factors of a matrix product, each sum that is the transpose of another sum
    factor (with its transposes taken into its terms) written as that transpose:
    (x - μ)(xᵀ - μᵀ) as (x - μ)(x - μ)ᵀ.  Of two twins, the one with more ᵀ in
    its terms becomes the transpose."""
    from ..canon import transpose  # not at the top: canon → shapes → the printers

    out = [sp.Transpose(transpose(f)) if _row_of_transposes(f) else f for f in factors]
    sums = [f for f in factors if isinstance(f, sp.MatAdd)]
    if len(sums) < 2:
        return out
    for k, factor in enumerate(factors):
        if not isinstance(factor, sp.MatAdd):
            continue
        terms = Counter(factor.args)  # a sum's terms in any order
        twin = next(
            (f for f in sums if f is not factor and Counter(transpose(f).args) == terms), None
        )
        if twin is not None and _transposes(factor) > _transposes(twin):
            out[k] = sp.Transpose(twin)
    return out


def _row_of_transposes(expr: Any) -> bool:
    """A row sum whose terms are transposed and whose transpose has no ᵀ: μᵀ - yᵀ,
    σ(X w)ᵀ - yᵀ, xᵀ Rᵀ - yᵀ, which print as (μ - y)ᵀ, (σ(X w) - y)ᵀ, (R x - y)ᵀ (the
    numerator layout's transposed gradient, its ᵀ taken into its terms)."""
    from ..canon import transpose  # not at the top: canon → shapes → the printers
    from ..shapes import shape_of  # remembered shapes: SymPy's recomputes them (O(depth))

    if not isinstance(expr, sp.MatAdd) or shape_of(expr)[0] != 1:
        return False
    return _transposes(transpose(expr)) == 0
