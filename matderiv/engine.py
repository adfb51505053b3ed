"""derive, gradient, jacobian: the pipeline graph → rules → accumulate → simplify → layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from . import layout as layouts
from .accumulate import forward, reverse
from .derivation import Derivation, Step
from .errors import MatDerivError
from .graph import build_graph
from .render.unicode import fmt
from .shapes import check_shapes, is_scalar_shape, restore_lambdas, scalarize, shape_of
from .simplify import Rewrite, simplify
from .steps import (
    define_steps,
    forward_chain_steps,
    local_steps,
    name_nodes,
    reverse_chain_steps,
    show,
    simplify_steps,
)


def _as_expr(expr: Any) -> Any:
    try:
        return sp.sympify(expr, strict=True)
    except sp.SympifyError as exc:
        raise MatDerivError(
            f"cannot differentiate {expr!r} ({type(expr).__name__}): pass a SymPy expression, "
            "e.g. built from MatrixSymbol, or a string through matderiv's parser."
        ) from exc


def derive(
    expr: Any,
    wrt: Any,
    layout: str = "numerator",
    *,
    names: Mapping[str, Any] | None = None,
) -> Derivation:
    """The derivative of ``expr`` with respect to ``wrt`` (X, vec(X) or vec(X.T)).

    Scalar ``expr``: the gradient, shaped like X in denominator layout (like Xᵀ in
    numerator layout), or a row/column over vec(X).  Vector or matrix ``expr``:
    the Jacobian J = d vec(expr) / d vec(X)ᵀ (numerator) or Jᵀ (denominator),
    in Kronecker / commutation / diag form.  ``names`` maps display names to
    intermediates ({"h_1": tanh(...)}); they show in the steps only.
    """
    layout = layouts.check_layout(layout)
    var = layouts.parse_wrt(wrt)
    expr = _as_expr(expr)
    check_shapes(expr)
    names = dict(names or {})
    graph = build_graph(scalarize(expr), var.symbol)
    out_shape = shape_of(expr)
    log: list[Rewrite] = []
    symbols = name_nodes(graph, names)
    if is_scalar_shape(out_shape):
        grad, locals_ = reverse(graph, log)
        raw = layouts.finish_gradient(grad, var, layout)
        chain = reverse_chain_steps(locals_, symbols, var.symbol)
        mode = "reverse"
    else:
        m, n = var.shape
        jac, locals_ = forward(graph, sp.Identity(m * n), log)
        raw = layouts.finish_jacobian(jac, out_shape, var, layout)
        chain = forward_chain_steps(locals_, symbols, var.symbol)
        mode = "forward"
    final_log: list[Rewrite] = []
    result = restore_lambdas(simplify(raw, final_log), expr)
    shape = layouts.result_shape(out_shape, var, layout)
    description = layouts.describe(expr, out_shape, var, layout, fmt)
    steps = (
        define_steps(graph, symbols)
        + local_steps(locals_, symbols, var.symbol)
        + chain
        + simplify_steps(final_log, symbols)
        + [Step("result", "result", show(result, symbols), shape, note=description)]
    )
    return Derivation(
        of=expr,
        wrt=wrt,
        layout=layout,
        result=result,
        shape=shape,
        steps=tuple(steps),
        mode=mode,
        description=description,
        names=names,
    )


def gradient(f: Any, X: Any, *, names: Mapping[str, Any] | None = None) -> Derivation:
    """The gradient of a scalar f: derive(f, X, layout="denominator"), shaped like X."""
    f = _as_expr(f)
    if not is_scalar_shape(shape_of(f)):
        raise MatDerivError(
            f"gradient needs a scalar (1 x 1) expression, but {f} has shape {shape_of(f)}. "
            "Hint: use jacobian(y, x) for vector or matrix outputs."
        )
    return derive(f, X, layout="denominator", names=names)


def jacobian(y: Any, x: Any, *, names: Mapping[str, Any] | None = None) -> Derivation:
    """The Jacobian d vec(y) / d vec(x)ᵀ: derive(y, x, layout="numerator")."""
    return derive(y, x, layout="numerator", names=names)
