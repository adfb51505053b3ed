"""The matrix nodes matderiv adds to SymPy.

Each node carries only what is intrinsic to it: its shape, its entries
(``_entry``, so ``expr.subs(dims).as_explicit()`` works at concrete sizes) and
how it prints.  Derivative rules, rewrites and numeric evaluation live in
their own tables (``rules.py``, ``rewrites.py``, ``numeric.py``).

Conventions: ``vec`` stacks columns (column-major), as Magnus & Neudecker and
the Matrix Cookbook; ``K_{m,n} vec(A) = vec(A^T)`` for ``A`` of shape m x n.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import ShapeMismatch
from .shape_cache import matrix_shape


def _as_matrix(arg: Any, what: str) -> MatrixExpr:
    try:
        arg = sp.sympify(arg, strict=True)
    except sp.SympifyError as exc:
        raise ShapeMismatch(
            f"{what} expects a matrix expression, got {arg!r} ({type(arg).__name__}). "
            "Hint: build it from MatrixSymbol, e.g. vec(MatrixSymbol('X', m, n))."
        ) from exc
    if not getattr(arg, "is_Matrix", False):
        raise ShapeMismatch(
            f"{what} expects a matrix expression, got {arg!r} ({type(arg).__name__})"
        )
    return arg


def _require_column(arg: MatrixExpr, what: str) -> None:
    rows, cols = matrix_shape(arg)
    if cols != 1:
        raise ShapeMismatch(
            f"{what} expects a column vector (n x 1); {arg} has shape "
            f"({rows} x {cols}). Hint: pass a column; vec({arg}) stacks its columns "
            f"into one."
        )


def _size(value: Any, which: str) -> Any:
    """A size of K_{m,n}: a positive integer or a scalar expression of symbols."""
    try:
        size = sp.sympify(value, strict=True)
    except sp.SympifyError:
        size = None
    valid = (
        isinstance(size, sp.Expr)
        and not getattr(size, "is_Matrix", False)
        and (size.is_number is False or (size.is_Integer and size > 0))
    )
    if not valid:
        raise ShapeMismatch(
            f"commutation(m, n) takes sizes: {which} = {value!r} ({type(value).__name__}) is not "
            "a positive integer or a size symbol. Hint: commutation(m, n) with m, n ints or "
            "Symbols, e.g. the shape of the matrix A in K vec(A) = vec(Aᵀ)."
        )
    return size


def _concrete(n: Any) -> int | None:
    """The Python int value of a dimension, or None when it is symbolic."""
    n = sp.sympify(n)
    return int(n) if n.is_Integer else None


class Vec(MatrixExpr):
    """vec(A): the columns of A stacked into one column, shape (m·n x 1)."""

    def __new__(cls, arg: Any) -> Vec:
        return super().__new__(cls, _as_matrix(arg, "vec"))

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        m, n = matrix_shape(self.arg)
        return (m * n, sp.S.One)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        m = self.arg.shape[0]
        return self.arg._entry(sp.Mod(i, m), sp.floor(i / m), **kwargs)

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{vec}}\left({printer._print(self.arg)}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"vec({printer._print(self.arg)})"


class CommutationMatrix(MatrixExpr):
    """K_{m,n}: the (mn x mn) permutation with K_{m,n} vec(A) = vec(A^T) for A m x n."""

    is_commutative = False

    def __new__(cls, m: Any, n: Any) -> CommutationMatrix:
        return super().__new__(cls, _size(m, "m"), _size(n, "n"))

    @property
    def m(self) -> Any:
        return self.args[0]

    @property
    def n(self) -> Any:
        return self.args[1]

    @property
    def shape(self) -> tuple[Any, Any]:
        size = self.m * self.n
        return (size, size)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        # Row i = r*n + c holds A[r, c] of vec(A^T); it reads vec(A)[c*m + r].
        return sp.KroneckerDelta(j, sp.Mod(i, self.n) * self.m + sp.floor(i / self.n))

    def _eval_transpose(self) -> CommutationMatrix:
        return CommutationMatrix(self.n, self.m)

    def _eval_inverse(self) -> CommutationMatrix:
        return CommutationMatrix(self.n, self.m)

    def _latex(self, printer: Any) -> str:
        return rf"K_{{{printer._print(self.m)},{printer._print(self.n)}}}"

    def _sympystr(self, printer: Any) -> str:
        return f"K({printer._print(self.m)}, {printer._print(self.n)})"


class _Diag(MatrixExpr):
    """What diag(v) and diag(X) share: one operand, printed diag(...)."""

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{diag}}\left({printer._print(self.arg)}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"diag({printer._print(self.arg)})"


class DiagVector(_Diag):
    """diag(v): the square matrix with the column vector v on its diagonal."""

    def __new__(cls, arg: Any) -> DiagVector:
        arg = _as_matrix(arg, "diag")
        _require_column(arg, "diag")
        return super().__new__(cls, arg)

    @property
    def shape(self) -> tuple[Any, Any]:
        n = matrix_shape(self.arg)[0]
        return (n, n)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return sp.KroneckerDelta(i, j) * self.arg._entry(i, 0, **kwargs)

    def _eval_transpose(self) -> DiagVector:
        return self


class Diagonal(_Diag):
    """diag(X) of a square X: the column vector of its diagonal entries (NumPy's
    ``diag`` of a matrix; Magnus and Neudecker's dg)."""

    def __new__(cls, arg: Any) -> Diagonal:
        arg = _as_matrix(arg, "diag")
        rows, cols = matrix_shape(arg)
        if sp.simplify(rows - cols) != 0:
            raise ShapeMismatch(
                f"diag takes a column vector (the diagonal matrix it builds) or a square "
                f"matrix (its diagonal); {arg} has shape ({rows} x {cols}). "
                f"Hint: pass vec({arg})."
            )
        return super().__new__(cls, arg)

    @property
    def shape(self) -> tuple[Any, Any]:
        return (matrix_shape(self.arg)[0], sp.Integer(1))

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return self.arg._entry(i, i, **kwargs)


class Reshape(MatrixExpr):
    """vec⁻¹: the column vector v (m·n x 1) refolded column-major into an m x n matrix."""

    def __new__(cls, arg: Any, m: Any, n: Any) -> Reshape:
        arg = _as_matrix(arg, "reshape")
        _require_column(arg, "reshape")
        m, n = sp.sympify(m, strict=True), sp.sympify(n, strict=True)
        size = matrix_shape(arg)[0]
        if sp.expand(size - m * n) != 0:
            raise ShapeMismatch(f"reshape of {arg} ({size} x 1) into {m} x {n}: sizes differ")
        return super().__new__(cls, arg, m, n)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        return (self.args[1], self.args[2])

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return self.arg._entry(j * self.args[1] + i, 0, **kwargs)

    def _latex(self, printer: Any) -> str:
        m, n = (printer._print(a) for a in self.args[1:])
        arg = printer._print(self.arg)
        return rf"\operatorname{{vec}}^{{-1}}_{{{m} \times {n}}}\left({arg}\right)"

    def _sympystr(self, printer: Any) -> str:
        m, n = (printer._print(a) for a in self.args[1:])
        return f"unvec({printer._print(self.arg)}, {m}, {n})"


def _scalar_product_as_matrix(arg: Any) -> Any:
    """-(b - wᵀx) built as a scalar Mul of a matrix (SymPy's signsimp rebuilds the
    operand of a 1 x 1 matrix so, through xreplace) as the matrix product it is."""
    if isinstance(arg, sp.Mul) and any(getattr(a, "is_Matrix", False) for a in arg.args):
        return sp.MatMul(*arg.args)
    return arg


class AsScalar(sp.Expr):
    """A 1 x 1 matrix used as a scalar (inside exp, log, sums ...); prints as the matrix."""

    is_commutative = True

    def __new__(cls, arg: Any) -> AsScalar:
        arg = _as_matrix(_scalar_product_as_matrix(arg), "a scalar")
        rows, cols = matrix_shape(arg)
        if sp.Integer(1) != rows or sp.Integer(1) != cols:
            raise ShapeMismatch(
                f"{arg} of shape ({rows} x {cols}) is used as a scalar; only "
                "1 x 1 matrices count as scalars."
            )
        return super().__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    def _latex(self, printer: Any) -> str:
        return printer._print(self.arg)

    def _sympystr(self, printer: Any) -> str:
        return printer._print(self.arg)


# -- the constructors users write ---------------------------------------------


def vec(A: Any) -> Vec:
    """vec(A): stack the columns of A (column-major). ``wrt=vec(X)`` asks for d/d vec(X)."""
    return Vec(A)


def diag(v: Any) -> DiagVector | Diagonal:
    """diag(v) of a column v: the diagonal matrix with v on its diagonal; diag(X) of a
    square matrix X: the column of its diagonal entries (as NumPy's ``diag``)."""
    v = _as_matrix(v, "diag")
    return DiagVector(v) if matrix_shape(v)[1] == 1 else Diagonal(v)


def commutation(m: Any, n: Any) -> CommutationMatrix:
    """K_{m,n}, the commutation matrix: K_{m,n} vec(A) = vec(A^T) for A of shape m x n."""
    return CommutationMatrix(m, n)
