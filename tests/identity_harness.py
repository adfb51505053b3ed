"""Shared harness of the identity battery (test_identities_linear / _nonlinear).

Each row is a build function registered with ``row``; it returns
(expr, wrt, dims, expected_by_layout or None, kwargs for check_derivation).
``check_identity`` checks one row in one layout: finite differences, the
textbook closed form numerically, and structural equality where asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from matderiv import derive, evaluate
from matderiv.testing import check_derivation, random_values

LAYOUTS = ("numerator", "denominator")
m, n, p, q = sp.symbols("m n p q", integer=True, positive=True)
DIMS = {m: 3, n: 4, p: 2, q: 5}


@dataclass(frozen=True)
class Row:
    id: str
    build: Callable[[], tuple[Any, Any, dict[Any, int], dict[str, Any] | None, dict[str, Any]]]
    structural: tuple[str, ...] = ()


@dataclass
class Registry:
    """The rows of one test module, registered in order by the ``row`` decorator."""

    rows: list[Row] = field(default_factory=list)

    def row(
        self, fn: Callable[..., Any] | None = None, *, structural: tuple[str, ...] = ()
    ) -> Any:
        """Register a spec row; its id is the build function's name."""

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.rows.append(Row(f.__name__, f, structural))
            return f

        return register(fn) if fn is not None else register


def den(g: Any) -> dict[str, Any]:
    """Expected result given in denominator layout; numerator is its transpose."""
    return {"denominator": g, "numerator": g.T}


def num(j: Any) -> dict[str, Any]:
    """Expected result given in numerator layout; denominator is its transpose."""
    return {"numerator": j, "denominator": j.T}


def case(expr: Any, wrt: Any, expected: dict[str, Any] | None, dims: Any = None, **kw: Any):
    return expr, wrt, dict(dims or DIMS), expected, kw


def _size(dim: Any, dims: dict[Any, int]) -> int:
    return int(sp.sympify(dim).subs(dims))


def row_values(expr: Any, dims: dict[Any, int], kwargs: dict[str, Any]) -> dict[Any, Any]:
    """Random values of a row's symbols, drawn as the row asks, and its sizes: the first
    draw of the finite-difference check."""
    values = random_values(
        expr,
        dims,
        np.random.default_rng(kwargs.get("seed", 0)),
        kwargs.get("definite"),
        kwargs.get("positive"),
        symmetric=kwargs.get("symmetric"),
    )
    return {**values, **dims}


def check_identity(spec: Row, layout: str) -> None:
    expr, wrt, dims, expected, kwargs = spec.build()
    d = derive(expr, wrt, layout)
    assert d.layout == layout
    check_derivation(d, dims, **kwargs)
    if expected is None:
        return
    want = expected[layout]
    env = row_values(expr, dims, kwargs)
    got = np.atleast_2d(evaluate(d.result, env))
    ref = np.atleast_2d(evaluate(want, env))
    assert got.shape == ref.shape == tuple(_size(s, dims) for s in d.shape)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(ref).max()))
    if layout in spec.structural:
        assert d.result == want, f"structurally {d.result!r} != textbook {want!r}"
