"""The matderiv error hierarchy.

Every error names the node it is about, the shapes involved and a hint, so a
user never has to read a traceback from inside SymPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp


class MatDerivError(Exception):
    """Base class of every error matderiv raises on purpose."""


class UnsupportedNode(MatDerivError):
    """A node that depends on the variable has no differentiation rule."""


class ShapeMismatch(MatDerivError):
    """Operands whose shapes do not agree (non-conformable product, sum, ...).

    ``node``: the offending expression, when the parser refused it (``verify``
    reports it with the user's names); ``hint``: what to do, said after the shapes."""

    node: Any = None
    hint: str = ""


class ExpressionTooDeep(MatDerivError):
    """A nested expression deeper than Python's recursion limit lets SymPy hash,
    compare or print it (thousands of levels); a ``where=`` program has no such limit."""


class LayoutError(MatDerivError):
    """An unknown layout, or a ``wrt`` that is not X, vec(X) or vec(X.T)."""


class ParseError(MatDerivError):
    """A string that is not a valid expression in matderiv's syntax.

    ``refusal``: the text was read, and what it says is refused as ambiguous or as
    read against its writer's evident meaning (``s^10`` in LaTeX, ``X^T`` with a
    symbol T): the message to show, rather than another notation's failure to read
    the text at all."""

    def __init__(self, message: str, *, refusal: bool = False) -> None:
        super().__init__(message)
        self.refusal = refusal


class EvaluationError(MatDerivError):
    """Missing or inconsistent values when evaluating an expression numerically."""


class InputShapeError(EvaluationError, ValueError):
    """An array given to a lambdified function whose shape is not its symbol's.

    The generated source raises ``ValueError`` (it is self-contained, apart from
    NumPy); ``lambdify`` runs it with ``ValueError`` bound to this class, so
    ``except ValueError`` and ``except MatDerivError`` both catch it."""


class UnusedNameWarning(UserWarning):
    """A name given in ``names=`` for a subexpression the expression does not have (a
    typo, or a subexpression SymPy rebuilt): the derivation goes without it.
    ``names`` holds the names."""

    def __init__(self, message: str, names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.names = names


class BackendError(MatDerivError):
    """A code-generation backend that is not installed, or that cannot compile the
    generated code (the message names the construct; ``backend="numpy"`` runs it)."""


def sympified(value: Any, problem: Callable[[], str]) -> Any:
    """``value`` as a SymPy object (strict sympify), or a MatDerivError saying
    ``problem()``: user input that is not an expression is reported, not passed on to
    fail deep inside.  The message is built only on failure (a repr can be costly)."""
    try:
        return sp.sympify(value, strict=True)
    except sp.SympifyError as exc:
        raise MatDerivError(problem()) from exc
