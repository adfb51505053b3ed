"""The motivating example of DESIGN.md: one RNN step, in every layout and form of wrt."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import derive, gradient, vec
from matderiv.examples import rnn_loss, rnn_step
from matderiv.nodes import DiagVector
from matderiv.testing import check_derivation

STEP = rnn_step()
h1 = STEP.names["h_1"]
n_h = h1.shape[0]
e1 = sp.MatrixSymbol("e_1", STEP.wrt.arg.arg.shape[0], 1)
W = STEP.wrt.arg.arg
D = DiagVector(sp.OneMatrix(n_h, 1) - sp.HadamardPower(h1, 2))
I = sp.Identity(n_h)  # noqa: E741


def _same(result, expected) -> bool:
    return sp.MatMul(result).doit() == sp.MatMul(expected).doit()


@pytest.mark.parametrize(
    "wrt, layout, expected",
    [
        (W, "denominator", sp.MatMul(sp.KroneckerProduct(I, e1), D)),
        (vec(W), "denominator", sp.MatMul(sp.KroneckerProduct(I, e1), D)),
        (vec(W.T), "denominator", sp.MatMul(sp.KroneckerProduct(e1, I), D)),
        (W, "numerator", sp.MatMul(D, sp.KroneckerProduct(I, e1.T))),
        (vec(W.T), "numerator", sp.MatMul(D, sp.KroneckerProduct(e1.T, I))),
    ],
)
def test_rnn_step_textbook_forms(wrt, layout, expected) -> None:
    d = derive(h1, wrt, layout)
    assert _same(d.result, expected), d.result
    check_derivation(d, STEP.dims)


def test_the_hand_derived_seed_formula_is_the_wrong_shape() -> None:
    d = derive(h1, vec(W.T), "denominator")
    n_i = e1.shape[0]
    assert d.shape == (n_i * n_h, n_h)
    wrong = sp.KroneckerProduct(e1.T, I)  # (n_h × n_i·n_h): cannot multiply diag(...) (n_h × n_h)
    assert wrong.shape[1] != n_h


def test_rnn_loss_gradient_is_a_plain_matrix_formula() -> None:
    ex = rnn_loss()
    d = gradient(ex.expr, ex.wrt)
    assert d.shape == W.shape
    kinds = {type(node).__name__ for node in sp.preorder_traversal(d.result)}
    assert not kinds & {"KroneckerProduct", "CommutationMatrix", "Vec", "Reshape"}
    check_derivation(d, ex.dims)
