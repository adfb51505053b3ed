"""Property tests: random straight-line programs (``where=``) against finite differences.

A program is 1-4 definitions v_i := e_i, each a MatrixSymbol of a random pool shape (now
and then a scalar Symbol s_i := tr(e_i)), defined by a random tree from ``random_trees``
over the variable (X: m x n, x: p x 1 or w: 1 x 1), a constant input (C, or named like
a symbol the engine generates: vbar_1, vdot_2, V) or an earlier defined symbol, maybe
plus a tree in the variable itself.  Some constants of the tree are then rewired to
earlier defined symbols of the same shape (every occurrence: fan-out), now and then
written out as their definition; an earlier scalar may scale it; a definition may
repeat an earlier one; a dead definition (used by nothing) is added now and then.  The
root is a tree over the last symbol (or another), rewired the same way, maybe plus a
tree in the variable: scalar roots are tr(E), aᵀ E b, a 1 x 1 tree or its entry, maybe
through tanh or a square, or a defined 1 x 1 / scalar symbol itself; matrix roots any
other pool shape, or a defined symbol itself.

At the distinct sizes m=2, n=3, p=4, with the variable given as X, vec(X) or vec(Xᵀ),
in both layouts:

- ``evaluate(root, where=defs)`` runs the program: it equals the inlined tree's value;
- ``derive(root, wrt, layout, where=defs)`` has the promised shape, lists the user's
  definitions first and unchanged, names its adjoints/tangents freshly, and its value
  (``evaluate(d)``, which runs ``d.definitions``) equals central differences of the
  inlined tree and the value of ``derive(inlined, wrt, layout)``; with respect to a
  variable the root does not reach (through any path) it is zero;
- ``lambdify(d)`` computes what ``evaluate(d)`` computes;
- ``verify(d.result, ..., where=defs)`` accepts it and refuses a wrong one;
- scalar roots: ``hessian(root, X or vec(X), where=defs)`` is symmetric and matches
  differences of the (checked) program gradient; ``hvp`` (a given direction, or its own
  fresh one) equals H vec(direction); both zero when the root does not reach X, and
  their generated code agrees.

KNOWN_CRASHES lists the crashes a test rejects rather than fails (drop an entry once
its bug is fixed).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import event, given, note, reject
from hypothesis import strategies as st
from random_trees import (
    CONSTANTS,
    DIMS,
    LAYOUTS,
    ONE,
    SIZES,
    VARIABLES,
    Crashes,
    budget,
    combine,
    expressions,
    known_crash,
    rejecting,
    same_dim,
    same_shape,
    show,
    well_shaped,
    wrapped,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

import matderiv
from matderiv.testing import numeric_jacobian, random_values

MAX_MAGNITUDE = 1e3  # larger values make float64 finite differences untrustworthy
FD_RTOL = 1e-5  # first central differences (h = 1e-6), as check_derivation
SAME_RTOL = 1e-8  # two exact computations of one value: rounding only
SYMMETRY_RTOL = 1e-9
DEPTH = 3  # of each definition's tree and of the root's
MAX_DEFINITIONS = 4  # before the dead one

CONSTANT_INPUTS = {c for pair in CONSTANTS.values() for c in pair}

# Crashes rejected instead of failed: name -> (exception types, a frame of the traceback:
# a function name, "file.py:function" or "<matderiv f>"), as random_trees.known_crash
# reads them.  Each is a bug on a valid program; drop its entry once fixed.  (Found and
# since fixed: verify's symmetry diagnosis on a variable f does not use, KeyError; the
# generated code's size held as a value and carried only by a where= input, NameError;
# generated code's sums and ∘ products of ones matrices only, floats; hvp's default
# direction named like an input only a where= definition uses; verify taking NaN at
# its random points for agreement; verify drawing no values for a scalar symbol of f.)
KNOWN_CRASHES: Crashes = {}


def program_symbols(prog) -> set[Any]:
    """The inputs of the program, the variable, and the symbols it defines."""
    return sp.Tuple(prog.root, prog.var, *prog.defs, *prog.defs.values()).free_symbols


# ---------------------------------------------------------------------------------------
# The strategy


class Program:
    """A root over a where= program in the variable ``var``.  (Not a dataclass:
    Hypothesis would print its fields with SymPy's str(), which can crash.)"""

    def __init__(self, var: Any, defs: dict[Any, Any], root: Any) -> None:
        self.var, self.defs, self.root = var, defs, root

    @property
    def inlined(self) -> Any:
        return inline(self.root, self.defs)

    def __repr__(self) -> str:
        return f"Program(var={self.var}; {listing(self.defs)}; root {show(self.root)})"


def listing(defs) -> str:
    return "; ".join(f"{s} := {show(d)}" for s, d in defs.items())


def inline(expr, defs):
    """``expr`` with every defined symbol replaced by its definition, as a bare tree."""
    return replaced(expr, defs, recursive=True)


def replaced(expr, mapping, recursive=False):
    """``expr.xreplace(mapping)`` (``recursive``: into the replacements too), rebuilding
    matrix nodes without their constructors: SymPy's xreplace rebuilds through them, and
    e.g. an entrywise tanh of a 1 x 1 then runs SymPy's own KroneckerProduct.doit(),
    which crashes on a factor c·A·B."""
    done: dict[Any, Any] = {}
    stack = [expr]
    while stack:
        node = stack[-1]
        if node in done:
            stack.pop()
        elif node in mapping:
            if not recursive:
                done[node] = mapping[node]
            elif mapping[node] not in done:
                stack.append(mapping[node])
                continue
            else:
                done[node] = done[mapping[node]]
            stack.pop()
        elif not isinstance(node, sp.Basic) or not node.args:
            done[node] = node
            stack.pop()
        else:
            pending = [a for a in node.args if a not in done]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            args = tuple(done[a] for a in node.args)
            if all(new is old for new, old in zip(args, node.args, strict=True)):
                done[node] = node
            elif isinstance(node, (sp.MatrixExpr, sp.Trace, MatrixElement)):
                done[node] = sp.Basic.__new__(type(node), *args)
            else:
                done[node] = node.func(*args)
    return done[expr]


def depends_on(expr, var, defs) -> bool:
    """Whether ``expr`` reaches ``var`` through any path of the program."""
    seen, todo = set(), [expr]
    while todo:
        e = todo.pop()
        for s in e.free_symbols:
            if s == var:
                return True
            if s in defs and s not in seen:
                seen.add(s)
                todo.append(defs[s])
    return False


@st.composite
def rewire(draw, tree, pool, defs):
    """Replace some constant inputs of ``tree`` (every occurrence of each) by a defined
    matrix symbol of the same shape, or the transpose of one of the transposed shape,
    or now and then by its definition written out (which the engine may name)."""
    mapping = {}
    for c in sorted(tree.free_symbols & CONSTANT_INPUTS, key=str):
        options = [s for s in pool if same_shape(s.shape, c.shape)]
        options += [s.T for s in pool if same_shape(s.shape[::-1], c.shape)]
        if options and draw(st.integers(0, 2)) > 0:
            choice = draw(st.sampled_from(options))
            if draw(st.integers(0, 5)) == 5:
                event("a definition written out where its symbol could be")
                choice = replaced(choice, defs)
            mapping[c] = choice
    return replaced(tree, mapping) if mapping else tree


@st.composite
def scaled(draw, tree, scalars):
    """Maybe an earlier scalar symbol times ``tree``."""
    if scalars and draw(st.integers(0, 3)) == 0:
        return combine(draw, "matmul", draw(st.sampled_from(scalars)), tree)
    return tree


def shapes():
    return st.tuples(st.sampled_from(DIMS), st.sampled_from(DIMS))


MATRIX_SHAPES = [(r, c) for r in DIMS for c in DIMS if (r, c) != (ONE, ONE)]


@st.composite
def body(draw, shape, sources, pool, scalars, var, direct, defs):
    """A tree of ``shape`` over one source (the last defined symbol preferred), rewired
    to other defined symbols, maybe scaled, maybe plus a tree in ``var`` directly."""
    source = sources[-1] if draw(st.booleans()) else draw(st.sampled_from(sources))
    tree = draw(expressions(shape, source, DEPTH))
    tree = draw(rewire(tree, pool, defs))
    tree = draw(scaled(tree, scalars))
    if direct and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(("add", "hadamard")))
        tree = combine(draw, kind, tree, draw(expressions(shape, var, 2)))
    return tree


def usable(symbols, var, defs, independent):
    return [s for s in symbols if not (independent and depends_on(s, var, defs))]


@st.composite
def programs(draw, kind, independent=False):
    """kind "scalar" or "matrix" (the root's shape); ``independent``: the root must not
    reach the variable (its definitions still may, and the dead ones do)."""
    var = draw(st.sampled_from(VARIABLES))
    # C, or a name the engine might generate (an adjoint, a tangent, hvp's direction)
    name = draw(st.sampled_from(("C", "vbar_1", "vdot_2", "V")))
    const = sp.MatrixSymbol(name, *draw(shapes()))
    defs: dict[Any, Any] = {}
    matrices: list[Any] = []  # defined matrix symbols, in order
    scalars: list[Any] = []
    stem = draw(st.sampled_from(("v_{}", "h{}")))
    for i in range(1, draw(st.integers(1, MAX_DEFINITIONS)) + 1):
        sources = [const, var, *matrices]  # the last preferred
        if draw(st.integers(0, 4)) == 4:  # a scalar definition s_i := tr(e_i)
            k = draw(st.sampled_from(DIMS))
            symbol = sp.Symbol(f"s_{i}")
            defs[symbol] = sp.Trace(
                draw(body((k, k), sources, matrices, scalars, var, True, defs))
            )
            scalars.append(symbol)
            continue
        if matrices and draw(st.integers(0, 7)) == 7:  # the same definition twice
            event("a duplicate definition")
            twin = draw(st.sampled_from(matrices))
            symbol = sp.MatrixSymbol(stem.format(i), *twin.shape)
            defs[symbol] = defs[twin]
        else:
            shape = draw(shapes())
            symbol = sp.MatrixSymbol(stem.format(i), *shape)
            defs[symbol] = draw(body(shape, sources, matrices, scalars, var, True, defs))
        matrices.append(symbol)
    # The root, over what it may use.
    sources = usable([var, const, *matrices], var, defs, independent)
    if independent:
        sources = [s for s in sources if s != var]
    pool = usable(matrices, var, defs, independent)
    scalar_pool = usable(scalars, var, defs, independent)
    root = draw(roots(kind, sources, pool, scalar_pool, var, not independent, defs))
    if draw(st.integers(0, 2)) == 0:  # a dead definition, over the variable
        dead = sp.MatrixSymbol("dead", *draw(shapes()))
        defs[dead] = draw(body(dead.shape, [var, *matrices], matrices, scalars, var, False, defs))
    return Program(var, defs, root)


@st.composite
def roots(draw, kind, sources, pool, scalars, var, direct, defs):
    if kind == "matrix":
        candidates = [s for s in pool if not same_shape(s.shape, (ONE, ONE))]
        if candidates and draw(st.integers(0, 4)) == 4:
            event("root: a defined symbol itself")
            return candidates[-1]
        shape = draw(st.sampled_from(MATRIX_SHAPES))
        return draw(body(shape, sources, pool, scalars, var, direct, defs))
    itself = [s for s in pool if same_shape(s.shape, (ONE, ONE))] + scalars
    if itself and draw(st.integers(0, 4)) == 4:
        event("root: a defined scalar itself")
        return itself[-1]
    how = draw(st.sampled_from(("trace", "bilinear", "one_by_one", "element")))
    event(f"scalar root: {how}")
    if how == "trace":
        k = draw(st.sampled_from(DIMS))
        root = sp.Trace(draw(body((k, k), sources, pool, scalars, var, direct, defs)))
    elif how == "bilinear":
        k1, k2 = draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS))
        a, b = CONSTANTS[(k1, ONE)][0], CONSTANTS[(k2, ONE)][1]
        e = draw(body((k1, k2), sources, pool, scalars, var, direct, defs))
        root = combine(draw, "matmul", a.T, e, b)
    else:
        root = draw(body((ONE, ONE), sources, pool, scalars, var, direct, defs))
        if how == "element":
            root = MatrixElement(root, 0, 0)
    return wrapped(draw, root, how)


# ---------------------------------------------------------------------------------------
# Helpers


def concrete(shape) -> tuple[int, int]:
    return tuple(int(sp.sympify(s).subs(SIZES)) for s in shape)


def value(d, env) -> np.ndarray:
    return np.atleast_2d(np.asarray(matderiv.evaluate(d, env), dtype=float))


def assert_close(got, want, rtol, what) -> None:
    """max |got - want| <= rtol · max(1, max |want|), as check_derivation measures."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    err = float(np.max(np.abs(got - want), initial=0.0))
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    assert err <= rtol * scale, (
        f"{what}: off by {err:.3g} (scale {scale:.3g})\ngot\n{got}\nwant\n{want}"
    )


def assert_matches_differences(got, differences, arrange, what, h=1e-6) -> None:
    """``got`` against ``arrange(differences(h))``, central differences with step h; on
    a miss, against Richardson's extrapolation (4 D(h) - D(2h)) / 3, whose error is
    O(h⁴), not O(h²): large higher derivatives (sin of a big argument) spoil plain
    differences."""
    try:
        assert_close(got, arrange(differences(h)), FD_RTOL, what)
        return
    except AssertionError:
        event("Richardson-extrapolated differences needed")
    extrapolated = (4 * differences(h) - differences(2 * h)) / 3
    try:
        assert_close(got, arrange(extrapolated), FD_RTOL, f"{what} (extrapolated)")
    except AssertionError:
        # third derivatives of 10¹² (a cubic inside sin, a Hessian of scale 10⁸) spoil
        # even the extrapolation at h; a tenth of it converges (a wrong H never does)
        event("Richardson-extrapolated differences at h/10 needed")
        small = (4 * differences(h / 10) - differences(h / 5)) / 3
        assert_close(got, arrange(small), FD_RTOL, f"{what} (extrapolated, h/10)")


def run_program(prog, env) -> dict[Any, Any]:
    """env plus the value of every defined symbol, definition by definition.

    Keeps finite differences trustworthy: rejects the example as soon as a matrix or
    trace subexpression of a definition or of the root exceeds MAX_MAGNITUDE (sin of
    a huge argument has a bounded value but wild derivatives).  Operands are checked
    before their node, so an inverse is only taken of a moderate S + E Eᵀ/10 (a huge
    E makes it numerically singular)."""
    full = dict(env)
    with np.errstate(over="ignore", invalid="ignore"):  # inf, nan: rejected below
        for symbol, expr in [*prog.defs.items(), (None, prog.root)]:
            for node in sp.postorder_traversal(expr):
                if node.is_Matrix or isinstance(node, sp.Trace):
                    v = np.abs(np.asarray(matderiv.evaluate(node, full), dtype=float))
                    v = np.append(v, _slope(node, full))
                    if not np.all(np.isfinite(v)) or np.max(v, initial=0.0) >= MAX_MAGNITUDE:
                        event("rejected: values blow up")
                        reject()
            if symbol is not None:
                full[symbol] = matderiv.evaluate(expr, full)
    return full


def _slope(node, env) -> np.ndarray:
    """|f′| of an entrywise function f at its argument: sin(exp(u)) is bounded, but at
    u = 27 its slope is 10¹², and sin(10¹¹·...) is computed to only a few digits."""
    if not isinstance(node, ElementwiseApplyFunction):
        return np.zeros(0)
    (t,) = node.function.variables
    slope = sp.lambdify(t, sp.diff(node.function.expr, t), "numpy")
    at = np.asarray(matderiv.evaluate(node.expr, env), dtype=float)
    return np.abs(np.broadcast_to(np.asarray(slope(at), dtype=float), at.shape)).ravel()


def environment(prog, seed=0):
    """Random values for the inputs (not the defined symbols), and the sizes."""
    rng = np.random.default_rng(seed)
    source = sp.Tuple(prog.root, prog.var, *prog.defs.values())
    values = random_values(source, SIZES, rng)
    env = {k: v for k, v in values.items() if k not in prog.defs}
    env.update(SIZES)
    return env


def prepare(prog, seed=0):
    note(f"program = {prog!r}")
    note(f"srepr: defs = {sp.srepr(sp.Tuple(*prog.defs.items()))}; root = {sp.srepr(prog.root)}")
    env = environment(prog, seed)
    run_program(prog, env)
    event(f"variable: {prog.var}")
    event(f"definitions: {len(prog.defs)}")
    event(f"depends on the variable: {depends_on(prog.root, prog.var, prog.defs)}")
    users = (prog.root, *prog.defs.values())
    uses = [sum(s in e.free_symbols for e in users) for s in prog.defs]
    event(f"a symbol used by two or more expressions: {max(uses) > 1}")
    event(f"a symbol nothing uses: {min(uses) == 0}")
    return env


def expected_shape(root, var, form, layout):
    """The result shape the conventions promise (DESIGN.md)."""
    size = var.shape[0] * var.shape[1]
    rows, cols = root.shape if root.is_Matrix else (ONE, ONE)
    if same_dim(rows, 1) and same_dim(cols, 1):
        if form == "X":
            return var.shape if layout == "denominator" else var.shape[::-1]
        return (ONE, size) if layout == "numerator" else (size, ONE)
    return (rows * cols, size) if layout == "numerator" else (size, rows * cols)


def arranged(jac, var_shape, form, layout, scalar) -> np.ndarray:
    """A numerator-layout d vec(f)/d vec(X)ᵀ (columns over vec(X)) as ``derive`` gives it."""
    m, n = var_shape
    if form == "vecT":  # columns over vec(Xᵀ): entry (a, b) of X is at b + n·a
        jac = jac[:, np.arange(m * n).reshape(m, n, order="F").T.reshape(-1, order="F")]
    if scalar and form == "X":
        grad = jac.reshape(m, n, order="F")
        return grad if layout == "denominator" else grad.T
    return jac if layout == "numerator" else jac.T


def wrt_of(var, form):
    return {"X": var, "vec": matderiv.vec(var), "vecT": matderiv.vec(var.T)}[form]


def generated_code_agrees(d, env, what) -> None:
    """lambdify(d) computes what evaluate(d) computes."""
    with rejecting(KNOWN_CRASHES):
        fn = matderiv.lambdify(d)
        note(f"generated code ({what}):\n{fn.source}")
        params = inspect.signature(fn).parameters
        got = fn(**{str(k): v for k, v in env.items() if str(k) in params})
    got = np.atleast_2d(np.asarray(got, dtype=float))
    assert_close(got, value(d, env), SAME_RTOL, f"lambdify vs evaluate ({what})")


def check_definitions(d, prog) -> None:
    """The user's definitions come first and unchanged; generated names are fresh."""
    defs = list(d.definitions)
    first = set(defs[: len(prog.defs)])  # in an order that runs, not necessarily theirs
    assert first == set(prog.defs), f"d.definitions does not start with the user's: {defs}"
    for s, definition in prog.defs.items():
        assert d.definitions[s] == definition, f"{s} redefined as {show(d.definitions[s])}"
    given = {str(s) for s in sp.Tuple(prog.root, prog.var, *prog.defs.values()).free_symbols}
    given |= {str(s) for s in prog.defs}
    for s in defs[len(prog.defs) :]:
        assert str(s) not in given, f"generated {s} takes the name of an input or definition"


# ---------------------------------------------------------------------------------------
# The checks


def check_verify(d, prog, wrt, layout) -> None:
    """verify over the program accepts d.result, and refuses 2 d.result or d.result + 𝟏.
    (Not necessarily both: at verify's own random points a saturated tanh can make the
    derivative zero, so 2 d.result equals it there; or huge, so + 𝟏 is within its
    relative tolerance.)"""
    verdict = matderiv.verify(d.result, prog.root, wrt, layout, where=prog.defs)
    assert verdict, f"verify refuses d.result: {verdict.kind}: {verdict.message}"
    ones = sp.OneMatrix(*d.shape) if d.result.is_Matrix else sp.S.One
    verdict = matderiv.verify(2 * d.result, prog.root, wrt, layout, where=prog.defs)
    if not verdict:
        return
    verdict = matderiv.verify(d.result + ones, prog.root, wrt, layout, where=prog.defs)
    if not verdict:
        return
    raise AssertionError(f"verify accepts both 2 d.result and d.result + 1: {verdict.message}")


def check_first_order(prog, form, layout, seed=0, with_verify=False) -> None:
    var, scalar = prog.var, not prog.root.is_Matrix or prog.root.shape == (1, 1)
    env = prepare(prog, seed)
    inlined = prog.inlined
    note(f"inlined = {show(inlined)}")
    event(f"wrt {form}, {layout}")
    # The program runs: evaluate(root, where=defs) is the inlined tree's value.
    program_value = np.atleast_2d(matderiv.evaluate(prog.root, env, where=prog.defs))
    assert_close(program_value, value(inlined, env), SAME_RTOL, "program vs inlined value")

    wrt = wrt_of(var, form)
    with rejecting(KNOWN_CRASHES):
        d = matderiv.derive(prog.root, wrt, layout, where=prog.defs)
    note(f"d.result = {show(d.result)}; d.definitions: {listing(d.definitions)}")
    shape = expected_shape(prog.root, var, form, layout)
    assert same_shape(d.shape, shape), f"d.shape {d.shape} != {shape}"
    check_definitions(d, prog)
    got = value(d, env)
    assert got.shape == concrete(shape), f"evaluates to shape {got.shape}, want {shape}"
    generated_code_agrees(d, env, "derivative")

    assert_matches_differences(
        got,
        lambda step: numeric_jacobian(inlined, var, env, step),
        lambda jac: arranged(jac, concrete(var.shape), form, layout, scalar),
        "program derivative vs differences of the inlined tree",
    )
    if not depends_on(prog.root, var, prog.defs):
        assert not np.any(got), f"the root does not reach {var}, yet d = {show(d.result)}"

    if with_verify:
        with rejecting(KNOWN_CRASHES):
            check_verify(d, prog, wrt, layout)

    # The same derivative of the inlined tree (crashes there are the tree's business:
    # test_random_expressions).
    try:
        tree = matderiv.derive(inlined, wrt, layout)
    except Exception as exc:
        if known_crash(exc, KNOWN_CRASHES) is None:
            raise
        event("known crash differentiating the inlined tree")
        return
    assert same_shape(tree.shape, d.shape), f"tree shape {tree.shape} != program {d.shape}"
    assert_close(got, value(tree, env), SAME_RTOL, "program vs inlined-tree derivative")


def check_second_order(prog, as_vec, given_direction, seed=0) -> None:
    var = prog.var
    env = prepare(prog, seed)
    wrt = matderiv.vec(var) if as_vec else var
    event(f"second order wrt {'vec' if as_vec else 'X'}")
    size = var.shape[0] * var.shape[1]
    k = concrete((size, 1))[0]
    inlined = prog.inlined

    # The gradient of the program, checked against differences of the inlined tree.
    with rejecting(KNOWN_CRASHES):
        grad = matderiv.gradient(prog.root, var, where=prog.defs)
    assert_matches_differences(
        value(grad, env),
        lambda step: numeric_jacobian(inlined, var, env, step),
        lambda jac: jac.reshape(concrete(var.shape), order="F"),
        "gradient vs differences of f",
    )

    with rejecting(KNOWN_CRASHES):
        H = matderiv.hessian(prog.root, wrt, where=prog.defs)
    assert same_shape(H.shape, (size, size)), f"H.shape {H.shape} != {(size, size)}"
    h = value(H, env)
    assert h.shape == (k, k), f"H evaluates to shape {h.shape}, want {(k, k)}"
    generated_code_agrees(H, env, "Hessian")
    scale = max(float(np.max(np.abs(h), initial=0.0)), 1.0)
    asymmetry = float(np.max(np.abs(h - h.T), initial=0.0))
    assert asymmetry <= SYMMETRY_RTOL * scale, f"H is not symmetric: |H - Hᵀ| = {asymmetry:.3g}"
    assert_matches_differences(
        h,
        lambda step: numeric_jacobian(grad.result, var, env, 10 * step, where=grad.definitions),
        lambda jac: jac,
        "H vs differences of the program gradient",
    )
    if not depends_on(prog.root, var, prog.defs):
        assert not np.any(h), f"the root does not reach {var}, yet H = {show(H.result)}"

    # H vec(D) for a given direction D, or hvp's own fresh one (default).
    direction = sp.MatrixSymbol("D", *var.shape) if given_direction else None
    with rejecting(KNOWN_CRASHES):
        P = matderiv.hvp(prog.root, wrt, direction=direction, where=prog.defs)
    if direction is None:
        taken = {str(s) for s in (*prog.defs, *program_symbols(prog))}
        used = sp.Tuple(P.result, *P.definitions.values()).free_symbols - set(P.definitions)
        new = {s for s in used if isinstance(s, sp.MatrixSymbol) and str(s) not in taken}
        assert len(new) <= 1, f"hvp introduces more than a direction: {new}"
        if not new and np.any(h):  # (H = 0: nothing to multiply, no direction shows)
            raise AssertionError(f"hvp's direction is not a symbol of its own: {show(P.result)}")
        direction = new.pop() if new else sp.MatrixSymbol("unseen", *var.shape)
    assert same_shape(direction.shape, var.shape), f"direction {direction} {direction.shape}"
    rng = np.random.default_rng(seed + 1)
    env = {**env, direction: rng.standard_normal(concrete(var.shape))}
    assert same_shape(P.shape, var.shape), f"hvp shape {P.shape} != {var.shape}"
    got = value(P, env)
    assert got.shape == concrete(var.shape), f"hvp evaluates to shape {got.shape}"
    generated_code_agrees(P, env, "hvp")
    vec_d = env[direction].reshape(-1, 1, order="F")
    want = (h @ vec_d).reshape(concrete(var.shape), order="F")
    assert_close(got, want, SAME_RTOL * 100, f"hvp vs H vec({direction})")
    if not depends_on(prog.root, var, prog.defs):
        assert not np.any(got), f"the root does not reach {var}, yet hvp = {show(P.result)}"


forms = st.sampled_from(("X", "vec", "vecT"))
layouts = st.sampled_from(LAYOUTS)


@budget(50)
@given(programs("matrix"), forms, layouts)
def test_matrix_valued_program(prog, form, layout):
    check_first_order(prog, form, layout)


@budget(50)
@given(programs("scalar"), forms, layouts)
def test_scalar_valued_program(prog, form, layout):
    check_first_order(prog, form, layout)


@budget(25)
@given(st.sampled_from(("matrix", "scalar")).flatmap(programs), forms, layouts)
def test_verify_over_program(prog, form, layout):
    """verify(d.result, ..., where=) is right; 2 d.result or d.result + 𝟏 is wrong
    (verify re-derives and checks at six random points: slow, hence a test of its own)."""
    check_first_order(prog, form, layout, with_verify=True)


@budget(40)
@given(programs("scalar"), st.booleans(), st.booleans())
def test_hessian_and_hvp_of_program(prog, as_vec, given_direction):
    check_second_order(prog, as_vec, given_direction)


@budget(25)
@given(st.data())
def test_root_independent_of_the_variable(data):
    """Through no path: zeros of the promised shapes (first and second order)."""
    kind = data.draw(st.sampled_from(("matrix", "scalar")))
    prog = data.draw(programs(kind, independent=True))
    assert not depends_on(prog.root, prog.var, prog.defs)
    form, layout = data.draw(forms), data.draw(layouts)
    check_first_order(prog, form, layout)
    if kind == "scalar":
        check_second_order(prog, data.draw(st.booleans()), data.draw(st.booleans()))


@budget(40)
@given(st.sampled_from(("matrix", "scalar")).flatmap(programs))
def test_strategy_builds_programs(prog):
    """The strategy itself: well-shaped trees, definitions over earlier symbols only."""
    seen = set()
    for symbol, definition in prog.defs.items():
        assert well_shaped(definition)
        if symbol.is_Matrix:
            assert same_shape(symbol.shape, definition.shape)
        assert not (definition.free_symbols & (set(prog.defs) - seen)), symbol
        seen.add(symbol)
    assert well_shaped(prog.root)
    assert well_shaped(prog.inlined)
    assert not (prog.inlined.free_symbols & set(prog.defs))
