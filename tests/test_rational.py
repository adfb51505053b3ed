"""Cancelling entrywise quotients (matderiv.rational) and what it does to derivations."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from matderiv import evaluate, gradient, hessian, hvp
from matderiv.rational import cancel_entrywise
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation, random_values

m, n = sp.symbols("m n", integer=True, positive=True)
DIMS = {m: 5, n: 3}
X, w, y = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("w", n, 1), sp.MatrixSymbol("y", m, 1)
q = sp.MatrixSymbol("q", m, 1)
E = (X * w).applyfunc(sp.exp)
ONE = sp.OneMatrix(m, 1)


def logistic():
    margins = (-sp.HadamardProduct(y, X * w)).applyfunc(sp.exp)
    return sp.OneMatrix(1, m) * (ONE + margins).applyfunc(sp.log)


def _values(*exprs, seed=0):
    return {**random_values(sp.Tuple(*exprs), DIMS, np.random.default_rng(seed)), **DIMS}


def _hadamard_powers(expr):
    return [a for a in sp.preorder_traversal(expr) if isinstance(a, sp.HadamardPower)]


def test_a_quotient_is_cancelled_and_keeps_its_value() -> None:
    # e/(1+e) - e∘e/(1+e)² = e/(1+e)²
    r1, r2 = sp.HadamardPower(ONE + E, -1), sp.HadamardPower(ONE + E, -2)
    expr = sp.HadamardProduct(
        sp.MatAdd(sp.HadamardProduct(E, r1), -sp.HadamardProduct(E, E, r2)), q
    )
    new, pairs = cancel_entrywise(expr)
    assert pairs and pairs[0][0] == expr
    assert sp.count_ops(new) < sp.count_ops(expr)
    # the sum of quotients is gone: the only sum left is e + 1
    sums = [a for a in sp.preorder_traversal(new) if isinstance(a, sp.MatAdd)]
    assert sums and all(ONE in a.args and len(a.args) == 2 for a in sums)
    exps = {a for a in sp.preorder_traversal(new) if isinstance(a, ElementwiseApplyFunction)}
    assert len(exps) == 1  # e, rebuilt once: equal occurrences stay equal (one CSE temp)
    assert [p.exp for p in _hadamard_powers(new)] == [-2]
    values = _values(expr)
    np.testing.assert_allclose(evaluate(new, values), evaluate(expr, values), rtol=1e-12)


def test_an_expression_without_a_quotient_is_left_alone() -> None:
    expr = sp.HadamardProduct(ONE - sp.HadamardProduct(E, E), q)
    new, pairs = cancel_entrywise(expr)
    assert new is expr and pairs == []


def test_a_quotient_that_does_not_get_shorter_is_left_alone() -> None:
    expr = sp.HadamardProduct(sp.HadamardPower(ONE + E, -1), q)
    assert cancel_entrywise(expr) == (expr, [])


def test_atoms_inside_stay_matrix_expressions() -> None:
    # (X w) and q are atoms: the cancelled form still multiplies X by w
    expr = sp.HadamardProduct(
        sp.HadamardPower(q, -1), sp.HadamardProduct(q, X * w), sp.HadamardPower(ONE + E, -1)
    )
    new, _ = cancel_entrywise(expr)
    assert new.has(X * w) and not new.has(q)
    values = _values(expr, seed=1)
    np.testing.assert_allclose(evaluate(new, values), evaluate(expr, values), rtol=1e-12)


def test_the_logistic_hessian_is_the_textbook_weighted_gram_matrix() -> None:
    d = hessian(logistic(), w)
    # cancelled to Xᵀ diag(e ∘ (e + 1)^∘-2 ∘ y∘y) X with e = exp∘(-y ∘ X w), which
    # sigmoid_of_exp writes as σ(1-σ) ∘ y∘y
    assert d.result.args[0] == X.T and d.result.args[-1] == X
    weight = d.result.args[1].arg
    assert isinstance(weight, sp.HadamardProduct)
    sums = [a for a in sp.preorder_traversal(weight) if isinstance(a, sp.MatAdd)]
    assert all(ONE in a.args and len(a.args) == 2 for a in sums)  # only 1 - σ
    assert fmt(weight) == "(1 - σ(-(X w)∘y))∘σ(-(X w)∘y)∘(y∘y)", fmt(weight)
    rules = {s.rule for s in d.steps if s.kind == "simplify"}
    assert "sigmoid of exp" in rules, rules
    check_derivation(d, DIMS, seed=2)
    values = _values(d.of, seed=3)
    Xv, wv, yv = (values[s] for s in (X, w, y))
    s = 1.0 / (1.0 + np.exp(-yv * (Xv @ wv)))
    np.testing.assert_allclose(
        evaluate(d, values), Xv.T @ (Xv * (yv**2 * s * (1 - s))), rtol=1e-10
    )


def test_a_difference_of_quotients_is_cancelled_as_one() -> None:
    """The softplus Hessian's weight came out as e∘(e + 1)^∘-1 - (e + 1)^∘-2∘e∘e: a sum,
    which was not a region to cancel. It is e∘(e + 1)^∘-2, which sigmoid_of_exp
    writes as σ∘(1 - σ)."""
    softplus = sp.Lambda(sp.Symbol("t"), sp.log(1 + sp.exp(sp.Symbol("t"))))
    d = hessian(sp.OneMatrix(1, m) * (X * w).applyfunc(softplus), w)
    check_derivation(d, DIMS, seed=4)
    weight = d.result.args[1].arg
    assert fmt(weight) == "(1 - σ(X w))∘σ(X w)", fmt(weight)
    values = _values(d.of, seed=5)
    e = np.exp(values[X] @ values[w])
    np.testing.assert_allclose(
        evaluate(d, values), values[X].T @ (values[X] * (e / (1 + e) ** 2)), rtol=1e-10
    )


def test_a_polynomial_in_function_values_is_factored_keeping_the_functions() -> None:
    """The sigmoid's Hessian weight σ∘(1 - σ)∘(1 - σ) - (1 - σ)∘σ∘σ is σ(1 - σ)(1 - 2σ),
    with σ kept (not written out through exp), and factors written 1 - a, not a - 1."""
    from matderiv.parse.expr_grammar import ELEMENTWISE
    from matderiv.render.unicode import fmt

    d = hessian(sp.OneMatrix(1, m) * (X * w).applyfunc(ELEMENTWISE["sigmoid"]()), w)
    check_derivation(d, DIMS, seed=6)
    weight = d.result.args[1].arg
    assert isinstance(weight, sp.HadamardProduct) and len(weight.args) == 3, fmt(weight)
    assert "exp" not in fmt(weight) and fmt(weight).count("σ(X w)") == 3
    assert "(1 - 2 σ(X w))" in fmt(weight) and "(1 - σ(X w))" in fmt(weight)  # not σ - 1
    values = _values(d.of, seed=7)
    s = 1 / (1 + np.exp(-(values[X] @ values[w])))
    expected = values[X].T @ (values[X] * (s * (1 - s) * (1 - 2 * s)))
    np.testing.assert_allclose(evaluate(d, values), expected, rtol=1e-10)


def test_the_logistic_gradient_and_hvp_are_cancelled_and_correct(monkeypatch) -> None:
    g, h = gradient(logistic(), w), hvp(logistic(), w)
    for d in (g, h):
        check_derivation(d, DIMS, seed=4)
    # the gradient: -Xᵀ((exp∘(y∘X w) + 1)^∘-1 ∘ y), one quotient, no e/(1+e); as σ:
    assert fmt(g.result) == "-Xᵀ (σ(-(X w)∘y)∘y)", fmt(g.result)
    # without the cancellation the same derivations are no shorter: sigmoid_of_exp now
    # finds σ(-u) in 1/(1 + e) either way (they were longer before it)
    monkeypatch.setattr("matderiv.engine.cancel_entrywise", lambda expr: (expr, []))
    g0, h0 = gradient(logistic(), w), hvp(logistic(), w)
    assert sp.count_ops(g.result) <= sp.count_ops(g0.result)
    assert sp.count_ops(h.result) <= sp.count_ops(h0.result)
    values = _values(h.result, seed=5)
    np.testing.assert_allclose(evaluate(h, values), evaluate(h0, values), rtol=1e-10)


def test_a_negated_factor_inside_exp_cancels_too() -> None:
    """exp((-y)∘(X w)), as the parser writes -y * (X @ w): inside exp the scalar form
    kept (-a)·b unevaluated, which hid exp(-ab)/(1 + exp(-ab)) from factor, so the
    gradient kept e/(1 + e) and the Hessian two terms.  Now both read as the
    textbook's, like the loss written -(y∘X w)."""
    margins = sp.HadamardProduct(-y, X * w).applyfunc(sp.exp)
    f = sp.OneMatrix(1, m) * (ONE + margins).applyfunc(sp.log)
    g, H = gradient(f, w), hessian(f, w)
    assert fmt(g.result) == "-Xᵀ (σ(-(X w)∘y)∘y)", fmt(g.result)
    assert sp.count_ops(g.result) == sp.count_ops(gradient(logistic(), w).result)
    assert sp.count_ops(H.result) == sp.count_ops(hessian(logistic(), w).result)
    assert not [a for a in sp.preorder_traversal(H.result.args[1]) if isinstance(a, sp.MatAdd)
                if ONE not in a.args]  # fmt: skip
    for d in (g, H):
        check_derivation(d, DIMS, seed=6)


def test_a_scalar_sum_of_quotients_is_factored() -> None:
    """The logistic loss of one sample, log(1 + exp(-wᵀx)): its Hessian's weight was
    e/(1 + e) - e²/(1 + e)² with e = exp(-wᵀx), printed -(σ(-wᵀx)² - σ(-wᵀx)); it is
    one quotient, σ(wᵀx)·σ(-wᵀx), the textbook's σ(1 - σ)."""
    x = sp.MatrixSymbol("x", n, 1)
    f = sp.log(1 + sp.exp(-(w.T * x)[0, 0]))
    H = hessian(f, w)
    assert fmt(H.result) == "σ(-wᵀ x)·σ(wᵀ x) x xᵀ", fmt(H.result)
    check_derivation(H, {n: 4}, seed=7)
    # the steps name exp(-wᵀx)² by the name of exp(-wᵀx) (they wrote exp(-2·v₁)), and
    # the factored weight keeps that exp (SymPy's factor turns it into exp(wᵀx), which
    # read 1/(v₃·(1 + 1/v₃)²) in those names)
    text = str(H)
    assert "exp(-2" not in text and "(1 + 1/v" not in text, text
    # a scalar sum with no quotient, or one that does not get shorter, is left alone
    u = sp.Trace(X.T * X)
    for total in (u**2 + u, 1 / (u + 1) + 1 / u):
        assert cancel_entrywise(total * sp.Identity(n)) == (total * sp.Identity(n), [])


def test_exp_of_u_and_of_minus_u_in_one_scalar_sum() -> None:
    """log(exp(u) + exp(-u)) (log cosh): the generator search compared two SymPy
    booleans (exp(u) and exp(-u) have exponents of one size) and raised TypeError."""
    x = sp.MatrixSymbol("x", n, 1)
    u = sp.Trace(w.T * x)
    check_derivation(gradient(sp.log(sp.exp(u) + sp.exp(-u)), w), {n: 3})
    check_derivation(hessian(sp.log(1 + sp.exp(u)) + sp.log(1 + sp.exp(-2 * u)), w), {n: 3})


# -- random entrywise quotients: the cancelled form has the same value -----------------

a_, b_ = sp.MatrixSymbol("a", m, 1), sp.MatrixSymbol("b", m, 1)
_E = a_.applyfunc(sp.exp)
_FACTORS = (
    a_,
    b_,
    _E,
    sp.HadamardPower(ONE + _E, -1),
    sp.HadamardPower(ONE + _E, -2),
    sp.HadamardPower(ONE + sp.HadamardProduct(b_, b_), -1),
)


@st.composite
def quotients(draw):
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        picks = draw(st.lists(st.sampled_from(_FACTORS), min_size=1, max_size=4))
        term = picks[0] if len(picks) == 1 else sp.HadamardProduct(*picks)
        coeff = draw(st.sampled_from((-2, -1, 1, 3)))
        terms.append(term if coeff == 1 else sp.MatMul(coeff, term))
    total = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    return sp.HadamardProduct(total, draw(st.sampled_from(_FACTORS)))


@settings(max_examples=60, deadline=None)
@given(quotients(), st.integers(0, 2**16))
def test_cancelling_random_entrywise_quotients_keeps_the_value(expr, seed) -> None:
    new, pairs = cancel_entrywise(expr)
    assert sp.count_ops(new) <= sp.count_ops(expr)
    if not pairs:
        assert new == expr
    rng = np.random.default_rng(seed)
    values = {a_: rng.standard_normal((5, 1)), b_: rng.standard_normal((5, 1)), **DIMS}
    np.testing.assert_allclose(
        evaluate(new, values), evaluate(expr, values), rtol=1e-9, atol=1e-12
    )


def test_a_quotient_inside_a_quotient_is_joined() -> None:
    """Student-t's gradient in μ printed -(-ν/2 - p/2)/(ν·(1 + δ/ν)) Σ⁻¹(x - μ); the
    textbook's (ν + p)/(ν + δ).  A mean (a quotient by a size) is left as it is."""
    from matderiv import gradient
    from matderiv.render.unicode import fmt
    from matderiv.testing import check_derivation

    p = sp.Symbol("p", integer=True, positive=True)
    Sigma, mu, x = (
        sp.MatrixSymbol("Sigma", p, p),
        sp.MatrixSymbol("mu", p, 1),
        sp.MatrixSymbol("x", p, 1),
    )
    nu = sp.Symbol("nu", positive=True)
    delta = sp.Trace((x - mu).T * Sigma.I * (x - mu))
    f = -sp.log(sp.Determinant(Sigma)) / 2 - (nu + p) / 2 * sp.log(1 + delta / nu)
    d = gradient(f, mu, symmetric=[Sigma])
    assert fmt(d.result) == "(ν + p)/(ν + (x - μ)ᵀ Σ⁻¹ (x - μ)) Σ⁻¹ (x - μ)"
    for dims in ({p: 2}, {p: 4}):
        check_derivation(d, dims)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("-y*log(sigmoid(w.T@x)) - (1-y)*log(1-sigmoid(w.T@x))", "(σ(wᵀ x) - y) x"),
        ("-log(sigmoid(y * w.T @ x))", "-σ(-wᵀ x·y)·y x"),
    ],
    ids=["cross-entropy", "±1 labels"],
)
def test_per_sample_logistic_gradients_read_as_textbooks_write_them(text, expected) -> None:
    """They printed v₃·((1 - y)·(exp(wᵀx) + 1) - (v₃ + 1)·y)/(v₃ + 1)² x with v₃ =
    exp(-wᵀx): a quotient in exp(u) and exp(-u), which is σ(u) - y split by y."""
    from matderiv import gradient
    from matderiv.parse.declarations import parse_shapes
    from matderiv.parse.expr import parse_expression
    from matderiv.render.unicode import fmt
    from matderiv.testing import check_derivation

    S = parse_shapes("w: n, x: n, y: scalar")
    d = gradient(parse_expression(text, S), S["w"])
    assert fmt(d.result) == expected
    for k in (2, 5):
        check_derivation(d, {sp.Symbol("n", integer=True, positive=True): k})


_A = sp.MatrixSymbol("A", 3, 3)
_x, _b, _c = (sp.MatrixSymbol(s, 3, 1) for s in "xbc")


def test_factor_is_never_given_a_polynomial_beyond_the_term_bound(monkeypatch) -> None:
    """tanh(e∘e + A e) nested: the weights of its gradient are products of sums nested
    k deep, 2ᵏ terms multiplied out in some 30 operations, which SymPy's factor
    expands (8 levels: 23 s; 12 did not finish).  Such parts are left as they are."""
    import matderiv.rational as rational

    largest = [0]
    factor = sp.factor

    def counting(expr, *args, **kwargs):
        largest[0] = max(largest[0], len(sp.Add.make_args(sp.expand(expr))))
        return factor(expr, *args, **kwargs)

    monkeypatch.setattr(rational.sp, "factor", counting)
    e = _x
    for _ in range(8):
        e = sp.MatAdd(sp.HadamardProduct(e, e), sp.MatMul(_A, e)).applyfunc(sp.tanh)
    d = gradient(sp.MatMul(_c.T, e), _A)
    assert 0 < largest[0] <= rational.MAX_TERMS, largest
    check_derivation(d, {})


def test_counting_operations_does_not_rebuild_nested_entrywise_functions(monkeypatch) -> None:
    """Whether a cancelled form is shorter was asked of SymPy's count_ops, which negates
    matrix operands, and a negated matrix expression is rebuilt (doit), each nested
    entrywise function fused into the next through SymPy's assumptions: exponential in
    the nesting (σ, log(1 + ·), exp(-·) 14 deep: 10 s)."""
    fusing = [0]
    doit = ElementwiseApplyFunction.doit

    def counting(self, **hints):
        fusing[0] += self.expr.has(ElementwiseApplyFunction)
        return doit(self, **hints)

    monkeypatch.setattr(ElementwiseApplyFunction, "doit", counting)
    from matderiv.named_functions import named_function

    t = sp.Symbol("t")
    e = _x
    for k in range(9):
        if k % 3 == 0:
            e = sp.MatAdd(sp.MatMul(_A, e), _b).applyfunc(named_function("sigmoid"))
        else:
            e = e.applyfunc(sp.Lambda(t, sp.log(1 + t) if k % 3 == 1 else sp.exp(-t)))
    d = gradient(sp.MatMul(_c.T, e), _A)
    assert fusing[0] == 0
    check_derivation(d, {})
