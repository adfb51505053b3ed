"""evaluate: the NumPy value of any expression matderiv emits.

One evaluator per node type, in one table.  Symbolic dimensions are bound from
the shapes of the arrays given; Kronecker, commutation, identity and diag
factors stay structured (``linops.py``) and are applied, not materialised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from .entry_sums import entry_sum
from .errors import EvaluationError, sympified
from .limits import allows_deep
from .linops import Commutation, Diag, Ident, Kron, LinOp, chain, to_dense
from .nodes import (
    AsScalar,
    CommutationMatrix,
    Diagonal,
    DiagVector,
    Reshape,
    Vec,
)
from .numeric_functions import call_numpy, numpy_lambda
from .numeric_inputs import (
    bind,
    check_sizes,
    check_values,
    normalise_values,
    problem_symbols,
    refuse_complex_kinks,
    refuse_defined,
)
from .numeric_walk import Env, evaluates, run
from .program import needed_definitions, with_where
from .render.unicode import fmt
from .shapes import check_node, dimension_symbols, free_symbols
from .softmax_nodes import LogSumExp, Softmax
from .symmetry import check_values as check_symmetric_values


def _scalar(value: Any) -> Any:
    value = to_dense(value)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise EvaluationError(f"expected a scalar, got an array of shape {value.shape}")
        return value.reshape(()).item()
    return value


def _dense2d(value: Any) -> np.ndarray:
    value = to_dense(value)
    return value if isinstance(value, np.ndarray) else np.array([[value]])


@evaluates(sp.MatrixSymbol, sp.Symbol)
def _symbol(node: Any, args: list[Any], env: Env) -> Any:
    if node in env.values:
        return env.values[node]
    if node in env.dims:
        return env.dims[node]
    raise EvaluationError(f"no value given for {node}")


@evaluates(sp.ImmutableDenseMatrix)
def _explicit(node: Any, args: list[Any], env: Env) -> Any:
    """A matrix written out entry by entry (sp.Matrix([[x[0, 0], 1], ...]))."""
    entries = [np.asarray(a).reshape(()) if np.size(a) == 1 else a for a in args]
    if any(np.ndim(e) for e in entries):
        raise EvaluationError(
            f"the entries of the explicit matrix {fmt(node)} are not all scalars"
        )
    return np.array(entries).reshape(node.shape)


@evaluates(sp.Number, sp.NumberSymbol)
def _number(node: Any, args: list[Any], env: Env) -> Any:
    return complex(node) if node.is_real is False else float(node)


@evaluates(sp.Identity)
def _identity(node: Any, args: list[Any], env: Env) -> Any:
    return Ident(env.dim(node.rows))


@evaluates(sp.ZeroMatrix)
def _zero(node: Any, args: list[Any], env: Env) -> Any:
    return np.zeros((env.dim(node.rows), env.dim(node.cols)))


@evaluates(sp.OneMatrix)
def _ones(node: Any, args: list[Any], env: Env) -> Any:
    return np.ones((env.dim(node.rows), env.dim(node.cols)))


@evaluates(sp.MatMul)
def _matmul(node: Any, args: list[Any], env: Env) -> Any:
    coeff = 1.0
    factors, matrices = [], []
    for arg, value in zip(node.args, args, strict=False):
        if getattr(arg, "is_Matrix", False):
            factors.append(value)
            matrices.append(arg)
        else:
            coeff = coeff * _scalar(value)
    for k in range(len(factors) - 1):
        left, right = _shape2(factors[k]), _shape2(factors[k + 1])
        if left[1] != right[0]:
            raise EvaluationError(
                f"product {fmt(node)}: {fmt(matrices[k])} has the value shape {left} and "
                f"{fmt(matrices[k + 1])} {right}, which do not conform. Hint: check the values' "
                "shapes against the symbols' sizes."
            )
    product = chain(factors)
    if coeff == 1.0:
        return product
    return coeff * to_dense(product)


def _shape2(value: Any) -> tuple[int, int]:
    """The shape of a matrix value (an array, a LinOp, or a number for a 1 x 1)."""
    shape = value.shape if isinstance(value, LinOp) else np.shape(value)
    return (1, 1) if len(shape) == 0 else (shape[0], shape[1] if len(shape) > 1 else 1)


@evaluates(sp.MatAdd)
def _matadd(node: Any, args: list[Any], env: Env) -> Any:
    shapes = {_shape2(a) for a in args}
    if len(shapes) > 1:  # NumPy would broadcast a column over a matrix
        raise EvaluationError(
            f"sum {fmt(node)}: its terms have the value shapes {sorted(shapes)}. Hint: check "
            "the values' shapes against the symbols' sizes."
        )
    return sum(to_dense(a) for a in args[1:]) + to_dense(args[0])


@evaluates(sp.Transpose)
def _transpose(node: Any, args: list[Any], env: Env) -> Any:
    return args[0].T


@evaluates(sp.Inverse)
def _inverse(node: Any, args: list[Any], env: Env) -> Any:
    return _linalg(np.linalg.inv, node, to_dense(args[0]))


def _linalg(fn: Callable[..., Any], node: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except np.linalg.LinAlgError as exc:
        raise EvaluationError(
            f"cannot evaluate {fmt(node)}: {exc} (at the values given, of shape "
            f"{np.shape(args[0])}). Pass values where it is defined (an invertible matrix)."
        ) from exc


@evaluates(sp.MatPow)
def _matpow(node: Any, args: list[Any], env: Env) -> Any:
    base, exponent = _dense2d(args[0]), _scalar(args[1])
    if base.shape == (1, 1):
        return base**exponent
    if float(exponent) != int(exponent):
        raise EvaluationError(
            f"matrix power {node} with non-integer exponent {node.exp}: only integer powers "
            "of matrices larger than 1 x 1 can be evaluated"
        )
    return _linalg(np.linalg.matrix_power, node, base, int(exponent))


@evaluates(sp.Trace)
def _trace(node: Any, args: list[Any], env: Env) -> Any:
    value = _dense2d(args[0])
    if value.shape[0] != value.shape[1]:
        raise EvaluationError(f"trace of the non-square {value.shape} value of {node.arg}")
    return _python_number(np.trace(value))


@evaluates(sp.Determinant)
def _det(node: Any, args: list[Any], env: Env) -> Any:
    return _python_number(np.linalg.det(to_dense(args[0])))


def _python_number(value: Any) -> Any:
    """A NumPy scalar as a Python number: complex for complex inputs (float() would
    drop the imaginary part with only a warning), float otherwise."""
    return complex(value) if np.iscomplexobj(value) else float(value)


@evaluates(sp.KroneckerProduct)
def _kron(node: Any, args: list[Any], env: Env) -> Any:
    op = args[-1]
    for left in reversed(args[:-1]):
        op = Kron(left, op)
    return op


@evaluates(sp.HadamardProduct)
def _hadamard(node: Any, args: list[Any], env: Env) -> Any:
    out = to_dense(args[0])
    for a in args[1:]:
        out = out * to_dense(a)
    return out


@evaluates(sp.HadamardPower)
def _hadamard_power(node: Any, args: list[Any], env: Env) -> Any:
    check_node(node)  # a matrix exponent: refused, named
    return to_dense(args[0]) ** _scalar(args[1])


@evaluates(ElementwiseApplyFunction)
def _elementwise(node: Any, args: list[Any], env: Env) -> Any:
    fn, arg = node.function, to_dense(args[1])
    # a scalar the body uses besides its variable (t ↦ tanh(s·t)): an argument too
    # (bound with the others: evaluate refuses a missing one, "no values for s")
    extra = sorted(fn.expr.free_symbols - set(fn.variables), key=str)
    values = [_scalar(env.values[s]) for s in extra]
    out = call_numpy(numpy_lambda((*fn.variables, *extra), fn.expr, node), node, arg, *values)
    if np.shape(out) != np.shape(arg):  # t ↦ c gives the number c
        out = np.full(np.shape(arg), out, dtype=float)
    return out


@evaluates(Vec)
def _vec(node: Any, args: list[Any], env: Env) -> Any:
    return _dense2d(args[0]).reshape(-1, 1, order="F")


@evaluates(Reshape)
def _reshape(node: Any, args: list[Any], env: Env) -> Any:
    return _dense2d(args[0]).reshape(env.dim(node.shape[0]), env.dim(node.shape[1]), order="F")


@evaluates(DiagVector)
def _diag(node: Any, args: list[Any], env: Env) -> Any:
    return Diag(_dense2d(args[0]))


@evaluates(Diagonal)
def _diagonal(node: Any, args: list[Any], env: Env) -> Any:
    return np.diagonal(_dense2d(args[0])).reshape(-1, 1).copy()


@evaluates(CommutationMatrix)
def _commutation(node: Any, args: list[Any], env: Env) -> Any:
    return Commutation(env.dim(node.m), env.dim(node.n))


@evaluates(Softmax)
def _softmax(node: Any, args: list[Any], env: Env) -> Any:
    x = _dense2d(args[0])
    e = np.exp(x - x.max(axis=node.axis, keepdims=True))
    return e / e.sum(axis=node.axis, keepdims=True)


@evaluates(LogSumExp)
def _logsumexp(node: Any, args: list[Any], env: Env) -> Any:
    x = _dense2d(args[0])
    top = x.max(axis=node.axis, keepdims=True)
    return top + np.log(np.exp(x - top).sum(axis=node.axis, keepdims=True))


@evaluates(AsScalar)
def _as_scalar(node: Any, args: list[Any], env: Env) -> Any:
    return _scalar(args[0])


@evaluates(MatrixElement)
def _element(node: Any, args: list[Any], env: Env) -> Any:
    return _dense2d(args[0])[int(_scalar(args[1])), int(_scalar(args[2]))]


@evaluates(sp.Add)
def _add(node: Any, args: list[Any], env: Env) -> Any:
    return sum(_scalar(a) for a in args)


@evaluates(sp.Mul)
def _mul(node: Any, args: list[Any], env: Env) -> Any:
    out = 1.0
    for a in args:
        out = out * _scalar(a)
    return out


@evaluates(sp.Pow)
def _pow(node: Any, args: list[Any], env: Env) -> Any:
    """As NumPy computes it (1/0 is inf with a RuntimeWarning, as in the generated
    code), not Python's floats, which raise ZeroDivisionError at a pole."""
    base, exp = _scalar(args[0]), _scalar(args[1])
    if isinstance(base, complex) or isinstance(exp, complex):
        return base**exp
    return _python_number(np.power(np.float64(base), np.float64(exp)))


@evaluates(sp.log)
def _log(node: Any, args: list[Any], env: Env) -> Any:
    """log det(M) from LU's log-magnitude (numpy.linalg.slogdet): det(M) under- or
    overflows from n of a few hundred; NaN for det(M) < 0, as log of det would be."""
    if not isinstance(node.args[0], sp.Determinant):
        return _function(node, args, env)
    sign, value = np.linalg.slogdet(to_dense(args[0]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return _python_number(value if sign == 1 else np.log(sign) + value)  # complex: phase


@evaluates(sp.Function, sp.Max, sp.Min)
def _function(node: Any, args: list[Any], env: Env) -> Any:
    dummies = tuple(sp.symbols(f"u0:{len(args)}", cls=sp.Dummy))
    fn = numpy_lambda(dummies, node.func(*dummies), node)
    return call_numpy(fn, node, *(_scalar(a) for a in args))


@evaluates(sp.Sum)
def _entry_sum(node: Any, args: list[Any], env: Env) -> Any:
    """(xᵀ A x)[0, 0], which SymPy wrote as a sum over entries, as that entry."""
    entry = entry_sum(node)
    if entry is None:
        raise EvaluationError(
            f"the sum over entries {node} cannot be evaluated: SymPy wrote an element of a "
            "matrix expression as this sum, and it does not read back as a 1 x 1 matrix. "
            "Hint: use sp.Trace(b.T*x) or the 1 x 1 matrix b.T*x itself for (b.T*x)[0, 0]."
        )
    return run(entry, env)


@allows_deep
def evaluate(
    expr: Any, values: Mapping[Any, Any], *, where: Mapping[Any, Any] | None = None
) -> Any:
    """The NumPy value of ``expr`` (or of a Derivation's result).

    ``values`` maps MatrixSymbols, scalar Symbols (or their names) to arrays or
    numbers; symbolic dimensions are bound from the arrays' shapes, or given
    directly as {n: 3}.  Matrices come back as 2-D arrays, scalars as numbers.
    A program runs first: the definitions of a Derivation made with ``where=``
    (``d.definitions``), or ``where`` ({symbol: definition}) given here.  A
    Derivation made with ``symmetric=`` takes symmetric values for those matrices only.
    """
    check_values(values)
    check_symmetric_values(getattr(expr, "symmetric", ()), values)
    problem = problem_symbols(expr)
    definitions = with_where(getattr(expr, "definitions", None) or {}, where)
    target = getattr(expr, "result", expr)
    expr = sympified(
        target, lambda: f"evaluate takes a Derivation or a SymPy expression, got {target!r}"
    )
    if not definitions:
        values = normalise_values(values, _named(expr, problem))
        refuse_complex_kinks((expr,), values)
        return _evaluate(expr, values, problem)
    refuse_defined(values, definitions)
    needed = needed_definitions([expr], definitions)  # as the generated code runs them
    definitions = {s: definitions[s] for s in needed}
    program = sp.Tuple(expr, *definitions.keys(), *definitions.values())
    values = normalise_values(values, _named(program, problem))  # once, not per step
    refuse_complex_kinks((program,), values)
    checked = problem  # the problem's inputs bound and checked once, not per step:
    sizes: dict[Any, int] = {}  # (quadratic in the steps); the sizes they bind are
    for symbol, definition in definitions.items():  # kept (Ḃ := K_{n,n} has no n)
        values[symbol] = _evaluate(definition, values, checked, sizes)
        values.update(sizes)
        checked = set()
    return _evaluate(expr, values, problem)


def _named(expr: Any, problem: set[Any]) -> set[Any]:
    """The symbols values may name: those of ``expr``, its sizes and the problem's."""
    return free_symbols(expr) | dimension_symbols(expr, *problem) | problem


def _evaluate(
    expr: Any, values: dict[Any, Any], problem: set[Any], sizes: dict[Any, int] | None = None
) -> Any:
    """The value of ``expr`` at ``values`` (keyed by symbols: ``normalise_values``);
    arrays given for the ``problem``'s symbols bind dimensions (and are checked) even
    where ``expr`` does not use them.  ``sizes`` collects the dimensions bound."""
    free = free_symbols(expr)
    dim_symbols = dimension_symbols(expr, *problem)
    symbols = {s for s in free if isinstance(s, sp.MatrixSymbol)}
    scalar_symbols = {s for s in free if isinstance(s, sp.Symbol)} - dim_symbols
    check_sizes(dim_symbols, values)
    arrays, dims = bind(symbols | scalar_symbols, problem - symbols, values)
    if sizes is not None:
        sizes.update(dims)
    value = run(expr, Env(arrays, dims))
    value = to_dense(value) if isinstance(value, LinOp) else value
    if getattr(expr, "is_Matrix", False):
        return _dense2d(value)
    return _scalar(value)
