"""Scalar functions for ``evaluate``: SymPy's NumPy code for a function body.

SymPy prints most functions as NumPy ufuncs, the gamma family (log Γ, ψ, ψ⁽ᵏ⁾) as
SciPy's; a few only with the scalar math module, which are applied entry by entry; a
function it cannot print for NumPy at all is an EvaluationError naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from .errors import EvaluationError
from .render.unicode import fmt


def numpy_lambda(variables: tuple[Any, ...], body: Any, node: Any) -> Callable[..., Any]:
    """``body`` as a NumPy function of ``variables`` (for ``node``), applied entry by
    entry (numpy.vectorize) where SymPy prints it with the scalar math module (lgamma)."""
    code = _numpy_code(body)
    if code is None:
        culprit = _unprintable(body)
        raise EvaluationError(
            f"cannot evaluate {fmt(node)}: NumPy has no implementation of "
            f"{_function_name(culprit)} (in {fmt(culprit)}), and matderiv evaluates with NumPy "
            "alone. Evaluate this "
            "expression with SymPy (or SciPy) instead."
        )
    return _compiled(variables, body, "math." in code)


class NumPyCode(NumPyPrinter):
    """SymPy's NumPy printer, with the kinked functions as NumPy ufuncs: Heaviside
    as numpy.heaviside (SymPy prints a select over three cases), Max and Min as
    numpy.maximum and numpy.minimum, Abs as numpy.abs (and conjugate, which SymPy does
    not print)."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})

    def _print_Heaviside(self, expr: Any) -> str:
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        value = repr(float(at_zero)) if at_zero.is_Number else self._print(at_zero)
        return f"numpy.heaviside({self._print(expr.args[0])}, {value})"

    def _print_Max(self, expr: Any) -> str:
        return self._pairwise("numpy.maximum", expr.args)

    def _print_Min(self, expr: Any) -> str:
        return self._pairwise("numpy.minimum", expr.args)

    def _pairwise(self, ufunc: str, args: tuple[Any, ...]) -> str:
        """max(a, b, c) as numpy.maximum(numpy.maximum(a, b), c): SymPy's own printer
        uses functools.reduce, which the generated code does not import."""
        code = self._print(args[0])
        for arg in args[1:]:
            code = f"{ufunc}({code}, {self._print(arg)})"
        return code

    def _print_Abs(self, expr: Any) -> str:
        return f"numpy.abs({self._print(expr.args[0])})"

    def _print_conjugate(self, expr: Any) -> str:
        return f"numpy.conjugate({self._print(expr.args[0])})"

    # the gamma family (likelihoods of counts and proportions) with SciPy's ufuncs:
    # SymPy prints loggamma with math.lgamma (entry by entry) and polygamma not at all
    def _print_loggamma(self, expr: Any) -> str:
        return f"scipy.special.gammaln({self._print(expr.args[0])})"

    def _print_gamma(self, expr: Any) -> str:
        return f"scipy.special.gamma({self._print(expr.args[0])})"

    def _print_polygamma(self, expr: Any) -> str:
        order, x = expr.args
        if order == 0:
            return f"scipy.special.digamma({self._print(x)})"
        return f"scipy.special.polygamma({self._print(order)}, {self._print(x)})"


_PRINTER = NumPyCode()


@cache
def _numpy_code(body: Any) -> str | None:
    """The NumPy code SymPy prints for ``body``; None if it cannot print it."""
    try:
        return str(_PRINTER.doprint(body))
    except NotImplementedError:  # SymPy's PrintMethodNotImplementedError
        return None


@cache
def _compiled(variables: tuple[Any, ...], body: Any, scalar_only: bool) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"numpy": np, "math": math}
    if "scipy." in (_numpy_code(body) or ""):
        import scipy.special  # only where used: a tenth of a second to import

        namespace["scipy"] = scipy
    modules = [namespace, "numpy"]  # the printer qualifies names
    fn = sp.lambdify(variables, body, modules=modules, printer=_PRINTER)
    return np.vectorize(fn) if scalar_only else fn


def _unprintable(body: Any) -> Any:
    """The innermost subexpression of ``body`` that SymPy cannot print as NumPy."""
    culprit = body
    for node in sp.preorder_traversal(body):
        if _numpy_code(node) is None:
            culprit = node
    return culprit


def _function_name(expr: Any) -> str:
    func = getattr(expr, "func", type(expr))
    return getattr(func, "__name__", str(func))


def call_numpy(fn: Callable[..., Any], node: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (NameError, TypeError) as exc:  # a function SymPy printed but NumPy lacks
        raise EvaluationError(
            f"cannot evaluate {fmt(node)} with NumPy ({type(exc).__name__}: {exc})"
        ) from exc
