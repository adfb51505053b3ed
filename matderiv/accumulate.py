"""Accumulation: walk the graph and chain the rules' differentials together.

- ``forward`` (vec mode) for vector and matrix outputs: J_node = Σ map.push(J_operand),
  with J_X = I, so every J is d vec(node) / d vec(X)^T (numerator layout).
- ``reverse`` for scalar outputs: adjoints G_node = ∂f/∂node shaped like the node
  (scalars for 1 x 1), G_operand += map.pull(G_node); gradients come out as
  matrix formulas, with no Kronecker products.

Both record, per node, the rule used and the local differentials, for the
derivation's steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .canon import matadd
from .errors import UnsupportedNode
from .graph import Graph, is_leaf
from .program import Program
from .rules import Rule, Term, d_definition, rule_for, supported_nodes
from .shapes import fmt_shape, is_matrix, is_scalar_shape, shape_of
from .simplify import Rewrite, simplify


@dataclass(frozen=True)
class Local:
    """One node's differential: its rule and the terms d(node) = Σ map(d operand)."""

    node: Any
    rule: Rule
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Chain:
    """One chain-rule product.

    Forward: ``value`` = J_node = Σ over ``uses`` (operand, term) of
    ∂node/∂operand · J_operand.  Reverse: ``value`` = G_node, the adjoint shaped
    like the node, = Σ over ``uses`` (user, term) of the pulled-back G_user.
    """

    node: Any
    value: Any
    uses: tuple[tuple[Any, Term], ...]
    raw: Any = None  # the sum before simplification, which ``value`` simplifies


def _rule(node: Any) -> Rule:
    found = rule_for(node)
    if found is None:
        raise UnsupportedNode(
            f"no rule for {type(node).__name__} in {node} (shape {fmt_shape(shape_of(node))}), "
            "which depends on the variable. matderiv does not treat it as a constant. "
            f"Supported: {', '.join(supported_nodes())}."
        )
    return found


def _differential(graph: Graph, node: Any) -> tuple[Rule, tuple[Term, ...]]:
    """The rule of a node (of its definition, for a symbol defined in where=) and its
    terms on operands that depend on the variable."""
    definition = graph.definitions.get(node)
    if definition is None:
        rule = _rule(node)
        terms = rule(node)
    elif is_leaf(definition):
        rule = d_definition
        terms = d_definition(definition)
    else:
        rule = _rule(definition)
        terms = rule(definition)
    return rule, tuple(t for t in terms if t.operand in graph.depends)


def _total(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if is_matrix(parts[0]):
        return matadd(*parts)
    return sp.Add(*parts)


def forward(
    graph: Graph, seed: Any, log: list[Rewrite], program: Program | None = None
) -> tuple[Any, list[Local], list[Chain]]:
    """J_root = d vec(root) / d vec(wrt)^T, given J_wrt = ``seed``.

    With a ``program``, the tangent of each symbol defined in where= is given a
    name (hdot_t) and later tangents refer to it.
    """
    jac: dict[Any, Any] = {graph.wrt: seed}
    locals_: list[Local] = []
    chains: list[Chain] = []
    for node in graph.order:
        if node not in graph.depends or node == graph.wrt:
            continue
        rule, terms = _differential(graph, node)
        raw = _total([t.map.push(jac[t.operand]) for t in terms])
        value = simplify(raw, log)
        locals_.append(Local(node, rule, terms))
        chains.append(Chain(node, value, tuple((t.operand, t) for t in terms), raw))
        if program is not None and node in graph.definitions and node != graph.root:
            value = program.define(node, value, "dot")
        jac[node] = value
    return jac.get(graph.root), locals_, chains


def _as_adjoint(contribution: Any, operand: Any) -> Any:
    """Adjoints of 1 x 1 operands are scalars; a 1 x 1 matrix becomes its trace."""
    if is_scalar_shape(shape_of(operand)) and is_matrix(contribution):
        return sp.Trace(contribution)
    return contribution


def reverse(
    graph: Graph, log: list[Rewrite], program: Program | None = None
) -> tuple[Any, list[Local], list[Chain]]:
    """G_wrt = ∂ root / ∂ wrt, shaped like wrt (a scalar when wrt is 1 x 1).

    With a ``program``, the adjoint of each symbol defined in where= is given a
    name (hbar_t) and the adjoints it feeds refer to it.
    """
    parts: dict[Any, list[Any]] = {graph.root: [sp.S.One]}
    uses: dict[Any, list[tuple[Any, Term]]] = {}
    locals_: list[Local] = []
    chains: list[Chain] = []
    for node in reversed(graph.order):
        if node not in parts or node not in graph.depends:
            continue
        raw = _total(parts.pop(node))
        adjoint = simplify(raw, log)
        if node != graph.root:
            chains.append(Chain(node, adjoint, tuple(uses.pop(node)), raw))
        if node == graph.wrt:
            return adjoint, locals_, chains
        if program is not None and node in graph.definitions:
            adjoint = program.define(node, adjoint, program.adjoint_mark)
        rule, terms = _differential(graph, node)
        locals_.append(Local(node, rule, terms))
        for term in terms:
            contribution = _as_adjoint(term.map.pull(adjoint), term.operand)
            parts.setdefault(term.operand, []).append(contribution)
            uses.setdefault(term.operand, []).append((node, term))
    return None, locals_, chains
