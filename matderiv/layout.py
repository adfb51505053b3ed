"""Layouts and vectorisation: what the variable is, and the final shape of the answer.

Conventions (Magnus & Neudecker; the Matrix Cookbook):

- vec stacks columns; for Y: p x q and X: m x n the numerator-layout Jacobian is
  J = d vec(Y) / d vec(X)^T, shape (pq x mn); denominator layout is J^T (mn x pq).
- A scalar by a matrix: denominator layout gives the gradient shaped like X,
  numerator layout its transpose (shaped like X^T).
- ``wrt`` may be X, vec(X) or vec(X^T); vector and matrix outputs always go
  through vec, and the Derivation says so.

Layout and de-vectorisation happen once, here, at the end of a derivation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .canon import transpose
from .entry_sums import entry_sums_as_matrices
from .errors import LayoutError
from .nodes import AsScalar, CommutationMatrix, Vec
from .render.unicode import fmt
from .shapes import Shape, dimension_symbols, fmt_shape, is_scalar_shape, shape_of

LAYOUTS = ("numerator", "denominator")


@dataclass(frozen=True)
class Variable:
    """The variable of differentiation: the symbol X and the form asked for."""

    symbol: Any  # the MatrixSymbol X
    form: str  # "X" | "vec" | "vecT"
    expr: Any  # what the user passed: X, vec(X) or vec(X.T)

    @property
    def shape(self) -> Shape:
        return shape_of(self.symbol)

    @property
    def size(self) -> Any:
        m, n = self.shape
        return m * n

    def vec_expr(self) -> Any:
        """The vector the Jacobian's columns (numerator) index."""
        if self.form == "vecT":
            return self.expr
        if self.form == "X" and sp.Integer(1) in self.shape:
            return self.symbol if self.shape[1] == 1 else transpose(self.symbol)
        return Vec(self.symbol)


def check_layout(layout: Any) -> str:
    """``layout`` as "numerator" or "denominator" (any case: "Denominator" too)."""
    name = layout.strip().lower() if isinstance(layout, str) else layout
    if name not in LAYOUTS:
        raise LayoutError(
            f"unknown layout {layout!r}; use 'numerator' (J = d vec(Y)/d vec(X)^T) or "
            "'denominator' (its transpose; gradients shaped like X)."
        )
    return str(name)


def scalar_variable(
    wrt: Any, expr: Any, names: Mapping[str, Any] | None, where: Mapping[Any, Any] | None
) -> tuple[Any, Any, Any, Any, Callable[[Any], Any]]:
    """A scalar Symbol s as the variable: the 1 x 1 MatrixSymbol s that matderiv
    differentiates by (1 x 1 matrices count as scalars), with ``expr``, ``names`` and
    ``where`` written with it, and the map that writes anything else (a candidate) so;
    else all as given."""
    if not isinstance(wrt, sp.Symbol) or isinstance(wrt, sp.Dummy):
        return wrt, expr, names, where, lambda e: e
    exprs = [e for e in (expr, *(where or {}).values()) if isinstance(e, sp.Basic)]
    if wrt in dimension_symbols(*exprs):
        return wrt, expr, names, where, lambda e: e  # a size: parse_wrt says so
    matrix = sp.MatrixSymbol(wrt.name, 1, 1)
    scalar = AsScalar(matrix)

    def written(e: Any) -> Any:
        # (xᵀ (A + s I)⁻¹ x)[0, 0], which SymPy sums over entries, read back first: with
        # s a 1 x 1 matrix inside, the sum is no longer one that reads back
        if not isinstance(e, sp.Basic):
            return e
        return entry_sums_as_matrices(e).xreplace({wrt: scalar})

    def all_written(mapping: Mapping[Any, Any] | None) -> Any:
        return None if mapping is None else {k: written(v) for k, v in mapping.items()}

    return matrix, written(expr), all_written(names), all_written(where), written


def parse_wrt(wrt: Any) -> Variable:
    """Accept X, vec(X) or vec(X.T) for a MatrixSymbol X."""
    if isinstance(wrt, sp.MatrixSymbol):
        return Variable(wrt, "X", wrt)
    if isinstance(wrt, Vec):
        if isinstance(wrt.arg, sp.MatrixSymbol):
            return Variable(wrt.arg, "vec", wrt)
        if isinstance(wrt.arg, sp.Transpose) and isinstance(wrt.arg.arg, sp.MatrixSymbol):
            return Variable(wrt.arg.arg, "vecT", wrt)
    hint = ""
    if isinstance(wrt, sp.Symbol) and wrt.is_integer and wrt.is_positive:
        hint = (
            f" {wrt} looks like a size (a dimension of the matrices), not a variable: "
            "differentiate with respect to a matrix or vector."
        )
    what = fmt(wrt) if isinstance(wrt, sp.Basic) else repr(wrt)
    kind = _KINDS.get(type(wrt).__name__, type(wrt).__name__)
    raise LayoutError(
        f"cannot differentiate with respect to {what} ({kind}): wrt must be a "
        f"MatrixSymbol X, vec(X) or vec(X.T).{hint}"
    )


#: SymPy's node names in words, for messages
_KINDS = {
    "MatMul": "a product",
    "MatAdd": "a sum",
    "Transpose": "a transpose (use vec(X.T))",
    "HadamardProduct": "an entrywise product",
    "Inverse": "an inverse",
    "str": "a string: take the symbol from matderiv.declare('X: n x n')['X']",
}


def finish_gradient(grad: Any, var: Variable) -> Any:
    """A scalar's derivative in denominator layout, from its gradient G shaped like X
    (a column over vec(X) for a vec variable).  The numerator layout's is its
    transpose, which the engine takes after simplifying: the rules combine
    σ(u) + σ(-u) = 1 in G, not in the transposed terms of Gᵀ."""
    if grad is None:
        grad = sp.ZeroMatrix(*var.shape)
    if not getattr(grad, "is_Matrix", False):  # a 1 x 1 variable: vec(w) = w
        return grad
    if var.form == "vec":
        grad = Vec(grad)
    elif var.form == "vecT":
        grad = Vec(transpose(grad))
    return grad


def finish_jacobian(jac: Any, out_shape: Shape, var: Variable, layout: str) -> Any:
    """The final form of a vector/matrix derivative, from J = d vec(Y)/d vec(X)^T."""
    if jac is None:
        jac = sp.ZeroMatrix(out_shape[0] * out_shape[1], var.size)
    if var.form == "vecT":
        m, n = var.shape
        jac = sp.MatMul(jac, CommutationMatrix(n, m))  # vec(X) = K_{n,m} vec(Xᵀ)
    return jac if layout == "numerator" else transpose(jac)


def result_shape(out_shape: Shape, var: Variable, layout: str) -> Shape:
    """The shape of the answer, by the convention table."""
    if is_scalar_shape(out_shape) and var.form == "X":
        m, n = var.shape
        return (m, n) if layout == "denominator" else (n, m)
    rows, cols = out_shape[0] * out_shape[1], var.size
    return (cols, rows) if layout == "denominator" else (rows, cols)


@dataclass(frozen=True)
class LayoutNote:
    """What the answer's rows and columns index, as data every renderer can word.

    kind "gradient": a scalar's derivative shaped like X (``like`` is X or Xᵀ).
    kind "jacobian": rows index ``rows`` and columns index ``cols`` (vectors such
    as vec(Y), vec(X), x); ``uses_vec`` says whether a vec is involved.
    """

    layout: str
    kind: str
    shape: Shape
    of: Any
    wrt: Any
    rows: Any = None
    cols: Any = None
    like: Any = None
    uses_vec: bool = False
    symmetric: tuple[Any, ...] = ()  # the matrices declared symmetric (symmetric=)

    @property
    def among_symmetric(self) -> bool:
        """A gradient by a variable declared symmetric: among symmetric matrices."""
        return self.kind == "gradient" and self.wrt in self.symmetric

    def text(self, show: Callable[[Any], str] = str) -> str:
        head = f"{self.layout} layout: "
        shape = fmt_shape(self.shape)
        tail = f"; {', '.join(map(show, self.symmetric))} symmetric" if self.symmetric else ""
        if self.kind == "gradient":
            what = "the gradient" if self.layout == "denominator" else "the transposed gradient"
            among = " among symmetric matrices" if self.among_symmetric else ""
            like = show(self.like)
            return f"{head}{what} of {show(self.of)}{among}, shaped like {like} {shape}{tail}"
        vec_note = " (vec stacks columns)" if self.uses_vec else ""
        rows, cols = show(self.rows), show(self.cols)
        return f"{head}rows index {rows}, columns index {cols}{vec_note} {shape}{tail}"


def describe(out: Any, out_shape: Shape, var: Variable, layout: str) -> LayoutNote:
    """What the rows and columns of the answer index."""
    shape = result_shape(out_shape, var, layout)
    if is_scalar_shape(out_shape) and var.form == "X":
        scalar = is_scalar_shape(var.shape)  # a scalar s is shaped like s, not sᵀ
        like = var.symbol if layout == "denominator" or scalar else transpose(var.symbol)
        return LayoutNote(layout, "gradient", shape, out, var.expr, like=like)
    y = out if is_scalar_shape(out_shape) or out_shape[1] == 1 else Vec(out)
    x = var.vec_expr()
    rows, cols = (y, x) if layout == "numerator" else (x, y)
    uses_vec = isinstance(y, Vec) or isinstance(x, Vec)
    return LayoutNote(layout, "jacobian", shape, out, var.expr, rows, cols, uses_vec=uses_vec)
