"""Section 3: dense Hessians and Hessian-vector products.

Generated code (``lambdify(hessian(f, X))``, ``lambdify(hvp(f, X))``) against
``autograd.hessian`` / ``hessian_vector_product`` and jitted ``jax.hessian`` /
``jax.jvp`` of ``jax.grad`` (CPU, float64).  Each output is checked against an
independent closed form in NumPy before anything is timed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from cases import HESSIAN_CASES, hessian_data
from codegen_bench import call, load_jax
from harness import Section, Settings, Table, fmt_ratio
from timing import cell, ratio, verify_and_time, worst

from matderiv import hessian, hvp, lambdify

MEMORY_LIMIT = 8 * 2**30  # bytes any one library may need
HEAVY_LIMIT = 2**30  # Hessians above 1 GiB only with --heavy

# name -> (variable, constants, f(np-module, variable, *constants))
FUNCTIONS: dict[str, tuple[str, tuple[str, ...], Callable[..., Any]]] = {
    "least squares": ("x", ("A", "b"), lambda np_, x, A, b: np_.sum((A @ x - b) ** 2)),
    "xᵀ A x": ("x", ("A",), lambda np_, x, A: np_.sum(x * (A @ x))),
    "logistic": (
        "w",
        ("X", "y"),
        lambda np_, w, X, y: np_.sum(np_.log(1.0 + np_.exp(-(y * (X @ w))))),
    ),
    "log det X": ("X", (), lambda np_, X: np_.linalg.slogdet(X)[1]),
}


def reference_hessian(name: str, d: dict[str, np.ndarray]) -> np.ndarray:
    """Closed forms, vec (column-major) layout."""
    if name == "least squares":
        return 2.0 * d["A"].T @ d["A"]
    if name == "xᵀ A x":
        return d["A"] + d["A"].T
    if name == "logistic":
        s = 1.0 / (1.0 + np.exp(d["y"] * (d["X"] @ d["w"])))  # σ(-y ∘ Xw)
        return d["X"].T @ (d["X"] * (d["y"] ** 2 * s * (1.0 - s)))
    Xi = np.linalg.inv(d["X"])  # ∂² log det / ∂X_ij ∂X_kl = -(X⁻¹)_li (X⁻¹)_jk
    return vec_hessian(-np.einsum("li,jk->ijkl", Xi, Xi))


def reference_hvp(name: str, d: dict[str, np.ndarray]) -> np.ndarray:
    V = d["V"]
    if name == "least squares":
        return 2.0 * (d["A"].T @ (d["A"] @ V))
    if name == "xᵀ A x":
        return d["A"] @ V + d["A"].T @ V
    if name == "logistic":
        s = 1.0 / (1.0 + np.exp(d["y"] * (d["X"] @ d["w"])))
        return d["X"].T @ (d["y"] ** 2 * s * (1.0 - s) * (d["X"] @ V))
    Xit = np.linalg.inv(d["X"]).T
    return -Xit @ V.T @ Xit


def vec_hessian(h: Any) -> np.ndarray:
    """An (m, n, m, n) Hessian ∂²f/∂X_ij∂X_kl (autograd, JAX) in vec (column-major) form."""
    h = np.asarray(h)
    m, n = h.shape[:2]
    return h.transpose(1, 0, 3, 2).reshape(m * n, m * n)


def _generated() -> tuple[dict[str, Any], dict[str, Any]]:
    hess, prods = {}, {}
    for name, build in HESSIAN_CASES.items():
        f, X = build()
        hess[name] = lambdify(hessian(f, X))
        prods[name] = lambdify(hvp(f, X))
    return hess, prods


def _skip(name: str, size: int, settings: Settings) -> str | None:
    variables = size * size if name == "log det X" else size
    nbytes = 8 * variables**2
    if 4 * nbytes > MEMORY_LIMIT:  # output, reference, and a library's intermediates
        return f"skipped: the Hessian alone is {nbytes / 2**30:.0f} GiB"
    if nbytes > HEAVY_LIMIT and not settings.heavy:
        return f"skipped: {nbytes / 2**30:.0f} GiB Hessian (run with --heavy)"
    return None


def run(settings: Settings) -> Section:
    jax, jnp = load_jax()
    import autograd
    import autograd.numpy as anp

    hess, prods = _generated()
    section = Section()
    sizes = [32, 128, 256] if settings.quick else [32, 64, 128, 256]
    table = Table(
        "3a. Dense Hessian d²f/dvec(X)dvec(X)ᵀ: generated vs autograd vs jitted JAX",
        ["f", "n", "Hessian", "generated", "autograd", "JAX jit", "autograd / gen", "JAX / gen"],
    )
    by_autograd: list[float | None] = []
    by_jax: list[float | None] = []
    for name, (var, consts, f) in FUNCTIONS.items():
        for size in sizes:
            d = hessian_data(name, size, np.random.default_rng(size))
            rows = d[var].size
            skip = _skip(name, size, settings)
            if skip:
                table.add(name, size, f"{rows}²", skip, "-", "-", "-", "-")
                continue
            c = [d[k] for k in consts]
            ag = autograd.hessian(lambda v, c=c, f=f: f(anp, v, *c))
            jx = jax.jit(jax.hessian(lambda v, *cc, f=f: f(jnp, v, *cc)))
            dev = [jnp.asarray(a) for a in (d[var], *c)]
            impls = {
                "generated": call(hess[name], d),
                "autograd": lambda ag=ag, v=d[var]: ag(v),
                "JAX jit": lambda jx=jx, dev=dev: jax.block_until_ready(jx(*dev)),
            }
            if var == "X":
                post = {k: vec_hessian for k in ("autograd", "JAX jit")}
            else:
                post = {k: lambda h, r=rows: np.asarray(h).reshape(r, r) for k in impls}
            t = verify_and_time(impls, reference_hessian(name, d), settings, post)
            ra, rj = ratio(t["autograd"], t["generated"]), ratio(t["JAX jit"], t["generated"])
            by_autograd.append(ra)
            by_jax.append(rj)
            table.add(
                name, size, f"{rows}²", *(cell(t[k]) for k in impls), fmt_ratio(ra), fmt_ratio(rj)
            )
    table.notes += [
        "Hessian: its size (variables²).  Speed-ups > 1 mean the generated code is faster.  "
        "autograd and JAX return (m, n, m, n) / (n, 1, n, 1) arrays; they are rearranged to "
        "vec form only for the correctness check, outside the timing.",
        "logistic: X is 2n x n data, y labels ±1, f = 1ᵀ log(1 + exp(-y ∘ (X w))), wrt w.",
        "log det X at n = 256 has a 32 GiB Hessian (skipped); every case whose Hessian needs "
        "more than ~8 GB with intermediates is skipped.",
    ]
    section.tables.append(table)
    section.targets += [
        worst(
            "Hessian: generated ≥ 10x faster than autograd (worst case)",
            by_autograd,
            10.0,
            at_least=True,
        ),
        worst(
            "Hessian: generated ≥ 2x faster than jitted JAX (worst case)",
            by_jax,
            2.0,
            at_least=True,
        ),
    ]
    section.tables.append(_hvp_table(prods, settings, jax, jnp, autograd, anp, section))
    return section


def _hvp_table(
    prods: dict[str, Any],
    settings: Settings,
    jax: Any,
    jnp: Any,
    autograd: Any,
    anp: Any,
    section: Section,
) -> Table:
    sizes = [32, 256, 1024] if settings.quick else [32, 64, 128, 256, 512, 1024]
    table = Table(
        "3b. Hessian-vector products H vec(V): generated vs jitted JAX (jvp of grad) vs autograd",
        ["f", "n", "generated", "JAX jit", "autograd", "gen / JAX"],
    )
    by_jax: list[float | None] = []
    for name, (var, consts, f) in FUNCTIONS.items():
        for size in sizes:
            d = hessian_data(name, size, np.random.default_rng(size))
            d["V"] = np.random.default_rng(size + 1).standard_normal(d[var].shape)
            c = [d[k] for k in consts]

            def hv(v: Any, dv: Any, *cc: Any, f: Any = f) -> Any:
                return jax.jvp(jax.grad(lambda u: f(jnp, u, *cc)), (v,), (dv,))[1]

            jx = jax.jit(hv)
            ag = autograd.hessian_vector_product(lambda v, c=c, f=f: f(anp, v, *c))
            dev = [jnp.asarray(a) for a in (d[var], d["V"], *c)]
            impls = {
                "generated": call(prods[name], d),
                "JAX jit": lambda jx=jx, dev=dev: jax.block_until_ready(jx(*dev)),
                "autograd": lambda ag=ag, v=d[var], w=d["V"]: ag(v, w),
            }
            t = verify_and_time(impls, reference_hvp(name, d), settings)
            rj = ratio(t["generated"], t["JAX jit"])
            by_jax.append(rj)
            table.add(name, size, *(cell(t[k]) for k in impls), fmt_ratio(rj))
    table.notes.append(
        "V is a random direction shaped like the variable; the result is shaped like it too."
    )
    section.targets.append(worst("HVP: generated ≤ 1.0x jitted JAX (worst case)", by_jax, 1.0))
    return table
