"""An entry of a 1 x 1 matrix product, (xᵀ A x)[0, 0], read back as that product.

SymPy writes ``(x.T*A*x)[0, 0]`` as ``Sum(A[i, j]*x[i, 0]*x[j, 0], (i, 0, n - 1),
(j, 0, n - 1))`` the moment it is built, and matderiv differentiates whole
matrices, not sums over entries.  SymPy's ``MatrixExpr.from_index_summation``
reads such a sum back as a matrix expression.  A reading is used only when it is
the entry of a 1 x 1 matrix and has the sum's value at random matrices of small
distinct sizes; any other sum is left as it is, and the engine refuses it with a
hint (a wrong answer is worse than none).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .shapes import walk

_SIZES = (2, 3, 4, 5, 6, 7)  # distinct sizes for the dimensions of a sum
_RTOL = 1e-9
_MAX_PASSES = 4  # sums inside sums' factors, read pass by pass
_MAX_POWER = 8  # x[i, 0]**k written out as a product up to this k


def entry_sums_as_matrices(expr: Any) -> Any:
    """``expr`` with each sum over matrix entries that is an entry of a 1 x 1 matrix
    expression replaced by that entry, MatrixElement(M, 0, 0) (which the engine
    takes as the scalar M); sums it cannot read stay.  Sums inside a factor taken
    out of another sum are read on the next pass."""
    for _ in range(_MAX_PASSES):
        sums = [node for node in walk(expr) if isinstance(node, sp.Sum)]
        found = {total: entry_sum(total) for total in sums}
        found = {total: entry for total, entry in found.items() if entry is not None}
        if not found:
            break
        expr = expr.xreplace(found)
    return expr


@functools.lru_cache(maxsize=256)  # a reading takes SymPy 0.1-0.5 s; evaluate repeats it
def entry_sum(total: sp.Sum) -> Any:
    """The one sum as c·M[0, 0], with M a 1 x 1 matrix expression and c the factors
    that do not depend on the summation indices (B[0, 0] of a 1 x 1 B, which SymPy's
    reading does not take out), or None."""
    factors = total.function.args if isinstance(total.function, sp.Mul) else (total.function,)
    outside = [f for f in factors if not f.has(*total.variables)]
    inside = sp.Sum(sp.Mul(*[f for f in factors if f.has(*total.variables)]), *total.limits)
    try:
        entry = sp.MatrixExpr.from_index_summation(_powers_as_products(inside))
    except Exception:  # SymPy raises many kinds for sums it cannot read
        entry = entrywise_sum(inside)
        if entry is None:
            return None
    if not isinstance(entry, MatrixElement) or entry.parent.shape != (1, 1):
        return None
    if isinstance(entry.parent, sp.MatrixBase):  # [[1/(...)]]: its one entry, a scalar
        entry = entry.parent[0, 0]
    if any(isinstance(node, sp.MatrixBase) for node in walk(entry)):
        return None  # an explicit matrix inside: matderiv works with symbols
    value = sp.Mul(*outside) * entry
    return value if _same_value(total, value) else None


def _powers_as_products(total: sp.Sum) -> Any:
    """x[i, 0]**2 as x[i, 0]*x[i, 0]: SymPy writes (xᵀx)[0, 0] with the power, and
    reads only the product back ("contracting indices of different dimensions")."""
    return total.replace(
        lambda t: (
            isinstance(t, sp.Pow)
            and isinstance(t.base, MatrixElement)
            and t.exp.is_Integer
            and 1 < t.exp <= _MAX_POWER
        ),
        lambda t: sp.Mul(*[t.base] * int(t.exp), evaluate=False),
    )


def _same_value(total: sp.Sum, value: Any) -> bool:
    """Whether the sum and its reading agree at random values, each dimension a
    different small size."""
    free = total.free_symbols | value.free_symbols  # not a Lambda's bound t
    symbols = {s for s in free if isinstance(s, sp.Symbol)} - set(total.variables)
    matrices = total.atoms(sp.MatrixSymbol) | value.atoms(sp.MatrixSymbol)
    sizes = set().union(*(sp.sympify(size).free_symbols for m in matrices for size in m.shape))
    symbols |= sizes  # (a MatrixSymbol's free symbols are itself, not its sizes)
    dims = sorted((s for s in symbols if s.is_integer or s in sizes), key=str)
    if len(dims) > len(_SIZES):
        return False
    rng = np.random.default_rng(0)
    values: dict[Any, Any] = dict(zip(dims, _SIZES, strict=False))
    values.update((s, sp.Float(rng.uniform(0.5, 1.5))) for s in symbols if s not in values)
    for m in matrices:
        rows, cols = (int(sp.sympify(size).subs(values)) for size in m.shape)
        values[m] = sp.ImmutableMatrix(rng.standard_normal((rows, cols)))
    try:
        want = complex(total.subs(values).doit())
        got = complex(value.subs(values).doit())
    except Exception:  # a value SymPy cannot compute: keep the sum
        return False
    return abs(got - want) <= _RTOL * max(1.0, abs(want))


def entrywise_sum(total: sp.Sum) -> Any:
    """Σᵢ f(x[i, 0]) g(y[i, 0]) ⋯ over one index, each factor a function of one
    vector's entries, as (𝟏ᵀ (f∘(x) ∘ g∘(y) ∘ ⋯))[0, 0]; a sum of such terms term by
    term.  SymPy writes a log-sum-exp by hand, log((𝟏ᵀ exp(a))[0, 0]), with
    Σᵢ exp(a[i, 0]), which from_index_summation does not read.  None otherwise."""
    if len(total.limits) != 1 or total.limits[0][1] != 0:
        return None
    i, _, last = total.limits[0]
    terms = []
    for term in sp.Add.make_args(total.function):
        factors = sp.Mul.make_args(term)
        parts = [_entrywise(f, i, last + 1) for f in factors if f.has(i)]
        if not parts or any(p is None for p in parts):
            return None
        product = parts[0] if len(parts) == 1 else sp.HadamardProduct(*parts)
        constant = sp.Mul(*[f for f in factors if not f.has(i)])
        terms.append(constant * sp.OneMatrix(1, product.shape[0]) * product)
    return MatrixElement(sp.MatAdd(*terms) if len(terms) > 1 else terms[0], 0, 0)


def _entrywise(factor: Any, i: Any, size: Any) -> Any:
    """``factor``, a function of the entries x[i, 0] of one column x of ``size`` rows
    (or x[0, i] of a row), as that function applied to x entry by entry; or None."""
    entries = {e for e in factor.atoms(MatrixElement) if e.has(i)}
    if len(entries) != 1:
        return None
    entry = entries.pop()
    parent = entry.parent
    if entry.i == i and entry.j == 0 and parent.shape[1] == 1:
        column = parent
    elif entry.i == 0 and entry.j == i and parent.shape[0] == 1:
        column = parent.T
    else:
        return None
    t = sp.Dummy("t")
    body = factor.xreplace({entry: t})
    if body.has(i) or sp.simplify(column.shape[0] - size) != 0:
        return None
    return column if body == t else column.applyfunc(sp.Lambda(t, body))
