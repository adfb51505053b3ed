"""Structured linear operators for numeric evaluation: I, A ⊗ B, K_{m,n}, diag(v).

They are applied to dense operands without being materialised: (A ⊗ B) M is
computed as B (unvec M) Aᵀ column by column (the vec trick), K_{m,n} M as a
reshape and axis swap, diag(v) M as a broadcast.  ``dense()`` builds the matrix
only when a result is that matrix itself.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

Value = Union[np.ndarray, "LinOp"]


class LinOp:
    """A matrix known by its structure; subclasses implement apply/dense/T."""

    shape: tuple[int, int]

    def apply(self, m: np.ndarray) -> np.ndarray:
        """self @ m for a dense 2-D m."""
        raise NotImplementedError

    def rapply(self, m: np.ndarray) -> np.ndarray:
        """m @ self for a dense 2-D m."""
        return self.T.apply(m.T).T

    def dense(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def T(self) -> LinOp:
        raise NotImplementedError


class Ident(LinOp):
    def __init__(self, n: int) -> None:
        self.shape = (n, n)

    def apply(self, m: np.ndarray) -> np.ndarray:
        return m

    def rapply(self, m: np.ndarray) -> np.ndarray:
        return m

    def dense(self) -> np.ndarray:
        return np.eye(self.shape[0])

    @property
    def T(self) -> LinOp:
        return self


class Kron(LinOp):
    """left ⊗ right, each dense or itself a LinOp."""

    def __init__(self, left: Value, right: Value) -> None:
        self.left, self.right = left, right
        (a, b), (p, q) = left.shape, right.shape
        self.shape = (a * p, b * q)

    def apply(self, m: np.ndarray) -> np.ndarray:
        (a, b), (p, q) = self.left.shape, self.right.shape
        k = m.shape[1]
        # row j*q + i of m holds column-block j, entry i: m[j, i, k]
        t = m.reshape(b, q, k).transpose(1, 0, 2).reshape(q, b * k)
        t = matmul(self.right, t).reshape(p, b, k).transpose(1, 0, 2).reshape(b, p * k)
        return matmul(self.left, t).reshape(a * p, k)

    def dense(self) -> np.ndarray:
        return np.kron(to_dense(self.left), to_dense(self.right))

    @property
    def T(self) -> LinOp:
        return Kron(self.left.T, self.right.T)


class Commutation(LinOp):
    """K_{m,n}: vec(A) ↦ vec(Aᵀ) for A of shape m x n."""

    def __init__(self, m: int, n: int) -> None:
        self.m, self.n = m, n
        self.shape = (m * n, m * n)

    def apply(self, x: np.ndarray) -> np.ndarray:
        k = x.shape[1]
        return x.reshape(self.n, self.m, k).transpose(1, 0, 2).reshape(self.m * self.n, k)

    def dense(self) -> np.ndarray:
        return self.apply(np.eye(self.m * self.n))

    @property
    def T(self) -> LinOp:
        return Commutation(self.n, self.m)


class Diag(LinOp):
    def __init__(self, v: np.ndarray) -> None:
        self.v = np.asarray(v).reshape(-1)
        self.shape = (self.v.size, self.v.size)

    def apply(self, m: np.ndarray) -> np.ndarray:
        return self.v[:, None] * m

    def rapply(self, m: np.ndarray) -> np.ndarray:
        return m * self.v[None, :]

    def dense(self) -> np.ndarray:
        return np.diag(self.v)

    @property
    def T(self) -> LinOp:
        return self


def to_dense(value: Any) -> Any:
    return value.dense() if isinstance(value, LinOp) else value


def matmul(left: Any, right: Any) -> Any:
    """left @ right, keeping structure where one side is dense."""
    if isinstance(left, LinOp) and not isinstance(right, LinOp):
        return left.apply(right)
    if isinstance(right, LinOp) and not isinstance(left, LinOp):
        return right.rapply(left)
    if isinstance(left, Ident):
        return right
    if isinstance(right, Ident):
        return left
    if isinstance(left, LinOp):
        return left.apply(to_dense(right))
    return left @ right


def chain(factors: list[Any]) -> Any:
    """The product of factors, multiplying first where a dense operand is next to a LinOp."""
    items = list(factors)
    while len(items) > 1:
        dense_at = [i for i, f in enumerate(items) if not isinstance(f, LinOp)]
        if not dense_at:
            items[-2:] = [matmul(items[-2], items[-1])]
            continue
        i = dense_at[-1]
        j = i - 1 if i > 0 else i + 1
        lo, hi = min(i, j), max(i, j)
        items[lo : hi + 1] = [matmul(items[lo], items[hi])]
    return items[0]
