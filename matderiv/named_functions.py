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


_W = sp.Wild("w")
_PATTERNS = {name: body.xreplace({_T: _W}) for name, body in BODIES.items()}


def _outer(body: Any, t: Any) -> tuple[Any, Any] | None:
    """(f as a Lambda, its argument) when ``body`` is f(argument) with f a named function
    or one of SymPy's one-argument functions, else None."""
    for name, pattern in _PATTERNS.items():
        found = body.match(pattern)
        inner = None if found is None else found.get(_W)
        if inner is not None and pattern.xreplace({_W: inner}) == body:
            return named_function(name), inner
    if isinstance(body, sp.Function) and len(body.args) == 1:
        return sp.Lambda(t, body.func(t)), body.args[0]
    return None


def _chain(expr: Any, t: Any) -> bool:
    """Whether ``expr`` is t, or functions as in ``_outer`` applied in turn to t."""
    if expr == t:
        return True
    found = _outer(expr, t)
    return found is not None and _chain(found[1], t)


def split_composition(fn: Any) -> tuple[Any, Any] | None:
    """(f, g) when the one-variable Lambda ``fn`` is t ↦ f(g(t)) with f and g named
    functions or SymPy's one-argument functions (exp, tanh, ...), or compositions of
    them; None otherwise.  SymPy fuses X.applyfunc(g).applyfunc(f) into one Lambda,
    which would print as (t ↦ exp(tanh(t)))∘(X) and hide exp from the rewrites."""
    if not isinstance(fn, sp.Lambda) or len(fn.variables) != 1:
        return None
    t = fn.variables[0]
    if isinstance(fn.expr, sp.Function) and fn.expr.args == (t,):
        return None  # f(t): one function, nothing to split (and no f(t) to rebuild)
    found = _outer(fn.expr, t)
    if found is None or found[1] == t or not _chain(found[1], t):
        return None
    return found[0], sp.Lambda(t, found[1])
