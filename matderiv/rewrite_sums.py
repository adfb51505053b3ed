"""Rewrite rules for sums and entrywise forms: common factors, ones, the softmax
Jacobian times a vector (the rule table is ``rewrites.py``; each rule's identity is
its docstring's first line, why it terminates the second)."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .canon import hadamard, larger_than, matadd, matmul, scalar_and_matrices, sort_key, transpose
from .expand import expanded
from .nodes import DiagVector
from .shapes import dims_equal, free_symbols, shape_of


def _is_one(d: Any) -> bool:
    return dims_equal(d, 1)


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


def constant_power(expr: Any) -> Any:
    """(a I + b 𝟏𝟏ᵀ)ᵏ → a' I + b' 𝟏𝟏ᵀ  (𝟏𝟏ᵀ𝟏𝟏ᵀ = n 𝟏𝟏ᵀ): a centering matrix is idempotent,
    (I - 𝟏𝟏ᵀ/n)² = I - 𝟏𝟏ᵀ/n
    terminates: removes a matrix power."""
    if not isinstance(expr, sp.MatPow) or not (expr.exp.is_Integer and expr.exp > 0):
        return None
    terms = _constant_terms(expr.base)
    if terms is None or not dims_equal(*shape_of(expr.base)):
        return None
    size = shape_of(expr.base)[0]
    a = sum((c for c, m in terms if isinstance(m, sp.Identity)), sp.S.Zero)
    b = sum((c for c, m in terms if isinstance(m, sp.OneMatrix)), sp.S.Zero)
    power_a, power_b = sp.S.One, sp.S.Zero
    for _ in range(int(expr.exp)):
        power_a, power_b = power_a * a, sp.expand(power_a * b + power_b * a + power_b * b * size)
    parts = [matmul(power_a, sp.Identity(size))] if power_a != 0 else []
    parts += [matmul(power_b, sp.OneMatrix(size, size))] if power_b != 0 else []
    return matadd(*parts) if parts else sp.ZeroMatrix(size, size)


def _diag_outer_terms(expr: Any) -> list[tuple[Any, list[Any]]] | None:
    """[(c, matrices)] for a sum of scalar multiples of diag(a), I and outer products
    a bᵀ, one diag at least (diag(s) - s sᵀ, the softmax Jacobian), else None."""
    if not isinstance(expr, sp.MatAdd) or not dims_equal(*shape_of(expr)):
        return None
    terms = []
    for term in expr.args:
        coeff, mats = scalar_and_matrices(term)
        diagonal = len(mats) == 1 and isinstance(mats[0], (DiagVector, sp.Identity))
        outer = len(mats) == 2 and _is_one(shape_of(mats[0])[1]) and _is_one(shape_of(mats[1])[0])
        if not (diagonal or outer):
            return None
        terms.append((coeff, mats))
    # with a diag: its term becomes a ∘ product, so no factor is shared again (factor_sum)
    has_diag = any(len(m) == 1 and isinstance(m[0], DiagVector) for _, m in terms)
    return terms if has_diag else None


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
        if len(mats) == 2:  # an outer product a bᵀ
            piece = matmul(coeff, *mats, vector) if column else matmul(coeff, vector, *mats)
        elif isinstance(mats[0], sp.Identity):
            piece = matmul(coeff, vector)
        else:
            diagonal = mats[0].arg if column else transpose(mats[0].arg)
            piece = matmul(coeff, sp.HadamardProduct(diagonal, vector))
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
    """A X + B X → (A + B) X,  X A + X B → X (A + B)  (a factor shared by every term),
    else B x + Bᵀ x + b → (B + Bᵀ) x + b  (shared by two or more terms; the rest kept).
    The last factor is tried before the first, a factor of every term before one of some.
    terminates: the shared factor is multiplied once instead of in each of its terms."""
    if not isinstance(expr, sp.MatAdd):
        return None
    split = [scalar_and_matrices(t) for t in expr.args]
    if all(len(f) < 2 for _, f in split):
        return None
    shared = {end: _shared_factors(split, end) for end in (-1, 0)}
    for whole in (True, False):
        for end in (-1, 0):
            groups = [g for g in shared[end] if (len(g[1]) == len(split)) == whole]
            if groups:
                factor, ks = max(groups, key=lambda item: (len(item[1]), -item[1][0]))
                return _factored(expr.args, split, factor, ks, end)
    return None


#: like_terms compares sums of at most this many terms, each of at most _LIKE_NODES
_LIKE_TERMS, _LIKE_NODES = 6, 60


def like_terms(expr: Any) -> Any:
    """c P + d Q → (c + d) P for a Q that is P written otherwise (equal multiplied
    out): v (I - y yᵀ v) + (I - v y yᵀ) v → 2 v (I - y yᵀ v), which factor_sum leaves
    as two forms of one matrix (∂/∂X of yᵀ K⁻¹ y + log det K, K = X Xᵀ + σ² I).
    terminates: one term fewer."""
    if not isinstance(expr, sp.MatAdd) or len(expr.args) > _LIKE_TERMS:
        return None
    # only small terms with a sum (SymPy adds equal products itself), and of those only
    # terms of the same symbols can be equal: multiplied out (slow) only those
    by_symbols: dict[Any, list[int]] = {}
    for k, term in enumerate(expr.args):
        if not larger_than(term, _LIKE_NODES) and term.has(sp.MatAdd):
            by_symbols.setdefault(frozenset(free_symbols(term)), []).append(k)
    alike = [k for ks in by_symbols.values() if len(ks) >= 2 for k in ks]
    seen: dict[Any, tuple[int, Any]] = {}
    for k in sorted(alike):
        term = expr.args[k]
        coeff, mats = scalar_and_matrices(term)
        product = matmul(*mats)
        plus = expanded(product)
        minus = matadd(*(matmul(-1, t) for t in sp.MatAdd.make_args(plus)))
        for sign, key in ((1, plus), (-1, minus)):  # Q = ±P
            if key in seen:
                j, first = seen[key]
                total = scalar_and_matrices(expr.args[j])[0] + sign * coeff
                rest = [t for i, t in enumerate(expr.args) if i not in (j, k)]
                if total == 0:
                    return matadd(*rest) if rest else sp.ZeroMatrix(*shape_of(expr))
                return matadd(matmul(total, first), *rest)
        seen[plus] = (k, product)
    return None


def _shared_factors(split: list[tuple[Any, list[Any]]], end: int) -> list[tuple[Any, list[int]]]:
    """(factor, indices of its terms) for each factor at ``end`` (-1: last, 0: first)
    that two or more terms share and can give up."""
    groups: dict[Any, list[int]] = {}
    for k, (_, f) in enumerate(split):
        groups.setdefault(f[end], []).append(k)
    return [
        (factor, ks)
        for factor, ks in groups.items()
        if len(ks) >= 2
        and any(len(split[k][1]) >= 2 for k in ks)
        and not _splits_scalar([split[k] for k in ks], end)
    ]


def _factored(
    terms: tuple[Any, ...],
    split: list[tuple[Any, list[Any]]],
    factor: Any,
    ks: list[int],
    end: int,
) -> Any:
    """The terms ``ks`` with ``factor`` (at ``end``) taken out once, the others kept."""
    if end == -1:
        size = shape_of(factor)[0]
        inner = matadd(*(_rest(split[k][0], split[k][1][:-1], size) for k in ks))
        grouped = sp.MatMul(inner, factor)
    else:
        size = shape_of(factor)[1]
        inner = matadd(*(_rest(split[k][0], split[k][1][1:], size) for k in ks))
        grouped = sp.MatMul(factor, inner)
    if len(ks) == len(terms):
        return grouped
    return matadd(grouped, *(t for k, t in enumerate(terms) if k not in ks))


def factor_hadamard(expr: Any) -> Any:
    """(X∘Aᵀ)ᵀ + Aᵀ∘Xᵀ → Xᵀ∘(A + Aᵀ)  (a factor that a transposed ∘ product, as the ∘
    of its factors' transposes, shares with other ∘ products of the sum; ∘ products
    alone are left to the entrywise rules, which need their terms: σ(u) + σ(-u) = 1)
    terminates: the shared factor appears once instead of in each of those terms."""
    if not isinstance(expr, sp.MatAdd):
        return None
    parts = [_hadamard_factors(term) for term in expr.args]
    counts: dict[Any, int] = {}
    for _, factors, _ in parts:
        for factor in set(factors or ()):
            counts[factor] = counts.get(factor, 0) + 1
    in_transposed = {f for _, factors, transposed in parts if transposed for f in factors or ()}
    shared = sorted((f for f in in_transposed if counts[f] >= 2), key=sort_key)
    if not shared:
        return None
    common, inner, others = shared[0], [], []
    for term, (coeff, factors, _) in zip(expr.args, parts, strict=True):
        if factors is None or common not in factors:
            others.append(term)
            continue
        rest = list(factors)
        rest.remove(common)
        inner.append(
            matmul(coeff, rest[0] if len(rest) == 1 else hadamard(sp.HadamardProduct(*rest)))
        )
    return matadd(hadamard(sp.HadamardProduct(common, matadd(*inner))), *others)


def _hadamard_factors(term: Any) -> tuple[Any, list[Any] | None, bool]:
    """(c, [U, V], False) for c·(U∘V), (c, [U, V], True) for c·(Uᵀ∘Vᵀ)ᵀ, and
    (c, None, False) for other terms."""
    coeff, mats = scalar_and_matrices(term)
    if len(mats) != 1:
        return coeff, None, False
    (m,) = mats
    if isinstance(m, sp.HadamardProduct):
        return coeff, list(m.args), False
    if isinstance(m, sp.Transpose) and isinstance(m.arg, sp.HadamardProduct):
        return coeff, [transpose(a) for a in m.arg.args], True
    return coeff, None, False


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


def hadamard_numbers(expr: Any) -> Any:
    """(c A) ∘ B → c (A ∘ B),  (c A)^∘k → cᵏ A^∘k  (c a number: (-y)∘(-y) is y∘y)
    terminates: a number leaves a ∘ product or power, and no rule puts it back."""
    if isinstance(expr, sp.HadamardPower) and expr.exp.is_Integer:
        coeff, mats = scalar_and_matrices(expr.base)
        if coeff == 1 or not coeff.is_Number or not mats:
            return None
        return matmul(coeff**expr.exp, sp.HadamardPower(matmul(*mats), expr.exp))
    if not isinstance(expr, sp.HadamardProduct):
        return None
    numbers, args = [], []
    for arg in expr.args:
        coeff, mats = scalar_and_matrices(arg)
        if coeff != 1 and coeff.is_Number and mats:
            numbers.append(coeff)
            arg = matmul(*mats)
        args.append(arg)
    if not numbers:
        return None
    return matmul(sp.Mul(*numbers), hadamard(sp.HadamardProduct(*args)))


def power_of_power(expr: Any) -> Any:
    """(A^∘p)^∘k → A^∘(p k) with A^∘p entrywise t ↦ tᵖ (√A: p = 1/2): (√A)^∘-1 is A^∘-1/2
    terminates: removes a power."""
    if not isinstance(expr, sp.HadamardPower) or not isinstance(
        expr.base, ElementwiseApplyFunction
    ):
        return None
    fn = expr.base.function
    if not isinstance(fn, sp.Lambda) or len(fn.variables) != 1:
        return None
    t = fn.variables[0]
    base, p = fn.expr.as_base_exp()
    if base != t or not p.is_Rational or not expr.exp.is_Rational:
        return None
    total = p * expr.exp
    return expr.base.expr if total == 1 else sp.HadamardPower(expr.base.expr, total)
