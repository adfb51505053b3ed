"""Derivatives through (X + I)ᵏ: SymPy builds (Z + I)(Z + I) as a power, and the
expansion's Kronecker products of identities (I₃ ⊗ I₃, which SymPy makes I₉ when built)
crashed every gradient, Hessian and HVP through it with SymPy's AttributeError
("'Integer' object has no attribute 'is_Identity'").  Checked against central finite
differences at two sizes, both layouts."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import derive, hessian, hvp
from matderiv.testing import check_derivation

n = sp.Symbol("n", integer=True, positive=True)
Z, Y = sp.MatrixSymbol("Z", n, n), sp.MatrixSymbol("Y", n, n)
EYE = sp.Identity(n)

FUNCTIONS = {
    "tr((Z + I)^2)": sp.Trace(sp.MatPow(Z + EYE, 2)),
    "tr((Z Z^T + I)^2)": sp.Trace(sp.MatPow(Z * Z.T + EYE, 2)),
    "logdet((Z + I)(Z + I)^T + I)": sp.log(sp.Determinant((Z + EYE) * (Z + EYE).T + EYE)),
    "||Y Z + Z + I||_F^2": sp.Trace((Y * Z + Z + EYE).T * (Y * Z + Z + EYE)),
    "tr((Z + I)^3 Y)": sp.Trace(sp.MatPow(Z + EYE, 3) * Y),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("size", [3, 4])
def test_gradients_through_a_shifted_power(name: str, layout: str, size: int) -> None:
    d = derive(FUNCTIONS[name], Z, layout)
    assert check_derivation(d, {n: size}) < 1e-5


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("second", [hessian, hvp], ids=["hessian", "hvp"])
def test_second_order_through_a_shifted_power(name: str, second) -> None:
    d = second(FUNCTIONS[name], Z)
    assert check_derivation(d, {n: 3}) < 1e-5


def test_a_power_of_a_concrete_shifted_matrix() -> None:
    """The report's own case, at a numeric size: I₃ ⊗ I₃ is I₉ at once."""
    Z3 = sp.MatrixSymbol("Z", 3, 3)
    d = derive(sp.Trace(sp.MatPow(Z3 + sp.Identity(3), 2)), Z3, "denominator")
    assert check_derivation(d, {}) < 1e-5
