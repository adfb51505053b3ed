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

BATCH_MIN = 2  # matrix-vector products with one matrix batched into one product
ROWS_MIN = 8  # from this many, the product is computed as rows (see below)


def _natural_key(symbol: Any) -> list[Any]:
    """Sorts x_2 before x_10."""
    parts = re.split(r"(\d+)", str(symbol))
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def batch_input_products(em: Emitter, roots: list[Any], inputs: set[Any]) -> None:
    """A v_1, ..., A v_k for k ≥ 2 input vectors v_j (an RNN's W x_t; X w and X V in a
    Hessian-vector product) as one product A [v_1 ... v_k], computed first; each
    A v_j is then a column of it.  One matrix product reads A once where k
    matrix-vector products read it k times.  Measured with OpenBLAS on one core,
    A: n x n, the batched product against the k products: for k = 2, 0.6x at
    n = 256-512, 1.05x at 128 and 1.5-2x at n = 16-64 (where it costs about
    0.7 µs more); for k = 4, 0.4-0.8x from n = 128 on; for k = 8-16,
    0.45-0.8x at n = 64-2048 (computed as rows, below)."""
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
        if len(vectors) < ROWS_MIN:  # A [v_1 ... v_k]: a few columns
            columns = em.assign(em.fresh(), dot(em._paren(a), stacked))
            for j, v in enumerate(vectors):
                em.names[sp.MatMul(a, v)] = f"{columns}[:, {j}:{j + 1}]"
            continue
        # computed as ([v_1 ... v_k]ᵀ Aᵀ), k rows: each A v_j is then a contiguous row,
        # which NumPy adds faster than a strided column (0.8 vs 1.4 µs at n = 64); for
        # k = 2 this order is slower than A [v_1 v_2] (8.7 against 4 µs at n = 128)
        rows = em.assign(em.fresh(), dot(f"{stacked}.T", em._paren(transpose(a))))
        for j, v in enumerate(vectors):
            em.names[sp.MatMul(a, v)] = f"{rows}[{j}:{j + 1}].T"
