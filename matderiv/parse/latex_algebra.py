"""SymPy constructors for what the LaTeX grammar recognises, one function per construct.

Products are built without checking symbolic shapes (SymPy raises only when
two concrete sizes differ), so an ill-formed candidate such as
(e1ᵀ ⊗ I) diag(1 − h∘h) still parses and ``verify`` can say what is wrong
with it.  A concrete mismatch is a ShapeMismatch naming both operands.

Reading conventions: a scalar constant in a sum with matrices is that
constant times the all-ones matrix (1 − v); ``I`` and ``\\mathbf{1}`` written
without a size take it from a neighbouring factor or term; 1 x 1 matrices
next to larger matrices, or inside scalar functions, count as scalars.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp
from sympy.matrices.exceptions import ShapeError

from ..canon import canonical
from ..errors import ShapeMismatch
from ..nodes import AsScalar, CommutationMatrix, DiagVector
from .latex_constants import shape_text as _shape
from .latex_constants import shown as _shown
from .latex_constants import (
    sized_constant,
    undefined_hadamard,
    undefined_product,
    undefined_sum,
    unfit_in_hadamard,
    unfit_in_product,
    unfit_in_sum,
)
from .latex_constants import symbolic as _symbolic
from .latex_text import LocatedError


@dataclass(frozen=True)
class Unsized:
    """I or 1 (a column of ones) written without its size, waiting for a neighbour's."""

    kind: str  # "identity" or "ones"
    pos: int
    coeff: Any = sp.S.One
    row: bool = False  # 1ᵀ: a row of ones

    def scaled(self, c: Any) -> Unsized:
        return replace(self, coeff=self.coeff * c)

    def mapped(self, f: Any) -> Unsized:
        """f(c 𝟏) = f(c) 𝟏 for an entrywise f (ones only: f(c I) has f(0) off the diagonal)."""
        assert self.kind == "ones"
        return replace(self, coeff=f(self.coeff))

    def transposed(self) -> Unsized:
        return self if self.kind == "identity" else replace(self, row=not self.row)

    def sized(self, rows: Any = None, cols: Any = None) -> Any:
        """The matrix, given its row or column count; None if that does not fix its size."""
        if self.kind == "identity":
            n = rows if rows is not None else cols
            return None if n is None else _scale(self.coeff, sp.Identity(n))
        n = cols if self.row else rows
        if n is None:
            return None
        shape = (sp.S.One, n) if self.row else (n, sp.S.One)
        return _scale(self.coeff, sp.OneMatrix(*shape))

    def like(self, rows: Any, cols: Any) -> Any:
        """The matrix in a sum or Hadamard product with a (rows x cols) operand."""
        whole = sp.Identity(rows) if self.kind == "identity" else sp.OneMatrix(rows, cols)
        return _scale(self.coeff, whole)

    def unknown(self, where: str) -> LocatedError:
        what = r"I" if self.kind == "identity" else r"\mathbf{1}"
        where = f" {where}" if where else ""
        hint = r"I_{n}, e.g. I_{n_h}" if self.kind == "identity" else r"\mathbf{1}_{n}"
        return LocatedError(f"the size of {what}{where} is unknown: write {hint}", self.pos)


def is_matrix(x: Any) -> bool:
    return bool(getattr(x, "is_Matrix", False))


def is_scalar(x: Any) -> bool:
    return not isinstance(x, Unsized) and not is_matrix(x)


def _one(d: Any) -> bool:
    return bool(d == 1)


def is_1x1(x: Any) -> bool:
    return is_matrix(x) and _one(x.rows) and _one(x.cols)


def is_vector(x: Any) -> bool:
    return _one(x.rows) != _one(x.cols)


def _differ(a: Any, b: Any) -> bool:
    """Two sizes that are different numbers (symbolic sizes are left to verify)."""
    return bool(sp.sympify(a - b).is_number and a != b)


def _scale(c: Any, m: Any) -> Any:
    return m if c == 1 else sp.MatMul(c, m).doit(deep=False)


def _guard(what: str, *operands: Any) -> ShapeMismatch:
    shapes = " and ".join(f"{_shown(o)} {_shape(o)}" for o in operands if is_matrix(o))
    return ShapeMismatch(f"{what}: the shapes of {shapes} do not fit")


# -- products, sums, elementwise and Kronecker products ------------------------


def matmul(factors: list[Any]) -> Any:
    """The product of scalars and matrices in order; an Unsized factor is sized by a neighbour."""
    mats = [f for f in factors if not is_scalar(f)]
    coeff = sp.Mul(*(f for f in factors if is_scalar(f)))
    if not mats:
        return coeff
    if len(mats) == 1 and isinstance(mats[0], Unsized):
        return mats[0].scaled(coeff)
    unsized = [m for m in mats if isinstance(m, Unsized)]
    if len(unsized) == 1 and all(is_1x1(m) for m in mats if m is not unsized[0]):
        # λ I, (aᵀx) I with λ and aᵀx 1 x 1: scalars times I, which the sum sizes (the
        # 1 x 1 neighbour made it I₁ = 1, and the formula ill-formed)
        scalars = sp.Mul(*(AsScalar(m) for m in mats if m is not unsized[0]))
        return unsized[0].scaled(coeff * scalars)
    mats = _size_from_neighbours(mats)
    flags = _as_scalars(mats)
    scalars = [AsScalar(m) if flag else None for m, flag in zip(mats, flags, strict=True)]
    coeff *= sp.Mul(*(s for s in scalars if s is not None))
    mats = [m for m, s in zip(mats, scalars, strict=True) if s is None]
    for a, b in itertools.pairwise(mats):
        if _differ(a.cols, b.rows):
            raise undefined_product(a, b)
        refused = unfit_in_product(a, b)  # I_m of an m x n W: SymPy's product drops it
        if refused is not None:
            raise refused
    # doit(deep=False): flatten and collect, but leave the factors alone (a deep doit
    # would fuse tanh(sigma(x)) into one entrywise function).  Not where sizes differ
    # symbolically (left to derive and verify to name): it drops an I_m of the wrong
    # size, and x^T I_m x of an n-vector became x^T x.
    unfit = next(((a, b) for a, b in itertools.pairwise(mats) if _symbolic(a.cols - b.rows)), None)
    if unfit is not None and coeff == 0:  # 0 W y: the zero would hide the product's sizes
        raise undefined_product(*unfit)
    try:
        if len(mats) == 1:
            product = mats[0]
        else:
            product = sp.MatMul(*mats) if unfit is not None else sp.MatMul(*mats).doit(deep=False)
    except ShapeError as exc:
        raise _guard("a matrix product", *mats) from exc
    return _scale(coeff, product)


def _size_from_neighbours(mats: list[Any]) -> list[Any]:
    mats = list(mats)
    changed = True
    while changed:
        changed = False
        for i, m in enumerate(mats):
            if not isinstance(m, Unsized):
                continue
            # a 1 x 1 neighbour is a scalar factor (λ I x): it does not size I
            left = mats[i - 1] if i > 0 and _sizes(mats[i - 1]) else None
            right = mats[i + 1] if i + 1 < len(mats) and _sizes(mats[i + 1]) else None
            sized = m.sized(rows=left.cols) if left is not None else None
            if sized is None and right is not None:
                sized = m.sized(cols=right.rows)
            if sized is not None:
                mats[i], changed = sized, True
    for m in mats:
        if isinstance(m, Unsized):
            raise m.unknown("in this product")
    return mats


def _sizes(m: Any) -> bool:
    return is_matrix(m) and not is_1x1(m)


def _as_scalars(mats: list[Any]) -> list[bool]:
    """Which factors are 1 x 1 matrices read as scalars: each run of 1 x 1 factors
    next to a factor without a matching 1 (in B₁₁ w A_{p1} both B₁₁ and w; in
    A_{p1} w B_{1m} neither, a product of matrices as it stands)."""
    flags = [False] * len(mats)
    i = 0
    while i < len(mats):
        if not is_1x1(mats[i]):
            i += 1
            continue
        end = i
        while end < len(mats) and is_1x1(mats[end]):
            end += 1
        left = i > 0 and not _one(mats[i - 1].cols)
        right = end < len(mats) and not _one(mats[end].rows)
        if left or right:
            flags[i:end] = [True] * (end - i)
        i = end
    return flags


def negate(x: Any) -> Any:
    if isinstance(x, Unsized):
        return x.scaled(-1)
    return _scale(sp.S.NegativeOne, x) if is_matrix(x) else -x


def add(terms: list[Any]) -> Any:
    """A sum; constants with matrices are constant·ones, 1 x 1 matrices with scalars scalars."""
    mats = [t for t in terms if is_matrix(t)]
    unsized = [t for t in terms if isinstance(t, Unsized)]
    scalars = [t for t in terms if is_scalar(t)]
    if not mats:
        ones = all(u.kind == "ones" for u in unsized)
        symbolic = any(not s.is_number for s in scalars)
        if unsized and not symbolic and _same_ones(unsized):  # 𝟏 + 𝟏, 𝟏 - 2: unsized
            return replace(unsized[0], coeff=sp.Add(*scalars, *(u.coeff for u in unsized)))
        if unsized and not (ones and symbolic):
            raise unsized[0].unknown("in this sum")
        # 𝟏 with scalars such as tanh(aᵀx) only, as tex() prints 1 - tanh(aᵀx)²: 1 x 1
        return sp.Add(*scalars, *(u.coeff for u in unsized))
    # the first term that is no sized constant gives the shape (𝟎_{n×m} + W set n x m)
    first = next((m for m in mats if sized_constant(m) is None), mats[0])
    rows, cols = first.shape
    mats += [u.like(rows, cols) for u in unsized]
    if scalars and all(is_1x1(m) for m in mats):
        return sp.Add(*scalars, *(AsScalar(m) for m in mats))
    others = [s for s in scalars if not s.is_number]
    if others:
        raise ShapeMismatch(
            f"the sum adds the scalar {others[0]} to the matrix {first} {_shape(first)}"
        )
    constant = sp.Add(*scalars)
    if constant != 0:
        mats.append(_scale(constant, sp.OneMatrix(rows, cols)))
    for m in mats:
        if _differ(m.rows, rows) or _differ(m.cols, cols):
            raise undefined_sum(first, m)
        refused = unfit_in_sum(first, m)  # a zero of another size was dropped
        if refused is not None:
            raise refused
    # Flattened and sorted as SymPy's MatAdd.doit would, but without collecting terms:
    # that step multiplies with a deep doit, which fuses nested entrywise functions.
    terms = [a for m in mats for a in (m.args if isinstance(m, sp.MatAdd) else (m,))]
    terms = [t for t in terms if not isinstance(t, sp.ZeroMatrix)] or [sp.ZeroMatrix(rows, cols)]
    return sp.MatAdd(*sorted(terms, key=sp.default_sort_key)) if len(terms) > 1 else terms[0]


def elementwise(op: str, operands: list[Any]) -> Any:
    r"""x₁ ⊗ x₂ ⊗ ... (op "otimes") or x₁ ∘ x₂ ∘ ... (\odot, \circ); scalars just scale."""
    what = "a Kronecker product" if op == "otimes" else "a Hadamard product"
    coeff = sp.Mul(*(x for x in operands if is_scalar(x)))
    mats = [x for x in operands if not is_scalar(x)]
    sized = [x for x in mats if is_matrix(x)]
    if op != "otimes" and not sized and _same_ones(mats):
        scale = coeff * sp.Mul(*(x.coeff for x in mats))
        if not coeff.is_number:  # 𝟏∘sin(aᵀx), as tex() prints a 1 x 1 one: as in sums
            return scale
        return replace(mats[0], coeff=scale)  # 𝟏∘𝟏, still unsized
    for x in mats:
        if isinstance(x, Unsized) and (op == "otimes" or not sized):
            raise x.unknown(f"in {what}")
    if not mats:
        return coeff
    if op == "otimes":  # canonical: scalars pulled out (SymPy's doit crashes on c·A ⊗ B)
        return _scale(coeff, canonical(sp.KroneckerProduct(*_flat(mats, sp.KroneckerProduct))))
    first = next((x for x in sized if sized_constant(x) is None), sized[0])
    mats = [x.like(first.rows, first.cols) if isinstance(x, Unsized) else x for x in mats]
    for x in mats:
        if _differ(x.rows, first.rows) or _differ(x.cols, first.cols):
            raise undefined_hadamard(first, x)
        refused = unfit_in_hadamard(first, x)
        if refused is not None:
            raise refused
    if len(mats) == 1:
        return _scale(coeff, mats[0])
    try:
        return _scale(coeff, sp.HadamardProduct(*_flat(mats, sp.HadamardProduct)))
    except ShapeError as exc:
        raise _guard(what, *mats) from exc


def _same_ones(xs: list[Any]) -> bool:
    """Unsized ones of one orientation (all columns or all rows), at least one."""
    return bool(xs) and all(
        isinstance(x, Unsized) and x.kind == "ones" and x.row == xs[0].row for x in xs
    )


def reciprocal(x: Any, pos: int) -> Any:
    """The entrywise reciprocal, for a ⊘ b = a ∘ b^{∘-1}."""
    if isinstance(x, Unsized):
        if x.kind == "identity":
            raise LocatedError("entrywise division by I divides by zero", pos)
        return x.scaled(1 / x.coeff**2)
    return sp.HadamardPower(x, -1) if is_matrix(x) else sp.Pow(x, -1)


def _flat(xs: list[Any], kind: Any) -> list[Any]:
    return [a for x in xs for a in (x.args if isinstance(x, kind) else (x,))]


# -- superscripts ---------------------------------------------------------------


_SIMPLE = (
    sp.MatrixSymbol,
    sp.Identity,
    sp.ZeroMatrix,
    sp.OneMatrix,
    sp.Transpose,
    sp.Inverse,
    CommutationMatrix,
    DiagVector,
)


def transpose(x: Any) -> Any:
    """xᵀ; of a product, sum or function it stays Transpose(...), the formula as written."""
    if isinstance(x, Unsized):
        return x.transposed()
    if not is_matrix(x):
        return x
    return x.T if isinstance(x, _SIMPLE) else sp.Transpose(x)


def inverse(x: Any, pos: int) -> Any:
    if isinstance(x, Unsized):
        if x.kind == "identity":
            return x.scaled(1 / x.coeff**2)
        raise LocatedError(r"the vector of ones \mathbf{1} has no inverse", pos)
    if not is_matrix(x):
        return sp.Pow(x, -1)
    require_square(x, lambda: f"{_shown(x)}^{{-1}}")
    return x.I


def require_square(x: Any, what: Callable[[], str]) -> None:
    """A ShapeMismatch naming ``what()`` unless x is square (the message is built only then:
    SymPy's str() of some Kronecker products crashes)."""
    if x.rows != x.cols:
        raise ShapeMismatch(f"{what()} needs a square matrix, and {_shown(x)} is {_shape(x)}")


def power(x: Any, k: Any, pos: int) -> Any:
    """x^k: a scalar power; for a vector entrywise, and for a matrix that is not square
    (no matrix power exists: tanh(X W)^2 of an N x h batch, as papers write h^2 of a
    vector), but for ^{-1}; for a square matrix the matrix power."""
    if isinstance(x, Unsized):
        return x.scaled(x.coeff ** (k - 1))
    if not is_matrix(x):
        return sp.Pow(x, k)
    if is_1x1(x):
        return sp.Pow(AsScalar(x), k)
    if is_vector(x) or (x.rows != x.cols and k > 0):
        return sp.HadamardPower(x, k)
    if k == -1:
        return inverse(x, pos)
    base = _shown(x) if isinstance(x, _SIMPLE) else f"({_shown(x)})"  # (W Wᵀ)^{∘ -1/2}
    if not k.is_integer:
        raise LocatedError(
            f"{base}^{{{k}}} of a matrix is ambiguous: write the entrywise power "
            rf"{base}^{{\circ {k}}}",
            pos,
        )
    require_square(
        x, lambda: rf"{base}^{{{k}}} (for the entrywise power write {base}^{{\circ {k}}})"
    )
    return x if k == 1 else sp.MatPow(x, k)


def hadamard_power(x: Any, k: Any) -> Any:
    """x^{∘k}; of an unsized c I, c^k I for k > 0 (I^{∘0} was read as I: it is the
    matrix of ones, and (2 I)^{∘-1} has infinite entries off the diagonal)."""
    if isinstance(x, Unsized):
        if x.kind == "identity" and not (k.is_number and k > 0):
            raise LocatedError(
                f"I^{{\\circ {k}}} of an identity is not an identity (0^{{{k}}} off its "
                r"diagonal): write \mathbf{1}_{n \times n} for a matrix of ones, or a "
                "positive power",
                x.pos,
            )
        return x.scaled(x.coeff ** (k - 1))
    return sp.HadamardPower(x, k) if is_matrix(x) else sp.Pow(x, k)
