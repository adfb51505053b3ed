"""The entrywise functions matderiv knows by a name beyond SymPy's (the sigmoid, relu,
softplus, step, abs, sign), defined once: the parsers build them with
``named_function``, the printers and recognisers find them with ``function_name``."""

from __future__ import annotations

from typing import Any

import sympy as sp

_T = sp.Dummy("t")
#: each name's body at the variable _T
BODIES = {
    "sigmoid": 1 / (1 + sp.exp(-_T)),
    "relu": sp.Max(0, _T),
    "softplus": sp.log(1 + sp.exp(_T)),
    "step": sp.Heaviside(_T),  # 1/2 at 0, as NumPy's heaviside(x, 0.5): relu's derivative
    "abs": sp.Abs(_T),
    "sign": sp.sign(_T),
}
_NAME_OF_BODY = {body: name for name, body in BODIES.items()}


def named_function(name: str) -> Any:
    """The function ``name`` as the Lambda t ↦ body the parsers build."""
    t = sp.Symbol("t")
    return sp.Lambda(t, BODIES[name].xreplace({_T: t}))


def function_name(fn: Any) -> str | None:
    """The name of an entrywise function (a Lambda of one variable or a SymPy function
    class) whose body is one of ``BODIES``, compared up to its variable; else None."""
    if isinstance(fn, sp.Lambda):
        if len(fn.variables) != 1:
            return None
        return _NAME_OF_BODY.get(fn.expr.xreplace({fn.variables[0]: _T}))
    return _NAME_OF_BODY.get(fn(_T)) if isinstance(fn, type) else None
