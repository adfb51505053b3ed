"""Second order: Hessians in vec form and Hessian-vector products.

- ``hessian(f, X)`` = d² f / d vec(X) d vec(X)ᵀ, the numerator-layout Jacobian of
  the gradient (the Hessian is symmetric, so both layouts agree): x ᵀA x gives
  A + Aᵀ, tr(XᵀAX) gives I ⊗ (A + Aᵀ), log det X gives -(X⁻¹ ⊗ X⁻ᵀ) K.
- ``hvp(f, X, V)`` = H vec(V), de-vectorised (shaped like X), computed as the
  gradient of ⟨∇f(X), V⟩ for a constant V — reverse over reverse, so the answer
  is a matrix formula and the Hessian is never formed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp

from .canon import matmul, transpose
from .derivation import Derivation, Step
from .engine import _as_expr, gradient, second_phase_gradient, second_phase_jacobian
from .errors import LayoutError, MatDerivError
from .layout import scalar_variable
from .limits import allows_deep
from .naming import SECOND_ORDER_NOTE
from .nodes import CommutationMatrix, Vec
from .render.unicode import fmt
from .shapes import fmt_shape, free_symbols, is_scalar_shape, shape_of, walk
from .step_names import dimension_names, display_symbol, symbol_names
from .substitute import substitute
from .symmetry import check_symmetric, refuse_variable


def _variable(X: Any) -> Any:
    if isinstance(X, Vec) and isinstance(X.arg, sp.MatrixSymbol):
        return X.arg
    if isinstance(X, sp.MatrixSymbol):
        return X
    if isinstance(X, Vec) and isinstance(X.arg, sp.Transpose):
        m, n = X.arg.arg.shape
        Y, K = fmt(X.arg.arg), fmt(CommutationMatrix(m, n))
        raise LayoutError(
            f"the Hessian is taken by {Y} (d² f / d vec({Y}) d vec({Y})ᵀ), not by "
            f"{fmt(X)}: with vec({Y}ᵀ) = {K} vec({Y}), the Hessian by vec({Y}ᵀ) is "
            f"{K} ∇² {K}ᵀ for the Hessian ∇² = hessian(f, {Y})."
        )
    raise LayoutError(
        f"second derivatives are taken with respect to a MatrixSymbol X (or vec(X)), "
        f"got {fmt(X) if isinstance(X, sp.Basic) else repr(X)}; "
        "the Hessian is always d² f / d vec(X) d vec(X)ᵀ."
    )


def _check_scalar(f: Any, what: str) -> Any:
    f = _as_expr(f)
    if not is_scalar_shape(shape_of(f)):
        raise MatDerivError(
            f"{what} needs a scalar (1 x 1) expression, but {fmt(f)} is "
            f"{fmt_shape(shape_of(f))}. "
            "Hint: the second derivative of a vector or matrix is a 3- or 4-way tensor; "
            "take the Hessian of each scalar entry or of a scalar loss."
        )
    return f


def _heading(name: str, expr: Any, what: str) -> Step:
    return Step("define", name, expr, shape_of(expr), note=f"{what}{SECOND_ORDER_NOTE}")


def _second_names(
    first: Derivation, names: Mapping[str, Any] | None, extra: list[tuple[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """Names for the second phase: the user's, the first phase's intermediates (v_k
    keep their meaning; new ones continue the count) and ``extra`` ((g, ∇f), ...)
    under a free name each; returns the names and the names given to ``extra``."""
    out = dict(names or {})
    symbols: dict[Any, Any] = {}
    where_names = {str(s) for s in first.definitions}
    for step in first.steps:
        if step.kind != "define" or step.lhs in ("f", "Y") or step.lhs in out:
            continue
        if step.lhs in where_names:
            continue  # a where= symbol: the second phase gets it as a definition
        expr = step.expr.xreplace(symbols)
        symbols[display_symbol(step.lhs, expr)] = expr
        out[step.lhs] = expr
    chosen = []
    # each expression on its own: a dimension of f (p in I_p) may be a value in ∇f
    # (tr(I_p) = p), where a display name p would clash with it
    # and the definitions' bodies: an input only a where= definition uses (a := g∘x + b)
    exprs = (first.of, *(e for _, e in extra), *first.definitions, *first.definitions.values())
    symbols_names = set().union(*(symbol_names(walk(e)) for e in exprs))
    symbols_names |= dimension_names(walk(*exprs, first.wrt))  # g, p: never a dimension
    for stem, expr in extra:
        name, k = stem, 1
        while name in out or name in where_names or name in symbols_names:
            k += 1
            name = f"{stem}_{k}"
        out[name] = expr
        chosen.append(name)
    return out, chosen


def _symmetric_constants(
    symmetric: Iterable[Any] | None, f: Any, X: Any, where: Mapping[Any, Any] | None, what: str
) -> tuple[Any, ...]:
    """The constants declared symmetric: not the variable (a second derivative by a
    symmetric matrix is not supported)."""
    matrices = check_symmetric(symmetric, (f, *(where or {}).values()), X)
    refuse_variable(matrices, X, what)
    return matrices


@allows_deep
def hessian(
    f: Any,
    X: Any,
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    symmetric: Iterable[Any] | None = None,
) -> Derivation:
    """The Hessian d² f / d vec(X) d vec(X)ᵀ of a scalar f, shape (mn × mn) for X: m × n.

    It is the Jacobian (numerator layout) of the gradient, in Kronecker,
    commutation and diag form; the steps show the gradient, then its Jacobian.
    ``symmetric``: constant square matrices that are symmetric (as in ``derive``).
    """
    f = _check_scalar(f, "hessian")
    X, f, names, where, _ = scalar_variable(X, f, names, where)  # d/ds, s a Symbol
    X = _variable(X)
    matrices = _symmetric_constants(symmetric, f, X, where, "a Hessian")
    grad = gradient(f, X, names=names, where=where, symmetric=matrices)
    second, (g_name,) = _second_names(grad, names, [("g", grad.result)])
    jac = second_phase_jacobian(grad.result, X, second, grad.definitions or None, matrices)
    n = X.shape[1]
    vec_x = str(X) if n == 1 else f"vec({X})"
    # a scalar's second derivative d²f/ds², as written (∂²f/∂s∂sᵀ read oddly)
    label = f"∂²f/∂{vec_x}²" if X.shape == (1, 1) else f"∂²f/∂{vec_x}∂{vec_x}ᵀ"
    description = f"Hessian {label} = ∂ vec(∇f)/∂ {vec_x}ᵀ, symmetric"
    return dataclasses.replace(
        jac,
        of=f,
        wrt=X,
        steps=(
            *grad.steps,
            *_relabel(_headed(jac.steps, _heading(g_name, grad.result, "∇f")), label, g_name),
        ),
        mode="hessian",
        description=description,
        names=dict(names or {}),
        symmetric=matrices,
        leaf_adjoints={**grad.leaf_adjoints, **jac.leaf_adjoints},
    )


def _headed(steps: tuple[Step, ...], *headings: Step) -> tuple[Step, ...]:
    """The second part's steps with its definitions of g := ∇f (and p := ⟨∇f, V⟩)
    noted as what they are; a heading the part does not define goes first.  The
    first part derives ∇f: it does not list g before deriving it."""
    by_name = {h.lhs: h for h in headings}
    defined = {s.lhs for s in steps if s.kind == "define"}
    noted = tuple(
        dataclasses.replace(s, note=by_name[s.lhs].note)
        if s.kind == "define" and s.lhs in by_name
        else s
        for s in steps
    )
    return (*(h for h in headings if h.lhs not in defined), *noted)


def _relabel(steps: tuple[Step, ...], label: str, name: str) -> tuple[Step, ...]:
    """The final result step labelled as what it is (a Hessian, an HVP), its formula
    without the name g of ∇f (g := ∇f is defined in the steps, but -(X⁻¹ ⊗ X⁻ᵀ) K
    reads better than -(X⁻¹ ⊗ g) K)."""
    value = next(s.expr for s in steps if s.kind == "define" and s.lhs == name)
    last = steps[-1]
    expr = substitute(last.expr, {display_symbol(name, value): value})
    return (*steps[:-1], dataclasses.replace(last, lhs=label, expr=expr))


def _direction(X: Any, f: Any, where: Mapping[Any, Any] | None) -> Any:
    exprs = [f, *(where or {}), *(where or {}).values()]  # an input only a definition uses
    taken = {str(s) for e in exprs for s in free_symbols(sp.sympify(e))}  # DAG walks
    taken |= dimension_names(walk(X, *(sp.sympify(e) for e in exprs)))  # X: n x V
    for k in range(0, 100):
        name = "V" if k == 0 else f"V_{k}"
        if name not in taken:
            return sp.MatrixSymbol(name, *X.shape)
    raise MatDerivError("cannot find a free name for the direction; pass direction=")


@allows_deep
def hvp(
    f: Any,
    X: Any,
    direction: Any = None,
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    symmetric: Iterable[Any] | None = None,
) -> Derivation:
    """The Hessian-vector product H vec(V), shaped like X, without the Hessian.

    ``direction`` is V, a MatrixSymbol shaped like X (default: a fresh ``V``).
    The result is the gradient of ⟨∇f(X), V⟩ = tr(Vᵀ ∇f(X)) with V held constant,
    a matrix formula; ``lambdify`` turns it into NumPy code.  ``symmetric``: constant
    square matrices that are symmetric (as in ``derive``).
    """
    f = _check_scalar(f, "hvp")
    X, f, names, where, _ = scalar_variable(X, f, names, where)  # d/ds, s a Symbol
    X = _variable(X)
    V = _direction(X, f, where) if direction is None else direction
    if not isinstance(V, sp.MatrixSymbol) or tuple(V.shape) != tuple(X.shape):
        got = f"{V} of shape {V.shape}" if isinstance(V, sp.MatrixSymbol) else repr(V)
        raise MatDerivError(
            f"the direction must be a MatrixSymbol shaped like {X} {X.shape}, got {got}."
        )
    if V == X or V in (where or {}):
        what = "the variable itself" if V == X else "defined in where="
        raise MatDerivError(
            f"the direction {V} is {what}: H vec(V) holds V constant while X varies, so V "
            f"must be a symbol of its own (omit direction= for a fresh one; evaluate at "
            f"V = X to get H vec(X))."
        )
    matrices = _symmetric_constants(symmetric, f, X, where, "a Hessian-vector product")
    grad = gradient(f, X, names=names, where=where, symmetric=matrices)
    g = grad.result
    # not V.T * g: SymPy's operator runs a deep doit, which splits tr(A ⊗ B) and
    # trips over entrywise functions of 1 x 1 matrices in its assumption queries
    inner = sp.Trace(matmul(transpose(V), g)) if getattr(g, "is_Matrix", False) else V[0, 0] * g
    second, (g_name, p_name) = _second_names(grad, names, [("g", g), ("p", inner)])
    d = second_phase_gradient(inner, X, second, grad.definitions or None, matrices)
    description = f"Hessian-vector product H vec({V}), de-vectorised: shaped like {X}"
    return dataclasses.replace(
        d,
        of=f,
        wrt=X,
        steps=(
            *grad.steps,
            *_relabel(
                _headed(d.steps, _heading(g_name, g, "∇f"), _heading(p_name, inner, f"⟨∇f, {V}⟩")),
                f"H vec({V})",
                g_name,
            ),
        ),
        mode="hvp",
        description=description,
        direction=V,
        names=dict(names or {}),
        symmetric=matrices,
        leaf_adjoints={**grad.leaf_adjoints, **d.leaf_adjoints},
    )
