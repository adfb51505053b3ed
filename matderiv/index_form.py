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
    """Evaluate sums over Kronecker deltas; drop the in-range conditions they leave."""
    expr = sp.sympify(expr).doit()
    expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0][0])
    return rename_bound_indices(expr)


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


def _composed_differentials(d: Any) -> tuple[dict[str, Any], Any]:
    """Each named node's differential in terms of d(variable); and that d(variable)."""
    local = {str(s.differential[0]): s.differential for s in d.steps if s.kind == "local"}
    composed: dict[Any, Any] = {}
    by_name: dict[str, Any] = {}
    for step in d.steps:
        if step.kind != "define" or f"d{step.lhs}" not in local:
            continue
        d_node, differential = local[f"d{step.lhs}"]
        composed[d_node] = differential.xreplace(composed)
        by_name[step.lhs] = composed[d_node]
    d_var = next(
        (s for e in by_name.values() for s in e.free_symbols if _is_d_variable(s, d)), None
    )
    return by_name, d_var


def _is_d_variable(symbol: Any, d: Any) -> bool:
    var = d.wrt.arg if not isinstance(d.wrt, sp.MatrixSymbol) else d.wrt
    var = var.arg if isinstance(var, sp.Transpose) else var
    return isinstance(symbol, sp.MatrixSymbol) and symbol.name == f"d{var.name}"


def _partial(expr: Any, d_var: Any) -> Any:
    """∂expr/∂X[i,j], where expr is linear in d_var = dX (a 1 x 1 matrix is its entry)."""
    if is_matrix(expr):
        expr = _entry(expr, 0, 0)
    rows, cols = shape_of(d_var)
    element = d_var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]
    return _clean(sp.diff(expr, element))


def _var_element(d: Any, d_var: Any) -> Any:
    var = sp.MatrixSymbol(d_var.name[1:], *d_var.shape)
    rows, cols = shape_of(var)
    return var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]


def index_lines(d: Any) -> list[IndexLine]:
    """The derivation of ``d`` written entrywise."""
    lines: list[IndexLine] = []
    for step in d.steps:
        if step.kind == "define":
            symbol = _symbol(step.lhs, step.shape)
            rhs = _clean(_entry(step.expr, OUT_ROW, OUT_COL))
            lines.append(IndexLine("define", _entry(symbol, OUT_ROW, OUT_COL), rhs))
        elif step.kind == "local":
            d_node, differential = step.differential
            rhs = _clean(_entry(differential, OUT_ROW, OUT_COL))
            lines.append(IndexLine("local", _entry(d_node, OUT_ROW, OUT_COL), rhs))
    composed, d_var = _composed_differentials(d)
    if d_var is None:
        return lines
    x = _var_element(d, d_var)
    defines = [s for s in d.steps if s.kind == "define"]
    if d.mode == "reverse":
        root = defines[-1].lhs
        for step in defines[:-1]:
            weights = gradient_symbol(root, step.lhs)
            weights = sp.MatrixSymbol(weights.name, *step.shape)
            rhs = _partial(_contract(weights, composed[step.lhs]), d_var)
            lines.append(IndexLine("chain", sp.Derivative(sp.Symbol(root), x), rhs, step.lhs))
        result = _partial(_entry(composed[root], OUT_ROW, OUT_COL), d_var)
        lines.append(IndexLine("result", sp.Derivative(sp.Symbol(root), x), result))
    else:
        for step in defines:
            node = _entry(_symbol(step.lhs, step.shape), OUT_ROW, OUT_COL)
            kind = "result" if step is defines[-1] else "chain"
            rhs = _partial(_entry(composed[step.lhs], OUT_ROW, OUT_COL), d_var)
            lines.append(IndexLine(kind, sp.Derivative(node, x), rhs))
    return lines


def _symbol(name: str, shape: Any) -> Any:
    if is_scalar_shape(shape):
        return sp.Symbol(name)
    return sp.MatrixSymbol(name, *shape)
