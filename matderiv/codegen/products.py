"""Code for a matrix product: the order of evaluation and the vec trick.

A product of plain matrices is one ``a.dot(b)`` or a ``multi_dot``.  (``dot``, not
``@``: it calls BLAS with less overhead, measured 0.6-1 µs less per product at
n ≤ 64 and 3x faster for outer products at n = 64-256, the same for large n.)  A product with
structured factors (A ⊗ B, K_{m,n}, diag(v), ones) is evaluated from the end
that holds a plain matrix, applying each structured factor to the running
result with a helper (``_kron_left``, ``_commute_rows``, ``v * M`` ...), so
none of them is built (``kron.py``); a diag(v) at either end of a product scales
the rows (or columns) of the rest.  A sum met by a narrow running result (a
vector), or a sum of inverses, is distributed: (A + Aᵀ) v → A v + Aᵀ v.  An inverse
in a product with a plain matrix is applied the same way, by solving with A's LU factors
(computed once per A, and shared with Aᵀ): A⁻¹ M → solve, M A⁻ᵀ → solve from the
right, so A⁻¹ is never formed; where the code has formed A⁻¹ already (the result
needs it), it is multiplied by instead.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..named_functions import function_name
from ..nodes import CommutationMatrix, DiagVector
from ..shapes import shape_of
from .kron import built_factor, by_factor, kron_by_factor, kron_two

if TYPE_CHECKING:
    from .emit import Emitter

STRUCTURED = (sp.KroneckerProduct, CommutationMatrix, DiagVector, sp.OneMatrix)


def is_one(d: Any) -> bool:
    return bool(sp.sympify(d) == 1)


def _plain(codes: list[str]) -> str:
    if len(codes) == 1:
        return codes[0]
    if len(codes) == 2:
        return dot(codes[0], codes[1])
    return f"numpy.linalg.multi_dot([{', '.join(codes)}])"


def _vector_chain(codes: list[str], vector: str, from_left: bool = False) -> str:
    """A_1 ... A_k v (or vᵀ A_1 ... A_k) as k matrix-vector products: the cheapest
    order whatever the sizes, without multi_dot's run-time search (2-5 µs a call)."""
    if from_left:
        for code in codes:
            vector = dot(vector, code)
        return vector
    for code in reversed(codes):
        vector = dot(code, vector)
    return vector


def is_inverse(node: Any) -> bool:
    """A⁻¹ or (A⁻¹)ᵀ."""
    if isinstance(node, sp.Transpose):
        node = node.arg
    return isinstance(node, sp.Inverse)


def _lu_of(em: Emitter, factor: Any) -> tuple[str, int]:
    """The LU factors of A for a factor A⁻¹ (trans 0) or (A⁻¹)ᵀ (trans 1)."""
    trans = int(isinstance(factor, sp.Transpose))
    inverse = factor.arg if trans else factor
    em.helpers.add("_lu")
    return em.shared(lu_code(em.code(inverse.arg))), trans


def lu_code(matrix: str) -> str:
    """The code factorising ``matrix`` (one factorisation per matrix: ``Emitter.shared``)."""
    return f"_lu({matrix})"


def _formed_inverse(em: Emitter, factor: Any) -> str | None:
    """The name of A⁻¹ (or (A⁻¹)ᵀ) for a factor, when the code has already formed it
    (the result needs A⁻¹ itself): then it is multiplied by, not factorised again."""
    trans = isinstance(factor, sp.Transpose)
    name = em.names.get(factor.arg if trans else factor)
    return None if name is None else f"{name}.T" if trans else name


def _solvable_sum(node: Any) -> bool:
    """A sum of inverses (c A⁻¹ + B⁻ᵀ ...): distributed over what it multiplies, each
    term a solve, so no inverse is formed (and A⁻¹ + A⁻ᵀ is one factorisation)."""
    return isinstance(node, sp.MatAdd) and all(is_inverse(split(t)) for t in node.args)


def split(term: Any) -> Any:
    """A term of a sum without its number."""
    if isinstance(term, sp.MatMul):
        _, mats = term.as_coeff_matrices()
        if len(mats) == 1:
            return mats[0]
    return term


def _is_operator(node: Any, solve: bool) -> bool:
    """Applied to the running result by a helper rather than multiplied as a matrix."""
    return isinstance(node, STRUCTURED) or (solve and is_inverse(node))


def _apply_left(em: Emitter, factor: Any, acc: str) -> str:
    """factor @ acc, for a structured factor or an inverse."""
    if is_inverse(factor):
        formed = _formed_inverse(em, factor)
        if formed is not None:
            return dot(formed, acc)
        lu, trans = _lu_of(em, factor)
        em.helpers.add("_solve")
        return f"_solve({lu}, {acc}, {trans})"
    if isinstance(factor, DiagVector):
        return f"({em.paren(factor.arg)} * {wrap(acc)})"
    if isinstance(factor, CommutationMatrix):
        em.helpers.add("_commute_rows")
        return f"_commute_rows({acc}, {em.dim(factor.m)}, {em.dim(factor.n)})"
    if isinstance(factor, sp.OneMatrix):
        total = f"{wrap(acc)}.sum(axis=0, keepdims=True)"
        return total if is_one(factor.rows) else f"numpy.repeat({total}, {em.dim(factor.rows)}, 0)"
    if by_factor(factor):
        return kron_by_factor(em, factor, acc)
    return kron_two(em, factor, acc)


def _apply_right(em: Emitter, acc: str, factor: Any) -> str:
    """acc @ factor, for a structured factor or an inverse."""
    if is_inverse(factor):
        formed = _formed_inverse(em, factor)
        if formed is not None:
            return dot(acc, formed)
        lu, trans = _lu_of(em, factor)
        em.helpers.add("_solve_right")
        return f"_solve_right({acc}, {lu}, {trans})"
    if isinstance(factor, DiagVector):
        return f"({wrap(acc)} * {em.paren(factor.arg)}.T)"
    if isinstance(factor, CommutationMatrix):
        em.helpers.add("_commute_cols")
        return f"_commute_cols({acc}, {em.dim(factor.m)}, {em.dim(factor.n)})"
    if isinstance(factor, sp.OneMatrix):
        total = f"{wrap(acc)}.sum(axis=1, keepdims=True)"
        return total if is_one(factor.cols) else f"numpy.repeat({total}, {em.dim(factor.cols)}, 1)"
    if by_factor(factor):
        return f"{wrap(kron_by_factor(em, factor, f'{wrap(acc)}.T', transposed=True))}.T"
    return kron_two(em, factor, acc, right=True)


def dot(left: str, right: str) -> str:
    """The matrix product of two operands' code."""
    return f"{wrap(left)}.dot({right})"


def columns(codes: list[str]) -> str:
    """The 2-D operands side by side, [a_1 ... a_k].  (``numpy.concatenate``, not
    ``hstack``: measured 2.2 vs 4 µs for eight 64-vectors; every operand in generated
    code is already 2-D, which is all ``hstack`` would add.)"""
    return f"numpy.concatenate([{', '.join(codes)}], axis=1)"


def wrap(text: str) -> str:
    """``text`` in parentheses unless it is a name, attribute or indexed name."""
    return text if re.fullmatch(r"[\w.]+(\[[^\]]*\])?", text) else f"({text})"


def _distribute(em: Emitter, total: Any, acc: str) -> str:
    """(Σ c_k T_k) @ acc as Σ c_k (T_k @ acc), with acc computed once."""
    acc = em.temp(acc)
    parts = []
    for term in total.args:
        coeff, mats = term.as_coeff_matrices() if isinstance(term, sp.MatMul) else (1, [term])
        text = _right_to_left(em, mats, acc, narrow=True, solve=True)
        if coeff != 1:
            text = f"{em.scalar_code(coeff)} * {wrap(text)}"
        parts.append(text)
    return " + ".join(parts)


def _right_to_left(
    em: Emitter, mats: list[Any], acc: str | None, narrow: bool, solve: bool
) -> str:
    i = len(mats) - 1
    while i >= 0:
        factor = mats[i]
        if _is_operator(factor, solve) and acc is not None:
            acc = _apply_left(em, factor, acc)
            i -= 1
        elif _spread(factor, narrow) and acc is not None:
            acc = f"({_distribute(em, factor, acc)})"
            i -= 1
        else:
            j = i
            while (
                j > 0 and not _is_operator(mats[j - 1], solve) and not _spread(mats[j - 1], narrow)
            ):
                j -= 1
            codes = [em.paren(m) for m in mats[j : i + 1]]
            acc = _plain(codes if acc is None else [*codes, acc])
            i = j - 1
    assert acc is not None
    return acc


def _spread(factor: Any, narrow: bool) -> bool:
    """Whether a sum is distributed over the running result: when that is a vector, or
    when the sum is of inverses."""
    return isinstance(factor, sp.MatAdd) and (narrow or _solvable_sum(factor))


def _run_end(ops: list[bool], start: int) -> int:
    """The end (exclusive) of the run of plain factors (``ops`` False) from ``start``."""
    end = start
    while end < len(ops) and not ops[end]:
        end += 1
    return end


def _left_to_right(em: Emitter, mats: list[Any], acc: str, solve: bool) -> str:
    ops = [_is_operator(m, solve) for m in mats]
    i = 0
    while i < len(mats):
        if ops[i]:
            acc = _apply_right(em, acc, mats[i])
            i += 1
        else:
            end = _run_end(ops, i)
            acc = _plain([acc, *(em.paren(m) for m in mats[i:end])])
            i = end
    return acc


def _is_gram(mats: list[Any]) -> bool:
    """Aᵀ diag(s) A, a weighted Gram matrix (Hessians of GLM losses)."""
    return (
        len(mats) == 3
        and isinstance(mats[1], DiagVector)
        and isinstance(mats[0], sp.Transpose)
        and mats[0].arg == mats[2]
    )


def _one_minus_sigmoid(expr: Any) -> bool:
    """Whether ``expr`` is 𝟏 - σ(v)."""
    if len(expr.args) != 2 or not any(isinstance(a, sp.OneMatrix) for a in expr.args):
        return False
    (other,) = [a for a in expr.args if not isinstance(a, sp.OneMatrix)]
    if not isinstance(other, sp.MatMul) or other.args[0] != -1 or len(other.args) != 2:
        return False
    fn = other.args[1]
    return isinstance(fn, ElementwiseApplyFunction) and function_name(fn.function) == "sigmoid"


def nonnegative(expr: Any) -> bool:
    """True when every entry of ``expr`` is >= 0 (or +inf) for all real inputs, by its
    structure: even powers, exp, 𝟏, and sums, products and powers of such.  False
    means "not proved"."""
    if isinstance(expr, sp.OneMatrix):
        return True
    if isinstance(expr, sp.HadamardPower):
        even = expr.exp.is_integer and expr.exp.is_even
        return bool(even) or nonnegative(expr.base)
    if isinstance(expr, sp.MatAdd) and _one_minus_sigmoid(expr):
        return True  # 1 - σ(v) = σ(-v)
    if isinstance(expr, (sp.HadamardProduct, sp.MatAdd)):
        return all(nonnegative(a) for a in expr.args)
    if isinstance(expr, sp.MatMul):  # a scalar times a matrix
        scalars = [a for a in expr.args if not a.is_Matrix]
        mats = [a for a in expr.args if a.is_Matrix]
        return len(mats) == 1 and all(a.is_nonnegative for a in scalars) and nonnegative(mats[0])
    if isinstance(expr, ElementwiseApplyFunction):
        t = sp.Dummy("t", real=True)
        return bool(expr.function(t).is_nonnegative)
    return False


def product_code(em: Emitter, mats: list[Any]) -> str:
    """Code for the product of ``mats`` (matrices, in order)."""
    kept = [m for m in mats if not isinstance(m, sp.Identity)]
    if not kept:
        return em.code(mats[0])
    mats = kept
    if len(mats) == 1:
        return em.code(mats[0])
    if _is_gram(mats):
        helper = "_gram_psd" if nonnegative(mats[1].arg) else "_gram"
        em.helpers.add(helper)
        return f"{helper}({em.code(mats[2])}, {em.code(mats[1].arg)})"
    # inverses are solved with when some plain matrix is there to solve for
    solve = any(map(is_inverse, mats)) and not all(_is_operator(m, solve=True) for m in mats)
    ops = [_is_operator(m, solve) for m in mats]
    narrow = is_one(shape_of(mats[-1])[1])
    if solve:
        # solve with vectors, not with the matrices a vector would have made
        # (A⁻ᵀ x xᵀ A⁻ᵀ → (A⁻ᵀ x)(xᵀ A⁻ᵀ); bᵀ A⁻¹ C → (bᵀ A⁻¹) C)
        for i in range(1, len(mats)):
            if is_one(shape_of(mats[i - 1])[1]):
                left, right = product_code(em, mats[:i]), product_code(em, mats[i:])
                return dot(left, right)
        if is_one(shape_of(mats[0])[0]) and not narrow:
            return _left_to_right(em, mats[1:], em.paren(mats[0]), solve)
    spread = any(_spread(m, narrow) for m in mats[:-1])
    if not any(ops) and not spread:
        codes = [em.paren(m) for m in mats]
        if len(codes) > 2 and narrow:  # A B v: matrix-vector products from the right
            return _vector_chain(codes[:-1], codes[-1])
        if len(codes) > 2 and is_one(shape_of(mats[0])[0]):  # uᵀ A B, from the left
            return _vector_chain(codes[1:], codes[0], from_left=True)
        return _plain(codes)
    if not ops[-1]:
        return _right_to_left(em, mats, None, narrow, solve)
    if not ops[0]:
        end = _run_end(ops, 0)
        start = _plain([em.paren(m) for m in mats[:end]])
        return _left_to_right(em, mats[end:], start, solve)
    if solve or not all(ops):
        # operators at both ends: start from the first plain block and apply them
        # outwards (X⁻ᵀ Vᵀ X⁻ᵀ: two solves, no inverse; K (A ⊗ I) K: two permutations)
        first = ops.index(False)
        end = _run_end(ops, first)
        start = _plain([em.paren(m) for m in mats[first:end]])
        start = _right_to_left(em, mats[:first], start, narrow=False, solve=True)
        return _left_to_right(em, mats[end:], start, solve)
    # a diag at either end scales the rows (or columns) of the rest: never built
    if isinstance(mats[0], DiagVector):
        return f"({em.paren(mats[0].arg)} * {wrap(product_code(em, mats[1:]))})"
    if isinstance(mats[-1], DiagVector):
        return f"({wrap(product_code(em, mats[:-1]))} * {em.paren(mats[-1].arg)}.T)"
    # every factor structured: build one, the smallest, never a permutation while
    # another factor will do, and apply the others to it from both sides
    lo, hi, start = built_factor(em, mats)
    start = _right_to_left(em, mats[:lo], start, narrow=False, solve=solve)
    return _left_to_right(em, mats[hi:], start, solve)
