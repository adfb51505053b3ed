"""NumPy code generation: ``lambdify(d)`` and ``to_code(d)``.

The generated function takes keyword arguments named after the input
symbols (``f(W=..., x=...)``), runs the program (``d.definitions``) and
returns the result: a 2-D array for a matrix, a float for a scalar, a tuple
for several outputs.  Its source, self-contained apart from NumPy, is
``to_code(d)`` / ``d.to_code()``, to paste into a project.

The code is produced from matderiv's own expression tree by a printer (no
user text is evaluated): symbol names become Python identifiers, and each
node maps to a NumPy expression (see ``emit.py`` and ``products.py``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy
import sympy as sp

from ..canon import larger_than
from ..errors import InputShapeError, MatDerivError, sympified
from ..kink_nodes import first_kink
from ..limits import allows_deep
from ..numeric_inputs import problem_symbols
from ..program import needed_definitions, with_where
from ..render.unicode import fmt
from ..scalarize import scalarize
from ..shapes import dimension_symbols, free_symbols, is_matrix, walk
from . import numba_backend
from .batching import batch_input_products
from .emit import Emitter
from .identifiers import identifiers
from .inputs import Inputs
from .normalise import normalise


def _defined_twice(symbol: Any, first: Any, second: Any) -> str:
    """Two derivations that give one name two definitions: an adjoint of two different
    functions (each derivation names its own h̄ₜ), or two programs."""
    of = [getattr(item, "of", None) for item in (first, second)]
    user = getattr(first, "where", None) or {}
    if symbol not in user and of[0] is not None and of[0] != of[1]:
        return (
            f"{fmt(symbol)} is defined twice, differently, in the derivations given to lambdify: "
            f"they differentiate different functions, {fmt(of[0])} and {fmt(of[1])}, and "
            f"each names its own adjoints ({fmt(symbol)} of each); lambdify them one at a "
            "time, or differentiate one function (their sum, for the sum's gradient)."
        )
    wrt = [getattr(item, "wrt", None) for item in (first, second)]
    if symbol not in user and of[0] is not None and wrt[0] is not None:
        # hvp(L, W) and hvp(L, U) of one program: their tangents depend on the variable
        by = f"by {fmt(wrt[0])} and by {fmt(wrt[1])}" if wrt[0] != wrt[1] else "twice"
        return (
            f"{fmt(symbol)} is defined twice, differently, in the derivations given to lambdify: "
            f"they differentiate {fmt(of[0])} {by}, and each names its own intermediates "
            f"({fmt(symbol)} of each depends on what it differentiates by); lambdify them one "
            "at a time."
        )
    return (
        f"{fmt(symbol)} is defined twice, differently, in the derivations given to lambdify: "
        "they come from different programs (where=); derive them from the same one."
    )


def _targets(target: Any) -> tuple[list[Any], dict[Any, Any]]:
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    if not items:
        raise MatDerivError(
            "lambdify got an empty list: give a Derivation, an expression, or a list of them"
        )
    outputs: list[Any] = []
    definitions: dict[Any, Any] = {}
    owner: dict[Any, Any] = {}  # symbol -> the item that defined it first
    for item in items:
        for symbol, value in (getattr(item, "definitions", None) or {}).items():
            if symbol in definitions and definitions[symbol] != value:
                raise MatDerivError(_defined_twice(symbol, owner[symbol], item))
            definitions[symbol] = value
            owner.setdefault(symbol, item)
        expr = getattr(item, "result", item)
        outputs.append(
            sympified(
                expr,
                # called, if at all, within this iteration
                lambda: f"lambdify takes Derivations or SymPy expressions, got {item!r}",  # noqa: B023
            )
        )
    return outputs, definitions


BACKENDS = ("numpy", "numba")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise MatDerivError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "numba":
        numba_backend.require()


def to_code(
    target: Any,
    *,
    where: Mapping[Any, Any] | None = None,
    name: str = "f",
    backend: str = "numpy",
) -> str:
    """The source of the function ``lambdify`` builds (see ``lambdify``)."""
    return _source(target, where, name, backend)[0]


def _source(
    target: Any, where: Mapping[Any, Any] | None, name: str, backend: str
) -> tuple[str, dict[str, str]]:
    """The source, and the keyword arguments renamed ({"lambda": "lambda_"})."""
    _check_backend(backend)
    source, renamed = _numpy_code(target, where, name, one_pass=backend == "numpy")
    if backend == "numba":
        return numba_backend.numba_source(source, name), renamed
    return source, renamed


@allows_deep
def _numpy_code(
    target: Any, where: Mapping[Any, Any] | None, name: str, *, one_pass: bool
) -> tuple[str, dict[str, str]]:
    """The NumPy source, which the numba backend rewrites (``numba_source``); with
    ``one_pass`` False, Aᵀ g(A V) as two products (numba cannot pass the rows'
    function to a compiled helper: see ``one_pass.py``)."""
    outputs, definitions = _targets(target)
    definitions = with_where(definitions, where)
    needed = needed_definitions(outputs, definitions)
    exprs = normalise([scalarize(e) for e in [*outputs, *(definitions[s] for s in needed)]])
    outputs, program = exprs[: len(outputs)], dict(zip(needed, exprs[len(outputs) :], strict=True))
    exprs = [*outputs, *program.values()]
    symbols = {
        s for e in exprs for s in free_symbols(e) if isinstance(s, (sp.MatrixSymbol, sp.Symbol))
    }
    unused = _problem_inputs(target) - set(definitions)
    dims = dimension_symbols(*exprs, *unused)
    inputs = sorted((s for s in symbols - set(program) - dims), key=str)
    unused = unused - set(inputs) - dims
    groups = [inputs, sorted(unused, key=str), sorted(dims, key=str), list(program)]
    every = [s for group in groups for s in group]
    given = dict(zip(every, identifiers([str(s) for s in every], taken := {name}), strict=True))
    names, optional, dim_names, local = ({s: given[s] for s in group} for group in groups)
    em = Emitter([*program.values(), *outputs], {**names, **dim_names})
    em.taken |= taken
    em.dim_names = dim_names
    em.one_pass = one_pass
    batch_input_products(em, [*program.values(), *outputs], set(inputs) | dims)
    for symbol, value in program.items():
        em.assign(local[symbol], em.code(value))
        em.names[symbol] = local[symbol]
    results = [_output(em, e) for e in outputs]
    symmetric = _symmetric(target)
    inputs_code = Inputs(name, names, optional, dim_names, em.dims, symmetric, first_kink(*exprs))
    header = inputs_code.header()
    setup = inputs_code.lines()
    returned = results[0] if len(results) == 1 else "(" + ", ".join(results) + ",)"
    helpers, imports = _helper_source(em.helpers)
    imports += "".join(f"import {module}\n" for module in sorted(em.modules))
    lines = [*setup, *em.lines, f"return {returned}"]
    body = "\n".join("    " + line for line in lines)
    # the keyword arguments whose names differ from their symbols' (W^1 as W_1_2,
    # lambda as lambda_): said in the docstring, and taken by lambdify's function too
    renamed = {str(s): k for s, k in given.items() if k != str(s) and s not in program}
    pairs = ", ".join(f"{k} for {s}" for s, k in renamed.items())
    said = f"; keyword arguments {pairs}" if pairs else ""
    doc = f'    """Generated by matderiv from: {_summary(target)}{said}"""\n'
    return f"{imports}\n{helpers}{header}\n{doc}{body}\n", renamed


def _output(em: Emitter, expr: Any) -> str:
    text = em.code(expr)
    if is_matrix(expr):
        if isinstance(expr, sp.MatrixSymbol):
            return f"numpy.array({text})"
        return text
    em.helpers.add("_number")
    return f"_number({text})"


def _symmetric(target: Any) -> tuple[Any, ...]:
    """The matrices the derivations were made symmetric for (``symmetric=``)."""
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    found = {M for item in items for M in getattr(item, "symmetric", ())}
    return tuple(sorted(found, key=str))


def _problem_inputs(target: Any) -> set[Any]:
    """The inputs of the differentiated problem(s), the variable included: the function
    also accepts those its result happens not to use (a constant Hessian does not need
    x), and reads sizes from them (I_n, the gradient of tr(S), has n from S)."""
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    return set().union(*(problem_symbols(item) for item in items))


def _helper_source(used: set[str]) -> tuple[str, str]:
    """The source of the helpers ``used`` (and those they call), and the imports.

    The helpers module is imported here, on first use, not with matderiv: it
    imports scipy.linalg (a quarter of a second) for the solve helpers."""
    from .helpers import DEPENDS, HELPERS, USES_SCIPY

    wanted = set(used)
    for helper in list(used):
        wanted |= set(DEPENDS.get(helper, ()))
    sources = []
    for helper in sorted(wanted):
        sources.append(inspect.getsource(HELPERS[helper]))
    imports = "import numpy\n"
    if wanted & USES_SCIPY:
        imports += "import scipy.linalg\n"
    return "".join(s + "\n\n" for s in sources), imports


#: expressions of more nodes (repeats counted) are not printed in the docstring
SUMMARY_NODES = 200


def _summary(target: Any) -> str:
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    parts = []
    for item in items:
        if getattr(item, "mode", "") in ("hessian", "hvp"):
            what = "Hessian" if item.mode == "hessian" else "Hessian-vector product"
            parts.append(f"{what} of {_brief(item.of)} with respect to {fmt(item.wrt)}")
        elif hasattr(item, "of"):
            parts.append(f"∂({_brief(item.of)})/∂({fmt(item.wrt)}), {item.layout} layout")
        else:
            parts.append(_brief(item))
    text = "; ".join(parts)
    return text if len(text) < 200 else text[:197] + "..."


def _brief(expr: Any) -> str:
    """``expr`` printed, or named by its size when its tree is larger than the
    docstring shows (printing a deep tree whole costs its depth in recursion)."""
    if not isinstance(expr, sp.Basic) or not larger_than(expr, SUMMARY_NODES):
        return fmt(expr)
    into = lambda node: not isinstance(node, sp.MatrixSymbol)  # noqa: E731
    distinct = sum(1 for node in walk(expr, into=into) if not node.is_Atom)
    return f"an expression of {distinct} distinct subexpressions"


def lambdify(
    target: Any,
    *,
    where: Mapping[Any, Any] | None = None,
    name: str = "f",
    backend: str = "numpy",
) -> Callable[..., Any]:
    """A NumPy function computing ``target``: a Derivation, an expression, or a list.

    Keyword arguments are named after the input symbols (``f(W=..., x=...)``; names that
    are not Python identifiers or are keywords are adapted, ``h_{t}`` to ``h__t_`` and
    ``lambda`` to ``lambda_``, said in the docstring, and the function takes the
    symbol's own name too, ``f(**{"lambda": 0.1})``; a name that is an identifier
    always keeps it: see ``f.source``). Vectors (n x 1 or 1 x n)
    may be given as 1-D arrays or lists; matrices as 2-D arrays or lists of lists (a
    number is 1 x 1): a 1-D array for a matrix, or an array of more than two dimensions,
    is refused (``inputs.py``). Dimensions are read from the arrays; one that no input
    carries becomes a keyword argument too. Inputs of the differentiated expression that
    the result does not use (x, for the constant Hessian of a quadratic; S, for the
    gradient I_n of tr(S)) are accepted and otherwise ignored; a size only they carry is
    read from them, or given as a keyword argument (``f(S=s)`` or ``f(n=3)``). Each
    array's shape is checked first (one tuple comparison per input), and a wrong one
    raises ``InputShapeError`` (a ValueError and an EvaluationError) naming it, the
    shape expected and the input each size in it was read from. The program of a
    ``where=`` derivation (``d.definitions``) runs first.

    ``backend="numba"`` (``pip install 'matderiv[numba]'``) compiles the same
    code with ``numba.njit`` on the first call (0.5 s for least squares, 5 s
    for a T = 8 unrolled RNN, 19 s for T = 128; repeated statements are
    compiled once, see ``numba_compile_time``), which pays
    off where operands are small and Python's per-call overhead dominates (an
    unrolled RNN at n = 64: about 0.6x the NumPy backend's time).  It raises
    ``BackendError`` for a construct it has not checked to mean in numba what
    it means in NumPy (every function the engine emits today is covered, but for
    the gamma family's SciPy functions, ψ and ψ′, and an explicit sp.Matrix), or
    when numba is not installed.  Integer arrays are computed as float64.  Its
    wrapper reads sizes and checks shapes as the NumPy function does, in Python,
    before the compiled core.
    """
    source, renamed = _source(target, where, name, backend)
    namespace: dict[str, Any] = {"numpy": numpy, "ValueError": InputShapeError}
    if backend == "numba":
        namespace["numba"] = numba_backend.load()
    exec(compile(source, f"<matderiv {name}>", "exec"), namespace)  # our own printed code
    if backend == "numba":
        core = numba_backend.core_name(name)
        numba_backend.guard(namespace[core], namespace, core)
    fn = namespace[name]
    fn.__doc__ = inspect.getdoc(fn)
    if renamed:
        fn = _taking_symbol_names(fn, renamed)
    fn.source = source
    return fn


def _taking_symbol_names(fn: Callable[..., Any], renamed: dict[str, str]) -> Callable[..., Any]:
    """``fn`` called with the symbols' own names too: f(**{"lambda": 0.1}) for the
    keyword argument lambda_ (Python's bare "unexpected keyword argument 'lambda'"
    did not say it was renamed)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if renamed.keys() & kwargs.keys():
            kwargs = {renamed.get(k, k): v for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return call


__all__ = ["BACKENDS", "lambdify", "to_code"]
