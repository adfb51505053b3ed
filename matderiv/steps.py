"""Turn an accumulation into the Derivation's steps: define, local, chain, simplify, result.

The factors of each chain-rule product are listed in the order the layout
multiplies them: numerator ∂L/∂h · ∂h/∂a · ∂a/∂W, denominator the reverse.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sympy as sp

from .accumulate import Chain, Local
from .canon import transpose
from .derivation import Factor, Step
from .graph import Graph
from .naming import generated_name
from .rules import Term, rule_identity, rule_name
from .shapes import Shape, is_matrix, is_scalar_shape, scalarize, shape_of
from .simplify import Rewrite, simplify
from .substitute import rebuild, substitute, unchecked


def name_nodes(
    graph: Graph, names: Mapping[str, Any], symbols_taken: set[str] | None = None
) -> dict[Any, Any]:
    """A display symbol for every intermediate that depends on the variable.

    Generated names (v_1, v_2, ... and f or Y for the whole expression) avoid the
    names of the user's symbols and of ``names``: an input called v_1 or f stays
    the only thing called that."""
    by_expr = {scalarize(expr): name for name, expr in names.items()}
    taken = {*names, *(user_names(graph) if symbols_taken is None else symbols_taken)}
    symbols: dict[Any, Any] = {}
    count = 0
    for node in graph.order:
        if node not in graph.depends or node == graph.wrt:
            continue
        if node in graph.definitions:
            symbols[node] = node  # a symbol defined in where= is its own name
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


def user_names(graph: Graph) -> set[str]:
    """The names of the symbols in the graph (inputs, the variable, where= symbols),
    not of the dimensions in their shapes."""
    return symbol_names((*graph.order, graph.wrt, *graph.definitions))


def symbol_names(nodes: Iterable[Any]) -> set[str]:
    """The names of the MatrixSymbols and Symbols among ``nodes``, except the symbols
    that are dimensions of a matrix among them (n in X: n x m)."""
    nodes = tuple(nodes)
    dims = {
        d for node in nodes if is_matrix(node) for size in shape_of(node)
        for d in sp.sympify(size).free_symbols
    }  # fmt: skip
    return {
        str(node)
        for node in nodes
        if isinstance(node, sp.MatrixSymbol) or (isinstance(node, sp.Symbol) and node not in dims)
    }


def root_name(root: Any, taken: set[str]) -> str:
    """f for a scalar expression, Y for a matrix, unless a symbol is called that."""
    first = ("f", "F", "φ") if is_scalar_shape(shape_of(root)) else ("Y", "Z", "Ψ")
    candidates = itertools.chain(first, (f"{first[0]}_{k}" for k in itertools.count(1)))
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


def _size(shape: Shape) -> Any:
    return shape[0] * shape[1]


def _flip(shape: Shape, layout: str) -> Shape:
    return shape if layout == "numerator" else (shape[1], shape[0])


@lru_cache(maxsize=65_536)
def _vec_name(symbol: Any) -> str:
    name = str(symbol)
    rows, cols = shape_of(symbol)
    if is_scalar_shape((rows, cols)) or cols == 1:
        return name
    return f"vec({name})"


def deriv_label(y: Any, x: Any) -> str:
    """∂y/∂x, with vec() around matrices that are not columns."""
    return f"∂{_vec_name(y)}/∂{_vec_name(x)}"


class _PrintedAfterD:
    """Prints as d followed by the symbol as printed: dā for abar (not "dabar"), dh̄₁
    for hbar_1; its name, which str() and the index notation use, stays d + name."""

    name: str

    def _differentiated(self) -> Any:
        rows, cols = shape_of(self)
        base = self.name[1:]
        return sp.MatrixSymbol(base, rows, cols) if is_matrix(self) else sp.Symbol(base)

    def _matderiv_unicode(self, printer: Any) -> str:
        return "d" + printer._print(self._differentiated())

    def _latex(self, printer: Any) -> str:
        return "d" + printer._print(self._differentiated())


class StepDifferential(_PrintedAfterD, sp.MatrixSymbol):
    """The differential dX of a matrix X in a step's "from dY = ..." line."""


class StepScalarDifferential(_PrintedAfterD, sp.Symbol):
    """The differential ds of a scalar s."""


def _d(symbol: Any) -> Any:
    rows, cols = shape_of(symbol)
    name = f"d{symbol}"
    return (
        StepDifferential(name, rows, cols) if is_matrix(symbol) else StepScalarDifferential(name)
    )


def _sum(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    return sp.MatAdd(*parts) if is_matrix(parts[0]) else sp.Add(*parts)


def _by_operand(terms: tuple[Term, ...]) -> dict[Any, list[Term]]:
    grouped: dict[Any, list[Term]] = {}
    for term in terms:
        grouped.setdefault(term.operand, []).append(term)
    return grouped


#: named products by their first factor, then by length: {factors: name}
Runs = dict[Any, dict[int, dict[tuple[Any, ...], Any]]]


def _product_runs(display: Mapping[Any, Any], memo: dict[Any, Any]) -> Runs:
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


def _name_runs(expr: Any, runs: Runs, memo: dict[Any, Any]) -> Any:
    """``expr`` with every run of product factors that is a named product replaced by
    its name."""
    if expr in memo:
        return memo[expr]
    out = expr
    if isinstance(expr, sp.Basic) and expr.args and not isinstance(expr, sp.Lambda):
        args = tuple(_name_runs(a, runs, memo) for a in expr.args)
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


@dataclass
class StepBuilder:
    """Builds the steps of one derivation; holds the names and the layout."""

    graph: Graph
    symbols: dict[Any, Any]
    layout: str
    aliases: Mapping[Any, Any] = field(default_factory=dict)  # where= definition -> symbol

    def __post_init__(self) -> None:
        display = {**self.aliases, **self.symbols}
        # an intermediate as the rewrites leave it inside a derivative is shown by its
        # name too: c = x - 𝟏𝟏ᵀx/n is (I - 𝟏𝟏ᵀ/n) x in 2 diag(c)
        # (not the root: f inside its own derivative stays written out, as the headline
        # writes out only v_k)
        root = self.symbols.get(self.graph.root)
        for node, symbol in list(display.items()):
            if symbol == root or not is_matrix(node) or not node.args:
                continue
            if node not in self.graph.definitions:
                display.setdefault(simplify(node), symbol)
        self._display = display
        self._shown: dict[Any, Any] = {}  # subexpression -> shown, shared by every step
        inner = {k: v for k, v in display.items() if v != root}
        self._runs = _product_runs(inner, self._shown)
        self._run_memo: dict[Any, Any] = {}

    def show(self, expr: Any) -> Any:
        """``expr`` with intermediates and where= definitions shown by name, also where
        one is a run of factors of a longer product (wᵀ c for wᵀ (I - 𝟏𝟏ᵀ/n) x)."""
        shown = show(expr, self._display, self._shown)
        return _name_runs(shown, self._runs, self._run_memo) if self._runs else shown

    def named(self, node: Any) -> Any:
        return self.symbols.get(node, node)

    def in_layout(self, jac: Any) -> Any:
        return jac if self.layout == "numerator" else simplify(transpose(jac))

    def local_jacobian(self, operand: Any, terms: list[Term]) -> Any:
        """∂ vec(node)/∂ vec(operand)ᵀ of one rule, numerator layout."""
        seed = sp.Identity(_size(shape_of(operand)))
        return simplify(_sum([t.map.push(seed) for t in terms]))

    def define(self) -> list[Step]:
        defs = self.graph.definitions
        return [
            Step("define", str(sym), self.show(defs.get(node, node)), shape_of(node))
            for node, sym in self.symbols.items()
            if node != self.graph.wrt
        ]

    def local(self, locals_: list[Local]) -> list[Step]:
        steps = []
        for local in locals_:
            node = self.named(local.node)
            parts = [t.map.differential(_d(self.named(t.operand))) for t in local.terms]
            differential = self.show(_sum(parts))
            for operand, terms in _by_operand(local.terms).items():
                jac = self.in_layout(self.local_jacobian(operand, terms))
                size = (_size(shape_of(local.node)), _size(shape_of(operand)))
                steps.append(
                    Step(
                        "local",
                        deriv_label(node, self.named(operand)),
                        self.show(jac),
                        _flip(size, self.layout),
                        rule_name(local.rule),
                        rule_identity(local.rule),
                        self.layout,
                        (_d(node), differential),
                    )
                )
        return steps

    def forward_chain(self, chains: list[Chain]) -> list[Step]:
        wrt = self.graph.wrt
        x_size = _size(shape_of(wrt))
        steps = []
        for chain in chains:
            node = self.named(chain.node)
            node_size = _size(shape_of(chain.node))
            terms: list[tuple[Factor, ...]] = []
            for operand in dict.fromkeys(op for op, _ in chain.uses):
                op_size = _size(shape_of(operand))
                local = Factor(
                    deriv_label(node, self.named(operand)),
                    _flip((node_size, op_size), self.layout),
                )
                if operand == wrt:
                    terms.append((local,))
                    continue
                upstream = Factor(
                    deriv_label(self.named(operand), wrt), _flip((op_size, x_size), self.layout)
                )
                pair = (local, upstream) if self.layout == "numerator" else (upstream, local)
                terms.append(pair)
            shape = _flip((node_size, x_size), self.layout)
            steps.append(
                Step(
                    "chain",
                    deriv_label(node, wrt),
                    self.show(self.in_layout(chain.value)),
                    shape,
                    "chain rule",
                    "J_node = Σ ∂node/∂operand · J_operand",
                    self.layout,
                    factors=tuple(terms),
                    product_shape=shape,
                )
            )
        return steps

    def reverse_chain(self, chains: list[Chain]) -> list[Step]:
        root = self.named(self.graph.root)
        steps = []
        for chain in chains:
            node = self.named(chain.node)
            node_size = _size(shape_of(chain.node))
            terms: list[tuple[Factor, ...]] = []
            for user in dict.fromkeys(u for u, _ in chain.uses):
                user_size = _size(shape_of(user))
                local = Factor(
                    deriv_label(self.named(user), node),
                    _flip((user_size, node_size), self.layout),
                )
                if user == self.graph.root:
                    terms.append((local,))
                    continue
                upstream = Factor(
                    deriv_label(root, self.named(user)), _flip((1, user_size), self.layout)
                )
                pair = (upstream, local) if self.layout == "numerator" else (local, upstream)
                terms.append(pair)
            value = chain.value if self.layout == "denominator" else transpose(chain.value)
            node_shape = shape_of(chain.node)
            devec = is_matrix(chain.node) and not (node_shape[1] == 1 or node_shape[0] == 1)
            steps.append(
                Step(
                    "chain",
                    f"∂{root}/∂{node}",
                    self.show(value),
                    node_shape if self.layout == "denominator" else node_shape[::-1],
                    "chain rule (adjoint)",
                    "de-vectorised: shaped like " + str(node) if devec else "",
                    self.layout,
                    factors=tuple(terms),
                    product_shape=_flip((1, node_size), self.layout),
                )
            )
        return steps

    def simplifications(self, log: list[Rewrite]) -> list[Step]:
        seen: set[tuple[str, Any]] = set()
        steps = []
        for rewrite in log:
            key = (rewrite.rule, rewrite.before)
            if key in seen:
                continue
            seen.add(key)
            steps.append(
                Step(
                    "simplify",
                    "⇒",
                    self.show(rewrite.after),
                    shape_of(rewrite.after),
                    rewrite.rule.replace("_", " "),
                    before=self.show(rewrite.before),
                )
            )
        return steps

    def result(self, of: Any, wrt: Any, result: Any, shape: Shape, description: str) -> Step:
        of_name = self.symbols.get(of)
        if of_name is None:  # f does not depend on the variable: no steps named it
            of_name = display_symbol(root_name(of, user_names(self.graph)), of)
        if isinstance(wrt, sp.MatrixSymbol):
            x = str(wrt) if is_scalar_shape(shape_of(of)) else _vec_name(wrt)
        elif isinstance(wrt.arg, sp.Transpose):
            x = f"vec({wrt.arg.arg}ᵀ)"
        else:
            x = f"vec({wrt.arg})"
        label = f"∂{_vec_name(of_name)}/∂{x}"
        return Step("result", label, self.show(result), shape, "", description, self.layout)
