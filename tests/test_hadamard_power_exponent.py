"""An entrywise power's exponent: a 1 x 1 matrix (cᵀc) is a scalar, a larger matrix is
refused by name (it crashed inside SymPy: "Mix of Matrix and Scalar symbols")."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from matderiv import UnsupportedNode, derive, evaluate, gradient
from matderiv.testing import numeric_jacobian

n, m = sp.symbols("n m", integer=True, positive=True)
P = sp.MatrixSymbol("P", n, m)
E = sp.MatrixSymbol("E", n, m)
c = sp.MatrixSymbol("c", n, 1)
SIZES = {n: 4, m: 3}


def _values(seed: int) -> dict[object, object]:
    rng = np.random.default_rng(seed)
    return {
        P: rng.uniform(0.5, 2.0, (4, 3)),  # positive: P^∘(cᵀc) by cᵀc needs log∘P
        c: rng.uniform(-0.8, 0.8, (4, 1)),
        **SIZES,
    }


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    ("build", "variable"),
    [
        (lambda: sp.HadamardPower(P, c.T * c), P),
        (lambda: sp.HadamardPower(P, c.T * c), c),
        (lambda: sp.HadamardPower(P, (c.T * c) * (c.T * c)), c),
        (lambda: sp.Trace(sp.OneMatrix(m, n) * sp.HadamardPower(P, 2 * c.T * c)), P),
    ],
)
def test_a_one_by_one_exponent_is_a_scalar(build, variable, layout) -> None:
    expr = build()
    values = _values(7)
    d = derive(expr, variable, layout)
    got = np.asarray(evaluate(d, values), dtype=float)
    fd = numeric_jacobian(expr, variable, values)
    if isinstance(expr, sp.Trace):  # a gradient: shaped like P (denominator) or Pᵀ
        fd = fd.reshape((4, 3), order="F")
        fd = fd.T if layout == "numerator" else fd
    elif layout == "denominator":
        fd = fd.T
    assert got.shape == fd.shape
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "run",
    [
        lambda: derive(sp.HadamardPower(P, E), P),
        lambda: gradient(sp.Trace(sp.OneMatrix(m, n) * sp.HadamardPower(P, E)), P),
        lambda: derive(sp.HadamardPower(P, E), E),
        lambda: evaluate(sp.HadamardPower(P, E), {P: np.ones((2, 3)), E: np.ones((2, 3))}),
    ],
)
def test_a_matrix_exponent_is_refused_with_the_way_to_write_it(run) -> None:
    with pytest.raises(
        UnsupportedNode, match=r"matrix exponent E of shape .*exp\(E \* log\(P\)\)"
    ):
        run()


def test_the_way_to_write_it_uses_the_nodes_own_names() -> None:
    A, B = sp.MatrixSymbol("A", n, m), sp.MatrixSymbol("B", n, m)
    with pytest.raises(UnsupportedNode, match=r"exp\(B \* log\(A\)\) in matderiv's syntax"):
        derive(sp.HadamardPower(A, B), A)
