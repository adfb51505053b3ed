"""The walk behind ``evaluate``: the table of evaluators (filled by ``numeric.py``,
one per node type), the environment of values and dimensions, and the bottom-up
evaluation of an expression's DAG without recursion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .errors import EvaluationError
from .nodes import CommutationMatrix, Reshape
from .numeric_inputs import bound

Evaluator = Callable[[Any, list[Any], "Env"], Any]
EVALUATORS: dict[type, Evaluator] = {}


class Env:
    """The values of the symbols and the sizes of the dimensions."""

    def __init__(self, values: dict[Any, Any], dims: dict[Any, int]) -> None:
        self.values = values
        self.dims = dims

    def dim(self, d: Any) -> int:
        value = bound(d, self.dims)
        if not value.is_Integer:
            raise EvaluationError(
                f"dimension {d} is not bound; pass an array for a symbol of that size "
                f"or its value, e.g. {{{d}: 3}}"
            )
        return int(value)


def evaluates(*types: type) -> Callable[[Evaluator], Evaluator]:
    def register(fn: Evaluator) -> Evaluator:
        for t in types:
            EVALUATORS[t] = fn
        return fn

    return register


def _evaluator(node: Any) -> Evaluator:
    for cls in type(node).__mro__:
        if cls in EVALUATORS:
            return EVALUATORS[cls]
    raise EvaluationError(
        f"cannot evaluate {type(node).__name__} node {node}; supported: "
        f"{', '.join(sorted(c.__name__ for c in EVALUATORS))}"
    )


def _operands(node: Any) -> tuple[Any, ...]:
    if isinstance(node, sp.log) and isinstance(node.args[0], sp.Determinant):
        return (node.args[0].arg,)  # log det(M) from M (numeric.py: slogdet)
    if isinstance(node, sp.ImmutableDenseMatrix):  # sp.Matrix([...]): its entries
        return tuple(node)
    if isinstance(node, (ElementwiseApplyFunction,)):
        return (node.function, node.expr)
    if isinstance(node, (sp.Identity, sp.ZeroMatrix, sp.OneMatrix, CommutationMatrix, Reshape)):
        return tuple(a for a in node.args if not isinstance(a, (sp.Symbol, sp.Integer)))
    if isinstance(node, (sp.MatrixSymbol, sp.Symbol, sp.Number, sp.Lambda, sp.Sum)):
        return ()  # a Sum is read back as the matrix entry it is (_entry_sum)
    return tuple(node.args)


def run(expr: Any, env: Env) -> Any:
    """Evaluate the DAG of ``expr`` bottom-up, without recursion."""
    memo: dict[Any, Any] = {}
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        operands = _operands(node)
        if ready or not operands:
            if isinstance(node, sp.Lambda):
                memo[node] = node
                continue
            args = [memo[a] for a in operands]
            if isinstance(node, ElementwiseApplyFunction):
                args = [node.function, memo[node.expr]]
            memo[node] = _evaluator(node)(node, args, env)
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in operands if a not in memo)
    return memo[expr]
