"""Candidates right only when square matrices are symmetric: 2Ax for xᵀAx (A), the
Kalman gain's -2(I - KH)PHᵀ + 2KR (P and R, both covariances), X⁻¹ for ∂ log det X/∂X
(the variable itself).  Each square matrix is tried alone, then the constants
together and every one together, and the fewest that suffice are named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import sympy as sp

from .layout import parse_wrt
from .mistakes import Found, Mistakes
from .render.unicode import fmt
from .shapes import dims_equal
from .trials import Trials


def symmetric(m: Mistakes) -> Found:
    """Right only when square matrices are symmetric: a constant (2Ax for xᵀAx),
    several (2(P + Q)x for xᵀPx + xᵀQx; the fewest that suffice are named), else the
    variable itself (X⁻¹ for d log det X / dX)."""
    for matrices, trials in symmetric_sets(m):
        if not _right_with(m, trials):
            continue
        matrices = fewest(m, matrices, lambda t: _right_with(m, t))
        said, verb = and_list(matrices), "is" if len(matrices) == 1 else "are"
        return (
            "symmetric",
            f"the candidate is right only if {said} {verb} symmetric: it matches "
            f"the {m.thing} when {_transposes_equal(matrices)}, but in general "
            f"the {m.thing} is {m.shown_result}.",
            {"symmetric": matrices[0] if len(matrices) == 1 else matrices},
        )
    return None


def fewest(
    m: Mistakes, matrices: tuple[Any, ...], holds: Callable[[Trials], bool]
) -> tuple[Any, ...]:
    """Of a group of matrices symmetric at whose points ``holds``, the fewest that
    suffice (each one dropped in turn while it still holds; one alone was tried first)."""
    for M in matrices if len(matrices) > 2 else ():
        fewer = tuple(N for N in matrices if N != M)
        if len(fewer) > 1 and holds(m.trials.symmetrised(fewer)):
            matrices = fewer
    return matrices


def also_symmetric(m: Mistakes) -> tuple[str, dict[str, Any]]:
    """A transposed candidate that is also right for a symmetric matrix (X⁻¹ for
    ∂ log det X/∂X, Σ⁻¹ ... for a covariance): the likelier slip, said too."""
    found = symmetric(m)
    if found is None:
        return "", {}
    matrices = found[2]["symmetric"]
    matrices = matrices if isinstance(matrices, tuple) else (matrices,)
    verb = "is" if len(matrices) == 1 else "are"
    return (
        f" It also equals the {m.thing} wherever {and_list(matrices)} {verb} "
        f"symmetric ({_transposes_equal(matrices)}), which matderiv does not assume.",
        found[2],
    )


def _right_with(m: Mistakes, trials: Trials) -> bool:
    """The candidate equals the derivative at the points ``trials``."""
    return replace(m, trials=trials).close(m.candidate, m.result)


def symmetric_sets(m: Mistakes) -> Iterator[tuple[tuple[Any, ...], Trials]]:
    """``symmetrised``'s matrices one at a time, then the square constants together
    and every square matrix together (P and R of a Kalman update, both covariances)."""
    singles = list(symmetrised(m))
    yield from (((M,), trials) for M, trials in singles)
    var = parse_wrt(m.derivation.wrt).symbol
    declared = set(m.derivation.symmetric)  # the points have them symmetric already
    constants = tuple(M for M, _ in singles if var != M and M not in declared)
    groups = [constants] if len(constants) > 1 else []
    if var in (M for M, _ in singles) and constants:
        groups.append((*constants, var))
    for group in groups:
        yield group, m.trials.symmetrised(group)


def symmetrised(m: Mistakes) -> Iterator[tuple[Any, Trials]]:
    """(M, the trial points with M symmetric) for each square matrix of the
    expression, its program or the derivative (an HVP's direction V too)."""
    d = m.derivation  # a program's inputs too (U of h_t = tanh(W x_t + U h_{t-1}))
    var = parse_wrt(d.wrt).symbol
    inputs = sp.Tuple(d.of, d.result, *d.definitions.values()).free_symbols
    constants = sorted(
        (
            s
            for s in inputs
            if isinstance(s, sp.MatrixSymbol) and s != var and dims_equal(*s.shape)
        ),
        key=str,
    )
    for matrix in constants + ([var] if dims_equal(*var.shape) else []):
        if dims_equal(matrix.shape[0], 1):
            continue  # a 1 x 1 matrix is symmetric: nothing to assume
        if not all(matrix in p for p in m.trials.points):
            continue  # neither f nor the candidate uses it: no value to symmetrise
        yield matrix, m.trials.symmetrised([matrix])


def and_list(matrices: tuple[Any, ...]) -> str:
    """P, "P and R", "P, Q and R"."""
    names = [fmt(M) for M in matrices]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _transposes_equal(matrices: tuple[Any, ...]) -> str:
    """ "P = Pᵀ", "P = Pᵀ and R = Rᵀ"."""
    return " and ".join(f"{fmt(M)} = {fmt(M)}ᵀ" for M in matrices)
