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
        rows = em.assign(em.fresh(), dot(f"{stacked}.T", em._paren(transpose(a))))
        for j, v in enumerate(vectors):
            em.names[sp.MatMul(a, v)] = f"{rows}[{j}:{j + 1}].T"
