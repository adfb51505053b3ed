"""Named products and sums stay operands (matderiv.regroup).

SymPy flattens yᵀ z with z = W₂ᵀ v into yᵀ W₂ᵀ v, and a + c with a = A x + b into
A x + b + c.  With names= (or a program's definitions) the steps must go through
the named node: v := -yᵀ z, ∂L/∂z = softmax(z) - y.  Every derivative is checked
against central differences at distinct sizes.
"""

from __future__ import annotations

import sympy as sp

from matderiv import derive, gradient
from matderiv.parse.declarations import parse_shapes
from matderiv.parse.expr import parse_program
from matderiv.regroup import regroup
from matderiv.render.rows import title
from matderiv.scalarize import scalarize
from matderiv.testing import check_derivation


def _program(text: str, shapes: str):
    symbols = parse_shapes(shapes)
    return parse_program(text, symbols), symbols


def _dims(symbols, sizes):
    dims = {}
    for s in symbols.values():
        for d in s.shape:
            for f in sp.sympify(d).free_symbols:
                dims[f] = sizes[str(f)]
    return dims


def _defined(d) -> dict[str, str]:
    return {s.lhs: str(s.expr) for s in d.steps if s.kind == "define"}


def test_softmax_regression_goes_through_the_named_logits() -> None:
    prog, sym = _program(
        "z = W2.T @ tanh(W1.T @ x); L = logsumexp(z) - y.T @ z",
        "W1: n x h, W2: h x k, x: n, y: k",
    )
    dims = _dims(sym, {"n": 4, "h": 3, "k": 5})
    for wrt in (sym["W1"], sym["W2"]):
        d = gradient(prog.expr, wrt, names=prog.names)
        check_derivation(d, dims)
        assert "y.T*z" in _defined(d).values(), _defined(d)  # L := v₂ - v₁, v₁ := yᵀ z
        chains = {s.lhs: s for s in d.steps if s.kind == "chain"}
        z = sym["W2"].T * sp.MatrixSymbol("t", 3, 1)  # only for its shape
        assert chains["∂L/∂z"].shape == (z.shape[0], 1)
        assert str(chains["∂L/∂z"].expr) in ("-y + softmax(z)", "softmax(z) - y")
        assert d.steps[-1].lhs.startswith("∂L/")  # the root keeps its name


def test_a_named_sum_inside_a_larger_sum_is_one_operand() -> None:
    prog, sym = _program("a = A @ x + b; f = sum(tanh(a + c))", "A: m x n, x: n, b: m, c: m")
    d = gradient(prog.expr, sym["x"], names=prog.names)
    check_derivation(d, _dims(sym, {"m": 3, "n": 4}))
    defined = _defined(d)
    assert any(v in ("a + c", "c + a") for v in defined.values()), defined
    local = {s.lhs for s in d.steps if s.kind == "local"}
    assert any(label.endswith("/∂a") for label in local), local


def test_a_transposed_run_is_the_named_product_transposed() -> None:
    """xᵀ Aᵀ y with z = A x is zᵀ y."""
    n = sp.Symbol("n", integer=True, positive=True)
    A, x, y = (sp.MatrixSymbol(s, n, n if s == "A" else 1) for s in "Axy")
    z = A * x
    d = derive(z.T * y, x, names={"z": z})
    check_derivation(d, {n: 4})
    assert "z.T*y" in _defined(d).values(), _defined(d)


def test_regrouping_keeps_values_and_leaves_unnamed_expressions_alone() -> None:
    n = sp.Symbol("n", integer=True, positive=True)
    A, B, C = (sp.MatrixSymbol(s, n, n) for s in "ABC")
    expr = scalarize(A * B * C + A * B)
    grouped = regroup(expr, [scalarize(B * C)])
    assert grouped != expr and grouped.doit() == expr.doit()
    assert regroup(expr, []) is expr
    assert regroup(expr, [scalarize(C * A)]) == expr  # no such run
    # a name for the whole product is not nested in itself
    assert regroup(scalarize(A * B), [scalarize(A * B)]) == scalarize(A * B)


def test_a_named_product_with_a_number_is_found_under_another_number() -> None:
    """mu = sum(x)/n; c = x - mu: SymPy wrote c as x + 𝟏(-1/n 𝟏ᵀx), so mu never
    showed (v₁ := -1/n 𝟏ᵀx).  -1/n 𝟏ᵀx is -mu: c := x - v with v := 𝟏 mu."""
    prog, sym = _program(
        "mu = sum(x)/n; c = x - mu; s = sum(c^2)/n; y = c / sqrt(s + 0.001); L = g.T @ y",
        "x: n, g: n",
    )
    d = gradient(prog.expr, sym["x"], names=prog.names)
    check_derivation(d, _dims(sym, {"n": 5}))
    defined = _defined(d)
    assert "mu" in defined and any(v.endswith("*mu") for v in defined.values()), defined
    assert defined["c"] in ("-v_1 + x", "x - v_1"), defined


def test_a_named_power_is_found_under_another_exponent() -> None:
    """s = sqrt(cᵀc/n + 1) used as c/s: SymPy merged 1/s into (cᵀc/n + 1)^(-1/2), so s
    was gone from the steps and the result.  Now s := sqrt(v), v := 1/s, and the
    result reads 1/s (g - ... /(n·s²) c)."""
    prog, sym = _program(
        "mu = sum(x)/n; c = x - mu; s = sqrt(c.T @ c / n + 1); L = g.T @ (c / s)", "x: n, g: n"
    )
    d = gradient(prog.expr, sym["x"], names=prog.names)
    check_derivation(d, _dims(sym, {"n": 5}))
    defined = _defined(d)
    assert "s" in defined and "1/s" in defined.values(), defined
    head = title(d)  # its repeated term -(gᵀ c)/(n·s²) c named r after the formula
    assert head.startswith("∂L/∂x = 1/s (") and "s²" in head and "sqrt" not in head, head


def test_a_named_scaled_vector_is_found_in_a_product() -> None:
    """y = x/‖x‖ in cᵀ y: SymPy wrote 1/‖x‖ cᵀ x, so y never showed and names= warned
    that it "does not occur".  A named scalar times one matrix is found when the
    scalar is not a number (2 x is not looked for: 3 Aᵀ x would read 3/2 Aᵀ y)."""
    import warnings

    n = sp.Symbol("n", integer=True, positive=True)
    x, c = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("c", n, 1)
    A = sp.MatrixSymbol("A", n, n)
    y = x / sp.sqrt(sp.Trace(x.T * x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = gradient(c.T * y, x, names={"y": y})
    assert _defined(d)["f"] in ("c.T*y", "y.T*c"), _defined(d)
    check_derivation(d, {n: 4})
    twice = 3 * A.T * x
    assert regroup(scalarize(twice), [scalarize(2 * x)]) == scalarize(twice)
