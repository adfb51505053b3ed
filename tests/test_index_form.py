"""Index notation (matderiv.index_form), checked by evaluating it.

Every line ∂u[a,b]/∂X[i,j] = rhs is an ordinary SymPy expression of sums,
matrix entries and Kronecker deltas; ``_value`` evaluates it entry by entry at
random inputs and the tests compare it with central finite differences of the
forward pass (and the result line also with the matrix-form ``d.result``).
"""

from __future__ import annotations

import functools
import itertools
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import sympy as sp

from matderiv import (
    derive,
    evaluate,
    gradient,
    hessian,
    hvp,
    jacobian,
    logsumexp,
    norm,
    softmax,
    vec,
)
from matderiv.examples import rnn_loss
from matderiv.index_form import IndexLine, index_lines, rename_bound_indices
from matderiv.render.unicode import fmt

m, n = sp.symbols("m n", integer=True, positive=True)
RNN_DIMS = sorted(rnn_loss().dims, key=str)  # n_h, n_i
SIZES = {m: 2, n: 3, **dict(zip(RNN_DIMS, (3, 2), strict=True))}
X = sp.MatrixSymbol("X", n, n)
R = sp.MatrixSymbol("R", m, n)  # a rectangular variable
A, S = (sp.MatrixSymbol(s, n, n) for s in "AS")
C = sp.MatrixSymbol("C", m, m)
x, w = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("w", n, 1)
u = sp.MatrixSymbol("u", m, 1)
K = sp.MatrixSymbol("K", m, m)
G = sp.MatrixSymbol("G", n * m, m * m)
k = sp.MatrixSymbol("k", n, n)  # named like a summation index
STEP = 1e-6


def _tr(e: Any) -> Any:
    return sp.Trace(e)


# (id, expression, variable): scalars (reverse mode) and matrices (forward mode).
BATTERY: list[tuple[str, Any, Any]] = [
    ("tr_inv", _tr(X.I), X),  # Cookbook (124)
    ("tr_inv_S", _tr(X.I * S), X),  # Cookbook (125)
    ("tr_XAXtB", _tr(R * A * R.T * C), R),  # Cookbook (116)
    ("tr_frobenius", _tr(R.T * R), R),
    ("tr_power", _tr(X**3), X),  # Cookbook (100)
    ("quadratic", x.T * A * x, x),  # Cookbook (81)
    ("bilinear", u.T * R * w, R),  # Cookbook (70)
    ("logdet", sp.log(sp.Determinant(X)), X),  # Cookbook (57)
    ("det", sp.Determinant(X), X),  # Cookbook (49)
    ("tr_times_tr", _tr(X) * _tr(X), X),
    ("tr_times_tr_AX", _tr(X) * _tr(A * X), X),
    ("exp_tr", sp.exp(_tr(A * X)), X),
    ("kronecker", _tr(sp.KroneckerProduct(R, K) * G), R),  # Magnus & Neudecker
    ("kronecker_self", _tr(sp.KroneckerProduct(R, R.T)), R),  # Mod/floor indices
    ("hadamard", u.T * sp.HadamardProduct(R, R) * w, R),
    ("elementwise", u.T * (R * w).applyfunc(sp.tanh), w),
    ("elementwise_matrix", _tr(C * (R * A).applyfunc(sp.exp) * R.T), R),
    ("index_named_k", _tr(X.I * k * X), X),
    # f = v₃ + v₄ of two 1 x 1 nodes: df = dv₃ + dv₄ held AsScalar(dv₄), which the
    # lines took as a constant ((∂f/∂v₄) = ∂dv₄/∂dv₄)
    ("ridge", norm(R * w - u) ** 2 + 3 * norm(w) ** 2, w),
    ("two_quadratics", w.T * w + (R * w).T * (R * w), w),
    ("jac_Ax", A * x, x),
    ("jac_tanh_Rw", (R * w).applyfunc(sp.tanh), R),
    ("jac_inv", X.I, X),
    ("jac_XAX", X * A * X, X),
    ("jac_kronecker", sp.KroneckerProduct(R, u), R),
    ("jac_hadamard", sp.HadamardProduct(X, X * A), X),
    # SymPy's summation (Gosper) raised TypeError on the entry of a product of softmaxes
    ("softmax_outer", _tr(softmax(x) * softmax(x).T * A), x),
]
LAYOUTS = ("numerator", "denominator")


def _inputs(d: Any, rng: np.random.Generator, shift: float = 2.0) -> dict[str, Any]:
    """Random values for the inputs of ``d`` (the matrix symbols its steps use that
    no step defines: hvp's direction V, a where= program's inputs), at SIZES;
    square ones shifted by ``shift`` I, so that X is well conditioned."""
    defined = {step.lhs for step in d.steps_of_kind("define")}
    symbols = d.of.atoms(sp.MatrixSymbol).union(
        *(sp.sympify(step.expr).atoms(sp.MatrixSymbol) for step in d.steps_of_kind("define"))
    )
    values: dict[str, Any] = {}
    for symbol in sorted((s for s in symbols if s.name not in defined), key=str):
        rows, cols = (int(sp.sympify(d).subs(SIZES)) for d in symbol.shape)
        value = rng.normal(size=(rows, cols)) * 0.5
        if rows == cols and rows > 1:
            value += shift * np.eye(rows)
        values[symbol.name] = value
    return values


def _forward(d: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every named intermediate of ``d`` evaluated, in order, and the
    adjoints a where= program named (hbar_t, after the intermediates they use)."""
    return _evaluated([s for s in d.steps if s.kind in ("define", "program")], dict(values))


def _evaluated(steps: list[Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with ``steps`` evaluated in order, but each after the names it uses
    (an intermediate may be listed before one it is written with: v₄ := −uᵀv₅)."""
    pending = list(steps)
    while pending:
        ready = [
            s
            for s in pending
            if _names_in(s.expr).isdisjoint(
                t.lhs for t in pending if t is not s and t.lhs != s.lhs
            )
        ]
        assert ready, [s.lhs for s in pending]
        for step in pending:
            if step in ready:
                values[step.lhs] = evaluate(_sized(step.expr), values)
        pending = [s for s in pending if s not in ready]
    return values


def _names_in(expr: Any) -> set[str]:
    """The names of the symbols and matrix symbols ``expr`` is written with."""
    expr = sp.sympify(expr)
    return {str(a) for a in expr.free_symbols | expr.atoms(sp.MatrixSymbol)}


def _sized(expr: Any) -> Any:
    """``expr`` at SIZES (a scalar expression may have no arrays to bind them from)."""
    return expr.subs(SIZES) if isinstance(expr, sp.Basic) else expr


def _value(
    expr: Any, values: dict[str, Any], env: dict[str, int], cache: dict | None = None
) -> float:
    """The number an index-notation expression stands for, read as it prints.

    Sums loop over their (concrete) ranges, entries index the evaluated parent,
    deltas compare; any other subexpression free of indices goes to ``evaluate``.
    Indices are bound by name, as a reader binds them: a summation index that
    prints like a free index i captures it here too.  ``cache``: for one ``values``,
    the evaluated parents and the expressions compiled to closures of the indices.
    """
    cache = {} if cache is None else cache
    return _compiled(expr, values, frozenset(env), cache)(env)


Compiled = Callable[[dict[str, int]], float]


def _compiled(expr: Any, values: dict[str, Any], scope: frozenset[str], cache: dict) -> Compiled:
    """``expr`` as a function of the indices named in ``scope`` (compiled once)."""
    key = ("compiled", expr, scope)
    if key not in cache:
        cache[key] = _compile(expr, values, scope, cache)
    return cache[key]


def _compile(expr: Any, values: dict[str, Any], scope: frozenset[str], cache: dict) -> Compiled:
    if isinstance(expr, sp.Derivative):  # ∂u[r,c]/∂X[i,j]: from cache["tangent", u]
        top, var = expr.expr, expr.variables[0]
        jac = cache["tangent", str(getattr(top, "parent", top))]
        r, c = (_index_fn(top.i), _index_fn(top.j)) if hasattr(top, "parent") else (_zero, _zero)
        i, j = _index_fn(var.i), _index_fn(var.j)
        return lambda env: float(jac[r(env), c(env), i(env), j(env)])
    if isinstance(expr, sp.Sum):
        (var, low, high), *rest = expr.limits
        lo, hi, name = _index_fn(low), _index_fn(high), var.name
        inner = sp.Sum(expr.function, *rest) if rest else expr.function
        body = _compiled(inner, values, scope | {name}, cache)
        return lambda env: sum(body({**env, name: v}) for v in range(lo(env), hi(env) + 1))
    if isinstance(expr, sp.matrices.expressions.matexpr.MatrixElement):
        if ("parent", expr.parent) not in cache:
            parent = np.atleast_2d(evaluate(_sized(expr.parent), values))
            cache["parent", expr.parent] = parent
        parent, row, col = cache["parent", expr.parent], _index_fn(expr.i), _index_fn(expr.j)
        return lambda env: float(parent[row(env), col(env)])
    if isinstance(expr, sp.KroneckerDelta):
        left, right = _index_fn(expr.args[0]), _index_fn(expr.args[1])
        return lambda env: float(left(env) == right(env))
    if not _names(expr) & scope and not expr.has(sp.Sum):  # evaluate has no Σ
        constant = float(evaluate(_sized(expr), values))
        return lambda env: constant
    if isinstance(expr, sp.Symbol):
        name = expr.name
        return lambda env: float(env[name])
    # deltas first: a zero one spares the other factors of a product (sums over a
    # Kronecker product's Mod/floor indices are mostly zeros)
    args = sorted(expr.args, key=lambda a: not isinstance(a, sp.KroneckerDelta))
    parts = [_compiled(a, values, scope, cache) for a in args]
    if isinstance(expr, sp.Mul):
        return functools.partial(_product, parts)
    if isinstance(expr, sp.Add):
        return lambda env: sum(part(env) for part in parts)
    return lambda env: float(expr.func(*(sp.Float(part(env)) for part in parts)))


def _zero(env: dict[str, int]) -> int:
    return 0


def _product(parts: list[Compiled], env: dict[str, int]) -> float:
    total = 1.0
    for part in parts:
        total *= part(env)
        if total == 0.0:
            break
    return total


@functools.cache
def _index_fn(expr: Any) -> Callable[[dict[str, int]], int]:
    """An index expression (Mod, floor, sizes) as a function of the indices, by name;
    exact (not lambdify: floor(k/3) must not become floor(0.333...·k)), memoised."""
    expr = _sized(sp.sympify(expr))
    symbols = sorted(expr.free_symbols, key=str)
    names = [s.name for s in symbols]
    table: dict[tuple[int, ...], int] = {}

    def index(env: dict[str, int]) -> int:
        key = tuple(env[name] for name in names)
        if key not in table:
            table[key] = int(expr.xreplace(dict(zip(symbols, map(sp.Integer, key), strict=True))))
        return table[key]

    return index


def _names(expr: Any) -> set[str]:
    """The names of the symbols in ``expr``, with the indices of ∂u/∂X[i,j] (which
    SymPy counts as bound by the derivative)."""
    symbols = expr.free_symbols | {
        s for dx in expr.atoms(sp.Derivative) for v in dx.variables for s in v.free_symbols
    }
    return {s.name for s in symbols if isinstance(s, sp.Symbol)}


def _index(expr: Any, env: dict[str, int]) -> int:
    expr = sp.sympify(expr)
    bound = {
        s: sp.Integer(env[s.name])
        for s in expr.free_symbols
        if isinstance(s, sp.Symbol) and s.name in env
    }
    return int(expr.xreplace(bound).subs(SIZES))


def _lhs_parts(line: IndexLine) -> tuple[Any, Any]:
    """∂top/∂var[i,j] → (top, var[i,j]): top is f or u[a,b]."""
    return line.lhs.expr, line.lhs.variables[0]


def _assignments(*elements: Any) -> Iterator[dict[str, int]]:
    """Every assignment of the free indices of these entries, at SIZES."""
    ranges: dict[str, range] = {}
    for element in elements:
        if not isinstance(element, sp.matrices.expressions.matexpr.MatrixElement):
            continue
        for index, size in zip((element.i, element.j), element.parent.shape, strict=True):
            if isinstance(index, sp.Symbol):
                ranges[index.name] = range(int(sp.sympify(size).subs(SIZES)))
    keys = list(ranges)
    for combo in itertools.product(*(ranges[key] for key in keys)):
        yield dict(zip(keys, combo, strict=True))


def _finite_difference(
    fn: Callable[[dict[str, Any]], float], values: dict[str, Any], name: str, at: tuple
) -> float:
    plus, minus = dict(values), dict(values)
    plus[name] = values[name].copy()
    minus[name] = values[name].copy()
    plus[name][at] += STEP
    minus[name][at] -= STEP
    return (fn(plus) - fn(minus)) / (2 * STEP)


def _entry_of(value: Any, row: int, col: int) -> float:
    return float(np.atleast_2d(value)[row, col])


@functools.cache
def _derived(expr: Any, var: Any, layout: str) -> tuple[Any, tuple[IndexLine, ...]]:
    """derive and index_lines, once per battery row (index_lines takes seconds)."""
    d = derive(expr, var, layout=layout)
    return d, tuple(index_lines(d))


def _adjoint_name(symbol: Any) -> tuple[str, str] | None:
    """(f, u) for the adjoint ∂f/∂u, by its name; None for any other symbol."""
    name = getattr(symbol, "name", "")
    if not (name.startswith("∂") and "/∂" in name):
        return None
    f, node = name[1:].split("/∂", 1)
    return f, node


def _true_adjoints(d: Any, rhs: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The adjoints ∂f/∂u that ``rhs`` refers to, by central differences of f with
    u's entry moved (what each of them stands for, whatever the lines claim)."""
    adjoints = {}
    for symbol in rhs.atoms(sp.MatrixSymbol):
        named = _adjoint_name(symbol)
        if named is not None:
            adjoints[symbol.name] = _fd_adjoint(d, values, *named)
    return adjoints


def _fd_adjoint(d: Any, values: dict[str, Any], root: str, node: str) -> np.ndarray:
    """∂root/∂node by central differences, shaped like node."""
    shape = np.atleast_2d(np.asarray(values[node], dtype=float)).shape
    out = np.empty(shape)
    for at in np.ndindex(shape):
        up = _perturbed_loss(d, values, node, at, STEP, root)
        down = _perturbed_loss(d, values, node, at, -STEP, root)
        out[at] = (up - down) / (2 * STEP)
    return out


def _variable_name(d: Any) -> str:
    """X for d.wrt = X, vec(X) or vec(Xᵀ)."""
    var = d.wrt
    while not isinstance(var, sp.MatrixSymbol):
        var = var.args[0]
    return var.name


def _tangents(d: Any, base: dict[str, Any]) -> dict[tuple[str, str], np.ndarray]:
    """Central differences ∂u[r,c]/∂X[i,j] of every intermediate u, as arrays
    indexed [r, c, i, j]: what forward-mode lines refer to by name."""
    name = _variable_name(d)
    steps = d.steps_of_kind("define")
    columns: dict[str, dict[tuple, np.ndarray]] = {step.lhs: {} for step in steps}
    for at in np.ndindex(base[name].shape):
        plus, minus = dict(base), dict(base)
        plus[name], minus[name] = base[name].copy(), base[name].copy()
        plus[name][at] += STEP
        minus[name][at] -= STEP
        up, down = _forward(d, plus), _forward(d, minus)
        for step in steps:
            change = np.atleast_2d(up[step.lhs]) - np.atleast_2d(down[step.lhs])
            columns[step.lhs][at] = change / (2 * STEP)
    jacobians = {}
    for node, by_entry in columns.items():
        first = next(iter(by_entry.values()))
        jac = np.empty((*first.shape, *base[name].shape))
        for (i, j), column in by_entry.items():
            jac[:, :, i, j] = column
        jacobians["tangent", node] = jac
    return jacobians


def _check_lines(d: Any, lines: Any, seed: int = 0, shift: float = 2.0) -> int:
    """Every chain and result line against finite differences, as it is written; the
    count checked.  The adjoints ∂f/∂u a line refers to take their true values (central
    differences of f), and a line (∂f/∂u)[a,b] = ... is compared with the true
    adjoint of u.  Lines that refer to ∂u[k]/∂X[i,j] (forward mode, step by step)
    read it from central differences too."""
    rng = np.random.default_rng(seed)
    base = _inputs(d, rng, shift)
    forward = _forward(d, base)
    stepwise = any(line.rhs.has(sp.Derivative) for line in lines)
    tangents = _tangents(d, base) if stepwise else {}
    checked = 0
    for line in lines:
        if line.kind not in ("chain", "result"):
            continue
        values, cache = {**forward, **_true_adjoints(d, line.rhs, forward)}, dict(tangents)
        if not isinstance(line.lhs, sp.Derivative):  # (∂f/∂u)[a,b]: u's true adjoint
            want = _fd_adjoint(d, forward, *_adjoint_name(line.lhs.parent))
            for env in _assignments(line.lhs):
                at = (_index(line.lhs.i, env), _index(line.lhs.j, env))
                got = _value(line.rhs, values, env, cache)
                assert got == pytest.approx(want[at], rel=1e-5, abs=1e-6), (str(line.lhs), env)
                checked += 1
            continue
        top, element = _lhs_parts(line)
        name = str(getattr(top, "parent", top))
        for env in _assignments(top, element):
            got = _value(line.rhs, values, env, cache)
            at = (_index(element.i, env), _index(element.j, env))
            out = (_index(top.i, env), _index(top.j, env)) if hasattr(top, "parent") else (0, 0)
            fd = _finite_difference(
                lambda v, o=out, f=name: _entry_of(_forward(d, v)[f], *o),
                base,
                _variable_name(d),
                at,
            )
            assert got == pytest.approx(fd, rel=1e-5, abs=1e-6), (str(line.lhs), env)
            checked += 1
    return checked


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("expr", "var"), [row[1:] for row in BATTERY], ids=[r[0] for r in BATTERY]
)
def test_index_lines_match_finite_differences(expr: Any, var: Any, layout: str) -> None:
    assert _check_lines(*_derived(expr, var, layout)) > 0


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("expr", "var"), [row[1:] for row in BATTERY], ids=[r[0] for r in BATTERY]
)
def test_result_line_matches_the_matrix_form(expr: Any, var: Any, layout: str) -> None:
    """∂u[a,b]/∂X[i,j] is the entry of vec-Jacobian d.result at vec(a,b), vec(i,j)."""
    _check_result_line(*_derived(expr, var, layout))


def _check_result_line(d: Any, lines: Any, shift: float = 2.0) -> None:
    """The last result line (a second-order derivation has one per phase) against
    the matrix form ``d.result``, which may use a where= program's definitions."""
    inputs = _inputs(d, np.random.default_rng(1), shift)
    values = _forward(d, inputs)
    jac = np.atleast_2d(
        evaluate(d, inputs) if d.definitions else evaluate(_sized(d.result), values)
    )
    result = [line for line in lines if line.kind == "result"][-1]
    top, element = _lhs_parts(result)
    # a forward-mode line, step by step, reads ∂u[k]/∂X[i,j] from central differences
    stepwise = result.rhs.has(sp.Derivative)
    cache: dict = _tangents(d, inputs) if stepwise else {}
    tolerance = 1e-6 if stepwise else 1e-9
    var_rows = _index(element.parent.shape[0], {})
    for env in _assignments(top, element):
        row, col = _index(element.i, env), _index(element.j, env)
        if hasattr(top, "parent"):
            out_rows = int(sp.sympify(top.parent.shape[0]).subs(SIZES))
            out = _index(top.i, env) + out_rows * _index(top.j, env)
            numerator = (out, row + var_rows * col)
        elif isinstance(d.wrt, sp.MatrixSymbol):  # shaped like Xᵀ (numerator) or X
            numerator = (col, row)
        else:  # a scalar's gradient by vec(X): a row (numerator) or a column
            numerator = (0, row + var_rows * col)
        expected = jac[numerator] if d.layout == "numerator" else jac[numerator[::-1]]
        assert _value(result.rhs, values, env, cache) == pytest.approx(
            expected, rel=tolerance, abs=tolerance * 1e-3
        )


def _bound_names(expr: Any, enclosing: frozenset[str] = frozenset()) -> Iterator[tuple]:
    """(index name, names it must differ from) for every summation index."""
    if isinstance(expr, sp.Sum):
        names = [str(limit[0]) for limit in expr.limits]
        assert len(set(names)) == len(names), names
        for name in names:
            yield name, enclosing
        yield from _bound_names(expr.function, enclosing | set(names))
        return
    for arg in getattr(expr, "args", ()):
        yield from _bound_names(arg, enclosing)


FREE_INDEX_NAMES = {"i", "j", "a", "b"}


def _free_names(line: IndexLine) -> set[str]:
    atoms = line.lhs.atoms(sp.Symbol, sp.MatrixSymbol) if isinstance(line.lhs, sp.Basic) else set()
    atoms |= line.rhs.free_symbols | line.rhs.atoms(sp.MatrixSymbol)
    return {getattr(s, "name", str(s)) for s in atoms} | FREE_INDEX_NAMES


@pytest.mark.parametrize(
    ("expr", "var"), [row[1:] for row in BATTERY], ids=[r[0] for r in BATTERY]
)
def test_summation_indices_are_fresh(expr: Any, var: Any) -> None:
    """No summation index is named like a free index, a symbol or an enclosing index,
    and every sum uses its index."""
    for line in _derived(expr, var, "denominator")[1]:
        assert not _idle_sums(line.rhs), line
        free = _free_names(line)
        for name, enclosing in _bound_names(line.rhs):
            assert name not in free, (str(line.rhs), name)
            assert name not in enclosing, (str(line.rhs), name)


def test_renaming_keeps_factors_of_one_term_apart() -> None:
    """Σ_k a[k] · Σ_l b[l]: sums multiplied together bind different names; the
    terms of an Add may reuse them; an index SymPy bound as a plain i is renamed."""
    a, b = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("b", n, 1)
    k1, k2, k3 = (sp.Dummy("k", integer=True) for _ in range(3))
    plain_i = sp.Symbol("i")  # as Trace's rewrite binds it
    i = sp.Symbol("i", integer=True, nonnegative=True)
    product = sp.Sum(a[k1, 0], (k1, 0, n - 1)) * sp.Sum(b[k2, 0] * a[i, 0], (k2, 0, n - 1))
    expr = product + sp.Sum(a[plain_i, 0] * b[k3, 0], (plain_i, 0, n - 1), (k3, 0, n - 1))
    renamed = rename_bound_indices(expr)
    factors = [str(s.variables[0]) for s in sp.Mul.make_args(renamed.args[0]) if s.has(sp.Sum)]
    assert len(set(factors)) == 2 and not set(factors) & FREE_INDEX_NAMES
    line = IndexLine("result", sp.Symbol("f"), renamed)
    for name, enclosing in _bound_names(renamed):
        assert name not in _free_names(line) and name not in enclosing
    rng = np.random.default_rng(2)
    values = {"a": rng.normal(size=(3, 1)), "b": rng.normal(size=(3, 1))}
    for row in range(3):
        expected = values["a"].sum() * values["b"].sum() * values["a"][row, 0]
        expected += values["a"].sum() * values["b"].sum()
        assert _value(renamed, values, {"i": row}) == pytest.approx(expected)


def test_trace_of_inverse_reads_as_the_cookbook() -> None:
    """d tr(X⁻¹)/dX[i,j] = −Σ_k (X⁻¹)[k,i] (X⁻¹)[j,k]  (Cookbook (124)); not Σ_i."""
    d = derive(_tr(X.I), X, layout="denominator")
    text = d.to_index_notation()
    result = text.splitlines()[-1]
    assert "Σ_i" not in result and "Σ_j" not in result
    (line,) = (line for line in index_lines(d) if line.kind == "result")
    (total,) = line.rhs.atoms(sp.Sum)
    (index,) = total.variables
    assert index.name not in FREE_INDEX_NAMES


def test_scalar_intermediates_have_nonzero_chain_lines() -> None:
    """f = tr(X)²: ∂f/∂X[i,j] = (∂f/∂v₁) δ(i,j) through v₁ = tr(X), not 0."""
    d = derive(_tr(X) * _tr(X), X, layout="denominator")
    chain = [line for line in index_lines(d) if line.kind == "chain"]
    assert chain and all(line.rhs != 0 for line in chain)
    assert _check_lines(d, index_lines(d)) > 0


def test_the_rnn_loss_lines_match_finite_differences() -> None:
    ex = rnn_loss()
    d = derive(ex.expr, ex.wrt, layout="denominator", names=ex.names)
    assert _check_lines(d, index_lines(d)) > 0


def _logistic() -> Any:
    """𝟏ᵀ log(1 + exp(−u∘(R w))): the logistic loss of labels u."""
    margins = (-sp.HadamardProduct(u, R * w)).applyfunc(sp.exp)
    return sp.OneMatrix(1, m) * (sp.OneMatrix(m, 1) + margins).applyfunc(sp.log)


W1, W2 = sp.MatrixSymbol("W_1", n, m), sp.MatrixSymbol("W_2", m, m)
_HIDDEN = W2.T * (W1.T * x).applyfunc(sp.tanh)  # a 2-layer MLP
# Scalars whose intermediates are used more than once (u := v₂ᵀ beside v₂ in ‖r‖²;
# x in xᵀAx): each used to have chain lines ∂f/∂X = Σ_k (∂f/∂u)[k] ∂u[k]/∂X that
# left out the other paths (half the gradient of ‖Ax − b‖²).
SHARED: list[tuple[str, Any, Any]] = [
    ("least_squares", norm(R * w - u) ** 2, w),
    ("quadratic", x.T * A * x, x),
    ("logistic", _logistic(), w),
    ("mlp_squared_W1", (_HIDDEN - u).T * (_HIDDEN - u), W1),
    ("mlp_squared_W2", (_HIDDEN - u).T * (_HIDDEN - u), W2),
    ("mlp_logsumexp", logsumexp(_HIDDEN) - u.T * _HIDDEN, W1),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("expr", "var"), [r[1:] for r in SHARED], ids=[r[0] for r in SHARED])
def test_scalar_chain_lines_hold_with_shared_intermediates(
    expr: Any, var: Any, layout: str
) -> None:
    """Each chain line, evaluated with the true adjoints, is the derivative it names:
    (∂f/∂u)[a,b] sums over every node using u, as the matrix chain steps do."""
    d, lines = _derived(expr, var, layout)
    chain = [line for line in lines if line.kind == "chain"]
    adjoints = {line.lhs.parent.name for line in chain if not isinstance(line.lhs, sp.Derivative)}
    root = d.steps_of_kind("define")[-1].lhs
    inner = {s.lhs for s in d.steps_of_kind("define")} - {root}
    assert {f"∂{root}/∂{node}" for node in inner} <= adjoints
    assert _check_lines(d, lines) > 0
    _check_result_line(d, lines)


def test_least_squares_reads_as_the_reviewer_saw_it() -> None:
    """‖Ax − b‖² by x: the line through v₃ = v₂ᵀ said ∂f/∂x[i] = Σ_k A[k,i]·(∂f/∂v₃)[k],
    half the gradient (v₂ reaches f beside v₃).  The residual's transpose is no node
    of its own now (v₂ᵀ), and each line through one node is the whole gradient."""
    text = _derived(norm(R * w - u) ** 2, w, "denominator")[0].to_index_notation()
    assert "(∂f/∂v₂)[a] = 2·v₂[a]·(∂f/∂v₃)" in text, text
    assert "∂f/∂w[i] = Σ_k R[k,i]·(∂f/∂v₂)[k]   (through v₂, on every path" in text, text
    assert "∂f/∂w[i] = 2·Σ_k R[k,i]·v₂[k]" in text, text


# Second order: hessian(f, X) and hvp(f, X) are a gradient followed by its Jacobian
# (or by the gradient of ⟨∇f, V⟩); each phase is written out and checked.
SECOND_ORDER: list[tuple[str, Any, Any]] = [
    ("quadratic", x.T * A * x, x),  # Cookbook (81): H = A + Aᵀ
    ("logdet", sp.log(sp.Determinant(X)), X),  # Cookbook (57)
    ("tr_inv", _tr(X.I), X),
    ("tr_XAXtB", _tr(R * A * R.T * C), R),
    ("elementwise", u.T * (R * w).applyfunc(sp.tanh), R),
    ("kronecker_self", _tr(sp.KroneckerProduct(R, R.T)), R),
]
SECOND_IDS = [row[0] for row in SECOND_ORDER]


@functools.cache
def _second(kind: str, expr: Any, var: Any) -> tuple[Any, tuple[IndexLine, ...]]:
    d = {"hessian": hessian, "hvp": hvp}[kind](expr, var)
    return d, tuple(index_lines(d))


@pytest.mark.parametrize(("expr", "var"), [r[1:] for r in SECOND_ORDER], ids=SECOND_IDS)
def test_hvp_lines_match_finite_differences_and_the_matrix_form(expr: Any, var: Any) -> None:
    """hvp's index notation used to raise KeyError: 'g' (the heading g := ∇f has
    no differential); the result line is H vec(V) entry by entry."""
    d, lines = _second("hvp", expr, var)
    assert [line.kind for line in lines].count("result") == 2  # ∇f, then ∂⟨∇f, V⟩/∂X
    assert _check_lines(d, lines) > 0
    _check_result_line(d, lines)


@pytest.mark.parametrize(("expr", "var"), [r[1:] for r in SECOND_ORDER], ids=SECOND_IDS)
def test_hessian_lines_match_finite_differences_and_the_matrix_form(expr: Any, var: Any) -> None:
    d, lines = _second("hessian", expr, var)
    results = [line for line in lines if line.kind == "result"]
    assert len(results) == 2 and "g" in str(results[-1].lhs)  # ∂g[a,b]/∂X[i,j]
    # every line of the small ones; the Kronecker Hessian's (3006 entries) takes
    # half a minute, so only its result lines
    checked = results if expr.has(sp.KroneckerProduct) else lines
    assert _check_lines(d, checked) > 0
    _check_result_line(d, lines)


def test_kronecker_index_notation_renders() -> None:
    """tr(X ⊗ Xᵀ): SymPy's delta summation raised AttributeError ('Tuple' object has
    no attribute 'diff') on the Mod/floor indices of the Kronecker entries."""
    text = derive(_tr(sp.KroneckerProduct(R, R.T)), R, layout="denominator").to_index_notation()
    assert "∂f/∂R[i,j]" in text.splitlines()[-1]


def _rnn_where(steps: int) -> tuple[Any, dict[Any, Any]]:
    """L = Σ_t cᵀ h_t and the program h_t = tanh(Wᵀ x_t + Uᵀ h_{t-1})."""
    W, U = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("U", n, n)
    c, previous = sp.MatrixSymbol("c", n, 1), sp.MatrixSymbol("h_0", n, 1)
    where = {}
    for t in range(1, steps + 1):
        h = sp.MatrixSymbol(f"h_{t}", n, 1)
        x_t = sp.MatrixSymbol(f"x_{t}", m, 1)
        where[h] = (W.T * x_t + U.T * previous).applyfunc(sp.tanh)
        previous = h
    return sp.MatAdd(*(c.T * h for h in where)), where


def _rnn_program(steps: int, by: str = "U", layout: str = "denominator") -> Any:
    """∂L/∂U (or ∂L/∂W) of the where= RNN."""
    loss, where = _rnn_where(steps)
    var = {"U": sp.MatrixSymbol("U", n, n), "W": sp.MatrixSymbol("W", m, n)}[by]
    return derive(loss, var, layout=layout, where=where)


def _perturbed_loss(
    d: Any, values: dict[str, Any], node: str, at: tuple, step: float, root: str = ""
) -> float:
    """The loss (``root``, else the last intermediate) with ``node``'s entry ``at``
    moved by ``step`` (the nodes before it held, those after it recomputed): its
    difference quotient is the adjoint ∂f/∂node."""
    defines = d.steps_of_kind("define")
    names = [s.lhs for s in defines]
    values = dict(values)
    values[node] = np.atleast_2d(np.asarray(values[node], dtype=float)).copy()
    values[node][at] += step
    # the last definition of node before the root's (a second-order derivation's
    # phases may both define v_1, and an HVP's phase 2 redefines its heading g)
    root = root or names[-1]
    end = len(names) - 1 - names[::-1].index(root)
    start = max(k for k in range(end) if names[k] == node)
    values = _evaluated(list(defines[start + 1 : end + 1]), values)
    return float(np.atleast_2d(values[root])[0, 0])


def _check_adjoint_lines(d: Any, lines: Any, shift: float = 2.0) -> int:
    """Each line (∂f/∂u)[a,b] = ... and h̄_t[a] = ... of a program's reverse mode
    against the finite-difference adjoint of u (of h_t); the count of entries checked."""
    values = _forward(d, _inputs(d, np.random.default_rng(0), shift))
    cache: dict = {}
    checked = 0
    for line in lines:
        parent = line.lhs.parent
        if line.kind == "program":
            node = parent.name.replace("hbar_", "h_")  # h̄_t is the adjoint of h_t
        else:
            node = parent.name.split("/∂", 1)[1]
        for env in _assignments(line.lhs):
            at = (_index(line.lhs.i, env), _index(line.lhs.j, env))
            fd = (
                _perturbed_loss(d, values, node, at, STEP)
                - _perturbed_loss(d, values, node, at, -STEP)
            ) / (2 * STEP)
            got = _value(line.rhs, values, env, cache)
            assert got == pytest.approx(fd, rel=1e-5, abs=1e-6), (str(line.lhs), env)
            checked += 1
    return checked


def test_index_notation_of_a_long_recurrence() -> None:
    """T = 8 steps of a where= RNN, by U.  Index notation used to take ~12x longer
    per step (0.2 s at T = 1, 30 s at T = 3: SymPy sought closed forms of every
    nested sum and differentiated them with sp.diff); T = 8 never finished.  It is
    written in reverse mode with the named adjoints h̄_t, as BPTT is by hand."""
    d = _rnn_program(8)
    lines = index_lines(d)
    _check_result_line(d, lines, shift=0.0)  # U unshifted: tanh stays unsaturated
    through_h = [line for line in lines if line.kind == "chain" and "/∂h_" in str(line.lhs)]
    program = [line for line in lines if line.kind == "program"]
    assert (len(through_h), len(program)) == (8, 7)
    assert _check_adjoint_lines(d, [*through_h, *program], shift=0.0) == 15 * SIZES[n]
    results = [line for line in lines if line.kind == "result"]
    assert _check_lines(d, results, shift=0.0) == SIZES[n] ** 2


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("by", ["U", "W"])
def test_every_line_of_a_program_matches_finite_differences(by: str, layout: str) -> None:
    """Every intermediate's adjoint, every h̄_t and the result, in both layouts (the
    numerator result is shaped like Wᵀ: its index form reads the transpose)."""
    d = _rnn_program(3, by, layout)
    lines = index_lines(d)
    adjoint = [line for line in lines if line.kind in ("chain", "program")]
    assert _check_adjoint_lines(d, adjoint, shift=0.0) >= 11
    _check_result_line(d, lines, shift=0.0)
    results = [line for line in lines if line.kind == "result"]
    assert _check_lines(d, results, shift=0.0) == SIZES[m if by == "W" else n] * SIZES[n]
    assert not [line for line in lines if _idle_sums(line.rhs)]


def _idle_sums(expr: Any) -> list[Any]:
    """The sums over an index their printed body does not show: Σ_{k=0}^{0} of an
    outer product, x[i,k] y[j,k], printed as Σ_k x[i]·y[j] (a vector's entry is
    printed without its column)."""
    return [
        s
        for s in sp.preorder_traversal(expr)
        if isinstance(s, sp.Sum) and any(str(v) not in fmt(s.function) for v in s.variables)
    ]


@pytest.mark.parametrize("by", ["U", "W"])
def test_forward_mode_program_lines_match_finite_differences(by: str) -> None:
    """∂h_T/∂X through a program (named tangents ḣ_t) is written step by step:
    each line in terms of the intermediates' own derivatives, ∂h₁[k]/∂W[i,j]."""
    _, where = _rnn_where(3)
    W, U = (sp.MatrixSymbol(k, *shape) for k, shape in (("W", (m, n)), ("U", (n, n))))
    d = jacobian(list(where)[-1], {"U": U, "W": W}[by], where=where)
    lines = index_lines(d)
    assert any(line.rhs.has(sp.Derivative) for line in lines)
    assert _check_lines(d, lines, shift=0.0) >= 12 * SIZES[n] * SIZES[n]
    _check_result_line(d, lines, shift=0.0)


def test_a_gradient_by_vec_through_a_program_is_written_step_by_step() -> None:
    """By vec(W) a gradient has no matrix-shaped index form of its own; it is written
    in forward mode, step by step, like a Jacobian."""
    L, where = _rnn_where(2)
    d = gradient(L, vec(sp.MatrixSymbol("W", m, n)), where=where)
    lines = index_lines(d)
    assert [line.kind for line in lines].count("result") == 1
    assert _check_lines(d, lines, shift=0.0) > 0


@pytest.mark.parametrize("kind", ["forward", "reverse"])
def test_index_notation_of_a_program_grows_linearly_in_both_modes(kind: str) -> None:
    def size(T: int) -> int:
        L, where = _rnn_where(T)
        W = sp.MatrixSymbol("W", m, n)
        d = (
            gradient(L, W, where=where)
            if kind == "reverse"
            else jacobian(list(where)[-1], W, where=where)
        )
        return _size(index_lines(d))

    small, large = size(8), size(16)
    assert large <= 2.1 * small, (small, large)


def _size(lines: Any) -> int:
    return sum(sp.count_ops(line.rhs, visual=False) + 1 for line in lines)


def test_hvp_through_a_program_names_its_root_p() -> None:
    """An HVP defines p twice (the heading p := ⟨∇f, V⟩, then p := tr(v)), and the
    reverse-mode lines took the last new name, v_7, for the root: (∂v_7/∂abar)[a],
    printed with the raw names. They are (∂p/∂ā)[a], and the result is ∂p/∂U[i,j]."""
    loss, where = _rnn_where(2)
    U = sp.MatrixSymbol("U", n, n)
    d = hvp(loss, U, where=where)
    lines = index_lines(d)
    first_result = next(i for i, line in enumerate(lines) if line.kind == "result")
    second = [line for line in lines[first_result + 1 :] if line.kind == "chain"]
    assert second and all(line.lhs.parent.name.startswith("∂p/∂") for line in second)
    printed = [fmt(line.lhs) for line in second]
    assert not [p for p in printed if "_" in p or "bar" in p], printed
    assert any("(∂p/∂h\u0304\u2081)" in p for p in printed), printed  # (∂p/∂h̄₁)
    result = lines[-1]
    assert result.kind == "result" and "∂p/∂U" in fmt(result.lhs)
    # the result line entry by entry against the matrix form, over the whole program
    values = _inputs(d, np.random.default_rng(3), shift=0.0)
    want = np.atleast_2d(evaluate(d, values))
    for symbol, definition in d.definitions.items():
        values[str(symbol)] = evaluate(_sized(definition), values)
    for step in d.steps_of_kind("define"):  # the intermediates v_k the lines use
        values[step.lhs] = evaluate(_sized(step.expr), values)
    _, element = _lhs_parts(result)
    cache: dict = {}
    for env in _assignments(element):
        at = (_index(element.i, env), _index(element.j, env))
        assert _value(result.rhs, values, env, cache) == pytest.approx(want[at], rel=1e-9)


def _index_names(expr: Any) -> set[str]:
    """The names of the indices in ``expr``: of entries, deltas and sums."""
    names: set[str] = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.matrices.expressions.matexpr.MatrixElement):
            names |= {s.name for s in (node.i, node.j) if isinstance(s, sp.Symbol)}
        elif isinstance(node, sp.KroneckerDelta):
            names |= {str(s) for a in node.args[:2] for s in sp.sympify(a).free_symbols}
        elif isinstance(node, sp.Sum):
            names |= {v.name for v in node.variables}
    return names


a_vec, b_vec = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("b", n, 1)
i_vec, j_mat = sp.MatrixSymbol("i", n, 1), sp.MatrixSymbol("j", n, n)
CLASHES: list[tuple[str, Any, Any]] = [
    ("a_inv_b", a_vec.T * X.I * b_vec, X),  # a, b: the output's entry letters
    ("i_j", i_vec.T * j_mat * X * i_vec, X),  # i, j: the variable's
    ("jacobian_a_b", X * a_vec + b_vec, X),
    ("named_k_p", _tr(X.I * k * X), X),
]


@pytest.mark.parametrize(("expr", "var"), [r[1:] for r in CLASHES], ids=[r[0] for r in CLASHES])
def test_index_letters_differ_from_every_symbol_and_dimension(expr: Any, var: Any) -> None:
    """aᵀX⁻¹b printed dv₁[a,b] = −Σ_kl v₁[a,k]·v₁[l,b]·dX[k,l] beside a[k]·b[l]: no
    index may be named like a symbol, a dimension or f of the derivation."""
    d, lines = _derived(expr, var, "denominator")
    symbols = expr.atoms(sp.MatrixSymbol) | {var}
    names = {s.name for s in symbols} | {str(size) for s in symbols for size in s.shape}
    names |= {step.lhs for step in d.steps_of_kind("define")}
    for line in lines:
        clash = _index_names(line.lhs) & names, _index_names(line.rhs) & names
        assert clash == (set(), set()), (fmt(line.lhs), fmt(line.rhs))
    assert _check_lines(d, lines) > 0
    _check_result_line(d, lines)


def test_the_root_p_of_an_hvp_is_no_summation_index() -> None:
    """The HVP's phase 2 of tr(R ⊗ Rᵀ) summed over p beside ∂p/∂R[i,j]."""
    lines = _second("hvp", *SECOND_ORDER[-1][1:])[1]
    assert all("p" not in _index_names(line.rhs) for line in lines)


def test_kronecker_indices_read_as_floor_and_mod() -> None:
    """A[Mod(floor(a/m), p), …] reads A[⌊a/m⌋ mod p, …], in LaTeX with a comma between
    the two indices; sums are bare Σ_k in both notations; the 0-based split is said."""
    d = _derived(_tr(sp.KroneckerProduct(R, R.T)), R, "denominator")[0]
    text, latex = d.to_index_notation(), d.to_latex(index=True)
    assert "Mod(" not in text and "floor(" not in text
    assert "R[b mod m, a mod n]" in text and "R[⌊a/n⌋ mod m, ⌊b/m⌋ mod n]" in text
    assert text.splitlines()[0].startswith("(indices count from 0")
    assert r"R_{b \bmod m, a \bmod n}" in latex
    assert r"\sum_{k,l}" in latex and "=0}^" not in latex
    plain = _derived(x.T * A * x, x, "denominator")[0]
    assert "count from 0" not in plain.to_index_notation()
    assert r"\sum_{k}" in plain.to_latex(index=True)


def test_a_line_through_a_scalar_is_not_summed_over_entries() -> None:
    """'summed over the entries of v₄' for a 1 x 1 v₄; now 'through v₃, on every path'
    (v₃ = ‖v₂‖², 1 x 1, since the residual's transpose is no node of its own)."""
    d = _derived(norm(R * w - u) ** 2, w, "denominator")[0]
    text, latex = d.to_index_notation(), d.to_latex(index=True)
    assert "summed over" not in text
    assert "(through v₃, on every path from w to f)" in text
    assert r"\text{through } v_{3} \text{ on every path from } w \text{ to } f" in latex


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="needs pdflatex")
def test_kronecker_index_notation_compiles(tmp_path: Any) -> None:
    d = _derived(_tr(sp.KroneckerProduct(R, R.T)), R, "denominator")[0]
    (tmp_path / "kron.tex").write_text(d.to_latex(standalone=True, index=True))
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "kron.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]


def test_sums_beside_a_covariance_sigma_are_written_with_the_summation_sign() -> None:
    """Σ_kl beside a covariance Σ read as a matrix: the sums are ∑_kl then."""
    k = sp.Symbol("k", integer=True, positive=True)
    S, x = sp.MatrixSymbol("Sigma", k, k), sp.MatrixSymbol("x", k, 1)
    text = gradient((x.T * S.I * x)[0, 0], x).to_index_notation()
    assert re.search(r"∑_([a-z]) \(Σ⁻¹\)\[i,\1\]·x\[\1\]", text) and "Σ_" not in text, text
    plain = gradient((x.T * x)[0, 0], x).to_index_notation()
    assert "∑" not in plain  # no Σ symbol: the sums keep Σ_
