"""canon.transpose of inverses and powers: (M⁻¹)ᵀ = (Mᵀ)⁻¹ and (Mᵏ)ᵀ = (Mᵀ)ᵏ, with
the transpose pushed into M by matderiv itself (SymPy's runs a deep doit of M)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv.canon import transpose

n = 3
A, B, S = (sp.MatrixSymbol(k, n, n) for k in "ABS")
NESTED = sp.MatAdd(sp.Inverse(sp.MatAdd(A * B.T, S)), 2 * sp.Identity(n))

CASES = {
    "(A Bᵀ + S)⁻¹": sp.Inverse(sp.MatAdd(A * B.T, S)),
    "((A Bᵀ + S)⁻¹ + 2I)⁻¹": sp.Inverse(NESTED),
    "(A + Sᵀ)³": sp.MatPow(sp.MatAdd(A, S.T), 3),
    "(A Bᵀ)⁻²": sp.MatPow(A * B.T, -2),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_transpose_is_right_without_sympy_doit(case, monkeypatch) -> None:
    expr = CASES[case]
    rng = np.random.default_rng(len(case))
    values = {M: sp.Matrix(rng.integers(-3, 4, (n, n))) + 5 * sp.eye(n) for M in (A, B, S)}
    want = np.array(expr.xreplace(values).as_explicit().T, dtype=float)

    def refuse(self, **hints):
        raise AssertionError(f"doit on {self}")

    with monkeypatch.context() as patch:
        for cls in (sp.MatAdd, sp.MatMul, sp.Transpose, sp.Inverse, sp.MatPow):
            patch.setattr(cls, "doit", refuse)
        flipped = transpose(expr)
    assert type(flipped) is type(expr)  # an inverse stays an inverse
    got = np.array(flipped.xreplace(values).as_explicit(), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-9)
