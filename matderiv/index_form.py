"""Index notation: each step written entry by entry, the view people use to check
Kronecker forms.

From a Derivation's local differentials (dh₁ = (1 − h₁∘h₁) ∘ da₁, ...) it
composes each node's differential in terms of dX, writes it entrywise with
SymPy's own index machinery (``_entry``, Sum, KroneckerDelta) and reads off
∂u[a]/∂X[i,j] — or, for a scalar f, the sum-over-units view
∂f/∂X[i,j] = Σ_k ∂f/∂u[k] ∂u[k]/∂X[i,j], e.g.
∂L/∂W_hx[i,j] = e₁[i] (1 − h₁[j]²) ∂L/∂h₁[j].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .shapes import is_matrix, is_scalar_shape, shape_of

ROW, COL = sp.symbols("i j", integer=True, nonnegative=True)
OUT_ROW, OUT_COL = sp.symbols("a b", integer=True, nonnegative=True)
_SUM_NAMES = "klpqrstuvw"


@dataclass(frozen=True)
class IndexLine:
    """One line of index notation: ``lhs = rhs``, both SymPy expressions."""

    kind: str  # "define" | "local" | "chain" | "result"
    lhs: Any
    rhs: Any
    via: str = ""  # chain lines of a scalar: the intermediate summed over


def gradient_symbol(of: Any, node: Any) -> Any:
    """The adjoint ∂f/∂u as a matrix symbol shaped like u, printed as a fraction."""
    rows, cols = shape_of(node)
    return sp.MatrixSymbol(f"∂{of}/∂{node}", rows, cols)


def _entry(expr: Any, row: Any, col: Any) -> Any:
    if not is_matrix(expr):
        return expr
    rows, cols = shape_of(expr)
    return expr._entry(0 if rows == 1 else row, 0 if cols == 1 else col)


def _clean(expr: Any) -> Any:
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
        out = _delta_sum(_evaluate_deltas(expr.function, memo), expr.limits)
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


def rename_bound_indices(expr: Any) -> Any:
    """Give every summation index a fresh readable name (k, l, p, ...).

    SymPy binds its indices with Dummies and sometimes plain Symbols (``Trace``
    sums over ``Symbol("i")``), which print like the free indices i, j, a, b:
    Σ_i v[i,i]·v[j,i] for Σ_k v[k,i]·v[j,k].  A renamed index never shares a name
    with a free symbol, a reserved index, an enclosing index or another index of
    the same product; the terms of a sum may reuse names.
    """
    reserved = {s.name for s in (ROW, COL, OUT_ROW, OUT_COL)}
    named = {
        getattr(s, "name", str(s))
        for s in expr.atoms(sp.Symbol, sp.MatrixSymbol)
        if not isinstance(s, sp.Dummy)
    }
    return _rename(expr, frozenset(reserved | named))[0]


def _rename(expr: Any, taken: frozenset[str]) -> tuple[Any, frozenset[str]]:
    """``expr`` with its summation indices renamed; and the names it now binds."""
    if isinstance(expr, (sp.Sum, sp.Product)):
        mapping: dict[Any, Any] = {}
        limits = []
        for var, *bounds in expr.limits:
            fresh = sp.Symbol(_fresh_name(taken), integer=True)
            taken |= {fresh.name}
            mapping[var] = fresh
            limits.append((fresh, *(sp.sympify(b).xreplace(mapping) for b in bounds)))
        body, inner = _rename(expr.function.xreplace(mapping), taken)
        return expr.func(body, *limits), frozenset(s.name for s in mapping.values()) | inner
    if not isinstance(expr, sp.Basic) or expr.is_Atom or not expr.args:
        return expr, frozenset()
    args, bound = [], frozenset[str]()
    for arg in expr.args:
        new, names = _rename(arg, taken if isinstance(expr, sp.Add) else taken | bound)
        args.append(new)
        bound |= names
    if all(a is b for a, b in zip(args, expr.args, strict=True)):
        return expr, bound
    return expr.func(*args), bound


def _fresh_name(taken: frozenset[str]) -> str:
    for name in _SUM_NAMES:
        if name not in taken:
            return name
    return next(f"k_{n}" for n in range(1, len(taken) + 2) if f"k_{n}" not in taken)


def _contract(weights: Any, differential: Any) -> Any:
    """Σ over the entries of a node: ⟨weights, differential⟩ as an explicit sum.

    A scalar node's 1 x 1 weights enter by their entry: a 1 x 1 matrix times the
    differential would be a MatMul, whose derivative by dX[i,j] SymPy takes as 0.
    """
    if not is_matrix(differential):
        return _entry(weights, 0, 0) * differential
    rows, cols = shape_of(differential)
    k, el = sp.Dummy("k", integer=True), sp.Dummy("l", integer=True)
    term = _entry(weights, k, el) * _entry(differential, k, el)
    limits = []
    if rows != 1:
        limits.append((k, 0, rows - 1))
    if cols != 1:
        limits.append((el, 0, cols - 1))
    return sp.Sum(term, *limits) if limits else term


def _composed_differentials(steps: Any, wrt: Any) -> tuple[dict[str, Any], Any]:
    """Each named node's differential in terms of d(variable); and that d(variable)."""
    local = {str(s.differential[0]): s.differential for s in steps if s.kind == "local"}
    composed: dict[Any, Any] = {}
    by_name: dict[str, Any] = {}
    for step in steps:
        if step.kind != "define" or f"d{step.lhs}" not in local:
            continue
        d_node, differential = local[f"d{step.lhs}"]
        composed[d_node] = differential.xreplace(composed)
        by_name[step.lhs] = composed[d_node]
    d_var = next(
        (s for e in by_name.values() for s in e.free_symbols if _is_d_variable(s, wrt)), None
    )
    return by_name, d_var


def _is_d_variable(symbol: Any, wrt: Any) -> bool:
    var = wrt.arg if not isinstance(wrt, sp.MatrixSymbol) else wrt
    var = var.arg if isinstance(var, sp.Transpose) else var
    return isinstance(symbol, sp.MatrixSymbol) and symbol.name == f"d{var.name}"


def _partial(expr: Any, d_var: Any) -> Any:
    """∂expr/∂X[i,j], where expr is linear in d_var = dX (a 1 x 1 matrix is its entry)."""
    rows, cols = shape_of(d_var)
    element = d_var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]
    return _clean(_linear_partial(expr, d_var, element, {}))


def _linear_partial(expr: Any, d_var: Any, element: Any, memo: dict[Any, Any]) -> Any:
    """∂expr/∂dX[i,j] of an expression linear in dX: each dX[r,c] becomes δ(r,i)·δ(c,j).

    Not ``sp.diff``: its Sum and Mul derivatives re-derive assumptions and free
    symbols at every level, which grows with each step of a recurrence.
    """
    if not isinstance(expr, sp.Basic) or not expr.has(d_var):
        return sp.S.Zero
    if expr in memo:
        return memo[expr]
    out = _linear_partial_of(expr, d_var, element, memo)
    memo[expr] = out
    return out


def _linear_partial_of(expr: Any, d_var: Any, element: Any, memo: dict[Any, Any]) -> Any:
    def partial(e: Any) -> Any:
        return _linear_partial(e, d_var, element, memo)

    if isinstance(expr, MatrixElement):
        if expr.parent == d_var:
            return sp.KroneckerDelta(expr.i, element.i) * sp.KroneckerDelta(expr.j, element.j)
        return partial(expr.parent._entry(expr.i, expr.j))
    if is_matrix(expr):  # a 1 x 1 matrix standing for its entry
        return partial(_entry(expr, 0, 0))
    if isinstance(expr, sp.Trace):
        k = sp.Dummy("k", integer=True)
        return partial(sp.Sum(_entry(expr.arg, k, k), (k, 0, shape_of(expr.arg)[0] - 1)))
    if isinstance(expr, sp.Add):
        return sp.Add(*(partial(a) for a in expr.args))
    if isinstance(expr, sp.Sum):
        return sp.Sum(partial(expr.function), *expr.limits)
    if isinstance(expr, sp.Mul):
        linear = [f for f in expr.args if f.has(d_var)]
        if len(linear) == 1:
            rest = [f for f in expr.args if f is not linear[0]]
            return sp.Mul(*rest) * partial(linear[0])
    return sp.diff(expr, element)  # not linear in dX as written: SymPy's derivative


def _var_element(d_var: Any) -> Any:
    var = sp.MatrixSymbol(d_var.name[1:], *d_var.shape)
    rows, cols = shape_of(var)
    return var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]


def index_lines(d: Any) -> list[IndexLine]:
    """The derivation of ``d`` written entrywise.

    A second-order derivation (``hessian``, ``hvp``) is two derivations in a row,
    each closed by its result step: the gradient, then its Jacobian or the gradient
    of ⟨∇f, V⟩; each is written out on its own.
    """
    return [line for phase in _phases(d.steps) for line in _phase_lines(phase, d.wrt)]


def _phases(steps: Any) -> list[list[Any]]:
    """The steps, cut after each result step."""
    phases: list[list[Any]] = [[]]
    for step in steps:
        phases[-1].append(step)
        if step.kind == "result":
            phases.append([])
    return [phase for phase in phases if phase]


def _phase_lines(steps: list[Any], wrt: Any) -> list[IndexLine]:
    lines: list[IndexLine] = []
    seen: set[Any] = set()  # the product rule gives one local step per operand
    for step in steps:
        if step.kind == "define":
            symbol = _symbol(step.lhs, step.shape)
            rhs = _clean(_entry(step.expr, OUT_ROW, OUT_COL))
            lines.append(IndexLine("define", _entry(symbol, OUT_ROW, OUT_COL), rhs))
        elif step.kind == "local" and step.differential not in seen:
            seen.add(step.differential)
            d_node, differential = step.differential
            rhs = _clean(_entry(differential, OUT_ROW, OUT_COL))
            lines.append(IndexLine("local", _entry(d_node, OUT_ROW, OUT_COL), rhs))
    composed, d_var = _composed_differentials(steps, wrt)
    if d_var is None:
        return lines
    return lines + _chain_lines(steps, composed, d_var)


def _chain_lines(steps: list[Any], composed: dict[str, Any], d_var: Any) -> list[IndexLine]:
    """∂f/∂X[i,j] through each intermediate (scalar f: reverse mode), or ∂u[a,b]/∂X[i,j]
    for each intermediate u (forward mode); the last is the result.  Defines without a
    differential (a second-order phase's heading, g := ∇f) are constants of the phase."""
    x = _var_element(d_var)
    defines = [s for s in steps if s.kind == "define"]
    root = defines[-1]
    inner = [s for s in defines if s.lhs in composed and s.lhs != root.lhs]
    lines: list[IndexLine] = []
    if is_scalar_shape(root.shape):
        f = sp.Symbol(root.lhs)
        for step in inner:
            weights = sp.MatrixSymbol(gradient_symbol(root.lhs, step.lhs).name, *step.shape)
            rhs = _partial(_contract(weights, composed[step.lhs]), d_var)
            lines.append(IndexLine("chain", sp.Derivative(f, x), rhs, step.lhs))
        result = _partial(_entry(composed[root.lhs], OUT_ROW, OUT_COL), d_var)
        return [*lines, IndexLine("result", sp.Derivative(f, x), result)]
    for step in [*inner, root]:
        node = _entry(_symbol(step.lhs, step.shape), OUT_ROW, OUT_COL)
        kind = "result" if step is root else "chain"
        rhs = _partial(_entry(composed[step.lhs], OUT_ROW, OUT_COL), d_var)
        lines.append(IndexLine(kind, sp.Derivative(node, x), rhs))
    return lines


def _symbol(name: str, shape: Any) -> Any:
    if is_scalar_shape(shape):
        return sp.Symbol(name)
    return sp.MatrixSymbol(name, *shape)
