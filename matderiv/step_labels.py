"""Labels and differentials of the steps: ∂y/∂vec(X) (and the total dy/dx), and the
differential symbols dX, dXᵀ printed in a step's "from dY = ..." line."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import sympy as sp

from .nodes import AsScalar
from .shapes import is_matrix, is_scalar_shape, shape_of

#: display symbols shown through their argument: Xᵀ, vᵀ; a 1 x 1 v used as a scalar
SHOWN_AS_ARG = (sp.Transpose, AsScalar)


def label_name(symbol: Any) -> str:
    """A display symbol's name in a label: Xᵀ for the transpose of a symbol X, v for
    v used as a scalar."""
    if isinstance(symbol, AsScalar):
        return str(symbol.arg)
    return f"{symbol.arg}ᵀ" if isinstance(symbol, sp.Transpose) else str(symbol)


@lru_cache(maxsize=65_536)
def vec_name(symbol: Any) -> str:
    name = label_name(symbol)
    rows, cols = shape_of(symbol)
    if is_scalar_shape((rows, cols)) or cols == 1:
        return name
    return f"vec({name})"


def total_label(label: str) -> str:
    """∂y/∂x as the total derivative dy/dx."""
    top, bottom = label[1:].split("/∂", 1)
    return f"d{top}/d{bottom}"


def bare(label: str) -> str:
    """A label without vec(): ∂f/∂vec(X) and ∂f/∂X name one derivative, arranged two
    ways."""
    return re.sub(r"vec\(([^()]*(?:\([^()]*\))?[^()]*)\)", r"\1", label)


def deriv_label(y: Any, x: Any) -> str:
    """∂y/∂x, with vec() around matrices that are not columns."""
    return f"∂{vec_name(y)}/∂{vec_name(x)}"


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
        # \mathop{}\! spaces the d as an operator: A\,dx, not the product Adx (TeX sets
        # math letters side by side), and nothing at the start of a formula
        return r"\mathop{}\!d" + printer._print(self._differentiated())


class StepDifferential(_PrintedAfterD, sp.MatrixSymbol):
    """The differential dX of a matrix X in a step's "from dY = ..." line."""


class StepScalarDifferential(_PrintedAfterD, sp.Symbol):
    """The differential ds of a scalar s."""


def d_of(symbol: Any) -> Any:
    if isinstance(symbol, sp.Transpose):  # Xᵀ of a symbol X, shown as itself: dXᵀ
        return sp.Transpose(d_of(symbol.arg))
    if isinstance(symbol, AsScalar):  # v used as a scalar: dv
        return AsScalar(d_of(symbol.arg))
    rows, cols = shape_of(symbol)
    name = f"d{symbol}"
    return (
        StepDifferential(name, rows, cols) if is_matrix(symbol) else StepScalarDifferential(name)
    )
