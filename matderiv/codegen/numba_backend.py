"""The numba backend: the generated NumPy code, compiled with ``numba.njit``.

For small operands the NumPy code spends most of its time in Python: at
n = 64 a step of an unrolled RNN is six NumPy calls of about a microsecond
each.  numba compiles the same straight-line code to machine code (matrix
products still go to BLAS), which removes that overhead.

The NumPy source printed by ``to_code`` is rewritten, not re-derived: its
syntax tree is read (our own printed code, never user text), every construct
is checked against the list of constructs that numba compiles with the same
meaning as NumPy, and the function is split in two:

- ``_f_core(...)``: the computation, decorated with ``@numba.njit``;
- ``f(*, ...)``: the same keyword interface as the NumPy backend; in Python it
  turns 1-D vectors into columns, reads sizes and checks the inputs' shapes,
  calls the core and turns 1 x 1 results into floats.

The list of constructs and the rewrites are ``numba_dialect.py``: a construct
outside the list raises ``BackendError`` when the code is generated, naming it
(numba silently ignores, for instance, ``order="F"`` in ``reshape``, so an
unchecked translation could return a wrong answer).  ``numba_compile_time.py``
keeps numba's compile time linear in the length of a program.
"""

from __future__ import annotations

import ast
import importlib.util
from typing import Any

from ..errors import BackendError
from .numba_compile_time import outline
from .numba_dialect import (
    AS_HELPERS,
    Checker,
    Rewriter,
    attribute_path,
    unsupported,
)
from .numba_helpers import HELPERS, PYTHON_HELPERS, REPLACEMENTS


def available() -> bool:
    """Whether numba can be imported."""
    return importlib.util.find_spec("numba") is not None


def require() -> None:
    if not available():
        raise BackendError(
            "backend='numba' needs numba: pip install 'matderiv[numba]' (or use "
            "backend='numpy', the default)"
        )


def load() -> Any:
    """The numba module (``to_code`` has already called ``require``)."""
    import numba

    return numba


def core_name(name: str) -> str:
    """The name of the compiled core behind the generated function ``name``."""
    return f"_{name}_core"


def guard(core: Any, namespace: dict[str, Any], name: str) -> None:
    """Install, as ``namespace[name]``, the numba dispatcher ``core`` behind a call
    that retries integer or boolean arrays as float64 (numba has no integer
    matrix inverse or determinant; NumPy promotes them), and turns a failure to
    compile into a BackendError.  Errors the computation itself raises (a
    singular matrix) pass through as NumPy's."""
    import warnings

    import numpy
    from numba.core.errors import NumbaError, NumbaPerformanceWarning

    compile_errors = (NumbaError, AttributeError)  # numba typing of a missing overload
    # numba's notes on products with transposed (non-contiguous) operands, for code
    # compiled from "<matderiv ...>" sources only: the generated code is what it is
    warnings.filterwarnings("ignore", category=NumbaPerformanceWarning, module="<matderiv ")

    def fail(exc: Exception, args: tuple[Any, ...]) -> BackendError:
        first = (str(exc).strip().splitlines() or [""])[0]
        complex_ = any(getattr(getattr(a, "dtype", None), "kind", "") == "c" for a in args)
        cause = " (complex values: numba compiles some of the code for them, not all)"
        return BackendError(
            f"numba could not compile the generated code for these inputs"
            f"{cause if complex_ else ''} ({type(exc).__name__}: {first}); use "
            "backend='numpy'"
        )

    def promoted(a: Any, to: Any) -> Any:
        """Integers, and float32 or float16 (numba's np.dot takes no mix of precisions,
        and fails on some all-float32 products), as float64; with a complex input
        among them, every real array as complex128 (nor does np.dot mix real and
        complex)."""
        dtype = getattr(a, "dtype", None)
        kind = getattr(dtype, "kind", "f")
        small = kind in "fc" and getattr(dtype, "itemsize", 16) < (16 if kind == "c" else 8)
        if dtype is None or not (kind in "biu" or small or (kind == "f" and to is complex)):
            return a
        return numpy.asarray(a, dtype=numpy.complex128 if to is complex else numpy.float64)

    def call(*args: Any) -> Any:
        try:
            return core(*args)
        except compile_errors as exc:
            complex_ = any(getattr(getattr(a, "dtype", None), "kind", "") == "c" for a in args)
            floats = tuple(promoted(a, complex if complex_ else float) for a in args)
            if all(f is a for f, a in zip(floats, args, strict=True)):
                raise fail(exc, args) from exc
            try:
                return core(*floats)
            except compile_errors as again:
                raise fail(again, args) from again

    namespace[name] = call


def numba_source(source: str, name: str) -> str:
    """The NumPy backend's ``source`` of function ``name`` as numba-backend source."""
    tree = ast.parse(source)
    body: list[ast.stmt] = []
    main: ast.FunctionDef | None = None
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name:
            main = stmt
        elif isinstance(stmt, ast.FunctionDef):
            if stmt.name in REPLACEMENTS:
                stmt = _helper(stmt.name)
            elif stmt.name in PYTHON_HELPERS:  # called by the wrapper, in Python
                body.append(stmt)
                continue
            elif stmt.name not in HELPERS:
                raise unsupported(f"the helper {stmt.name}", stmt)
            stmt.decorator_list = [_njit()]
            body.append(stmt)
        elif isinstance(stmt, ast.Import):
            if any(alias.name not in ("numpy", "scipy.linalg") for alias in stmt.names):
                raise unsupported("this import", stmt)
        else:  # pragma: no cover - to_code writes imports and functions only
            raise unsupported(type(stmt).__name__, stmt)
    assert main is not None, f"no function {name} in the generated source"
    wrapper, core = _split(main, name)
    outlined = outline(core, prefix=f"_{name}_s")
    for function in outlined:
        function.decorator_list = [_njit()]
        body.append(function)
    for helper in AS_HELPERS.values():  # used by the core or by a statement outlined
        if any(
            isinstance(n, ast.Name) and n.id == helper
            for tree in (core, *outlined)
            for n in ast.walk(tree)
        ):
            body.append(_helper(helper))
    imports = ast.parse("import numpy\nimport numba").body
    module = ast.Module(body=[*imports, *body, core, wrapper], type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)) + "\n"


def _helper(name: str) -> ast.FunctionDef:
    helper = ast.parse(REPLACEMENTS[name]).body[0]
    assert isinstance(helper, ast.FunctionDef)
    helper.decorator_list = [_njit()]
    return helper


def _njit() -> ast.expr:
    return ast.Attribute(value=ast.Name("numba", ast.Load()), attr="njit", ctx=ast.Load())


def _split(main: ast.FunctionDef, name: str) -> tuple[ast.FunctionDef, ast.FunctionDef]:
    """The keyword wrapper (input reshapes, float results) and the compiled core."""
    doc = main.body[0] if _is_docstring(main.body[0]) else None
    statements = main.body[1:] if doc is not None else main.body
    lead = next((i for i, s in enumerate(statements) if not _is_setup(s)), len(statements))
    setup, work = statements[:lead], statements[lead:]
    params = [a.arg for a in main.args.kwonlyargs]
    defaults = zip(main.args.kwonlyargs, main.args.kw_defaults, strict=True)
    optional = {a.arg for a, d in defaults if d is not None}
    used = {n.id for s in work for n in ast.walk(s) if isinstance(n, ast.Name)}
    # n = A.shape[0], also under an if (a size given or read from an optional input)
    lines = [node for s in setup for node in ast.walk(s) if _is_size_line(node)]
    sizes = [t.id for s in lines for t in s.targets]  # type: ignore[attr-defined]
    passed = [p for p in params if p not in optional]
    passed += [d for d in dict.fromkeys(sizes) if d in used and d not in passed]
    core = core_name(name)
    returned = work[-1]
    assert isinstance(returned, ast.Return) and returned.value is not None
    outputs, scalars = _outputs(returned.value)
    returned.value = outputs[0] if len(outputs) == 1 else ast.Tuple(outputs, ast.Load())
    checker = Checker()
    for stmt in work:
        checker.visit(stmt)
    work = [Rewriter().visit(s) for s in work]
    compiled = _function(f"def {core}({', '.join(passed)}): pass", work)
    compiled.decorator_list = [_njit()]
    call = ast.parse(f"{core}({', '.join(passed)})", mode="eval").body
    if len(outputs) == 1:
        result: ast.expr = _as_number(call) if scalars[0] else call
        tail: list[ast.stmt] = [ast.Return(result)]
    else:
        tail = [
            ast.Assign([ast.Name("out", ast.Store())], call),
            ast.Return(
                ast.Tuple(
                    [_as_number(_item(i)) if sc else _item(i) for i, sc in enumerate(scalars)],
                    ast.Load(),
                )
            ),
        ]
    main.body = [*([doc] if doc is not None else []), *setup, *tail]
    return main, compiled


def _function(header: str, body: list[ast.stmt]) -> ast.FunctionDef:
    """A function parsed from ``header`` (so every field is set on every Python
    version) with ``body``."""
    fn = ast.parse(header).body[0]
    assert isinstance(fn, ast.FunctionDef)
    fn.body = body
    return fn


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_setup(stmt: ast.stmt) -> bool:
    """A statement of the wrapper, run in Python before the core: an input reshape,
    a size read from an input's shape, or a check of an input's shape."""
    return _is_input_line(stmt) or _is_size_line(stmt) or isinstance(stmt, ast.If)


def _is_size_line(stmt: ast.AST) -> bool:
    """``n = A.shape[0]`` (also under ``if n is None:`` when n may be given)."""
    return (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and any(isinstance(n, ast.Attribute) and n.attr == "shape" for n in ast.walk(stmt.value))
    )


def _is_input_line(stmt: ast.stmt) -> bool:
    """``x = x if getattr(x, "ndim", 0) == 2 else numpy.reshape(x, ...)``."""
    return isinstance(stmt, ast.Assign) and any(
        isinstance(n, ast.Name) and n.id == "getattr" for n in ast.walk(stmt.value)
    )


def _outputs(value: ast.expr) -> tuple[list[ast.expr], list[bool]]:
    """The returned expressions without ``_number(...)``, and which were scalars."""
    items = value.elts if isinstance(value, ast.Tuple) else [value]
    outputs, scalars = [], []
    for item in items:
        is_scalar = (
            isinstance(item, ast.Call)
            and isinstance(item.func, ast.Name)
            and item.func.id == "_number"
        )
        if is_scalar and isinstance(item, ast.Call):
            item = item.args[0]
        if isinstance(item, ast.Call) and attribute_path(item.func) == "numpy.array":
            item = ast.Call(ast.Attribute(item.args[0], "copy", ast.Load()), [], [])
        outputs.append(item)
        scalars.append(is_scalar)
    return outputs, scalars


def _as_number(e: ast.expr) -> ast.expr:
    return ast.Call(ast.Name("_number", ast.Load()), [e], [])


def _item(i: int) -> ast.expr:
    return ast.Subscript(ast.Name("out", ast.Load()), ast.Constant(i), ast.Load())
