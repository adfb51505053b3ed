"""The rewrite rule table for the algebra of ⊗, K_{m,n}, I, diag, vec and transposes.

Each rule is a named function ``expr -> expr | None`` with its identity on
the first docstring line and why it terminates on the second.  Rules on
adjacent factors of a product live in ``PAIR_RULES``; the others in
``NODE_RULES``.  Within a table the rules are tried in order.  ``simplify.py``
applies them to a fixed point.

Every rule makes the expression strictly smaller or moves a commutation
matrix strictly to the right, so the rewriting terminates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .canon import matadd, matmul, scalar_and_matrices, transpose
from .nodes import AsScalar, CommutationMatrix, Diagonal, DiagVector, Reshape, Softmax, Vec
from .shapes import dims_equal, shape_of, shapes_equal

NodeRule = Callable[[Any], Any]
PairRule = Callable[[Any, Any], Any]


def _is_one(d: Any) -> bool:
    return dims_equal(d, 1)


def _kron_pair(expr: Any) -> tuple[Any, Any] | None:
    """(A, B) for a two-factor Kronecker product A ⊗ B, else None."""
    if isinstance(expr, sp.KroneckerProduct) and len(expr.args) == 2:
        return expr.args[0], expr.args[1]
    return None


# -- rules on one node ----------------------------------------------------------


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


def commutation_trivial(expr: Any) -> Any:
    """K_{1,n} → I_n,  K_{n,1} → I_n
    terminates: removes a commutation matrix."""
    if isinstance(expr, CommutationMatrix) and (_is_one(expr.m) or _is_one(expr.n)):
        return sp.Identity(expr.m * expr.n)
    return None


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


def scalar_of_constant(expr: Any) -> Any:
    """𝟎₁ₓ₁ → 0,  𝟏₁ₓ₁ → 1,  I₁ → 1  (a constant 1 x 1 matrix used as a scalar)
    terminates: removes a matrix."""
    if isinstance(expr, AsScalar) and shapes_equal(shape_of(expr.arg), (1, 1)):
        if isinstance(expr.arg, sp.ZeroMatrix):
            return sp.S.Zero
        if isinstance(expr.arg, (sp.OneMatrix, sp.Identity)):
            return sp.S.One
    return None


def _exp_operand(expr: Any) -> Any:
    """z when ``expr`` is exp(z) entrywise, else None."""
    if not isinstance(expr, ElementwiseApplyFunction):
        return None
    fn = expr.function
    if fn == sp.exp:
        return expr.expr
    single = isinstance(fn, sp.Lambda) and len(fn.variables) == 1
    if single and fn.expr == sp.exp(fn.variables[0]):
        return expr.expr
    return None


def softmax_of_exp(expr: Any) -> Any:
    """c/(𝟏ᵀ exp(z)) exp(z) M → c softmax(z) M  (z a column)
    terminates: an exp and a sum become one softmax."""
    if not isinstance(expr, sp.MatMul) or not any(_exp_operand(a) for a in expr.args):
        return None
    coeff, mats = scalar_and_matrices(expr)
    z = _exp_operand(mats[0]) if mats else None
    if z is None or not dims_equal(shape_of(z)[1], 1):
        return None
    for factor in sp.Mul.make_args(coeff):
        base, exponent = factor.as_base_exp()
        if exponent == -1 and _sum_of_exp(base) == z:
            return matmul(coeff * base, Softmax(z), *mats[1:])
    return None


def _sum_of_exp(expr: Any) -> Any:
    """z when ``expr`` is 𝟏ᵀ exp(z) (or that 1 x 1 matrix used as a scalar), else None."""
    if isinstance(expr, AsScalar):
        expr = expr.arg
    if not isinstance(expr, sp.MatMul) or len(expr.args) != 2:
        return None
    ones, summed = expr.args
    if not (isinstance(ones, sp.OneMatrix) and dims_equal(ones.shape[0], 1)):
        return None
    return _exp_operand(summed)


def diag_sum(expr: Any) -> Any:
    """c₁ diag(a) + c₂ diag(b) → diag(c₁ a + c₂ b)
    terminates: a sum of k diag terms becomes one diag."""
    if not isinstance(expr, sp.MatAdd):
        return None
    vectors = []
    for term in expr.args:
        coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (1, [term])
        if len(mats) != 1 or not isinstance(mats[0], DiagVector):
            return None
        vectors.append(mats[0].arg if coeff == 1 else matmul(coeff, mats[0].arg))
    return DiagVector(matadd(*vectors))


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


def vec_of_reshape(expr: Any) -> Any:
    """vec(vec⁻¹(v)) → v
    terminates: removes two nodes."""
    if isinstance(expr, Vec) and isinstance(expr.arg, Reshape):
        return expr.arg.arg
    return None


def reshape_of_vec(expr: Any) -> Any:
    """vec⁻¹_{m×n}(vec A) → A  (A of shape m x n);  vec⁻¹_{n×1}(v) → v
    terminates: removes nodes."""
    if not isinstance(expr, Reshape):
        return None
    if isinstance(expr.arg, Vec) and shapes_equal(shape_of(expr.arg.arg), expr.shape):
        return expr.arg.arg
    if _is_one(expr.shape[1]):
        return expr.arg
    return None


# -- rules on two adjacent factors ---------------------------------------------------


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


def _constant_terms(expr: Any) -> list[tuple[Any, Any]] | None:
    """[(c, M)] for a sum of scalar multiples of identities and ones matrices
    (I - 1/n 𝟏, a centering matrix), else None."""
    if not isinstance(expr, sp.MatAdd):
        return None
    terms = []
    for term in expr.args:
        coeff, mats = scalar_and_matrices(term)
        if len(mats) != 1 or not isinstance(mats[0], (sp.Identity, sp.OneMatrix)):
            return None
        terms.append((coeff, mats[0]))
    return terms


def ones_through_constants(left: Any, right: Any) -> Any:
    """𝟏_{r×n} (Σ cᵢ Mᵢ) → (Σ cᵢ wᵢ) 𝟏,  (Σ cᵢ Mᵢ) 𝟏_{n×k} likewise  (Mᵢ = I: wᵢ = 1;
    Mᵢ = 𝟏: wᵢ = n): 𝟏ᵀ(I - 𝟏𝟏ᵀ/n) = 0, a centering matrix sums to zero
    terminates: removes a sum."""
    if isinstance(left, sp.OneMatrix):
        terms, inner = _constant_terms(right), left.cols
        shape = (left.rows, shape_of(right)[1])
    elif isinstance(right, sp.OneMatrix):
        terms, inner = _constant_terms(left), right.rows
        shape = (shape_of(left)[0], right.cols)
    else:
        return None
    if terms is None:
        return None
    total = sp.Add(*(c * (1 if isinstance(m, sp.Identity) else inner) for c, m in terms))
    if total == 0:
        return (sp.ZeroMatrix(*shape),)
    return (matmul(total, sp.OneMatrix(*shape)),)


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


def diag_product(left: Any, right: Any) -> Any:
    """diag(v) diag(w) → diag(v ∘ w)
    terminates: one diag fewer."""
    if isinstance(left, DiagVector) and isinstance(right, DiagVector):
        return (DiagVector(sp.HadamardProduct(left.arg, right.arg)),)
    return None


def diag_times_vector(left: Any, right: Any) -> Any:
    """diag(v) w → v ∘ w  (w a column vector)
    terminates: removes a diag."""
    if isinstance(left, DiagVector) and _is_one(shape_of(right)[1]):
        return (sp.HadamardProduct(left.arg, right),)
    return None


def _diag_outer_terms(expr: Any) -> list[tuple[Any, list[Any]]] | None:
    """[(c, matrices)] for a sum of scalar multiples of diag(a), I and outer products
    a bᵀ, one diag at least (diag(s) - s sᵀ, the softmax Jacobian), else None."""
    if not isinstance(expr, sp.MatAdd):
        return None
    terms = []
    for term in expr.args:
        coeff, mats = scalar_and_matrices(term)
        diagonal = len(mats) == 1 and isinstance(mats[0], (DiagVector, sp.Identity))
        outer = len(mats) == 2 and _is_one(shape_of(mats[0])[1])
        if not (diagonal or outer):
            return None
        terms.append((coeff, mats))
    # with a diag: its term becomes a ∘ product, so no factor is shared again (factor_sum)
    return terms if any(isinstance(m[0], DiagVector) for _, m in terms) else None


def vector_through_sum(left: Any, right: Any) -> Any:
    """(Σ cᵢ Mᵢ) v → Σ cᵢ Mᵢ v,  uᵀ (Σ cᵢ Mᵢ) likewise, for Mᵢ = diag(a), I or a bᵀ:
    diag(a) v = a∘v and (a bᵀ) v = a (bᵀ v), so (diag(s) - s sᵀ) v = s∘v - s (sᵀ v)
    terminates: a sum of matrices times a vector becomes a sum of vectors."""
    if _is_one(shape_of(right)[1]):
        terms, vector, column = _diag_outer_terms(left), right, True
    elif _is_one(shape_of(left)[0]):
        terms, vector, column = _diag_outer_terms(right), left, False
    else:
        return None
    if terms is None:
        return None
    pieces = []
    for coeff, mats in terms:
        (first, *_) = mats
        if isinstance(first, sp.Identity):
            piece = matmul(coeff, vector)
        elif isinstance(first, DiagVector):
            diagonal = first.arg if column else transpose(first.arg)
            piece = matmul(coeff, sp.HadamardProduct(diagonal, vector))
        else:
            piece = matmul(coeff, *mats, vector) if column else matmul(coeff, vector, *mats)
        pieces.append(piece)
    return (matadd(*pieces),)


def _without_inverse(expr: Any, of: Any) -> Any:
    """p when ``expr`` is p ∘ of^∘-1 (a ∘ product with the entrywise inverse of ``of``),
    else None."""
    if not isinstance(expr, sp.HadamardProduct):
        return None
    factors = list(expr.args)
    inverse = sp.HadamardPower(of, -1)
    if inverse not in factors:
        return None
    factors.remove(inverse)
    return factors[0] if len(factors) == 1 else sp.HadamardProduct(*factors)


def _as_column(row: Any) -> Any:
    """The column c with cᵀ = ``row``, through transposes, ∘ products and ∘ powers
    (SymPy writes (p∘v^∘-1)ᵀ as pᵀ∘(vᵀ)^∘-1), else None."""
    if isinstance(row, sp.Transpose):
        return row.arg
    if isinstance(row, sp.HadamardPower):
        base = _as_column(row.base)
        return None if base is None else sp.HadamardPower(base, row.exp)
    if isinstance(row, sp.HadamardProduct):
        factors = [_as_column(f) for f in row.args]
        return None if None in factors else sp.HadamardProduct(*factors)
    return None


def inner_with_inverse(left: Any, right: Any) -> Any:
    """(p ∘ v^∘-1)ᵀ v → 𝟏ᵀ p,  vᵀ (p ∘ v^∘-1) → 𝟏ᵀ p  (columns p, v)
    terminates: removes an entrywise inverse."""
    if not (_is_one(shape_of(left)[0]) and _is_one(shape_of(right)[1])):
        return None
    column = _as_column(left)
    if column is None:
        return None
    rest = _without_inverse(column, right)
    if rest is None:
        rest = _without_inverse(right, column)
    if rest is None:
        return None
    return (sp.MatMul(sp.OneMatrix(1, shape_of(rest)[0]), rest),)


def _rest(coeff: Any, factors: list[Any], size: Any) -> Any:
    # not SymPy's ``coeff * I`` or MatMul.doit: they run a deep doit (SymPy splits
    # 2·(A + B) with one), which trips over SymPy's own bugs in the operands
    return matmul(coeff, *factors) if factors else matmul(coeff, sp.Identity(size))


def factor_sum(expr: Any) -> Any:
    """A X + B X → (A + B) X,  X A + X B → X (A + B)  (a factor shared by every term)
    terminates: the shared factor is multiplied once instead of in every term."""
    if not isinstance(expr, sp.MatAdd):
        return None
    split = [scalar_and_matrices(t) for t in expr.args]
    if all(len(f) < 2 for _, f in split):
        return None
    last = split[0][1][-1]
    if all(f[-1] == last for _, f in split) and not _splits_scalar(split, -1):
        size = shape_of(last)[0]
        inner = matadd(*(_rest(c, f[:-1], size) for c, f in split))
        return sp.MatMul(inner, last)
    first = split[0][1][0]
    if all(f[0] == first for _, f in split) and not _splits_scalar(split, 0):
        size = shape_of(first)[1]
        inner = matadd(*(_rest(c, f[1:], size) for c, f in split))
        return sp.MatMul(first, inner)
    return None


def _splits_scalar(split: list[tuple[Any, list[Any]]], end: int) -> bool:
    """Whether factoring out the shared factor at ``end`` (-1: the last, 0: the first)
    would split a 1 x 1 product: s 𝟏ᵀy - y is s (𝟏ᵀy) - y, not (s 𝟏ᵀ - I) y, which
    builds a matrix out of vectors."""
    neighbour = -2 if end == -1 else 1
    axis = 0 if end == -1 else 1  # a row before a column, or a column after a row
    return any(
        len(f) > 1
        and _is_one(shape_of(f[neighbour])[axis])
        and _is_one(shape_of(f[end])[1 - axis])
        for _, f in split
    )


def hadamard_ones(expr: Any) -> Any:
    """(c 𝟏) ∘ A → c A  (𝟏 the all-ones matrix of A's shape: the unit of ∘)
    terminates: one factor of the Hadamard product fewer."""
    if not isinstance(expr, sp.HadamardProduct):
        return None
    for k, arg in enumerate(expr.args):
        coeff, factors = scalar_and_matrices(arg)
        if len(factors) == 1 and isinstance(factors[0], sp.OneMatrix):
            rest = expr.args[:k] + expr.args[k + 1 :]
            inner = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
            return inner if coeff == 1 else matmul(coeff, inner)
    return None


def factor_scalar(expr: Any) -> Any:
    """c A ± c B → c (A ± B)  (a number c ≠ 1 in every term, 2 A x - 2 b, or a common
    scalar factor, 1/(xᵀx) A - 2 f/(xᵀx)² I → 1/(xᵀx) (A - 2 f/(xᵀx) I))
    terminates: the factor is multiplied once instead of in every term."""
    if not isinstance(expr, sp.MatAdd):
        return None
    split = [scalar_and_matrices(t) for t in expr.args]
    if all(k.is_Number for k, _ in split):
        c = abs(split[0][0])
        if c in (0, 1) or any(abs(k) != c for k, _ in split):
            return None
    else:
        c = _common_scalar([k for k, _ in split])
        if c is None:
            return None
    return matmul(c, matadd(*(matmul(k / c, *factors) for k, factors in split)))


def _common_scalar(coeffs: list[Any]) -> Any:
    """The common factor of scalar coefficients that are products of powers, from their
    top-level factors only (nothing is expanded: a gcd of polynomials can take minutes
    on a deep coefficient): each base every coefficient has, with the exponent nearest
    zero when all its exponents have one sign.  None when there is none."""
    powers = [_powers(k) for k in coeffs]
    common = sp.S.One
    for base in powers[0]:
        if base.is_Number or not all(base in p for p in powers):
            continue
        exps = [p[base] for p in powers]
        if not all(e.is_Rational for e in exps):
            continue
        if all(e > 0 for e in exps):
            common *= base ** min(exps)
        elif all(e < 0 for e in exps):
            common *= base ** max(exps)
    return None if common == 1 else common


def _powers(k: Any) -> dict[Any, Any]:
    """{base: rational exponent} of the top-level factors of a product (exp(u) is a
    base of its own, not e to the u)."""
    out: dict[Any, Any] = {}
    for f in sp.Mul.make_args(k):
        base, exp = (
            (f.base, f.exp) if isinstance(f, sp.Pow) and f.exp.is_Rational else (f, sp.S.One)
        )
        out[base] = out.get(base, sp.S.Zero) + exp
    return out


NODE_RULES: tuple[NodeRule, ...] = (
    kron_unit_factor,
    kron_outer_product,
    commutation_trivial,
    trace_of_identity,
    trace_of_scalar,
    scalar_of_constant,
    softmax_of_exp,
    diag_sum,
    diag_scalar,
    diag_of_ones,
    diagonal_of_diag,
    diagonal_of_outer,
    diagonal_of_product,
    vec_of_vector,
    vec_of_reshape,
    reshape_of_vec,
    hadamard_ones,
    factor_scalar,
    factor_sum,
)

PAIR_RULES: tuple[PairRule, ...] = (
    commutation_inverse,
    mixed_product,
    kron_commutation_swap,
    commutation_through_kron,
    commutation_vec,
    kron_vec,
    diag_product,
    diag_times_vector,
    ones_through_constants,
    vector_through_sum,
    inner_with_inverse,
)
