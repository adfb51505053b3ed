"""Index expressions made readable: sums over Kronecker deltas evaluated, summation
indices renamed (k, l, p, ...) so they never print like a free index or a symbol."""

from __future__ import annotations

import itertools
from typing import Any

import sympy as sp

ROW, COL = sp.symbols("i j", integer=True, nonnegative=True)  # the variable's entry
OUT_ROW, OUT_COL = sp.symbols("a b", integer=True, nonnegative=True)  # the output's entry
_SUM_NAMES = "klpqrstuvw"


def clean(expr: Any) -> Any:
    """Sum away the Kronecker deltas of summation indices; readable index names."""
    return rename_bound_indices(_evaluate_deltas(sp.sympify(expr), {}))


def _evaluate_deltas(expr: Any, memo: dict[Any, Any]) -> Any:
    """``expr`` with every sum over a Kronecker delta of its index evaluated.

    Not ``doit()``: SymPy then seeks a closed form of every remaining sum (Gosper,
    hypersimp), seconds per nested sum and growing ~12x per step of a recurrence,
    for nothing here; its delta summation trips over Mod/floor indices (Kronecker
    products: ``'Tuple' object has no attribute 'diff'``); and it writes a sum
    over a concrete range out term by term.
    """
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    if expr in memo:
        return memo[expr]
    if isinstance(expr, sp.Sum):
        body, limits = _evaluate_deltas(expr.function, memo), []
        for var, low, high in expr.limits:
            if low == high:  # the inner dimension of an outer product: Σ_{k=0}^{0}
                body = _substitute(body, var, low)
            else:
                limits.append((var, low, high))
        out = _delta_sum(body, tuple(limits)) if limits else body
    else:
        args = tuple(_evaluate_deltas(a, memo) for a in expr.args)
        out = expr if args == expr.args else expr.func(*args)
    memo[expr] = out
    return out


def _delta_sum(body: Any, limits: tuple) -> Any:
    """Σ_k f(k) δ(k, e) = f(e): e indexes the dimension k runs over (it comes
    from an entry of the same matrix), so it lies in k's range."""
    if not any(_delta_of(f, lim[0]) for lim in limits for f in body.atoms(sp.KroneckerDelta)):
        return _summed(body, list(limits))
    groups: dict[tuple, list[Any]] = {}  # the terms by the limits left to sum over
    for term in _distribute(body, [lim[0] for lim in limits]):
        left = list(limits)
        solved = True
        while solved:
            solved = False
            for factor in sp.Mul.make_args(term):
                limit = next((lim for lim in left if _delta_of(factor, lim[0])), None)
                if limit is not None:
                    var = limit[0]
                    value = factor.args[1] if factor.args[0] == var else factor.args[0]
                    rest = sp.Mul(*(f for f in sp.Mul.make_args(term) if f is not factor))
                    term, solved = _substitute(rest, var, value), True
                    left.remove(limit)
                    break
        groups.setdefault(tuple(left), []).append(term)
    return sp.Add(*(_summed(sp.Add(*terms), list(left)) for left, terms in groups.items()))


def _delta_of(factor: Any, var: Any) -> bool:
    """Is ``factor`` δ(var, e) (either order) with e free of var?"""
    if not isinstance(factor, sp.KroneckerDelta):
        return False
    a, b = factor.args[:2]
    return (a == var and not b.has(var)) or (b == var and not a.has(var))


def _distribute(expr: Any, variables: list[Any]) -> list[Any]:
    """``expr`` as a list of terms, multiplied out only over the sums holding a δ(k, ·)."""
    if not any(_delta_of(f, v) for v in variables for f in expr.atoms(sp.KroneckerDelta)):
        return [expr]
    if isinstance(expr, sp.Add):
        return [t for arg in expr.args for t in _distribute(arg, variables)]
    if isinstance(expr, sp.Mul):
        terms = [sp.S.One]
        for factor in expr.args:
            terms = [t * f for t in terms for f in _distribute(factor, variables)]
        return terms
    if isinstance(expr, sp.Sum):  # Σ_l δ(k, e) g(l) = δ(k, e) Σ_l g(l), for the outer k
        inner = set(expr.variables)
        terms = []
        for term in _distribute(expr.function, variables):
            factors = sp.Mul.make_args(term)
            outside = [f for f in factors if not f.free_symbols & inner]
            inside = [f for f in factors if f.free_symbols & inner]
            terms.append(sp.Mul(*outside) * _summed(sp.Mul(*inside), list(expr.limits)))
        return terms
    return [expr]


def _summed(term: Any, limits: list[Any]) -> Any:
    """Σ of ``term`` over ``limits``; an index the term does not use counts its range."""
    used = []
    for var, low, high in limits:
        if term.has(var):
            used.append((var, low, high))
        else:
            term = term * (high - low + 1)
    return sp.Sum(term, *used) if used else term


def _substitute(expr: Any, var: Any, value: Any) -> Any:
    """``expr`` with the free occurrences of ``var`` replaced (not those a sum rebinds:
    ``Trace`` binds a plain Symbol('i') in each of its sums)."""
    if expr == var:
        return value
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    if isinstance(expr, (sp.Sum, sp.Product)) and var in expr.variables:
        return expr
    args = tuple(_substitute(a, var, value) for a in expr.args)
    return expr if args == expr.args else expr.func(*args)


def rename_bound_indices(
    expr: Any, reserved: frozenset[str] = frozenset(), also: frozenset[str] = frozenset()
) -> Any:
    """Give every summation index a fresh readable name (k, l, p, ...).

    SymPy binds its indices with Dummies and sometimes plain Symbols (``Trace``
    sums over ``Symbol("i")``), which print like the free indices i, j, a, b:
    Σ_i v[i,i]·v[j,i] for Σ_k v[k,i]·v[j,k].  A renamed index never shares a name
    with a free symbol, a reserved index or name (``reserved``: the derivation's
    symbols), an enclosing index or another index of the same product; the terms
    of a sum may reuse names.
    """
    indices = {s.name for s in (ROW, COL, OUT_ROW, OUT_COL)}
    named = {s.name for s in sp.sympify(expr).free_symbols if not isinstance(s, sp.Dummy)}
    named |= {s.name for s in sp.sympify(expr).atoms(sp.MatrixSymbol)}
    # the sets are not merged: ``reserved`` has every name of a long program's steps
    return _rename(sp.sympify(expr), (frozenset(indices | named), reserved, also))[0]


def symbol_names(exprs: Any) -> frozenset[str]:
    """The names a reader sees in ``exprs``, which no index may take: the symbols and
    dimensions (not the indices)."""
    names: set[str] = set()
    for expr in exprs:
        expr = sp.sympify(expr)
        matrices = expr.atoms(sp.MatrixSymbol)
        symbols = expr.free_symbols | {d for m in matrices for d in m.free_symbols}
        symbols |= {s for m in matrices for size in m.shape for s in sp.sympify(size).free_symbols}
        for s in symbols - {ROW, COL, OUT_ROW, OUT_COL}:
            if not isinstance(s, sp.Dummy):
                names.add(s.name)
    return frozenset(names)


_LETTERS = ((ROW, COL, ("ij", "rs", "tu", "gh")), (OUT_ROW, OUT_COL, ("ab", "ce", "mn", "yz")))


def free_letters(taken: frozenset[str]) -> dict[Any, Any]:
    """The letters of the variable's entry (i, j) and the output's (a, b): the first
    pair of each list that ``taken`` leaves free (r, s if i is a symbol's name)."""
    mapping: dict[Any, Any] = {}
    for row, col, pairs in _LETTERS:
        used = taken | {s.name for s in mapping.values()}
        free = [pair for pair in pairs if not set(pair) & used]
        names = free[0] if free else (f"{row.name}_1", f"{col.name}_1")
        for index, name in zip((row, col), names, strict=True):
            mapping[index] = sp.Symbol(name, integer=True, nonnegative=True)
    return mapping


def with_letters(expr: Any, mapping: dict[Any, Any], taken: frozenset[str]) -> Any:
    """``expr`` with the free indices ``mapping`` chooses and summation indices that
    clash with none of ``taken``."""
    if not isinstance(expr, sp.Basic):
        return expr
    chosen = frozenset(s.name for s in mapping.values())
    return rename_bound_indices(_unbound(expr).xreplace(mapping), taken, chosen)


def _unbound(expr: Any) -> Any:
    """``expr`` with every summation index a fresh Dummy, so that no renaming (of a
    free index to r, of a sum's p to q) is captured by a sum that binds the new name."""
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    if isinstance(expr, (sp.Sum, sp.Product)):
        mapping = {var: sp.Dummy(var.name, integer=True) for var in expr.variables}
        body = _unbound(expr.function).xreplace(mapping)
        limits = [(mapping[var], *bounds) for var, *bounds in expr.limits]
        return expr.func(body, *limits)
    args = tuple(_unbound(a) for a in expr.args)
    return expr if args == expr.args else expr.func(*args)


def _rename(
    expr: Any, reserved: tuple[frozenset[str], ...], taken: frozenset[str] = frozenset()
) -> tuple[Any, frozenset[str]]:
    """``expr`` with its summation indices renamed; and the names it now binds.

    ``reserved``: sets of the names no index takes (the derivation's symbols: as many
    as a program has steps); ``taken``: the few names bound around this node.  Kept
    apart so that each node adds its names to a small set, not to a copy of every
    symbol's name (which made a long program's index notation quadratic)."""
    if isinstance(expr, (sp.Sum, sp.Product)):
        mapping: dict[Any, Any] = {}
        limits = []
        for var, *bounds in expr.limits:
            fresh = sp.Symbol(_fresh_name(reserved, taken), integer=True)
            taken |= {fresh.name}
            mapping[var] = fresh
            limits.append((fresh, *(sp.sympify(b).xreplace(mapping) for b in bounds)))
        body, inner = _rename(expr.function.xreplace(mapping), reserved, taken)
        return expr.func(body, *limits), frozenset(s.name for s in mapping.values()) | inner
    if not isinstance(expr, sp.Basic) or expr.is_Atom or not expr.args:
        return expr, frozenset()
    args, bound = [], frozenset[str]()
    for arg in expr.args:
        new, names = _rename(arg, reserved, taken if isinstance(expr, sp.Add) else taken | bound)
        args.append(new)
        bound |= names
    if all(a is b for a, b in zip(args, expr.args, strict=True)):
        return expr, bound
    return expr.func(*args), bound


def _fresh_name(reserved: tuple[frozenset[str], ...], taken: frozenset[str]) -> str:
    def free(name: str) -> bool:
        return name not in taken and not any(name in names for names in reserved)

    for name in _SUM_NAMES:
        if free(name):
            return name
    return next(f"k_{n}" for n in itertools.count(1) if free(f"k_{n}"))
