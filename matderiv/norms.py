"""‖E‖: the Euclidean norm of a vector, the Frobenius norm of a matrix.

A norm is not a node of its own: ``norm(E)`` builds √(EᵀE) (√(E Eᵀ) for a row,
√tr(EᵀE) for a matrix), which the rules already differentiate, so
d‖x‖ = xᵀ dx / ‖x‖ and ‖A x − b‖² = (A x − b)ᵀ(A x − b) need nothing new.  The
printers write such a square root back as ‖E‖ (‖E‖_F for a matrix) with
``norm_power``, wherever it appears.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .canon import matmul, summed, transpose
from .errors import MatDerivError
from .named_functions import function_name, named_function
from .nodes import AsScalar
from .shapes import dims_equal, is_matrix, is_scalar_shape, shape_of


def norm(expr: Any, p: Any = None) -> Any:
    """‖E‖ as √(EᵀE): the Euclidean norm of a vector, the Frobenius norm of a matrix;
    ``norm(x, 1)`` is ‖x‖₁ = 𝟏ᵀ|x| and ``norm(x, 2)`` ‖x‖ of a vector, as
    ``numpy.linalg.norm(x, p)`` and the syntax's ``norm(x, p)``.

    >>> x = sp.MatrixSymbol("x", 3, 1)
    >>> norm(x)
    sqrt(x.T*x)
    """
    if p is not None:
        return _norm_p(expr, p)
    if not is_matrix(expr):
        raise MatDerivError(
            f"norm takes a matrix or vector, got the scalar {expr}: write its absolute "
            "value as sqrt(x**2) (differentiable away from 0)"
        )
    rows, cols = shape_of(expr)
    if dims_equal(cols, 1):
        return sp.sqrt(AsScalar(sp.MatMul(sp.Transpose(expr), expr)))
    if dims_equal(rows, 1):
        return sp.sqrt(AsScalar(sp.MatMul(expr, sp.Transpose(expr))))
    return sp.sqrt(sp.Trace(sp.MatMul(sp.Transpose(expr), expr)))


def _norm_p(expr: Any, p: Any) -> Any:
    """norm(x, 1) = 𝟏ᵀ|x|, norm(x, 2) = norm(x) of a vector; nothing else."""
    if not is_matrix(expr) or isinstance(p, bool) or p not in (1, 2):
        raise MatDerivError(
            f"norm(x, p) takes a vector and p = 1 or 2, got p = {p!r} (norm(x) is the "
            "Euclidean norm of a vector, the Frobenius norm of a matrix)"
        )
    if p == 1:
        return norm_1(expr)
    rows, cols = shape_of(expr)
    if not (dims_equal(rows, 1) or dims_equal(cols, 1)):
        raise MatDerivError(
            f"norm({expr}, 2) of a matrix is its spectral norm, which matderiv does not "
            f"differentiate; norm({expr}) is the Frobenius norm"
        )
    return norm(expr)


def norm_operand(square: Any) -> tuple[Any, bool] | None:
    """(E, whether E is a matrix) when ``square`` is ‖E‖²: Eᵀ E (a 1 x 1 matrix, or
    one used as a scalar) or tr(Eᵀ E) / tr(E Eᵀ), with the product split anywhere
    (tr(D Xᵀ X D) is ‖X D‖²).  E is the half that is no transpose (the column of xᵀ x)."""
    if isinstance(square, AsScalar):
        square = square.arg
    trace = isinstance(square, sp.Trace)
    product = square.arg if trace else square
    if not isinstance(product, sp.MatMul):
        return None
    factors = product.args
    if not all(is_matrix(f) for f in factors) or len(factors) < 2:
        return None
    if not trace and not is_scalar_shape(shape_of(product)):
        return None
    for k in range(1, len(factors)):
        left, right = matmul(*factors[:k]), matmul(*factors[k:])
        if transpose(left) == right or transpose(right) == left:
            operand = left if isinstance(right, sp.Transpose) else right
            rows, cols = shape_of(operand)
            return operand, not (dims_equal(rows, 1) or dims_equal(cols, 1))
    return None


def norm_power(expr: Any) -> tuple[Any, bool, int] | None:
    """(E, Frobenius, k) when ``expr`` is ‖E‖ᵏ with k odd: (EᵀE)^(k/2).  Even powers
    stay as they are (xᵀx, not ‖x‖²)."""
    if not isinstance(expr, sp.Pow) or not expr.exp.is_Rational:
        return None
    k = expr.exp * 2
    if not (k.is_Integer and k % 2 == 1):
        return None
    found = norm_operand(expr.base)
    if found is None:
        return None
    operand, frobenius = found
    return operand, frobenius, int(k)


def norm_1(expr: Any) -> Any:
    """‖x‖₁ = 𝟏ᵀ|x|, the sum of the absolute values of a vector's entries
    (differentiable where no entry is 0: d‖x‖₁ = sign(x)ᵀ dx)."""
    if not is_matrix(expr):
        raise MatDerivError(f"norm(x, 1) takes a vector, got the scalar {expr}")
    rows, cols = shape_of(expr)
    if is_scalar_shape((rows, cols)):  # |x| of a 1 x 1 x (SymPy's abs of one builds
        return norm(expr)  # x Adjoint(xᵀ)); its Euclidean norm is the same
    absolute = expr.applyfunc(named_function("abs"))
    if dims_equal(cols, 1):
        return AsScalar(sp.MatMul(sp.OneMatrix(1, rows), absolute))
    if dims_equal(rows, 1):
        return AsScalar(sp.MatMul(absolute, sp.OneMatrix(cols, 1)))
    raise MatDerivError(
        f"‖{expr}‖₁ of a matrix ({rows} × {cols}) is its largest column sum, which matderiv "
        f"does not differentiate; for the sum of the entries' absolute values write "
        f"sum(abs({expr}))"
    )


def norm_1_operand(expr: Any) -> Any:
    """x when ``expr`` is ‖x‖₁: 𝟏ᵀ|x| of a column x or |r| 𝟏 of a row r."""
    absolute = summed(expr)
    if function_name(getattr(absolute, "function", None)) != "abs":
        return None
    return absolute.expr
