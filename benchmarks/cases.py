"""Problem definitions shared by the benchmarks: symbolic expressions and random data.

Hand-written NumPy and JAX/autograd versions live next to their timings
(codegen_bench.py, hessian_bench.py); this module only says *what* is computed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from matderiv import logsumexp

ROOT = Path(__file__).resolve().parent.parent
n, m, k = sp.symbols("n m k", integer=True, positive=True)
M = sp.MatrixSymbol


def identity_rows() -> list[Any]:
    """The identity battery: every Row of tests/test_identities_{linear,nonlinear}.py.

    Each row's ``build()`` returns (expr, wrt, dims, expected or None, check kwargs).
    """
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import test_identities_linear as linear
    import test_identities_nonlinear as nonlinear

    return [*linear.ROWS, *nonlinear.ROWS]


# -- the unrolled RNN --------------------------------------------------------------


def rnn_symbols() -> tuple[Any, Any, Any, Any]:
    """W: m x n, U: n x n, c: n x 1, h_0: n x 1."""
    return M("W", m, n), M("U", n, n), M("c", n, 1), M("h_0", n, 1)


def rnn_program(T: int) -> tuple[Any, Any, Any, dict[Any, Any]]:
    """L = Σ_t cᵀ h_t, h_t = tanh(Wᵀ x_t + Uᵀ h_{t-1}) as a where= program: (L, W, U, where)."""
    W, U, c, h0 = rnn_symbols()
    where: dict[Any, Any] = {}
    prev, hs = h0, []
    for t in range(1, T + 1):
        x, h = M(f"x_{t}", m, 1), M(f"h_{t}", n, 1)
        where[h] = (W.T * x + U.T * prev).applyfunc(sp.tanh)
        prev = h
        hs.append(h)
    return sp.MatAdd(*[c.T * h for h in hs]), W, U, where


def rnn_tree(T: int) -> tuple[Any, Any, Any]:
    """The same loss as one nested SymPy expression (each h_t substituted): (L, W, U)."""
    W, U, c, h0 = rnn_symbols()
    prev, hs = h0, []
    for t in range(1, T + 1):
        prev = (W.T * M(f"x_{t}", m, 1) + U.T * prev).applyfunc(sp.tanh)
        hs.append(prev)
    return sp.MatAdd(*[c.T * h for h in hs]), W, U


def rnn_data(T: int, size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n = m = size; weights scaled so tanh does not saturate."""
    s = 1.0 / np.sqrt(size)
    data = {
        "W": rng.standard_normal((size, size)) * s,
        "U": rng.standard_normal((size, size)) * s,
        "c": rng.standard_normal((size, 1)),
        "h_0": rng.standard_normal((size, 1)),
    }
    for t in range(1, T + 1):
        data[f"x_{t}"] = rng.standard_normal((size, 1))
    return data


# -- least squares and the MLP -----------------------------------------------------


def least_squares() -> tuple[Any, Any]:
    """f = (A x - b)ᵀ (A x - b), A: n x n; returns (f, x)."""
    A, x, b = M("A", n, n), M("x", n, 1), M("b", n, 1)
    r = A * x - b
    return r.T * r, x


def mlp() -> tuple[Any, Any, Any]:
    """z = W2ᵀ tanh(W1ᵀ x), loss = logsumexp(z) - yᵀ z; returns (loss, W1, W2).

    x: m x 1 (input), W1: m x n (hidden n), W2: n x k (k classes), y: k x 1 one-hot.
    """
    W1, W2, x, y = M("W1", m, n), M("W2", n, k), M("x", m, 1), M("y", k, 1)
    z = W2.T * (W1.T * x).applyfunc(sp.tanh)
    return logsumexp(z) - y.T * z, W1, W2


# -- Hessian test functions ---------------------------------------------------------


def quadratic() -> tuple[Any, Any]:
    """xᵀ A x, A: n x n not symmetric; returns (f, x)."""
    A, x = M("A", n, n), M("x", n, 1)
    return x.T * A * x, x


def logistic() -> tuple[Any, Any]:
    """Σ_i log(1 + exp(-y_i (X w)_i)), X: m x n data, y: m x 1 labels ±1; returns (f, w)."""
    X, w, y = M("X", m, n), M("w", n, 1), M("y", m, 1)
    margins = (-sp.HadamardProduct(y, X * w)).applyfunc(sp.exp)
    return sp.OneMatrix(1, m) * (sp.OneMatrix(m, 1) + margins).applyfunc(sp.log), w


def logdet() -> tuple[Any, Any]:
    """log det X, X: n x n with det X > 0; returns (f, X)."""
    X = M("X", n, n)
    return sp.log(sp.Determinant(X)), X


def hessian_data(name: str, size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Inputs for the Hessian functions at n = size (logistic: m = 2n samples)."""
    if name == "least squares":
        return {
            "A": rng.standard_normal((size, size)),
            "b": rng.standard_normal((size, 1)),
            "x": rng.standard_normal((size, 1)),
        }
    if name == "xᵀ A x":
        return {"A": rng.standard_normal((size, size)), "x": rng.standard_normal((size, 1))}
    if name == "logistic":
        return {
            "X": rng.standard_normal((2 * size, size)) / np.sqrt(size),
            "y": rng.choice([-1.0, 1.0], (2 * size, 1)),
            "w": rng.standard_normal((size, 1)),
        }
    if name == "log det X":
        b = rng.standard_normal((size, size)) / np.sqrt(size)
        return {"X": np.eye(size) * 2.0 + b}  # well conditioned, det > 0
    raise KeyError(name)


HESSIAN_CASES = {
    "least squares": least_squares,
    "xᵀ A x": quadratic,
    "logistic": logistic,
    "log det X": logdet,
}
