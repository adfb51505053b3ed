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

from dataclasses import replace
from typing import Any

import sympy as sp

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
from .index_terms import (
    IndexLine,
    composed_differentials,
    contract,
    d_element,
    d_variable,
    depends,
    entry,
    gradient_symbol,
    index_symbol,
    linear_partial,
    local_differentials,
    partial_by_entry,
    var_element,
)
from .shapes import is_matrix, is_scalar_shape

__all__ = ["IndexLine", "gradient_symbol", "index_lines", "rename_bound_indices"]


def index_lines(d: Any) -> list[IndexLine]:
    """The derivation of ``d`` written entrywise.

    A second-order derivation (``hessian``, ``hvp``) is two derivations in a row,
    each closed by its result step: the gradient, then its Jacobian or the gradient
    of ⟨∇f, V⟩; each is written out on its own.
    """
    lines = [line for phase in _phases(d.steps) for line in _phase_lines(phase, d.wrt)]
    if getattr(d.layout_note, "among_symmetric", False):  # symmetric=[X]: ½(G[i,j] + G[j,i])
        last = lines[-1]
        swapped = last.rhs.xreplace({ROW: COL, COL: ROW})
        lines[-1] = replace(last, rhs=sp.Rational(1, 2) * (last.rhs + swapped))
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
            symbol = index_symbol(step.lhs, step.shape)
            rhs = clean(entry(step.expr, OUT_ROW, OUT_COL))
            lines.append(IndexLine("define", entry(symbol, OUT_ROW, OUT_COL), rhs))
        elif step.kind == "local" and step.differential not in seen:
            seen.add(step.differential)
            d_node, differential = step.differential
            rhs = clean(entry(differential, OUT_ROW, OUT_COL))
            lhs = entry(d_node, OUT_ROW, OUT_COL)
            if lhs != rhs:  # d(Xᵀ)[a,b] = dX[b,a] is notation, not a step
                lines.append(IndexLine("local", lhs, rhs))
    if _is_adjoint_program(steps, wrt):
        return lines + _adjoint_lines(steps, wrt)
    if any(s.kind == "program" for s in steps):
        return lines + _tangent_lines(steps, wrt)
    composed, d_var = composed_differentials(steps, wrt)
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
        return clean(entry(expr, row, col))

    lines: list[IndexLine] = []
    for step in steps:
        node = step.lhs.split("/∂", 1)[1] if step.kind == "chain" else ""
        if node in defines and node != root.lhs:
            adjoint = gradient_symbol(root.lhs, node, defines[node].shape)
            rhs = by_entry(step.expr, OUT_ROW, OUT_COL)
            lines.append(IndexLine("chain", entry(adjoint, OUT_ROW, OUT_COL), rhs))
        elif step.kind == "program":
            symbol = index_symbol(step.lhs, step.shape)
            rhs = clean(entry(step.expr, OUT_ROW, OUT_COL))
            lines.append(IndexLine("program", entry(symbol, OUT_ROW, OUT_COL), rhs))
    x = entry(wrt, ROW, COL)
    rhs = by_entry(result.expr, ROW, COL)
    return [*lines, IndexLine("result", sp.Derivative(sp.Symbol(root.lhs), x), rhs)]


def _tangent_lines(steps: list[Any], wrt: Any) -> list[IndexLine]:
    """Forward mode one step at a time, for a program: ∂v[a,b]/∂X[i,j] of each
    intermediate v from its local differential, in terms of ∂u[k,l]/∂X[i,j] of the
    intermediates u it uses (so each line is as small as its step; composing the
    differentials instead grows as T²).  The last is the result."""
    local = local_differentials(steps)
    defines = [s for s in steps if s.kind == "define" and f"d{s.lhs}" in local]
    tangents = {local[f"d{s.lhs}"][0]: index_symbol(s.lhs, s.shape) for s in defines}
    d_var = d_variable((local[f"d{s.lhs}"][1] for s in defines), wrt)
    if d_var is None:
        return []
    x = var_element(d_var)
    lines = []
    for step in defines:
        differential = entry(local[f"d{step.lhs}"][1], OUT_ROW, OUT_COL)
        rhs = clean(linear_partial(differential, d_var, x, {}, tangents))
        node = entry(index_symbol(step.lhs, step.shape), OUT_ROW, OUT_COL)
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
    x = var_element(d_var)
    inner = [s for s in defines if s.lhs in composed and s.lhs != root.lhs]
    lines: list[IndexLine] = []
    for step in [*inner, root]:
        node = entry(index_symbol(step.lhs, step.shape), OUT_ROW, OUT_COL)
        kind = "result" if step is root else "chain"
        rhs = partial_by_entry(entry(composed[step.lhs], OUT_ROW, OUT_COL), d_var)
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
    local = local_differentials(steps)
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
            differential = contract(weight, local[f"d{name}"][1])
            terms.append(linear_partial(differential, d_node, element, {}))
        return clean(sp.Add(*terms))

    lines: list[IndexLine] = []
    for name in _users_first(users, list(by_name), f):
        d_node = local[f"d{name}"][0]
        symbol = entry(gradient_symbol(f, name, by_name[name].shape), OUT_ROW, OUT_COL)
        lines.append(IndexLine("chain", symbol, adjoint(d_node, d_element(d_node))))
    x = var_element(d_var)
    by_users = adjoint(d_var, d_element(d_var, ROW, COL))
    lines.append(IndexLine("chain", sp.Derivative(sp.Symbol(f), x), by_users))
    for name in by_name:
        if name == f or _reaches(users, str(d_var), f, avoid=name):
            continue  # f, or a u that some path from X to f passes by
        weights = gradient_symbol(f, name, by_name[name].shape)
        rhs = partial_by_entry(contract(weights, composed[name]), d_var)
        if rhs != by_users:
            lines.append(IndexLine("chain", sp.Derivative(sp.Symbol(f), x), rhs, name))
    result = partial_by_entry(entry(composed[f], OUT_ROW, OUT_COL), d_var)
    return [*lines, IndexLine("result", sp.Derivative(sp.Symbol(f), x), result)]


def _users(by_name: dict[str, Any], local: dict[str, Any], d_var: Any) -> dict[str, list[str]]:
    """str(du) -> the names of the nodes whose local differential holds du (u a node,
    or du = dX)."""
    users: dict[str, list[str]] = {}
    operands = [d_var, *(local[f"d{name}"][0] for name in by_name)]
    for name in by_name:
        differential = local[f"d{name}"][1]
        for d_operand in operands:
            if depends(differential, d_operand, {}):
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
