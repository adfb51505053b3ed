"""The expression as a DAG: each distinct subexpression once, operands first.

SymPy expressions are hashable and structurally equal subexpressions compare
equal, so a dict keyed by subexpression is the DAG.  The walk is iterative, so
deep expressions cannot overflow Python's stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp


@dataclass(frozen=True)
class Graph:
    """Topological order of the subexpressions of ``root`` and which depend on ``wrt``."""

    root: Any
    wrt: Any
    order: tuple[Any, ...]
    depends: frozenset[Any]


def _children(node: Any) -> tuple[Any, ...]:
    if isinstance(node, sp.Lambda):  # the body of an entrywise function is not an operand
        return ()
    return tuple(a for a in node.args if isinstance(a, sp.Basic))


def build_graph(root: Any, wrt: Any) -> Graph:
    """Post-order over the DAG of ``root``; a node depends on ``wrt`` if any operand does."""
    order: list[Any] = []
    done: set[Any] = set()
    depends: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if expanded:
            done.add(node)
            order.append(node)
            if node == wrt or any(c in depends for c in _children(node)):
                depends.add(node)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(_children(node)) if c not in done)
    return Graph(root, wrt, tuple(order), frozenset(depends))
