"""SymPy's shallow canonical forms, with the one exception matderiv needs.

``canonical`` lets SymPy flatten products, drop identities and pull out
scalars; a transpose is pushed into products, sums and Kronecker products but
kept outside entrywise operations, so gradients read (c ∘ g)ᵀ and tanh(a)ᵀ
rather than cᵀ ∘ gᵀ and tanh(aᵀ).  Use ``transpose(e)``, never ``e.T``, in the
engine: SymPy's ``.T`` distributes eagerly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import canonicalize as _hadamard

_CANONICAL = (
    sp.MatMul,
    sp.MatAdd,
    sp.KroneckerProduct,
)


_TRANSPOSE_STAYS_OUTSIDE = (sp.HadamardProduct, sp.HadamardPower, ElementwiseApplyFunction)


def _kronecker(node: Any) -> Any:
    """A ⊗ B with scalar coefficients pulled out first (SymPy's own doit crashes on them)."""
    coeff, factors = sp.S.One, []
    for factor in node.args:
        if isinstance(factor, sp.MatMul):
            scalars = [a for a in factor.args if not getattr(a, "is_Matrix", False)]
            mats = [a for a in factor.args if getattr(a, "is_Matrix", False)]
            coeff *= sp.Mul(*scalars)
            factor = mats[0] if len(mats) == 1 else sp.MatMul(*mats)
        factors.append(factor)
    kron = sp.KroneckerProduct(*factors).doit(deep=False)
    return kron if coeff == 1 else sp.MatMul(coeff, kron).doit(deep=False)


_KEYS: dict[Any, tuple[Any, ...]] = {}


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
    if len(_KEYS) > 200_000:
        _KEYS.clear()
    _KEYS[expr] = key
    return key


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
        coeff, matrix = term.as_coeff_mmul()
        matrix = (
            matrix.args[0] if isinstance(matrix, sp.MatMul) and len(matrix.args) == 1 else matrix
        )
        coefficients[matrix] = coefficients.get(matrix, sp.S.Zero) + coeff
    kept = [
        matrix if coeff == 1 else sp.MatMul(coeff, matrix).doit(deep=False)
        for matrix, coeff in coefficients.items()
        if coeff != 0
    ]
    if not kept:
        return sp.ZeroMatrix(*terms[0].shape)
    if len(kept) == 1:
        return kept[0]
    return sp.MatAdd(*sorted(kept, key=order))


_NOT_PLAIN = (
    sp.MatMul,
    sp.MatPow,
    sp.Identity,
    sp.ZeroMatrix,
    sp.OneMatrix,
    sp.MatrixBase,
    sp.PermutationMatrix,
)


def _plain_product(args: tuple[Any, ...]) -> bool:
    """True when SymPy's MatMul canonicalisation would leave the product as it is:
    two or more matrix factors, no scalars, no nested products, identities, zeros,
    ones, powers or explicit matrices, and no factor repeated next to itself."""
    if len(args) < 2:
        return False
    for k, a in enumerate(args):
        if not getattr(a, "is_Matrix", False) or isinstance(a, _NOT_PLAIN):
            return False
        if k and a == args[k - 1]:
            return False
    return True


def matmul(*factors: Any) -> Any:
    """A product in SymPy's canonical form (identities dropped, scalars in front ...)."""
    if _plain_product(factors):
        return sp.MatMul(*factors)
    return sp.MatMul(*factors).doit(deep=False)


_CANONICAL_MEMO: dict[Any, Any] = {}


def canonical(node: Any) -> Any:
    """SymPy's own shallow canonical form (drop identities, flatten, pull out scalars)."""
    out = _CANONICAL_MEMO.get(node)
    if out is None:
        out = _canonical(node)
        if len(_CANONICAL_MEMO) > 200_000:
            _CANONICAL_MEMO.clear()
        _CANONICAL_MEMO[node] = out
    return out


def _canonical(node: Any) -> Any:
    if isinstance(node, sp.Transpose):
        return transpose(node.arg)
    if isinstance(node, sp.KroneckerProduct):
        return _kronecker(node)
    if isinstance(node, sp.MatAdd):
        return matadd(*node.args)
    if isinstance(node, sp.HadamardProduct):  # its doit re-runs doit on every operand
        return _hadamard(node)
    if isinstance(node, sp.MatMul) and _plain_product(node.args):
        return node
    if isinstance(node, _CANONICAL):
        return node.doit(deep=False)
    return node


def transpose(expr: Any) -> Any:
    """expr transposed, pushed into products, sums and Kronecker products only."""
    if not getattr(expr, "is_Matrix", False):
        return expr
    if isinstance(expr, sp.Transpose):
        return expr.arg
    if isinstance(expr, sp.MatMul):
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        mats = [transpose(a) for a in reversed(expr.args) if getattr(a, "is_Matrix", False)]
        return sp.MatMul(*scalars, *mats).doit(deep=False)
    if isinstance(expr, sp.KroneckerProduct):
        return _kronecker(sp.KroneckerProduct(*(transpose(a) for a in expr.args)))
    if isinstance(expr, sp.MatAdd):
        return matadd(*(transpose(a) for a in expr.args))
    if isinstance(expr, _TRANSPOSE_STAYS_OUTSIDE):
        return sp.Transpose(expr)
    flipped = expr._eval_transpose() if hasattr(expr, "_eval_transpose") else None
    return sp.Transpose(expr) if flipped is None else flipped
