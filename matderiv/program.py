"""Straight-line programs: ``where={h_t: definition, ...}``.

A long recurrence is a program, not a tree: each MatrixSymbol in ``where`` is
defined by an expression over the inputs and earlier symbols.  The graph
treats a defined symbol as an alias of its definition (``graph.py``), so
differentiation chains through the definitions without inlining them, and
accumulation gives the adjoint (reverse mode) or tangent (forward mode) of
each defined symbol a name of its own (``hbar_t``, ``hdot_t``).  Every
emitted expression then refers to names, so its size does not grow with
the length of the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .errors import MatDerivError, ShapeMismatch, sympified
from .graph import is_leaf
from .render.unicode import fmt
from .scalarize import scalarize
from .shapes import (
    check_shapes,
    dimension_symbols,
    fmt_shape,
    free_symbols,
    is_matrix,
    shape_of,
    shapes_equal,
)
from .substitute import substitute, unchecked

Definitions = dict[Any, Any]


def _symbols_in(expr: Any) -> set[Any]:
    return {s for s in expr.free_symbols if isinstance(s, (sp.MatrixSymbol, sp.Symbol))}


def check_where(
    where: Mapping[Any, Any] | None, wrt_symbol: Any, uses: tuple[Any, ...] = ()
) -> Definitions:
    """Validate ``where`` and return its definitions in an order that can be run.

    Keys must be MatrixSymbols (or Symbols, for scalars) and each definition must have
    its symbol's shape; a symbol may use inputs and other defined symbols, but
    not itself through a cycle, and the variable cannot be defined, nor a size of a
    matrix of the definitions or of ``uses`` (the expression).
    """
    if not where:
        return {}
    if not isinstance(where, Mapping):
        raise MatDerivError(
            f"where= takes a mapping {{MatrixSymbol: definition}}, got {type(where).__name__}."
        )
    defs: Definitions = {}
    for symbol, definition in where.items():
        if not isinstance(symbol, (sp.MatrixSymbol, sp.Symbol)):
            raise MatDerivError(
                f"where= keys must be MatrixSymbols (or Symbols for scalars), got {symbol!r} "
                f"({type(symbol).__name__}). Hint: declare it as MatrixSymbol('{symbol}', rows, "
                "cols)."
            )
        definition = sympified(
            definition,
            lambda: (  # called, if at all, within this iteration
                f"the definition of {symbol} in where= is not a SymPy expression: "  # noqa: B023
                f"{definition!r}"  # noqa: B023
            ),
        )
        definition = _as_matrix_definition(symbol, definition)
        check_shapes(definition)
        if not shapes_equal(shape_of(symbol), shape_of(definition)):
            raise ShapeMismatch(
                f"where= defines {symbol} {fmt_shape(shape_of(symbol))} as {definition}, "
                f"which has shape {fmt_shape(shape_of(definition))}. Declare {symbol} with the "
                "shape of its definition."
            )
        defs[symbol] = definition
    sizes = dimension_symbols(*defs.values(), *defs, *uses)
    for symbol in defs:
        if symbol in sizes:  # where={n: tr(X X)} of an n x n X: the graph never ended
            raise MatDerivError(
                f"where= defines {symbol}, which is also a size of the matrices here (a "
                f"dimension, as in {symbol} x {symbol}); a size is not a formula of them. "
                f"Name the scalar otherwise, or give the size's value when evaluating "
                f"({{{symbol}: 3}})."
            )
    if wrt_symbol in defs:
        raise MatDerivError(
            f"{wrt_symbol} is defined in where= and is also the variable. Differentiate with "
            "respect to an input of the program; intermediates are chained through."
        )
    return _topological(defs)


def with_where(definitions: Mapping[Any, Any], where: Mapping[Any, Any] | None) -> Definitions:
    """A Derivation's ``definitions`` and the ``where`` given to evaluate or lambdify it;
    a symbol both define differently is refused (where= was silently ignored for it)."""
    if not where:
        return dict(definitions)
    given = check_where(where, None)
    for symbol, definition in given.items():
        ours = definitions.get(symbol, definition)
        if ours != definition and fmt(ours) != fmt(definition):  # tanh's Lambdas differ
            raise MatDerivError(
                f"where= defines {symbol} as {fmt(definition)}, and the derivation defines "
                f"it as {fmt(ours)}: its steps use that one. Leave {symbol} out of where=, "
                "or derive again with the new definition."
            )
    return {**given, **definitions}


def _as_matrix_definition(symbol: Any, definition: Any) -> Any:
    """A 1 x 1 MatrixSymbol's definition as a matrix: a scalar (exp(xᵀx), 3) is that
    scalar times I₁, so that products with the symbol stay matrix products; an explicit
    1 x 1 Matrix is its entry times I₁.  Larger explicit matrices are refused."""
    if isinstance(definition, sp.MatrixBase):
        if definition.shape != (1, 1):
            raise MatDerivError(
                f"where= defines {symbol} as an explicit {definition.rows} x "
                f"{definition.cols} matrix; matderiv differentiates matrix expressions. "
                f"Hint: use a MatrixSymbol for it and give its value to evaluate()."
            )
        definition = definition[0, 0]
    if isinstance(symbol, sp.MatrixSymbol) and not is_matrix(definition):
        return unchecked(sp.MatMul, scalarize(definition), sp.Identity(1))
    return definition


def _topological(defs: Definitions) -> Definitions:
    """Definitions ordered so that each comes after the symbols it uses."""
    uses = {s: _symbols_in(d) & defs.keys() for s, d in defs.items()}
    order: dict[Any, Any] = {}
    state: dict[Any, str] = {}
    for start in defs:
        stack: list[tuple[Any, bool]] = [(start, False)]
        path: list[Any] = []
        while stack:
            symbol, expanded = stack.pop()
            if expanded:
                state[symbol] = "done"
                order[symbol] = defs[symbol]
                path.pop()
                continue
            if state.get(symbol) == "done":
                continue
            if state.get(symbol) == "open":
                cycle = " -> ".join(str(s) for s in [*path[path.index(symbol) :], symbol])
                raise MatDerivError(
                    f"where= definitions form a cycle: {cycle}. A program must define each "
                    "symbol from inputs and earlier symbols only."
                )
            state[symbol] = "open"
            path.append(symbol)
            stack.append((symbol, True))
            stack.extend((u, False) for u in sorted(uses[symbol], key=str, reverse=True))
    return order


@dataclass
class Namer:
    """Fresh names for generated symbols (adjoints hbar_t, tangents hdot_t)."""

    taken: set[str] = field(default_factory=set)

    def fresh(self, symbol: Any, mark: str) -> str:
        """h_1 → hbar_1 (printed h̄₁); if the user has a symbol of that name, hadj_1
        (htan_1 for a tangent), then hadj2_1, ...: never hbar2, which LaTeX prints as ℏ₂."""
        base, sep, sub = str(symbol).partition("_")
        other = {"bar": "adj", "tilde": "adj", "dot": "tan"}.get(mark, mark)
        stems = [base + mark, *(base + other + ("" if k == 1 else str(k)) for k in range(1, 1000))]
        for stem in stems:
            name = stem + sep + sub
            if name not in self.taken:
                self.taken.add(name)
                return name
        raise MatDerivError(f"cannot find a free name for the {mark} of {symbol}")


@dataclass
class Program:
    """The user's definitions (scalarized) and the ones accumulation generates."""

    user: Definitions
    aliases: dict[Any, Any]  # scalarized definition -> its symbol
    generated: Definitions = field(default_factory=dict)
    namer: Namer = field(default_factory=Namer)
    origin: dict[Any, tuple[Any, str]] = field(default_factory=dict)  # new -> (symbol, mark)
    #: the accent of generated adjoints: hbar_t; htilde_t in an HVP's second phase, whose
    #: program already holds the gradient's hbar_t
    adjoint_mark: str = "bar"
    #: the names of adjoints left unnamed as a symbol or constant (hbar_2 = c, the last
    #: state's for L = cᵀh₂), for a candidate that uses them: name -> value
    leaves: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_definitions(
        cls, defs: Definitions, *exprs: Any, adjoint_mark: str = "bar"
    ) -> Program:
        scalar_defs = {s: scalarize(d) for s, d in defs.items()}
        taken = {str(s) for e in (*exprs, *defs.values(), *defs) for s in _symbols_in(e)}
        aliases = {d: s for s, d in scalar_defs.items() if not is_leaf(d)}
        return cls(scalar_defs, aliases, namer=Namer(taken), adjoint_mark=adjoint_mark)

    def named(self, expr: Any) -> Any:
        """``expr`` with each user definition replaced by its symbol."""
        return substitute(expr, self.aliases) if self.aliases else expr

    def define(self, symbol: Any, value: Any, mark: str) -> Any:
        """Give ``value`` (the adjoint or tangent of ``symbol``) a generated name."""
        value = self.named(value)
        if is_leaf(value) or isinstance(value, (sp.Identity, sp.ZeroMatrix)):
            self.leaves[self.namer.fresh(symbol, mark)] = value
            return value
        name = self.namer.fresh(symbol, mark)
        rows, cols = shape_of(value)
        new = sp.MatrixSymbol(name, rows, cols) if value.is_Matrix else sp.Symbol(name)
        self.generated[new] = value
        self.origin[new] = (symbol, mark)
        return new

    @property
    def definitions(self) -> Definitions:
        return {**self.user, **self.generated}


def needed_definitions(outputs: list[Any], definitions: Mapping[Any, Any]) -> list[Any]:
    """The defined symbols the outputs use, directly or through other definitions, in
    program order (``evaluate`` and the generated code run only these)."""
    needed: set[Any] = set()
    stack = [s for e in outputs for s in free_symbols(e) if s in definitions]
    while stack:
        symbol = stack.pop()
        if symbol in needed:
            continue
        needed.add(symbol)
        stack.extend(s for s in free_symbols(definitions[symbol]) if s in definitions)
    return [s for s in definitions if s in needed]
