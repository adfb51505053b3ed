"""Index notation: each step written entry by entry, the view people use to check
Kronecker forms.

From a Derivation's local differentials (dh₁ = (1 − h₁∘h₁) ∘ da₁, ...) it
composes each node's differential in terms of dX, writes it entrywise with
SymPy's own index machinery (``_entry``, Sum, KroneckerDelta) and reads off
∂u[a]/∂X[i,j].  A scalar f is reverse mode, as its matrix chain steps: the
adjoint (∂f/∂u)[a,b] of each intermediate is the sum over all the nodes that use
u; then, through each u on every path from X to f, the sum-over-units view
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

from dataclasses import dataclass, replace
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from .index_sums import (
    COL,
    OUT_COL,
    OUT_ROW,
    ROW,
    clean,
    free_letters,
    rename_bound_indices,
    symbol_names,
    with_letters,
)
from .shapes import is_matrix, is_scalar_shape, shape_of

__all__ = ["IndexLine", "gradient_symbol", "index_lines", "rename_bound_indices"]


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
    lines = [line for phase in _phases(d.steps) for line in _phase_lines(phase, d.wrt)]
    # index letters no symbol or dimension uses: a, b are taken in aᵀX⁻¹b
    taken = symbol_names([d.of, d.wrt, *(e for line in lines for e in (line.lhs, line.rhs))])
    letters = free_letters(taken)
    return [
        replace(
            line,
            lhs=with_letters(line.lhs, letters, taken),
            rhs=with_letters(line.rhs, letters, taken),
        )
        for line in lines
    ]


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
    """Scalar f: reverse mode (``_adjoint_chain``).  Otherwise forward mode:
    ∂u[a,b]/∂X[i,j] of each intermediate u, its total derivative; the last is the
    result.  Defines without a differential (a second-order phase's heading,
    g := ∇f) are constants of the phase."""
    defines = [s for s in steps if s.kind == "define"]
    root = defines[-1]
    if is_scalar_shape(root.shape):
        return _adjoint_chain(steps, root, composed, d_var)
    x = _var_element(d_var)
    inner = [s for s in defines if s.lhs in composed and s.lhs != root.lhs]
    lines: list[IndexLine] = []
    for step in [*inner, root]:
        node = _entry(_symbol(step.lhs, step.shape), OUT_ROW, OUT_COL)
        kind = "result" if step is root else "chain"
        rhs = _partial(_entry(composed[step.lhs], OUT_ROW, OUT_COL), d_var)
        lines.append(IndexLine(kind, sp.Derivative(node, x), rhs))
    return lines


def _adjoint_chain(
    steps: list[Any], root: Any, composed: dict[str, Any], d_var: Any
) -> list[IndexLine]:
    """A scalar f in reverse mode, as its matrix chain steps: the adjoint of each
    intermediate u is the sum over all its users p (the nodes whose differential
    holds du) of ∂/∂u[a,b] Σ_kl (∂f/∂p)[k,l] dp[k,l]; ∂f/∂X[i,j] likewise over
    X's users.  Then ∂f/∂X[i,j] = Σ_k (∂f/∂u)[k] ∂u[k]/∂X[i,j] through each u on
    every path from X to f (only there is it the whole derivative), and the result."""
    local = _local_differentials(steps)
    nodes = [s for s in steps if s.kind == "define" and s.lhs in composed]
    by_name = {s.lhs: s for s in nodes}  # an HVP names its root p twice: the last
    f = root.lhs
    users = _users(by_name, local, d_var)

    def adjoint(d_node: Any, element: Any) -> Any:
        """Σ over the users p of d_node: ∂⟨∂f/∂p, dp⟩/∂element."""
        terms = []
        for name in users.get(str(d_node), []):
            p = by_name[name]
            weight = sp.S.One if name == f else gradient_symbol(f, name, p.shape)
            differential = _contract(weight, local[f"d{name}"][1])
            terms.append(_linear_partial(differential, d_node, element, {}))
        return clean(sp.Add(*terms))

    lines: list[IndexLine] = []
    for name in _users_first(users, list(by_name), f):
        d_node = local[f"d{name}"][0]
        symbol = _entry(gradient_symbol(f, name, by_name[name].shape), OUT_ROW, OUT_COL)
        lines.append(IndexLine("chain", symbol, adjoint(d_node, _d_element(d_node))))
    x = _var_element(d_var)
    by_users = adjoint(d_var, _d_element(d_var, ROW, COL))
    lines.append(IndexLine("chain", sp.Derivative(sp.Symbol(f), x), by_users))
    for name in by_name:
        if name == f or _reaches(users, str(d_var), f, avoid=name):
            continue  # f, or a u that some path from X to f passes by
        weights = gradient_symbol(f, name, by_name[name].shape)
        rhs = _partial(_contract(weights, composed[name]), d_var)
        if rhs != by_users:
            lines.append(IndexLine("chain", sp.Derivative(sp.Symbol(f), x), rhs, name))
    result = _partial(_entry(composed[f], OUT_ROW, OUT_COL), d_var)
    return [*lines, IndexLine("result", sp.Derivative(sp.Symbol(f), x), result)]


def _d_element(d_node: Any, row: Any = OUT_ROW, col: Any = OUT_COL) -> Any:
    """The entry [row, col] of a differential (itself if it is a scalar)."""
    if not is_matrix(d_node):
        return d_node
    rows, cols = shape_of(d_node)
    return d_node[0 if rows == 1 else row, 0 if cols == 1 else col]


def _users(by_name: dict[str, Any], local: dict[str, Any], d_var: Any) -> dict[str, list[str]]:
    """str(du) -> the names of the nodes whose local differential holds du (u a node,
    or du = dX)."""
    users: dict[str, list[str]] = {}
    operands = [d_var, *(local[f"d{name}"][0] for name in by_name)]
    for name in by_name:
        differential = local[f"d{name}"][1]
        for d_operand in operands:
            if _depends(differential, d_operand, {}):
                users.setdefault(str(d_operand), []).append(name)
    return users


def _users_first(users: dict[str, list[str]], names: list[str], root: str) -> list[str]:
    """The nodes but the root, each after all its users (reverse topological order:
    a define step may come before one it is written with)."""
    done: set[str] = {root}
    order: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for user in users.get(f"d{name}", []):
            visit(user)
        order.append(name)

    for name in reversed(names):
        visit(name)
    return order


def _reaches(users: dict[str, list[str]], start: str, root: str, avoid: str) -> bool:
    """Does a path from ``start`` (str(dX)) reach the root without passing ``avoid``?"""
    seen, todo = {start}, [start]
    while todo:
        for user in users.get(todo.pop(), []):
            if user != avoid and f"d{user}" not in seen:
                seen.add(f"d{user}")
                todo.append(f"d{user}")
    return f"d{root}" in seen


def _symbol(name: str, shape: Any) -> Any:
    if is_scalar_shape(shape):
        return sp.Symbol(name)
    return sp.MatrixSymbol(name, *shape)
