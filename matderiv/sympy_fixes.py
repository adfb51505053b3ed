"""Four bugs of SymPy's matrix expressions that matderiv cannot route around, fixed
when matderiv is imported (each only if the installed SymPy has it).

SymPy runs a deep ``doit()`` from its arithmetic operators and from its
assumption system (``tanh(u).is_real`` may expand ``u``, multiplying the matrix
expressions inside it), so any scalar built over a matrix entry can reach these:

- ``KroneckerProduct._eval_trace`` returns tr(A)·tr(B) for tr(A ⊗ B) even when A
  and B are not square (A: m x n, B: n x m make A ⊗ B square): a wrong answer,
  and a trace of a non-square matrix that cannot be evaluated.  Fixed: the
  product of traces only when every factor is square; otherwise tr(A ⊗ B) stays.
- The canonicalisation rule ``extract_commutative`` rebuilds a factor c·A·B as a
  scalar ``Mul`` of matrices, so ``2·(A B) ⊗ C`` raises AttributeError
  ("'Mul' object has no attribute 'is_Identity'").  Fixed: the factor is rebuilt
  as a matrix product.
- ``MatAdd`` inherits ``Add.as_content_primitive``, which rebuilds the sum from
  scalar products, so ``factor_terms(tr(2 A + 4 B))`` raises TypeError ("Mix of
  Matrix and Scalar symbols").  SymPy's power and sign evaluation call it on
  scalars built over 1 x 1 matrices ((4 uᵀu)^½).  Fixed: a matrix sum has no
  content to take out (1, itself).
- ``tanh(u).is_real`` computes ``im(u) % (pi/2)``; when u is a 1 x 1 matrix
  expression (``ElementwiseApplyFunction`` applies its function to the whole
  1 x 1 matrix to look at the result) that raises TypeError ("Mix of Matrix and
  Scalar symbols"), so substituting sizes into exp(tanh(aᵀX b)) failed.  Fixed:
  "not known" (None) where SymPy's own check raises.

The fixes only change what was wrong or raised; every other result is SymPy's.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions import kronecker
from sympy.strategies import condition, do_one, exhaust

from .shapes import dims_equal

_ORIGINAL_TRACE = kronecker.KroneckerProduct._eval_trace


def _eval_trace(self: Any) -> Any:
    """tr(A ⊗ B) = tr(A) tr(B) for square A and B; otherwise left as it is."""
    if all(dims_equal(a.rows, a.cols) for a in self.args):
        return _ORIGINAL_TRACE(self)
    return None


def _extract_commutative(kron: Any) -> Any:
    """c·A ⊗ B → c·(A ⊗ B), each factor's matrices kept as a matrix product."""
    c_part: list[Any] = []
    nc_part: list[Any] = []
    for arg in kron.args:
        c, nc = arg.args_cnc()
        c_part.extend(c)
        nc_part.append(nc[0] if len(nc) == 1 else sp.MatMul(*nc))
    coeff = sp.Mul(*c_part)
    if coeff != 1:
        return sp.MatMul(coeff, kronecker.KroneckerProduct(*nc_part))
    return kron


def _matadd_content(self: Any, radical: bool = False, clear: bool = True) -> Any:
    """A sum of matrices as its own primitive part: no content to take out."""
    return sp.S.One, self


_ORIGINAL_TANH_IS_REAL = sp.tanh._eval_is_real


def _tanh_is_real(self: Any) -> Any:
    """SymPy's answer, or None ("not known") where its check raises on a matrix."""
    try:
        return _ORIGINAL_TANH_IS_REAL(self)
    except TypeError:
        return None


def _tanh_crashes() -> bool:
    n = sp.Symbol("n", integer=True, positive=True)
    a, b = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("b", n, 1)
    try:
        _ORIGINAL_TANH_IS_REAL(sp.tanh(a.T * b))
    except TypeError:
        return True
    return False


def _content_crashes() -> bool:
    n = sp.Symbol("n", integer=True, positive=True)
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    try:
        sp.MatAdd(sp.MatMul(2, A), B).as_content_primitive()
    except TypeError:
        return True
    return False


def _trace_is_wrong() -> bool:
    m, n = sp.symbols("m n", integer=True, positive=True)
    A, B = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("B", n, m)
    product = kronecker.KroneckerProduct(A, B)
    return product._eval_trace() is not None


def _extraction_crashes() -> bool:
    n = sp.Symbol("n", integer=True, positive=True)
    A, B, C = (sp.MatrixSymbol(s, n, n) for s in "ABC")
    try:
        kronecker.KroneckerProduct(sp.MatMul(2, A, B), C).doit()
    except (AttributeError, TypeError):
        return True
    return False


def apply() -> None:
    """Install the fixes this SymPy needs (idempotent; run when this module is
    imported, which ``import matderiv`` does first)."""
    if _trace_is_wrong():
        kronecker.KroneckerProduct._eval_trace = _eval_trace
    if _extraction_crashes():
        rules = tuple(
            _extract_commutative if rule is kronecker.extract_commutative else rule
            for rule in kronecker.rules
        )
        kronecker.rules = rules
        kronecker.canonicalize = exhaust(
            condition(lambda x: isinstance(x, kronecker.KroneckerProduct), do_one(*rules))
        )
    if _content_crashes():
        sp.MatAdd.as_content_primitive = _matadd_content
    if _tanh_crashes():
        sp.tanh._eval_is_real = _tanh_is_real
        # the assumption system reads its handlers from a table built with the class
        handlers = getattr(sp.tanh, "_prop_handler", None)
        if isinstance(handlers, dict) and "real" in handlers:
            handlers["real"] = _tanh_is_real


apply()
