"""The numba backend's compile-time rewrites: outlined repeated statements and nested
concatenations.  Each must leave the computation unchanged; the compile times
themselves are measured by the benchmarks (section 2d), not here."""

from __future__ import annotations

import ast
import textwrap

import numpy as np
import pytest
import sympy as sp
from test_codegen import _rnn, call, env_for

from matderiv import evaluate, gradient, lambdify
from matderiv.codegen.numba_compile_time import outline
from matderiv.testing import max_error

CORE = """
def core(a, b, c):
    t1 = a * b
    t2 = c * a
    t3 = a * a
    t4 = b * b
    t5 = a + b
    t6 = a[0:1] * 2.0
    t7 = b[1:2] * 2.0
    return (t1, t2, t3, t4, t5, t6, t7)
"""


def _run(module: ast.Module, *args: np.ndarray) -> tuple:
    namespace: dict = {"numpy": np}
    exec(compile(ast.fix_missing_locations(module), "<outlined>", "exec"), namespace)
    return namespace["core"](*args)


def test_statements_of_one_form_share_a_function_and_compute_the_same() -> None:
    module = ast.parse(CORE)
    core = module.body[0]
    assert isinstance(core, ast.FunctionDef)
    helpers = outline(core)
    calls = {
        s.targets[0].id: s.value.func.id  # type: ignore[attr-defined]
        for s in core.body
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Call)
    }
    # a*b and c*a are one form; a*a and b*b another (a variable read twice is one
    # argument); the slices differ only in their bounds; a + b occurs once
    assert len(helpers) == 3
    assert calls["t1"] == calls["t2"] and calls["t3"] == calls["t4"] and calls["t6"] == calls["t7"]
    assert len({calls["t1"], calls["t3"], calls["t6"]}) == 3 and "t5" not in calls
    assert [ast.unparse(h.body[0]) for h in helpers] == [
        "return a0 * a1",
        "return a0 * a0",
        "return a0[a1:a2] * 2.0",
    ]
    # bounds are passed as run-time integers, so numba compiles the form once, not once per value
    t7 = next(s for s in core.body if isinstance(s, ast.Assign) and s.targets[0].id == "t7")  # type: ignore[attr-defined]
    assert ast.unparse(t7.value).endswith("(b, numpy.intp(1), numpy.intp(2))")
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((3, 2)) for _ in range(3))
    want = _run(ast.parse(CORE), a, b, c)
    got = _run(ast.Module(body=[*helpers, core], type_ignores=[]), a, b, c)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_a_statement_without_variables_is_left_alone() -> None:
    core = ast.parse(
        textwrap.dedent("""
        def core(a):
            t1 = numpy.eye(3)
            t2 = numpy.eye(3)
            return a.dot(t1) + t2
    """)
    ).body[0]
    assert isinstance(core, ast.FunctionDef)
    assert outline(core) == [] and "numpy.eye(3)" in ast.unparse(core)


@pytest.mark.parametrize("T", [20])
def test_a_long_program_compiles_outlined_and_agrees(T) -> None:
    pytest.importorskip("numba")
    L, W, U, where, dims = _rnn(T)
    dW, dU = gradient(L, W, where=where), gradient(L, U, where=where)
    source = dW.to_code(backend="numba")
    tree = ast.parse(source)
    core = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "_f_core")
    # numba compiles a long tuple slowly: no concatenate is given more than 8 pieces
    tuples = [
        node.args[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "numpy.concatenate"
    ]
    assert tuples and all(isinstance(t, ast.Tuple) and len(t.elts) <= 8 for t in tuples)
    assert max(len(t.elts) for t in tuples) == 8  # the T = 20 columns are nested
    # the T steps of the recurrence are calls of one outlined function
    forward = [
        s.value.func.id  # type: ignore[attr-defined]
        for s in core.body
        if isinstance(s, ast.Assign) and s.targets[0].id.startswith("h_")  # type: ignore[attr-defined]
    ]
    assert len(forward) == T and len(set(forward)) == 1 and forward[0].startswith("_f_s")
    namespace: dict = {}
    exec(compile(source, "<pasted>", "exec"), namespace)
    env = env_for(L, *where.values(), dims=dims, seed=3, where=where)
    np.testing.assert_allclose(call(namespace["f"], env), evaluate(dW, env), rtol=1e-10)
    assert len(namespace[forward[0]].signatures) == 1  # compiled once for all T steps
    fast = lambdify([dW, dU], backend="numba")
    got_w, got_u = call(fast, env)
    np.testing.assert_allclose(got_w, evaluate(dW, env), rtol=1e-10)
    np.testing.assert_allclose(got_u, evaluate(dU, env), rtol=1e-10)
    values = {k: v for k, v in env.items() if isinstance(k, sp.MatrixSymbol)}
    err, scale = max_error(dU, values, dims)
    assert err <= 1e-6 * max(1.0, scale)
