"""Random points at which verify compares a candidate with the derivative.

Each point gives every dimension symbol a size (distinct sizes, rotated from
point to point, so a transposed or mismatched factor cannot pass by accident)
and every input a random value (``testing.random_values``: non-symmetric,
well-conditioned matrices where inverses and determinants need them); the
symbols a ``where=`` program defines are computed from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .numeric import evaluate
from .shapes import dimension_symbols
from .testing import random_values

SIZES = (2, 3, 4, 5, 6, 7, 8)


def size_choices(dims: list[Any], count: int) -> list[dict[Any, int]]:
    """``count`` assignments of distinct sizes to the dimension symbols, rotated each time."""
    if not dims:
        return [{}]
    pool = list(SIZES) + list(range(9, 9 + len(dims)))
    choices = []
    for shift in range(count):
        rotated = pool[shift:] + pool[:shift]
        choices.append({d: rotated[k] for k, d in enumerate(dims)})
    return choices


def _quiet() -> Any:
    """No NumPy warnings at the random points: an overflow there (exp of a large
    entry) is the comparison's business, which treats non-finite values itself,
    not a warning for the user who asked verify a question."""
    return np.errstate(all="ignore")


@dataclass(frozen=True)
class Trials:
    """Random points at which expressions are compared; values include the sizes."""

    points: tuple[dict[Any, Any], ...]
    program: Mapping[Any, Any] = field(default_factory=dict)  # where= definitions, run first
    _cache: dict[Any, list[np.ndarray]] = field(default_factory=dict, compare=False, repr=False)
    _ran: list[dict[Any, Any]] = field(default_factory=list, compare=False, repr=False)

    def _points(self) -> list[dict[Any, Any]]:
        """The points with the program's symbols computed (once per point)."""
        if not self._ran:
            for p in self.points:
                values = dict(p)
                for symbol, definition in self.program.items():
                    values[symbol] = evaluate(definition, values)
                self._ran.append(values)
        return self._ran

    def values(self, expr: Any) -> list[np.ndarray]:
        """The value of ``expr`` at every point (each expression evaluated once)."""
        if expr not in self._cache:
            with _quiet():  # the program's values too, computed on first use
                self._cache[expr] = [
                    np.atleast_2d(np.asarray(evaluate(expr, p), dtype=float))
                    for p in self._points()
                ]
        return self._cache[expr]

    def with_points(self, points: tuple[dict[Any, Any], ...]) -> Trials:
        return Trials(points, self.program)

    def scaled(self, factor: float) -> Trials:
        """The points with every matrix value times ``factor`` > 0: invertible, positive
        and definite values stay so (and as well conditioned); sizes and scalars stay."""
        points = tuple(
            {k: v * factor if isinstance(k, sp.MatrixSymbol) else v for k, v in p.items()}
            for p in self.points
        )
        return self.with_points(points)

    def finite(self, exprs: tuple[Any, ...]) -> bool:
        """Whether every expression evaluates to finite values at every point."""
        return all(np.all(np.isfinite(v)) for e in exprs for v in self.values(e))


def make_trials(
    exprs: tuple[Any, ...],
    sizes: int = 3,
    points: int = 2,
    seed: int = 0,
    program: Mapping[Any, Any] | None = None,
) -> Trials:
    """Random points (values and sizes) for ``exprs``; a ``program``'s inputs included."""
    rng = np.random.default_rng(seed)
    program = dict(program or {})
    both = sp.Tuple(*exprs, *program.values())
    dims = sorted(dimension_symbols(*exprs, *program.values()), key=str)
    out = []
    for choice in size_choices(dims, sizes):
        for _ in range(points):
            values = random_values(both, choice, rng)  # defined symbols are recomputed
            out.append({**values, **choice})
    return Trials(tuple(out), program)


#: smaller values tried, in turn, when an expression is not finite at the points
#: (exp of a cube overflows at Gaussian values of a few units)
SCALES = (0.3, 0.1)


def finite_trials(trials: Trials, exprs: tuple[Any, ...]) -> Trials:
    """``trials``, or the first of its scaled-down versions at which every expression
    is finite; ``trials`` itself when none is (a log of a negative entry stays so)."""
    if trials.finite(exprs):
        return trials
    for factor in SCALES:
        smaller = trials.scaled(factor)
        if smaller.finite(exprs):
            return smaller
    return trials


def relative_error(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The largest entry of |a - b| over all points, relative to b's largest (at least 1)."""
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return float("inf")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            return float("nan")  # no agreement can be read off (max() skips a NaN)
        scale = max(float(np.max(np.abs(y), initial=0.0)), 1.0)
        worst = max(worst, float(np.max(np.abs(x - y), initial=0.0)) / scale)
    return worst


def best_factor(a: list[np.ndarray], b: list[np.ndarray]) -> float | None:
    """c minimising ‖a − c b‖ over all points, or None when b vanishes."""
    num = sum(float(np.vdot(x, y)) for x, y in zip(a, b, strict=True))
    den = sum(float(np.vdot(y, y)) for y in b)
    return num / den if den > 1e-300 else None
