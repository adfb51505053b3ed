"""The values given to ``evaluate``: checked, converted, and the dimensions bound.

Every array is checked against its symbol's declared shape, and every symbolic
dimension is bound from the first array that carries it (or given directly, as
{n: 3}).  The arrays considered are those of the expression's symbols and of
the symbols of the differentiated problem (``d.of``, ``d.wrt`` and the
``where=`` program): the constant gradient of tr(S) is I_n, and n is read from
the array given for S.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from .errors import EvaluationError
from .kink_nodes import first_kink, no_complex_extension
from .render.unicode import fmt

_NUMERIC_KINDS = "biufc"  # bool, signed and unsigned int, float, complex


def check_values(values: Any) -> Mapping[Any, Any]:
    """``values`` itself, when it is a mapping."""
    if not isinstance(values, Mapping):
        raise EvaluationError(
            f"evaluate takes a mapping {{symbol or name: array or number}} of values, got "
            f"{type(values).__name__}; e.g. evaluate(d, {{X: numpy.eye(3)}})"
        )
    return values


def problem_symbols(target: Any) -> set[Any]:
    """The MatrixSymbols of the problem a Derivation answers (its expression, its
    variable, an HVP's direction and its where= program); none for a plain expression."""
    parts = [getattr(target, k, None) for k in ("of", "wrt", "direction")]  # an HVP's V
    where = getattr(target, "where", None) or {}
    found: set[Any] = set()
    for part in (*parts, *where.values()):
        if isinstance(part, sp.Basic):
            found |= {s for s in part.free_symbols if isinstance(s, sp.MatrixSymbol)}
    return found - set(where)


def refuse_defined(values: Mapping[Any, Any], definitions: Mapping[Any, Any]) -> None:
    """A value given for a symbol the program defines would be ignored: refuse it."""
    by_name = {str(s): s for s in definitions}
    for key in values:
        symbol = by_name.get(key) if isinstance(key, str) else key
        if symbol in definitions:
            raise EvaluationError(
                f"a value was given for {symbol}, which the program defines "
                f"({symbol} := {fmt(definitions[symbol])}): evaluate computes it from the "
                f"inputs and would ignore the value given. Remove {symbol} from the values."
            )


def refuse_complex_kinks(exprs: tuple[Any, ...], values: Mapping[Any, Any]) -> None:
    """An EvaluationError where complex values are given for an expression with a kink
    (``kink_nodes``): NumPy's |z| is the modulus, not a holomorphic extension."""
    given = sorted(str(s) for s, value in values.items() if np.iscomplexobj(value))
    node = first_kink(*exprs) if given else None
    if node is not None:
        raise EvaluationError(no_complex_extension(node, ", ".join(given)))


def normalise_values(values: Mapping[Any, Any], symbols: set[Any]) -> dict[Any, Any]:
    """``values`` keyed by symbols: a name (a string) stands for the symbol of that name,
    a scalar Symbol s for the 1 x 1 MatrixSymbol s a derivation by s holds."""
    by_name = {str(s): s for s in symbols}
    out: dict[Any, Any] = {}
    for key, value in values.items():
        symbol = by_name.get(key, key) if isinstance(key, str) else key
        if isinstance(key, sp.Symbol) and key not in symbols:  # the scalar variable s,
            twin = by_name.get(key.name)  # which the derivation holds as a 1 x 1 s
            if isinstance(twin, sp.MatrixSymbol) and twin.shape == (1, 1):
                symbol = twin
        out[symbol] = value
    return out


def bind(
    required: set[Any], optional: set[Any], values: dict[Any, Any]
) -> tuple[dict[Any, Any], dict[Any, int]]:
    """The values of ``required`` (and of those ``optional`` symbols given) as arrays
    and numbers, and the size of every dimension they carry.

    Raises EvaluationError for a missing value, a value that is not numeric, an
    array whose shape does not fit its symbol, or two arrays that disagree on a size.
    """
    dims = _given_dims(values)
    source: dict[Any, Any] = {d: None for d in dims}  # dimension -> symbol it was read from
    missing = sorted(str(s) for s in required if s not in values)
    if missing:
        raise EvaluationError(f"no values for {', '.join(missing)}")
    arrays: dict[Any, Any] = {}
    for symbol in sorted(required | (optional & set(values)), key=str):
        if isinstance(symbol, sp.MatrixSymbol):
            array = _matrix_value(symbol, values[symbol])
            for dim, size in zip(symbol.shape, array.shape, strict=True):
                if isinstance(dim, sp.Symbol) and dim not in dims:
                    dims[dim], source[dim] = size, symbol
            arrays[symbol] = array
        else:
            arrays[symbol] = _scalar_value(symbol, values[symbol])
    for symbol, array in arrays.items():
        if isinstance(symbol, sp.MatrixSymbol):
            _check_shape(symbol, array, dims, source, arrays)
    return arrays, dims


def bound(dim: Any, dims: Mapping[Any, int]) -> Any:
    """A dimension with the known sizes substituted (a SymPy Integer when all are known)."""
    return sp.sympify(dim).xreplace({k: sp.Integer(v) for k, v in dims.items()})


def check_sizes(dims: set[Any], values: Mapping[Any, Any]) -> None:
    """A size given for a dimension is an integer (at least 1 for a dimension
    declared positive): 3.0, 3.5 or -1 were skipped and reported as "not bound"."""
    for d in dims:
        if d not in values:
            continue
        value, least = values[d], 1 if d.is_positive else 0
        whole = isinstance(value, (int, np.integer, sp.Integer)) and not isinstance(value, bool)
        if not whole or int(value) < least:
            raise EvaluationError(
                f"the size {d} was given as {value!r}: a size is an integer of at "
                f"least {least}, e.g. {{{d}: 3}}"
            )


def _given_dims(values: Mapping[Any, Any]) -> dict[Any, int]:
    dims: dict[Any, int] = {}
    for key, value in values.items():
        if isinstance(key, sp.Symbol) and isinstance(value, (int, np.integer, sp.Integer)):
            if isinstance(value, bool) or int(value) < 0:
                continue  # not a size: a scalar's value, checked as such if it is used
            dims[key] = int(value)
    return dims


def _numeric(symbol: Any, value: Any) -> np.ndarray:
    """``value`` as a float (or complex) NumPy array, or an EvaluationError naming ``symbol``."""

    def problem() -> str:  # built only when needed: repr of a large array is slow
        return (
            f"the value given for {symbol} is {_describe(value)}, not a number or a numeric array"
        )

    if value is None or isinstance(value, (str, bytes)):
        raise EvaluationError(problem())
    try:
        array = np.asarray(value)
        if array.dtype.kind not in _NUMERIC_KINDS:  # SymPy numbers, object arrays
            if array.dtype.kind != "O" or any(v is None for v in array.flat):
                raise EvaluationError(problem())
            array = array.astype(complex)
            if not array.imag.any():
                array = array.real
    except (TypeError, ValueError) as exc:
        raise EvaluationError(problem()) from exc
    if np.isrealobj(array):
        return array.astype(float, copy=False)
    return array.astype(complex, copy=False)


def _describe(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _matrix_value(symbol: Any, value: Any) -> np.ndarray:
    array = _numeric(symbol, value)
    rows, cols = symbol.shape
    if array.ndim < 2 and cols == 1:
        array = array.reshape(-1, 1)
    elif array.ndim == 1 and rows == 1:  # a row vector, as lambdify's functions take it
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise EvaluationError(
            f"{symbol} is a matrix of shape ({rows} x {cols}); got an array of shape "
            f"{array.shape}. Pass a 2-D array (a 1-D one only for a vector)."
        )
    return array


def _scalar_value(symbol: Any, value: Any) -> Any:
    array = _numeric(symbol, value)
    if array.size != 1:
        raise EvaluationError(
            f"{symbol} is a scalar; got an array of shape {array.shape}. Pass a number "
            f"(or declare {symbol} as a MatrixSymbol)."
        )
    return array.reshape(()).item()


def _check_shape(
    symbol: Any,
    array: np.ndarray,
    dims: Mapping[Any, int],
    source: Mapping[Any, Any],
    arrays: Mapping[Any, Any],
) -> None:
    for dim, size in zip(symbol.shape, array.shape, strict=True):
        value = bound(dim, dims)
        if value.is_Integer and int(value) != size:
            why = "" if dim.is_Integer else f": {dim} is {int(value)}"
            raise EvaluationError(
                f"{symbol} has shape ({symbol.rows} x {symbol.cols}), but its array has shape "
                f"{array.shape}{why}{_where_from(dim, source, arrays)}"
            )


def _where_from(dim: Any, source: Mapping[Any, Any], arrays: Mapping[Any, Any]) -> str:
    """', from the array of S (3, 3)' for each symbol that fixed a size in ``dim``."""
    reasons = []
    for d in sorted(sp.sympify(dim).free_symbols, key=str):
        if d in source:
            symbol = source[d]
            given = "given directly" if symbol is None else f"read from {symbol}'s array"
            shape = "" if symbol is None else f" of shape {arrays[symbol].shape}"
            reasons.append(f"{d} {given}{shape}")
    return f" ({'; '.join(reasons)})" if reasons else ""
