"""The linear maps a differential is made of.

A rule (``rules.py``) says how a node's differential depends on the
differentials of its operands: d(AXB) = A dX B is a ``Sandwich``, d(X^T) = dX^T a
``TransposeMap``, d tanh(A) = (1 - tanh(A)∘tanh(A)) ∘ dA a ``HadamardMap`` ...
Each map knows three things about itself:

- ``push(J)``: forward (vec) mode, the Jacobian of the node given the operand's
  Jacobian J = d vec(C) / d vec(X)^T, e.g. (B^T ⊗ A) J for a Sandwich;
- ``pull(G)``: reverse mode, the operand's adjoint given the node's adjoint G
  (both shaped like their matrices, scalars for 1 x 1), e.g. A^T G B^T;
- ``differential(dC)``: the differential itself, for showing the step.

Scalars are 1 x 1.  Source: Magnus & Neudecker, *Matrix Differential Calculus*,
ch. 2-3 and 8-9; The Matrix Cookbook, sec. 2 and 10.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import sympy as sp

from .canon import matmul, transpose
from .nodes import AsScalar, CommutationMatrix, Diagonal, DiagVector, Reshape, Vec
from .shapes import Shape, dims_equal, is_matrix, shape_of, shapes_equal
from .substitute import unchecked


def _identity(n: Any) -> Any:
    return sp.Identity(n)


def _kron(*factors: Any) -> Any:
    """A ⊗ B ⊗ ... without SymPy's evaluation; 1-factor products collapse."""
    if len(factors) == 1:
        return factors[0]
    return sp.KroneckerProduct(*factors)


class LinearMap(Protocol):
    """What every map below provides; ``in_shape`` is the operand's shape."""

    @property
    def in_shape(self) -> Shape: ...

    def push(self, jac: Any) -> Any: ...

    def pull(self, adjoint: Any) -> Any: ...

    def differential(self, d_operand: Any) -> Any: ...


@dataclass(frozen=True)
class Sandwich:
    """dC ↦ coeff · L dC R;  vec form (R^T ⊗ L), adjoint coeff · L^T G R^T."""

    in_shape: Shape
    left: Any = None
    right: Any = None
    coeff: Any = sp.S.One

    def push(self, jac: Any) -> Any:
        if self.left is None and self.right is None:
            return _scale(self.coeff, jac)
        m, n = self.in_shape
        left = _identity(m) if self.left is None else self.left
        right_t = _identity(n) if self.right is None else transpose(self.right)
        return _scale(self.coeff, matmul(_kron(right_t, left), jac))

    def pull(self, adjoint: Any) -> Any:
        factors = [f for f in (_t(self.left), adjoint, _t(self.right)) if f is not None]
        return _scale(self.coeff, _product(factors))

    def differential(self, d_operand: Any) -> Any:
        factors = [f for f in (self.left, d_operand, self.right) if f is not None]
        return _scale(self.coeff, _product(factors))


@dataclass(frozen=True)
class TransposeMap:
    """dC ↦ dC^T;  vec form K_{m,n}, adjoint G^T."""

    in_shape: Shape

    def push(self, jac: Any) -> Any:
        return matmul(CommutationMatrix(*self.in_shape), jac)

    def pull(self, adjoint: Any) -> Any:
        return transpose(adjoint) if is_matrix(adjoint) else adjoint

    def differential(self, d_operand: Any) -> Any:
        return transpose(d_operand)


@dataclass(frozen=True)
class HadamardMap:
    """dC ↦ H ∘ dC;  vec form diag(vec H), adjoint H ∘ G."""

    in_shape: Shape
    factor: Any

    def push(self, jac: Any) -> Any:
        return matmul(DiagVector(Vec(self.factor)), jac)

    def pull(self, adjoint: Any) -> Any:
        if not is_matrix(adjoint):
            return _scale(adjoint, self.factor)
        return unchecked(sp.HadamardProduct, adjoint, self.factor)

    def differential(self, d_operand: Any) -> Any:
        return sp.HadamardProduct(self.factor, d_operand)


@dataclass(frozen=True)
class TraceMap:
    """dC ↦ coeff · tr(A dC) (a scalar);  vec form coeff · vec(A^T)^T, adjoint coeff · g A^T."""

    in_shape: Shape
    inner: Any = None
    coeff: Any = sp.S.One

    def _inner_t(self) -> Any:
        return _identity(self.in_shape[0]) if self.inner is None else transpose(self.inner)

    def push(self, jac: Any) -> Any:
        return _scale(self.coeff, matmul(transpose(Vec(self._inner_t())), jac))

    def pull(self, adjoint: Any) -> Any:
        return _scale(self.coeff * adjoint, self._inner_t())

    def differential(self, d_operand: Any) -> Any:
        inner = d_operand if self.inner is None else matmul(self.inner, d_operand)
        return _scale(self.coeff, sp.Trace(inner))


@dataclass(frozen=True)
class ScalarToMatrix:
    """ds ↦ ds · V for a scalar s;  vec form vec(V), adjoint tr(V^T G)."""

    in_shape: Shape
    value: Any

    def push(self, jac: Any) -> Any:
        return matmul(Vec(self.value), jac)

    def pull(self, adjoint: Any) -> Any:
        if not is_matrix(adjoint):
            return _scale(adjoint, self.value)
        return sp.Trace(matmul(transpose(self.value), adjoint))

    def differential(self, d_operand: Any) -> Any:
        return _scale(d_operand, self.value)


@dataclass(frozen=True)
class KronMap:
    """dC ↦ L ⊗ dC ⊗ R;  vec form by vec(A ⊗ B) = (I_n ⊗ K_{q,m} ⊗ I_p)(vec A ⊗ vec B).

    Magnus & Neudecker, Theorem 3.10, for A: m x n and B: p x q.
    """

    in_shape: Shape
    left: Any = None
    right: Any = None

    def jacobian(self) -> Any:
        m, n = self.in_shape
        factors = []
        if self.right is not None:
            p, q = self.right.shape
            reorder = _kron(_identity(n), CommutationMatrix(q, m), _identity(p))
            factors.append(matmul(reorder, _kron(_identity(m * n), Vec(self.right))))
            m, n = m * p, n * q
        if self.left is not None:
            a, b = self.left.shape
            reorder = _kron(_identity(b), CommutationMatrix(n, a), _identity(m))
            factors.insert(0, matmul(reorder, _kron(Vec(self.left), _identity(m * n))))
        return matmul(*factors) if factors else _identity(m * n)

    def push(self, jac: Any) -> Any:
        return matmul(self.jacobian(), jac)

    def pull(self, adjoint: Any) -> Any:
        closed = self._pull_factorwise(adjoint)
        if closed is not None:
            return closed
        m, n = self.in_shape
        return Reshape(matmul(transpose(self.jacobian()), Vec(as_1x1(adjoint))), m, n)

    def _pull_factorwise(self, adjoint: Any) -> Any | None:
        """The adjoint when G is c · (B ⊗ C ⊗ D), split like L ⊗ dX ⊗ R, an identity with
        every part square (I ⊗ I ⊗ I) or a ones matrix (𝟏 ⊗ 𝟏 ⊗ 𝟏): c · tr(Lᵀ B) tr(Rᵀ D) C,
        as tr(Gᵀ (L ⊗ dX ⊗ R)) = c · tr(Lᵀ B) tr(dXᵀ C) tr(Rᵀ D); tr(Lᵀ 𝟏) is 𝟏ᵀ L 𝟏.
        None for other G."""
        coeff, G = sp.S.One, adjoint
        if isinstance(G, sp.MatMul):
            coeff, mats = G.as_coeff_matrices()
            if len(mats) != 1:
                return None
            G = mats[0]
        parts = [p for p in (self.left, self.in_shape, self.right) if p is not None]
        shapes = [p if isinstance(p, tuple) else shape_of(p) for p in parts]
        if isinstance(G, sp.Identity) and all(dims_equal(r, c) for r, c in shapes):
            pieces = [_identity(r) for r, _ in shapes]
        elif isinstance(G, sp.OneMatrix):
            pieces = [sp.OneMatrix(r, c) for r, c in shapes]
        elif isinstance(G, sp.KroneckerProduct) and len(G.args) == len(parts):
            pieces = list(G.args)
            if not all(shapes_equal(shape_of(g), s) for g, s in zip(pieces, shapes, strict=True)):
                return None
        else:
            return None
        factors = [coeff]
        for part, piece in zip(parts, pieces, strict=True):
            if isinstance(part, tuple):
                operand = piece
            elif isinstance(piece, sp.Identity):
                factors.append(sp.Trace(part))
            elif isinstance(piece, sp.OneMatrix):  # the sum of part's entries
                r, c = piece.shape
                factors.append(AsScalar(matmul(sp.OneMatrix(1, r), part, sp.OneMatrix(c, 1))))
            else:
                factors.append(sp.Trace(matmul(transpose(part), piece)))
        return _scale(sp.Mul(*factors), operand)

    def differential(self, d_operand: Any) -> Any:
        factors = [f for f in (self.left, d_operand, self.right) if f is not None]
        return _kron(*factors)


@dataclass(frozen=True)
class DiagMap:
    """dv ↦ diag(dv);  vec form diag(vec I_n)(1_n ⊗ I_n), adjoint diag(G), the diagonal
    of the adjoint matrix G (= (I ∘ G) 1_n)."""

    in_shape: Shape

    def push(self, jac: Any) -> Any:
        n = self.in_shape[0]
        select = _kron(sp.OneMatrix(n, 1), _identity(n))
        return matmul(DiagVector(Vec(_identity(n))), select, jac)

    def pull(self, adjoint: Any) -> Any:
        return Diagonal(as_1x1(adjoint))

    def differential(self, d_operand: Any) -> Any:
        return DiagVector(d_operand)


@dataclass(frozen=True)
class DiagonalMap:
    """dX ↦ diag(dX) (the diagonal of a square X);  vec form (1_nᵀ ⊗ I_n) diag(vec I_n),
    adjoint diag(G), the diagonal matrix of the adjoint column G."""

    in_shape: Shape

    def push(self, jac: Any) -> Any:
        n = self.in_shape[0]
        select = _kron(sp.OneMatrix(1, n), _identity(n))
        return matmul(select, DiagVector(Vec(_identity(n))), jac)

    def pull(self, adjoint: Any) -> Any:
        return DiagVector(as_1x1(adjoint))

    def differential(self, d_operand: Any) -> Any:
        return Diagonal(d_operand)


@dataclass(frozen=True)
class VecMap:
    """dC ↦ vec(dC);  vec form I, adjoint vec⁻¹(G)."""

    in_shape: Shape

    def push(self, jac: Any) -> Any:
        return jac

    def pull(self, adjoint: Any) -> Any:
        if not is_matrix(adjoint):  # vec of a 1 x 1 is itself
            return adjoint
        return Reshape(adjoint, *self.in_shape)

    def differential(self, d_operand: Any) -> Any:
        return Vec(d_operand)


@dataclass(frozen=True)
class ReshapeMap:
    """dv ↦ vec⁻¹(dv);  vec form I, adjoint vec(G)."""

    in_shape: Shape
    out_shape: Shape

    def push(self, jac: Any) -> Any:
        return jac

    def pull(self, adjoint: Any) -> Any:
        return adjoint if not is_matrix(adjoint) else Vec(adjoint)

    def differential(self, d_operand: Any) -> Any:
        return Reshape(d_operand, *self.out_shape)


def as_1x1(value: Any) -> Any:
    """A scalar adjoint as a 1 x 1 matrix, for maps that need a matrix operand."""
    return value if is_matrix(value) else sp.MatMul(value, sp.Identity(1))


def _t(expr: Any) -> Any:
    return None if expr is None else transpose(expr)


def _scale(coeff: Any, expr: Any) -> Any:
    if coeff == 1:
        return expr
    if is_matrix(expr) and is_matrix(coeff):
        raise TypeError("internal: matrix coefficient in _scale")
    if is_matrix(expr):
        # not ``coeff * expr`` or MatMul.doit: SymPy runs a deep doit() from both
        # (MatMul's to split 2·(A + B)), which trips over its own bugs in the operands
        return matmul(coeff, expr)
    return coeff * expr


def _product(factors: list[Any]) -> Any:
    """Multiply matrices and scalars in order; a lone scalar stays a scalar."""
    matrices = [f for f in factors if is_matrix(f)]
    scalars = [f for f in factors if not is_matrix(f)]
    coeff = sp.Mul(*scalars)
    if not matrices:
        return coeff
    return _scale(coeff, matmul(*matrices))
