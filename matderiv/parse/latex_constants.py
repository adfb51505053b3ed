"""Sized constants (𝟎_{m×n}, I_n, 𝟏_n, scaled or not) beside matrices of another
symbolic size, in the LaTeX and Unicode readers' sums, products and Hadamard products.

Other operands whose sizes differ symbolically are kept as written, for derive and
verify to name; a constant is refused as read: SymPy drops a zero from a sum and an
identity from a product whatever its size (𝟎_{n×m} + W read as W for an m x n W), and
its size is only what the writer typed under it, so the message says what fits.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..errors import ShapeMismatch
from ..render.unicode import fmt

_KINDS = {sp.ZeroMatrix: "zero", sp.Identity: "identity", sp.OneMatrix: "matrix of ones"}


def shown(x: Any) -> str:
    """A matrix in a message, as matderiv prints it (str() wrote SymPy's repr:
    HadamardPower(v, 2), Lambda(_d, exp(_d)).(x))."""
    try:
        return fmt(x)
    except Exception:
        return str(x)


def shape_text(x: Any) -> str:
    return f"({x.rows} x {x.cols})"


def symbolic(difference: Any) -> bool:
    """A difference of sizes that is not zero, and not a number (m - n)."""
    difference = sp.expand(difference)
    return bool(difference != 0 and not difference.is_number)


def sized_constant(x: Any) -> Any:
    """The 𝟎, I or 𝟏 that ``x`` is, scaled or not (3 𝟎_{n×m}, -I_n); else None."""
    if isinstance(x, sp.MatMul):
        matrices = [a for a in x.args if getattr(a, "is_Matrix", False)]
        x = matrices[0] if len(matrices) == 1 else x
    return x if isinstance(x, tuple(_KINDS)) else None


def _like(kind: Any, rows: Any, cols: Any) -> Any:
    """The constant of ``kind`` (a zero, identity or ones matrix) shaped rows x cols;
    None for an identity that is not square."""
    if kind is sp.Identity:
        return sp.Identity(rows) if sp.expand(rows - cols) == 0 else None
    return kind(rows, cols)


def _differing(a: Any, b: Any) -> str:
    """The first pair of sizes of a and b that differ: "n ≠ m"."""
    if symbolic(a.rows - b.rows):
        return f"{a.rows} ≠ {b.rows}"
    return f"{a.cols} ≠ {b.cols}"


def _fitting(c: Any, reference: Any) -> str:
    """What to write for constant ``c`` beside ``reference``, in an entrywise operation."""
    kind = type(c)
    fits = _like(kind, reference.rows, reference.cols)
    if fits is None:
        return f"{shown(reference)} is not square, so no identity has its shape"
    return f"for the {_KINDS[kind]} that fits write {fmt(fits)}"


def _unfit_entrywise(reference: Any, term: Any) -> str | None:
    """Why ``reference`` and ``term`` have no entrywise sum or product, where one is a
    constant whose size differs symbolically from the other's; else None."""
    if not (symbolic(term.rows - reference.rows) or symbolic(term.cols - reference.cols)):
        return None
    c = sized_constant(term)
    if c is None and sized_constant(reference) is None:
        return None  # kept, for derive and verify to name
    fits = _fitting(c, reference) if c is not None else _fitting(sized_constant(reference), term)
    return f"of different shapes ({_differing(reference, term)}): {fits}"


def unfit_in_sum(reference: Any, term: Any) -> ShapeMismatch | None:
    """The refusal of the sum of ``reference`` and ``term``, if one is a constant of
    another symbolic size."""
    why = _unfit_entrywise(reference, term)
    return None if why is None else undefined_sum(reference, term, f", {why}")


def unfit_in_hadamard(first: Any, x: Any) -> ShapeMismatch | None:
    """As ``unfit_in_sum``, for a Hadamard product of ``first`` and ``x``."""
    why = _unfit_entrywise(first, x)
    return None if why is None else undefined_hadamard(first, x, f" is not defined, {why}")


def undefined_sum(a: Any, b: Any, why: str = "") -> ShapeMismatch:
    """The refusal of the sum of a and b, of different shapes, and ``why``."""
    return ShapeMismatch(f"the sum adds {_both(a, b)}{why}")


def undefined_hadamard(a: Any, b: Any, why: str = "") -> ShapeMismatch:
    """The refusal of the Hadamard product of a and b, of different shapes, and ``why``."""
    return ShapeMismatch(f"the Hadamard product of {_both(a, b)}{why}")


def _both(a: Any, b: Any) -> str:
    return f"{shown(a)} {shape_text(a)} and {shown(b)} {shape_text(b)}"


def unfit_in_product(a: Any, b: Any) -> ShapeMismatch | None:
    """The refusal of the product a · b, if one is a constant and the inner sizes
    differ symbolically."""
    if not symbolic(a.cols - b.rows):
        return None
    if sized_constant(b) is not None:
        kind, rows, cols = type(sized_constant(b)), a.cols, b.cols
    elif sized_constant(a) is not None:
        kind, rows, cols = type(sized_constant(a)), a.rows, b.rows
    else:
        return None  # kept, for derive and verify to name
    if kind is sp.Identity:  # square, of the neighbour's inner size
        rows = cols = a.cols if sized_constant(b) is not None else b.rows
    fits = fmt(kind(rows) if kind is sp.Identity else kind(rows, cols))
    return undefined_product(a, b, f"; for the {_KINDS[kind]} that fits write {fits}")


def undefined_product(a: Any, b: Any, hint: str = "") -> ShapeMismatch:
    """The refusal of the product a · b whose inner sizes differ, and ``hint``."""
    return ShapeMismatch(
        f"the product {shown(a)} · {shown(b)} is not defined: {shape_text(a)} times "
        f"{shape_text(b)}, and {a.cols} ≠ {b.rows}{hint}"
    )
