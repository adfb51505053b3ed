"""Turn an accumulation into the Derivation's steps: define, local, chain, simplify, result.

The factors of each chain-rule product are listed in the order the layout
multiplies them: numerator ∂L/∂h · ∂h/∂a · ∂a/∂W, denominator the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .accumulate import Chain, Local
from .canon import transpose
from .derivation import Factor, Step
from .graph import Graph, is_leaf, scaled_term
from .nodes import AsScalar, CommutationMatrix
from .rules import Term, rule_identity, rule_name, shown_name
from .shapes import Shape, is_matrix, is_scalar_shape, mentions, shape_of
from .simplify import Rewrite, simplify
from .step_labels import SHOWN_AS_ARG, bare, d_of, deriv_label, label_name, total_label, vec_name
from .step_names import (
    display_symbol,
    graph_dimension_names,
    name_runs,
    product_runs,
    root_name,
    show,
    user_names,
)
from .substitute import rebuild, substitute, unchecked


def _size(shape: Shape) -> Any:
    return shape[0] * shape[1]


def _flip(shape: Shape, layout: str) -> Shape:
    return shape if layout == "numerator" else (shape[1], shape[0])


#: rewrites of notation, not shown as steps: vec(v) of a column v is v itself, and the
#: vec forms' unit cases 1 ⊗ W = W and tr(a) = a for a 1 x 1 a (tr(1) = 1): artifacts
#: of writing every derivative in Kronecker form, whose left sides no step shows.
#: (K_{n,1} = I_n stays: the RNN step's (I ⊗ e₁) K_{nₕ,1} shows the K it removes.)
NOTATION = {"vec_of_vector", "kron_unit_factor", "trace_of_scalar"}


def _notation(rewrite: Rewrite) -> bool:
    if rewrite.rule in NOTATION:
        return True
    before = rewrite.before  # tr(I_1) = 1, as trace_of_identity writes it
    return isinstance(before, sp.Trace) and shape_of(before.arg) == (1, 1)


def _sum(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    return sp.MatAdd(*parts) if is_matrix(parts[0]) else sp.Add(*parts)


def _by_operand(terms: tuple[Term, ...]) -> dict[Any, list[Term]]:
    grouped: dict[Any, list[Term]] = {}
    for term in terms:
        grouped.setdefault(term.operand, []).append(term)
    return grouped


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
        variables = {v for v in self.graph.wrt.free_symbols if isinstance(v, sp.MatrixSymbol)}
        as_scalars = {n.arg for n in self.graph.order if isinstance(n, AsScalar)}
        seen: dict[Any, bool] = {}  # node -> has a variable (SymPy's free_symbols: O(size))
        for node, symbol in list(display.items()):
            if symbol == root or is_leaf(node):
                continue
            simpler = simplify(node)
            # not a leaf (a where= symbol, the variable) or a constant (x - x is 𝟎):
            # those stand for themselves
            if not is_leaf(simpler) and mentions(simpler, variables, seen):
                display.setdefault(simpler, symbol)
            if not is_matrix(node):
                if isinstance(simpler, sp.Pow) and simpler.exp.is_Number:
                    # s = √q under the exponents its derivatives give: 1/s, 1/s², 1/s³
                    for k in (-1, 2, -2, 3, -3):
                        display.setdefault(simpler.base ** (simpler.exp * k), symbol**k)
                elif isinstance(simpler, sp.exp):  # e = exp(u): exp(2u) is e², exp(-u) 1/e
                    for k in (-1, 2, -2, 3):
                        display.setdefault(sp.exp(simpler.args[0] * k), symbol**k)
                continue
            if isinstance(node, sp.MatAdd):  # its transpose, as canon writes it: v₂ᵀ
                flipped = transpose(node)
                if flipped != node and not isinstance(symbol, sp.Transpose):
                    display.setdefault(flipped, sp.Transpose(symbol))
                    display.setdefault(simplify(flipped), sp.Transpose(symbol))
            if node in as_scalars:  # used as a scalar: 1/n 𝟏ᵀv is (𝟏ᵀv)/n
                scalar = simplify(AsScalar(node))
                if mentions(scalar, variables, seen):  # xᵀb in its normal form bᵀx too
                    display.setdefault(scalar, AsScalar(symbol))
        self._display = display
        self._shown: dict[Any, Any] = {}  # subexpression -> shown, shared by every step
        self._totals: set[str] = set()  # chain labels written as totals, without vec()
        # 1 x 1 matrices used as scalars, shown as the matrix: no steps of their own
        self._transparent = {
            node for node, sym in self.symbols.items() if isinstance(sym, AsScalar)
        }
        inner = {k: v for k, v in display.items() if v != root}
        self._runs = product_runs(inner, self._shown)
        self._run_memo: dict[Any, Any] = {}

    def show(self, expr: Any) -> Any:
        """``expr`` with intermediates and where= definitions shown by name, also where
        one is a run of factors of a longer product (wᵀ c for wᵀ (I - 𝟏𝟏ᵀ/n) x)."""
        shown = substitute(expr, self._display, self._shown)  # itself too: ∂f/∂r = r
        return name_runs(shown, self._runs, self._run_memo) if self._runs else shown

    def show_operands(self, expr: Any) -> Any:
        """``expr`` with intermediates shown by name where they are whole operands only,
        not as runs of a longer product; a sum's term c·X is c times X's name (the
        sum's operand is X: x - v₁ for x - A s)."""
        if isinstance(expr, (sp.MatAdd, sp.Add)) and expr not in self.graph.definitions:
            terms = []
            for term in expr.args:
                c, x = scaled_term(term)
                shown = self._display.get(x) if c != 1 else None
                if shown is not None and shown != x:
                    scaled = unchecked(sp.MatMul, c, shown) if is_matrix(term) else c * shown
                    terms.append(scaled)
                else:
                    terms.append(substitute(term, self._display, self._shown))
            return rebuild(expr, tuple(terms)) if is_matrix(expr) else sp.Add(*terms)
        return show(expr, self._display, self._shown)

    def named(self, node: Any) -> Any:
        return self.symbols.get(node, node)

    def in_layout(self, jac: Any) -> Any:
        return jac if self.layout == "numerator" else simplify(transpose(jac))

    def local_jacobian(self, operand: Any, terms: list[Term]) -> Any:
        """∂ vec(node)/∂ vec(operand)ᵀ of one rule, numerator layout."""
        seed = sp.Identity(_size(shape_of(operand)))
        return simplify(_sum([t.map.push(seed) for t in terms]))

    def define(self) -> list[Step]:
        """The forward pass: each intermediate in terms of its own operands, so that a
        definition shows what the derivatives go through (yᵀ A x stays yᵀ A x when
        A x is v₁: its derivative is taken through A and x, not through v₁)."""
        defs = self.graph.definitions
        return [
            Step("define", str(sym), self.show_operands(defs.get(node, node)), shape_of(node))
            for node, sym in self.symbols.items()
            if node != self.graph.wrt and (node in defs or not isinstance(sym, SHOWN_AS_ARG))
        ]

    def local(self, locals_: list[Local]) -> list[Step]:
        steps = []
        for local in locals_:
            if local.node in self._transparent:
                continue  # ∂v₁/∂v₁ = 1: the 1 x 1 matrix v₁ used as a scalar is v₁
            node = self.named(local.node)
            parts = [t.map.differential(d_of(self.named(t.operand))) for t in local.terms]
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
                        (d_of(node), differential),
                    )
                )
        return steps

    def forward_chain(self, chains: list[Chain]) -> list[Step]:
        wrt = self.graph.wrt
        x_size = _size(shape_of(wrt))
        steps = []
        for chain in chains:
            if chain.node in self._transparent:
                continue  # J of v₁ used as a scalar is J of v₁
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
                    self._as_written(deriv_label(self.named(operand), wrt)),
                    _flip((op_size, x_size), self.layout),
                )
                pair = (local, upstream) if self.layout == "numerator" else (upstream, local)
                terms.append(pair)
            shape = _flip((node_size, x_size), self.layout)
            steps.append(
                Step(
                    "chain",
                    self._chain_label(deriv_label(node, wrt), terms),
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
            users = list(dict.fromkeys(u for u, _ in chain.uses))
            if all(u in self._transparent for u in users):
                continue  # v₁'s adjoint is that of v₁ used as a scalar, shown already
            terms: list[tuple[Factor, ...]] = []
            for user in users:
                user_size = _size(shape_of(user))
                if user in self._transparent:  # ∂f/∂v₁ through the scalar use: itself
                    terms.append(
                        (Factor(deriv_label(root, node), _flip((1, user_size), self.layout)),)
                    )
                    continue
                local = Factor(
                    deriv_label(self.named(user), node),
                    _flip((user_size, node_size), self.layout),
                )
                if user == self.graph.root:
                    terms.append((local,))
                    continue
                upstream = Factor(
                    self._as_written(deriv_label(root, self.named(user))),
                    _flip((1, user_size), self.layout),
                )
                pair = (upstream, local) if self.layout == "numerator" else (local, upstream)
                terms.append(pair)
            value = chain.value if self.layout == "denominator" else transpose(chain.value)
            node_shape = shape_of(chain.node)
            devec = is_matrix(chain.node) and not (node_shape[1] == 1 or node_shape[0] == 1)
            steps.append(
                Step(
                    "chain",
                    self._chain_label(f"∂{root}/∂{label_name(node)}", terms),
                    self.show(value),
                    node_shape if self.layout == "denominator" else node_shape[::-1],
                    "chain rule (adjoint)",
                    _devectorised(node, self.layout) if devec else "",
                    self.layout,
                    factors=tuple(terms),
                    product_shape=_flip((1, node_size), self.layout),
                )
            )
        return steps

    def _chain_label(self, label: str, terms: list[tuple[Factor, ...]]) -> str:
        """∂f/∂x, or df/dx where a factor is ∂f/∂x: f uses x directly and through
        other nodes (xᵀ A x), so the chain rule reads df/dx = ∂f/∂x + ∂f/∂vec(xᵀ) ·
        ∂vec(xᵀ)/∂x, the total derivative from the partial ones."""
        if len(terms) < 2 or bare(label) not in {bare(f.label) for t in terms for f in t}:
            return label  # one term ∂f/∂vec(X) is ∂f/∂X rearranged: no sum of paths
        self._totals.add(bare(label))
        return total_label(label)

    def _as_written(self, label: str) -> str:
        """An earlier chain step's result as that step wrote it: df/dv₂ where v₂'s
        step summed paths, so a later product does not read as the partial ∂f/∂v₂."""
        return total_label(label) if bare(label) in self._totals else label

    def chain_rewrites(self, chains: list[Chain], log: list[Rewrite], mode: str) -> list[Rewrite]:
        """The chain rule's simplifications as the chain steps show their values.

        Forward mode builds numerator Jacobians, reverse mode adjoints shaped like
        their nodes (the gradient's orientation); where the layout shows the
        transposes, the rewrites are those of simplifying the transposed sums, so
        that K (e₁ ⊗ I) ⇒ I ⊗ e₁ stands beside a step showing K (e₁ ⊗ I), not
        (e₁ᵀ ⊗ I) K ⇒ I ⊗ e₁ᵀ."""
        if (mode == "forward") != (self.layout == "denominator"):
            return log
        shown: list[Rewrite] = []
        for chain in chains:
            if chain.raw is not None:
                simplify(transpose(chain.raw), shown)
        return shown

    def simplifications(self, log: list[Rewrite]) -> list[Step]:
        seen: set[tuple[str, Any]] = set()
        steps = []
        for rewrite in log:
            key = (rewrite.rule, rewrite.before)
            if key in seen or _notation(rewrite):
                continue
            seen.add(key)
            before, after = self.show(rewrite.before), self.show(rewrite.after)
            if before == after:  # xᵀb ⇒ bᵀx, both shown as v₁
                continue
            steps.append(
                Step(
                    "simplify",
                    "⇒",
                    after,
                    shape_of(rewrite.after),
                    shown_name(rewrite.rule),
                    before=before,
                )
            )
        return steps

    def change_of_variable(self, var: Any, value: Any) -> list[Step]:
        """For a Jacobian by vec(Xᵀ): the chain rule ends at ∂Y/∂vec(X), and vec(X) =
        K_{n,m} vec(Xᵀ) turns it into the answer; this step shows that product (the
        K appeared only inside the simplifications)."""
        if var.form != "vecT" or self.graph.root not in self.symbols:
            return []
        m, n = var.shape
        node = self.named(self.graph.root)
        rows, size = _size(shape_of(self.graph.root)), m * n
        by_x = Factor(deriv_label(node, var.symbol), _flip((rows, size), self.layout))
        k = CommutationMatrix(n, m) if self.layout == "numerator" else CommutationMatrix(m, n)
        k_factor = Factor(f"K_{{{k.m},{k.n}}}", (size, size))
        pair = (by_x, k_factor) if self.layout == "numerator" else (k_factor, by_x)
        shape = _flip((rows, size), self.layout)
        return [
            Step(
                "chain",
                f"∂{vec_name(node)}/∂vec({var.symbol}ᵀ)",
                self.show(value),
                shape,
                "change of variable",
                f"vec({var.symbol}) = K_{{{n},{m}}} vec({var.symbol}ᵀ)",
                self.layout,
                factors=(pair,),
                product_shape=shape,
            )
        ]

    def result(self, of: Any, wrt: Any, result: Any, shape: Shape, description: str) -> Step:
        of_name = self.symbols.get(of)
        if of_name is None:  # f does not depend on the variable: no steps named it
            taken = user_names(self.graph) | graph_dimension_names(self.graph)
            of_name = display_symbol(root_name(of, taken), of)
        if isinstance(wrt, sp.MatrixSymbol):
            x = str(wrt) if is_scalar_shape(shape_of(of)) else vec_name(wrt)
        elif isinstance(wrt.arg, sp.Transpose):
            x = f"vec({wrt.arg.arg}ᵀ)"
        else:
            x = f"vec({wrt.arg})"
        label = f"∂{vec_name(of_name)}/∂{x}"
        label = self._as_written(label)  # the last chain step's total derivative df/dx
        return Step("result", label, self.show(result), shape, "", description, self.layout)


def _devectorised(node: Any, layout: str) -> str:
    """How a matrix node's adjoint is shown: shaped like it (denominator layout) or
    like its transpose (numerator)."""
    shaped = node if layout == "denominator" else transpose(node)
    return f"de-vectorised: shaped like {label_name(shaped)}"
