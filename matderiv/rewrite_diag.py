"""Rewrite rules for diag, the diagonal, traces and constant 1 x 1 matrices (the
rule table is ``rewrites.py``; each rule's identity is its docstring's first line,
why it terminates the second)."""

from __future__ import annotations

from typing import Any

import sympy as sp

from .canon import hadamard, matadd, matmul, same, scaled_operands, sort_key, transpose
from .nodes import AsScalar, Diagonal, DiagVector, Vec
from .shapes import dims_equal, shape_of, shapes_equal


def _is_one(d: Any) -> bool:
    return dims_equal(d, 1)


def trace_of_identity(expr: Any) -> Any:
    """tr(I_n) → n,  tr(c I_n) → c n
    terminates: removes a trace."""
    if not isinstance(expr, sp.Trace):
        return None
    arg = expr.arg
    if isinstance(arg, sp.Identity):
        return sp.sympify(arg.rows)
    if isinstance(arg, sp.MatMul):
        coeff, mats = arg.as_coeff_matrices()
        if len(mats) == 1 and isinstance(mats[0], sp.Identity):
            return coeff * mats[0].rows
    return None


def trace_of_scalar(expr: Any) -> Any:
    """tr(a) → a  (a 1 x 1 matrix: its trace is its one entry)
    terminates: removes a trace."""
    if isinstance(expr, sp.Trace) and shapes_equal(shape_of(expr.arg), (1, 1)):
        return AsScalar(expr.arg)
    return None


def trace_of_scaled(expr: Any) -> Any:
    """tr(s M) → s tr(M)  (s a scalar: det(X), -1, 2)
    terminates: the scalar leaves the trace, and no rule puts it back."""
    if not isinstance(expr, sp.Trace) or not isinstance(expr.arg, sp.MatMul):
        return None
    coeff, mats = expr.arg.as_coeff_matrices()
    if coeff == 1 or not mats:
        return None
    return coeff * sp.Trace(matmul(*mats))


def trace_of_outer(expr: Any) -> Any:
    """tr(P x yᵀ Q) → yᵀ Q P x  (x yᵀ an outer product in the trace: the product
    turned cyclically into a 1 x 1 one, a quadratic form)
    terminates: removes a trace."""
    if not isinstance(expr, sp.Trace) or not isinstance(expr.arg, sp.MatMul):
        return None
    coeff, mats = expr.arg.as_coeff_matrices()
    for k in range(len(mats) - 1):
        if _is_one(shape_of(mats[k])[1]) and _is_one(shape_of(mats[k + 1])[0]):
            return coeff * AsScalar(matmul(*mats[k + 1 :], *mats[: k + 1]))
    return None


def trace_of_transpose(expr: Any) -> Any:
    """tr(Mᵀ) → tr(M),  tr(Bᵀ Aᵀ) → tr(A B)  (the product transposed when that has fewer
    transposed factors; an inverse or a sum when it has fewer ᵀ inside, tr((s I - Aᵀ)⁻¹)),
    tr(P Pᵀ) → tr(Pᵀ P)  (the transposed factor first; of two sums, the one first in
    sort_key order)
    terminates: removes transposes, or puts the factors in the one preferred order,
    where the rule no longer applies."""
    if not isinstance(expr, sp.Trace):
        return None
    arg = expr.arg
    if isinstance(arg, sp.Transpose):
        return sp.Trace(arg.arg)
    if isinstance(arg, (sp.Inverse, sp.MatAdd)):  # tr((s I - Aᵀ)⁻¹) → tr((s I - A)⁻¹)
        flipped = transpose(arg)
        if _deep_transposes(flipped) < _deep_transposes(arg):
            return sp.Trace(flipped)
    if isinstance(arg, sp.MatMul):
        coeff, mats = arg.as_coeff_matrices()
        tops = _transposes(mats)
        if tops:  # tr(Bᵀ (s Bᵀ + Aᵀ)⁻¹) → tr((s B + A)⁻¹ B): fewer transposed factors
            flipped_all = [transpose(m) for m in reversed(mats)]
            if _transposes(flipped_all) < tops:
                return coeff * sp.Trace(matmul(*flipped_all))
        if len(mats) == 2 and not _preferred(*mats):
            first, second = mats
            if same(second, transpose(first)):
                return coeff * sp.Trace(matmul(second, first))
    return None


def _transposes(factors: list[Any]) -> int:
    return sum(isinstance(f, sp.Transpose) for f in factors)


def _deep_transposes(expr: Any) -> int:
    return sum(isinstance(node, sp.Transpose) for node in sp.preorder_traversal(expr))


def _preferred(first: Any, second: Any) -> bool:
    """Whether tr(first second), second = firstᵀ, is in the preferred order."""
    if isinstance(first, sp.Transpose) != isinstance(second, sp.Transpose):
        return isinstance(first, sp.Transpose)
    return sort_key(first) <= sort_key(second)


def scalar_of_constant(expr: Any) -> Any:
    """𝟎₁ₓ₁ → 0,  𝟏₁ₓ₁ → 1,  I₁ → 1  (a constant 1 x 1 matrix used as a scalar)
    terminates: removes a matrix."""
    if isinstance(expr, AsScalar) and shapes_equal(shape_of(expr.arg), (1, 1)):
        if isinstance(expr.arg, sp.ZeroMatrix):
            return sp.S.Zero
        if isinstance(expr.arg, (sp.OneMatrix, sp.Identity)):
            return sp.S.One
    return None


def diag_sum(expr: Any) -> Any:
    """c₁ diag(a) + c₂ diag(b) → diag(c₁ a + c₂ b)
    terminates: a sum of k diag terms becomes one diag."""
    vectors = scaled_operands(expr, DiagVector)
    return None if vectors is None else DiagVector(matadd(*vectors))


def diag_scalar(expr: Any) -> Any:
    """diag(c v) → c diag(v) for a number c
    terminates: the number leaves the diag; diag_sum takes it back only into a sum."""
    if not isinstance(expr, DiagVector) or not isinstance(expr.arg, sp.MatMul):
        return None
    coeff, mats = expr.arg.as_coeff_matrices()
    if coeff == 1 or not coeff.is_Number:
        return None
    return matmul(coeff, DiagVector(matmul(*mats)))


def diag_of_ones(expr: Any) -> Any:
    """diag(𝟏_n) → I_n,  diag(𝟎_n) → 𝟎_{n×n} (relu″ = step′ = 0)
    terminates: removes a diag."""
    if isinstance(expr, DiagVector) and isinstance(expr.arg, sp.OneMatrix):
        return sp.Identity(expr.arg.shape[0])
    if isinstance(expr, DiagVector) and isinstance(expr.arg, sp.ZeroMatrix):
        return sp.ZeroMatrix(expr.arg.shape[0], expr.arg.shape[0])
    return None


def diagonal_of_diag(expr: Any) -> Any:
    """diag(diag(v)) → v (the diagonal of a diagonal matrix),  diag(I_n) → 𝟏_n
    terminates: removes a diag."""
    if not isinstance(expr, Diagonal):
        return None
    if isinstance(expr.arg, DiagVector):
        return expr.arg.arg
    if isinstance(expr.arg, sp.Identity):
        return sp.OneMatrix(expr.arg.shape[0], 1)
    return None


def _untransposed(factors: tuple[Any, ...]) -> list[Any]:
    return [f.arg if isinstance(f, sp.Transpose) else f for f in factors]


def diagonal_of_transpose(expr: Any) -> Any:
    """diag(Mᵀ) → diag(M),  I∘Mᵀ → I∘M,  (I∘M)ᵀ → I∘M  (only the diagonal counts:
    tr(Y∘Yᵀ)'s gradient I∘Yᵀ + (I∘Y)ᵀ is 2 I∘Y)
    terminates: removes a transpose."""
    if isinstance(expr, Diagonal) and isinstance(expr.arg, sp.Transpose):
        return Diagonal(expr.arg.arg)
    outer = isinstance(expr, sp.Transpose)
    product = expr.arg if outer else expr
    if not isinstance(product, sp.HadamardProduct):
        return None
    if not any(isinstance(f, sp.Identity) for f in product.args):
        return None
    if not outer and not any(isinstance(f, sp.Transpose) for f in product.args):
        return None
    return sp.HadamardProduct(*_untransposed(product.args))


def diagonal_of_outer(expr: Any) -> Any:
    """diag(c u vᵀ) → c (u ∘ v)  (u, v columns: the diagonal of an outer product)
    terminates: removes a diag."""
    if not isinstance(expr, Diagonal) or not isinstance(expr.arg, sp.MatMul):
        return None
    coeff, mats = expr.arg.as_coeff_matrices()
    for k in range(1, len(mats)):
        if _is_one(shape_of(mats[k - 1])[1]):
            u, v = matmul(*mats[:k]), transpose(matmul(*mats[k:]))
            return matmul(coeff, sp.HadamardProduct(u, v))
    return None


def diagonal_of_product(expr: Any) -> Any:
    """diag(c diag(u) M diag(v)) → c (u ∘ diag(M) ∘ v)  (a scalar, and diagonal
    matrices at either end, leave the diagonal)
    terminates: the diag's product loses a factor or its coefficient."""
    if not isinstance(expr, Diagonal) or not isinstance(expr.arg, sp.MatMul):
        return None
    coeff, mats = expr.arg.as_coeff_matrices()
    mats = list(mats)
    outer = []
    if len(mats) > 1 and isinstance(mats[0], DiagVector):
        outer.append(mats.pop(0).arg)
    if len(mats) > 1 and isinstance(mats[-1], DiagVector):
        outer.append(mats.pop().arg)
    if coeff == 1 and not outer:
        return None
    inner = Diagonal(matmul(*mats))
    return matmul(coeff, sp.HadamardProduct(inner, *outer) if outer else inner)


def diag_product(left: Any, right: Any) -> Any:
    """diag(v) diag(w) → diag(v ∘ w)
    terminates: one diag fewer."""
    if isinstance(left, DiagVector) and isinstance(right, DiagVector):
        return (DiagVector(sp.HadamardProduct(left.arg, right.arg)),)
    return None


def diag_power(expr: Any) -> Any:
    """diag(v)ᵏ → diag(v^∘k)  (k an integer: a diagonal matrix's power is entrywise)
    terminates: removes a matrix power."""
    if isinstance(expr, sp.MatPow) and isinstance(expr.base, DiagVector) and expr.exp.is_Integer:
        k = expr.exp
        entries = expr.base.arg
        return DiagVector(
            sp.HadamardProduct(entries, entries) if k == 2 else sp.HadamardPower(entries, k)
        )
    return None


def diag_times_vector(left: Any, right: Any) -> Any:
    """diag(v) w → v ∘ w  (w a column vector),  𝟏ᵀ diag(v) → vᵀ
    terminates: removes a diag."""
    if isinstance(left, DiagVector) and _is_one(shape_of(right)[1]):
        return (sp.HadamardProduct(left.arg, right),)
    if isinstance(right, DiagVector) and isinstance(left, sp.OneMatrix) and _is_one(left.rows):
        return (transpose(right.arg),)
    return None


def _selection(a: Any, b: Any) -> Any:
    """n when a b is E = diag(vec(I_n)) (𝟏_n ⊗ I_n), the n² x n matrix with
    E w = vec(diag(w)) (the Jacobian of diag(w)); else None."""
    if not (isinstance(a, DiagVector) and _is_vec_identity(a.arg)):
        return None
    n = a.arg.arg.rows
    ones = sp.OneMatrix(n, 1)
    return n if b == sp.KroneckerProduct(ones, sp.Identity(n)) else None


def _selection_t(a: Any, b: Any) -> Any:
    """n when a b is Eᵀ = (𝟏_nᵀ ⊗ I_n) diag(vec(I_n)); else None."""
    if not (isinstance(b, DiagVector) and _is_vec_identity(b.arg)):
        return None
    n = b.arg.arg.rows
    ones = sp.OneMatrix(1, n)
    return n if a == sp.KroneckerProduct(ones, sp.Identity(n)) else None


def _is_vec_identity(v: Any) -> bool:
    return isinstance(v, Vec) and isinstance(v.arg, sp.Identity)


def _kron2(node: Any) -> tuple[Any, Any] | None:
    if isinstance(node, sp.KroneckerProduct) and len(node.args) == 2:
        return node.args[0], node.args[1]
    return None


def _is_row(a: Any, n: Any) -> bool:
    return shapes_equal(shape_of(a), (1, n))


def _is_column(a: Any, n: Any) -> bool:
    return shapes_equal(shape_of(a), (n, 1))


def diag_selection(expr: Any) -> Any:
    """Eᵀ (A ⊗ B) E → A∘B;  (r ⊗ S) E → S diag(rᵀ), (S ⊗ r) E → S diag(rᵀ) for a row r;
    Eᵀ (c ⊗ T) → diag(c) T, Eᵀ (T ⊗ c) → diag(c) T for a column c; where
    E = diag(vec(I_n)) (𝟏_n ⊗ I_n), the Jacobian of diag(w): (e_k ⊗ e_k)ᵀ(A ⊗ B)(e_l ⊗ e_l)
    = A_kl B_kl; Eᵀ (P + Q) → Eᵀ P + Eᵀ Q when each term then goes.
    terminates: removes E's two factors and a Kronecker product (from each term)."""
    if not isinstance(expr, sp.MatMul):
        return None
    coeff, mats = expr.as_coeff_matrices()
    for i in range(len(mats) - 1):
        n = _selection(mats[i], mats[i + 1])
        pair = _kron2(mats[i - 1]) if n is not None and i >= 1 else None
        if pair is not None:
            a, b = pair
            square = all(shapes_equal(shape_of(x), (n, n)) for x in pair)
            if square and i >= 3 and _selection_t(mats[i - 3], mats[i - 2]) == n:
                both = hadamard(sp.HadamardProduct(a, b))
                return matmul(coeff, *mats[: i - 3], both, *mats[i + 2 :])
            row, other = (a, b) if _is_row(a, n) else (b, a) if _is_row(b, n) else (None, None)
            if row is not None and dims_equal(shape_of(other)[1], n):
                scaled = [other, DiagVector(transpose(row))]
                return matmul(coeff, *mats[: i - 1], *scaled, *mats[i + 2 :])
        n = _selection_t(mats[i], mats[i + 1])
        total = mats[i + 2] if n is not None and i + 2 < len(mats) else None
        if isinstance(total, sp.MatAdd):  # Eᵀ (P + Q): each term on its own, if each goes
            rest = mats[i + 3 :]
            terms = [diag_selection(matmul(*mats[i : i + 2], t, *rest)) for t in total.args]
            if all(t is not None for t in terms):
                return matmul(coeff, *mats[:i], matadd(*terms))
        pair = _kron2(total) if total is not None else None
        if pair is not None:
            a, b = pair
            col, other = (
                (a, b) if _is_column(a, n) else (b, a) if _is_column(b, n) else (None, None)
            )
            if col is not None and dims_equal(shape_of(other)[0], n):
                scaled = [DiagVector(col), other]
                return matmul(coeff, *mats[:i], *scaled, *mats[i + 3 :])
    return None
