"""Which intermediate is called what in a derivation's steps, and expressions shown
with those names: v_1, v_2, ... (or the user's names) for the nodes that depend on
the variable, also where the rewrites changed a node's form or a longer product
contains it as a run of factors."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import sympy as sp

from .canon import transpose
from .graph import Graph, is_leaf
from .naming import generated_name
from .nodes import AsScalar
from .scalarize import scalarize
from .shapes import is_matrix, is_scalar_shape, shape_of
from .substitute import rebuild, substitute, unchecked


def name_nodes(
    graph: Graph, names: Mapping[str, Any], symbols_taken: set[str] | None = None
) -> dict[Any, Any]:
    """A display symbol for every intermediate that depends on the variable.

    Generated names (v_1, v_2, ... and f or Y for the whole expression) avoid the
    names of the user's symbols, of their dimensions and of ``names``: an input or a
    dimension called v_1 or f stays the only thing called that."""
    # each name by its expression as given (the engine's are scalarized and regrouped
    # already) and scalarized: scalarize again need not return the very same tree
    by_expr = {scalarize(expr): name for name, expr in names.items()}
    by_expr.update((expr, name) for name, expr in names.items() if isinstance(expr, sp.Basic))
    taken = {*names, *(user_names(graph) if symbols_taken is None else symbols_taken)}
    taken |= graph_dimension_names(graph)
    symbols: dict[Any, Any] = {}
    count = 0
    for node in graph.order:
        if node not in graph.depends and node in by_expr and not is_leaf(node):
            # a constant the user named (i, o, g of an LSTM step by W_f): shown by name
            symbols[node] = display_symbol(by_expr[node], node)
            continue
        if node not in graph.depends or node == graph.wrt:
            continue
        if node in graph.definitions:
            symbols[node] = node  # a where= symbol is its own name
            continue
        shown = _shown_transpose(node, graph, symbols, by_expr)
        if shown is not None:
            symbols[node] = shown
            continue
        if node in by_expr:
            name = by_expr[node]
        elif node == graph.root:
            name = root_name(graph.root, taken)
        else:
            count += 1
            while generated_name(count) in taken:
                count += 1
            name = generated_name(count)
        symbols[node] = display_symbol(name, node)
    symbols[graph.wrt] = graph.wrt
    return symbols


def _shown_transpose(
    node: Any, graph: Graph, symbols: Mapping[Any, Any], by_expr: Mapping[Any, str]
) -> Any:
    """Xᵀ of a symbol X, or of a named intermediate v (not the whole expression, not
    itself named by the user): shown as Xᵀ or vᵀ, not given a name of its own.  So
    is a 1 x 1 matrix used as a scalar (AsScalar), which prints as the matrix: exp(v₁)
    for v₁ := xᵀx, not v₂ := v₁ and exp(v₂)."""
    if not isinstance(node, (sp.Transpose, AsScalar)) or node == graph.root or node in by_expr:
        return None
    if isinstance(node.arg, (sp.MatrixSymbol, sp.Symbol)):
        return node
    named = symbols.get(node.arg)
    return None if named is None else type(node)(named)


def user_names(graph: Graph) -> set[str]:
    """The names of the symbols in the graph (inputs, the variable, where= symbols),
    not of the dimensions in their shapes."""
    return symbol_names((*graph.order, graph.wrt, *graph.definitions))


def graph_dimension_names(graph: Graph) -> set[str]:
    """The names of the dimensions in the graph's shapes (n, p in X: n x p), which a
    generated name avoids as it avoids ``user_names``: p := tr(v₂) beside I_p read as
    a dimension's value, a name g written out inside I_g broke the headline."""
    return dimension_names((*graph.order, graph.wrt, *graph.definitions))


def dimension_names(nodes: Iterable[Any]) -> set[str]:
    """The names of the symbols in the shapes of the matrices among ``nodes``."""
    return {str(d) for d in _dimensions(tuple(nodes))}


def _dimensions(nodes: tuple[Any, ...]) -> set[Any]:
    return {
        d for node in nodes if is_matrix(node) for size in shape_of(node)
        for d in sp.sympify(size).free_symbols
    }  # fmt: skip


def symbol_names(nodes: Iterable[Any]) -> set[str]:
    """The names of the MatrixSymbols and Symbols among ``nodes``, except the symbols
    that are dimensions of a matrix among them (n in X: n x m)."""
    nodes = tuple(nodes)
    dims = _dimensions(nodes)
    return {
        str(node)
        for node in nodes
        if isinstance(node, sp.MatrixSymbol) or (isinstance(node, sp.Symbol) and node not in dims)
    }


def root_name(root: Any, taken: set[str]) -> str:
    """f for a scalar expression, Y for a matrix, unless a symbol is called that (or y)."""
    first = ("f", "F", "φ") if is_scalar_shape(shape_of(root)) else ("Y", "Z", "Ψ")
    candidates = itertools.chain(first, (f"{first[0]}_{k}" for k in itertools.count(1)))
    if first[0] == "Y":  # not Y beside an input y ("rows index y, columns index Y")
        taken = taken | {t.upper() for t in taken if t in ("y", "z")}
    return next(c for c in candidates if c not in taken)


def display_symbol(name: str, expr: Any) -> Any:
    """The symbol that stands for ``expr`` in the steps: a MatrixSymbol of its shape."""
    return sp.MatrixSymbol(name, *shape_of(expr)) if is_matrix(expr) else sp.Symbol(name)


def show(expr: Any, symbols: Mapping[Any, Any], memo: dict[Any, Any] | None = None) -> Any:
    """``expr`` with named intermediates shown by name (but not itself).

    ``memo`` may be shared by calls with the same ``symbols`` (see ``substitute``).
    """
    if expr not in symbols:
        return substitute(expr, symbols, memo)
    if not expr.args:
        return expr
    memo = {} if memo is None else memo
    args = tuple(substitute(a, symbols, memo) for a in expr.args)
    changed = any(new is not old for new, old in zip(args, expr.args, strict=True))
    return rebuild(expr, args) if changed else expr


#: named products by their first factor, then by length: {factors: name}
Runs = dict[Any, dict[int, dict[tuple[Any, ...], Any]]]


def product_runs(display: Mapping[Any, Any], memo: dict[Any, Any]) -> Runs:
    """The named products, as shown, and their transposes with the transposed name."""
    runs: Runs = {}
    for expr, symbol in display.items():
        if not isinstance(expr, sp.MatMul):
            continue
        coeff, mats = show(expr, display, memo).as_coeff_matrices()
        if coeff != 1 or len(mats) < 2:
            continue
        for factors, name in (
            (tuple(mats), symbol),
            (tuple(transpose(m) for m in reversed(mats)), transpose(symbol)),
        ):
            by_length = runs.setdefault(factors[0], {})
            by_length.setdefault(len(factors), {}).setdefault(factors, name)
    return {first: dict(sorted(found.items(), reverse=True)) for first, found in runs.items()}


def name_runs(expr: Any, runs: Runs, memo: dict[Any, Any]) -> Any:
    """``expr`` with every run of product factors that is a named product replaced by
    its name."""
    if expr in memo:
        return memo[expr]
    out = expr
    if isinstance(expr, sp.Basic) and expr.args and not isinstance(expr, sp.Lambda):
        args = tuple(name_runs(a, runs, memo) for a in expr.args)
        if any(new is not old for new, old in zip(args, expr.args, strict=True)):
            out = rebuild(expr, args)
        if isinstance(out, sp.MatMul):
            out = _named_product(out, runs)
    memo[expr] = out
    return out


def _named_product(product: Any, runs: Runs) -> Any:
    scalars = [a for a in product.args if not is_matrix(a)]
    mats = [a for a in product.args if is_matrix(a)]
    i, changed = 0, False
    while i < len(mats):
        for length, named in runs.get(mats[i], {}).items():  # the longest first
            if length == len(mats) and not scalars:
                continue  # the named product itself
            name = named.get(tuple(mats[i : i + length]))
            if name is not None:
                mats[i : i + length] = [name]
                changed = True
                break
        else:
            i += 1
    if not changed:
        return product
    return unchecked(sp.MatMul, *scalars, *mats) if scalars or len(mats) > 1 else mats[0]
