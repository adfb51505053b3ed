"""The Derivation: plain data that every renderer, verifier and evaluator reads.

Renderers never recompute math; ``__rich_console__``, ``__str__`` and
``to_latex`` are thin calls into ``render/``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .index_form import index_lines
from .limits import allows_deep, deep_recursion
from .render import latex, rich_view, text
from .shapes import Shape

STEP_KINDS = ("define", "local", "chain", "program", "simplify", "result")


@dataclass(frozen=True)
class Factor:
    """One factor of a chain-rule product: its label (e.g. "∂h_1/∂a_1") and shape."""

    label: str
    shape: Shape


@dataclass(frozen=True)
class Step:
    """One line of a derivation.

    kind           "define" (a named intermediate), "local" (a rule's local
                   derivative), "chain" (a chain-rule product), "program" (an
                   adjoint hbar_t or tangent hdot_t named for a where= program),
                   "simplify" (a rewrite) or "result".
    lhs            what the line defines, e.g. "a_1", "∂h_1/∂a_1", "∂L/∂W_hx".
    expr           the right-hand side, a SymPy expression (intermediates by name).
    shape          the shape of ``expr``.
    rule           the rule or rewrite that produced it.
    note           the identity used, or the layout in words.
    layout         "numerator" or "denominator" for derivative steps, else "".
    differential   local steps: (d node, its differential), e.g. (dh, (1 − h∘h) ∘ da).
    factors        chain steps: one tuple of factors per term of the sum, in the
                   order the layout multiplies them.
    product_shape  chain steps: the shape of the product of the factors (vec form;
                   it differs from ``shape`` when a gradient is de-vectorised).
    before         simplify steps: the expression that was rewritten.
    """

    kind: str
    lhs: str
    expr: Any
    shape: Shape
    rule: str = ""
    note: str = ""
    layout: str = ""
    differential: tuple[Any, Any] | None = None
    factors: tuple[tuple[Factor, ...], ...] = ()
    product_shape: Shape | None = None
    before: Any = None

    @property
    def shown_differential(self) -> tuple[Any, Any] | None:
        """The differential a renderer shows as "from dY = ...": none where it reads
        dXᵀ = dXᵀ (Y = Xᵀ of a symbol X, shown as itself)."""
        if self.differential is None or self.differential[0] == self.differential[1]:
            return None
        return self.differential


#: what a second-order derivation is, by its mode
SECOND_ORDER = {"hessian": "Hessian", "hvp": "Hessian-vector product"}


@dataclass(frozen=True, eq=False)
class Derivation:
    """d(of)/d(wrt) in a layout, with the steps that led to it."""

    of: Any
    wrt: Any
    layout: str
    result: Any
    shape: Shape
    steps: tuple[Step, ...]
    mode: str  # "reverse" (adjoints), "forward" (vec Jacobians), "hessian" or "hvp"
    description: str
    layout_note: Any = None  # layout.LayoutNote: the description as data
    names: Mapping[str, Any] = field(default_factory=dict)
    definitions: Mapping[Any, Any] = field(default_factory=dict)
    where: Mapping[Any, Any] = field(default_factory=dict)  # the user's program (where=)
    direction: Any = None  # an HVP's V, an input even where the result has none (f linear)
    symmetric: tuple[Any, ...] = ()  # matrices declared symmetric (symmetric=)
    #: adjoints a program leaves unnamed, being a symbol or constant (hbar_2 = c for
    #: L = cᵀh₂), by the name they would have: a candidate of verify may use them
    leaf_adjoints: Mapping[str, Any] = field(default_factory=dict)

    @property
    def second_order(self) -> str | None:
        """ "Hessian" or "Hessian-vector product" for those derivations, else None."""
        return SECOND_ORDER.get(self.mode)

    def steps_of_kind(self, kind: str) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.kind == kind)

    # the renderers print deep expressions with SymPy's recursive printers: each runs
    # inside matderiv's raised recursion limit, as derive does
    @allows_deep
    def __str__(self) -> str:
        return text.render_text(self)

    @allows_deep
    def __repr__(self) -> str:
        return text.render_repr(self)

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        with deep_recursion():
            rendered = list(rich_view.renderables(self, options.max_width))
        yield from rendered

    @allows_deep
    def to_latex(self, standalone: bool = False, index: bool = False) -> str:
        """An amsmath ``align*`` block of the steps; a full document if ``standalone``.

        ``index=True`` appends the index-notation view of the derivation.
        """
        lines = index_lines(self) if index else None
        return latex.render_latex(self, standalone=standalone, index=lines)

    @allows_deep
    def to_index_notation(self) -> str:
        """Each step written entrywise, e.g. ∂L/∂W[i,j] = e[i] (1 - h[j]²) (∂L/∂h)[j]."""
        return text.render_index(index_lines(self))

    def to_code(self, name: str = "f", backend: str = "numpy") -> str:
        """The source of a NumPy function computing the result (see ``lambdify``)."""
        from .codegen import to_code

        return to_code(self, name=name, backend=backend)

    def to_numpy(self, name: str = "f", backend: str = "numpy") -> Any:
        """A NumPy function computing the result: ``lambdify(self, backend=backend)``."""
        from .codegen import lambdify

        return lambdify(self, name=name, backend=backend)

    @allows_deep
    def _repr_latex_(self) -> str:
        return latex.render_latex(self, standalone=False, display="$$")
