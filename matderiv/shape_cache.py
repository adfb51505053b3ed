"""Matrix shapes, remembered.

SymPy computes the shape of a product, sum, Hadamard product, transpose or
entrywise function from its operands' shapes on every call, and theirs from
their operands', so on a nested tree of depth D each call costs O(D).
``matrix_shape`` remembers every shape it computes (by identity, see
``memo``) and derives a new node's from its operands' remembered ones,
walking a tree it has not seen before once and without recursion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .memo import IdentityMemo

Shape = tuple[Any, Any]

_SHAPES: IdentityMemo[Shape] = IdentityMemo()


def _same(shape: Shape, *_: Shape) -> Shape:
    return shape


def _flipped(shape: Shape) -> Shape:
    return (shape[1], shape[0])


def _outer(first: Shape, last: Shape) -> Shape:
    return (first[0], last[1])


def _rule(node: Any) -> tuple[tuple[Any, ...], Callable[..., Shape]] | None:
    """The operands that give ``node`` its shape and how, for SymPy's nesting node types."""
    if isinstance(node, sp.MatMul):
        matrices = [a for a in node.args if getattr(a, "is_Matrix", False)]
        return (matrices[0], matrices[-1]), _outer
    if isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
        return (node.args[0],), _same
    if isinstance(node, ElementwiseApplyFunction):
        return (node.expr,), _same
    if isinstance(node, sp.Transpose):
        return (node.arg,), _flipped
    if isinstance(node, sp.HadamardPower) and getattr(node.base, "is_Matrix", False):
        return (node.base,), _same
    if isinstance(node, sp.KroneckerProduct):  # SymPy's asks each operand twice: 2^depth
        return tuple(node.args), _kronecker
    if isinstance(node, sp.Inverse) or (
        isinstance(node, sp.MatPow) and getattr(node.base, "is_Matrix", False)
    ):
        return (node.args[0],), _same
    return None


def _kronecker(*shapes: Shape) -> Shape:
    return (sp.Mul(*(s[0] for s in shapes)), sp.Mul(*(s[1] for s in shapes)))


def _own_shape(node: Any) -> Shape:
    rows, cols = node.shape
    return (sp.sympify(rows), sp.sympify(cols))


def matrix_shape(expr: Any) -> Shape:
    """``expr.shape`` (sympified) of a matrix expression, remembered."""
    shape = _SHAPES.get(expr)
    if shape is not None:
        return shape
    stack = [expr]
    while stack:
        node = stack[-1]
        rule = _rule(node)
        if rule is None:
            shape = _own_shape(node)
        else:
            operands, combine = rule
            known = [_SHAPES.get(a) for a in operands]
            missing = [a for a, s in zip(operands, known, strict=True) if s is None]
            if missing:
                stack.extend(missing)
                continue
            shape = combine(*known)
        _SHAPES.put(node, shape)
        stack.pop()
    assert shape is not None
    return shape
