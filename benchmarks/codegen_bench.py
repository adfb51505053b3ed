"""Section 2: generated gradient code vs hand-written NumPy vs jitted JAX.

Hand-written versions are what a careful NumPy user writes: no wasted work,
one matrix product per product in the math.  JAX runs jitted ``jax.grad`` on
CPU in float64; its inputs are device arrays made before timing, and every
call ends with ``block_until_ready``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import compile_bench
import numpy as np
from cases import least_squares, mlp, rnn_data, rnn_program
from harness import Section, Settings, Table, fmt_ratio
from timing import cell, ratio, verify_and_time, worst

from matderiv import gradient, lambdify

RNN_T = 8
CLASSES = 10


def load_jax() -> tuple[Any, Any]:
    """JAX on CPU with float64 (imported only when a timing section needs it)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp

    return jax, jnp


def call(fn: Callable[..., Any], data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """A no-argument call of a generated function with the keywords it declares."""
    kwargs = {p: data[p] for p in inspect.signature(fn).parameters}
    return lambda: fn(**kwargs)


def jax_call(jax: Any, fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    dev = [jax.numpy.asarray(a) for a in args]
    return lambda: jax.block_until_ready(fn(*dev))


# -- hand-written NumPy --------------------------------------------------------------


def ls_hand(A: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    r = A @ x - b
    return 2.0 * (A.T @ r)


def mlp_hand(W1: Any, W2: Any, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    h = np.tanh(W1.T @ x)
    z = W2.T @ h
    e = np.exp(z - z.max())
    dz = e / e.sum() - y  # softmax(z) - y
    da = (W2 @ dz) * (1.0 - h * h)
    return x @ da.T, h @ dz.T


def rnn_hand(W: Any, U: Any, c: Any, h0: Any, xs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """BPTT; the T outer products of each gradient are one matrix product."""
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W.T @ x + U.T @ hs[-1]))
    D = np.empty((h0.shape[0], len(xs)))
    g = c
    for t in range(len(xs), 0, -1):
        d = g * (1.0 - hs[t] * hs[t])
        D[:, t - 1 : t] = d
        g = c + U @ d
    return np.hstack(xs) @ D.T, np.hstack(hs[:-1]) @ D.T


def rnn_hand_outer(W: Any, U: Any, c: Any, h0: Any, xs: list[Any]) -> tuple[Any, Any]:
    """BPTT accumulating one outer product per step (the textbook loop)."""
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W.T @ x + U.T @ hs[-1]))
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    g = c
    for t in range(len(xs), 0, -1):
        d = g * (1.0 - hs[t] * hs[t])
        dW += xs[t - 1] @ d.T
        dU += hs[t - 1] @ d.T
        g = c + U @ d
    return dW, dU


# -- JAX -----------------------------------------------------------------------------


def jax_gradients(jax: Any, jnp: Any) -> dict[str, Callable[..., Any]]:
    def ls_loss(A: Any, b: Any, x: Any) -> Any:
        r = A @ x - b
        return jnp.sum(r * r)

    def mlp_loss(W1: Any, W2: Any, x: Any, y: Any) -> Any:
        z = W2.T @ jnp.tanh(W1.T @ x)
        return jax.scipy.special.logsumexp(z) - jnp.sum(y * z)

    def rnn_loss(W: Any, U: Any, c: Any, h0: Any, xs: Any) -> Any:
        h, total = h0, 0.0
        for t in range(xs.shape[0]):
            h = jnp.tanh(W.T @ xs[t] + U.T @ h)
            total = total + jnp.sum(c * h)
        return total

    return {
        "least squares": jax.jit(jax.grad(ls_loss, argnums=2)),
        "mlp": jax.jit(jax.grad(mlp_loss, argnums=(0, 1))),
        "rnn": jax.jit(jax.grad(rnn_loss, argnums=(0, 1))),
    }


# -- the section ---------------------------------------------------------------------


def _generated(backend: str) -> dict[str, Callable[..., Any]]:
    f, x = least_squares()
    loss, W1, W2 = mlp()
    L, W, U, where = rnn_program(RNN_T)
    return {
        "least squares": lambdify(gradient(f, x), backend=backend),
        "mlp": lambdify([gradient(loss, W1), gradient(loss, W2)], backend=backend),
        "rnn": lambdify(
            [gradient(L, W, where=where), gradient(L, U, where=where)], backend=backend
        ),
    }


def _impls(problem: str, size: int, gen: Any, fast: Any, jx: Any, jax: Any) -> dict[str, Any]:
    rng = np.random.default_rng(size)
    if problem == "least squares":
        d = {k: rng.standard_normal(s) for k, s in (("A", (size, size)), ("b", (size, 1)))}
        d["x"] = rng.standard_normal((size, 1))
        args = (d["A"], d["b"], d["x"])
        hand = {"hand-written": lambda: ls_hand(*args)}
    elif problem == "mlp":
        s = 1.0 / np.sqrt(size)
        d = {
            "W1": rng.standard_normal((size, size)) * s,
            "W2": rng.standard_normal((size, CLASSES)) * s,
            "x": rng.standard_normal((size, 1)),
            "y": np.eye(CLASSES)[:, [3]],
        }
        args = (d["W1"], d["W2"], d["x"], d["y"])
        hand = {"hand-written": lambda: mlp_hand(*args)}
    else:
        d = rnn_data(RNN_T, size, rng)
        xs = [d[f"x_{t}"] for t in range(1, RNN_T + 1)]
        args = (d["W"], d["U"], d["c"], d["h_0"], np.stack(xs))
        hand = {
            "hand-written": lambda: rnn_hand(d["W"], d["U"], d["c"], d["h_0"], xs),
            "hand, outer per step": lambda: rnn_hand_outer(d["W"], d["U"], d["c"], d["h_0"], xs),
        }
    return {
        "generated": call(gen, d),
        "generated, numba": call(fast, d),
        **hand,
        "JAX jit": jax_call(jax, jx, *args),
    }


LABELS = {"least squares": "Least squares", "mlp": "MLP", "rnn": f"RNN (T = {RNN_T})"}
TITLES = {
    "least squares": "2a. Least squares f = (Ax - b)ᵀ(Ax - b), ∇ₓf; A: n x n",
    "mlp": f"2b. 2-layer MLP, softmax cross-entropy, ∇ wrt W1 (n x n) and W2 (n x {CLASSES})",
    "rnn": f"2c. RNN, T = {RNN_T}, L = Σ cᵀh_t, ∇ wrt W and U; n = m",
}


def run(settings: Settings) -> Section:
    compile_times = compile_bench.table(settings)  # forks: before JAX is imported
    jax, jnp = load_jax()
    gens, jaxes = _generated("numpy"), jax_gradients(jax, jnp)
    fasts = _generated("numba")
    sizes = [64, 256, 1024] if settings.quick else [64, 128, 256, 512, 1024]
    section = Section()
    for problem, gen in gens.items():
        names = ["generated", "generated, numba", "hand-written", "JAX jit"]
        if problem == "rnn":
            names.insert(3, "hand, outer per step")
        columns = ["gen / hand", "gen / JAX", "numba / hand", "numba / JAX"]
        table = Table(TITLES[problem], ["n", *names, *columns])
        ratios: dict[str, list[float | None]] = {c: [] for c in columns}
        for size in sizes:
            impls = _impls(problem, size, gen, fasts[problem], jaxes[problem], jax)
            reference = impls["hand-written"]()
            t = verify_and_time(impls, reference, settings)
            row = {
                "gen / hand": ratio(t["generated"], t["hand-written"]),
                "gen / JAX": ratio(t["generated"], t["JAX jit"]),
                "numba / hand": ratio(t["generated, numba"], t["hand-written"]),
                "numba / JAX": ratio(t["generated, numba"], t["JAX jit"]),
            }
            for c in columns:
                ratios[c].append(row[c])
            table.add(size, *(cell(t[k]) for k in names), *(fmt_ratio(row[c]) for c in columns))
        table.notes.append(
            "Wall-clock time per call, the minimum over repeated autoranged batches; every "
            "output is checked against the hand-written one (np.allclose) before timing. "
            "'generated, numba' is lambdify(..., backend='numba'): the same code compiled "
            "by numba.njit (compiled in the untimed warm-up call, as JAX is)."
        )
        section.tables.append(table)
        label = LABELS[problem]
        section.targets += [
            worst(f"{label}: generated ≤ 1.2x hand-written (worst n)", ratios["gen / hand"], 1.2),
            worst(f"{label}: generated ≤ 1.0x jitted JAX (worst n)", ratios["gen / JAX"], 1.0),
            worst(
                f"{label}: numba backend ≤ 1.0x jitted JAX (worst n)", ratios["numba / JAX"], 1.0
            ),
        ]
    section.tables[-1].notes.append(
        "RNN hand-written: BPTT that stacks the T outer products of each gradient into one "
        "matrix product (X Δᵀ); 'hand, outer per step' accumulates x_t δ_tᵀ in the loop."
    )
    section.tables.append(compile_times)
    return section
