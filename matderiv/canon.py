"""SymPy's shallow canonical forms, with the one exception matderiv needs.

``canonical`` lets SymPy flatten products, drop identities and pull out
scalars; a transpose is pushed into products, sums and Kronecker products but
kept outside entrywise operations, so gradients read (c ∘ g)ᵀ and tanh(a)ᵀ
rather than cᵀ ∘ gᵀ and tanh(aᵀ).  Use ``transpose(e)``, never ``e.T``, in the
engine: SymPy's ``.T`` distributes eagerly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .memo import IdentityMemo
from .nodes import AsScalar
from .shapes import dims_equal, shape_of
from .substitute import unchecked

_CANONICAL = (
    sp.MatMul,
    sp.MatAdd,
    sp.KroneckerProduct,
)


_TRANSPOSE_STAYS_OUTSIDE = (sp.HadamardProduct, sp.HadamardPower, ElementwiseApplyFunction)


def kronecker(node: Any) -> Any:
    """A ⊗ B with scalar coefficients pulled out first (SymPy's own doit crashes on them).
    ``node`` may be what SymPy made of one already: KroneckerProduct(I₃, I₃) is I₉ when
    built, whose args are (9,) (rebuilding from them crashed every derivative through
    (X + I)ᵏ)."""
    if not isinstance(node, sp.KroneckerProduct):
        return node
    coeff, factors = sp.S.One, []
    for factor in node.args:
        if isinstance(factor, sp.MatMul):
            scalars = [a for a in factor.args if not getattr(a, "is_Matrix", False)]
            mats = [a for a in factor.args if getattr(a, "is_Matrix", False)]
            coeff *= sp.Mul(*scalars)
            factor = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
        factors.append(factor)
    kron = sp.KroneckerProduct(*factors).doit(deep=False)
    return kron if coeff == 1 else matmul(coeff, kron)


_KEYS: IdentityMemo[tuple[Any, ...]] = IdentityMemo()


def sort_key(expr: Any) -> tuple[Any, ...]:
    """A deterministic structural order for the terms of a sum.

    SymPy's default_sort_key is slow on matrix expressions (it orders scalar
    sums term by term and its cache holds 1000 entries, too few for a long
    program); this compares class names, then atoms by their text, then
    operands, and remembers what it computed.  The parser orders sums with
    SymPy's key instead, so parsed input matches SymPy-built input.
    """
    key = _KEYS.get(expr)
    if key is not None:
        return key
    if not isinstance(expr, sp.Basic) or not expr.args or isinstance(expr, sp.MatrixSymbol):
        key = (type(expr).__name__, str(expr))
    else:
        key = (type(expr).__name__, *(sort_key(a) for a in expr.args))
    return _KEYS.put(expr, key)


def matadd(*terms: Any, order: Callable[[Any], Any] = sort_key) -> Any:
    """A sum in canonical form: nested sums flattened, zeros dropped, like terms collected.

    SymPy's own MatAdd.doit collects like terms with ``coefficient * matrix``, a
    deep doit that rewrites tr(u ⊗ vᵀ) as tr(u) tr(v) (wrong for non-square
    factors); this does the same collection without it.
    """
    flat: list[Any] = []
    for term in terms:
        flat.extend(term.args if isinstance(term, sp.MatAdd) else [term])
    coefficients: dict[Any, Any] = {}
    for term in flat:
        if isinstance(term, sp.ZeroMatrix):
            continue
        coeff, matrix = _coeff_matrix(term)
        coefficients[matrix] = coefficients.get(matrix, sp.S.Zero) + coeff
    kept = [
        matrix if coeff == 1 else matmul(coeff, matrix)
        for matrix, coeff in coefficients.items()
        if coeff != 0
    ]
    if not kept:
        return sp.ZeroMatrix(*shape_of(terms[0]))
    if len(kept) == 1:
        return kept[0]
    return unchecked(sp.MatAdd, *sorted(kept, key=order))


def _coeff_matrix(term: Any) -> tuple[Any, Any]:
    """(c, M) with ``term`` = c M, M not a product with a number: SymPy's as_coeff_mmul
    without its new product's shape check (which walks M's whole depth)."""
    if not isinstance(term, sp.MatMul):
        return sp.S.One, term
    coeff, matrices = term.as_coeff_matrices()
    if len(matrices) == 1:
        return coeff, matrices[0]
    return coeff, term if coeff == 1 else unchecked(sp.MatMul, *matrices)


#: factors of at most this many nodes are ordered as SymPy orders them
SMALL_FACTOR = 60
_DEFAULT_KEYS: IdentityMemo[Any] = IdentityMemo()


def _hadamard_key(factors: list[Any]) -> Callable[[Any], Any]:
    """SymPy's default_sort_key for small factors (σ∘(1 - σ) reads as SymPy orders
    it); matderiv's remembered structural key once a factor is large: SymPy's walks
    the whole factor at each call, cubic in the depth of a nest of entrywise functions
    (tanh nested 150 deep took minutes).  Either is a function of the set of factors,
    so the product stays canonical."""
    if all(not larger_than(f, SMALL_FACTOR) for f in factors):
        return _default_key
    return sort_key


def _default_key(expr: Any) -> Any:
    key = _DEFAULT_KEYS.get(expr)
    return key if key is not None else _DEFAULT_KEYS.put(expr, sp.default_sort_key(expr))


def larger_than(expr: Any, cap: int) -> bool:
    """Whether ``expr`` has more than ``cap`` nodes, symbols and numbers one each
    (counting stops there)."""
    count, stack = 0, [expr]
    while stack and count <= cap:
        node = stack.pop()
        count += 1
        if not isinstance(node, sp.MatrixSymbol) and not node.is_Atom:
            stack.extend(a for a in node.args if isinstance(a, sp.Basic))
    return count > cap


def hadamard(node: Any) -> Any:
    """SymPy's canonical form of a Hadamard product (``hadamard.canonicalize``: flattened,
    ones dropped, zeros absorbing, repeated factors as powers, sorted), unchecked."""
    factors: list[Any] = []
    stack = list(reversed(node.args))
    while stack:
        factor = stack.pop()
        if type(factor) is sp.HadamardProduct:
            stack.extend(reversed(factor.args))
        else:
            factors.append(factor)
    ones = [isinstance(f, sp.OneMatrix) for f in factors]
    if all(ones):
        factors = factors[:1]
    elif any(ones):
        factors = [f for f, one in zip(factors, ones, strict=True) if not one]
    if any(isinstance(f, sp.ZeroMatrix) for f in factors):
        return sp.ZeroMatrix(*shape_of(node))
    exponents: Counter[Any] = Counter()
    for f in factors:  # A^∘-1 ∘ A is 𝟏 (where A^∘-1 is defined, A has no zero entry)
        base, k = _hadamard_power(f)
        exponents[base] += k
    powers = [f if k == 1 else sp.HadamardPower(f, k) for f, k in exponents.items() if k != 0]
    if not powers:
        return sp.OneMatrix(*shape_of(node))
    powers.sort(key=_hadamard_key(powers))
    return powers[0] if len(powers) == 1 else unchecked(sp.HadamardProduct, *powers)


def _hadamard_power(factor: Any) -> tuple[Any, Any]:
    """(base, exponent) of a ∘ factor with a number exponent: A^∘-1 → (A, -1), A → (A, 1)."""
    if isinstance(factor, sp.HadamardPower) and factor.exp.is_Rational:
        return factor.base, factor.exp
    return factor, sp.S.One


def _power(factor: Any) -> tuple[Any, Any]:
    """(base, exponent) of a factor: A⁻¹ → (A, -1), A³ → (A, 3), A → (A, 1); powers of
    powers and transposed powers too, with integer exponents: (X⁻ᵀ)² → (Xᵀ, -2),
    ((Xᵀ)³)⁻¹ → (Xᵀ, -3), (X⁻ᵀ)⁻¹ → (Xᵀ, 1)."""
    if isinstance(factor, sp.Transpose):
        base, k = _power(factor.arg)
        if k != 1:
            return transpose(base), k
        return factor, sp.S.One
    if isinstance(factor, sp.MatPow):  # Inverse is a MatPow with exponent -1
        base, e = factor.args[0], factor.args[1]
        inner, k = _power(base)
        if k != 1 and e.is_integer and k.is_integer:
            return inner, e * k
        return base, e
    return factor, sp.S.One


def from_power(base: Any, total: Any) -> Any:
    """Bᵏ for an integer k, in its plainest node: I for k = 0, B for 1, B⁻¹ for -1."""
    if total == 0:
        return sp.Identity(shape_of(base)[0])
    if total == 1:
        return base
    return sp.Inverse(base) if total == -1 else sp.MatPow(base, total)


def _nested_power(node: Any) -> Any:
    """A power of a power (or of a transposed one) as one power of the base:
    (X⁻ᵀ)⁻¹ → Xᵀ, ((Xᵀ)³)⁻¹ → (Xᵀ)⁻³; anything else unchanged."""
    base, total = _power(node)
    if base is node.args[0] and total == node.args[1]:
        return node
    return from_power(base, total)


def same(a: Any, b: Any) -> bool:
    """a == b, by the hashes first: SymPy's == compares operands before hashes, so
    two different deep trees with equal parts built apart are walked to the bottom."""
    return a is b or (hash(a) == hash(b) and a == b)


def _combine(left: Any, right: Any) -> Any:
    """left · right as one factor when they are powers of one square matrix
    (A A → A², A A⁻¹ → I) or ones matrices (1_{a×k} 1_{k×b} = k 1_{a×b}), else None."""
    if isinstance(left, sp.OneMatrix) and isinstance(right, sp.OneMatrix):
        ones = sp.OneMatrix(left.rows, right.cols)
        return ones if left.cols == 1 else unchecked(sp.MatMul, left.cols, ones)
    base, p = _power(left)
    other, q = _power(right)
    if not same(base, other) or not dims_equal(*shape_of(base)):
        return None
    return from_power(base, p + q)


def matmul(*factors: Any) -> Any:
    """A product in canonical form: nested products flattened, scalars multiplied in
    front, identities dropped, zeros absorbing, adjacent powers of one matrix merged.

    SymPy's MatMul.doit does the same but, to cancel A A⁻¹, inverts every square
    factor with a deep doit, and its shape checks recurse through each operand:
    on a nested expression of depth D that is O(D) per call and the derivation
    becomes quadratic or worse.  The shapes were checked before differentiating.
    """
    scalars: list[Any] = []
    mats: list[Any] = []
    stack = list(reversed(factors))
    while stack:
        f = stack.pop()
        if isinstance(f, sp.MatMul):
            stack.extend(reversed(f.args))
        elif not getattr(f, "is_Matrix", False):
            scalars.append(f)
        elif isinstance(f, sp.ZeroMatrix):
            rows = shape_of(_first_matrix(factors))[0]
            cols = shape_of(_last_matrix(factors))[1]
            return sp.ZeroMatrix(rows, cols)
        elif isinstance(f, sp.Identity) or _unit_ones(f):  # 𝟏₁ₓ₁ = I₁
            continue
        elif mats and (merged := _combine(mats[-1], f)) is not None:
            mats.pop()
            if not isinstance(merged, sp.Identity):
                stack.append(merged)
        else:
            mats.append(f)
    coeff = sp.Mul(*scalars)
    if coeff == 0:
        return sp.ZeroMatrix(
            shape_of(_first_matrix(factors))[0], shape_of(_last_matrix(factors))[1]
        )
    if not mats:
        ident = sp.Identity(shape_of(_first_matrix(factors))[0])
        return ident if coeff == 1 else unchecked(sp.MatMul, coeff, ident)
    if coeff == 1:
        return mats[0] if len(mats) == 1 else unchecked(sp.MatMul, *mats)
    return unchecked(sp.MatMul, coeff, *mats)


def scalar_and_matrices(term: Any) -> tuple[Any, list[Any]]:
    """(scalar coefficient, matrix factors) of a product; (1, [term]) for anything else:
    -2·tr(A)·B C → (-2·tr(A), [B, C])."""
    if isinstance(term, sp.MatMul):
        scalars = [a for a in term.args if not getattr(a, "is_Matrix", False)]
        return sp.Mul(*scalars), [a for a in term.args if getattr(a, "is_Matrix", False)]
    return sp.S.One, [term]


def scaled_operands(expr: Any, kind: type[sp.Basic]) -> list[Any] | None:
    """[c₁ a, c₂ b, ...] for a sum c₁ F(a) + c₂ F(b) + ... of one node type F (diag, vec),
    else None."""
    if not isinstance(expr, sp.MatAdd):
        return None
    operands = []
    for term in expr.args:
        coeff, mats = scalar_and_matrices(term)
        if len(mats) != 1 or not isinstance(mats[0], kind):
            return None
        arg = mats[0].args[0]  # diag(a), vec(A): the one operand
        operands.append(arg if coeff == 1 else matmul(coeff, arg))
    return operands


def _first_matrix(factors: tuple[Any, ...]) -> Any:
    return next(f for f in factors if getattr(f, "is_Matrix", False))


def _last_matrix(factors: tuple[Any, ...]) -> Any:
    return next(f for f in reversed(factors) if getattr(f, "is_Matrix", False))


_CANONICAL_MEMO: IdentityMemo[Any] = IdentityMemo()


def canonical(node: Any) -> Any:
    """SymPy's own shallow canonical form (drop identities, flatten, pull out scalars)."""
    out = _CANONICAL_MEMO.get(node)
    return _CANONICAL_MEMO.put(node, _canonical(node)) if out is None else out


def _canonical(node: Any) -> Any:
    if isinstance(node, sp.Transpose):
        return transpose(node.arg)
    if isinstance(node, sp.KroneckerProduct):
        return kronecker(node)
    if isinstance(node, sp.MatAdd):
        return matadd(*node.args)
    if isinstance(node, sp.HadamardProduct):  # its doit re-runs doit on every operand
        return hadamard(node)
    if isinstance(node, sp.MatMul):
        return matmul(*node.args)
    if isinstance(node, sp.MatPow):
        return _nested_power(node)
    if isinstance(node, _CANONICAL):
        return node.doit(deep=False)
    return node


_TRANSPOSE_MEMO: IdentityMemo[Any] = IdentityMemo()


def transpose(expr: Any) -> Any:
    """expr transposed, pushed into products, sums and Kronecker products only."""
    if not getattr(expr, "is_Matrix", False):
        return expr
    out = _TRANSPOSE_MEMO.get(expr)
    return _TRANSPOSE_MEMO.put(expr, _transpose(expr)) if out is None else out


def _transpose(expr: Any) -> Any:
    if isinstance(expr, sp.Transpose):
        return expr.arg
    if isinstance(expr, sp.MatMul):
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        mats = [transpose(a) for a in reversed(expr.args) if getattr(a, "is_Matrix", False)]
        return matmul(*scalars, *mats)
    if isinstance(expr, sp.KroneckerProduct):
        return kronecker(sp.KroneckerProduct(*(transpose(a) for a in expr.args)))
    if isinstance(expr, sp.MatAdd):
        return matadd(*(transpose(a) for a in expr.args))
    if isinstance(expr, _TRANSPOSE_STAYS_OUTSIDE):
        return sp.Transpose(expr)
    # (M⁻¹)ᵀ = (Mᵀ)⁻¹ with this transpose: SymPy's own pushes Mᵀ through a deep doit
    if isinstance(expr, sp.Inverse):
        return unchecked(sp.Inverse, transpose(expr.arg), sp.S.NegativeOne)
    if isinstance(expr, sp.MatPow):
        return unchecked(sp.MatPow, transpose(expr.base), expr.exp)
    flipped = expr._eval_transpose() if hasattr(expr, "_eval_transpose") else None
    return sp.Transpose(expr) if flipped is None else flipped


def _unit_ones(expr: Any) -> bool:
    return isinstance(expr, sp.OneMatrix) and dims_equal(expr.rows, 1) and dims_equal(expr.cols, 1)


def summed(expr: Any) -> Any:
    """E when ``expr`` sums a vector's entries: 𝟏ᵀE of a column E or E 𝟏 of a row E
    (or that 1 x 1 matrix used as a scalar), else None."""
    if isinstance(expr, AsScalar):
        expr = expr.arg
    if not isinstance(expr, sp.MatMul):
        return None
    args = [a for a in expr.args if not _unit_ones(a)]  # 𝟏ᵀ E 𝟏₁ₓ₁ is 𝟏ᵀ E
    if len(args) != 2:
        return None
    first, second = args
    if isinstance(first, sp.OneMatrix) and dims_equal(first.shape[0], 1):
        return second
    if isinstance(second, sp.OneMatrix) and dims_equal(second.shape[1], 1):
        return first
    return None
