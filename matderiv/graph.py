"""The expression as a DAG: each distinct subexpression once, operands first.

SymPy expressions are hashable and structurally equal subexpressions compare
equal, so a dict keyed by subexpression is the DAG.  The walk is iterative, so
deep expressions cannot overflow Python's stack.

A symbol defined in ``where=`` is an alias of its definition: its operands are
the definition's operands (or the definition itself, when that is a bare
symbol), so programs are walked without inlining one definition into another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .substitute import unchecked


@dataclass(frozen=True)
class Graph:
    """Topological order of the subexpressions of ``root`` and which depend on ``wrt``."""

    root: Any
    wrt: Any
    order: tuple[Any, ...]
    depends: frozenset[Any]
    definitions: Mapping[Any, Any] = field(default_factory=dict)


def scaled_term(term: Any) -> tuple[Any, Any]:
    """(c, X) for a term c·X of a sum with a number c (1 otherwise): the sum's operand
    is X, so 1 - p has the operand p (d(1 - p) = -dp), not a node -p of its own, and
    A x - B y the operand B y."""
    if not isinstance(term, (sp.MatMul, sp.Mul)) or len(term.args) < 2:
        return sp.S.One, term
    c, *rest = term.args
    if not c.is_Number or any(not isinstance(r, sp.Basic) or r.is_Number for r in rest):
        return sp.S.One, term
    if len(rest) == 1:
        return c, rest[0]
    if isinstance(term, sp.MatMul) and all(r.is_Matrix for r in rest):
        return c, unchecked(sp.MatMul, *rest)
    return sp.S.One, term


def _children(node: Any) -> tuple[Any, ...]:
    if isinstance(node, sp.Lambda):  # the body of an entrywise function is not an operand
        return ()
    if isinstance(node, (sp.MatAdd, sp.Add)):
        return tuple(scaled_term(a)[1] for a in node.args if isinstance(a, sp.Basic))
    return tuple(a for a in node.args if isinstance(a, sp.Basic))


def is_leaf(expr: Any) -> bool:
    """A symbol, number or other expression without operands."""
    return isinstance(expr, (sp.MatrixSymbol, sp.Symbol)) or not expr.args


def count_uses(roots: list[Any]) -> Counter[Any]:
    """How many parents use each node of the DAG under ``roots`` (each distinct parent
    counted once, each root once): a node used more than once is worth a name."""
    uses: Counter[Any] = Counter()
    seen: set[Any] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        uses[node] += 1
        if node not in seen:
            seen.add(node)
            stack.extend(arguments(node))
    return uses


def arguments(node: Any) -> tuple[Any, ...]:
    """The operands ``count_uses`` counts: a node's SymPy arguments, none of a leaf
    or of a Lambda (an entrywise function's body is not an operand)."""
    if is_leaf(node) or isinstance(node, sp.Lambda):
        return ()
    return tuple(a for a in node.args if isinstance(a, sp.Basic))


def operands(node: Any, definitions: Mapping[Any, Any]) -> tuple[Any, ...]:
    """The graph operands of a node; a defined symbol's are its definition's."""
    if node in definitions:
        definition = definitions[node]
        return (definition,) if is_leaf(definition) else _children(definition)
    return _children(node)


def post_order(root: Any, children: Callable[[Any], tuple[Any, ...]]) -> list[Any]:
    """The distinct nodes under ``root``, each after its children, without recursion
    (deep expressions cannot overflow Python's stack)."""
    order: list[Any] = []
    done: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if expanded:
            done.add(node)
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(children(node)) if c not in done)
    return order


def build_graph(root: Any, wrt: Any, definitions: Mapping[Any, Any] | None = None) -> Graph:
    """Post-order over the DAG of ``root``; a node depends on ``wrt`` if any operand does.

    ``definitions`` ({symbol: scalarized definition}) are walked through.
    """
    defs = definitions or {}
    order = post_order(root, lambda node: operands(node, defs))
    depends: set[Any] = set()
    for node in order:
        if node == wrt or any(c in depends for c in operands(node, defs)):
            depends.add(node)
    return Graph(root, wrt, tuple(order), frozenset(depends), defs)
