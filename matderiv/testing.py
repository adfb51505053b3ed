"""Numeric ground truth: central finite differences at concrete, distinct sizes.

``check_derivation(d, dims)`` instantiates the dimensions (pick distinct sizes,
so a transposed or mis-vectorised answer cannot pass by accident), draws random
values (well-conditioned, non-symmetric ones with a positive determinant for
matrices that are inverted or whose determinant is taken, so X⁻ᵀ and X⁻¹
differ), and compares ``evaluate(d.result)`` with a central finite-difference
Jacobian arranged in d's layout.  Shipped with the library,
like autograd's ``check_grads``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from .layout import parse_wrt
from .linops import Commutation
from .numeric import evaluate
from .shapes import dimension_symbols, free_symbols, is_scalar_shape, shape_of, walk


def needs_definite(expr: Any) -> set[Any]:
    """MatrixSymbols that are inverted, or whose determinant is taken."""
    out: set[Any] = set()
    for node in walk(expr):  # each distinct subexpression once (a DAG walk)
        if isinstance(node, (sp.Inverse, sp.Determinant)) or (
            isinstance(node, sp.MatPow) and node.exp.is_negative
        ):
            out |= {s for s in free_symbols(node) if isinstance(s, sp.MatrixSymbol)}
    return out


def spd_matrix(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random symmetric positive definite n x n matrix with eigenvalues >= 1."""
    b = rng.standard_normal((n, n))
    return b @ b.T / n + np.eye(n)


def definite_matrix(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random, well-conditioned, *non-symmetric* n x n matrix S + K with det > 0.

    S is symmetric positive definite (eigenvalues >= 1) and K skew-symmetric with
    ‖K‖₂ between ½‖S‖₂ and ‖S‖₂, so ‖(S + K)x‖ >= xᵀSx/‖x‖ >= ‖x‖ (smallest
    singular value >= 1, condition number <= 2 cond S) and every eigenvalue has a
    positive real part (det > 0).
    """
    s = spd_matrix(n, rng)
    c = rng.standard_normal((n, n))
    k = (c - c.T) / 2
    size = float(np.linalg.norm(k, 2))
    if size > 0.0:
        k *= rng.uniform(0.5, 1.0) * float(np.linalg.norm(s, 2)) / size
    return s + k


def random_values(
    expr: Any,
    dims: Mapping[Any, int],
    rng: np.random.Generator,
    definite: set[Any] | None = None,
    positive: set[Any] | None = None,
    *,
    symmetric: set[Any] | None = None,
    where: Mapping[Any, Any] | None = None,
) -> dict[Any, Any]:
    """Random float64 values for every MatrixSymbol of ``expr`` at the sizes ``dims``,
    and for its scalar Symbols that are not sizes (s in s·xᵀx: in [0.5, 1.5], so that
    √s and log s are defined; drawn after the matrices).

    definite   square symbols drawn as ``definite_matrix`` (invertible, det > 0, not
               symmetric); by default those inverted or under a determinant in
               ``expr``.  ``set()`` draws plain Gaussian values for every symbol.
    positive   symbols with entries in [0.5, 2] (for log, sqrt, ...).
    symmetric  square symbols drawn symmetric positive definite (``spd_matrix``):
               only for identities that hold only for symmetric matrices.
    where      a program ({symbol: definition}): its symbols are computed, not given,
               and get no value (the others get the values they would get without it).
    The rest get standard normal entries.
    """
    definite = needs_definite(expr) if definite is None else definite
    positive = positive or set()
    symmetric = symmetric or set()
    values: dict[Any, Any] = {}
    symbols = sorted(free_symbols(expr), key=str)  # a DAG walk: SymPy's recurses
    for symbol in symbols:
        if not isinstance(symbol, sp.MatrixSymbol):
            continue
        rows, cols = (int(sp.sympify(d).subs(dict(dims))) for d in symbol.shape)
        if symbol in symmetric:
            if rows != cols:
                raise ValueError(f"{symbol} is {rows} x {cols}: symmetric values need a square")
            values[symbol] = spd_matrix(rows, rng)
        elif symbol in definite and rows == cols:
            values[symbol] = definite_matrix(rows, rng)
        elif symbol in positive:
            values[symbol] = rng.uniform(0.5, 2.0, (rows, cols))
        else:
            values[symbol] = rng.standard_normal((rows, cols))
    sizes = set(dims) | dimension_symbols(expr)
    for symbol in symbols:
        if isinstance(symbol, sp.Symbol) and symbol not in sizes:
            values[symbol] = float(rng.uniform(0.5, 1.5))
    return {k: v for k, v in values.items() if k not in (where or {})}


def numeric_jacobian(
    expr: Any,
    x: Any,
    values: Mapping[Any, Any],
    h: float = 1e-6,
    *,
    where: Mapping[Any, Any] | None = None,
) -> np.ndarray:
    """d vec(expr) / d vec(x)ᵀ by central differences (numerator layout, column-major vec).

    ``where`` is a program ({symbol: definition}) re-run at every probe.
    """
    base = np.asarray(values[x], dtype=float)
    flat = base.reshape(-1, order="F")
    columns = []
    for k in range(flat.size):
        probes = []
        for sign in (1.0, -1.0):
            bumped = flat.copy()
            bumped[k] += sign * h
            trial = dict(values)
            trial[x] = bumped.reshape(base.shape, order="F")
            value = evaluate(expr, trial, where=where)
            probes.append(np.atleast_2d(value).reshape(-1, order="F"))
        columns.append((probes[0] - probes[1]) / (2 * h))
    return np.stack(columns, axis=1)


def expected_in_layout(d: Any, jac: np.ndarray, x_shape: tuple[int, int]) -> np.ndarray:
    """Arrange a numerator-layout vec Jacobian the way derivation ``d`` presents it."""
    var = parse_wrt(d.wrt)
    m, n = x_shape
    if var.form == "vecT":
        jac = Commutation(n, m).rapply(jac)  # d/d vec(Xᵀ) = J K_{n,m}
    if is_scalar_shape(shape_of(d.of)) and var.form == "X":
        grad = jac.reshape(m, n, order="F")
        if var.symbol in getattr(d, "symmetric", ()):  # among symmetric matrices
            grad = (grad + grad.T) / 2
        return grad if d.layout == "denominator" else grad.T
    return jac if d.layout == "numerator" else jac.T


def _at_sizes(
    d: Any, values: Mapping[Any, Any], dims: Mapping[Any, int], program: Mapping[Any, Any]
) -> tuple[Any, dict[Any, Any], Any, dict[Any, Any]]:
    """The variable, values, f and program with the dimensions made concrete."""
    sizes = dict(dims)
    concrete = parse_wrt(d.wrt).symbol.subs(sizes)
    inner = {k.subs(sizes) if isinstance(k, sp.MatrixSymbol) else k: v for k, v in values.items()}
    concrete_program = {k.subs(sizes): v.subs(sizes) for k, v in program.items()}
    return concrete, inner, d.of.subs(sizes), concrete_program


def _compare(
    d: Any, expected: np.ndarray, values: Mapping[Any, Any], dims: Mapping[Any, int]
) -> tuple[float, float]:
    """(absolute error, scale) of d's value against ``expected``."""
    got = np.atleast_2d(evaluate(d, {**values, **dict(dims)}))
    if got.shape != expected.shape:
        raise AssertionError(f"shape {got.shape} != finite-difference shape {expected.shape}")
    return float(np.max(np.abs(got - expected), initial=0.0)), float(
        np.max(np.abs(expected), initial=1.0)
    )


def max_error(
    d: Any, values: Mapping[Any, Any], dims: Mapping[Any, int], h: float = 1e-6
) -> tuple[float, float]:
    """(absolute error, scale) of d.result against finite differences at ``values``."""
    concrete, inner, f, program = _at_sizes(d, values, dims, d.definitions)
    jac = numeric_jacobian(f, concrete, inner, h=h, where=program)
    return _compare(d, expected_in_layout(d, jac, np.shape(inner[concrete])), values, dims)


def numeric_hessian(
    f: Any,
    x: Any,
    values: Mapping[Any, Any],
    h: float = 1e-4,
    *,
    where: Mapping[Any, Any] | None = None,
) -> np.ndarray:
    """d²f / d vec(x) d vec(x)ᵀ by second-order central differences of f alone."""
    base = np.asarray(values[x], dtype=float)
    flat = base.reshape(-1, order="F")

    def at(point: np.ndarray) -> float:
        trial = dict(values)
        trial[x] = point.reshape(base.shape, order="F")
        return float(np.asarray(evaluate(f, trial, where=where)).reshape(()))

    size = flat.size
    out = np.empty((size, size))
    for i in range(size):
        for j in range(i, size):
            total = 0.0
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                point = flat.copy()
                point[i] += si * h
                point[j] += sj * h
                total += si * sj * at(point)
            out[i, j] = out[j, i] = total / (4 * h * h)
    return out


def _direction(d: Any) -> Any:
    """The direction V of an ``hvp`` derivation: the one symbol its result adds, or
    None when the result is zero (every direction gives zero)."""
    # the user's program, not the generated adjoints (which may use V)
    given = sp.Tuple(d.of, *d.where.values()).free_symbols | set(d.where) | set(d.definitions)
    used = sp.Tuple(d.result, *d.definitions.values()).free_symbols
    added = [s for s in used - given if isinstance(s, sp.MatrixSymbol)]
    if not added and (d.result == 0 or isinstance(d.result, sp.ZeroMatrix)):
        return None
    (direction,) = added
    return direction


def _second_order_error(
    d: Any, values: Mapping[Any, Any], dims: Mapping[Any, int]
) -> tuple[float, float]:
    """(absolute error, scale) of a ``hessian`` or ``hvp`` derivation."""
    concrete, inner, f, program = _at_sizes(d, values, dims, d.where)
    expected = numeric_hessian(f, concrete, inner, where=program)
    if d.mode == "hvp":
        shape = np.shape(inner[concrete])
        direction = _direction(d)
        v = np.ones(shape) if direction is None else values[direction]
        vec_v = v.reshape(-1, 1, order="F")
        expected = (expected @ vec_v).reshape(shape, order="F")
    return _compare(d, expected, values, dims)


def check_derivation(
    d: Any,
    dims: Mapping[Any, int],
    seed: int = 0,
    *,
    trials: int = 2,
    rtol: float = 1e-5,
    definite: set[Any] | None = None,
    positive: set[Any] | None = None,
    symmetric: set[Any] | None = None,
) -> float:
    """Assert that d.result matches central finite differences; return the worst relative error.

    Where the differences at h = 1e-6 miss, they are taken again at h = 1e-7: a right
    derivative's error shrinks about 100x (the truncation error of central
    differences is O(h²); sin of a large argument has a large third derivative), a
    wrong one's does not, and the finer error is the one compared.

    Hessians and Hessian-vector products (``hessian``, ``hvp``) are compared with
    second-order central differences of f itself.

    ``definite``, ``positive`` and ``symmetric`` choose the random values as in
    ``random_values``; the matrices ``d`` was derived symmetric for (``symmetric=``) get
    symmetric values too, and a symmetric variable's gradient is compared with the
    symmetric part of the differences' (the gradient among symmetric matrices).
    """
    rng = np.random.default_rng(seed)
    symmetric = set(symmetric or ()) | set(d.symmetric)
    worst = 0.0
    for _ in range(trials):
        # the variable too: d.of may not use it (its derivative is then a zero matrix)
        source = sp.Tuple(d.of, d.result, parse_wrt(d.wrt).symbol, *d.definitions.values())
        values = random_values(
            source, dims, rng, definite, positive, symmetric=symmetric, where=d.definitions
        )
        if d.mode in ("hessian", "hvp"):
            err, scale = _second_order_error(d, values, dims)
        else:
            err, scale = max_error(d, values, dims)
            if err / max(scale, 1.0) > rtol:  # truncation, or a wrong derivative?
                finer, _ = max_error(d, values, dims, h=1e-7)
                if finer < err / 30:  # shrinks as h²: the differences converge to it
                    err = finer
        rel = err / max(scale, 1.0)
        if not np.isfinite(rel):  # NaN compares as no error: a log of a negative entry
            raise AssertionError(
                f"derivative of {d.of} wrt {d.wrt} ({d.layout}) or its finite differences "
                f"are not finite at the random point (dims {dict(dims)}): give values "
                "that keep it defined (positive=, definite=)"
            )
        worst = max(worst, rel)
        if rel > rtol:
            raise AssertionError(
                f"derivative of {d.of} wrt {d.wrt} ({d.layout}) is off by {err:.3g} "
                f"(scale {scale:.3g}) at dims {dict(dims)}: result {d.result}"
            )
    return worst
