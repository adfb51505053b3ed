"""Normalising an input before differentiating it: 1 x 1 matrices inside scalar
operations as AsScalar, one Lambda variable for every entrywise function, transposes
moved out of entrywise functions, every node interned (``scalarize``); and putting the
user's own Lambdas back into a result (``lambda_restorer``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .canon import transpose
from .named_functions import split_composition
from .nodes import AsScalar
from .shapes import is_matrix, is_scalar_operation, is_scalar_shape, shape_of, walk
from .substitute import rebuild, substitute

_LAMBDA_VARIABLE = sp.Dummy("t", dummy_index=0)  # printed t ↦ ..., not the name of an input


def _canonical_lambda(fn: Any) -> Any:
    """Lambda(_d, tanh(_d)) with one fixed variable, so two applyfunc(tanh) compare equal."""
    if len(fn.variables) != 1 or fn.variables[0] == _LAMBDA_VARIABLE:
        return fn
    return sp.Lambda(_LAMBDA_VARIABLE, fn.expr.xreplace({fn.variables[0]: _LAMBDA_VARIABLE}))


_INTERNED: dict[Any, Any] = {}
_INTERNED_LIMIT = 200_000


def _interned(expr: Any) -> Any:
    """The one object ``scalarize`` returns for expressions equal to ``expr``.

    Its operands are interned first, so the lookup compares them by identity:
    O(operands), where comparing two equal copies of a nested tree is O(depth).
    Equal inputs (the same expression derived twice, or rebuilt) then give
    identical intermediates, which later lookups compare in O(1).
    """
    if len(_INTERNED) > _INTERNED_LIMIT:
        _INTERNED.clear()
    return _INTERNED.setdefault(expr, expr)


def transposes_reached(expr: Any) -> int:
    """The transposes in ``expr`` that a transpose of it would remove or add: those
    reached through products, sums and Kronecker products (where ``transpose`` goes)."""
    if isinstance(expr, sp.Transpose):
        return 1
    if isinstance(expr, (sp.MatMul, sp.MatAdd, sp.KroneckerProduct)):
        return sum(transposes_reached(a) for a in expr.args if is_matrix(a))
    return 0


def _transposed_entrywise(node: Any) -> Any:
    """f(Mᵀ) as f(M)ᵀ, and Mᵀ∘Nᵀ as (M∘N)ᵀ, when the operands read with fewer
    transposes untransposed (or as columns, for as many): SymPy's .T of
    (tanh(A x) - b) is tanh(xᵀ Aᵀ) - bᵀ, another node than tanh(A x), so
    ½ (tanh(A x) - b)ᵀ(tanh(A x) - b) had two tanh nodes and an unsimplified
    gradient.  None when ``node`` stays as it is."""
    if isinstance(node, ElementwiseApplyFunction):
        operands = [node.expr]
    elif isinstance(node, sp.HadamardProduct):
        operands = list(node.args)
    elif isinstance(node, sp.HadamardPower):
        operands = [node.base]
    else:
        return None
    flipped = [transpose(o) for o in operands]
    before = sum(map(transposes_reached, operands))
    after = sum(map(transposes_reached, flipped))
    row = is_scalar_shape((shape_of(operands[0])[0], 1)) and not is_scalar_shape(
        shape_of(operands[0])
    )
    if not (after < before or (after == before and before > 0 and row)):
        return None
    if isinstance(node, ElementwiseApplyFunction):
        inner = ElementwiseApplyFunction(node.function, flipped[0])
    elif isinstance(node, sp.HadamardProduct):
        inner = sp.HadamardProduct(*flipped)
    else:
        inner = sp.HadamardPower(flipped[0], node.exp)
    return sp.Transpose(inner)


def scalarize(expr: Any) -> Any:
    """Normalise an input: 1 x 1 matrices in scalar operations, entrywise functions.

    The entry (a)₀₀ of a 1 x 1 matrix becomes AsScalar(a) (SymPy would expand it
    into a Sum when rebuilt).  Each 1 x 1 matrix that a scalar operation (exp,
    log, +, ...) or an entrywise power's exponent takes is wrapped in AsScalar:
    SymPy's scalar algebra is not made for matrix operands (it tries to merge
    exp(bᵀx) · exp(...) into one exponent and fails).  The variable of
    each entrywise function's Lambda is renamed to one fixed symbol, so the same
    function built twice is the same subexpression (and ``names=`` can find it), and
    a composition SymPy fused into one Lambda, (t ↦ exp(tanh(t)))∘(X), is split into
    exp(tanh(X)) (``named_functions.split_composition``).
    Every node of the result is interned (``_interned``).
    """
    memo: dict[int, Any] = {}  # id(node) -> its form; ``expr`` keeps every node alive
    alive: list[Any] = []  # and this list the nodes built here (their ids stay unique)

    def visit(node: Any) -> Any:
        out = memo.get(id(node))
        if out is not None:
            return out
        out = node
        parts = None
        if isinstance(node, ElementwiseApplyFunction):
            parts = split_composition(node.function)
        if parts is not None:  # f(g(X)) fused by SymPy into one Lambda: two nodes
            unfused = ElementwiseApplyFunction(
                parts[0], ElementwiseApplyFunction(parts[1], node.expr)
            )
            alive.append(unfused)
            out = visit(unfused)
        elif isinstance(node, sp.Lambda):
            out = _canonical_lambda(node)
        elif isinstance(node, MatrixElement) and is_scalar_shape(shape_of(node.parent)):
            out = AsScalar(visit(node.parent))
        elif isinstance(node, sp.Basic) and node.args:
            args = tuple(visit(a) for a in node.args)
            if is_scalar_operation(node):
                args = tuple(_interned(AsScalar(a)) if is_matrix(a) else a for a in args)
            elif isinstance(node, sp.HadamardPower) and is_matrix(args[1]):  # 1 x 1
                args = (args[0], _interned(AsScalar(args[1])))
            if any(new is not old for new, old in zip(args, node.args, strict=True)):
                out = rebuild(node, args)
            flipped = _transposed_entrywise(out)
            if flipped is not None:
                alive.append(flipped)
                out = flipped
        out = memo[id(node)] = _interned(out)
        return out

    return visit(expr)


def lambda_restorer(original: Any) -> Callable[[Any], Any]:
    """A function putting the user's own entrywise-function Lambdas of ``original`` back."""
    lambdas = (node for node in walk(original) if isinstance(node, sp.Lambda))
    back = {_canonical_lambda(fn): fn for fn in lambdas}
    back = {k: v for k, v in back.items() if k != v}
    return (lambda result: substitute(result, back)) if back else (lambda result: result)


def restore_lambdas(result: Any, original: Any) -> Any:
    """Put the user's own entrywise-function Lambdas back into a result of ``original``."""
    return lambda_restorer(original)(result)
