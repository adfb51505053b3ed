"""The operations of the expression syntax: products, sums, powers and function
application, built without SymPy's deep evaluation, with their shape and size checks
(a product or sum whose shapes are not provably conformable, a power beyond
``MAX_MAGNITUDE``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy as sp

from ..canon import matadd
from ..errors import ParseError, ShapeMismatch
from ..nodes import AsScalar
from ..shapes import check_node, fmt_shape, is_matrix, is_scalar_shape, shape_of
from .expr_messages import sum_hint
from .limits import MAX_MAGNITUDE


def times(left: Any, right: Any) -> Any:
    """left · right where at most one is a matrix, without SymPy's deep doit."""
    if is_matrix(left) or is_matrix(right):
        return sp.MatMul(left, right).doit(deep=False)
    return left * right


def dimensions(values: Any) -> set[Any]:
    dims: set[Any] = set()
    for value in values:
        if is_matrix(value):
            for d in value.shape:
                dims |= sp.sympify(d).free_symbols
    return dims


def apply_entrywise(name: str, fn: Any, args: list[Any]) -> Any:
    if len(args) != 1:
        raise ParseError(f"{name} takes one argument, got {len(args)}")
    (arg,) = args
    if not is_matrix(arg):
        return fn(arg)
    if is_scalar_shape(shape_of(arg)):
        return fn(AsScalar(arg))
    if isinstance(arg, sp.ZeroMatrix) and not fn(sp.S.Zero).is_finite:
        raise ParseError(f"{name} of a zero matrix {fmt_shape(shape_of(arg))} is not finite")
    return arg.applyfunc(fn)


def sum_of(left: Any, right: Any, op: str) -> Any:
    if is_matrix(left) != is_matrix(right):
        matrix, scalar = (left, right) if is_matrix(left) else (right, left)
        if is_scalar_shape(shape_of(matrix)):
            return AsScalar(left) + right if is_matrix(left) else left + AsScalar(right)
        if scalar == 0:  # 0 + W is W (it was W + 0 · 𝟏, printed W + 0)
            return matrix
        ones = scalar * sp.OneMatrix(*shape_of(matrix))
        return sp.MatAdd(left if is_matrix(left) else ones, right if is_matrix(right) else ones)
    if is_matrix(left):
        left, right = _broadcast_1x1(left, right)
        try:
            conform(sp.MatAdd, left, right)
        except ShapeMismatch as exc:
            raise sum_hint(exc, left, right) from None
        return guard(op, left, right, lambda: matadd(left, right, order=sp.default_sort_key))
    return left + right


def _broadcast_1x1(left: Any, right: Any) -> tuple[Any, Any]:
    """A 1 x 1 operand of a sum with a larger matrix is a scalar added to every entry,
    as in NumPy: x - sum(x)/n is x - 𝟏 (𝟏ᵀx/n)."""
    small = [is_scalar_shape(shape_of(side)) for side in (left, right)]
    if small[0] == small[1]:
        return left, right
    if small[0]:
        return _spread(left, shape_of(right)), right
    return left, _spread(right, shape_of(left))


def _spread(scalar: Any, shape: tuple[Any, Any]) -> Any:
    """𝟏 s 𝟏ᵀ of ``shape`` for a 1 x 1 s (𝟏 s for a column, s 𝟏ᵀ for a row)."""
    rows, cols = shape
    factors = [
        *([] if rows == 1 else [sp.OneMatrix(rows, 1)]),
        scalar,
        *([] if cols == 1 else [sp.OneMatrix(1, cols)]),
    ]
    return sp.MatMul(*factors)


def check_power(base: Any, exponent: Any) -> None:
    """Refuse a numeric power too large to compute (2^1000^1000) or infinite (0^-1)."""
    size = abs(base)
    if size.is_zero:
        if exponent.is_negative:
            raise ParseError(f"division by zero: {base}^{exponent}")
        return
    if not size.is_number or not size.is_finite or not exponent.is_number:
        return  # 2**s: no size to compute (float() of s failed: "Cannot convert ...")
    digits = abs(float(exponent)) * abs(log10(size))
    if digits > MAX_MAGNITUDE:
        raise ParseError(
            f"{short_number(base)}^{short_number(exponent)} has about {digits:.0f} digits: "
            f"numbers are limited to 10^±{MAX_MAGNITUDE}"
        )


def short_number(value: Any) -> str:
    """A number for a message: 10715086071862...(302 digits)."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"


def log10(value: Any) -> float:
    """log10 of a positive SymPy number, for any size (big integers, Floats)."""
    if value.is_Rational:
        return math.log10(value.p) - math.log10(value.q)
    return float(sp.log(value, 10).evalf(15))


def conform(node_type: Any, left: Any, right: Any) -> None:
    """Refuse operands whose shapes are not provably conformable, before SymPy builds
    the node: SymPy only objects when sizes differ as numbers (``guard`` reports
    those), and its evaluation may then drop the evidence (I_n y is y for any y;
    0 · (xᵀ y) is 0).  The message is the one ``verify`` gives for any notation."""
    try:
        node = node_type(left, right, evaluate=False)
    except sp.ShapeError:
        return
    try:
        check_node(node)
    except ShapeMismatch as exc:
        exc.node = node
        raise


def guard(op: str, left: Any, right: Any, build: Callable[[], Any]) -> Any:
    """Build a binary node; SymPy's ShapeError becomes a ShapeMismatch naming both sides."""
    try:
        return build()
    except sp.ShapeError as exc:
        (lr, lc), (rr, rc) = shape_of(left), shape_of(right)
        if op == "@":
            why = f"the inner dimensions {lc} and {rr} differ"
            hint = "check the transposes and the order of the factors"
        else:
            why = f"'{op}' is entrywise and needs two operands of one shape"
            hint = "for a matrix product write @" if op in "*/" else "check the transposes"
        raise ShapeMismatch(
            f"'{op}' of {left} {fmt_shape((lr, lc))} and {right} "
            f"{fmt_shape((rr, rc))}: {why}. Hint: {hint}."
        ) from exc
