"""derive, gradient, jacobian: the pipeline graph → rules → accumulate → simplify → layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from . import layout as layouts
from .accumulate import forward, reverse
from .derivation import Derivation
from .errors import MatDerivError
from .graph import build_graph
from .render.unicode import fmt
from .shapes import check_shapes, is_scalar_shape, restore_lambdas, scalarize, shape_of
from .simplify import Rewrite, simplify
from .steps import StepBuilder, name_nodes


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
    builder = StepBuilder(graph, name_nodes(graph, names), layout)
    log: list[Rewrite] = []
    if is_scalar_shape(out_shape):
        grad, locals_, chains = reverse(graph, log)
        raw = layouts.finish_gradient(grad, var, layout)
        chain_steps = builder.reverse_chain(chains)
        mode = "reverse"
    else:
        m, n = var.shape
        jac, locals_, chains = forward(graph, sp.Identity(m * n), log)
        raw = layouts.finish_jacobian(jac, out_shape, var, layout)
        chain_steps = builder.forward_chain(chains)
        mode = "forward"
    simplified = simplify(raw, log)
    result = restore_lambdas(simplified, expr)
    shape = layouts.result_shape(out_shape, var, layout)
    shown_root = builder.symbols.get(graph.root, expr)
    note = layouts.describe(shown_root, out_shape, var, layout)
    description = note.text(fmt)
    steps = (
        builder.define()
        + builder.local(locals_)
        + chain_steps
        + builder.simplifications(log)
        + [builder.result(graph.root, wrt, simplified, shape, description)]
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
        layout_note=note,
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
