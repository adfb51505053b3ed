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
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from .errors import MatDerivError, ShapeMismatch, UnsupportedNode
from .named_functions import split_composition
from .nodes import AsScalar
from .render.unicode import fmt
from .shape_cache import matrix_shape
from .substitute import rebuild, substitute

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
    rows, cols = shape_of(arg)
    if not dims_equal(rows, cols):
        raise ShapeMismatch(
            f"{type(node).__name__} needs a square matrix, but {fmt(arg)} has shape "
            f"{fmt_shape((rows, cols))} in {fmt(node)}. Hint: check the transposes and "
            "the order of the factors."
        )


def _check_matmul(node: Any) -> None:
    factors = [a for a in node.args if is_matrix(a)]
    for left, right in itertools.pairwise(factors):
        (_, inner_l), (inner_r, _) = shape_of(left), shape_of(right)
        if not dims_equal(inner_l, inner_r):
            raise ShapeMismatch(
                f"product {fmt(node)}: {fmt(left)} {fmt_shape(shape_of(left))} times {fmt(right)} "
                f"{fmt_shape(shape_of(right))}; inner dimensions {fmt_dim(inner_l)} and "
                f"{fmt_dim(inner_r)} do not agree. Hint: transpose one factor or swap "
                "their order."
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
        check_node(node)
        check_defined(node, expr)
        if isinstance(node, ElementwiseApplyFunction):
            check_body(node)


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
    names = ", ".join(sorted({fmt(m) for m in body.atoms(sp.MatrixSymbol)})) or "a matrix"
    t = sp.Symbol("t")
    raise UnsupportedNode(
        f"the entrywise function t ↦ {fmt(body.xreplace({node.function.variables[0]: t}))} "
        f"uses {names} in its body; matderiv differentiates an entrywise function through "
        "its argument only. Hint: take the matrix out of the function, as a scalar times "
        "the matrix (tr(X) * A for t ↦ t·tr(X) applied to A) or a Hadamard product."
    )


def check_node(node: Any) -> None:
    """Raise ShapeMismatch if the operands of ``node`` itself do not conform."""
    if isinstance(node, sp.MatMul):
        _check_matmul(node)
    elif isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
        _check_same_shape(node)
    elif isinstance(node, (sp.Trace, sp.Determinant, sp.Inverse, sp.MatPow)):
        _require_square(node, node.args[0])
    elif _is_scalar_operation(node):
        _check_scalar_function(node)


def _is_scalar_operation(node: Any) -> bool:
    return isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Function)) and not isinstance(
        node, MatrixExpr
    )


_LAMBDA_VARIABLE = sp.Dummy("x", dummy_index=0)


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
    from .canon import transpose  # canon imports this module

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
    log, +, ...) takes is wrapped in AsScalar: SymPy's scalar algebra is not made
    for matrix operands (it tries to merge exp(bᵀx) · exp(...) into one exponent
    and fails).  The variable of
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
            if _is_scalar_operation(node):
                args = tuple(_interned(AsScalar(a)) if is_matrix(a) else a for a in args)
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
