"""Assumptions a candidate makes: that an input vector's entries sum to 1 (or each row
or column of an input matrix: a batch of labels), that they are ±1, or that the
variable is a symmetric matrix whose independent entries it differentiates by.

The textbook gradient of the softmax cross-entropy -yᵀ log softmax(z) is
softmax(z) - y, right for one-hot or probability labels y; for a general y the
derivative is (𝟏ᵀy) softmax(z) - y.  ``sums_to_one`` finds a candidate that is right
exactly when some input vector's entries sum to 1, as ``mistake_symmetric.symmetric`` finds
one that is right when a matrix is symmetric.  ``symmetric_entries`` finds the Matrix
Cookbook's derivative by a symmetric X, G + Gᵀ - G∘I for the gradient G (2Σ⁻¹ - Σ⁻¹∘I
for log det Σ).  ``unsymmetrised`` finds G itself given for a variable declared
symmetric, whose gradient among symmetric matrices is (G + Gᵀ)/2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from .canon import transpose
from .engine import derive
from .errors import MatDerivError
from .layout import parse_wrt
from .mistake_symmetric import symmetrised
from .mistakes import RTOL, Comparison, Found, Mistakes, named
from .render.unicode import fmt
from .shapes import dims_equal, is_scalar_shape, shape_of
from .symmetry import written_symmetric
from .trials import relative_error


def sums_to_one(m: Comparison) -> Found:
    """Right only when the entries of an input vector y (not the variable) sum to 1:
    compared at the trial points with y replaced by |y|/Σ|y|, a probability vector; or
    when each row (column) of an input matrix Y does: a batch of labels, one example a
    row (softmax_rows) or a column (softmax_cols)."""
    for y in _suspects(m, probabilities):
        if holds(m, y, (probabilities, signed())):
            ones = f"𝟏ᵀ{fmt(y)}" if dims_equal(y.shape[1], 1) else f"{fmt(y)} 𝟏"
            return (
                "sums-to-one",
                f"the candidate is right only if the entries of {fmt(y)} sum to 1 (a "
                f"one-hot label or a probability vector): it matches the {m.thing} when "
                f"{ones} = 1, but in general the {m.thing} is {m.shown_result}.",
                {"sums_to_one": y},
            )
    for axis, along in ((1, "row"), (0, "column")):
        for Y in _suspects(m, along_axis(axis), input_matrices(m)):
            if holds(m, Y, (along_axis(axis), signed(axis))):
                ones = f"{fmt(Y)} 𝟏 = 𝟏" if axis == 1 else f"𝟏ᵀ{fmt(Y)} = 𝟏ᵀ"
                return (
                    "sums-to-one",
                    f"the candidate is right only if each {along} of {fmt(Y)} sums to 1 "
                    f"(one-hot labels or probabilities, an example a {along}): it matches "
                    f"the {m.thing} when {ones}, but in general the {m.thing} is "
                    f"{m.shown_result}.",
                    {"sums_to_one": Y, "along": f"{along}s"},
                )
    return None


def holds(m: Comparison, y: Any, values: tuple[Callable[[Any], np.ndarray], ...]) -> bool:
    """The candidate matches the result with the input ``y`` given each of ``values``
    in turn, all of the assumed kind (probability vectors, say), and with the other
    inputs a tenth of their size too: a match could be by chance where a kink is not
    crossed (a relu mask step(X W) without its bias b at points where X W is large
    beside any b whose entries sum to 1), not at all of these."""
    if not all(matches_at(m, changed(m, {y: value})) for value in values):
        return False
    small = tuple(  # the matrices' values (the sizes stay)
        {k: 0.1 * np.asarray(v) if _scaled(k, y) else v for k, v in p.items()}
        for p in m.trials.points
    )
    return matches_at(m, changed(replace(m, trials=m.trials.with_points(small)), {y: values[0]}))


def _scaled(key: Any, y: Any) -> bool:
    return isinstance(key, sp.MatrixSymbol) and key != y


def changed(m: Comparison, changes: dict[Any, Callable[[Any], np.ndarray]]) -> Any:
    """The trials with each input in ``changes`` replaced by its change of its value."""
    return m.trials.with_points(
        tuple({**p, **{y: change(p[y]) for y, change in changes.items()}} for p in m.trials.points)
    )


def pm_one(m: Comparison) -> Found:
    """Right only when the entries of an input vector y (not the variable) are ±1, as
    logistic labels are: y∘y dropped from a Hessian (Xᵀ diag(σ∘(1 - σ)) X for the loss
    with margins y∘(X w)); compared at the points with y replaced by its signs."""
    for y in _suspects(m, _signs):
        if holds(m, y, (_signs, lambda value: -_signs(value))):
            return (
                "pm-one",
                f"the candidate is right only if the entries of {fmt(y)} are ±1 (labels "
                f"y ∈ {{-1, 1}}, so that {fmt(y)}∘{fmt(y)} = 𝟏): it matches the {m.thing} "
                f"there, but in general the {m.thing} is {m.shown_result}.",
                {"pm_one": y},
            )
    return None


def matches_at(m: Comparison, points: Any) -> bool:
    """The candidate equals the result at ``points`` (trials with an input changed),
    relative to the result's own size there: where the result is 0 or nearly 0 at
    every point (a tanh saturated by the changed input, say), any multiple of it would
    match to verify's usual tolerance, which is at least absolute for small values."""
    try:
        result = [np.asarray(v) for v in points.values(m.result)]
        candidate = [np.asarray(v) for v in points.values(m.candidate)]
        if relative_error(candidate, result) >= RTOL:
            return False
    except (MatDerivError, ValueError):
        return False
    scale = max(float(np.max(np.abs(r), initial=0.0)) for r in result)
    apart = max(
        float(np.max(np.abs(c - r), initial=0.0)) for c, r in zip(candidate, result, strict=True)
    )
    return scale > 0 and apart <= RTOL * scale


def input_vectors(m: Comparison) -> list[Any]:
    """The column and row vectors among the inputs (not the variable) that every trial
    point gives a value."""
    return _inputs(m, lambda rows, cols: rows != cols)  # n x 1 or 1 x n


def input_matrices(m: Comparison) -> list[Any]:
    """The matrices among the inputs (not vectors, not the variable)."""
    return _inputs(m, lambda rows, cols: not rows and not cols)


def _inputs(m: Comparison, kind: Callable[[bool, bool], bool]) -> list[Any]:
    """The inputs (not the variable) that every trial point gives a value, of the
    ``kind`` that (one row, one column) says."""
    d = m.derivation
    var = parse_wrt(d.wrt).symbol
    inputs = sp.Tuple(d.of, d.result, *d.definitions.values()).free_symbols
    found = [
        s
        for s in inputs
        if isinstance(s, sp.MatrixSymbol)
        and s != var
        and s not in d.definitions
        and kind(dims_equal(s.shape[0], 1), dims_equal(s.shape[1], 1))
    ]
    return sorted((y for y in found if all(y in p for p in m.trials.points)), key=str)


def _suspects(
    m: Comparison, change: Callable[[Any], np.ndarray], inputs: list[Any] | None = None
) -> list[Any]:
    """The ``inputs`` (the input vectors by default) to try one by one: none unless the
    candidate matches with every one changed at once.  A candidate right whenever y is
    changed so is right when the others are changed too; the one check spares a run of
    the problem per input (a where= program of T steps has T of them: T² work)."""
    vectors = input_vectors(m) if inputs is None else inputs
    if len(vectors) < 2:
        return vectors
    every = changed(m, dict.fromkeys(vectors, change))
    return vectors if matches_at(m, every) else []


def _signs(value: Any) -> np.ndarray:
    return np.where(np.asarray(value) < 0, -1.0, 1.0)


def probabilities(value: Any, axis: int | None = None) -> np.ndarray:
    """|value| (kept off 0) scaled to sum to 1: in all, or along ``axis``."""
    weights = np.abs(np.asarray(value, dtype=float)) + 1e-3
    return weights / weights.sum(axis=axis, keepdims=axis is not None)


def signed(axis: int | None = None) -> Callable[[Any], np.ndarray]:
    """Entries of both signs that sum to 1 (in all, or along ``axis``): the value less
    its mean, plus 1/k.  A candidate right for labels that sum to 1 is right for these
    too; one right for probability vectors only (|y| for y) is not."""

    def value_of(value: Any) -> np.ndarray:
        v = np.asarray(value, dtype=float)
        keep = axis is not None
        count = v.size if axis is None else v.shape[axis]
        return 2.0 * (v - v.mean(axis=axis, keepdims=keep)) + 1.0 / count

    return value_of


def along_axis(axis: int) -> Callable[[Any], np.ndarray]:
    """Each row (axis 1) or column (axis 0) scaled to sum to 1."""
    return lambda value: probabilities(value, axis)


def symmetric_entries(m: Mistakes) -> Found:
    """A scalar's gradient by a square X written as the derivative by the independent
    entries of a symmetric X, G + Gᵀ - G∘I for matderiv's G (each off-diagonal pair
    counted twice): compared at the points with X symmetric (then with the other square
    matrices symmetric too, as a covariance's data S is)."""
    d = m.derivation
    var = parse_wrt(d.wrt)
    rows, cols = var.shape
    if m.thing != "derivative" or var.form != "X" or not dims_equal(rows, cols):
        return None
    if dims_equal(rows, 1) or shape_of(m.candidate) != shape_of(m.result):
        return None
    if shape_of(d.result) not in (var.shape, var.shape[::-1]) or not is_scalar_shape(
        shape_of(d.of)
    ):
        return None  # a scalar f (xᵀ Σ x, a 1 x 1 matrix, too)
    alone = [trials for matrix, trials in symmetrised(m) if matrix == var.symbol]
    if not alone:
        return None
    everything = alone[0].symmetrised([M for M, _ in symmetrised(m)])
    X, shown = fmt(var.symbol), m.shown_result
    for trials in (alone[0], everything):
        try:
            entries = [g + g.T - np.diag(np.diag(g)) for g in trials.values(m.result)]
            err = relative_error(trials.values(m.candidate), entries)
        except (MatDerivError, ValueError):
            continue
        if err < RTOL:
            return "symmetric-entries", _entries_message(m, X, shown), {"symmetric": var.symbol}
    return None


def _entries_message(m: Mistakes, X: str, shown: str) -> str:
    said = (
        f"the candidate is G + Gᵀ - G∘I wherever {X} is symmetric, for the derivative "
        f"G = {shown}: the derivative by the independent entries of a symmetric {X} "
        f"(∂f/∂{X}ᵢⱼ for i ≥ j, the Matrix Cookbook's form for symmetric matrices)."
    )
    twice = "the entries form counts each off-diagonal pair twice, so a step along it is not "
    if parse_wrt(m.derivation.wrt).symbol in m.derivation.symmetric:
        return (
            f"{said} With {X} declared symmetric, matderiv's derivative is the gradient "
            f"among symmetric matrices, G; {twice}the steepest."
        )
    return (
        f"{said} matderiv differentiates by all entries of {X}, each independent: its "
        f"derivative is G. Among symmetric matrices the gradient is (G + Gᵀ)/2 (G itself "
        f"where G is symmetric; symmetric=[{X}] gives it); {twice}the steepest."
    )


def unsymmetrised(m: Mistakes) -> Found:
    """A gradient by a variable X declared symmetric (``symmetric=[X]``) given as the
    derivative by its n² entries taken as independent, G (Aᵀ for tr(AX)), whose
    symmetric part (G + Gᵀ)/2 is matderiv's gradient among symmetric matrices."""
    d = m.derivation
    var = parse_wrt(d.wrt)
    if m.thing != "derivative" or var.form != "X" or var.symbol not in d.symmetric:
        return None
    if shape_of(m.candidate) != shape_of(m.result):
        return None
    try:
        halves = [(c + c.T) / 2 for c in m.trials.values(m.candidate)]
        err = relative_error(halves, m.trials.values(m.result))
    except (MatDerivError, ValueError):
        return None
    if err >= RTOL:
        return None
    others = [M for M in d.symmetric if var.symbol != M]
    plain = derive(d.of, d.wrt, d.layout, where=d.where or None, symmetric=others).result
    X, G = fmt(var.symbol), fmt(named(written_symmetric(plain, d.symmetric), d.names))
    if m.close(m.candidate, plain):
        said = f"the derivative G = {G}"
    elif m.close(m.candidate, transpose(plain)):
        said = f"the transpose of the derivative G = {G}"
    else:
        said = "not G but a matrix whose symmetric part is right; G is the derivative"
    return (
        "unsymmetrised",
        f"the candidate is {said} by the n² entries of {X} taken as independent, but "
        f"{X} is declared symmetric (symmetric=[{X}]): then the gradient is the one among "
        f"symmetric matrices, the symmetric part (G + Gᵀ)/2 = {m.shown_result}. Take "
        f"the candidate's symmetric part, or leave {X} out of symmetric= to compare "
        "with G.",
        {"symmetric": var.symbol, "plain": plain},
    )
