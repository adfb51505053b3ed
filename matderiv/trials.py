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
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .errors import EvaluationError, MatDerivError
from .numeric import evaluate
from .render.unicode import fmt
from .shapes import dimension_symbols, free_symbols, walk
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


def every_size_choice(dims: list[Any]) -> list[dict[Any, int]]:
    """Every rotation of the sizes, then of the sizes in falling order (with increasing
    sizes alone, the first of two dimensions is almost always the smaller)."""
    rising = size_choices(dims, len(SIZES) + len(dims))
    falling = [dict(zip(dims, reversed(list(c.values())), strict=True)) for c in rising]
    return rising + [c for c in falling if c not in rising]


def quiet() -> Any:
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
            self._ran.extend(_run_program(p, self.program) for p in self.points)
        return self._ran

    def values(self, expr: Any) -> list[np.ndarray]:
        """The value of ``expr`` at every point (each expression evaluated once)."""
        if expr not in self._cache:
            with quiet():  # the program's values too, computed on first use
                self._cache[expr] = [_real(_evaluate_at(expr, p)) for p in self._points()]
        return self._cache[expr]

    def with_points(self, points: tuple[dict[Any, Any], ...]) -> Trials:
        return Trials(points, self.program)

    def symmetrised(self, matrices: Any) -> Trials:
        """The points with each of ``matrices`` (square, where a point has it) replaced
        by its symmetric part (M + Mᵀ)/2."""
        return self.with_points(
            tuple(
                {**p, **{M: (p[M] + p[M].T) / 2 for M in matrices if M in p}} for p in self.points
            )
        )

    def scaled(self, factor: float, scalars: bool = False) -> Trials:
        """The points with every matrix value times ``factor`` > 0: invertible, positive
        and definite values stay so (and as well conditioned); sizes stay, and scalars
        unless ``scalars`` (then a scalar Symbol's value is scaled too)."""

        def scale(k: Any, v: Any) -> Any:
            if isinstance(k, sp.MatrixSymbol):
                return v * factor
            if scalars and isinstance(v, (float, np.floating)):  # not a size (an int)
                return v * factor
            return v

        return self.with_points(tuple({k: scale(k, v) for k, v in p.items()} for p in self.points))

    def finite(self, exprs: tuple[Any, ...]) -> bool:
        """Whether every expression evaluates to finite values at every point."""
        return all(np.all(np.isfinite(v)) for e in exprs for v in self.values(e))


def _real(value: Any) -> np.ndarray:
    """A value as a float array; a complex entry (x^(1/3) of a negative x, by SymPy's
    principal branch) is NaN: the expression is not real there, and comparing real
    parts would call different values equal."""
    array = np.atleast_2d(np.asarray(value))
    if np.iscomplexobj(array):
        real = np.abs(array.imag) <= 1e-12 * np.maximum(1.0, np.abs(array.real))
        return np.where(real, array.real, np.nan).astype(float)
    return array.astype(float)


def _run_program(point: Mapping[Any, Any], program: Mapping[Any, Any]) -> dict[Any, Any]:
    """``point`` with the symbols a ``where=`` program defines computed, in order."""
    values = dict(point)
    for symbol, definition in program.items():
        values[symbol] = _evaluate_at(definition, values)
    return values


def _evaluate_at(expr: Any, point: Mapping[Any, Any]) -> Any:
    """evaluate(expr, point) given only the matrices ``expr`` uses (and the sizes and
    scalars): evaluate reads each value it is given, and a point holds every input and
    program symbol, which made each step of a program's run cost as much as the
    program has symbols."""
    used = free_symbols(expr)
    return evaluate(
        expr,
        {k: v for k, v in point.items() if k in used or not isinstance(k, sp.MatrixSymbol)},
    )


#: an inverted matrix whose condition number at a point is larger is too near singular
#: for a comparison in float64 there (errors grow with it): the point is drawn again.
#: 10⁶ let a Hessian through M⁻¹ (rounding ∝ cond² or cond³) differ from 3 times
#: itself, written otherwise, by 7·10⁻⁷ at cond 5·10⁴: "wrong", not "factor"
MAX_CONDITION = 1e4
#: draws per wanted point before a choice of sizes is given up
DRAWS = 4


def inverted_operands(exprs: tuple[Any, ...]) -> list[Any]:
    """The matrices ``exprs`` invert (X⁻¹, X^-k) that are not plain symbols: the sum
    or product of random values can be singular where each symbol's value is not
    (``random_values`` draws inverted symbols well conditioned)."""
    found = []
    for node in walk(*exprs):
        negative_power = isinstance(node, sp.MatPow) and node.exp.is_negative
        if isinstance(node, sp.Inverse) or negative_power:
            operand = node.args[0]
            if not isinstance(operand, sp.MatrixSymbol) and operand not in found:
                found.append(operand)
    return found


def positive_operands(exprs: tuple[Any, ...]) -> set[Any]:
    """The MatrixSymbols ``exprs`` take an entrywise log, square root or fractional
    power of (log(x), √(Xᵀ), x^∘½, x^∘s for a scalar s): drawn positive, so that a
    gradient in positive parameters (variances, rates) is compared where it is defined."""
    found: set[Any] = set()
    for node in walk(*exprs):
        if isinstance(node, ElementwiseApplyFunction):
            operand = node.expr
            at_negative = node.function(sp.Integer(-1))
            if at_negative.is_real is not False:
                continue
        elif isinstance(node, sp.HadamardPower) and node.exp.is_integer is not True:
            operand = node.base
        else:
            continue
        if isinstance(operand, sp.Transpose):
            operand = operand.arg
        if isinstance(operand, sp.MatrixSymbol):
            found.add(operand)
    return found


def _singular(
    point: Mapping[Any, Any], program: Mapping[Any, Any], operands: list[Any]
) -> tuple[Any, dict[Any, Any]]:
    """The first operand singular or ill conditioned at ``point`` (None when none is),
    and the point with the program's symbols computed (reused by ``Trials``)."""
    values: dict[Any, Any] = {}
    try:
        with quiet():
            values = _run_program(point, program)
            for operand in operands:
                value = _real(_evaluate_at(operand, values))
                finite = np.all(np.isfinite(value))  # if not, finite_trials scales down
                if finite and np.linalg.cond(value) > MAX_CONDITION:
                    return operand, values
    except EvaluationError as exc:  # singular already inside the program or an operand
        return exc, values
    return None, values


class UndefinedAtPoints(MatDerivError):
    """Every random point makes an inverted matrix singular, at every choice of sizes."""


def make_trials(
    exprs: tuple[Any, ...],
    sizes: int = 3,
    points: int = 2,
    seed: int = 0,
    program: Mapping[Any, Any] | None = None,
) -> Trials:
    """Random points (values and sizes) for ``exprs``; a ``program``'s inputs included.

    A point at which a matrix the expressions invert is singular or ill conditioned
    (condition number > MAX_CONDITION) is drawn again; a choice of sizes that gives no
    such point (P Pᵀ with P wider than tall) is replaced by the next one.  Raises
    UndefinedAtPoints when no choice gives one.
    """
    rng = np.random.default_rng(seed)
    program = dict(program or {})
    both = sp.Tuple(*exprs, *program.values())
    dims = sorted(dimension_symbols(*exprs, *program.values()), key=str)
    operands = inverted_operands((*exprs, *program.values()))
    positive = positive_operands((*exprs, *program.values()))
    out: list[dict[Any, Any]] = []
    ran: list[dict[Any, Any]] = []  # the points with the program run, when checked
    chosen, culprit = 0, None
    for choice in every_size_choice(dims) if operands else size_choices(dims, sizes):
        good, good_ran = [], []
        for _ in range(DRAWS * points if operands else points):
            # the symbols a program defines are computed from the point later
            point = {**random_values(both, choice, rng, positive=positive), **choice}
            bad, values = _singular(point, program, operands) if operands else (None, {})
            if bad is None:
                good.append(point)
                good_ran.append(values)
                if len(good) == points:
                    break
            else:
                culprit = culprit or (bad, choice)
        if good:
            out.extend(good)
            ran.extend(good_ran)
            chosen += 1
            if chosen == sizes:
                break
    if not out:
        raise UndefinedAtPoints(_undefined_message(*culprit) if culprit else "no points")
    # the program already ran at each point to check its inverses: not again
    return Trials(tuple(out), program, _ran=ran if operands else [])


def _undefined_message(bad: Any, choice: Mapping[Any, int]) -> str:
    sizes = ", ".join(f"{fmt(d)} = {k}" for d, k in choice.items())
    what = str(bad) if isinstance(bad, EvaluationError) else f"{fmt(bad)} is singular"
    return (
        f"{what} at every random point verify drew, at every choice of sizes it tried "
        f"({sizes}, and others), so it cannot compare values. Check that the matrix is "
        "invertible for the shapes you use (P Pᵀ is singular when P is taller than wide)."
    )


#: smaller values tried, in turn, when an expression is not finite at the points
#: (exp of a cube overflows at Gaussian values of a few units)
SCALES = (0.3, 0.1)


def finite_trials(trials: Trials, exprs: tuple[Any, ...]) -> Trials:
    """``trials``, or the first of its scaled-down versions at which every expression
    is finite; else the points where the last expression (the derivative) is finite,
    when two or more are: it is undefined at the others (∇‖relu(X w)‖ where every
    entry of X w is negative), and so is any candidate; else ``trials`` itself (a log
    of a negative entry stays so, and a candidate not finite where the derivative is
    stays compared there)."""
    if trials.finite(exprs):
        return trials
    for factor in SCALES:
        smaller = trials.scaled(factor)
        if smaller.finite(exprs):
            return smaller
    with quiet():
        defined = [np.all(np.isfinite(v)) for v in trials.values(exprs[-1])]
    if 2 <= sum(defined) < len(defined):
        return trials.with_points(
            tuple(p for p, ok in zip(trials.points, defined, strict=True) if ok)
        )
    return trials


#: below this, every entry of a value is lost in relative_error's absolute floor (1, so
#: differences under RTOL = 1e-7 pass): such a point cannot tell a candidate apart
NEGLIGIBLE = 1e-6


def vanishing(values: list[np.ndarray]) -> int:
    """How many of the values are negligible (every entry below NEGLIGIBLE)."""
    return sum(1 for v in values if not np.any(np.abs(v) >= NEGLIGIBLE))


def informative_trials(
    trials: Trials, exprs: tuple[Any, ...], factors: tuple[float, ...] = SCALES
) -> Trials:
    """``trials``, or the version scaled by one of ``factors`` at which the last of
    ``exprs`` (the derivative) is negligible at the fewest points, all finite: a
    saturated tanh′ is 0 in float64 at large arguments (scaled down), step(z - 2) at
    every point of standard normal values (scaled up, ``kinks.LARGER``), and a point
    where the derivative vanishes shows nothing about a factor, a sign or a term."""
    best, fewest = trials, vanishing(trials.values(exprs[-1]))
    for factor in factors:
        if fewest == 0:
            break
        smaller = trials.scaled(factor)
        if smaller.finite(exprs) and (count := vanishing(smaller.values(exprs[-1]))) < fewest:
            best, fewest = smaller, count
    return best


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
    """c minimising ‖a − c b‖ over all points, or None when b vanishes or a value is
    not finite (an overflow made the factor NaN, and NaN compared as no error)."""
    num = sum(float(np.vdot(x, y)) for x, y in zip(a, b, strict=True))
    den = sum(float(np.vdot(y, y)) for y in b)
    if not (np.isfinite(num) and np.isfinite(den)) or den <= 1e-300:
        return None
    return num / den
