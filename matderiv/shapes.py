"""Shapes: reading them, comparing them, and checking conformability ourselves.

SymPy accepts ``W * a`` with W of shape (n_h·n_i x n_h) against a of shape
(n_i x 1) whenever it cannot prove the inner dimensions differ.  matderiv checks
every product, sum and square-only operation before differentiating, and names
the node and the shapes when they do not agree.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import MatDerivError, ShapeMismatch, UnsupportedNode
from .render.unicode import fmt
from .shape_cache import matrix_shape

Shape = tuple[Any, Any]
SCALAR: Shape = (sp.S.One, sp.S.One)


def is_matrix(expr: Any) -> bool:
    return bool(getattr(expr, "is_Matrix", False))


def shape_of(expr: Any) -> Shape:
    """The shape of an expression; scalars are 1 x 1.  (Remembered: see ``shape_cache``.)"""
    return matrix_shape(expr) if is_matrix(expr) else SCALAR


def dims_equal(a: Any, b: Any) -> bool:
    """True when two dimensions are provably equal (n_i·n_h == n_h·n_i, 3 == 3)."""
    if a == b:
        return True
    return _dims_equal(sp.sympify(a), sp.sympify(b))


@lru_cache(maxsize=65_536)
def _dims_equal(a: Any, b: Any) -> bool:
    return bool(sp.expand(a - b) == 0)


def shapes_equal(s: Shape, t: Shape) -> bool:
    return dims_equal(s[0], t[0]) and dims_equal(s[1], t[1])


def is_scalar_shape(shape: Shape) -> bool:
    return dims_equal(shape[0], 1) and dims_equal(shape[1], 1)


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt_dim(d: Any) -> str:
    """A dimension for messages: n_h·n_i, n², 3."""
    text = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPTS), str(d))
    return text.replace("*", "·")


def fmt_shape(shape: Shape) -> str:
    return f"({fmt_dim(shape[0])} × {fmt_dim(shape[1])})"


def walk(*exprs: Any, into: Callable[[Any], bool] = lambda node: True) -> Iterator[Any]:
    """Every distinct subexpression of ``exprs`` once, without recursion (a DAG walk,
    where ``sp.preorder_traversal`` walks the tree); operands of nodes ``into``."""
    seen: set[Any] = set()
    stack = list(exprs)
    while stack:
        node = stack.pop()
        if node in seen or not isinstance(node, sp.Basic):
            continue
        seen.add(node)
        yield node
        if into(node):
            stack.extend(a for a in node.args if isinstance(a, sp.Basic))


def _unions_operands(node: Any) -> bool:
    """True when a node's free symbols are its operands' (no symbol of its own, none bound)."""
    return type(node).free_symbols is sp.Basic.__dict__["free_symbols"]


def free_symbols(expr: Any) -> set[Any]:
    """``expr.free_symbols``, each distinct subexpression visited once.

    SymPy's recomputes a subexpression's free symbols wherever it occurs, so a
    tree with shared subexpressions costs its size unfolded (exponential in the
    depth of a DAG).
    """
    found: set[Any] = set()
    for node in walk(expr, into=_unions_operands):
        if not _unions_operands(node):  # a symbol, or a node that binds some (Lambda)
            found |= node.free_symbols
    return found


def mentions(expr: Any, symbols: set[Any], memo: dict[Any, bool]) -> bool:
    """Whether one of ``symbols`` occurs in ``expr`` (``expr.free_symbols & symbols``
    for MatrixSymbols): a walk without recursion that keeps each node's answer in
    ``memo``, so that calls on expressions sharing parts walk each part once."""
    stack = [expr]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[node] = node in symbols or any(memo[a] for a in node.args)
    return memo[expr]


def dimension_symbols(*exprs: Any) -> set[Any]:
    """The symbols in the shapes of every matrix in ``exprs`` (n, m for an n x m·k X)."""
    dims: set[Any] = set()
    for expr in exprs:
        for node in walk(expr):
            if is_matrix(node):
                for d in shape_of(node):
                    dims |= d.free_symbols
    return dims


def _require_square(node: Any, arg: Any) -> None:
    if not is_square(arg):
        raise ShapeMismatch(not_square(type(node).__name__, arg, f" in {fmt(node)}"))


def is_square(arg: Any) -> bool:
    return dims_equal(*shape_of(arg))


def not_square(what: str, arg: Any, where: str = "") -> str:
    """The message for ``what`` (Trace, det, ...) of ``arg``, which is not square."""
    return (
        f"{what} needs a square matrix, but {fmt(arg)} has shape {fmt_shape(shape_of(arg))}"
        f"{where}. Hint: check the transposes and the order of the factors."
    )


def _check_matmul(node: Any) -> None:
    factors = [a for a in node.args if is_matrix(a)]
    for left, right in itertools.pairwise(factors):
        (_, inner_l), (inner_r, _) = shape_of(left), shape_of(right)
        if not dims_equal(inner_l, inner_r):
            hint = "transpose one factor or swap their order"
            if str(inner_l) == str(inner_r):  # n and n: two symbols of one name
                hint = (
                    f"these are two different symbols named {inner_l}, with different "
                    f"assumptions ({_assumed(inner_l)} and {_assumed(inner_r)}): make "
                    "every size from one symbol, e.g. sp.symbols('n', integer=True, "
                    "positive=True)"
                )
            raise ShapeMismatch(
                f"product {fmt(node)}: {fmt(left)} {fmt_shape(shape_of(left))} times {fmt(right)} "
                f"{fmt_shape(shape_of(right))}; inner dimensions {fmt_dim(inner_l)} and "
                f"{fmt_dim(inner_r)} do not agree. Hint: {hint}."
            )


def _check_same_shape(node: Any) -> None:
    args = [a for a in node.args if is_matrix(a)]
    first = shape_of(args[0])
    for other in args[1:]:
        if not shapes_equal(first, shape_of(other)):
            raise ShapeMismatch(
                f"{type(node).__name__} {fmt(node)}: {fmt(args[0])} has shape {fmt_shape(first)} "
                f"but {fmt(other)} has shape {fmt_shape(shape_of(other))}; the operands of a "
                "sum or Hadamard product must have the same shape."
            )


def _check_exponent(node: Any) -> None:
    """An entrywise power's exponent is a scalar (a 1 x 1 matrix counts as one)."""
    p = node.exp
    if is_matrix(p) and not is_scalar_shape(shape_of(p)):
        raise UnsupportedNode(
            f"the entrywise power {fmt(node)} has the matrix exponent {fmt(p)} of shape "
            f"{fmt_shape(shape_of(p))}: an entrywise power takes a scalar exponent (a 1 x 1 "
            f"matrix counts as one). For entries of {fmt(node.base)} raised to the entries "
            f"of {fmt(p)}, write exp∘({fmt(p)} ∘ log∘{fmt(node.base)}) (positive entries): "
            f"exp({p} * log({node.base})) in matderiv's syntax."
        )


def _check_scalar_function(node: Any) -> None:
    for arg in node.args:
        if is_matrix(arg) and not is_scalar_shape(shape_of(arg)):
            raise UnsupportedNode(
                f"{type(node).__name__} applied to the matrix {fmt(arg)} of shape "
                f"{fmt_shape(shape_of(arg))} in {fmt(node)}: only 1 x 1 matrices count as "
                "scalars. Hint: for an elementwise function use X.applyfunc(f); matrix "
                "functions (the matrix exponential, ...) are not supported."
            )


def check_shapes(expr: Any) -> None:
    """Raise ShapeMismatch at the first node whose operands do not conform,
    UnsupportedNode at an entrywise function with a matrix in its body, and
    MatDerivError at a node with no real value (``check_defined``)."""
    for node in walk(expr):
        try:
            check_node(node)
        except ShapeMismatch:
            _raise_innermost(node)
            raise
        check_defined(node, expr)
        if isinstance(node, ElementwiseApplyFunction):
            check_body(node)


def _raise_innermost(node: Any) -> None:
    """The error of an operand of ``node`` that does not conform itself, if any: the
    cause, where ``node``'s own error would blame a shape made up by its operand
    (tr(X⁻¹) for a non-square X: "Trace needs a square matrix, but X⁻¹ has shape
    n × m", where the inverse is what does not exist)."""
    for inner in walk(*node.args):
        try:
            check_node(inner)
        except ShapeMismatch:
            _raise_innermost(inner)
            raise


def check_names_unique(*exprs: Any) -> None:
    """Refuse two different symbols of one name (x n x 1 and x m x 1, a scalar x beside
    a matrix x): SymPy keeps them apart, so the derivative by one is silently 0 in the
    other, and the results print alike.  A dimension may share a matrix's name (the
    vector p of size p): it is no variable."""
    seen: dict[str, Any] = {}
    exempt: set[Any] = set(dimension_symbols(*exprs))
    for node in walk(*exprs):
        if isinstance(node, sp.Lambda):
            exempt |= set(node.variables)
        if isinstance(node, (sp.MatrixSymbol, sp.Symbol)) and not isinstance(node, sp.Dummy):
            other = seen.setdefault(node.name, node)
            if other != node and node not in exempt and other not in exempt:
                raise MatDerivError(
                    f"two different symbols are named {node.name}: {_described(other)} and "
                    f"{_described(node)}. SymPy keeps them apart, so a derivative by one "
                    "would be 0 in the other and the results would print alike. Hint: "
                    "give each its own name, or build both from one symbol."
                )


def _assumed(d: Any) -> str:
    """A size symbol's assumptions in words: "integer, positive" or "none"."""
    told = getattr(d, "assumptions0", {})
    return ", ".join(k for k in ("integer", "positive") if told.get(k)) or "none"


def _described(symbol: Any) -> str:
    if isinstance(symbol, sp.MatrixSymbol):
        return f"a matrix {fmt_shape(shape_of(symbol))}"
    return "a scalar"


_NOT_REAL = {
    sp.nan: "nan",
    sp.zoo: "∞ (zoo)",
    sp.oo: "∞",
    -sp.oo: "-∞",
    sp.I: "the imaginary unit",
}


def check_defined(node: Any, expr: Any) -> None:
    """Refuse what has no real value: the inverse of a zero matrix or of a matrix of
    ones (rank one), log det of one, and nan, ∞ or i that SymPy built (0·log(0), 1/0)."""
    if node in _NOT_REAL:
        raise MatDerivError(
            f"{fmt(expr)} holds {_NOT_REAL[node]}, which SymPy built (from log(0), a "
            "division by zero, sqrt(-1) ...); matderiv differentiates real, finite "
            "expressions. Hint: check the expression as built, e.g. print(expr)."
        )
    singular = None
    if isinstance(node, sp.Inverse) or (isinstance(node, sp.MatPow) and node.exp.is_negative):
        singular = node.args[0]
    elif isinstance(node, sp.log) and isinstance(node.args[0], sp.Determinant):
        singular = node.args[0].arg
    if isinstance(singular, sp.ZeroMatrix) or (
        isinstance(singular, sp.OneMatrix) and singular.shape != (1, 1)
    ):
        what = "zero matrix" if isinstance(singular, sp.ZeroMatrix) else "matrix of ones"
        raise MatDerivError(
            f"{fmt(node)}: a {what} {fmt_shape(shape_of(singular))} is singular (its "
            "determinant is 0), so this is not defined. Hint: check the expression: a "
            "difference such as X - X is the zero matrix."
        )


def check_body(node: Any) -> None:
    """An entrywise function's body may use its variable and scalar constants only: the
    engine differentiates through the argument, so a matrix inside the body (t ↦ t·tr(X))
    would count as a constant, a wrong derivative where it depends on the variable."""
    body = node.function.expr
    if not body.atoms(sp.MatrixSymbol, sp.MatrixExpr):
        return
    symbols = body.atoms(sp.MatrixSymbol)
    names = ", ".join(sorted({fmt(m) for m in symbols})) or "a matrix"
    t = sp.Symbol("t")
    if symbols and all(m.shape == (1, 1) for m in symbols):  # a scalar variable s
        hint = f"move {names} into the argument (exp of s·x, not t ↦ exp(s·t) of x)"
    else:
        hint = (
            "take the matrix out of the function, as a scalar times the matrix "
            "(tr(X) * A for t ↦ t·tr(X) applied to A) or a Hadamard product"
        )
    raise UnsupportedNode(
        f"the entrywise function t ↦ {fmt(body.xreplace({node.function.variables[0]: t}))} "
        f"uses {names} in its body; matderiv differentiates an entrywise function through "
        f"its argument only. Hint: {hint}."
    )


def check_node(node: Any) -> None:
    """Raise ShapeMismatch if the operands of ``node`` itself do not conform."""
    if isinstance(node, sp.MatMul):
        _check_matmul(node)
    elif isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
        _check_same_shape(node)
    elif isinstance(node, (sp.Trace, sp.Determinant, sp.Inverse, sp.MatPow)):
        _require_square(node, node.args[0])
    elif is_scalar_operation(node):
        _check_scalar_function(node)
    elif isinstance(node, sp.HadamardPower):
        _check_exponent(node)


def is_scalar_operation(node: Any) -> bool:
    return isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Function)) and not isinstance(
        node, MatrixExpr
    )
