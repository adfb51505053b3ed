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

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy
import sympy as sp

from ..errors import InputShapeError, MatDerivError, sympified
from ..limits import allows_deep
from ..numeric_inputs import problem_symbols
from ..program import check_where
from ..render.unicode import fmt
from ..shapes import dimension_symbols, free_symbols, is_matrix, scalarize, walk
from ..substitute import substitute
from . import numba_backend
from .emit import Emitter
from .identifiers import identifier
from .products import batch_input_products


def _targets(target: Any) -> tuple[list[Any], dict[Any, Any]]:
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    outputs: list[Any] = []
    definitions: dict[Any, Any] = {}
    for item in items:
        for symbol, value in (getattr(item, "definitions", None) or {}).items():
            if symbol in definitions and definitions[symbol] != value:
                raise MatDerivError(
                    f"{symbol} is defined twice, differently, in the derivations given to "
                    "lambdify; derive them from the same program."
                )
            definitions[symbol] = value
        expr = getattr(item, "result", item)
        outputs.append(
            sympified(
                expr,
                # called, if at all, within this iteration
                lambda: f"lambdify takes Derivations or SymPy expressions, got {item!r}",  # noqa: B023
            )
        )
    return outputs, definitions


def _needed(outputs: list[Any], definitions: Mapping[Any, Any]) -> list[Any]:
    """The defined symbols the outputs use, directly or through other definitions."""
    needed: set[Any] = set()
    stack = [s for e in outputs for s in free_symbols(e) if s in definitions]
    while stack:
        symbol = stack.pop()
        if symbol in needed:
            continue
        needed.add(symbol)
        stack.extend(s for s in free_symbols(definitions[symbol]) if s in definitions)
    return [s for s in definitions if s in needed]


def _input_line(name: str, symbol: Any) -> str | None:
    if not isinstance(symbol, sp.MatrixSymbol):
        return None
    rows, cols = symbol.shape
    shape = "(-1, 1)" if cols == 1 else "(1, -1)" if rows == 1 else None
    if shape is None:  # a matrix: a list of lists, or a 1-D array (then a shape error)
        return (
            f'{name} = {name} if getattr({name}, "ndim", 0) == 2 else numpy.array({name}, ndmin=2)'
        )
    return (
        f'{name} = {name} if getattr({name}, "ndim", 0) == 2 else numpy.reshape({name}, {shape})'
    )


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
    _check_backend(backend)
    source = _numpy_code(target, where, name)
    if backend == "numba":
        return numba_backend.numba_source(source, name)
    return source


@allows_deep
def _numpy_code(target: Any, where: Mapping[Any, Any] | None, name: str) -> str:
    """The NumPy source, which the numba backend rewrites (``numba_source``)."""
    outputs, definitions = _targets(target)
    if where:
        definitions = {**check_where(where, None), **definitions}
    outputs = [_normalise(scalarize(e)) for e in outputs]
    program = {s: _normalise(scalarize(definitions[s])) for s in _needed(outputs, definitions)}
    exprs = [*outputs, *program.values()]
    symbols = {
        s for e in exprs for s in free_symbols(e) if isinstance(s, (sp.MatrixSymbol, sp.Symbol))
    }
    unused = _problem_inputs(target) - set(definitions)
    dims = dimension_symbols(*exprs, *unused)
    inputs = sorted((s for s in symbols - set(program) - dims), key=str)
    unused = unused - set(inputs) - dims
    taken: set[str] = {name}
    names = {s: identifier(str(s), taken) for s in inputs}
    optional = {s: identifier(str(s), taken) for s in sorted(unused, key=str)}
    dim_names = {d: identifier(str(d), taken) for d in sorted(dims, key=str)}
    local = {s: identifier(str(s), taken) for s in program}
    em = Emitter([*program.values(), *outputs], {**names, **dim_names})
    em.taken |= taken
    em.dim_names = dim_names
    batch_input_products(em, [*program.values(), *outputs], set(inputs) | dims)
    for symbol, value in program.items():
        em.assign(local[symbol], em.code(value))
        em.names[symbol] = local[symbol]
    results = [_output(em, e) for e in outputs]
    inputs_code = _Inputs(name, names, optional, dim_names, em.dims)
    header = inputs_code.header()
    setup = [line for s, n in names.items() if (line := _input_line(n, s))]
    setup += inputs_code.lines()
    returned = results[0] if len(results) == 1 else "(" + ", ".join(results) + ",)"
    helpers, imports = _helper_source(em.helpers)
    imports += "".join(f"import {module}\n" for module in sorted(em.modules))
    lines = [*setup, *em.lines, f"return {returned}"]
    body = "\n".join("    " + line for line in lines)
    doc = f'    """Generated by matderiv from: {_summary(target)}"""\n'
    return f"{imports}\n{helpers}{header}\n{doc}{body}\n"


class _Inputs:
    """The signature of the generated function and its first lines: the sizes read
    from the inputs' shapes, and a check of each input's shape.

    A size the result needs is read from a required input that carries it; else
    from an input the result does not use (then the size may be given instead, as
    a keyword argument defaulting to None); else it is a required keyword argument.
    """

    def __init__(
        self,
        name: str,
        names: dict[Any, str],
        optional: dict[Any, str],
        dim_names: dict[Any, str],
        used: set[Any],
    ) -> None:
        self.name, self.names, self.optional, self.dim_names = name, names, optional, dim_names
        self.read = _bindable(names)
        late = _bindable(optional)
        self.late = {d: code for d, code in late.items() if d in used and d not in self.read}
        # the sizes the result uses, and every size a check compares with
        wanted = set(used) | {d for d in self.read if d in dim_names}
        self.free = sorted(
            (d for d in wanted if d not in self.read and d not in self.late), key=str
        )
        self.wanted = sorted(wanted, key=str)

    def header(self) -> str:
        args = [
            *self.names.values(),
            *(self.dim_names[d] for d in self.free),
            *(f"{n}=None" for n in self.optional.values()),
            *(f"{self.dim_names[d]}=None" for d in sorted(self.late, key=str)),
        ]
        return f"def {self.name}(*, {', '.join(args)}):" if args else f"def {self.name}():"

    def lines(self) -> list[str]:
        lines = [f"{self.dim_names[d]} = {self.read[d]}" for d in self.wanted if d in self.read]
        for d in sorted(self.late, key=str):
            size, code = self.dim_names[d], self.late[d]
            source = code.split(".")[0]
            axis = "rows" if code.endswith("[0]") else "columns"
            lines += [
                f"if {size} is None and {source} is None:",
                f'    raise TypeError("{self.name}() needs {source}, or {size} (the number of '
                f'{axis} of {source})")',
                f"{size} = {code} if {size} is None else {size}",
            ]
        return lines + self._checks()

    def _checks(self) -> list[str]:
        """``if A.shape != (m, m): raise ValueError(...)`` for each matrix input: one
        comparison of tuples per input, so a wrong array is named before NumPy fails
        inside the computation."""
        known = {*self.read, *self.late, *self.free}
        lines = []
        for symbol, name in self.names.items():
            if not isinstance(symbol, sp.MatrixSymbol):
                continue
            shape = [sp.sympify(d) for d in symbol.shape]
            if not all(d.free_symbols <= known for d in shape):
                continue  # a size no input or argument gives (n + 1 with n unknown)
            if all(self.read.get(d) == f"{name}.shape[{k}]" for k, d in enumerate(shape)):
                continue  # every size read from this input: its shape is what it says
            expected = f"({', '.join(_dim_code(d, self.dim_names) for d in shape)})"
            value = "" if all(d.is_Integer for d in shape) else f" = {{{expected}}}"
            lines += [
                f"if {name}.shape != {expected}:",
                f'    raise ValueError(f"{self.name}: {name} has shape {{{name}.shape}}; '
                f'expected {expected}{value}")',
            ]
        return lines


def _dim_code(d: Any, dim_names: dict[Any, str]) -> str:
    """Code for a size: an integer, a size's name, or an expression of them."""
    named = d.xreplace({s: sp.Symbol(dim_names.get(s, str(s))) for s in d.free_symbols})
    return str(named) if d.is_Symbol or d.is_Integer else f"({named})"


def _normalise(expr: Any) -> Any:
    """Forms that share work: (Aᵀ)⁻¹ → (A⁻¹)ᵀ, so A⁻¹ is computed once when both
    appear, and aᵀ - bᵀ → (a - b)ᵀ, so a sum and its transpose are one sum."""
    for _ in range(4):
        swaps = {}
        for node in walk(expr):
            if isinstance(node, sp.Inverse) and isinstance(node.arg, sp.Transpose):
                swaps[node] = sp.Transpose(sp.Inverse(node.arg.arg))
            elif isinstance(node, sp.MatAdd) and all(
                _transposed(t) is not None for t in node.args
            ):
                swaps[node] = sp.Transpose(sp.MatAdd(*(_transposed(t) for t in node.args)))
        if not swaps:
            return expr
        expr = substitute(expr, swaps)
    return expr


def _transposed(term: Any) -> Any:
    """a for aᵀ, c·a for c·aᵀ, else None."""
    if isinstance(term, sp.Transpose):
        return term.arg
    if isinstance(term, sp.MatMul):
        coeff, mats = term.as_coeff_matrices()
        if len(mats) == 1 and isinstance(mats[0], sp.Transpose):
            return sp.MatMul(coeff, mats[0].arg)
    return None


def _output(em: Emitter, expr: Any) -> str:
    text = em.code(expr)
    if is_matrix(expr):
        if isinstance(expr, sp.MatrixSymbol):
            return f"numpy.array({text})"
        return text
    return f"float({text})"


def _problem_inputs(target: Any) -> set[Any]:
    """The inputs of the differentiated problem(s), the variable included: the function
    also accepts those its result happens not to use (a constant Hessian does not need
    x), and reads sizes from them (I_n, the gradient of tr(S), has n from S)."""
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    return set().union(*(problem_symbols(item) for item in items))


def _bindable(names: dict[Any, str]) -> dict[Any, str]:
    """dimension symbol -> code reading it from an input's shape."""
    bound: dict[Any, str] = {}
    for symbol, name in names.items():
        if not isinstance(symbol, sp.MatrixSymbol):
            continue
        for axis, d in enumerate(symbol.shape):
            d = sp.sympify(d)
            if d.is_Symbol and d not in bound:
                bound[d] = f"{name}.shape[{axis}]"
    return bound


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


def _summary(target: Any) -> str:
    items = list(target) if isinstance(target, (list, tuple)) else [target]
    parts = []
    for item in items:
        if getattr(item, "mode", "") in ("hessian", "hvp"):
            what = "Hessian" if item.mode == "hessian" else "Hessian-vector product"
            parts.append(f"{what} of {fmt(item.of)} with respect to {fmt(item.wrt)}")
        elif hasattr(item, "of"):
            parts.append(f"∂({fmt(item.of)})/∂({fmt(item.wrt)}), {item.layout} layout")
        else:
            parts.append(fmt(item))
    text = "; ".join(parts)
    return text if len(text) < 200 else text[:197] + "..."


def lambdify(
    target: Any,
    *,
    where: Mapping[Any, Any] | None = None,
    name: str = "f",
    backend: str = "numpy",
) -> Callable[..., Any]:
    """A NumPy function computing ``target``: a Derivation, an expression, or a list.

    Keyword arguments are named after the input symbols (``f(W=..., x=...)``;
    names that are not Python identifiers are adapted, see ``f.source``).
    Column vectors may be given as 1-D arrays.  Dimensions are read from the
    arrays; one that no input carries becomes a keyword argument too.  Inputs
    of the differentiated expression that the result does not use (x, for the
    constant Hessian of a quadratic; S, for the gradient I_n of tr(S)) are
    accepted and otherwise ignored; a size only they carry is read from them,
    or given as a keyword argument (``f(S=s)`` or ``f(n=3)``).  Each array's
    shape is checked first (one tuple comparison per input), and a wrong one
    raises ``InputShapeError`` (a ValueError and an EvaluationError) naming it
    and the shape expected.  The program of a ``where=`` derivation
    (``d.definitions``) runs first.

    ``backend="numba"`` (``pip install 'matderiv[numba]'``) compiles the same
    code with ``numba.njit`` on the first call (0.5 s for least squares, 5 s
    for a T = 8 unrolled RNN, 19 s for T = 128; repeated statements are
    compiled once, see ``numba_compile_time``), which pays
    off where operands are small and Python's per-call overhead dominates (an
    unrolled RNN at n = 64: about 0.6x the NumPy backend's time).  It raises
    ``BackendError`` for a construct it has not checked to mean in numba what
    it means in NumPy (every function the engine emits today is covered), or
    when numba is not installed.  Integer arrays are computed as float64.  Its
    wrapper reads sizes and checks shapes as the NumPy function does, in Python,
    before the compiled core.
    """
    source = to_code(target, where=where, name=name, backend=backend)
    namespace: dict[str, Any] = {"numpy": numpy, "ValueError": InputShapeError}
    if backend == "numba":
        namespace["numba"] = numba_backend.load()
    exec(compile(source, f"<matderiv {name}>", "exec"), namespace)  # our own printed code
    if backend == "numba":
        core = numba_backend.core_name(name)
        numba_backend.guard(namespace[core], namespace, core)
    fn = namespace[name]
    fn.source = source
    fn.__doc__ = inspect.getdoc(fn)
    return fn


__all__ = ["BACKENDS", "lambdify", "to_code"]
