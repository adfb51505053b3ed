"""The forms an expression takes in matderiv's syntax (for ``syntax.py``).

Splitting products into coefficient and factors, Kronecker factors with their
scalars in front, what the parser will read back as a matrix rather than a
scalar, the syntax's name of an entrywise function: the decisions
``SyntaxPrinter`` makes before it writes any text; and ``to_shapes``, the
declarations of an expression's matrices.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from ..errors import MatDerivError
from ..nodes import AsScalar
from ..parse.expr_grammar import ELEMENTWISE

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _no_syntax(expr: Any, why: str) -> MatDerivError:
    try:
        shown = str(expr)
    except (TypeError, AttributeError):  # SymPy's str() runs doit(), which can crash
        shown = sp.srepr(expr)
    return MatDerivError(f"no syntax for {type(expr).__name__} {shown}: {why}")


def _is_ones(expr: Any) -> bool:
    return isinstance(expr, sp.OneMatrix)


def _is_one_by_one(expr: Any) -> bool:
    return bool(expr.rows == 1 and expr.cols == 1)


def _split_matmul(expr: Any) -> tuple[Any, list[Any]]:
    """A MatMul as (scalar coefficient, matrix factors), nested MatMuls flattened."""
    scalars: list[Any] = []
    matrices: list[Any] = []
    stack = list(reversed(expr.args))
    while stack:
        arg = stack.pop()
        if isinstance(arg, sp.MatMul):
            stack.extend(reversed(arg.args))
        elif getattr(arg, "is_Matrix", False):
            matrices.append(arg)
        else:
            scalars.append(arg)
    return sp.Mul(*scalars), matrices


def _ones_term(term: Any) -> Any | None:
    """The scalar c of a sum's term c * OneMatrix, or None for any other term."""
    if _is_ones(term):
        return sp.S.One
    if isinstance(term, sp.MatMul):
        coeff, matrices = _split_matmul(term)
        if len(matrices) == 1 and _is_ones(matrices[0]):
            return coeff
    return None


def _kron_parts(expr: Any) -> tuple[Any, list[Any]]:
    """A ⊗ (c B ⊗ s ⊗ C) as (c s, [A, B, C]): nested products flattened, coefficients
    and 1 x 1 factors the parser reads as scalars (s = tanh(t)) moved in front.

    (c A) ⊗ B = c (A ⊗ B): SymPy crashes multiplying, transposing or tracing a
    Kronecker product with a factor c·A·B, so the text never builds one.
    """
    coeff: Any = sp.S.One
    factors: list[Any] = []
    for arg in expr.args:
        if isinstance(arg, sp.KroneckerProduct):
            inner, more = _kron_parts(arg)
        elif isinstance(arg, sp.MatMul):
            inner, matrices = _split_matmul(arg)
            more = [sp.MatMul(*matrices) if len(matrices) > 1 else matrices[0]]
        else:
            inner, more = sp.S.One, [arg]
        coeff, factors = coeff * inner, factors + more
    scalars = [f for f in factors if _is_one_by_one(f) and not _parses_as_matrix(f)]
    if len(scalars) < len(factors):
        factors = [f for f in factors if f not in scalars]
        coeff = sp.Mul(coeff, *(AsScalar(f) for f in scalars))
    return coeff, factors


def _parses_as_matrix(expr: Any) -> bool:
    """Does the parser build a matrix, not a scalar, from this expression's text?

    It reads every 1 x 1 operand of ``^`` and of an entrywise function as a
    scalar; a product is a matrix when one of its factors is, a sum only when
    all of its terms are.  AsScalar and a 1 x 1 entry print as their matrix.
    """
    if isinstance(expr, AsScalar):
        return _parses_as_matrix(expr.arg)
    if isinstance(expr, MatrixElement):
        return _parses_as_matrix(expr.parent)
    if getattr(expr, "is_Matrix", False) and not _is_one_by_one(expr):
        return True
    if isinstance(expr, (sp.MatMul, sp.HadamardProduct)):
        return any(_parses_as_matrix(a) for a in expr.args)
    if isinstance(expr, sp.MatAdd):
        return all(_ones_term(t) is None and _parses_as_matrix(t) for t in expr.args)
    if isinstance(expr, sp.Transpose):
        return _parses_as_matrix(expr.arg)
    if isinstance(expr, sp.Inverse):
        return True
    if isinstance(expr, (sp.MatPow, sp.HadamardPower, ElementwiseApplyFunction)):
        return False
    if isinstance(expr, sp.Mul):
        return any(_parses_as_matrix(f) for f in _fraction_parts(expr)[1])
    if isinstance(expr, sp.Add):
        return all(_parses_as_matrix(t) for t in expr.args)
    return bool(getattr(expr, "is_Matrix", False))


def _fraction_parts(expr: Any) -> tuple[Any, list[Any], list[Any]]:
    """A scalar product as (number, factors above the bar, factors below it).

    b^-k goes below the bar as b^k, unless b prints as a matrix: the parser
    rejects division by a matrix, so that factor stays b^-k above the bar.
    """
    coeff, rest = expr.as_coeff_Mul()
    top: list[Any] = []
    bottom: list[Any] = []
    for factor in sp.Mul.make_args(rest):
        if (
            isinstance(factor, sp.Pow)
            and factor.exp.is_number
            and factor.exp.is_negative
            and not _parses_as_matrix(factor.base)
        ):
            bottom.append(sp.Pow(factor.base, -factor.exp))
        else:
            top.append(factor)
    return coeff, top, bottom


def _body(function: Any, t: Any) -> Any:
    """An entrywise function's body at the variable t, so Lambdas compare up to renaming."""
    if isinstance(function, sp.Lambda):
        if len(function.variables) != 1:
            return None
        return function.expr.xreplace({function.variables[0]: t})
    return function(t)


def _entrywise_name(expr: Any) -> str:
    """The syntax's name for an ElementwiseApplyFunction's function (tanh, sigmoid ...)."""
    t = sp.Dummy("t")
    body = _body(expr.function, t)
    for name, make in ELEMENTWISE.items():
        if body == _body(make(), t):
            return name
    raise _no_syntax(expr, f"its entrywise function is none of {', '.join(sorted(ELEMENTWISE))}")


def _dimension(d: Any, symbol: Any) -> str:
    d = sp.sympify(d)
    if (d.is_Integer and d > 0) or (d.is_Symbol and _NAME.fullmatch(d.name)):
        return str(d)
    raise MatDerivError(
        f"{symbol.name} has the dimension {d}, which a declaration cannot write: "
        "declare matrices with positive integers or names as dimensions"
    )


def to_shapes(expr: Any) -> str:
    """Declarations of every MatrixSymbol in ``expr``, sorted by name: ``"A: m x n, x: n"``."""
    symbols: dict[str, Any] = {}
    for symbol in sp.sympify(expr).atoms(sp.MatrixSymbol):
        if symbols.setdefault(symbol.name, symbol) != symbol:
            raise MatDerivError(
                f"two matrices are named {symbol.name}, of shapes {symbols[symbol.name].shape} "
                f"and {symbol.shape}; a declaration gives a name one shape"
            )
    out = []
    for name in sorted(symbols):
        symbol = symbols[name]
        if not _NAME.fullmatch(name):
            raise _no_syntax(symbol, "its name is not an identifier")
        rows, cols = (_dimension(d, symbol) for d in symbol.shape)
        out.append(f"{name}: {rows}" if cols == "1" else f"{name}: {rows} x {cols}")
    return ", ".join(out)
