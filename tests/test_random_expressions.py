"""Property tests: random well-shaped matrix expressions against finite differences.

The trees come from ``random_trees`` (depth <= 5, exact shapes, every node kind the
engine supports).  Every derivative, in both layouts and with respect to the
variable, vec(·) and vec(·ᵀ), must match central finite differences at the distinct
sizes m=2, n=3, p=4; one that does not depend on the variable must be a zero of the
promised shape; the generated code must compute what evaluate computes.

KNOWN_CRASHES lists the crashes a test rejects rather than fails (drop an entry once
its bug is fixed).
"""

from __future__ import annotations

import inspect

import numpy as np
import sympy as sp
from hypothesis import assume, event, given, note
from hypothesis import strategies as st
from random_trees import (
    DIMS,
    ONE,
    SIZES,
    VARIABLES,
    budget,
    expressions,
    largest_value,
    matrix_cases,
    rejecting,
    same_dim,
    same_shape,
    scalar_cases,
    var_of,
    well_shaped,
)
from test_codegen_one_pass import one_pass_row_by_row

import matderiv
from matderiv.testing import check_derivation, random_values
from matderiv.trials import finite_trials, make_trials

MAX_MAGNITUDE = 1e3  # larger values make float64 finite differences untrustworthy

# Crashes rejected instead of failed: name -> (exception types, frame function name).
# Empty since matderiv.sympy_fixes repaired SymPy's KroneckerProduct canonicalisation
# (it crashed on a factor c·A·B); add an entry for a crash found and not yet fixed.
KNOWN_CRASHES: dict[str, tuple[tuple[type[Exception], ...], str]] = {}


def expected_shape(case):
    """The result shape the conventions promise (DESIGN.md)."""
    var = var_of(case.wrt)
    size = var.shape[0] * var.shape[1]
    rows, cols = case.expr.shape if case.expr.is_Matrix else (ONE, ONE)
    if same_dim(rows, 1) and same_dim(cols, 1):
        if case.wrt == var:
            return var.shape if case.layout == "denominator" else var.shape[::-1]
        return (ONE, size) if case.layout == "numerator" else (size, ONE)
    out = rows * cols
    return (out, size) if case.layout == "numerator" else (size, out)


def _generated_code_agrees(d, env) -> None:
    """lambdify(d) computes what evaluate(d.result) computes; so does the one-pass
    form of Aᵀ g(A V), where the code has one, taken row by row."""
    fn = matderiv.lambdify(d)
    params = inspect.signature(fn).parameters
    kwargs = {str(k): v for k, v in env.items() if str(k) in params}
    want = np.asarray(matderiv.evaluate(d.result, env), dtype=float)
    outputs = [fn(**kwargs)]
    if "_one_pass(" in fn.source:
        event("generated code: one pass")
        outputs.append(one_pass_row_by_row(fn)(**kwargs))
    for got in outputs:
        np.testing.assert_allclose(
            np.asarray(got, dtype=float), want, rtol=1e-9, atol=1e-9, err_msg=fn.source
        )


def check_case(case, seed=0):
    note(f"expr = {sp.srepr(case.expr)}")
    values = random_values(case.expr, SIZES, np.random.default_rng(seed))
    env = {**values, **SIZES}
    # Keep finite differences trustworthy: skip the rare tree whose values explode
    # anywhere (sin of a huge argument has a bounded value but wild derivatives).
    assume(largest_value(case.expr, env) < MAX_MAGNITUDE)

    depends = var_of(case.wrt) in case.expr.free_symbols
    event(f"depends on the variable: {depends}")
    for node in sp.preorder_traversal(case.expr):
        if isinstance(node, (sp.MatrixExpr, sp.Trace)):
            event(f"node: {type(node).__name__}")
    with rejecting(KNOWN_CRASHES):
        d = matderiv.derive(case.expr, case.wrt, case.layout)
    shape = expected_shape(case)
    assert same_shape(d.shape, shape), f"d.shape {d.shape} != {shape}"
    _generated_code_agrees(d, env)
    if depends:
        check_derivation(d, SIZES, seed=seed, trials=1, rtol=1e-5)
        return
    got = np.atleast_2d(np.asarray(matderiv.evaluate(d.result, env), dtype=float))
    concrete = tuple(int(sp.sympify(s).subs(SIZES)) for s in shape)
    assert got.shape == concrete, f"zero of shape {got.shape}, want {concrete}"
    assert not np.any(got), f"{case} does not depend on the variable, yet d = {d.result}"


@budget(150)
@given(matrix_cases(along_axes=True))
def test_vector_and_matrix_valued(case):
    check_case(case)


@budget(120)
@given(scalar_cases(along_axes=True))
def test_scalar_valued(case):
    check_case(case)


@budget(40)
@given(st.data())
def test_strategy_builds_exact_shapes(data):
    """The strategy itself: every tree has the shape asked for and conforms throughout."""
    shape = (data.draw(st.sampled_from(DIMS)), data.draw(st.sampled_from(DIMS)))
    var = data.draw(st.sampled_from(VARIABLES))
    expr = data.draw(expressions(shape, var, 5, along_axes=True))
    assert same_shape(expr.shape, shape)
    assert well_shaped(expr)


@budget(40)
@given(scalar_cases(along_axes=True))
def test_verify_names_a_missing_scalar_factor(case):
    """A right gradient times 1 + ‖X‖_F² (a scalar that changes with the variable) is
    diagnosed as such, and the named ratio times the candidate is the derivative."""
    var = var_of(case.wrt)
    assume(var in case.expr.free_symbols)
    values = random_values(case.expr, SIZES, np.random.default_rng(1))
    assume(largest_value(case.expr, {**values, **SIZES}) < MAX_MAGNITUDE)
    d = matderiv.derive(case.expr, case.wrt, case.layout)
    result = np.asarray(matderiv.evaluate(d.result, {**values, **SIZES}), dtype=float)
    assume(result.size >= 2 and np.abs(result).min() > 1e-6 and np.isfinite(result).all())
    scale = 1 + matderiv.norm(var) ** 2
    candidate = sp.MatMul(scale, d.result)
    # at verify's own points the derivative must not vanish (a saturated tanh′ there
    # leaves a single informative point, where any ratio looks constant)
    trials = finite_trials(make_trials((candidate, d.result, d.of), seed=0), (candidate,))
    assume(all(np.abs(v).min() > 1e-8 for v in trials.values(d.result)))
    verdict = matderiv.verify(candidate, case.expr, case.wrt, case.layout)
    assert verdict.kind == "scalar-factor", f"{verdict.kind}: {verdict.message}"
    ratio = verdict.details["factor"]
    if ratio is not None:
        env = {**values, **SIZES}
        named = matderiv.evaluate(sp.MatMul(ratio, scale, d.result), env)
        np.testing.assert_allclose(np.asarray(named, dtype=float), result, rtol=1e-8)
