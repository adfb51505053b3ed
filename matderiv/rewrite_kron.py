"""Rewrite rules for Kronecker products, commutation matrices and vec (the rule
table is ``rewrites.py``; each rule's identity is its docstring's first line, why it
terminates the second)."""

from __future__ import annotations

from typing import Any

import sympy as sp

from .canon import matadd, matmul, scalar_and_matrices, scaled_operands, transpose
from .nodes import CommutationMatrix, Reshape, Vec
from .rewrite_inverse import inverse_of
from .shapes import dims_equal, shape_of, shapes_equal


def _is_one(d: Any) -> bool:
    return dims_equal(d, 1)


def _kron_pair(expr: Any) -> tuple[Any, Any] | None:
    """(A, B) for a two-factor Kronecker product A ⊗ B, else None."""
    if isinstance(expr, sp.KroneckerProduct) and len(expr.args) == 2:
        return expr.args[0], expr.args[1]
    return None


def kron_unit_factor(expr: Any) -> Any:
    """I_1 ⊗ A → A,  A ⊗ I_1 → A
    terminates: one factor fewer."""
    if not isinstance(expr, sp.KroneckerProduct):
        return None
    kept = [f for f in expr.args if not (isinstance(f, sp.Identity) and _is_one(f.rows))]
    if len(kept) == len(expr.args):
        return None
    if not kept:
        return sp.Identity(1)
    return kept[0] if len(kept) == 1 else sp.KroneckerProduct(*kept)


def kron_outer_product(expr: Any) -> Any:
    """a ⊗ bᵀ → a bᵀ,  bᵀ ⊗ a → a bᵀ  (column vectors a, b)
    terminates: removes a Kronecker product."""
    pair = _kron_pair(expr)
    if pair is None:
        return None
    first, second = pair
    (r1, c1), (r2, c2) = shape_of(first), shape_of(second)
    if _is_one(c1) and _is_one(r2):
        return matmul(first, second)
    if _is_one(r1) and _is_one(c2):
        return matmul(second, first)
    return None


def kron_vector_sandwich(expr: Any) -> Any:
    """(a ⊗ I) M (bᵀ ⊗ I) → (a bᵀ) ⊗ M,  (I ⊗ a) M (I ⊗ bᵀ) → M ⊗ (a bᵀ)  (a, b columns:
    a ⊗ I = (a ⊗ I)(1 ⊗ M)... by the mixed product; a multinomial logit's Hessian)
    terminates: two Kronecker products become one."""
    if not isinstance(expr, sp.MatMul):
        return None
    coeff, mats = expr.as_coeff_matrices()
    for i in range(len(mats) - 2):
        left, middle, right = _kron_pair(mats[i]), mats[i + 1], _kron_pair(mats[i + 2])
        if left is None or right is None or isinstance(middle, sp.KroneckerProduct):
            continue
        for k in (0, 1):  # the vectors first (a ⊗ I) or second (I ⊗ a)
            a, b = left[k], right[k]
            eye_left, eye_right = left[1 - k], right[1 - k]
            if not (isinstance(eye_left, sp.Identity) and isinstance(eye_right, sp.Identity)):
                continue
            if not (_is_one(shape_of(a)[1]) and _is_one(shape_of(b)[0])):
                continue
            outer = matmul(a, b)
            kron = (
                sp.KroneckerProduct(outer, middle)
                if k == 0
                else sp.KroneckerProduct(middle, outer)
            )
            return matmul(coeff, *mats[:i], kron, *mats[i + 3 :])
    return None


def inverse_of_kron(expr: Any) -> Any:
    """(A ⊗ B)⁻¹ → A⁻¹ ⊗ B⁻¹  (A, B square; so log det(X ⊗ B) has the gradient p X⁻ᵀ)
    terminates: the inverse moves to smaller operands."""
    if not isinstance(expr, sp.Inverse) or not isinstance(expr.arg, sp.KroneckerProduct):
        return None
    factors = expr.arg.args
    if not all(dims_equal(*shape_of(f)) for f in factors):
        return None
    return sp.KroneckerProduct(*(inverse_of(f) for f in factors))


def commutation_trivial(expr: Any) -> Any:
    """K_{1,n} → I_n,  K_{n,1} → I_n
    terminates: removes a commutation matrix."""
    if isinstance(expr, CommutationMatrix) and (_is_one(expr.m) or _is_one(expr.n)):
        return sp.Identity(expr.m * expr.n)
    return None


def vec_of_vector(expr: Any) -> Any:
    """vec(v) → v,  vec(vᵀ) → v  (v a column vector),  vec(𝟎_{m×n}) → 𝟎_{mn}
    terminates: removes a vec."""
    if not isinstance(expr, Vec):
        return None
    if isinstance(expr.arg, sp.ZeroMatrix):
        return sp.ZeroMatrix(*shape_of(expr))
    rows, cols = shape_of(expr.arg)
    if _is_one(cols):
        return expr.arg
    if _is_one(rows):
        return transpose(expr.arg)
    return None


def vec_scalar(expr: Any) -> Any:
    """vec(c A) → c vec(A)  (c a scalar)
    terminates: a scalar leaves a vec, and no rule puts it back."""
    if not isinstance(expr, Vec) or not isinstance(expr.arg, sp.MatMul):
        return None
    coeff, mats = scalar_and_matrices(expr.arg)
    if coeff == 1 or not mats:
        return None
    return matmul(coeff, Vec(matmul(*mats)))


def vec_hadamard(expr: Any) -> Any:
    """vec(A) ∘ vec(B) → vec(A ∘ B)  (A, B of one shape: vec is entrywise),  vec(A)^∘k →
    vec(A^∘k)
    terminates: one vec fewer."""
    if isinstance(expr, sp.HadamardPower) and isinstance(expr.base, Vec):
        return Vec(sp.HadamardPower(expr.base.arg, expr.exp))
    if not isinstance(expr, sp.HadamardProduct):
        return None
    vecs = [a for a in expr.args if isinstance(a, Vec)]
    if len(vecs) < 2:
        return None
    shape = shape_of(vecs[0].arg)
    alike = [v for v in vecs if shapes_equal(shape_of(v.arg), shape)]
    if len(alike) < 2:
        return None
    merged = Vec(sp.HadamardProduct(*(v.arg for v in alike)))
    rest = list(expr.args)
    for v in alike:
        rest.remove(v)
    return sp.HadamardProduct(merged, *rest) if rest else merged


def vec_sum(expr: Any) -> Any:
    """c₁ vec(A) + c₂ vec(B) → vec(c₁ A + c₂ B)  (A, B of one shape: vec is linear)
    terminates: a sum of k vec terms becomes one vec."""
    inner = scaled_operands(expr, Vec)
    if inner is None:
        return None
    shape = shape_of(inner[0])
    if not all(shapes_equal(shape_of(a), shape) for a in inner):
        return None
    return Vec(matadd(*inner))


def vec_of_reshape(expr: Any) -> Any:
    """vec(vec⁻¹(v)) → v
    terminates: removes two nodes."""
    if isinstance(expr, Vec) and isinstance(expr.arg, Reshape):
        return expr.arg.arg
    return None


def reshape_of_vec(expr: Any) -> Any:
    """vec⁻¹_{m×n}(vec A) → A  (A of shape m x n), vec⁻¹_{m×n}(c vec A) → c A for a
    scalar c (the gradient of vec(X)ᵀvec(X)), and term by term in a sum:
    vec⁻¹(vec(A Z Bᵀ) + vec(Aᵀ Z B)) → A Z Bᵀ + Aᵀ Z B;  vec⁻¹_{n×1}(v) → v
    terminates: removes nodes."""
    if not isinstance(expr, Reshape):
        return None
    terms = expr.arg.args if isinstance(expr.arg, sp.MatAdd) else (expr.arg,)
    unvec = [_unvec(term, expr.shape) for term in terms]
    if all(u is not None for u in unvec):
        return unvec[0] if len(unvec) == 1 else sp.MatAdd(*unvec)
    if _is_one(expr.shape[1]):
        return expr.arg
    return None


def _unvec(term: Any, shape: Any) -> Any:
    """c A for a term c vec(A) with A shaped ``shape``, else None."""
    coeff, factors = scalar_and_matrices(term)
    if len(factors) == 1 and isinstance(factors[0], Vec):
        inner = factors[0].arg
        if shapes_equal(shape_of(inner), shape):
            return inner if coeff == 1 else matmul(coeff, inner)
    return None


def mixed_product(left: Any, right: Any) -> Any:
    """(A ⊗ B)(C ⊗ D) → (AC) ⊗ (BD)  when AC and BD are defined  (Cookbook 520)
    terminates: one Kronecker product fewer."""
    if not (isinstance(left, sp.KroneckerProduct) and isinstance(right, sp.KroneckerProduct)):
        return None
    if len(left.args) != len(right.args):
        return None
    pairs = list(zip(left.args, right.args, strict=False))
    if not all(dims_equal(shape_of(a)[1], shape_of(c)[0]) for a, c in pairs):
        return None
    return (sp.KroneckerProduct(*(matmul(a, c) for a, c in pairs)),)


def kron_through_sum(left: Any, right: Any) -> Any:
    """(A ⊗ B)(Σ cᵢ (Cᵢ ⊗ Dᵢ) Rᵢ) → Σ cᵢ (A Cᵢ ⊗ B Dᵢ) Rᵢ, and (Σ cᵢ Lᵢ (Cᵢ ⊗ Dᵢ))(A ⊗ B)
    likewise, when every term's Kronecker factor meets A ⊗ B by the mixed product
    terminates: one Kronecker product fewer (the n + 1 of the product become n)."""
    if isinstance(left, sp.KroneckerProduct) and isinstance(right, sp.MatAdd):
        kron, terms, first = left, right.args, True
    elif isinstance(right, sp.KroneckerProduct) and isinstance(left, sp.MatAdd):
        kron, terms, first = right, left.args, False
    else:
        return None
    pieces = []
    for term in terms:
        coeff, factors = scalar_and_matrices(term)
        inner = factors[0] if first else factors[-1]
        joined = mixed_product(kron, inner) if first else mixed_product(inner, kron)
        if joined is None:
            return None
        rest = factors[1:] if first else factors[:-1]
        pieces.append(matmul(coeff, *joined, *rest) if first else matmul(coeff, *rest, *joined))
    return (matadd(*pieces),)


def kron_factor_sum(expr: Any) -> Any:
    """A ⊗ B + A ⊗ C → A ⊗ (B + C),  B ⊗ A + C ⊗ A → (B + C) ⊗ A  (terms c·(A ⊗ B) of
    a sum that share a factor on one side; the others stay)
    terminates: the shared factor appears once instead of in each of those terms."""
    if not isinstance(expr, sp.MatAdd):
        return None
    pairs: dict[int, tuple[Any, tuple[Any, Any]]] = {}  # term -> (c, (A, B)) of c·(A ⊗ B)
    for i, term in enumerate(expr.args):
        coeff, mats = scalar_and_matrices(term)
        pair = _kron_pair(mats[0]) if len(mats) == 1 else None
        if pair is not None:
            pairs[i] = (coeff, pair)
    for side in (0, 1):
        groups: dict[Any, list[int]] = {}
        for i, (_, pair) in pairs.items():
            groups.setdefault(pair[side], []).append(i)
        for shared, members in groups.items():
            if len(members) < 2:
                continue
            other = matadd(*(matmul(pairs[i][0], pairs[i][1][1 - side]) for i in members))
            merged = (
                sp.KroneckerProduct(shared, other)
                if side == 0
                else sp.KroneckerProduct(other, shared)
            )
            rest = [t for i, t in enumerate(expr.args) if i not in members]
            return matadd(merged, *rest)
    return None


def commutation_through_kron(left: Any, right: Any) -> Any:
    """K_{p,m}(A ⊗ B) → (B ⊗ A) K_{q,n}  (A: m x n, B: p x q; Magnus & Neudecker 3.9)
    terminates: the commutation matrix moves right."""
    pair = _kron_pair(right)
    if not isinstance(left, CommutationMatrix) or pair is None:
        return None
    (m, n), (p, q) = shape_of(pair[0]), shape_of(pair[1])
    if not (dims_equal(left.m, p) and dims_equal(left.n, m)):
        return None
    return (sp.KroneckerProduct(pair[1], pair[0]), CommutationMatrix(q, n))


def kron_commutation_swap(left: Any, right: Any) -> Any:
    """(A ⊗ B) K_{n,q} → B ⊗ A  when A or B is a row (A: m x n, B: p x q, m = 1 or p = 1)
    terminates: removes a commutation matrix."""
    pair = _kron_pair(left)
    if pair is None or not isinstance(right, CommutationMatrix):
        return None
    (m, n), (p, q) = shape_of(pair[0]), shape_of(pair[1])
    trivial = _is_one(m) or _is_one(p)
    if trivial and dims_equal(right.m, n) and dims_equal(right.n, q):
        return (sp.KroneckerProduct(pair[1], pair[0]),)
    return None


def commutation_inverse(left: Any, right: Any) -> Any:
    """K_{m,n} K_{n,m} → I
    terminates: removes two factors."""
    both = isinstance(left, CommutationMatrix) and isinstance(right, CommutationMatrix)
    if both and dims_equal(left.m, right.n) and dims_equal(left.n, right.m):
        return (sp.Identity(left.m * left.n),)
    return None


def commutation_vec(left: Any, right: Any) -> Any:
    """K_{m,n} vec(A) → vec(Aᵀ)  (A: m x n)
    terminates: removes a commutation matrix."""
    applies = isinstance(left, CommutationMatrix) and isinstance(right, Vec)
    if applies and shapes_equal(shape_of(right.arg), (left.m, left.n)):
        return (Vec(transpose(right.arg)),)
    return None


def kron_vec(left: Any, right: Any) -> Any:
    """(A ⊗ B) vec(X) → vec(B X Aᵀ)  (the vec trick; Cookbook 520)
    terminates: removes a Kronecker product."""
    pair = _kron_pair(left)
    if pair is None or not isinstance(right, Vec):
        return None
    a, b = pair
    x = right.arg
    if dims_equal(shape_of(b)[1], shape_of(x)[0]) and dims_equal(shape_of(x)[1], shape_of(a)[1]):
        return (Vec(matmul(b, x, transpose(a))),)
    return None


def _row_times(row: Any, factor: Any) -> Any:
    """vec(X)ᵀ factor for a Kronecker product or commutation matrix ``factor``, as a
    transposed vec (vec(Bᵀ X A)ᵀ, vec(Xᵀ)ᵀ), else None."""
    x = row.arg.arg
    if isinstance(factor, CommutationMatrix):  # vec(X)ᵀ K_{m,n} = (K_{n,m} vec(X))ᵀ
        if shapes_equal(shape_of(x), (factor.n, factor.m)):
            return sp.Transpose(Vec(transpose(x)))
        return None
    pair = _kron_pair(factor)
    if pair is None:
        return None
    a, b = pair  # vec(X)ᵀ (A ⊗ B) = ((Aᵀ ⊗ Bᵀ) vec(X))ᵀ = vec(Bᵀ X A)ᵀ
    if dims_equal(shape_of(x)[0], shape_of(b)[0]) and dims_equal(shape_of(x)[1], shape_of(a)[0]):
        return sp.Transpose(Vec(matmul(transpose(b), x, a)))
    return None


def vec_row_kron(left: Any, right: Any) -> Any:
    """vec(X)ᵀ (A ⊗ B) → vec(Bᵀ X A)ᵀ,  vec(X)ᵀ K_{m,n} → vec(Xᵀ)ᵀ, and over a sum of
    such products when every term reduces (vec(I)ᵀ (I ⊗ Xᵀ + (Xᵀ ⊗ I) K) = 2 vec(X)ᵀ)
    terminates: removes a Kronecker product or commutation matrix from each term."""
    if not (isinstance(left, sp.Transpose) and isinstance(left.arg, Vec)):
        return None
    if not isinstance(right, sp.MatAdd):
        reduced = _row_times(left, right)
        return None if reduced is None else (reduced,)
    pieces = []
    for term in right.args:
        coeff, mats = scalar_and_matrices(term)
        reduced = _row_times(left, mats[0])
        if reduced is None:
            return None
        rest = list(mats[1:])
        while rest and (further := _row_times(reduced, rest[0])) is not None:
            reduced = further
            rest.pop(0)
        pieces.append(matmul(coeff, reduced, *rest))
    return (matadd(*pieces),)
