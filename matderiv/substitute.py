"""Building nodes without SymPy's shape checks; substitution on an expression DAG.

SymPy's ``xreplace`` walks a tree, not a DAG (a subexpression used k times is
visited k times), recurses (a deep tree needs a raised recursion limit), and
rebuilds each changed node through its constructor, whose shape checks read
every operand's shape, which SymPy recomputes from the operands' operands on
each call: O(depth) per node of a nested tree.  ``substitute`` walks
iteratively, remembers what it rebuilt (across calls, if given a memo), and
since each replacement has the shape of what it replaces, rebuilds the nodes
whose constructors only check shapes without the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .shape_cache import matrix_shape

# Node types whose constructor, given operands of the same shapes as before, builds
# exactly Basic.__new__(type, *args) after its shape checks.
_CHECKS_ONLY: tuple[type, ...] = (sp.MatMul, sp.MatAdd, sp.HadamardProduct, sp.Trace)


def _checks_only(node: Any, args: tuple[Any, ...]) -> bool:
    if type(node) in _CHECKS_ONLY:
        return True
    # An entrywise function of a 1 x 1 matrix may become the function's own matrix form.
    return (
        type(node) is ElementwiseApplyFunction
        and isinstance(args[0], sp.Lambda)
        and matrix_shape(node) != (1, 1)
    )


def unchecked(cls: type, *args: Any) -> Any:
    """``cls(*args)`` for a product, sum or Hadamard product, without SymPy's shape checks.

    They read every operand's shape: O(depth) per node on a nested expression.
    Shapes are checked before differentiating and every rule and rewrite keeps them.
    """
    return sp.Basic.__new__(cls, *args)


def rebuild(node: Any, args: tuple[Any, ...]) -> Any:
    """``node.func(*args)``, where each of ``args`` has the shape of the operand it replaces."""
    return unchecked(type(node), *args) if _checks_only(node, args) else node.func(*args)


def substitute(expr: Any, mapping: Mapping[Any, Any], memo: dict[Any, Any] | None = None) -> Any:
    """``expr.xreplace(mapping)`` for a ``mapping`` that keeps shapes.

    ``memo`` (node -> result) may be shared by calls with the same ``mapping``,
    so that a subexpression common to several expressions is rebuilt once.
    """
    done: dict[Any, Any] = {} if memo is None else memo
    stack = [expr]
    while stack:
        node = stack[-1]
        if node in done:
            stack.pop()
        elif node in mapping:
            done[node] = mapping[node]
            stack.pop()
        elif not isinstance(node, sp.Basic) or not node.args:
            done[node] = node
            stack.pop()
        else:
            pending = [a for a in node.args if a not in done]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            args = tuple(done[a] for a in node.args)
            changed = any(new is not old for new, old in zip(args, node.args, strict=True))
            done[node] = rebuild(node, args) if changed else node
    return done[expr]
