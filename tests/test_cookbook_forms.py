"""Matrix Cookbook results in the Cookbook's own form (a review found these correct
but written out: (X⁻ᵀ)⁻¹ uncancelled, powers of inverses unmerged, inverses of
products and of Kronecker products kept whole, double negations).  Each result is
compared with the Cookbook's formula, written here independently as printed text,
and checked against central finite differences."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import derive, gradient, hessian, norm
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation

n, p = sp.symbols("n p", integer=True, positive=True)
X, A, B, W, Y = (sp.MatrixSymbol(s, n, n) for s in "XABWY")
Bp = sp.MatrixSymbol("B", p, p)
x, s = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("s", n, 1)
DIMS = {n: 3, p: 2}


@pytest.mark.parametrize(
    "f, wrt, textbook",
    [
        # (Cookbook eq.) function, variable, the gradient as the Cookbook writes it
        (sp.Determinant(X.I), X, "-det(X⁻¹) X⁻ᵀ"),  # (63)
        (sp.log(sp.Abs(sp.Determinant(X))), X, "X⁻ᵀ"),  # (54)
        (sp.Determinant(X**3), X, "3·det(X³) X⁻ᵀ"),  # (56), k = 3
        (sp.Trace(X.I**2), X, "-2 (Xᵀ)⁻³"),
        (sp.Determinant(A * X * B), X, "det(A X B) X⁻ᵀ"),  # (51)
        (sp.log(sp.Determinant(sp.KroneckerProduct(X, Bp))), X, "p X⁻ᵀ"),
        (sp.Trace(sp.HadamardProduct(Y, Y.T)), Y, "2 I_n∘Y"),
        ((x - A * s).T * W * (x - A * s), s, "Aᵀ (W + Wᵀ) (A s - x)"),  # (84), sign inside
    ],
    ids=[
        "det inv",
        "log abs det",
        "det cube",
        "tr inv squared",
        "det AXB",
        "logdet kron",
        "tr Y∘Yᵀ",
        "(84)",
    ],
)
def test_gradients_read_as_in_the_cookbook(f, wrt, textbook) -> None:
    d = gradient(f, wrt)
    assert fmt(d.result) == textbook
    check_derivation(d, DIMS, definite={X, A, B, Bp})


def test_a_hessian_has_no_double_negation() -> None:
    """d² tr(X⁻¹): -(-X⁻¹ ⊗ (Xᵀ)⁻² - X⁻² ⊗ X⁻ᵀ) K is (X⁻¹ ⊗ (Xᵀ)⁻² + X⁻² ⊗ X⁻ᵀ) K."""
    d = hessian(sp.Trace(X.I), X)
    assert fmt(d.result) == "(X⁻¹ ⊗ (Xᵀ)⁻² + X⁻² ⊗ X⁻ᵀ) K_{n,n}"
    check_derivation(d, DIMS, definite={X})


a = sp.MatrixSymbol("a", n, 1)


@pytest.mark.parametrize(
    "f, textbook",
    [
        (x * (a.T * x), "(aᵀ x) I_n + x aᵀ"),
        (x * (a.T * x).applyfunc(sp.tanh), "tanh(aᵀ x) I_n + (1 - tanh(aᵀ x)∘tanh(aᵀ x)) x aᵀ"),
        (x * (a.T * x) * (a.T * x), "(aᵀ x) ((aᵀ x) I_n + 2 x aᵀ)"),
        (x * (x.T * x).I, "1/(xᵀ x) (I_n - 2/(xᵀ x) x xᵀ)"),
    ],
    ids=["x aᵀx", "x tanh(aᵀx)", "x (aᵀx)²", "x/(xᵀx)"],
)
def test_one_by_one_factors_of_a_jacobian_are_scalars(f, textbook) -> None:
    """(xᵀa) ⊗ I_n + x aᵀ was the chain rule's form of d(x aᵀx)/dx: a Kronecker product
    with a 1 x 1 matrix, a diag of one, a 1 x 1 run inside a product, (xᵀx)⁻¹."""
    d = derive(f, x)
    assert fmt(d.result) == textbook
    check_derivation(d, DIMS)


def test_the_rayleigh_quotient_as_a_product_with_an_inverse() -> None:
    """xᵀA x (xᵀx)⁻¹ reads as the same quotient written with scalars."""
    d = gradient((x.T * A * x) * (x.T * x).I, x)
    assert fmt(d.result) == "1/(xᵀ x) (A + Aᵀ - 2·(xᵀ A x)/(xᵀ x) I_n) x"
    check_derivation(d, DIMS)


def test_vec_of_the_identity_times_kronecker_terms_is_a_vec() -> None:
    """d tr(XᵀX) through the chain rule is vec(I)ᵀ (I ⊗ Xᵀ + (Xᵀ ⊗ I) K): 2 vec(X)ᵀ."""
    Xr, z = sp.MatrixSymbol("X", p, n), sp.MatrixSymbol("z", p, 1)
    d = derive(sp.Trace(Xr.T * Xr) * z, Xr)
    assert fmt(d.result) == "2 z vec(X)ᵀ"
    check_derivation(d, DIMS)
    h = hessian(norm(Xr), Xr)
    assert fmt(h.result) == "1/‖X‖_F (I_{n·p} - 1/tr(Xᵀ X) vec(X) vec(X)ᵀ)"
    check_derivation(h, DIMS)
