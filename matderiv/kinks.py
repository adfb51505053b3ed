"""Where verify compares beyond the random points: a kink (relu, |·|, step, sign,
max) at a constant, relu(z - 6), that no point reaches leaves a candidate without
its step(z - 6) term equal to the derivative at every point."""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .kink_nodes import KINKS
from .shapes import walk
from .trials import Trials, quiet, relative_error

#: larger values at which verify also compares when the candidate or the derivative
#: has a kink (relu, |·|, step, sign, max): a kink at a constant, relu(z - 6), that no
#: random point reaches leaves a missing step(z - 6) term 0 at every point
LARGER = (3.0, 10.0, 100.0)


def _switch(kink: Any) -> Any:
    """The expression whose sign switches ``kink``: g in step(g), sign(g), |g|; a - b
    in max(a, b)."""
    return kink.args[0] - kink.args[1] if isinstance(kink, (sp.Max, sp.Min)) else kink.args[0]


def kink_arguments(exprs: tuple[Any, ...]) -> list[Any]:
    """The expressions whose signs switch the kinks of ``exprs``: Wᵀw - 1 for
    step(Wᵀw - 1) entrywise (a matrix), tr(X) - 5 for step(tr(X) - 5) (a scalar)."""
    found: list[Any] = []
    for node in walk(*exprs, into=lambda node: not isinstance(node, sp.Lambda)):
        if isinstance(node, ElementwiseApplyFunction):
            var, body = node.function.variables[0], node.function.expr
            for kink in body.atoms(*KINKS):
                g = _switch(kink)
                if g in (var, -var):
                    found.append(node.expr)
                elif g.has(var):
                    found.append(ElementwiseApplyFunction(sp.Lambda(var, g), node.expr))
        elif isinstance(node, KINKS):  # of a scalar (not in an entrywise function)
            found.append(_switch(node))
    return list(dict.fromkeys(found))


def _finite_pairs(trials: Trials, a: Any, b: Any) -> tuple[list[Any], list[Any]]:
    pairs = [
        (x, y)
        for x, y in zip(trials.values(a), trials.values(b), strict=True)
        if np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    ]
    return [x for x, _ in pairs], [y for _, y in pairs]


def kink_trials(trials: Trials, exprs: tuple[Any, Any], rtol: float) -> Trials:
    """``trials``, with the points at the first of LARGER values added at which the
    candidate and the derivative (``exprs``, one of them with a kink) differ beyond
    ``rtol``: the diagnosis then sees where they differ (points not finite there are
    left out of the comparison)."""
    for factor in LARGER:
        larger = trials.scaled(factor)
        with quiet():
            cand, result = _finite_pairs(larger, *exprs)
        if cand and relative_error(cand, result) >= rtol:
            return trials.with_points(trials.points + larger.points)
    return trials


def unswitched(trials: Trials, exprs: tuple[Any, ...]) -> list[Any]:
    """The kink arguments of ``exprs`` whose entries keep one sign at every point of
    ``trials`` and of its LARGER-valued versions (the kink is never crossed there)."""
    sets = (trials, *(trials.scaled(factor) for factor in LARGER))
    left = []
    for g in kink_arguments(exprs):
        crossed = False
        for each in sets:
            with quiet():
                values = [v[np.isfinite(v)] for v in each.values(g)]
            if any(np.any(v > 0) for v in values) and any(np.any(v < 0) for v in values):
                crossed = True
                break
        if not crossed:
            left.append(g)
    return left
