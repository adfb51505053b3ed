"""Derivations and verdicts as plain JSON data, for programs that read matderiv's
answers (``matderiv derive --json``, ``matderiv verify --json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .latex import tex, tex_shape
from .tex_printer import symbols_of
from .unicode import fmt

if TYPE_CHECKING:
    from ..derivation import Derivation
    from ..verdict import Verdict


def _shape(s: Any) -> list[str]:
    return [str(s[0]), str(s[1])]


def derivation_json(d: Derivation) -> dict[str, Any]:
    """A Derivation as plain JSON data for other programs.

    ``result`` (and ``result_latex``) is self-contained and reads back into
    ``verify``; ``result_named`` is the result as the last step writes it, through
    the intermediates the steps name (v₂, ...), which only the steps define."""
    with symbols_of(d.of, *d.definitions, *d.definitions.values()):
        return _derivation_json(d)


def _derivation_json(d: Derivation) -> dict[str, Any]:
    steps = []
    for step in d.steps:
        item: dict[str, Any] = {
            "kind": step.kind,
            "lhs": step.lhs,
            "expr": fmt(step.expr),
            "latex": tex(step.expr),
            "shape": _shape(step.shape),
            "rule": step.rule,
            "note": step.note,
        }
        if step.differential is not None:
            item["differential"] = [fmt(step.differential[0]), fmt(step.differential[1])]
        if step.factors:
            item["factors"] = [
                [{"label": f.label, "shape": _shape(f.shape)} for f in term]
                for term in step.factors
            ]
            item["product_shape"] = _shape(step.product_shape)
        if step.before is not None:
            item["before"] = fmt(step.before)
        steps.append(item)
    return {
        "of": fmt(d.of),
        "wrt": fmt(d.wrt),
        "layout": d.layout,
        "mode": d.mode,  # reverse, forward, hessian or hvp
        "result": fmt(d.result),
        "result_named": fmt(d.steps[-1].expr),
        "result_latex": tex(d.result),
        "shape": _shape(d.shape),
        "shape_latex": tex_shape(d.shape),
        "description": d.description,
        "symmetric": [str(M) for M in d.symmetric],  # declared symmetric (symmetric=)
        "definitions": [
            {"name": str(k), "expr": fmt(v), "latex": tex(v)} for k, v in d.definitions.items()
        ],
        "steps": steps,
    }


def verdict_json(v: Verdict) -> dict[str, Any]:
    """A Verdict as plain JSON data: whether the candidate is right, the kind of
    mistake, the message, both formulas and shapes, and the largest error seen."""
    d = v.derivation
    shown = v.shown_candidate if v.shown_candidate is not None else v.candidate
    result = v.shown_result if v.shown_result is not None else d.result
    with symbols_of(d.of, *d.definitions, *d.definitions.values()):
        derived_latex = tex(result)
    out: dict[str, Any] = {
        "ok": bool(v),
        "kind": v.kind,
        "message": v.message,
        "candidate": shown if isinstance(shown, str) else fmt(shown),
        "derived": fmt(result),
        "derived_latex": derived_latex,
        "shape": _shape(d.shape),
        "layout": d.layout,
        "description": d.description,
    }
    if "candidate_shape" in v.details:
        out["candidate_shape"] = _shape(v.details["candidate_shape"])
    if "max_error" in v.details:
        error = float(v.details["max_error"])
        out["max_error"] = error if error == error else None  # NaN is not JSON
    if "other_layout" in v.details:  # a wrong shape: the mistake in the layout it fits
        out["other_layout"] = dict(v.details["other_layout"])
    if v.ok and "symmetric" in v.details:  # the matrices assumed symmetric
        out["assumed_symmetric"] = [str(M) for M in v.details["symmetric"]]
    return out


__all__ = ["derivation_json", "verdict_json"]
