"""Property tests for the forms that name a function of exp, and for ⊗ under a sum.

The rewrites sigmoid_of_exp (1/(1 + exp(u)) is σ(-u)) and softmax_of_exp
(exp(z)/𝟏ᵀexp(z) is softmax(z)), and KronMap's factor-by-factor adjoint
(tr(Gᵀ(A ⊗ dX)) with G a Kronecker product, I or 𝟏), each fire on losses built
from a random well-shaped tree T (random_trees.expressions):

- softplus  𝟏ᵀ log(𝟏 + exp(c T)),  c ∈ {1, -1, 2}
- sigmoid   𝟏ᵀ (S ∘ exp(T) ∘ (exp(T) + 𝟏)^∘-k),  k ∈ {1, 2, 3}
- lse       log 𝟏ᵀ exp(T)
- softmax   𝟏ᵀ (S ∘ exp(T)) / 𝟏ᵀ exp(T)  (softmax written out, weighted by a tree S)
- kron      𝟏ᵀ (A ⊗ T) 𝟏,  tr(B ⊗ T) for a square T

Each derivative (either layout) matches central differences of f, the Hessian matches
central differences of the gradient, and its generated code computes what evaluate
computes, at points where every subexpression is moderate.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import assume, event, given, note, reject
from hypothesis import strategies as st
from random_trees import DIMS as TREE_DIMS
from random_trees import SIZES as TREE_SIZES
from random_trees import VARIABLES, budget, expressions, largest_value

from matderiv import derive, evaluate, gradient, hessian, lambdify
from matderiv.nodes import AsScalar
from matderiv.testing import check_derivation, numeric_jacobian, random_values

ONE = sp.S.One
KRON_A = sp.MatrixSymbol("K_A", 2, 3)
KRON_B = sp.MatrixSymbol("K_B", 2, 2)


WATCHED = {"sigmoid of exp", "softmax of exp", "trace of transpose", "diag times vector"}


def _summed(M):
    rows, cols = M.shape
    return sp.MatMul(sp.OneMatrix(1, rows), M, sp.OneMatrix(cols, 1))


def _exp(M):
    return M.applyfunc(sp.exp)


@st.composite
def exp_cases(draw):
    """(f, variable, layout): a scalar loss f of a random tree T of a random shape.
    Everything is drawn first: building f through SymPy can fail, and not always."""
    var = draw(st.sampled_from(VARIABLES))
    rows = draw(st.sampled_from(TREE_DIMS))
    cols = ONE if draw(st.booleans()) else draw(st.sampled_from(TREE_DIMS))
    kind = draw(st.sampled_from(("softplus", "sigmoid", "lse", "softmax", "kron")))
    if kind in ("softmax", "lse"):
        cols = ONE  # softmax of a column
    if kind == "kron" and draw(st.booleans()):
        cols = rows  # square: tr(B ⊗ T)
    T = draw(expressions((rows, cols), var, 3))
    S = draw(expressions((rows, cols), var, 2))
    c, k = draw(st.sampled_from((1, -1, 2))), draw(st.integers(1, 3))
    layout = draw(st.sampled_from(("numerator", "denominator")))
    try:
        f = _loss(kind, T, S, c, k)
    except (TypeError, ValueError, AttributeError, NotImplementedError) as exc:
        event(f"SymPy failed to build the loss: {type(exc).__name__}")
        reject()
    return f, var, layout


def _loss(kind: str, T: Any, S: Any, c: int, k: int) -> Any:
    rows, cols = T.shape
    ones = sp.OneMatrix(rows, cols)
    if kind == "softplus":
        return _summed((ones + _exp(T if c == 1 else sp.MatMul(c, T))).applyfunc(sp.log))
    if kind == "sigmoid":
        return _summed(sp.HadamardProduct(S, _exp(T), sp.HadamardPower(_exp(T) + ones, -k)))
    if kind == "lse":
        return sp.log(AsScalar(_summed(_exp(T))))
    if kind == "softmax":
        return AsScalar(_summed(sp.HadamardProduct(S, _exp(T)))) / AsScalar(_summed(_exp(T)))
    if rows == cols and rows != ONE:
        return sp.Trace(sp.KroneckerProduct(KRON_B, T))
    return _summed(sp.KroneckerProduct(KRON_A, T))


@budget(100)
@given(exp_cases())
def test_losses_through_exp_and_kron_match_finite_differences(case) -> None:
    f, var, layout = case
    note(f"f = {sp.srepr(f)}")
    values = random_values(f, TREE_SIZES, np.random.default_rng(0))
    env = {**values, **TREE_SIZES}
    # exp stays finite and differences meaningful (sin(u³) of a large u oscillates)
    with np.errstate(over="ignore"):  # an exp that overflows is what assume() skips
        assume(largest_value(f, env) < 30)
    assume(var in f.free_symbols)
    event(f"{type(f).__name__} by {var}")
    d = derive(f, var, layout)
    check_derivation(d, TREE_SIZES, trials=1, rtol=1e-5)
    # the Hessian against central differences of the gradient, at the same point
    h = hessian(f, var)
    for rule in {s.rule for s in (*d.steps, *h.steps)} & WATCHED:
        event(f"rewrite: {rule}")
    got = np.asarray(evaluate(h, env), dtype=float)
    expected = numeric_jacobian(gradient(f, var).result, var, env)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got / scale, expected / scale, atol=1e-6)
    fn = lambdify(h)
    params = inspect.signature(fn).parameters
    code = fn(**{str(k): v for k, v in env.items() if str(k) in params})
    np.testing.assert_allclose(np.asarray(code, dtype=float), got, rtol=1e-9, atol=1e-9)
