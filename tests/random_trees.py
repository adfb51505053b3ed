"""Random well-shaped matrix expression trees for the property tests (Hypothesis).

``expressions(shape, var, depth)`` builds a tree of an exact target shape over a pool
of symbolic dimensions (1, m, n, p, m·n).  Leaves: the variable (X: m x n, x: p x 1 or
w: 1 x 1), L X R sandwiches, constants, Identity, OneMatrix.  Nodes: MatMul, MatAdd,
scalar (number or trace) * matrix, Transpose, HadamardProduct, HadamardPower,
entrywise tanh / sin / exp / sigmoid / softsign, KroneckerProduct, Inverse and
MatPow(-1) of S + E Eᵀ/10 (S SPD), MatPow 2, vec, diag; each combinator either
through SymPy's canonicalising operators (as user code would) or as a bare
constructor (nested trees).  ``matrix_cases`` and ``scalar_cases`` pair a tree with
a variable form (X, vec(X), vec(Xᵀ)) and a layout.

EXCLUDED lists the constructs the strategy does not build, each for a known engine
bug (drop an entry once its bug is fixed).  Used by test_random_expressions,
test_codegen_numba and test_parse_unicode.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import HealthCheck, event, reject, settings
from hypothesis import strategies as st
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

import matderiv
from matderiv.nodes import Diagonal

m, n, p = sp.symbols("m n p", integer=True, positive=True)
ONE = sp.S.One
DIMS = (ONE, m, n, p, m * n)
SIZES = {m: 2, n: 3, p: 4}
LAYOUTS = ("numerator", "denominator")
_LABEL = {ONE: "1", m: "m", n: "n", p: "p", m * n: "mn"}

X = sp.MatrixSymbol("X", m, n)  # the matrix variable
x = sp.MatrixSymbol("x", p, 1)  # a vector variable
w = sp.MatrixSymbol("w", 1, 1)  # a scalar variable
VARIABLES = (X, x, w)

# Two constants of every shape in the pool, and a definite anchor for every square size
# (check_derivation draws S + K values, S SPD and K skew, for the symbols under an
# Inverse: xᵀ(S + K)x > 0, so S + K + E Eᵀ/10 is invertible and well conditioned).
CONSTANTS = {
    (r, c): tuple(sp.MatrixSymbol(f"{k}_{_LABEL[r]}{_LABEL[c]}", r, c) for k in "AB")
    for r in DIMS
    for c in DIMS
}
ANCHORS = {k: sp.MatrixSymbol(f"S_{_LABEL[k]}", k, k) for k in DIMS}

RATIONALS = (sp.Integer(2), sp.Rational(-1, 2), sp.Rational(3, 4), sp.Integer(-3))
t = sp.Dummy("t")
SIGMOID = sp.Lambda(t, 1 / (1 + sp.exp(-t)))
SOFTSIGN = sp.Lambda(t, t / (1 + t**2))
BOUNDED_FUNCTIONS = (sp.tanh, sp.sin, SIGMOID, SOFTSIGN)  # safe at any argument size

# Constructs the strategy leaves out, each for a known engine bug (or cost).
EXCLUDED: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    """What to differentiate; its repr survives SymPy printers that crash."""

    expr: Any
    wrt: Any
    layout: str

    def __repr__(self) -> str:
        return f"derive({show(self.expr)}, {show(self.wrt)}, {self.layout!r})"


def show(expr) -> str:
    try:
        return str(expr)
    except Exception:  # SymPy's str() runs doit(), which can crash (K2)
        return sp.srepr(expr)


def same_dim(a, b) -> bool:
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


def same_shape(shape, other) -> bool:
    return same_dim(shape[0], other[0]) and same_dim(shape[1], other[1])


def factorizations(d):
    """Ways to write the pool dimension d as a product d1·d2 of pool dimensions."""
    if d == ONE:
        return [(ONE, ONE)]
    if d == m * n:
        return [(m, n), (n, m)]
    return [(d, ONE), (ONE, d)]


def leaves(shape, var):
    """(variable-dependent, constant) leaves of exactly ``shape``."""
    r, c = shape
    vr, vc = var.shape
    dependent = []
    if same_shape(shape, var.shape):
        dependent.append(var)
    if same_shape(shape, (vc, vr)):
        dependent.append(var.T)
    if same_shape(shape, (vr * vc, ONE)) and not (shape == (ONE, ONE) and "vec_1x1" in EXCLUDED):
        dependent.append(matderiv.vec(var))
    dependent.append(CONSTANTS[(r, vr)][0] * var * CONSTANTS[(vc, c)][1])  # L X R
    dependent.append(CONSTANTS[(r, vc)][1] * var.T * CONSTANTS[(vr, c)][0])  # L Xᵀ R
    constant = [*CONSTANTS[shape], sp.OneMatrix(r, c)] + ([sp.Identity(r)] if r == c else [])
    return dependent, constant


def kron_splits(shape):
    """((r1, r2), (c1, c2)) making ``shape`` the Kronecker product (r1 x c1) ⊗ (r2 x c2)."""
    splits = [(rs, cs) for rs in factorizations(shape[0]) for cs in factorizations(shape[1])]
    if "kron_of_1x1s" in EXCLUDED and shape == (ONE, ONE):
        return []
    if "square_kron_of_nonsquare" in EXCLUDED and shape[0] == shape[1]:
        splits = [((r1, r2), (c1, c2)) for (r1, r2), (c1, c2) in splits if r1 == c1]
    return splits


def _kinds(shape, along_axes=False):
    r, c = shape
    kinds = ["matmul", "add", "scale", "transpose", "hadamard", "hpow", "func"]
    if along_axes:  # softmax and logsumexp, of a column or along an axis of a matrix
        kinds.append("softmax")
        if r == ONE or c == ONE:
            kinds.append("logsumexp")  # of each row (a column) or each column (a row)
    if kron_splits(shape):
        kinds.append("kron")
    if r == c:
        kinds += ["inverse", "matpow"]
    if r == c and not (r == ONE and "diag_1x1" in EXCLUDED):
        kinds.append("diag")
    if c == ONE and not (r == ONE and "vec_1x1" in EXCLUDED):
        kinds.append("vec")
    if c == ONE and r != ONE:
        kinds.append("diagonal")  # diag(X) of a square X: its diagonal
    return kinds


# Each combinator two ways: through SymPy's operators, which canonicalise as user
# code would (a*b, a.T, ...), or the bare constructor, which keeps the drawn tree.
EVALUATED = {
    "matmul": lambda *factors: functools.reduce(operator.mul, factors),
    "add": operator.add,
    "transpose": lambda a: a.T,
    "hadamard": sp.hadamard_product,
    "kron": sp.kronecker_product,
}
BARE = {
    "matmul": sp.MatMul,
    "add": sp.MatAdd,
    "transpose": sp.Transpose,
    "hadamard": sp.HadamardProduct,
    "kron": sp.KroneckerProduct,
}


def well_shaped(expr) -> bool:
    """Every product, sum and square-only node of ``expr`` conforms."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.MatMul):
            mats = [a for a in node.args if a.is_Matrix]
            if any(not same_dim(a.shape[1], b.shape[0]) for a, b in itertools.pairwise(mats)):
                return False
        elif isinstance(node, (sp.MatAdd, sp.HadamardProduct)):
            if any(not same_shape(a.shape, node.shape) for a in node.args):
                return False
        elif isinstance(node, (sp.Trace, sp.Inverse, sp.MatPow)) and not same_dim(
            *node.args[0].shape
        ):
            return False
    return True


def combine(draw, kind, *args):
    """kind(*args), canonicalised by SymPy or bare.  SymPy's canonicalisation
    sometimes crashes or breaks shapes (e.g. tr(u ⊗ vᵀ) -> tr(u) tr(vᵀ)): then bare."""
    if draw(st.booleans()):
        try:
            out = EVALUATED[kind](*args)
        except (TypeError, AttributeError, NotImplementedError, ValueError):
            event(f"SymPy failed to canonicalise a {kind}")
        else:
            if well_shaped(out):
                return out
            event(f"SymPy mis-shaped a canonicalised {kind}")
    return BARE[kind](*args)


@st.composite
def scalar_factor(draw, var, depth, along_axes=False):
    """A number or a trace.  (No entry E[0, 0]: SymPy's operators expand it to a Sum.)"""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(RATIONALS))
    k = draw(st.sampled_from(DIMS))
    return sp.Trace(draw(expressions((k, k), var, depth - 1, along_axes)))


@st.composite
def expressions(draw, shape, var, depth, along_axes=False):
    """A random expression of exactly ``shape`` with at most ``depth`` levels of operators
    (``along_axes``: softmax and logsumexp too, which the older batteries' fixed example
    sequences were drawn without)."""
    r, c = shape
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        dependent, constant = leaves(shape, var)  # two in three leaves hold the variable
        return draw(st.sampled_from(constant if draw(st.integers(0, 2)) == 2 else dependent))
    kind = draw(st.sampled_from(_kinds(shape, along_axes)))
    sub = depth - 1

    def child(s, d=sub):
        return draw(expressions(s, var, d, along_axes))

    if kind == "matmul":
        k = draw(st.sampled_from(DIMS))
        return combine(draw, "matmul", child((r, k)), child((k, c)))
    if kind in ("add", "hadamard"):
        return combine(draw, kind, child(shape), child(shape))
    if kind == "scale":
        return combine(draw, "matmul", draw(scalar_factor(var, sub, along_axes)), child(shape))
    if kind == "transpose":
        return combine(draw, "transpose", child((c, r)))
    if kind == "hpow":
        return sp.HadamardPower(child(shape), draw(st.sampled_from((2, 3))))
    if kind == "func":
        f = draw(st.sampled_from((*BOUNDED_FUNCTIONS, sp.exp)))
        arg = child(shape, min(sub, 1) if f is sp.exp else sub)  # exp: shallow arguments
        if "nested_elementwise" in EXCLUDED and isinstance(arg, ElementwiseApplyFunction):
            return arg
        try:
            return arg.applyfunc(f)
        except (NotImplementedError, TypeError, AttributeError):  # e.g. softsign of a 1 x 1
            event("SymPy failed to apply an entrywise function")
            return arg
    if kind == "kron":
        (r1, r2), (c1, c2) = draw(st.sampled_from(kron_splits(shape)))
        return combine(draw, "kron", child((r1, c1)), child((r2, c2)))
    if kind == "inverse":
        # S + E Eᵀ/10 with S definite (symmetric part's eigenvalues >= 1): always
        # invertible, well conditioned.
        e = child((r, draw(st.sampled_from(DIMS))))
        gram = combine(draw, "matmul", sp.Rational(1, 10), e, combine(draw, "transpose", e))
        spd = combine(draw, "add", ANCHORS[r], gram)
        return sp.Inverse(spd) if draw(st.booleans()) else sp.MatPow(spd, -1)
    if kind == "matpow":
        return sp.MatPow(child(shape), 2)
    if kind == "softmax":  # of a column, or of each row / column of a matrix
        axis = None if c == ONE else 1 if r == ONE else draw(st.sampled_from((0, 1)))
        return matderiv.softmax(child(shape, min(sub, 1)), axis=axis)  # exp: shallow
    if kind == "logsumexp":
        k = draw(st.sampled_from(DIMS[1:]))  # (one entry per row: refused)
        if c == ONE:  # each row's, of an r x k matrix
            return matderiv.logsumexp(child((r, k), min(sub, 1)), axis=1)
        return matderiv.logsumexp(child((k, c), min(sub, 1)), axis=0)
    if kind == "diag":
        return matderiv.diag(child((r, ONE)))
    if kind == "diagonal":
        return Diagonal(child((r, r)))
    r1, r2 = draw(st.sampled_from(factorizations(r)))  # vec: (r1·r2 x 1) from (r1 x r2)
    return matderiv.vec(child((r1, r2)))


@st.composite
def case_of(draw, var, expr):
    forms = (var, matderiv.vec(var), matderiv.vec(var.T))
    if var.shape == (ONE, ONE) and "vec_of_1x1_variable" in EXCLUDED:
        forms = (var,)
    return Case(expr, draw(st.sampled_from(forms)), draw(st.sampled_from(LAYOUTS)))


@st.composite
def matrix_cases(draw, along_axes=False):
    var = draw(st.sampled_from(VARIABLES))
    shape = (draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS)))
    return draw(case_of(var, draw(expressions(shape, var, 5, along_axes))))


@st.composite
def scalar_cases(draw, along_axes=False):
    """Scalar roots: tr(E), aᵀ E b, ‖E‖, a 1 x 1 expression or its entry, maybe through f."""
    var = draw(st.sampled_from(VARIABLES))
    kind = draw(st.sampled_from(("trace", "bilinear", "norm", "one_by_one", "element")))
    if kind == "trace":
        k = draw(st.sampled_from(DIMS))
        root = sp.Trace(draw(expressions((k, k), var, 5, along_axes)))
    elif kind == "bilinear":
        k1, k2 = draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS))
        a, b = CONSTANTS[(k1, ONE)][0], CONSTANTS[(k2, ONE)][1]
        root = combine(draw, "matmul", a.T, draw(expressions((k1, k2), var, 4, along_axes)), b)
    elif kind == "norm":  # ‖E‖ (Frobenius for a matrix): not differentiable at E = 0 only
        shape = (draw(st.sampled_from(DIMS)), draw(st.sampled_from(DIMS)))
        root = matderiv.norm(draw(expressions(shape, var, 4, along_axes)))
    else:
        root = draw(expressions((ONE, ONE), var, 5, along_axes))
        if kind == "element":
            root = MatrixElement(root, 0, 0)
    return draw(case_of(var, wrapped(draw, root, kind)))


def wrapped(draw, root, kind):
    """A scalar root as it is, or through tanh or a square (of its entry when it is a
    1 x 1 matrix, i.e. unless ``kind`` is "trace" or "element")."""
    wrap = draw(st.sampled_from(("none", "tanh", "square")))
    if wrap == "none":
        return root
    scalar = root if kind in ("trace", "element", "norm") else MatrixElement(root, 0, 0)
    return sp.tanh(scalar) if wrap == "tanh" else scalar**2


def var_of(wrt):
    return next(v for v in VARIABLES if v in wrt.free_symbols)


# MATDERIV_HUNT=N: N times the examples, drawn at random (a new sample each run), to
# hunt for bugs; unset, every run draws the same examples (CI).
HUNT = int(os.environ.get("MATDERIV_HUNT") or 0)


def budget(examples):
    """Reproducible (derandomized, no database) and within the file's 90 s budget; with
    MATDERIV_HUNT=N set, N times as many examples, at random."""
    return settings(
        max_examples=examples * max(HUNT, 1),
        deadline=None,
        derandomize=not HUNT,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# -- shared by the property tests ------------------------------------------------------

Crashes = dict[str, tuple[tuple[type[Exception], ...], str]]


def known_crash(exc: BaseException, crashes: Crashes) -> str | None:
    """The name of the entry of ``crashes`` (name -> (exception types, a frame of the
    traceback: a function name, "file.py:function" or a file name such as
    "<matderiv f>")) that ``exc`` is, or None."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = (
        {f.name for f in frames}
        | {f"{Path(f.filename).name}:{f.name}" for f in frames}
        | {f.filename for f in frames}
    )
    for name, (types, frame) in crashes.items():
        if isinstance(exc, types) and frame in where:
            return name
    return None


@contextlib.contextmanager
def rejecting(crashes: Crashes) -> Iterator[None]:
    """A crash listed in ``crashes`` rejects the example (a Hypothesis event names
    it); any other fails it."""
    try:
        yield
    except Exception as exc:
        name = known_crash(exc, crashes)
        if name is None:
            raise
        event(f"known crash: {name}")
        reject()


def largest_value(expr: Any, env: Any) -> float:
    """The largest magnitude of any matrix or trace subexpression of ``expr`` (or inf):
    the property tests skip trees whose values explode, where float64 finite
    differences cannot be trusted."""
    largest = 0.0
    for node in sp.preorder_traversal(expr):
        if node.is_Matrix or isinstance(node, sp.Trace):
            value = np.abs(np.asarray(matderiv.evaluate(node, env), dtype=float))
            largest = max(largest, float(np.max(value, initial=0.0)))
    return largest if np.isfinite(largest) else np.inf
