"""The first lines of a generated function: its signature, each input made a 2-D
array, the sizes read from the inputs' shapes, and a check of each input's shape.

What an input may be given as:

- a column vector (n x 1) or a row vector (1 x n): a 2-D array of that shape, or
  any array-like with n entries in one dimension (a 1-D array, a list), which
  becomes that column or row;
- a matrix (m x n, neither size 1 by its symbol): a 2-D array (or a list of
  lists); a number counts as a 1 x 1 matrix.  A 1-D array is refused, not
  guessed to be a row or a column.

Integer and boolean arrays are computed as float64 (as ``evaluate`` computes them).

An array with more than two dimensions is refused for every input.  A wrong
shape raises ``ValueError`` (``InputShapeError`` in ``lambdify``) naming the input,
the shape expected, and where the sizes in it were read from, so that when the
input the sizes came from is the wrong one, the message says so.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..kink_nodes import no_complex_extension
from ..symmetry import VALUE_RTOL


def _axes(symbol: Any, dim_names: dict[Any, str]) -> str:
    """'m x n' for a symbol's shape, with the sizes' names in the code."""
    rows, cols = (_dim_code(sp.sympify(d), dim_names) for d in symbol.shape)
    return _braces(f"{rows} x {cols}")


def _braces(text: str) -> str:
    """``text`` as the literal part of an f-string."""
    return text.replace("{", "{{").replace("}", "}}")


def input_lines(
    fn: str, name: str, symbol: Any, dim_names: dict[Any, str], kink: Any = None
) -> list[str]:
    """Lines making input ``name`` a 2-D array (see the module docstring); complex
    values refused where the code computes a ``kink`` (``kink_nodes``)."""
    if not isinstance(symbol, sp.MatrixSymbol):
        return []
    rows, cols = symbol.shape
    shape = "(-1, 1)" if cols == 1 else "(1, -1)" if rows == 1 else None
    axes = _axes(symbol, dim_names)
    got = f"not one of shape {{numpy.shape({name})}}"
    # not an ndarray: a list, a number, np.matrix (whose * and ** are matrix products:
    # wrong numbers in the code below), a sparse matrix, a JAX array
    plain = f"type({name}) is not numpy.ndarray or {name}.ndim != 2"
    dense = [f'    if hasattr({name}, "toarray"):', f"        {name} = {name}.toarray()"]
    if shape is None:
        return [
            f"if {plain}:",
            *dense,
            f"    if numpy.ndim({name}) not in (0, 2):",
            f'        raise ValueError(f"{fn}: {name} is a matrix ({axes}): give it as a 2-D '
            f'array, {got}")',
            f"    {name} = numpy.array({name}, ndmin=2)",
            *_as_float(fn, name, kink),
        ]
    kind = "column" if cols == 1 else "row"
    return [
        f"if {plain}:",
        *dense,
        f"    if numpy.ndim({name}) > 2:",
        f'        raise ValueError(f"{fn}: {name} is a {kind} ({axes}): give it as a 1-D or '
        f'2-D array, {got}")',
        f"    {name} = numpy.reshape(numpy.asarray({name}), {shape})",
        *_as_float(fn, name, kink),
    ]


def _as_float(fn: str, name: str, kink: Any = None) -> list[str]:
    """Integer and boolean arrays computed as float64, as ``evaluate`` does (NumPy keeps
    their type, and 5 x⁴ of an int64 100000 wraps around); an array of anything but
    numbers (strings, None) is refused by name, and so is a complex one where the code
    computes a ``kink``.  One test of the dtype for floats."""
    lines = [
        f'if {name}.dtype.kind != "f":',
        f'    if {name}.dtype.kind not in "biuc":',
        f'        raise ValueError(f"{fn}: the value given for {name} (dtype {{{name}.dtype}}) '
        f'is not a number or an array of numbers")',
        f'    if {name}.dtype.kind != "c":',
        f"        {name} = {name}.astype(float)",
    ]
    if kink is not None:
        refusal = f"{fn}: {no_complex_extension(kink, name)}"
        lines += ["    else:", f"        raise ValueError({refusal!r})"]
    return lines


class Inputs:
    """The signature of the generated function and its first lines.

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
        symmetric: tuple[Any, ...] = (),
        kink: Any = None,
    ) -> None:
        self.name, self.names, self.optional, self.dim_names = name, names, optional, dim_names
        self.symmetric, self.kink = symmetric, kink
        self.read = bindable(names)
        late = bindable(optional)
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
        lines = [
            line
            for symbol, name in self.names.items()
            for line in input_lines(self.name, name, symbol, self.dim_names, self.kink)
        ]
        lines += [f"{self.dim_names[d]} = {self.read[d]}" for d in self.wanted if d in self.read]
        for symbol, name in self.optional.items():  # a list given for it: its shape too
            body = input_lines(self.name, name, symbol, self.dim_names, self.kink)
            lines += [f"if {name} is not None:", *(f"    {line}" for line in body)]
        for d in sorted(self.late, key=str):
            size, code = self.dim_names[d], self.late[d]
            source = code.split(".")[0]
            axis = "rows" if code.endswith("[0]") else "columns"
            lines += [
                f"if {size} is None:",
                f"    if {source} is None:",
                f'        raise TypeError("{self.name}() needs {source}, or {size} (the number '
                f'of {axis} of {source})")',
                f"    {size} = {code}",
                *self._size_check(d, "elif"),
            ]
        for d in self.free:
            lines += self._size_check(d, "if")
        return lines + self._checks() + self._symmetric_checks()

    def _size_check(self, d: Any, keyword: str) -> list[str]:
        """A size given as an argument is an integer (Python's or NumPy's) of at least
        1 (0 for a size not declared positive), named when it is not (NumPy's own
        error would not)."""
        size, least = self.dim_names[d], 1 if d.is_positive else 0
        return [
            f"{keyword} not isinstance({size}, (int, numpy.integer)) or {size} < {least}:",
            f'    raise ValueError(f"{self.name}: the size {size} = {{{size}!r}} is not an '
            f'integer of at least {least}")',
        ]

    def _symmetric_checks(self) -> list[str]:
        """A matrix declared symmetric (``symmetric=``) is refused when its value is not
        symmetric (to ``symmetry.VALUE_RTOL``), as ``evaluate`` refuses it: the result holds
        only for symmetric values."""
        lines = []
        for symbol in self.symmetric:
            name = self.names.get(symbol)
            if name is None:
                continue  # the result does not use it
            gap = f"numpy.abs({name} - {name}.T).max(initial=0.0)"
            lines += [
                f"if {gap} > {VALUE_RTOL!r} * numpy.abs({name}).max(initial=0.0):",
                f'    raise ValueError(f"{self.name}: {name} was declared symmetric, but the '
                f"value given is not (largest |{name} - {name}.T| = {{{gap}:.3g}}): the "
                f'result holds only for a symmetric {name}")',
            ]
        return lines

    def _checks(self) -> list[str]:
        """``if A.shape != (m, m): raise ValueError(...)`` for each matrix input: one
        comparison of tuples per input, so a wrong array is named before NumPy fails
        inside the computation; an input the result does not use (optional) is checked
        when it is given, as ``evaluate`` checks it (X of 2 x 4 with m = 3 given, or
        with A of 3 x 2, was ignored)."""
        known = {*self.read, *self.late, *self.free}
        lines = []
        inputs = [(symbol, name, "") for symbol, name in self.names.items()]
        inputs += [
            (symbol, name, f"{name} is not None and ") for symbol, name in self.optional.items()
        ]
        for symbol, name, given in inputs:
            if not isinstance(symbol, sp.MatrixSymbol):
                continue
            shape = [sp.sympify(d) for d in symbol.shape]
            if not all(d.free_symbols <= known for d in shape):
                continue  # a size no input or argument gives (n + 1 with n unknown)
            if all(self.read.get(d) == f"{name}.shape[{k}]" for k, d in enumerate(shape)):
                continue  # every size read from this input: its shape is what it says
            expected = f"({', '.join(_dim_code(d, self.dim_names) for d in shape)})"
            value = "" if all(d.is_Integer for d in shape) else f" = {{{expected}}}"
            origin = self._origin(name, shape)
            lines += [
                f"if {given}{name}.shape != {expected}:",
                f'    raise ValueError(f"{self.name}: {name} has shape {{{name}.shape}}; '
                f'expected {_braces(expected)}{value}{origin}")',
            ]
        return lines

    def _origin(self, name: str, shape: list[Any]) -> str:
        """Where the sizes in ``shape`` came from, as f-string text: '; m = {m} and
        n = {n} were read from A's shape {A.shape}' (every size read from A, so the
        message shows how A was taken), sizes given as arguments, sizes read from an
        input the result does not use."""
        sizes = {s for d in shape for s in d.free_symbols}
        sources: dict[str, list[Any]] = {}
        for d, code in self.read.items():
            source = code.split(".")[0]
            if source != name and any(
                self.read.get(s, "").startswith(f"{source}.") for s in sizes
            ):
                sources.setdefault(source, []).append(d)
        parts = []
        for source, dims in sources.items():
            dims.sort(key=lambda d: self.read[d])  # in the order of the source's axes
            said = " and ".join(f"{self._size(d)} = {{{self._size(d)}}}" for d in dims)
            verb = "was" if len(dims) == 1 else "were"
            parts.append(f"{said} {verb} read from {source}'s shape {{{source}.shape}}")
        for d in sorted(sizes & set(self.late), key=str):
            source = self.late[d].split(".")[0]
            parts.append(f"{self._size(d)} = {{{self._size(d)}}} was read from {source} or given")
        given = [self._size(d) for d in sorted(sizes & set(self.free), key=str)]
        if given:
            said = " and ".join(f"{g} = {{{g}}}" for g in given)
            parts.append(f"{said} {'was' if len(given) == 1 else 'were'} given")
        return "; " + "; ".join(parts) if parts else ""

    def _size(self, d: Any) -> str:
        return self.dim_names[d]


def _dim_code(d: Any, dim_names: dict[Any, str]) -> str:
    """Code for a size: an integer, a size's name, or an expression of them."""
    named = d.xreplace({s: sp.Symbol(dim_names.get(s, str(s))) for s in d.free_symbols})
    return str(named) if d.is_Symbol or d.is_Integer else f"({named})"


def bindable(names: dict[Any, str]) -> dict[Any, str]:
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
