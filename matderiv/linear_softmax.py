"""The linear maps of a softmax and a logsumexp along an axis of a matrix.

With Y = softmax(S) along the axis (each row: axis 1; each column: axis 0) and
R(A) the sums of A along it, spread back (A 𝟏𝟏ᵀ for rows, 𝟏𝟏ᵀ A for columns):

- d softmax(S) = Y ∘ (dS - R(Y ∘ dS)): each row's (column's) diag(y) - y yᵀ; the map
  is its own adjoint, and its vec form is D - D (𝟏𝟏ᵀ ⊗ I) D (rows) or
  D - D (I ⊗ 𝟏𝟏ᵀ) D (columns) with D = diag(vec Y);
- d logsumexp(S) = (Y ∘ dS) 𝟏 (rows: a column) or 𝟏ᵀ (Y ∘ dS) (columns: a row), with
  adjoint Y ∘ (g 𝟏ᵀ) or Y ∘ (𝟏 g) and vec form (𝟏ᵀ ⊗ I) D or (I ⊗ 𝟏ᵀ) D.

A column vector's softmax and logsumexp keep their textbook maps (rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .canon import matmul
from .linear import as_1x1
from .nodes import DiagVector, Vec
from .shapes import Shape


def _ones(rows: Any, cols: Any) -> Any:
    return sp.OneMatrix(rows, cols)


def _spread_sums(A: Any, shape: Shape, axis: int) -> Any:
    """The sums of A along ``axis`` put back in every entry: A 𝟏 𝟏ᵀ or 𝟏 𝟏ᵀ A."""
    rows, cols = shape
    if axis == 1:
        return matmul(A, _ones(cols, 1), _ones(1, cols))
    return matmul(_ones(rows, 1), _ones(1, rows), A)


def _diag_vec(Y: Any) -> Any:
    return DiagVector(Vec(Y))


def _vec_sums(shape: Shape, axis: int, spread: bool) -> Any:
    """The sums along ``axis`` in vec form: 𝟏ᵀ ⊗ I (rows) or I ⊗ 𝟏ᵀ (columns); spread
    back into every entry, 𝟏𝟏ᵀ ⊗ I or I ⊗ 𝟏𝟏ᵀ."""
    rows, cols = shape
    if axis == 1:
        return sp.KroneckerProduct(_ones(cols if spread else 1, cols), sp.Identity(rows))
    return sp.KroneckerProduct(sp.Identity(cols), _ones(rows if spread else 1, rows))


@dataclass(frozen=True)
class SoftmaxMap:
    """dS ↦ Y ∘ (dS - R(Y ∘ dS)), Y = softmax(S) along ``axis`` (self-adjoint)."""

    in_shape: Shape
    value: Any
    axis: int

    def _apply(self, A: Any) -> Any:
        weighted = sp.HadamardProduct(self.value, A)
        return sp.HadamardProduct(
            self.value, sp.MatAdd(A, matmul(-1, _spread_sums(weighted, self.in_shape, self.axis)))
        )

    def push(self, jac: Any) -> Any:
        D = _diag_vec(self.value)
        sums = _vec_sums(self.in_shape, self.axis, spread=True)
        return matmul(sp.MatAdd(D, matmul(-1, D, sums, D)), jac)

    def pull(self, adjoint: Any) -> Any:
        return self._apply(as_1x1(adjoint))

    def differential(self, d_operand: Any) -> Any:
        return self._apply(d_operand)


@dataclass(frozen=True)
class LogSumExpMap:
    """dS ↦ (Y ∘ dS) 𝟏 (rows) or 𝟏ᵀ (Y ∘ dS) (columns), Y = softmax(S) along ``axis``."""

    in_shape: Shape
    value: Any
    axis: int

    def push(self, jac: Any) -> Any:
        sums = _vec_sums(self.in_shape, self.axis, spread=False)
        return matmul(sums, _diag_vec(self.value), jac)

    def pull(self, adjoint: Any) -> Any:
        rows, cols = self.in_shape
        g = as_1x1(adjoint)
        spread = matmul(g, _ones(1, cols)) if self.axis == 1 else matmul(_ones(rows, 1), g)
        return sp.HadamardProduct(self.value, spread)

    def differential(self, d_operand: Any) -> Any:
        rows, cols = self.in_shape
        weighted = sp.HadamardProduct(self.value, d_operand)
        if self.axis == 1:
            return matmul(weighted, _ones(cols, 1))
        return matmul(_ones(1, rows), weighted)
