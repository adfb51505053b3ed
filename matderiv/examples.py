"""Worked examples: the expressions behind ``matderiv example ...`` and the README."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .nodes import vec


@dataclass(frozen=True)
class Example:
    """An expression to differentiate, its variable and the names of its intermediates."""

    title: str
    expr: Any
    wrt: Any
    layout: str
    names: dict[str, Any]
    dims: dict[Any, int]
    order: int = 1  # 2: the Hessian d²f/dvec(X)dvec(X)ᵀ of the scalar expr


def rnn_step(wrt_form: str = "vecT", layout: str = "denominator") -> Example:
    """One RNN step h1 = tanh(W_hxᵀ e1 + W_hhᵀ h0), differentiated with respect to W_hx.

    ``wrt_form`` is "X" (W_hx itself, through vec), "vec" or "vecT" (vec(W_hxᵀ)).
    """
    n_i, n_h = sp.symbols("n_i n_h", integer=True, positive=True)
    w_hx = sp.MatrixSymbol("W_hx", n_i, n_h)
    w_hh = sp.MatrixSymbol("W_hh", n_h, n_h)
    e1 = sp.MatrixSymbol("e_1", n_i, 1)
    h0 = sp.MatrixSymbol("h_0", n_h, 1)
    a1 = w_hx.T * e1 + w_hh.T * h0
    h1 = a1.applyfunc(sp.tanh)
    wrt = {"X": w_hx, "vec": vec(w_hx), "vecT": vec(w_hx.T)}[wrt_form]
    return Example(
        "one RNN step: h_1 = tanh(W_hxᵀ e_1 + W_hhᵀ h_0)",
        h1,
        wrt,
        layout,
        {"a_1": a1, "h_1": h1},
        {n_i: 3, n_h: 4},
    )


def rnn_loss() -> Example:
    """The scalar loss L = cᵀ h1 of one RNN step, differentiated with respect to W_hx."""
    step = rnn_step()
    n_h = step.names["h_1"].shape[0]
    c = sp.MatrixSymbol("c", n_h, 1)
    w_hx = step.wrt.arg.arg
    return Example(
        "the loss L = cᵀ h_1 of one RNN step",
        c.T * step.expr,
        w_hx,
        "denominator",
        {**step.names, "L": c.T * step.expr},
        step.dims,
    )


def logdet_hessian() -> Example:
    """The Hessian of log det X: -(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}, where the commutation matrix
    is the step people drop."""
    n = sp.Symbol("n", integer=True, positive=True)
    X = sp.MatrixSymbol("X", n, n)
    return Example(
        "the Hessian of log det X",
        sp.log(sp.Determinant(X)),
        X,
        "numerator",
        {},
        {n: 3},
        order=2,
    )


EXAMPLES = {"rnn": rnn_step, "rnn-loss": rnn_loss, "logdet-hessian": logdet_hessian}
