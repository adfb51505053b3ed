"""Two mistakes at once: a slip in the arrangement of the candidate (transposed, a
commutation matrix missing, the factors of a Kronecker product swapped, a softmax
along the other axis) together
with a slip in its value (a sign, a constant factor, terms left out or negated); or
an assumption (a symmetric matrix, labels that sum to 1) with a sign or factor (or,
for labels, an arrangement).

``verify`` tries these after each single mistake of ``mistakes.py`` has failed to
explain the candidate: each arrangement is undone, and the value checks are run on
what is left.  The verdict's kind is "two-mistakes"; its details name both kinds
("mistakes", e.g. ("commutation", "sign")).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import sympy as sp

from .canon import transpose
from .errors import MatDerivError
from .layout import parse_wrt
from .mistake_assumptions import (
    along_axis,
    changed,
    holds,
    input_matrices,
    input_vectors,
    matches_at,
    probabilities,
    signed,
)
from .mistake_symmetric import and_list, fewest, symmetric_sets
from .mistake_terms import missing_term, small_program
from .mistakes import MAX_SWAPS, Found, Mistakes, along_axis_softmaxes, named, swappable
from .render.unicode import fmt
from .shapes import dims_equal, walk
from .softmax_nodes import Softmax

#: an arrangement undone: (its kind, what was wrong in words, the candidate fixed)
Arrangement = tuple[str, str, Any]


def _arrangements(m: Mistakes) -> Iterator[Arrangement]:
    candidate = m.candidate
    rows, cols = m.derivation.shape
    if m.thing != "Hessian" and dims_equal(rows, cols) and not dims_equal(rows, 1):
        yield "transposed", "it is transposed", transpose(candidate)
    var = parse_wrt(m.derivation.wrt)
    p, q = var.shape
    by_vec = rows if m.derivation.layout == "denominator" else cols
    jacobian = dims_equal(by_vec, p * q)  # not a gradient shaped like X
    if m.thing == "derivative" and jacobian and not (dims_equal(p, 1) or dims_equal(q, 1)):
        fixed, where = m.with_commutation(candidate)
        yield "commutation", f"a commutation matrix is missing (multiply {where})", fixed
    krons = sorted({k for k in walk(candidate) if swappable(k)}, key=sp.default_sort_key)
    if 0 < len(krons) <= MAX_SWAPS:
        for k in krons:
            swapped = sp.KroneckerProduct(*reversed(k.args))
            yield (
                "kron-order",
                f"the factors of {fmt(k)} are in the wrong order ({fmt(swapped)})",
                candidate.xreplace({k: swapped}),
            )
    for a in along_axis_softmaxes(candidate):
        turned = Softmax(a.arg, 1 - a.axis)
        yield (
            "other-axis",
            f"{fmt(a)} is along the other axis ({fmt(turned)})",
            candidate.xreplace({a: turned}),
        )


def two_mistakes(m: Mistakes) -> Found:
    """An arrangement and a value slip that together explain the candidate."""
    for kind, wrong, fixed in _arrangements(m):
        rest = replace(m, candidate=fixed)
        for check in (rest._factor, functools.partial(missing_term, rest)):
            try:
                found = check()
            except MatDerivError:  # the arrangement does not evaluate (sizes that clash)
                continue
            if found is None or found[0] == "wrong":
                continue
            value_kind, _, details = found
            slip = _value_slip(value_kind, details, m.derivation.names)
            message = f"two mistakes: {wrong}, and {slip}. The {m.thing} is {m.shown_result}."
            return "two-mistakes", message, {**details, "mistakes": (kind, value_kind)}
    return _symmetric_and_factor(m) or _sums_to_one_and(m)


def _symmetric_and_factor(m: Mistakes) -> Found:
    """Right for a symmetric matrix up to a sign or a constant factor: Σ⁻¹(μ − x) for
    ∂/∂μ of the Gaussian, whose derivative is (Σ⁻¹ + Σ⁻ᵀ)(x − μ)/2.  The factor is
    ``_factor``'s at the points with the matrix symmetric, a simple fraction only."""
    for matrices, symmetric in symmetric_sets(m):
        found = _factor_at(m, symmetric)
        if found is None:
            continue
        kind, _, details = found
        factor = details["factor"]
        matrices = fewest(m, matrices, functools.partial(_has_factor, m, factor))
        slip = _value_slip(kind, details, m.derivation.names)
        verb = "is" if len(matrices) == 1 else "are"
        message = (
            f"two mistakes: it is right only if {and_list(matrices)} {verb} symmetric, and "
            f"{slip}. The {m.thing} is {m.shown_result}."
        )
        matrix = matrices[0] if len(matrices) == 1 else matrices
        return (
            "two-mistakes",
            message,
            {**details, "symmetric": matrix, "mistakes": ("symmetric", kind)},
        )
    return None


#: at most this many inputs of a kind are tried as labels that sum to 1
MAX_LABELS = 4


def _sums_to_one_and(m: Mistakes) -> Found:
    """Right where the labels sum to 1 (each row of a batch Y, or a vector y), but for
    a sign, a constant factor or an arrangement: Xᵀ(Y - softmax_rows(X W)) or
    Xᵀ(softmax_cols(X W) - Y) for the batch cross-entropy's Xᵀ(softmax_rows(X W) - Y),
    itself right only where Y 𝟏 = 𝟏.  Each account is confirmed as ``sums_to_one``'s
    is (``holds``), not taken from one set of points.  Not for a long program (each
    label's points run it again)."""
    if not small_program(m.derivation):
        return None
    for label, where, details, y, values in _labels(m):
        trials = changed(m, {y: values[0]})
        found = _factor_at(m, trials)
        if found is not None:
            kind, _, slip_details = found
            fixed = m.candidate / sp.Rational(slip_details["factor"])
            slip = _value_slip(kind, slip_details, m.derivation.names)
            details = {**slip_details, **details}
        else:
            arranged = next(
                (a for a in _arrangements(m) if matches_at(replace(m, candidate=a[2]), trials)),
                None,
            )
            if arranged is None:
                continue
            kind, slip, fixed = arranged
            details = {**details, "fix": fixed}
        if m.close(fixed, m.result) or not holds(replace(m, candidate=fixed), y, values):
            continue  # the slip alone explains it (3 H where H nearly vanishes), or not at all
        message = (
            f"two mistakes: it is right only if {label} ({where}), and {slip}. "
            f"The {m.thing} is {m.shown_result}."
        )
        return "two-mistakes", message, {**details, "mistakes": ("sums-to-one", kind)}
    return None


def _labels(m: Mistakes) -> Iterator[tuple[str, str, dict[str, Any], Any, Any]]:
    """For each input vector y, and each input matrix Y by rows and by columns: the
    words, the details, the input and the values that sum to 1 to try for it."""
    for y in input_vectors(m)[:MAX_LABELS]:
        label = f"the entries of {fmt(y)} sum to 1"
        values: tuple[Callable[[Any], Any], ...] = (probabilities, signed())
        yield label, "a one-hot label or a probability vector", {"sums_to_one": y}, y, values
    for axis, along in ((1, "row"), (0, "column")):
        for Y in input_matrices(m)[:MAX_LABELS]:
            label = f"each {along} of {fmt(Y)} sums to 1"
            details = {"sums_to_one": Y, "along": f"{along}s"}
            values = (along_axis(axis), signed(axis))
            yield label, f"one-hot labels, an example a {along}", details, Y, values


def _factor_at(m: Mistakes, trials: Any) -> Found:
    """A sign or a simple constant factor off at the points ``trials``, else None."""
    try:
        found = replace(m, trials=trials)._factor()
    except (MatDerivError, ValueError):
        return None
    if found is None or found[0] not in ("sign", "factor"):
        return None
    factor = sp.Rational(found[2]["factor"])
    if factor == 1 or factor.q > 12 or abs(factor.p) > 100:
        return None
    return found


def _has_factor(m: Mistakes, factor: Any, trials: Any) -> bool:
    found = _factor_at(m, trials)
    return found is not None and found[2]["factor"] == factor


def _value_slip(kind: str, details: dict[str, Any], names: Mapping[str, Any]) -> str:
    if kind == "sign":
        return "its sign is wrong"
    if kind == "factor":
        return f"it is {details['factor']} times what it should be"
    parts = []
    if "missing" in details:
        parts.append(f"it lacks the term {fmt(named(details['missing'], names))}")
    if "wrong_sign" in details:
        parts.append(f"the sign of {fmt(named(details['wrong_sign'], names))} is wrong")
    return " and ".join(parts)
