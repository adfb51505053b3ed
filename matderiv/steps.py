"""Turn an accumulation into the Derivation's steps: define, local, chain, simplify, result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from .accumulate import Local
from .derivation import Step
from .graph import Graph
from .rules import rule_identity, rule_name
from .shapes import Shape, is_matrix, scalarize, shape_of
from .simplify import Rewrite, simplify


def name_nodes(graph: Graph, names: Mapping[str, Any]) -> dict[Any, Any]:
    """A display symbol for every intermediate that depends on the variable."""
    by_expr = {scalarize(expr): name for name, expr in names.items()}
    symbols: dict[Any, Any] = {}
    count = 0
    for node in graph.order:
        if node not in graph.depends or node == graph.wrt:
            continue
        if node in by_expr:
            name = by_expr[node]
        elif node == graph.root:
            name = "f" if not is_matrix(node) or shape_of(node) == (1, 1) else "Y"
        else:
            count += 1
            name = f"v_{count}"
        rows, cols = shape_of(node)
        symbols[node] = sp.MatrixSymbol(name, rows, cols) if is_matrix(node) else sp.Symbol(name)
    return symbols


def show(expr: Any, symbols: Mapping[Any, Any]) -> Any:
    """``expr`` with named intermediates shown by name (but not itself)."""
    return expr.xreplace({k: v for k, v in symbols.items() if k != expr})


def _size(shape: Shape) -> Any:
    return shape[0] * shape[1]


def define_steps(graph: Graph, symbols: Mapping[Any, Any]) -> list[Step]:
    return [
        Step("define", str(sym), show(node, symbols), shape_of(node))
        for node, sym in symbols.items()
    ]


def _d(symbol: Any) -> Any:
    rows, cols = shape_of(symbol)
    name = f"d{symbol}"
    return sp.MatrixSymbol(name, rows, cols) if is_matrix(symbol) else sp.Symbol(name)


def local_steps(locals_: list[Local], symbols: Mapping[Any, Any], wrt: Any) -> list[Step]:
    named = dict(symbols)
    named[wrt] = wrt
    steps = []
    for local in locals_:
        differential = [t.map.differential(_d(named[t.operand])) for t in local.terms]
        total = differential[0] if len(differential) == 1 else sp.Add(*differential)
        if is_matrix(differential[0]):
            total = sp.MatAdd(*differential) if len(differential) > 1 else differential[0]
        steps.append(
            Step(
                "local",
                f"d{named[local.node]}",
                show(total, named),
                shape_of(local.node),
                rule_name(local.rule),
                rule_identity(local.rule),
            )
        )
    return steps


def forward_chain_steps(locals_: list[Local], symbols: Mapping[Any, Any], wrt: Any) -> list[Step]:
    named = dict(symbols)
    named[wrt] = wrt
    steps = []
    for local in locals_:
        node_size = _size(shape_of(local.node))
        factors = []
        for term in local.terms:
            operand_size = _size(shape_of(term.operand))
            factors += [(node_size, operand_size), (operand_size, _size(shape_of(wrt)))]
        steps.append(
            Step(
                "chain",
                f"J_{named[local.node]}",
                show(local.result, named),
                (node_size, _size(shape_of(wrt))),
                rule_name(local.rule),
                "J = Σ (∂ vec node / ∂ vec operandᵀ) J_operand",
                tuple(factors),
            )
        )
    return steps


def reverse_chain_steps(locals_: list[Local], symbols: Mapping[Any, Any], wrt: Any) -> list[Step]:
    named = dict(symbols)
    named[wrt] = wrt
    steps = []
    for local in locals_:
        (adjoint,) = local.inputs
        steps.append(
            Step(
                "chain",
                f"∂f/∂{named[local.node]}",
                show(adjoint, named),
                shape_of(local.node),
                rule_name(local.rule),
                "adjoint: Σ over the uses of the node",
            )
        )
    return steps


def simplify_steps(log: list[Rewrite], symbols: Mapping[Any, Any]) -> list[Step]:
    seen: set[tuple[str, Any]] = set()
    steps = []
    for rewrite in log:
        key = (rewrite.rule, rewrite.before)
        if key in seen:
            continue
        seen.add(key)
        steps.append(
            Step(
                "simplify",
                "⇒",
                show(rewrite.after, symbols),
                shape_of(rewrite.after),
                rewrite.rule.replace("_", " "),
                before=show(rewrite.before, symbols),
            )
        )
    return steps


__all__ = [
    "define_steps",
    "forward_chain_steps",
    "local_steps",
    "name_nodes",
    "reverse_chain_steps",
    "simplify",
    "simplify_steps",
]
