"""The kinked functions (|·|, sign, step, relu = max(·, 0), max, min): where verify
compares at larger values (``kinks.py``), and what has no complex extension.

``evaluate`` and the generated code compute real formulas at complex values as their
holomorphic extension (transposes, not conjugate transposes); a kinked function has
none (NumPy's |z| is the modulus, its step of a complex number an error), so complex
values for an expression with one are refused by name, not computed.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .render.unicode import fmt
from .shapes import walk

KINKS = (sp.Heaviside, sp.sign, sp.Abs, sp.Max, sp.Min)


def first_kink(*exprs: Any) -> Any | None:
    """The first node of ``exprs`` with a kink: step(A x) for an entrywise step, |s|
    for a scalar one; None if there is none."""
    for node in walk(*exprs, into=lambda node: not isinstance(node, sp.Lambda)):
        if isinstance(node, ElementwiseApplyFunction) and node.function.expr.atoms(*KINKS):
            return node
        if isinstance(node, KINKS):
            return node
    return None


def no_complex_extension(node: Any, names: str) -> str:
    """The message refusing complex values (for ``names``) of a kinked ``node``."""
    return (
        f"{fmt(node)} has no complex extension (|·|, sign, step, relu, max and min are "
        f"kinked; complex values are computed as the holomorphic extension of the real "
        f"formula): give real values for {names}"
    )
