"""Matrix-vector products of one matrix with many input vectors (an RNN's W x_t),
batched into one matrix product computed first."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..canon import transpose
from ..shapes import free_symbols, walk
from .products import STRUCTURED, dot, is_one

if TYPE_CHECKING:
    from .emit import Emitter

BATCH_MIN = 8  # matrix-vector products with one matrix batched into one product


def _natural_key(symbol: Any) -> list[Any]:
    """Sorts x_2 before x_10."""
    parts = re.split(r"(\d+)", str(symbol))
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def batch_input_products(em: Emitter, roots: list[Any], inputs: set[Any]) -> None:
    """A v_1, ..., A v_k for k ≥ 8 input vectors v_j (an RNN's W x_t) as one product
    A [v_1 ... v_k], computed first; each A v_j is then a column of it.  One
    matrix product reads A once where k matrix-vector products read it k times;
    measured with OpenBLAS on one core, it is 0.45-0.8x their time for k = 8-16 at
    n = 64-2048, but up to 2.7x for k = 2 and 1-1.3x for k = 4.  (As A [v_1 v_2],
    measured again: 0.6-0.8x at n = 128-256, 1.5-2x at n = 16-64, and in a logistic
    Hessian-vector product at n = 512-1024, 1.2x: the product with two columns
    costs two passes over A there, and A V taken out of a one-pass Aᵀ g(A V)
    (one_pass.py) costs a third.)"""
    groups: dict[Any, list[Any]] = {}
    for node in walk(*roots):
        if not isinstance(node, sp.MatMul) or len(node.args) != 2:
            continue
        a, v = node.args
        if (
            isinstance(v, sp.MatrixSymbol)
            and v in inputs
            and is_one(v.cols)
            and not isinstance(a, (*STRUCTURED, sp.Identity))
            and getattr(a, "is_Matrix", False)
            and free_symbols(a) <= inputs
        ):
            vectors = groups.setdefault(a, [])
            if v not in vectors:
                vectors.append(v)
    for a, vectors in groups.items():
        if len(vectors) < BATCH_MIN:
            continue
        vectors.sort(key=_natural_key)  # x_1, x_2, ..., x_10: row j of the product is v_j
        stacked = em.stack_columns([em.code(v) for v in vectors])
        # computed as ([v_1 ... v_k]ᵀ Aᵀ), k rows: each A v_j is then a contiguous row,
        # which NumPy adds faster than a strided column (0.8 vs 1.4 µs at n = 64)
        rows = em.assign(em.fresh(), dot(f"{stacked}.T", em.paren(transpose(a))))
        for j, v in enumerate(vectors):
            em.names[sp.MatMul(a, v)] = f"{rows}[{j}:{j + 1}].T"


def stacked_outer_products(em: Emitter, node: Any) -> str | None:
    """Σ_k a_k b_kᵀ (four or more outer products, as in backprop through time) as one
    product [a_1 ... a_T] [b_1ᵀ; ...; b_Tᵀ]: one matrix product, not T."""
    if len(node.args) < 4:
        return None
    lefts, rights = [], []
    for term in node.args:
        if not isinstance(term, sp.MatMul):
            return None
        coeff, mats = term.as_coeff_matrices()
        if len(mats) != 2 or not is_one(mats[0].cols) or isinstance(mats[0], STRUCTURED):
            return None
        if isinstance(mats[1], STRUCTURED):
            return None
        left = em.paren(mats[0])
        lefts.append(left if coeff == 1 else f"{em.scalar_code(coeff)} * {left}")
        rights.append(mats[1])
    transposed = all(isinstance(r, sp.Transpose) for r in rights)
    lefts, rights = stacked_order(em, lefts, rights, transposed)
    left = em.stack_columns(lefts)
    if transposed:
        # [b_1ᵀ; ...; b_Tᵀ] = [b_1 ... b_T]ᵀ: no row views to build
        right = em.stack_columns([em.paren(r.arg) for r in rights]) + ".T"
    else:
        codes = ", ".join(em.paren(r) for r in rights)
        right = em.shared(f"numpy.concatenate([{codes}])")
    return dot(left, right)


def stacked_order(
    em: Emitter, lefts: list[str], rights: list[Any], transposed: bool
) -> tuple[list[str], list[Any]]:
    """The terms of Σ_k a_k b_kᵀ reordered to match columns already stacked (the
    a_k, or the b_k), so that the stack is reused, not built again in another
    order (an RNN's inputs [x_1 ... x_T] serve both W's batched product and
    W's gradient)."""
    keys = [lefts]
    if transposed:
        keys.append([em.paren(r.arg) for r in rights])
    for codes in keys:
        order = em.stacks.get(frozenset(codes))
        if order is not None and len(set(codes)) == len(codes) and order != codes:
            position = {code: k for k, code in enumerate(codes)}
            perm = [position[code] for code in order]
            return [lefts[k] for k in perm], [rights[k] for k in perm]
    return lefts, rights
