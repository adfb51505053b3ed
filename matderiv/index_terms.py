"""The entrywise calculus behind the index notation (``index_form``): an index
line, entries of matrix expressions, contractions, the local differentials of a
derivation composed in terms of dX, and ∂(·)/∂X[i,j] of an expression linear in dX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .index_sums import COL, OUT_COL, OUT_ROW, ROW, clean
from .nodes import AsScalar
from .shapes import is_matrix, is_scalar_shape, shape_of


@dataclass(frozen=True)
class IndexLine:
    """One line of index notation: ``lhs = rhs``, both SymPy expressions."""

    kind: str  # "define" | "local" | "chain" | "program" | "result"
    lhs: Any
    rhs: Any
    via: str = ""  # a scalar's ∂f/∂X through u, on every path from X to f: u


def gradient_symbol(of: str, node: str, shape: Any) -> Any:
    """The adjoint ∂f/∂u as a matrix symbol shaped like u, printed as a fraction."""
    return sp.MatrixSymbol(f"∂{of}/∂{node}", *shape)


def entry(expr: Any, row: Any, col: Any) -> Any:
    if not is_matrix(expr):
        return expr
    rows, cols = shape_of(expr)
    i, j = 0 if rows == 1 else row, 0 if cols == 1 else col
    try:
        return expr._entry(i, j)
    except (TypeError, AttributeError):
        # SymPy evaluates a product's sum over its inner index (MatMul._entry's doit),
        # and its summation code fails on some summands (Gosper's algorithm on a
        # softmax entry: "'MatrixElement' object is not subscriptable"): the sum stays
        return expr._entry(i, j, expand=False)


def contract(weights: Any, differential: Any) -> Any:
    """Σ over the entries of a node: ⟨weights, differential⟩ as an explicit sum.

    A scalar node's 1 x 1 weights enter by their entry: a 1 x 1 matrix times the
    differential would be a MatMul, whose derivative by dX[i,j] SymPy takes as 0.
    """
    if not is_matrix(differential):
        return entry(weights, 0, 0) * differential
    rows, cols = shape_of(differential)
    k, el = sp.Dummy("k", integer=True), sp.Dummy("l", integer=True)
    term = entry(weights, k, el) * entry(differential, k, el)
    limits = []
    if rows != 1:
        limits.append((k, 0, rows - 1))
    if cols != 1:
        limits.append((el, 0, cols - 1))
    return sp.Sum(term, *limits) if limits else term


def local_differentials(steps: Any) -> dict[str, tuple[Any, Any]]:
    """ "dv" -> (dv, v's local differential), for every local step."""
    return {str(s.differential[0]): s.differential for s in steps if s.kind == "local"}


def d_variable(exprs: Any, wrt: Any) -> Any:
    """The symbol dX among the free symbols of ``exprs`` (None if none holds it)."""
    return next((s for e in exprs for s in e.free_symbols if is_d_variable(s, wrt)), None)


def composed_differentials(steps: Any, wrt: Any) -> tuple[dict[str, Any], Any]:
    """Each named node's differential in terms of d(variable); and that d(variable)."""
    local = local_differentials(steps)
    composed: dict[Any, Any] = {}
    by_name: dict[str, Any] = {}
    for step in steps:
        if step.kind != "define" or f"d{step.lhs}" not in local:
            continue
        d_node, differential = local[f"d{step.lhs}"]
        composed[d_node] = differential.xreplace(composed)
        by_name[step.lhs] = composed[d_node]
    return by_name, d_variable(by_name.values(), wrt)


def is_d_variable(symbol: Any, wrt: Any) -> bool:
    var = wrt.arg if not isinstance(wrt, sp.MatrixSymbol) else wrt
    var = var.arg if isinstance(var, sp.Transpose) else var
    return isinstance(symbol, sp.MatrixSymbol) and symbol.name == f"d{var.name}"


def partial_by_entry(expr: Any, d_var: Any) -> Any:
    """∂expr/∂X[i,j], where expr is linear in d_var = dX (a 1 x 1 matrix is its entry)."""
    rows, cols = shape_of(d_var)
    element = d_var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]
    return clean(linear_partial(expr, d_var, element, {}))


def linear_partial(
    expr: Any, d_var: Any, element: Any, memo: dict[Any, Any], tangents: Any = None
) -> Any:
    """∂expr/∂dX[i,j] of an expression linear in dX: each dX[r,c] becomes δ(r,i)·δ(c,j).

    ``tangents``: d(u) -> u for intermediates u whose differentials stay as they
    are; each du[r,c] becomes ∂u[r,c]/∂X[i,j] (forward mode, one step at a time).
    Not ``sp.diff``: its Sum and Mul derivatives re-derive assumptions and free
    symbols at every level, which grows with each step of a recurrence.
    """
    tangents = tangents or {}
    if not isinstance(expr, sp.Basic) or not depends(expr, d_var, tangents):
        return sp.S.Zero
    if expr in memo:
        return memo[expr]
    out = _linear_partial_of(expr, d_var, element, memo, tangents)
    memo[expr] = out
    return out


def depends(expr: Any, d_var: Any, tangents: Any) -> bool:
    if not tangents:
        return bool(expr.has(d_var))
    return any(s == d_var or s in tangents for s in expr.free_symbols)


def _linear_partial_of(
    expr: Any, d_var: Any, element: Any, memo: dict[Any, Any], tangents: Any
) -> Any:
    def partial(e: Any) -> Any:
        return linear_partial(e, d_var, element, memo, tangents)

    if isinstance(expr, MatrixElement):
        if expr.parent == d_var:
            return sp.KroneckerDelta(expr.i, element.i) * sp.KroneckerDelta(expr.j, element.j)
        if expr.parent in tangents:
            node = tangents[expr.parent]
            top = node[expr.i, expr.j] if is_matrix(node) else node
            return sp.Derivative(top, element)
        return partial(expr.parent._entry(expr.i, expr.j))
    if expr in tangents:  # a scalar's differential
        return sp.Derivative(tangents[expr], element)
    if is_matrix(expr):  # a 1 x 1 matrix standing for its entry
        return partial(entry(expr, 0, 0))
    if isinstance(expr, AsScalar):  # dv₃ + dv₄ of f = v₃ + v₄: the 1 x 1 matrices' entries
        return partial(entry(expr.args[0], 0, 0))
    if isinstance(expr, sp.Trace):
        k = sp.Dummy("k", integer=True)
        return partial(sp.Sum(entry(expr.arg, k, k), (k, 0, shape_of(expr.arg)[0] - 1)))
    if isinstance(expr, sp.Add):
        return sp.Add(*(partial(a) for a in expr.args))
    if isinstance(expr, sp.Sum):
        return sp.Sum(partial(expr.function), *expr.limits)
    if isinstance(expr, sp.Mul):
        linear = [f for f in expr.args if depends(f, d_var, tangents)]
        if len(linear) == 1:
            rest = [f for f in expr.args if f is not linear[0]]
            return sp.Mul(*rest) * partial(linear[0])
    return sp.diff(expr, element)  # not linear in dX as written: SymPy's derivative


def var_element(d_var: Any) -> Any:
    var = sp.MatrixSymbol(d_var.name[1:], *d_var.shape)
    rows, cols = shape_of(var)
    return var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]


def d_element(d_node: Any, row: Any = OUT_ROW, col: Any = OUT_COL) -> Any:
    """The entry [row, col] of a differential (itself if it is a scalar)."""
    if not is_matrix(d_node):
        return d_node
    rows, cols = shape_of(d_node)
    return d_node[0 if rows == 1 else row, 0 if cols == 1 else col]


def index_symbol(name: str, shape: Any) -> Any:
    if is_scalar_shape(shape):
        return sp.Symbol(name)
    return sp.MatrixSymbol(name, *shape)
