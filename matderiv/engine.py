"""derive, gradient, jacobian: the pipeline graph → rules → accumulate → simplify → layout."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from . import layout as layouts
from .accumulate import forward, reverse
from .canon import transpose
from .derivation import Derivation, Step
from .entry_sums import entry_sums_as_matrices
from .errors import MatDerivError, UnsupportedNode, UnusedNameWarning, sympified
from .graph import build_graph
from .limits import deep_recursion
from .program import Program, check_where
from .rational import cancel_entrywise
from .regroup import Regrouper, shared_transposes
from .render.unicode import fmt
from .scalarize import lambda_restorer, scalarize
from .shapes import check_names_unique, check_shapes, is_scalar_shape, shape_of, walk
from .simplify import Rewrite, simplify
from .step_names import name_nodes, user_names
from .steps import StepBuilder
from .symmetry import check_symmetric, refuse_variable, symmetrised, written_symmetric


def _as_expr(expr: Any) -> Any:
    return sympified(
        expr,
        lambda: (
            f"cannot differentiate {expr!r} ({type(expr).__name__}): pass a SymPy "
            "expression, e.g. built from MatrixSymbol, or parse a string first: "
            "matderiv.parse('x.T @ A @ x', matderiv.declare('A: n x n, x: n'))."
        ),
    )


def derive(
    expr: Any,
    wrt: Any,
    layout: str = "numerator",
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    symmetric: Iterable[Any] | None = None,
) -> Derivation:
    """The derivative of ``expr`` with respect to ``wrt`` (X, vec(X) or vec(X.T)).

    Scalar ``expr``: the gradient, shaped like X in denominator layout (like Xᵀ in
    numerator layout), or a row/column over vec(X).  Vector or matrix ``expr``:
    the Jacobian J = d vec(expr) / d vec(X)ᵀ (numerator) or Jᵀ (denominator),
    in Kronecker / commutation / diag form.  ``names`` maps display names to
    intermediates ({"h_1": tanh(...)}); they show in the steps only.

    ``where`` ({MatrixSymbol: definition}) is a straight-line program: ``expr``
    and the definitions may use the defined symbols, and differentiation chains
    through them.  The result then refers to those symbols and to generated
    adjoints (hbar_t, reverse mode) or tangents (hdot_t, forward mode), all
    listed in ``d.definitions`` in an order ``evaluate`` and ``lambdify`` run.

    ``symmetric`` lists square matrices that are symmetric (a covariance Σ): the
    result is written with Σᵀ = Σ, and holds for symmetric values only.  For a scalar
    ``expr`` and a symmetric variable X it is the gradient among symmetric matrices,
    (G + Gᵀ)/2 for the gradient G by X's n² entries taken independent.
    """
    wrt, expr, names, where, _ = layouts.scalar_variable(wrt, expr, names, where)  # d/ds
    with deep_recursion():
        d = _derive(expr, wrt, layout, names, where, symmetric=symmetric)
    _warn_unused_names(d, names)
    return d


def _warn_unused_names(d: Derivation, names: Mapping[str, Any] | None) -> None:
    """A name given for a subexpression the expression does not have is a typo (or a
    stale name): say so, as the derivation silently goes without it."""
    defined = {s.lhs for s in d.steps if s.kind == "define"}
    unused = [
        k
        for k, v in (names or {}).items()
        if isinstance(v, sp.Basic) and not v.is_Atom and k not in defined
    ]
    if unused:  # a subexpression that is there but constant in the variable gets no step
        nodes = set(walk(sp.Tuple(scalarize(d.of), *map(scalarize, d.where.values()))))
        unused = [k for k in unused if scalarize(names[k]) not in nodes]  # type: ignore[index]
    if unused:
        given = dict(names or {})
        listed = ", ".join(f"{k} := {fmt(given[k])}" for k in unused)
        warnings.warn(
            UnusedNameWarning(
                f"names: {listed} does not occur in {fmt(d.of)}, so the derivation does "
                "not use it; check the subexpression (as SymPy builds it).",
                tuple(unused),
            ),
            stacklevel=3,
        )


def second_phase_jacobian(
    g: Any,
    X: Any,
    names: Mapping[str, Any] | None,
    where: Mapping[Any, Any] | None,
    symmetric: tuple[Any, ...] = (),
) -> Derivation:
    """jacobian(g, X) for a Hessian's second phase: ``names`` holds the first phase's
    intermediates, which g need not have all of (no warning for those); ``symmetric``
    the constants declared so, which g need not have all of either."""
    with deep_recursion():
        used = _used(symmetric, g, where)
        return _derive(g, X, "numerator", names, where, symmetric=used)


def second_phase_gradient(
    p: Any,
    X: Any,
    names: Mapping[str, Any] | None,
    where: Mapping[Any, Any] | None,
    symmetric: tuple[Any, ...] = (),
) -> Derivation:
    """gradient(p, X) for an HVP's second phase (p = ⟨∇f, V⟩): ``where`` already holds
    the gradient's adjoints ā = ∂f/∂a, so the new ones are ã = ∂p/∂a (atilde)."""
    with deep_recursion():
        used = _used(symmetric, p, where)
        return _derive(p, X, "denominator", names, where, adjoint_mark="tilde", symmetric=used)


def _used(matrices: tuple[Any, ...], expr: Any, where: Mapping[Any, Any] | None) -> list[Any]:
    """The ``matrices`` that ``expr`` or the program ``where`` uses."""
    free = sp.Tuple(expr, *(where or {}).values()).free_symbols
    return [M for M in matrices if M in free]


def _derive(
    expr: Any,
    wrt: Any,
    layout: str,
    names: Mapping[str, Any] | None,
    where: Mapping[Any, Any] | None,
    adjoint_mark: str = "bar",
    symmetric: Iterable[Any] | None = None,
) -> Derivation:
    layout = layouts.check_layout(layout)
    if names is not None and not isinstance(names, Mapping):
        raise MatDerivError(
            "names= maps display names to subexpressions, as a dict "
            f"({{'h_1': tanh(W.T*x)}}); got a {type(names).__name__}"
        )
    var = layouts.parse_wrt(wrt)
    expr = entry_sums_as_matrices(_as_expr(expr))  # (xᵀ A x)[0, 0], which SymPy sums
    check_shapes(expr)
    user_defs = {  # (xᵀ A x)[0, 0] in a definition, too
        s: entry_sums_as_matrices(v) for s, v in check_where(where, var.symbol, (expr,)).items()
    }
    check_names_unique(expr, var.symbol, *user_defs, *user_defs.values())
    matrices = check_symmetric(symmetric, (expr, *user_defs.values()), var.symbol)
    defined = [M for M in matrices if M in user_defs]
    if defined:  # its value is computed: nothing would check that it is symmetric
        raise MatDerivError(
            f"symmetric=: {fmt(defined[0])} is defined in where= ({fmt(defined[0])} := "
            f"{fmt(user_defs[defined[0]])}), so whether it is symmetric depends on its "
            "inputs: declare those symmetric, or leave it out."
        )
    if not is_scalar_shape(shape_of(expr)) or var.form != "X":
        refuse_variable(matrices, var.symbol, "a Jacobian (of a matrix, or by a vec)")
    program = (
        Program.from_definitions(user_defs, expr, var.symbol, adjoint_mark=adjoint_mark)
        if user_defs
        else None
    )
    scalar_defs = program.user if program else {}
    root = shared_transposes(scalarize(expr))  # (A x - b)ᵀ as SymPy distributed it
    grouped: dict[str, Any] = {}
    if names:  # a named product or sum stays an operand: yᵀ (W₂ᵀ v) for yᵀ z
        named = {k: scalarize(v) for k, v in names.items() if isinstance(v, sp.Basic)}
        grouper = Regrouper(named.values())
        root = grouper(root)
        grouped = {k: grouper(v) for k, v in named.items()}
        # and as they read regrouped: y = c/√s holds c, not x - 𝟏 mu's flattened form
        again = Regrouper(grouped.values())
        root = again(root)
        grouped = {k: again(v) for k, v in grouped.items()}
    graph = build_graph(root, var.symbol, scalar_defs)
    taken = user_names(graph)
    names = _check_names(names or {}, taken)
    _refuse_entry_sums(graph)
    out_shape = shape_of(expr)
    aliases = program.aliases if program else {}
    shown = {k: grouped.get(k, v) for k, v in names.items()}
    builder = StepBuilder(graph, name_nodes(graph, shown, taken), layout, aliases)
    chain_log: list[Rewrite] = []  # the chain rule's rewrites, in its own orientation
    log: list[Rewrite] = []  # the result's, in the layout's
    if is_scalar_shape(out_shape):
        grad, locals_, chains = reverse(graph, chain_log, program)
        raw = layouts.finish_gradient(grad, var)  # transposed below for numerator layout
        chain_steps = builder.reverse_chain(chains)
        mode = "reverse"
    else:
        m, n = var.shape
        jac, locals_, chains = forward(graph, sp.Identity(m * n), chain_log, program)
        raw = layouts.finish_jacobian(jac, out_shape, var, layout)
        chain_steps = builder.forward_chain(chains) + builder.change_of_variable(var, raw)
        mode = "forward"
    if program is not None:
        raw = program.named(raw)
    raw = symmetrised(raw, var.symbol, matrices, log)  # Σᵀ = Σ; (G + Gᵀ)/2 by a symmetric X
    if mode == "reverse" and layout == "numerator":  # shown as the result is, transposed
        log = [_transposed(r, matrices) for r in log]
    simplified = _simplified(raw, log)
    if mode == "reverse" and layout == "numerator" and getattr(simplified, "is_Matrix", False):
        simplified = _simplified(written_symmetric(transpose(simplified), matrices), log)
    restore = lambda_restorer(sp.Tuple(expr, *user_defs.values()) if user_defs else expr)
    result = restore(simplified)
    definitions: dict[Any, Any] = dict(user_defs)
    if program is not None:
        generated = program.generated.items()
        definitions.update((s, restore(written_symmetric(v, matrices))) for s, v in generated)
    shape = layouts.result_shape(out_shape, var, layout)
    shown_root = builder.symbols.get(graph.root, expr)
    note = replace(layouts.describe(shown_root, out_shape, var, layout), symmetric=matrices)
    description = note.text(fmt)
    steps = (  # the generated adjoints h̄_t before the chain steps that use them
        builder.define()
        + builder.local(locals_)
        + _generated_steps(program, restore, builder.named(graph.root), var.symbol)
        + chain_steps
        + builder.simplifications(builder.chain_rewrites(chains, chain_log, mode) + log)
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
        definitions=definitions,
        where=dict(user_defs),
        symmetric=matrices,
        leaf_adjoints=dict(program.leaves) if program is not None else {},
    )


def _transposed(rewrite: Rewrite, matrices: tuple[Any, ...]) -> Rewrite:
    """A rewrite of a gradient shown in the numerator layout's orientation."""
    after = written_symmetric(transpose(rewrite.after), matrices)
    return Rewrite(rewrite.rule, transpose(rewrite.before), after)


def _simplified(raw: Any, log: list[Rewrite]) -> Any:
    """``raw`` simplified, its entrywise fractions cancelled, and simplified again (and
    cancelled again: the rules may join two entrywise parts into one, as vec(P) - 2
    vec(Q) into vec(P - 2 Q))."""
    simplified = simplify(raw, log)
    for _ in range(_CANCEL_ROUNDS):
        simplified, cancelled = cancel_entrywise(simplified)
        if not cancelled:
            break
        log += [Rewrite("cancel_entrywise", before, after) for before, after in cancelled]
        simplified = simplify(simplified, log)
    return simplified


_CANCEL_ROUNDS = 3


def _refuse_entry_sums(graph: Any) -> None:
    """SymPy writes an element of a matrix product, (bᵀx)[0, 0], as a Sum over the
    entries; matderiv works with whole matrices and cannot evaluate such a sum."""
    found = next((node for node in graph.order if isinstance(node, sp.Sum)), None)
    if found is None:
        return
    if not found.has(MatrixElement):
        raise UnsupportedNode(
            f"the sum {found} (a SymPy Sum over an index): matderiv differentiates matrix "
            "expressions, not sums written with Sum. Hint: write the sum as a matrix "
            "expression (1ᵀ x for the sum of x's entries, tr(X) for the sum of a diagonal), "
            "or write out its terms."
        )
    raise UnsupportedNode(
        f"the sum over entries {found}: SymPy writes an element of a matrix "
        "expression, such as (b.T*x)[0, 0], as a Sum over its entries; matderiv reads "
        "such a sum back as the 1 x 1 matrix b.T*x, but could not read this one. "
        "Hint: write sp.Trace(b.T*x) (the trace of a 1 x 1 matrix is its entry) or the "
        "1 x 1 matrix b.T*x itself (1 x 1 matrices act as scalars), not its entry [0, 0]."
    )


#: what a display name cannot hold: it prints as one symbol and is read back as one
_NOT_IN_A_NAME = re.compile(r"[\s+\-*/@()\[\],;=:'\"]+")


def _check_names(names: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
    """Display names are non-empty strings for SymPy expressions, and no symbol of
    the expression is called that (the steps would show two things as one).  A symbol
    named by its own name ({"lam": lam}) changes nothing and is left out."""
    kept: dict[str, Any] = {}
    for key, value in names.items():
        if not isinstance(key, str) or not key.strip():
            raise MatDerivError(
                f"names= maps display names (non-empty strings) to subexpressions; "
                f"got the key {key!r}"
            )
        if _NOT_IN_A_NAME.search(key):
            raise MatDerivError(
                f"names[{key!r}]: a display name is one word, without spaces or operators "
                f"(it is printed as a symbol, and a candidate of verify may use it): e.g. "
                f"{_NOT_IN_A_NAME.sub('_', key).strip('_')!r}"
            )
        if not isinstance(value, sp.Basic):
            raise MatDerivError(f"names[{key!r}] must be a SymPy expression, got {value!r}")
        if isinstance(value, (sp.Symbol, sp.MatrixSymbol)) and value.name == key:
            continue  # already shown, and read in candidates, by that name
        if key in taken:
            raise MatDerivError(
                f"names[{key!r}]: {key} is already a symbol of the expression, so the steps "
                f"would show two things by one name; choose another display name for "
                f"{value}. (A symbol of the expression needs no entry in names=: "
                f"candidates may use it by its name, {key}.)"
            )
        kept[key] = value
    return kept


def _generated_steps(program: Program | None, restore: Any, root: Any, wrt: Any) -> list[Step]:
    """A define step for each adjoint (hbar_t, htilde_t) or tangent (hdot_t) the program named;
    ``root`` is the differentiated expression's display name (L, f, ...)."""
    if program is None:
        return []
    steps = []
    for symbol, value in program.generated.items():
        of, mark = program.origin[symbol]
        what = (  # names as in step labels (h_2): renderers print them (h₂, h_{2})
            f"adjoint ∂{root}/∂{of}" if mark != "dot" else f"tangent ∂ vec({of})/∂ vec({wrt})ᵀ"
        )
        steps.append(Step("program", str(symbol), restore(value), shape_of(value), "", what))
    return steps


def gradient(
    f: Any,
    X: Any,
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    symmetric: Iterable[Any] | None = None,
) -> Derivation:
    """The gradient of a scalar f: derive(f, X, layout="denominator"), shaped like X."""
    f = _as_expr(f)
    if not is_scalar_shape(shape_of(f)):
        raise MatDerivError(
            f"gradient needs a scalar (1 x 1) expression, but {f} has shape {shape_of(f)}. "
            "Hint: use jacobian(y, x) for vector or matrix outputs."
        )
    return derive(f, X, layout="denominator", names=names, where=where, symmetric=symmetric)


def jacobian(
    y: Any,
    x: Any,
    *,
    names: Mapping[str, Any] | None = None,
    where: Mapping[Any, Any] | None = None,
    symmetric: Iterable[Any] | None = None,
) -> Derivation:
    """The Jacobian d vec(y) / d vec(x)ᵀ: derive(y, x, layout="numerator")."""
    return derive(y, x, layout="numerator", names=names, where=where, symmetric=symmetric)
