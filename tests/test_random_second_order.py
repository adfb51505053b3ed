"""Property tests: Hessians and Hessian-vector products of random scalar trees.

The trees come from ``random_trees.scalar_cases`` (tr(E), aᵀ E b, 1 x 1 trees, maybe
through tanh or a square), differentiated twice with respect to the variable (X: m x n,
x: p x 1 or w: 1 x 1), given as itself or as vec(·) — the forms ``hessian`` and ``hvp``
accept (vec(·ᵀ) is refused with a LayoutError).  At the distinct sizes m=2, n=3, p=4:

- ``hessian(f, X)`` has shape (mn x mn); its value matches central differences of the
  gradient (itself checked against differences of f at the same point) and second
  differences of f alone, and is symmetric (these trees are twice continuously
  differentiable);
- ``hvp(f, X, V)`` is shaped like X and equals H vec(V) de-vectorised (column-major),
  and the directional difference (∇f(X + hV) - ∇f(X - hV)) / 2h;
- the generated code (``lambdify``) computes what ``evaluate`` computes;
- with respect to a variable f does not contain, both are zeros of the promised shape.

KNOWN_CRASHES lists the crashes a test rejects rather than fails (drop an entry once
its bug is fixed).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import assume, event, given, note
from hypothesis import strategies as st
from random_trees import (
    SIZES,
    VARIABLES,
    budget,
    largest_value,
    rejecting,
    same_shape,
    scalar_cases,
    show,
    var_of,
)

import matderiv
from matderiv.testing import numeric_hessian, numeric_jacobian, random_values

MAX_MAGNITUDE = 1e3  # larger values make float64 finite differences untrustworthy
GRADIENT_RTOL = 1e-5  # first differences: of f for the gradient, of ∇f for H and H vec(V)
SECOND_DIFFERENCE_RTOL = 1e-4  # second differences of f, Richardson-extrapolated
SECOND_DIFFERENCE_STEP = 2e-4
SYMMETRY_RTOL = 1e-9
HVP_RTOL = 1e-8  # hvp against H vec(V), both evaluated: rounding only
CODE_RTOL = 1e-9

# Crashes rejected instead of failed: name -> (exception types, a frame of the
# traceback: "file.py:function", or "<matderiv f>" for the generated code).  Each is a
# matderiv bug on a valid tree, through matderiv's own calls; drop an entry once its bug
# is fixed.
KNOWN_CRASHES: dict[str, tuple[tuple[type[Exception], ...], str]] = {}


@dataclass(frozen=True)
class SecondOrderCase:
    """f, the variable as given (X or vec(X)), and the hvp direction (None: default)."""

    expr: Any
    wrt: Any
    direction: Any = None

    @property
    def var(self) -> Any:
        return var_of(self.wrt)

    def __repr__(self) -> str:
        direction = "" if self.direction is None else f", direction={self.direction}"
        return f"hessian/hvp({show(self.expr)}, {show(self.wrt)}{direction})"


@st.composite
def second_order_cases(draw):
    """A random scalar tree, its variable as X or vec(X), and maybe a named direction."""
    case = draw(scalar_cases(along_axes=True))
    var = var_of(case.wrt)
    wrt = draw(st.sampled_from((var, matderiv.vec(var))))
    direction = draw(st.sampled_from((None, sp.MatrixSymbol("U", *var.shape))))
    return SecondOrderCase(case.expr, wrt, direction)


def dependent_cases():
    """Trees that contain their variable (the others are independent_cases' business)."""
    return second_order_cases().filter(lambda case: case.var in case.expr.free_symbols)


@st.composite
def independent_cases(draw):
    """A random scalar tree and a variable it does not contain."""
    case = draw(scalar_cases(along_axes=True))
    others = [v for v in VARIABLES if v not in case.expr.free_symbols]
    var = draw(st.sampled_from(others))
    return SecondOrderCase(case.expr, draw(st.sampled_from((var, matderiv.vec(var)))))


def second_order(kind, case):
    """hessian(f, wrt) or hvp(f, wrt, direction)."""
    if kind == "hessian":
        return matderiv.hessian(case.expr, case.wrt)
    return matderiv.hvp(case.expr, case.wrt, direction=case.direction)


def concrete(shape) -> tuple[int, int]:
    return tuple(int(sp.sympify(s).subs(SIZES)) for s in shape)


def environment(case, seed):
    """Random values for f's symbols and the variable (and U or V), plus the sizes."""
    rng = np.random.default_rng(seed)
    env = {**random_values(sp.Tuple(case.expr, case.var), SIZES, rng), **SIZES}
    direction = case.direction or sp.MatrixSymbol("V", *case.var.shape)
    env[direction] = rng.standard_normal(concrete(case.var.shape))
    return env, direction


def value(d, env) -> np.ndarray:
    return np.atleast_2d(np.asarray(matderiv.evaluate(d, env), dtype=float))


def assert_close(got, want, rtol, what, atol=0.0) -> None:
    """max |got - want| <= rtol · max(1, max |want|) + atol, as check_derivation measures."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    err = float(np.max(np.abs(got - want), initial=0.0))
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    assert err <= rtol * scale + atol, (
        f"{what}: off by {err:.3g} (scale {scale:.3g})\ngot\n{got}\nwant\n{want}"
    )


def generated_code_agrees(d, env) -> None:
    """lambdify(d) computes what evaluate(d) computes."""
    fn = matderiv.lambdify(d)
    params = inspect.signature(fn).parameters
    got = np.atleast_2d(np.asarray(fn(**{str(k): v for k, v in env.items() if str(k) in params})))
    note(f"generated code:\n{fn.source}")
    assert_close(got.astype(float), value(d, env), CODE_RTOL, "lambdify vs evaluate")


def prepare(case, seed):
    note(f"expr = {sp.srepr(case.expr)}")
    env, direction = environment(case, seed)
    # Keep finite differences trustworthy: skip the rare tree whose values explode
    # anywhere (sin of a huge argument has a bounded value but wild derivatives).
    assume(largest_value(case.expr, env) < MAX_MAGNITUDE)
    event(f"variable: {case.var}, given as {type(case.wrt).__name__}")
    for node in sp.preorder_traversal(case.expr):
        if isinstance(node, (sp.MatrixExpr, sp.Trace)):
            event(f"node: {type(node).__name__}")
    return env, direction


def checked_gradient(case, env) -> matderiv.Derivation:
    """∇f, its value at env asserted against central differences of f (the ground truth
    that the Hessian's and the hvp's first-difference checks differentiate)."""
    grad = matderiv.gradient(case.expr, case.var)
    got = value(grad, env).reshape(-1, 1, order="F")
    want = numeric_jacobian(case.expr, case.var, env, h=1e-6).T
    assert_close(got, want, GRADIENT_RTOL, "gradient vs differences of f")
    return grad


def second_differences(case, env) -> tuple[np.ndarray, float]:
    """d²f/dvec(X)dvec(X)ᵀ from second differences of f alone, and its rounding error.

    Richardson extrapolation (4 D(h/2) - D(h)) / 3 cancels the h² error term, which
    is too large at h = 1e-4 for f = sin(u)² with u ~ 20 (1.3e-4 relative); rounding
    contributes about (16/3)·eps·|f| / h², allowed ten times over.
    """
    h = SECOND_DIFFERENCE_STEP
    coarse = numeric_hessian(case.expr, case.var, env, h=h)
    fine = numeric_hessian(case.expr, case.var, env, h=h / 2)
    size = abs(float(value(case.expr, env)[0, 0]))
    return (4 * fine - coarse) / 3, 50 * np.finfo(float).eps * max(size, 1.0) / h**2


def check_hessian(case, seed=0) -> None:
    var = case.var
    env, _ = prepare(case, seed)
    H = second_order("hessian", case)
    size = var.shape[0] * var.shape[1]
    assert same_shape(H.shape, (size, size)), f"H.shape {H.shape} != {(size, size)}"
    got = value(H, env)
    k = concrete((size, 1))[0]
    assert got.shape == (k, k), f"H evaluates to shape {got.shape}, want {(k, k)}"
    generated_code_agrees(H, env)
    scale = max(float(np.max(np.abs(got), initial=0.0)), 1.0)
    asymmetry = float(np.max(np.abs(got - got.T), initial=0.0))
    assert asymmetry <= SYMMETRY_RTOL * scale, f"H is not symmetric: |H - Hᵀ| = {asymmetry:.3g}"
    event(f"Hessian is zero: {not np.any(got)}")
    grad = checked_gradient(case, env)
    want = numeric_jacobian(grad.result, var, env, h=1e-5)
    assert_close(got, want, GRADIENT_RTOL, "H vs differences of the gradient")
    want, rounding = second_differences(case, env)
    assert_close(got, want, SECOND_DIFFERENCE_RTOL, "H vs second differences of f", rounding)


def check_hvp(case, seed=0) -> None:
    var = case.var
    env, V = prepare(case, seed)
    P = second_order("hvp", case)
    assert same_shape(P.shape, var.shape), f"hvp shape {P.shape} != {var.shape}"
    extra = {s for s in P.result.free_symbols if isinstance(s, sp.MatrixSymbol)}
    extra -= case.expr.free_symbols | {var}
    assert extra <= {V}, f"the direction is {V}, yet the result uses {extra}"
    got = value(P, env)
    shape = concrete(var.shape)
    assert got.shape == shape, f"hvp evaluates to shape {got.shape}, want {shape}"
    generated_code_agrees(P, env)
    H = value(matderiv.hessian(case.expr, var), env)
    want = (H @ env[V].reshape(-1, 1, order="F")).reshape(shape, order="F")
    assert_close(got, want, HVP_RTOL, "hvp vs H vec(V)")
    # Independent of the Hessian: the gradient's directional central difference.
    grad, h = checked_gradient(case, env), 1e-5
    ahead, behind = ({**env, var: env[var] + s * h * env[V]} for s in (1, -1))
    directional = (value(grad, ahead) - value(grad, behind)) / (2 * h)
    assert_close(got, directional, GRADIENT_RTOL, "hvp vs directional difference of ∇f")


def check_independent(case) -> None:
    var = case.var
    event(f"variable: {var}, given as {type(case.wrt).__name__}")
    env, _ = environment(case, seed=0)
    size = var.shape[0] * var.shape[1]
    H, P = second_order("hessian", case), second_order("hvp", case)
    for d, shape in ((H, (size, size)), (P, var.shape)):
        assert same_shape(d.shape, shape), f"{d.mode} shape {d.shape} != {shape}"
        got = value(d, env)
        want = concrete(shape)
        assert got.shape == want, f"{d.mode} evaluates to shape {got.shape}, want {want}"
        assert not np.any(got), f"{case}: f does not contain {var}, yet {d.mode} = {d.result}"
        generated_code_agrees(d, env)
    for second in (matderiv.hessian, matderiv.hvp):
        try:
            second(case.expr, matderiv.vec(var.T))
        except matderiv.LayoutError:
            continue
        raise AssertionError(f"{second.__name__}(f, vec({var}ᵀ)) did not raise LayoutError")


@budget(60)
@given(dependent_cases())
def test_hessian(case):
    with rejecting(KNOWN_CRASHES):
        check_hessian(case)


@budget(60)
@given(dependent_cases())
def test_hvp(case):
    with rejecting(KNOWN_CRASHES):
        check_hvp(case)


@budget(40)
@given(independent_cases())
def test_independent_of_the_variable(case):
    """Zeros of the promised shapes, in evaluate and in the generated code; vec(Xᵀ)
    is refused with a LayoutError, not a bare traceback."""
    with rejecting(KNOWN_CRASHES):
        check_independent(case)


def check_verify_hessian(case) -> None:
    """verify(..., order=2) on the Hessian itself (checked above against differences)
    says correct; on 3H a factor of 3, on -H a sign; on H with a commutation matrix
    on one side, anything but correct unless that product equals H, and a named fix
    that does equal H."""
    var = case.var
    env, _ = prepare(case, seed=0)
    H = matderiv.hessian(case.expr, var).result
    got = value(matderiv.hessian(case.expr, var), env)
    verdict = matderiv.verify(H, case.expr, var, order=2)
    assert verdict, f"verify(H) is {verdict.kind}: {verdict.message}"
    if not np.any(np.abs(got) > 1e-6):
        event("verify: the Hessian is zero here")
        return  # 3 · 0 = 0: nothing to tell apart
    for factor, kind in ((3, "factor"), (-1, "sign")):
        wrong = matderiv.verify(factor * H, case.expr, var, order=2)
        assert not wrong, (factor, wrong.message)
        if wrong.kind == "not-finite":  # verify's own points: a log of a negative
            event("verify: not finite at its random points")
            return
        if wrong.kind == "wrong" and wrong.details["max_error"] < 1e-3:
            # nearly 0 at verify's own points (a saturated tanh: 1 - tanh² ~ 1e-10), so
            # nearly equal to any multiple; it must not claim another mistake (pm-one did)
            event("verify: the Hessian nearly vanishes at its random points")
            return
        assert wrong.kind == kind, (factor, wrong.kind, wrong.message)
    m, n = concrete(var.shape)
    if m == 1 or n == 1:
        return
    K = matderiv.commutation(*var.shape)
    right = matderiv.verify(sp.MatMul(H, K), case.expr, var, order=2)
    K_num = value(K, env)
    same = np.allclose(got @ K_num, got, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(got).max()))
    event(f"verify H K: {right.kind}")
    assert bool(right) == same, (same, right.kind, right.message)
    if right.kind == "commutation":
        fixed = value(right.details["fix"], env)
        assert_close(fixed, got, 1e-8, "the commutation fix")


@budget(40)
@given(dependent_cases())
def test_verify_hessian(case):
    with rejecting(KNOWN_CRASHES):
        check_verify_hessian(case)


def check_verify_hvp(case) -> None:
    """verify(..., order=2, direction=V) on hvp's own result (checked above against
    H vec(V) and directional differences) says correct; on 3 H vec(V) a factor of 3."""
    var = case.var
    env, V = prepare(case, seed=0)
    P = matderiv.hvp(case.expr, var, V)
    verdict = matderiv.verify(P.result, case.expr, var, order=2, direction=V)
    assert verdict, f"verify(H vec(V)) is {verdict.kind}: {verdict.message}"
    if not np.any(np.abs(value(P, env)) > 1e-6):
        event("verify: the HVP is zero here")
        return
    wrong = matderiv.verify(sp.MatMul(3, P.result), case.expr, var, order=2, direction=V)
    assert not wrong, wrong.message
    if wrong.kind == "not-finite":
        event("verify: not finite at its random points")
        return
    assert wrong.kind == "factor" and wrong.details["factor"] == 3, wrong.message


@budget(25)
@given(dependent_cases())
def test_verify_hvp(case):
    with rejecting(KNOWN_CRASHES):
        check_verify_hvp(case)
