"""Hessians (vec form) and Hessian-vector products, against finite differences."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

import matderiv
from matderiv import (
    LayoutError,
    MatDerivError,
    derive,
    evaluate,
    gradient,
    hessian,
    hvp,
    lambdify,
    verify,
)
from matderiv.parse.expr import parse_expression
from matderiv.render.latex import tex
from matderiv.render.unicode import fmt
from matderiv.scalarize import scalarize
from matderiv.testing import check_derivation, numeric_jacobian, random_values

n, m = sp.symbols("n m", integer=True, positive=True)
DIMS = {n: 3, m: 4}
x = sp.MatrixSymbol("x", n, 1)
w = sp.MatrixSymbol("w", n, 1)
b = sp.MatrixSymbol("b", m, 1)
y = sp.MatrixSymbol("y", m, 1)
A = sp.MatrixSymbol("A", n, n)
D = sp.MatrixSymbol("D", m, n)
X = sp.MatrixSymbol("X", n, n)
Xr = sp.MatrixSymbol("X", n, m)


def logistic_loss():
    """Σ log(1 + exp(-y ∘ (D w))), labels y."""
    margins = sp.HadamardProduct(y, D * w)
    inner = sp.MatAdd(sp.OneMatrix(m, 1), (-margins).applyfunc(sp.exp))
    return sp.OneMatrix(1, m) * inner.applyfunc(sp.log)


def multinomial_logit():
    """logsumexp(W x) - yᵀ W x, the softmax cross-entropy of one sample (W: m x n)."""
    W = sp.MatrixSymbol("W", m, n)
    return parse_expression("logsumexp(W @ x) - y.T @ W @ x", {"W": W, "x": x, "y": y}), W


CASES = {
    "quadratic_form": (x.T * A * x, x),
    "multinomial_logit": multinomial_logit(),
    "least_squares": ((D * x - b).T * (D * x - b), x),
    "trace_XT_A_X": (sp.Trace(Xr.T * A * Xr), Xr),
    "log_det": (sp.log(sp.Determinant(X)), X),
    "logistic_regression": (logistic_loss(), w),
    "tr_inverse": (sp.Trace(A * X.I), X),
}


def _env(f, seed=0):
    values = random_values(f, DIMS, np.random.default_rng(seed))
    return values, {**values, **DIMS}


def numeric_hessian(f, var, env) -> np.ndarray:
    """Central differences of the gradient (itself checked elsewhere): d vec(∇f)/d vec(X)ᵀ."""
    grad = gradient(f, var)
    concrete = {k: v for k, v in env.items()}
    return numeric_jacobian(grad.result, var, concrete, h=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_matches_finite_differences_of_the_gradient(name) -> None:
    f, var = CASES[name]
    _, env = _env(f)
    H = hessian(f, var)
    got = evaluate(H, env)
    want = numeric_hessian(f, var, env)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, got.T, atol=1e-8)  # a Hessian is symmetric
    size = int((var.shape[0] * var.shape[1]).subs(DIMS))
    assert got.shape == (size, size)


@pytest.mark.parametrize(
    "name, textbook",
    [
        ("quadratic_form", "A + Aᵀ"),
        ("trace_XT_A_X", "I_m ⊗ (A + Aᵀ)"),
        ("log_det", "-(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}"),
        ("least_squares", "2 Dᵀ D"),
        # (x ⊗ I)(diag(s) - s sᵀ)(xᵀ ⊗ I) before kron_vector_sandwich
        ("multinomial_logit", "(x xᵀ) ⊗ (diag(softmax(W x)) - softmax(W x) softmax(W x)ᵀ)"),
    ],
)
def test_hessians_read_like_the_textbook(name, textbook) -> None:
    f, var = CASES[name]
    assert fmt(hessian(f, var).result) == textbook


@pytest.mark.parametrize("name", sorted(CASES))
def test_hvp_is_the_hessian_times_vec_v(name) -> None:
    f, var = CASES[name]
    P = hvp(f, var)
    V = sp.MatrixSymbol("V", *var.shape)
    assert P.result.shape == var.shape
    _, env = _env(sp.Tuple(f, V), seed=1)
    H = evaluate(hessian(f, var), env)
    vec_v = env[V].reshape(-1, 1, order="F")
    want = (H @ vec_v).reshape(env[var].shape, order="F")
    np.testing.assert_allclose(evaluate(P, env), want, rtol=1e-9, atol=1e-10)
    fn = lambdify(P)
    assert "_kron" not in fn.source and "_commut" not in fn.source  # no Hessian formed
    params = inspect.signature(fn).parameters
    got = fn(**{str(k): v for k, v in env.items() if str(k) in params})
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


def test_generated_hessian_matches_evaluate() -> None:
    for f, var in CASES.values():
        H = hessian(f, var)
        _, env = _env(f, seed=2)
        fn = lambdify(H)
        params = inspect.signature(fn).parameters
        got = fn(**{str(k): v for k, v in env.items() if str(k) in params})
        np.testing.assert_allclose(got, evaluate(H, env), rtol=1e-10, atol=1e-12)


def test_hessian_through_a_program() -> None:
    U = sp.MatrixSymbol("U", n, n)
    c = sp.MatrixSymbol("c", n, 1)
    h1, h2 = sp.MatrixSymbol("h_1", n, 1), sp.MatrixSymbol("h_2", n, 1)
    where = {h1: (U.T * x).applyfunc(sp.tanh), h2: (U.T * h1).applyfunc(sp.tanh)}
    L = c.T * h2
    H = hessian(L, U, where=where)
    rng = np.random.default_rng(4)
    values = random_values(sp.Tuple(L, *where.values()), DIMS, rng, where=where)
    env = {**values, **DIMS}
    grad = gradient(L, U, where=where)
    # finite differences of the gradient program
    base = env[U]
    cols = []
    for k in range(base.size):
        probes = []
        for sign in (1, -1):
            bumped = base.reshape(-1, order="F").copy()
            bumped[k] += sign * 1e-5
            probes.append(evaluate(grad, {**env, U: bumped.reshape(base.shape, order="F")}))
        cols.append(((probes[0] - probes[1]) / 2e-5).reshape(-1, order="F"))
    np.testing.assert_allclose(evaluate(H, env), np.stack(cols, axis=1), rtol=1e-5, atol=1e-7)


def test_second_order_errors() -> None:
    with pytest.raises(MatDerivError, match="scalar"):
        hessian(A * x, x)
    with pytest.raises(LayoutError, match="MatrixSymbol"):
        hessian(x.T * A * x, A * x)
    with pytest.raises(LayoutError, match="∇² K_"):
        hessian(x.T * A * x, matderiv.vec(Xr.T))
    with pytest.raises(MatDerivError, match=r"shaped like x \(n, 1\), got A of shape \(n, n\)"):
        hvp(x.T * A * x, x, direction=A)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_and_hvp_match_second_differences_of_f(name) -> None:
    """Independent of the gradient: central second differences of f itself."""
    f, var = CASES[name]
    assert check_derivation(hessian(f, var), DIMS, rtol=1e-4) < 1e-4
    assert check_derivation(hvp(f, var), DIMS, rtol=1e-4) < 1e-4


def test_second_order_results_say_what_they_are() -> None:
    H = hessian(sp.log(sp.Determinant(X)), X)
    assert H.mode == "hessian" and H.steps[-1].lhs == "∂²f/∂vec(X)∂vec(X)ᵀ"
    assert "Hessian of log(det(X))" in H.to_code()
    P = hvp(x.T * A * x, x)
    assert P.mode == "hvp" and P.steps[-1].lhs == "H vec(V)"
    assert "∂²f/∂x∂xᵀ" in hessian(x.T * A * x, x).description


def test_hvp_with_a_direction_of_the_users_choosing() -> None:
    U = sp.MatrixSymbol("U", n, 1)
    P = hvp(x.T * A * x, x, direction=U)
    assert U in P.result.free_symbols
    assert check_derivation(P, DIMS, rtol=1e-4) < 1e-4


def test_hvp_refuses_a_direction_that_varies_with_the_variable() -> None:
    """hvp(f, x, direction=x) returned 2 H x: V must be held constant."""
    with pytest.raises(MatDerivError, match="the variable itself"):
        hvp(x.T * A * x, x, direction=x)
    h = sp.MatrixSymbol("h", n, 1)
    with pytest.raises(MatDerivError, match="defined in where="):
        hvp(h.T * A * x, x, direction=h, where={h: A * x})


def _defines(d) -> list:
    return [(s.lhs, s.expr) for s in d.steps if s.kind == "define"]


def _written_out(expr, defined: dict):
    """``expr`` with the intermediates v_k in ``defined`` replaced by their definitions."""
    for _ in range(len(defined)):
        table = {
            a: defined[str(a)]
            for a in expr.atoms(sp.MatrixSymbol, sp.Symbol)
            if str(a).startswith("v_") and str(a) in defined
        }
        if not table:
            break
        expr = expr.xreplace(table)
    return expr


@pytest.mark.parametrize("second", [hessian, hvp], ids=["hessian", "hvp"])
@pytest.mark.parametrize("name", ["logistic_regression", "log_det"])
def test_second_phase_names_continue_the_first(second, name) -> None:
    f, var = CASES[name]
    d = second(f, var)
    defined: dict = {}
    for lhs, expr in _defines(d):
        if lhs in defined and lhs.startswith("v_"):  # the same name, the same intermediate
            assert defined[lhs] == expr, (lhs, defined[lhs], expr)
        defined.setdefault(lhs, expr)
    # g := ∇f, defined at the start of the second part through the first's v_k
    written = scalarize(_written_out(defined["g"], defined))
    assert "g" in defined and written == scalarize(gradient(f, var).result)
    first_result = next(k for k, s in enumerate(d.steps) if s.kind == "result")
    assert "g" not in [s.lhs for s in d.steps[:first_result]]  # not before it is derived
    labels = [s.lhs for s in d.steps if s.kind in ("local", "chain")]
    assert not any(label.startswith("∂Y/") for label in labels)
    root = "g" if second is hessian else "p"
    assert any(label.startswith((f"∂{root}/", f"∂vec({root})/")) for label in labels)


def test_second_phase_names_avoid_the_users() -> None:
    f, var = CASES["logistic_regression"]
    g_user = D * w
    d = hessian(f, var, names={"g": g_user})
    defined = dict(_defines(d))
    assert defined["g"] == g_user and "g_2" in defined
    check_derivation(d, DIMS, seed=1)


def test_second_phase_names_avoid_the_users_symbols_and_dimensions() -> None:
    """g and p (the second phase's names) are not taken when the user has symbols
    called that, nor when a dimension is: p := tr(v₂) beside I_p and (p² × 1) read
    as the dimension's value, and the headline said "with p = tr(v₂)"."""
    p = sp.Symbol("p", integer=True, positive=True)
    g, y = sp.MatrixSymbol("g", p, 1), sp.MatrixSymbol("p", p, 1)
    B = sp.MatrixSymbol("B", p, p)
    d = hvp(y.T * B * y + g.T * y, y)
    defined = {s.lhs for s in d.steps if s.kind == "define"}
    assert {"g_2", "p_2"} <= defined and not {"g", "p"} & defined
    assert check_derivation(d, {p: 3}, rtol=1e-4) < 1e-4
    q = sp.MatrixSymbol("q", p, 1)  # only the dimension is called p
    d = hvp(q.T * B * q, q)
    defined = {s.lhs for s in d.steps if s.kind == "define"}
    assert {"g", "p_2"} <= defined and "p" not in defined
    assert check_derivation(d, {p: 3}, rtol=1e-4) < 1e-4


@pytest.mark.parametrize("second", [hessian, hvp], ids=["hessian", "hvp"])
def test_the_headings_say_the_names_the_steps_give_g_and_v(second) -> None:
    """With a dimension called g, the gradient is g₂ := ∇f; the headings of the two
    parts said "g = ∇f" (and LaTeX $g = \\nabla f$), as did the HVP's for a direction
    V₁ whose V is a dimension."""
    g, v = sp.symbols("g V", integer=True, positive=True)
    Xg = sp.MatrixSymbol("X", g, v)
    d = second(sp.log(sp.Determinant(Xg.T * Xg)), Xg)
    defined = {s.lhs for s in d.steps if s.kind == "define"}
    assert "g_2" in defined and "g" not in defined
    text, latex = str(d), d.to_latex()
    assert "the gradient g₂ = ∇f" in text and "g = ∇f" not in text
    assert r"\textbf{The gradient $g_{2} = \nabla f$ (denominator layout)}" in latex
    if second is hvp:
        assert str(d.direction) == "V_1" and "along V₁ (denominator layout)" in text
        assert r"along $V_{1}$" in latex
    assert check_derivation(d, {g: 3, v: 2}, rtol=1e-4, trials=1) < 1e-4


def test_the_default_direction_avoids_inputs_only_a_definition_uses() -> None:
    """hvp(h², x, where={h: Vᵀx}) took the input V as its direction: H vec(V) at the
    input instead of along a direction of its own."""
    V, h = sp.MatrixSymbol("V", n, 1), sp.MatrixSymbol("h", 1, 1)
    d = hvp(h * h, x, where={h: V.T * x})
    assert d.description.startswith("Hessian-vector product H vec(V_1)")
    check_derivation(d, DIMS, trials=2)


def _rnn_program():
    """Two RNN steps as a where= program (L = cᵀh_1 + cᵀh_2, wrt U)."""
    U = sp.MatrixSymbol("U", n, n)
    c = sp.MatrixSymbol("c", n, 1)
    a = sp.MatrixSymbol("a", n, 1)
    h1, h2 = sp.MatrixSymbol("h_1", n, 1), sp.MatrixSymbol("h_2", n, 1)
    where = {a: U.T * x, h1: a.applyfunc(sp.tanh), h2: (U.T * h1).applyfunc(sp.tanh)}
    return c.T * h1 + c.T * h2, U, where


def test_hvp_program_names_its_adjoints_apart_from_the_gradients() -> None:
    """The HVP's second phase differentiates p = ⟨∇f, V⟩ through a program that already
    holds the gradient's adjoints ā = ∂f/∂a: its own are ã = ∂p/∂a (atilde) and
    ā̃ = ∂p/∂ā. They were abarbar, printed as is, and aadj for the taken abar."""
    L, U, where = _rnn_program()
    d = hvp(L, U, where=where)
    grad = gradient(L, U, where=where)
    first = {str(s) for s in grad.definitions} - {str(s) for s in where}
    second = {str(s) for s in d.definitions} - {str(s) for s in grad.definitions}
    assert first and all("bar" in s and "tilde" not in s for s in first), first
    assert second and all(s.partition("_")[0].endswith("tilde") for s in second), second
    assert "atilde" in second and not any("adj" in s for s in second)
    printed = {s: fmt(s) for s in d.definitions if str(s) in second}
    assert fmt(sp.MatrixSymbol("atilde", n, 1)) == "a\u0303"  # ã
    assert all("tilde" not in p and "\u0303" in p for p in printed.values()), printed
    check_derivation(d, DIMS, trials=2)


def test_hessian_program_tangents_of_adjoints_print_with_both_accents() -> None:
    """The Hessian's second phase (forward mode) names the tangent of ā abardot: ā̇."""
    L, U, where = _rnn_program()
    d = hessian(L, U, where=where)
    names = {str(s) for s in d.definitions}
    assert "abardot" in names
    assert fmt(sp.MatrixSymbol("abardot", n, 1)) == "a\u0304\u0307"
    assert "a\u0304\u0307" in fmt(d.steps[-1].expr)  # the result uses ā̇
    assert "abardot" not in d.to_latex() and r"\dot{\bar{a}}" in d.to_latex()


def test_differentials_of_generated_names_print_with_their_accents() -> None:
    """'from dv = dabarᵀ': the differential of ā printed as the letters dabar."""
    L, U, where = _rnn_program()
    d = hvp(L, U, where=where)
    locals_ = [s for s in d.steps if s.kind == "local" and s.differential is not None]
    of_abar = [s for s in locals_ if str(s.differential[0]) == "dabar"]
    assert of_abar, [str(s.differential[0]) for s in locals_]
    printed = fmt(of_abar[0].differential[0])
    assert printed == "da\u0304"  # dā
    assert tex(of_abar[0].differential[0]) == r"\mathop{}\!d\bar{a}"  # d spaced as an operator
    everything = " ".join(fmt(s.differential[1]) for s in locals_)
    assert "dabar" not in everything
    text = str(d)  # the steps as printed: "from dā = c∘dv₅", not "from dabar = ..."
    assert "from da\u0304 = " in text and "dabar" not in text


def test_the_result_step_writes_the_gradient_out() -> None:
    """The last step said -(X⁻¹ ⊗ g) K_{n,n}, with g := ∇f defined in the steps; it
    reads on its own now, like d.result."""
    H = hessian(sp.log(sp.Determinant(X)), X)
    last = H.steps[-1]
    assert "g" not in {str(s) for s in last.expr.free_symbols}
    assert fmt(last.expr) == fmt(H.result) == "-(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}"
    P = hvp(sp.log(sp.Determinant(X)), X)
    assert "g" not in {str(s) for s in P.steps[-1].expr.free_symbols}


def test_the_logdet_hessian_example_is_right() -> None:
    from matderiv.examples import EXAMPLES

    ex = EXAMPLES["logdet-hessian"]()
    assert ex.order == 2
    assert check_derivation(hessian(ex.expr, ex.wrt), ex.dims, rtol=1e-4) < 1e-4


def test_the_terminal_banner_says_what_a_second_order_result_is() -> None:
    """The banner read "numerator layout" (the Jacobian of ∇f) over a Hessian."""
    from rich.console import Console

    def banner(d) -> str:
        console = Console(width=100, record=True, color_system=None)
        console.print(d)
        return console.export_text().splitlines()[0]

    assert "matderiv · Hessian " in banner(hessian(x.T * A * x, x))
    assert "matderiv · Hessian-vector product" in banner(hvp(x.T * A * x, x))
    assert "matderiv · denominator layout" in banner(gradient(x.T * A * x, x))


def test_verify_second_order_through_a_program() -> None:
    """A Hessian or HVP candidate may use the program's symbols and generated names."""
    L, U, where = _rnn_program()
    H = hessian(L, U, where=where)
    assert matderiv.verify(H.result, L, U, where=where, order=2)
    assert matderiv.verify(2 * H.result, L, U, where=where, order=2).kind == "factor"
    V = sp.MatrixSymbol("V", *U.shape)
    P = hvp(L, U, V, where=where)
    assert matderiv.verify(P.result, L, U, where=where, order=2, direction=V)
    transposed = matderiv.verify(P.result.T, L, U, where=where, order=2, direction=V)
    assert transposed.kind == "transposed"


def test_kronecker_products_meet_a_sum_by_the_mixed_product() -> None:
    """The Hessian of ‖X Xᵀ - A‖²_F read ... + 4 (Xᵀ ⊗ I_n)(X ⊗ I_n + (I_n ⊗ X) K_{n,m});
    (A ⊗ B)(C ⊗ D) = A C ⊗ B D through the sum gives the textbook
    4 (Xᵀ X ⊗ I_n) + 4 (Xᵀ ⊗ X) K_{n,m}."""
    d = hessian(matderiv.norm(Xr * Xr.T - A) ** 2, Xr)
    written = fmt(d.result)
    assert "(Xᵀ X) ⊗ I_n" in written and "(Xᵀ ⊗ X) K_{n,m}" in written, written
    assert "(Xᵀ ⊗ I_n) (" not in written, written
    check_derivation(d, DIMS, rtol=1e-4)


def test_kronecker_terms_sharing_a_factor_are_one_product() -> None:
    """The Hessian of log det(XᵀX) read 2 ((XᵀX)⁻¹ ⊗ I_m - (XᵀX)⁻¹ ⊗ (X (XᵀX)⁻¹ Xᵀ) - ...);
    A ⊗ B + A ⊗ C = A ⊗ (B + C) gives the projection I_m - X (XᵀX)⁻¹ Xᵀ."""
    Xt = sp.MatrixSymbol("X", m, n)
    d = hessian(sp.log(sp.Determinant(Xt.T * Xt)), Xt)
    written = fmt(d.result)
    assert "(Xᵀ X)⁻¹ ⊗ (I_m - X (Xᵀ X)⁻¹ Xᵀ)" in written, written
    check_derivation(d, {n: 2, m: 4}, rtol=1e-4)


def test_the_two_parts_of_a_second_order_derivation_are_headed() -> None:
    """A Hessian's steps repeat the sections (forward pass, ..., result) twice: each
    part now says what it derives, in text, rich and LaTeX."""
    from rich.console import Console

    d = hessian(sp.log(sp.Determinant(X)), X)
    text = str(d)
    first, second = "== first derivative: the gradient g = ∇f", "== second derivative, the Hessian"
    assert first in text and second in text and text.index(first) < text.index(second)
    assert text.index(second) > text.index("-- result")  # after the gradient's result
    latex = d.to_latex()
    assert r"\textbf{First derivative:}" in latex and r"\large" not in latex  # MathJax
    assert r"\textbf{The gradient $g = \nabla f$ (denominator layout)}" in latex
    assert r"\textbf{Second derivative, the Hessian:}" in latex
    assert r"\textbf{The Jacobian of $g = \nabla f$ (numerator layout)}" in latex
    console = Console(width=150, record=True)
    console.print(d)
    assert "second derivative, the Hessian: the Jacobian of g = ∇f" in console.export_text()
    V = sp.MatrixSymbol("V", n, n)
    assert "along V" in str(hvp(sp.log(sp.Determinant(X)), X, V))
    assert "==" not in str(gradient(sp.log(sp.Determinant(X)), X))
    # each part says its layout: ∂v₁/∂w is Xᵀ in the gradient's part and X in the
    # Hessian's (a reviewer read them as one symbol with two values)
    assert "∇f (denominator layout)" in text and "g = ∇f (numerator layout)" in text
    assert "along V (denominator layout)" in str(hvp(sp.log(sp.Determinant(X)), X, V))


def test_an_exp_of_a_sum_stays_finite() -> None:
    """exp(aᵀx + 1) xᵀx: factoring exp(u) out of a sum doubled its exponent on every
    pass (exp(u)/exp(u) stays exp(-u) exp(u) for a sum u): 53 s and a NaN Hessian; and
    verify called the right Jacobian of exp(aᵀx + 1) x "not-finite"."""
    a = sp.MatrixSymbol("a", n, 1)
    u = sp.Trace(a.T * x) + 1
    d = hessian(sp.exp(u) * (x.T * x), x)
    assert check_derivation(d, {n: 3}) < 1e-5
    candidate = "exp(a.T @ x + 1) * (eye(n) + x @ a.T)"
    assert verify(candidate, sp.exp(u) * x, x, "numerator")


def test_evaluate_binds_sizes_for_definitions_that_carry_none() -> None:
    """Ṗ := K_{n,n} (the tangent of P := Sᵀ) has no array to read n from: evaluate said
    "dimension n is not bound" though S was given; lambdify worked."""
    S, P = sp.MatrixSymbol("S", n, n), sp.MatrixSymbol("P", n, n)
    Z, Y = sp.MatrixSymbol("Z", n, n), sp.MatrixSymbol("Y", n, n)
    S0 = np.random.default_rng(0).standard_normal((3, 3))
    cases = [
        hessian(sp.Trace(P * P), S, where={P: S.T}),
        derive(Y, S, "numerator", where={P: S * S, Z: P.T, Y: Z * Z}),
    ]
    for d in cases:
        check_derivation(d, {n: 3})
        np.testing.assert_allclose(evaluate(d, {S: S0}), evaluate(d, {S: S0, n: 3}))
        np.testing.assert_allclose(evaluate(d, {S: S0}), lambdify(d)(S=S0), rtol=1e-12)


def test_the_hvp_of_a_linear_function_takes_its_direction() -> None:
    """H vec(V) = 0 for tr(A B): lambdify's function refused V ("unexpected keyword
    argument 'V'"), so code that always passes the direction broke."""
    A, B = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    d = hvp(sp.Trace(A * B), A)
    I3 = np.eye(3)
    assert d.direction is not None and str(d.direction) == "V"
    assert not np.any(lambdify(d)(A=I3, B=I3, V=I3)) and lambdify(d)(A=I3, B=I3, V=I3).shape == (
        3,
        3,
    )


def test_an_input_only_a_definition_uses_may_be_called_g_or_p() -> None:
    """The second phase names ∇f g (and the HVP's ⟨∇f, V⟩ p): a layer-norm gain g used
    only inside a where= definition clashed ("names['g']: g is already a symbol")."""
    a = sp.MatrixSymbol("a", n, 1)
    f = sp.OneMatrix(1, n) * a.applyfunc(sp.tanh) + w.T * w
    for stem in ("g", "p"):
        gain = sp.MatrixSymbol(stem, n, 1)
        where = {a: sp.HadamardProduct(gain, x) + w}
        for d in (hessian(f, w, where=where), hvp(f, w, where=where)):
            assert check_derivation(d, {n: 3}) < 1e-6
            # ∇f (and ⟨∇f, V⟩) got a name of its own, not the input's
            defined = {s.lhs for s in d.steps if s.kind == "define"}
            renamed = stem == "g" or d.mode == "hvp"  # a Hessian names no p
            assert stem not in defined and (not renamed or f"{stem}_2" in defined), defined


def test_a_scalar_variables_second_derivative_is_written_squared() -> None:
    """∂²f/∂s∂sᵀ for a scalar s read oddly: ∂²f/∂s², in LaTeX too, and read back."""
    s = sp.Symbol("s")
    B = sp.MatrixSymbol("B", n, n)
    f = sp.log(sp.Determinant(A + s * B))
    d = hessian(f, s)
    head = str(d).splitlines()[0]
    assert head.startswith("∂²f/∂s² = "), head
    assert r"\frac{\partial^{2} f}{\partial s^{2}}" in d.to_latex()
    assert verify(head.rsplit("   ", 1)[0], f, s, order=2)
    check_derivation(d, {n: 3}, definite={A})


def test_a_hessian_by_vec_of_the_transpose_says_how_to_get_it() -> None:
    """hessian(f, vec(X.T)) said only "with respect to X or vec(X)", while verify's
    diagnosis names "the Hessian with respect to vec(Xᵀ)"."""
    from matderiv import vec
    from matderiv.errors import LayoutError

    m, k = sp.symbols("m k", integer=True, positive=True)
    X = sp.MatrixSymbol("X", m, k)
    with pytest.raises(
        LayoutError, match=r"K_\{m,k\} ∇² K_\{m,k\}ᵀ for the Hessian ∇² = hessian\(f, X\)"
    ):
        hessian(sp.Trace(X.T * X), vec(X.T))
    # a user's K and H are not the message's: K = K_{m,k}, ∇² = the Hessian
    K, H = sp.MatrixSymbol("K", m, k), sp.MatrixSymbol("H", k, k)
    with pytest.raises(LayoutError, match=r"hessian\(f, K\)") as info:
        hessian(sp.Trace(K * H * K.T), vec(K.T))
    assert " K H " not in str(info.value)
