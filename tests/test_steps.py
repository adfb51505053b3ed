"""Derivation steps: their kinds, order and shapes, over the whole identity battery."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import sympy as sp
from test_identities_linear import ROWS as LINEAR
from test_identities_nonlinear import ROWS as NONLINEAR

from matderiv import derive, evaluate, gradient
from matderiv.examples import rnn_loss, rnn_step
from matderiv.parse.expr import parse_expression
from matderiv.testing import check_derivation, random_values

ROWS = LINEAR + NONLINEAR
ORDER = ["define", "local", "chain", "simplify", "result"]


def _check_definitions_in_order(d) -> None:
    """Each definition uses only names defined before it (the forward pass reads in
    order), and only those its derivative goes through."""
    defined = [s.lhs for s in d.steps if s.kind == "define"]
    seen: set[str] = set()
    for step in d.steps:
        if step.kind != "define":
            continue
        # no alias lines v₂ := v₁ (a 1 x 1 v₁ used as a scalar is shown as v₁)
        assert str(step.expr) not in defined or step.lhs in map(str, d.where), step
        used = {str(a) for a in sp.sympify(step.expr).free_symbols}
        later = (used & set(defined)) - seen - {step.lhs}
        assert not later, f"{step.lhs} := {step.expr} uses {later} before it is defined"
        seen.add(step.lhs)


def _bare(label: str) -> str:
    """∂f/∂vec(X) and ∂f/∂X: one derivative, arranged two ways."""
    return re.sub(r"vec\(([^()]*(?:\([^()]*\))?[^()]*)\)", r"\1", label)


def _same(a, b) -> bool:
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


def _check_steps(d) -> None:
    _check_definitions_in_order(d)
    kinds = [s.kind for s in d.steps]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    assert [ORDER.index(k) for k in kinds] == sorted(ORDER.index(k) for k in kinds)
    result = d.steps[-1]
    assert _same(result.shape[0], d.shape[0]) and _same(result.shape[1], d.shape[1])
    for step in d.steps:
        assert step.lhs or step.kind == "simplify"
        if step.kind in ("local", "chain"):
            assert step.layout == d.layout and step.rule
        if step.kind == "local":
            d_node, differential = step.differential
            assert str(d_node).startswith("d") and differential is not None
        if step.kind != "chain":
            continue
        for term in step.factors:
            for left, right in itertools.pairwise(term):
                assert _same(left.shape[1], right.shape[0]), (step.lhs, term)
            assert _same(term[0].shape[0], step.product_shape[0])
            assert _same(term[-1].shape[1], step.product_shape[1])
        # a sum of paths never names its own left-hand side: ∂f/∂x = ∂f/∂x + ... is
        # df/dx = ∂f/∂x + ... (the total derivative from the partial ones)
        labels = {_bare(f.label) for term in step.factors for f in term}
        assert len(step.factors) < 2 or _bare(step.lhs) not in labels, step
        rows, cols = step.product_shape
        if d.mode == "reverse":  # a gradient: a row (numerator) or a column (denominator)
            assert (rows == 1) if d.layout == "numerator" else (cols == 1)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize("spec", ROWS, ids=lambda r: r.id)
def test_steps_of_every_identity(spec, layout) -> None:
    expr, wrt, *_ = spec.build()
    _check_steps(derive(expr, wrt, layout))


def test_forward_chain_multiplies_in_layout_order() -> None:
    ex = rnn_step()
    num = derive(ex.expr, ex.wrt, "numerator", names=ex.names)
    den = derive(ex.expr, ex.wrt, "denominator", names=ex.names)
    (n_step,) = [s for s in num.steps if s.kind == "chain" and s.lhs == "∂h_1/∂vec(W_hx)"]
    (d_step,) = [s for s in den.steps if s.kind == "chain" and s.lhs == "∂h_1/∂vec(W_hx)"]
    # numerator: ∂h₁/∂a₁ · ∂a₁/∂vec(W); denominator: ∂a₁/∂vec(W) · ∂h₁/∂a₁
    assert [f.label for f in n_step.factors[0]] == ["∂h_1/∂a_1", "∂a_1/∂vec(W_hx)"]
    assert [f.label for f in d_step.factors[0]] == ["∂a_1/∂vec(W_hx)", "∂h_1/∂a_1"]
    n_h, n_i = sorted(ex.dims, key=str)
    assert d_step.factors[0][0].shape == (n_h * n_i, n_h)
    assert d_step.factors[0][1].shape == (n_h, n_h)
    assert d_step.product_shape == (n_h * n_i, n_h)


def test_reverse_chain_for_a_scalar_loss() -> None:
    ex = rnn_loss()
    d = gradient(ex.expr, ex.wrt, names=ex.names)
    chain = {s.lhs: s for s in d.steps if s.kind == "chain"}
    step = chain["∂L/∂a_1"]
    assert [f.label for f in step.factors[0]] == ["∂h_1/∂a_1", "∂L/∂h_1"]
    w = chain["∂L/∂W_hx"]
    assert w.shape == ex.wrt.shape and w.product_shape[1] == 1
    assert "de-vectorised" in w.note
    numerator = derive(ex.expr, ex.wrt, "numerator", names=ex.names)
    step = {s.lhs: s for s in numerator.steps if s.kind == "chain"}["∂L/∂a_1"]
    assert [f.label for f in step.factors[0]] == ["∂L/∂h_1", "∂h_1/∂a_1"]


def test_user_names_and_generated_names() -> None:
    ex = rnn_loss()
    d = gradient(ex.expr, ex.wrt, names=ex.names)
    defined = [s.lhs for s in d.steps if s.kind == "define"]
    assert {"a_1", "h_1", "L"} <= set(defined)
    assert any(name.startswith("v_") for name in defined)
    simplify_steps = [s for s in d.steps if s.kind == "simplify"]
    assert all(s.before is not None and s.rule for s in simplify_steps)


@pytest.mark.parametrize(
    ("inputs", "wrt_name"),
    [(("v_1", "A"), "v_1"), (("f", "A", "x"), "x"), (("v_1", "v_2", "f", "F", "A", "x"), "x")],
)
def test_generated_names_never_repeat_a_symbol_of_the_user(inputs, wrt_name) -> None:
    """An input called v_1 or f stays the only thing called that in the steps."""
    n = sp.Symbol("n", integer=True, positive=True)
    sym = {k: sp.MatrixSymbol(k, n, n if k == "A" else 1) for k in inputs}
    vectors = [s for k, s in sym.items() if k != "A"]
    f = sp.MatAdd(*(v.T * sym["A"] * vectors[0] for v in vectors))
    d = derive(f, sym[wrt_name])
    defined = [s.lhs for s in d.steps if s.kind == "define"]
    assert defined and not set(defined) & set(inputs), defined
    assert len(set(defined)) == len(defined)
    assert not d.steps[-1].lhs.startswith(tuple(f"∂{k}/" for k in inputs))


@pytest.mark.parametrize("dim", ["v_1", "v_2", "f", "F", "Y"])
@pytest.mark.parametrize("output", ["scalar", "matrix"])
def test_generated_names_never_repeat_a_dimension(dim: str, output: str) -> None:
    """A dimension called v_1 or f stays the only thing called that, as an input does:
    v₁ := Xᵀ A X (q × q) beside a dimension v₁ wrote I_{v₁} for two things."""
    n, q = sp.symbols(f"n {dim}", integer=True, positive=True)
    A, Xq = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("X", n, q)
    product = (Xq.T * A * Xq).applyfunc(sp.tanh)
    d = derive(sp.Trace(product) if output == "scalar" else product, Xq)
    defined = [s.lhs for s in d.steps if s.kind == "define"]
    assert defined and dim not in defined, defined
    assert not d.steps[-1].lhs.startswith((f"∂{dim}/", f"∂vec({dim})/", f"d{dim}/"))
    assert check_derivation(d, {n: 3, q: 2}, seed=5) < 1e-5  # finite differences


def test_an_expression_without_the_variable_is_labelled_by_name_not_by_sympy() -> None:
    n, m = sp.symbols("n m", integer=True, positive=True)
    A, x, y = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", m, 1)
    assert derive(x.T * A * x, y).steps[-1].lhs == "∂f/∂y"
    assert derive(A * x, y).steps[-1].lhs == "∂Z/∂y"  # Z, not Y beside the input y
    f = sp.MatrixSymbol("f", 1, 1)
    assert derive(x.T * A * x + f, y).steps[-1].lhs == "∂F/∂y"


def test_a_definition_shows_the_operands_its_derivative_goes_through() -> None:
    """yᵀ A x beside exp(A x), where A x is v₁: the forward pass showed v₄ := yᵀ v₁,
    so ∂f/∂v₁ = exp(v₁) read as missing + y; its derivative goes through A and x.
    (For softmax regression the definition even used v₃ before defining it.)"""
    m, n, k = sp.symbols("m n k", integer=True, positive=True)
    A, x, y = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", m, 1)
    ax = A * x
    d = gradient(y.T * ax + sp.OneMatrix(1, m) * ax.applyfunc(sp.exp), x)
    _check_steps(d)
    shown = {s.lhs: str(s.expr) for s in d.steps if s.kind == "define"}
    assert any(v == "y.T*A*x" for v in shown.values()), shown
    W, v, t = sp.MatrixSymbol("W", n, k), sp.MatrixSymbol("v", n, 1), sp.MatrixSymbol("t", k, 1)
    loss = parse_expression("logsumexp(W.T @ v) - t.T @ W.T @ v", {"W": W, "v": v, "t": t})
    _check_steps(gradient(loss, W))


def test_labels_name_the_layout_and_the_variable() -> None:
    """In numerator layout a matrix adjoint is shaped like the transpose (it said
    'shaped like X' beside an n x m shape); a forward-mode tangent of a where= program
    is by the variable (it said vec(x) whatever the variable)."""
    m, n, p = sp.symbols("m n p", integer=True, positive=True)
    A, X, B = sp.MatrixSymbol("A", p, m), sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("B", n, p)
    d = derive(sp.Trace(A * X * B), X)
    notes = [s.note for s in d.steps if s.kind == "chain" and "de-vectorised" in s.note]
    assert notes and all(note.endswith("ᵀ") for note in notes), notes
    U, x, h = sp.MatrixSymbol("U", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("h", n, 1)
    j = derive((U * h).applyfunc(sp.exp), U, where={h: (U * x).applyfunc(sp.tanh)})
    tangents = [s.note for s in j.steps if s.kind == "program" and "tangent" in s.note]
    assert tangents and all("vec(U)ᵀ" in t for t in tangents), tangents


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_jacobian_by_vec_of_the_transpose_shows_the_change_of_variable(layout) -> None:
    """The RNN step's chain rule ends at ∂h₁/∂vec(W_hx); the answer is by vec(W_hxᵀ).
    The K_{nᵢ,nₕ} that converts it appeared only inside a simplification; a step
    now shows the product, and its value (names written out) is the result's."""
    step = rnn_step()
    d = derive(step.expr, step.wrt, layout, names=step.names)
    _check_steps(d)
    (change,) = [s for s in d.steps if s.rule == "change of variable"]
    assert any(f.label.startswith("K_{") for term in change.factors for f in term)
    shown = change.expr.xreplace(
        {sp.MatrixSymbol(name, *value.shape): value for name, value in d.names.items()}
    )
    dims = {dim: 3 + i for i, dim in enumerate(sorted(step.dims, key=str))}
    values = {**random_values(d.result, dims, np.random.default_rng(0)), **dims}
    np.testing.assert_allclose(evaluate(shown, values), evaluate(d.result, values), atol=1e-12)


def test_a_transposed_symbol_is_shown_as_itself_not_named() -> None:
    """Wₕₓᵀ in the RNN step is no v₁ := Wₕₓᵀ: the steps read ∂vec(Wₕₓᵀ)/∂vec(Wₕₓ) = K,
    without the tautology dWₕₓᵀ = dWₕₓᵀ, and v₁ := Wₕₓᵀ e₁."""
    ex = rnn_step()
    d = derive(ex.expr, ex.wrt, "denominator", names=ex.names)
    (W,) = [s for s in ex.expr.atoms(sp.MatrixSymbol) if s.name == "W_hx"]
    defined = {s.lhs: s.expr for s in d.steps if s.kind == "define"}
    assert W.T not in defined.values()
    assert any(e.has(W.T) and e != W.T for e in defined.values())
    local = {s.lhs: s for s in d.steps if s.kind == "local"}
    step = local[f"∂vec({W}ᵀ)/∂vec({W})"]
    assert step.rule == "transpose" and step.shown_differential is None
    assert all(s.shown_differential is not None for s in local.values() if s is not step)
    text = str(d)  # printed: subscripts
    assert "∂vec(Wₕₓᵀ)/∂vec(Wₕₓ)" in text and ".T" not in text


def test_simplifications_read_in_the_orientation_of_the_chain_steps() -> None:
    """Forward mode multiplies numerator Jacobians; a denominator derivation shows
    their transposes, and its simplifications must too: K (e₁ ⊗ I) ⇒ (I ⊗ e₁) K, not
    (e₁ᵀ ⊗ I) K ⇒ I ⊗ e₁ᵀ.  Likewise reverse mode in numerator layout: xᵀAᵀ + xᵀA."""
    ex = rnn_step()
    n_h, n_i = sorted(ex.dims, key=str)
    for layout, shown, hidden in [
        ("denominator", (n_h * n_i, n_h), (n_h, n_h * n_i)),
        ("numerator", (n_h, n_h * n_i), (n_h * n_i, n_h)),
    ]:
        d = derive(ex.expr, ex.wrt, layout, names=ex.names)
        shapes = [tuple(s.shape) for s in d.steps if s.kind == "simplify"]
        assert shown in shapes and hidden not in shapes, (layout, shapes)
        assert all(s.rule != "vec of vector" for s in d.steps)  # vec(v) = v: notation
    n = sp.Symbol("n", integer=True, positive=True)
    A, x = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1)
    d = derive(x.T * A * x, x)  # numerator: the steps show rows
    (step,) = [s for s in d.steps if s.kind == "simplify"]
    chain = [s for s in d.steps if s.kind == "chain"][-1]
    assert tuple(step.shape) == (1, n) and step.expr == chain.expr == d.result


def test_a_sum_of_paths_through_the_variable_is_a_total_derivative() -> None:
    """f = xᵀ A x uses x directly and through xᵀ: the chain rule reads
    df/dx = ∂f/∂x + ∂f/∂vec(xᵀ) · ∂vec(xᵀ)/∂x, and so does the result; a step with one
    path keeps ∂ (∂f/∂xᵀ = ∂f/∂vec(xᵀ))."""
    n = sp.Symbol("n", integer=True, positive=True)
    A, x = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1)
    for layout in ("numerator", "denominator"):
        d = derive(x.T * A * x, x, layout)
        chains = {s.lhs: s for s in d.steps if s.kind == "chain"}
        total = chains["df/dx"]
        labels = [f.label for term in total.factors for f in term]
        assert len(total.factors) == 2 and "∂f/∂x" in labels
        assert "∂f/∂xᵀ" in chains and d.steps[-1].lhs == "df/dx"
        assert r"\frac{d f}{d x}" in d.to_latex() and str(d).startswith("df/dx = ")
    # no path through x twice: the partial notation stays
    assert derive(A * x, x).steps[-1].lhs.startswith("∂")


def test_a_one_by_one_matrix_used_as_a_scalar_has_no_line_of_its_own() -> None:
    """exp(xᵀx) read v₁ := xᵀx, v₂ := v₁, f := exp(v₂) with ∂v₂/∂v₁ = 1 [as scalar]."""
    n = sp.Symbol("n", integer=True, positive=True)
    x, b = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    for text in ("exp(x.T @ x)", "(x.T @ b)**2 / (x.T @ x)"):
        d = gradient(parse_expression(text, {"x": x, "b": b}), x)
        assert not any(s.rule == "as scalar" for s in d.steps), text
        defined = [str(s.expr) for s in d.steps if s.kind == "define"]
        assert ("x.T*x" in defined and "exp(v_1)" in defined) or "exp" not in text, defined
        simplify_steps = [s for s in d.steps if s.kind == "simplify"]
        assert all(s.before != s.expr for s in simplify_steps)  # no v₁ ⇒ v₁


def test_a_term_with_a_number_is_no_node_of_its_own() -> None:
    """1 - p read v₂ := -p, v₃ := 1 + v₂; the sum's operand is p: v₂ := 1 - p with
    ∂v₂/∂p = -I from dv₂ = -dp.  Checked against central differences."""
    from matderiv.parse.declarations import parse_shapes
    from matderiv.parse.expr import parse_program
    from matderiv.render.unicode import fmt
    from matderiv.testing import check_derivation

    s = parse_shapes("X: m x n, w: n, y: m")
    p = parse_program("p = sigmoid(X @ w); L = -(y.T @ log(p) + (1 - y).T @ log(1 - p))", s)
    d = gradient(p.expr, s["w"], names=p.names)
    m, n = s["X"].shape
    check_derivation(d, {m: 4, n: 3})
    defined = {st.lhs: fmt(st.expr) for st in d.steps if st.kind == "define"}
    assert "1 - p" in defined.values() and "-p" not in defined.values(), defined
    (local,) = [
        st for st in d.steps if st.kind == "local" and st.lhs.endswith("/∂p") and st.rule == "sum"
    ]
    assert str(local.expr) == "-I"


def test_a_total_derivative_is_used_by_its_name_in_later_steps() -> None:
    """(Ax - b)ᵀ(Ax - b): df/dv₂ = ∂f/∂v₂ + ... sums two paths; the next step used it
    as ∂f/∂v₂, which the local step had defined as one path only."""
    n = sp.Symbol("n", integer=True, positive=True)
    A, x, b = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b", n, 1)
    for layout in ("numerator", "denominator"):
        d = derive((A * x - b).T * (A * x - b), x, layout)
        chains = [s for s in d.steps if s.kind == "chain"]
        totals = {s.lhs for s in chains if s.lhs.startswith("d")}
        assert totals == {"df/dv_2"}, [s.lhs for s in chains]
        used = [f.label for s in chains for term in s.factors for f in term]
        assert "df/dv_2" in used and "∂f/∂v_2" in used  # the total once, the partial in its sum
        later = [s for s in chains if any(f.label == "df/dv_2" for t in s.factors for f in t)]
        assert [s.lhs for s in later] == ["∂f/∂v_1"]


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_the_sum_rule_with_numbers_on_its_terms_matches_finite_differences(layout) -> None:
    """d(A x - 3 B exp(x) + 2 C x) through the operands x, B exp(x) and C x with the
    numbers on the sum rule's terms, in both layouts, at distinct sizes."""
    from matderiv.testing import check_derivation

    m, n = sp.symbols("m n", integer=True, positive=True)
    A, B, C = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("B", m, n), sp.MatrixSymbol("C", m, n)
    x = sp.MatrixSymbol("x", n, 1)
    y = (A * x - 3 * B * x.applyfunc(sp.exp) + 2 * C * x).applyfunc(sp.tanh)
    d = derive(y, x, layout)
    check_derivation(d, {m: 4, n: 3})
    sums = [s for s in d.steps if s.kind == "local" and s.rule == "sum"]
    assert {str(s.expr) for s in sums} >= {"-3*I", "2*I"}, [str(s.expr) for s in sums]


def test_unit_cases_of_the_vec_forms_are_not_steps() -> None:
    """1 ⊗ K ⇒ K and tr(1) ⇒ 1 were simplification steps whose left sides no step
    shows (artifacts of writing each derivative in Kronecker form); K_{n,1} ⇒ I_n
    stays (the RNN step's (I ⊗ e₁) K_{nₕ,1} shows it)."""
    from matderiv import softmax

    d_, t = sp.symbols("d t", integer=True, positive=True)
    q, K, V = sp.MatrixSymbol("q", d_, 1), sp.MatrixSymbol("K", t, d_), sp.MatrixSymbol("V", t, d_)
    attention = derive(V.T * softmax(K * q), q)
    X, y = sp.MatrixSymbol("X", t, d_), sp.MatrixSymbol("y", t, 1)
    Kxx = X * X.T + sp.Identity(t)
    gp = gradient(sp.Trace(y.T * Kxx.I * y) + sp.log(sp.Determinant(Kxx)), X)
    for d in (attention, gp):
        rules = {s.rule for s in d.steps if s.kind == "simplify"}
        befores = [str(s.before) for s in d.steps if s.kind == "simplify"]
        assert not rules & {"kron unit factor", "trace of scalar"}, rules
        assert "Trace(1)" not in befores, befores
    ex = rnn_step()
    step = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
    assert "commutation trivial" in {s.rule for s in step.steps}


def test_rules_named_after_people_are_capitalised() -> None:
    n = sp.Symbol("n", integer=True, positive=True)
    a, x = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("x", n, 1)
    rules = {s.rule for s in gradient(a.T * sp.HadamardProduct(x, x), x).steps}
    assert {"Hadamard power", "Hadamard numbers"} <= rules, rules


def test_a_matrix_output_is_not_called_y_beside_an_input_y() -> None:
    """∂β̂/∂y was described "rows index y, columns index Y": Y read as y."""
    n = sp.Symbol("n", integer=True, positive=True)
    X, y = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("y", n, 1)
    d = derive(X.I * y, y)
    assert d.steps[-1].lhs == "∂Z/∂y" and "Y" not in d.description
