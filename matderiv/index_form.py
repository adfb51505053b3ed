"""Index notation: each step written entry by entry, the view people use to check
Kronecker forms.

From a Derivation's local differentials (dh₁ = (1 − h₁∘h₁) ∘ da₁, ...) it
composes each node's differential in terms of dX, writes it entrywise with
SymPy's own index machinery (``_entry``, Sum, KroneckerDelta) and reads off
∂u[a]/∂X[i,j] — or, for a scalar f, the sum-over-units view
∂f/∂X[i,j] = Σ_k ∂f/∂u[k] ∂u[k]/∂X[i,j], e.g.
∂L/∂W_hx[i,j] = e₁[i] (1 − h₁[j]²) ∂L/∂h₁[j].

Through a where= program, composing the differentials grows as T²; each line is
written as small as its matrix step instead, so the notation grows linearly.  A
scalar's gradient by a matrix X is reverse mode, line by line like its matrix
steps: (∂f/∂u)[a,b] for each intermediate, the named adjoints h̄_t[a], and
∂f/∂X[i,j] in terms of them.  Anything else is forward mode one step at a time:
∂v[a]/∂X[i,j] from v's local differential, in terms of ∂u[k]/∂X[i,j] of the
intermediates u it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .index_sums import COL, OUT_COL, OUT_ROW, ROW, clean, rename_bound_indices
from .shapes import is_matrix, is_scalar_shape, shape_of

__all__ = ["IndexLine", "gradient_symbol", "index_lines", "rename_bound_indices"]


@dataclass(frozen=True)
class IndexLine:
    """One line of index notation: ``lhs = rhs``, both SymPy expressions."""

    kind: str  # "define" | "local" | "chain" | "program" | "result"
    lhs: Any
    rhs: Any
    via: str = ""  # chain lines of a scalar: the intermediate summed over


def gradient_symbol(of: str, node: str, shape: Any) -> Any:
    """The adjoint ∂f/∂u as a matrix symbol shaped like u, printed as a fraction."""
    return sp.MatrixSymbol(f"∂{of}/∂{node}", *shape)


def _entry(expr: Any, row: Any, col: Any) -> Any:
    if not is_matrix(expr):
        return expr
    rows, cols = shape_of(expr)
    return expr._entry(0 if rows == 1 else row, 0 if cols == 1 else col)


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


def _local_differentials(steps: Any) -> dict[str, tuple[Any, Any]]:
    """ "dv" -> (dv, v's local differential), for every local step."""
    return {str(s.differential[0]): s.differential for s in steps if s.kind == "local"}


def _d_variable(exprs: Any, wrt: Any) -> Any:
    """The symbol dX among the free symbols of ``exprs`` (None if none holds it)."""
    return next((s for e in exprs for s in e.free_symbols if _is_d_variable(s, wrt)), None)


def _composed_differentials(steps: Any, wrt: Any) -> tuple[dict[str, Any], Any]:
    """Each named node's differential in terms of d(variable); and that d(variable)."""
    local = _local_differentials(steps)
    composed: dict[Any, Any] = {}
    by_name: dict[str, Any] = {}
    for step in steps:
        if step.kind != "define" or f"d{step.lhs}" not in local:
            continue
        d_node, differential = local[f"d{step.lhs}"]
        composed[d_node] = differential.xreplace(composed)
        by_name[step.lhs] = composed[d_node]
    return by_name, _d_variable(by_name.values(), wrt)


def _is_d_variable(symbol: Any, wrt: Any) -> bool:
    var = wrt.arg if not isinstance(wrt, sp.MatrixSymbol) else wrt
    var = var.arg if isinstance(var, sp.Transpose) else var
    return isinstance(symbol, sp.MatrixSymbol) and symbol.name == f"d{var.name}"


def _partial(expr: Any, d_var: Any) -> Any:
    """∂expr/∂X[i,j], where expr is linear in d_var = dX (a 1 x 1 matrix is its entry)."""
    rows, cols = shape_of(d_var)
    element = d_var[0 if rows == 1 else ROW, 0 if cols == 1 else COL]
    return clean(_linear_partial(expr, d_var, element, {}))


def _linear_partial(
    expr: Any, d_var: Any, element: Any, memo: dict[Any, Any], tangents: Any = None
) -> Any:
    """∂expr/∂dX[i,j] of an expression linear in dX: each dX[r,c] becomes δ(r,i)·δ(c,j).

    ``tangents``: d(u) -> u for intermediates u whose differentials stay as they
    are; each du[r,c] becomes ∂u[r,c]/∂X[i,j] (forward mode, one step at a time).
    Not ``sp.diff``: its Sum and Mul derivatives re-derive assumptions and free
    symbols at every level, which grows with each step of a recurrence.
    """
    tangents = tangents or {}
    if not isinstance(expr, sp.Basic) or not _depends(expr, d_var, tangents):
        return sp.S.Zero
    if expr in memo:
        return memo[expr]
    out = _linear_partial_of(expr, d_var, element, memo, tangents)
    memo[expr] = out
    return out


def _depends(expr: Any, d_var: Any, tangents: Any) -> bool:
    if not tangents:
        return bool(expr.has(d_var))
    return any(s == d_var or s in tangents for s in expr.free_symbols)


def _linear_partial_of(
    expr: Any, d_var: Any, element: Any, memo: dict[Any, Any], tangents: Any
) -> Any:
    def partial(e: Any) -> Any:
        return _linear_partial(e, d_var, element, memo, tangents)

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
        return partial(_entry(expr, 0, 0))
    if isinstance(expr, sp.Trace):
        k = sp.Dummy("k", integer=True)
        return partial(sp.Sum(_entry(expr.arg, k, k), (k, 0, shape_of(expr.arg)[0] - 1)))
    if isinstance(expr, sp.Add):
        return sp.Add(*(partial(a) for a in expr.args))
    if isinstance(expr, sp.Sum):
        return sp.Sum(partial(expr.function), *expr.limits)
    if isinstance(expr, sp.Mul):
        linear = [f for f in expr.args if _depends(f, d_var, tangents)]
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
            rhs = clean(_entry(step.expr, OUT_ROW, OUT_COL))
            lines.append(IndexLine("define", _entry(symbol, OUT_ROW, OUT_COL), rhs))
        elif step.kind == "local" and step.differential not in seen:
            seen.add(step.differential)
            d_node, differential = step.differential
            rhs = clean(_entry(differential, OUT_ROW, OUT_COL))
            lines.append(IndexLine("local", _entry(d_node, OUT_ROW, OUT_COL), rhs))
    if _is_adjoint_program(steps, wrt):
        return lines + _adjoint_lines(steps, wrt)
    if any(s.kind == "program" for s in steps):
        return lines + _tangent_lines(steps, wrt)
    composed, d_var = _composed_differentials(steps, wrt)
    if d_var is None:
        return lines
    return lines + _chain_lines(steps, composed, d_var)


def _is_adjoint_program(steps: list[Any], wrt: Any) -> bool:
    """A scalar's gradient through a where= program, by a matrix variable: written
    with the named adjoints (hbar_t), so that its size grows linearly in the length."""
    defines = [s for s in steps if s.kind == "define"]
    return (
        isinstance(wrt, sp.MatrixSymbol)
        and bool(defines)
        and is_scalar_shape(defines[-1].shape)
        and any(s.kind == "program" for s in steps)
    )


def _adjoint_lines(steps: list[Any], wrt: Any) -> list[IndexLine]:
    """Reverse mode entrywise, as backprop through time is written by hand:
    (∂f/∂u)[a,b] for each intermediate u, each adjoint h̄_t[a,b] of the program, and
    ∂f/∂X[i,j], all in terms of the named adjoints (each line's size is that of its
    matrix step, not of the unrolled recurrence)."""
    defines = {s.lhs: s for s in steps if s.kind == "define"}
    # the last define step: an HVP defines p twice (its heading, then its last
    # intermediate), so not the last new key
    root = [s for s in steps if s.kind == "define"][-1]
    result = next(s for s in steps if s.kind == "result")
    layout = result.layout

    def by_entry(expr: Any, row: Any, col: Any) -> Any:
        """(row, col) of a gradient shaped like u (denominator) or uᵀ (numerator)."""
        if is_matrix(expr) and layout == "numerator":
            expr = sp.Transpose(expr)
        return clean(_entry(expr, row, col))

    lines: list[IndexLine] = []
    for step in steps:
        node = step.lhs.split("/∂", 1)[1] if step.kind == "chain" else ""
        if node in defines and node != root.lhs:
            adjoint = gradient_symbol(root.lhs, node, defines[node].shape)
            rhs = by_entry(step.expr, OUT_ROW, OUT_COL)
            lines.append(IndexLine("chain", _entry(adjoint, OUT_ROW, OUT_COL), rhs))
        elif step.kind == "program":
            symbol = _symbol(step.lhs, step.shape)
            rhs = clean(_entry(step.expr, OUT_ROW, OUT_COL))
            lines.append(IndexLine("program", _entry(symbol, OUT_ROW, OUT_COL), rhs))
    x = _entry(wrt, ROW, COL)
    rhs = by_entry(result.expr, ROW, COL)
    return [*lines, IndexLine("result", sp.Derivative(sp.Symbol(root.lhs), x), rhs)]


def _tangent_lines(steps: list[Any], wrt: Any) -> list[IndexLine]:
    """Forward mode one step at a time, for a program: ∂v[a,b]/∂X[i,j] of each
    intermediate v from its local differential, in terms of ∂u[k,l]/∂X[i,j] of the
    intermediates u it uses (so each line is as small as its step; composing the
    differentials instead grows as T²).  The last is the result."""
    local = _local_differentials(steps)
    defines = [s for s in steps if s.kind == "define" and f"d{s.lhs}" in local]
    tangents = {local[f"d{s.lhs}"][0]: _symbol(s.lhs, s.shape) for s in defines}
    d_var = _d_variable((local[f"d{s.lhs}"][1] for s in defines), wrt)
    if d_var is None:
        return []
    x = _var_element(d_var)
    lines = []
    for step in defines:
        differential = _entry(local[f"d{step.lhs}"][1], OUT_ROW, OUT_COL)
        rhs = clean(_linear_partial(differential, d_var, x, {}, tangents))
        node = _entry(_symbol(step.lhs, step.shape), OUT_ROW, OUT_COL)
        kind = "result" if step is defines[-1] else "chain"
        lines.append(IndexLine(kind, sp.Derivative(node, x), rhs))
    return lines


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
            weights = gradient_symbol(root.lhs, step.lhs, step.shape)
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
