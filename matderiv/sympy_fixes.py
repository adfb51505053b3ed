"""Six bugs of SymPy's matrix expressions that matderiv cannot route around, fixed
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
  Matrix and Scalar symbols").  ``MatMul`` inherits ``Mul``'s, which takes the 2
  out of 2 A, and ``factor_terms`` puts it back as a scalar product 2·A, so
  ``factor_terms(tr((2 A)⁻¹))`` raises TypeError ("mat should be a matrix"; for
  other nodes around the product: AttributeError, NotImplementedError).  SymPy's
  power and sign evaluation call it on scalars built over 1 x 1 matrices
  ((4 uᵀu)^½), and Max and Min on the difference of their arguments
  (relu((2 aᵀX b)⁻¹ tr(S)² - 1)).  Fixed: a matrix sum or product has no content
  to take out (1, itself).
- ``signsimp``, which Abs and sign call on their argument, first rewrites each
  sum y - x that can take out a minus sign as -1·(x - y), a scalar product even
  when the sum is of matrices, so ``|tr((B - A) X)|`` raised NotImplementedError
  ("noncommutative scalars in MatMul are not supported") and ``|tr(tanh(B - A))|``
  ValueError.  Fixed: sums of matrices are left as they are (``sub_pre``).
- ``tanh(u).is_real`` computes ``im(u) % (pi/2)``; when u is a 1 x 1 matrix
  expression (``ElementwiseApplyFunction`` applies its function to the whole
  1 x 1 matrix to look at the result) that raises TypeError ("Mix of Matrix and
  Scalar symbols"), so substituting sizes into exp(tanh(aᵀX b)) failed.  Fixed:
  "not known" (None) where SymPy's own check raises.

The fixes only change what was wrong or raised; every other result is SymPy's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.matrices.expressions import kronecker
from sympy.simplify.simplify import signsimp
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


def _matrix_content(self: Any, radical: bool = False, clear: bool = True) -> Any:
    """A sum or product of matrices as its own primitive part: no content to take out."""
    return sp.S.One, self


def _sub_pre(e: Any) -> Any:
    """SymPy's ``cse_opts.sub_pre`` (y - x → -(x - y), marked so that ``sub_post``
    undoes what it does not use), with sums of matrices left alone."""
    adds = [a for a in e.atoms(sp.Add) if not a.is_Matrix and a.could_extract_minus_sign()]
    reps, ignore = {}, set()
    for a in adds:
        na = -a
        if na.is_Mul:
            ignore.add(a)
            continue
        reps[a] = sp.Mul._from_args([sp.S.NegativeOne, na])
    e = e.xreplace(reps)
    if isinstance(e, sp.Basic):
        negs = {}
        for a in sorted(e.atoms(sp.Add), key=sp.default_sort_key):
            if a in ignore or a.is_Matrix:
                continue
            if a in reps:
                negs[a] = reps[a]
            elif a.could_extract_minus_sign():
                negs[a] = sp.Mul._from_args([sp.S.One, sp.S.NegativeOne, -a])
        e = e.xreplace(negs)
    return e


_ORIGINAL_TANH_IS_REAL = sp.tanh._eval_is_real


def _tanh_is_real(self: Any) -> Any:
    """SymPy's answer, or None ("not known") where its check raises on a matrix."""
    try:
        return _ORIGINAL_TANH_IS_REAL(self)
    except TypeError:
        return None


def _raises(probe: Callable[[], Any], *errors: type[Exception]) -> bool:
    """Whether SymPy's ``probe()`` raises one of ``errors`` (the bug is there)."""
    try:
        probe()
    except errors:
        return True
    return False


def _square(*names: str) -> list[Any]:
    n = sp.Symbol("n", integer=True, positive=True)
    return [sp.MatrixSymbol(name, n, n) for name in names]


def _tanh_crashes() -> bool:
    n = sp.Symbol("n", integer=True, positive=True)
    a, b = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("b", n, 1)
    return _raises(lambda: _ORIGINAL_TANH_IS_REAL(sp.tanh(a.T * b)), TypeError)


def _content_crashes() -> bool:
    A, B = _square("A", "B")
    return _raises(lambda: sp.MatAdd(sp.MatMul(2, A), B).as_content_primitive(), TypeError)


def _product_content_crashes() -> bool:
    (A,) = _square("A")
    return _raises(
        lambda: sp.factor_terms(sp.Trace(sp.Inverse(sp.MatMul(2, A)))),
        TypeError,
        AttributeError,
        NotImplementedError,
    )


def _signsimp_crashes() -> bool:
    A, B = _square("A", "B")
    return _raises(
        lambda: signsimp(sp.Trace(sp.MatMul(sp.MatAdd(B, -A), A))),
        TypeError,
        ValueError,
        AttributeError,
        NotImplementedError,
    )


def _trace_is_wrong() -> bool:
    m, n = sp.symbols("m n", integer=True, positive=True)
    A, B = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("B", n, m)
    product = kronecker.KroneckerProduct(A, B)
    return product._eval_trace() is not None


def _extraction_crashes() -> bool:
    A, B, C = _square("A", "B", "C")
    return _raises(
        lambda: kronecker.KroneckerProduct(sp.MatMul(2, A, B), C).doit(), AttributeError, TypeError
    )


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
        sp.MatAdd.as_content_primitive = _matrix_content
    if _product_content_crashes():
        sp.MatMul.as_content_primitive = _matrix_content
    if _signsimp_crashes():
        # the module, not the function sympy.simplify.simplify that shadows its name
        module: Any = importlib.import_module("sympy.simplify.simplify")
        module.sub_pre = _sub_pre
    if _tanh_crashes():
        sp.tanh._eval_is_real = _tanh_is_real
        # the assumption system reads its handlers from a table built with the class
        handlers = getattr(sp.tanh, "_prop_handler", None)
        if isinstance(handlers, dict) and "real" in handlers:
            handlers["real"] = _tanh_is_real


apply()
