"""Results in the form a textbook writes them, each checked against finite differences.

- sum(x) of a vector is 𝟏ᵀx (no 1 x 1 ones factor);
- (c 𝟏) ∘ A simplifies to c A (the ones matrix is the unit of ∘);
- the sigmoid prints as σ(·) (and reads back), its derivative as σ∘(1 - σ);
- a 1 x 1 identity prints as the number 1, and c·I₁ as c.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from matderiv import derive, evaluate, gradient, hessian, verify
from matderiv.canon import matmul
from matderiv.nodes import AsScalar
from matderiv.parse.candidate import parse_candidate
from matderiv.parse.expr import parse_expression, parse_program
from matderiv.parse.unicode import parse_unicode
from matderiv.render.headline import headline
from matderiv.render.latex import tex
from matderiv.render.rows import rows, title
from matderiv.render.unicode import fmt
from matderiv.rewrites import hadamard_ones
from matderiv.testing import check_derivation, random_values

m, n = sp.symbols("m n", positive=True, integer=True)
x, w = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("w", n, 1)
X = sp.MatrixSymbol("X", m, n)
SYMBOLS = {"x": x, "w": w, "X": X}


def test_sum_of_a_vector_has_no_unit_ones_factor() -> None:
    assert parse_expression("sum(x)", SYMBOLS) == sp.MatMul(sp.OneMatrix(1, n), x)
    assert parse_expression("sum(x.T)", SYMBOLS) == sp.MatMul(x.T, sp.OneMatrix(n, 1))
    assert parse_expression("sum(X)", SYMBOLS) == sp.MatMul(
        sp.OneMatrix(1, m), X, sp.OneMatrix(n, 1)
    )
    d = gradient(parse_expression("sum(X @ w)", SYMBOLS), w)
    check_derivation(d, {m: 4, n: 3})


def test_ones_are_the_unit_of_the_hadamard_product() -> None:
    c = sp.Symbol("c")
    assert hadamard_ones(sp.HadamardProduct(sp.MatMul(c, sp.OneMatrix(n, 1)), x)) == c * x
    assert hadamard_ones(sp.HadamardProduct(sp.OneMatrix(n, 1), x, w)) == sp.HadamardProduct(x, w)
    assert hadamard_ones(sp.HadamardProduct(x, w)) is None


def test_log_sum_exp_gradient_is_the_softmax() -> None:
    """exp(x)/(𝟏ᵀexp(x)) is softmax(x): ∂ log 𝟏ᵀexp(x) = softmax(x)ᵀ, and the
    cross-entropy gradient is softmax(W x) - y in the weights' layout."""
    d = derive(parse_expression("log(sum(exp(x)))", SYMBOLS), x)
    check_derivation(d, {n: 5})
    assert title(d).startswith("∂f/∂x = softmax(x)ᵀ"), title(d)
    rules = [s.rule for s in d.steps]
    assert "Hadamard ones" in rules and "softmax of exp" in rules, rules
    y = sp.MatrixSymbol("y", m, 1)
    cross_entropy = parse_expression("log(sum(exp(X @ w))) - y.T @ X @ w", {**SYMBOLS, "y": y})
    d = gradient(cross_entropy, X)
    assert fmt(d.result) == "(softmax(X w) - y) wᵀ", fmt(d.result)
    check_derivation(d, {m: 4, n: 3})
    h = hessian(parse_expression("log(sum(exp(x)))", SYMBOLS), x)
    assert fmt(h.result) == "diag(softmax(x)) - softmax(x) softmax(x)ᵀ"
    check_derivation(h, {n: 4})


def test_sigmoid_prints_as_sigma_and_reads_back() -> None:
    f = parse_expression("sum(sigmoid(X @ w))", SYMBOLS)
    d = derive(f, w)
    check_derivation(d, {m: 4, n: 3})
    text = title(d)
    assert "σ(X w)" in text and "1 - σ(X w)" in text, text
    assert "↦" not in text and "exp" not in text, text
    assert r"\sigma\left(X w\right)" in tex(d.result)
    printed = text.split(" = ", 1)[1]
    assert parse_unicode(printed, SYMBOLS) == d.result
    h = hessian(f, w)
    check_derivation(h, {m: 5, n: 2})
    assert "σ(X w)" in fmt(h.result)


def test_sigma_before_a_parenthesis_is_the_sigmoid() -> None:
    read = parse_unicode("σ(X w)", SYMBOLS)
    assert read == parse_expression("sigmoid(X @ w)", SYMBOLS)


def test_a_one_by_one_identity_prints_as_one() -> None:
    """(I₁ - xᵀ M⁻¹ x) read as an identity matrix where the number 1 is meant."""
    A = sp.MatrixSymbol("A", n, n)
    symbols = {**SYMBOLS, "A": A}
    d = derive(parse_expression("x.T @ inv(A + x @ x.T) @ x", symbols), x)
    check_derivation(d, {n: 4})
    text = title(d)
    # the 1 x 1 factor is a scalar: f itself, as in (1 - f²) for tanh
    assert "I₁" not in text and "(1 - f) xᵀ" in text, text
    assert tex(sp.Identity(1)) == "1" and fmt(sp.Identity(1)) == "1"
    f = sp.MatrixSymbol("f", 1, 1)
    read = parse_unicode(text.split(" = ", 1)[1], {**symbols, "f": f}).subs(f, d.of)
    values = random_values(d.result, {n: 4}, np.random.default_rng(0))
    np.testing.assert_allclose(evaluate(read, values), evaluate(d.result, values), rtol=1e-10)


def test_a_number_times_a_unit_matrix_prints_as_the_number() -> None:
    """c·I₁ printed as 'c 1': a trailing 1 after every 1 x 1 local derivative."""
    s = sp.Symbol("s")
    assert fmt(sp.MatMul(s, sp.Identity(1))) == "s" and tex(sp.MatMul(s, sp.Identity(1))) == "s"
    assert fmt(sp.MatMul(1 - s, sp.OneMatrix(1, 1))) == "(1 - s)"
    A, b = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("b", m, 1)
    d = derive(parse_expression("norm(A @ x - b)", {**SYMBOLS, "A": A, "b": b}), x)
    check_derivation(d, {m: 4, n: 3})
    formulas = [line for row in rows(d) for line in row.formula]
    assert not [f for f in formulas if f.endswith(") 1")], formulas


def test_a_coefficient_with_a_positive_number_keeps_its_signs() -> None:
    """The gradient of tanh(aᵀx) printed as -(f² - 1) a."""
    f = sp.Symbol("f")
    assert fmt(sp.MatMul(1 - f**2, x)) == "(1 - f²) x"
    assert fmt(sp.MatMul(-f - 1, x)) == "-(f + 1) x"
    a = sp.MatrixSymbol("a", n, 1)
    d = gradient(parse_expression("tanh(a.T @ x)", {**SYMBOLS, "a": a}), x)
    check_derivation(d, {n: 4})
    assert title(d).startswith("∂f/∂x = (1 - f²) a"), title(d)


def test_softmax_cross_entropy_gradient_is_a_vector_expression() -> None:
    """The softmax Jacobian diag(s) - s sᵀ times a vector is s∘v - s (sᵀv), and
    (p∘s^∘-1)ᵀ s is 𝟏ᵀp: ∇_z(-yᵀ log softmax(z)) = s (𝟏ᵀy) - y, exactly (s - y for
    a one-hot y), instead of (diag(s) - s sᵀ)((-y)∘s^∘-1)."""
    k = sp.Symbol("k", positive=True, integer=True)
    z, y, g = (sp.MatrixSymbol(s, k, 1) for s in "zyg")
    W = sp.MatrixSymbol("W", k, n)
    symbols = {"z": z, "y": y, "g": g, "W": W, "x": x}
    ce = parse_expression("-y.T @ log(softmax(z))", symbols)
    d = gradient(ce, z)
    assert fmt(d.result) == "(𝟏_kᵀ y) softmax(z) - y", fmt(d.result)
    assert "diag" not in fmt(d.result)
    for layout in ("numerator", "denominator"):
        check_derivation(derive(ce, z, layout), {k: 4})
    d = gradient(parse_expression("-y.T @ log(softmax(W @ x))", symbols), W)
    assert fmt(d.result) == "((𝟏_kᵀ y) softmax(W x) - y) xᵀ", fmt(d.result)
    check_derivation(d, {k: 4, n: 3})
    vjp = gradient(parse_expression("g.T @ softmax(z)", symbols), z)
    assert fmt(vjp.result) == "g∘softmax(z) - (gᵀ softmax(z)) softmax(z)", fmt(vjp.result)
    check_derivation(vjp, {k: 5})


def test_kronecker_products_under_a_trace_or_sum_contract_factor_by_factor() -> None:
    """tr(Gᵀ(L ⊗ dX ⊗ R)) = tr(Lᵀ B) tr(dXᵀ C) tr(Rᵀ D) for G = B ⊗ C ⊗ D (I and 𝟏
    split so too): the gradient is a scalar times C, not vec⁻¹ of commutation
    matrices; any other G keeps the general form, just as correct."""
    p = sp.Symbol("p", positive=True, integer=True)
    symbols = {
        "A": sp.MatrixSymbol("A", 3, 2),
        "B": sp.MatrixSymbol("B", p, p),
        "X": sp.MatrixSymbol("X", n, n),
        "Y": sp.MatrixSymbol("Y", 3 * n, 2 * n),
    }
    cases = {
        "trace(kron(B, X))": "tr(B) I_n",
        "trace(kron(kron(B, X), B.T))": "tr(B)² I_n",
        "trace(kron(X, X))": "2·tr(X) I_n",
        "trace(kron(A, X).T @ kron(A, X))": "2·tr(Aᵀ A) X",
        "sum(kron(A, X))": "(𝟏₃ᵀ A 𝟏₂) 𝟏_{n×n}",
        "sum(kron(kron(A, X), B))": "(𝟏₃ᵀ A 𝟏₂)·(𝟏_pᵀ B 𝟏_p) 𝟏_{n×n}",
    }
    for text, form in cases.items():
        d = gradient(parse_expression(text, symbols), symbols["X"])
        assert fmt(d.result) == form, (text, fmt(d.result))
        check_derivation(d, {n: 3, p: 2})
        check_derivation(derive(parse_expression(text, symbols), symbols["X"]), {n: 2, p: 4})
    general = gradient(parse_expression("trace(Y.T @ kron(A, X))", symbols), symbols["X"])
    assert "vec⁻¹" in fmt(general.result)
    check_derivation(general, {n: 3})


def test_the_written_out_softmax_has_the_textbook_jacobian() -> None:
    """exp(z)/sum(exp(z)) differentiates to diag(s) - s sᵀ, as softmax(z) does; it was
    1/(𝟏ᵀexp(z)) (I - softmax(z) 𝟏ᵀ) diag(exp(z)), right but not recognisable."""
    z = sp.MatrixSymbol("z", n, 1)
    W = sp.MatrixSymbol("W", n, n)
    symbols = {"z": z, "W": W, "x": x}
    written = derive(parse_expression("exp(z) / sum(exp(z))", symbols), z)
    assert fmt(written.result) == "diag(softmax(z)) - softmax(z) softmax(z)ᵀ"
    assert written.result == derive(parse_expression("softmax(z)", symbols), z).result
    check_derivation(written, {n: 4})
    layer = derive(parse_expression("exp(W @ x) / sum(exp(W @ x))", symbols), x)
    assert fmt(layer.result) == "(diag(softmax(W x)) - softmax(W x) softmax(W x)ᵀ) W"
    check_derivation(layer, {n: 3})


def test_ones_next_to_an_identity_print_with_their_size() -> None:
    """I - 𝟏𝟏ᵀ/n printed as I_n - 1/n 1, which reads as I - I/n (1 - A is I - A in
    operator notation); the ones matrix keeps its size next to an identity, in
    Unicode and LaTeX, and still reads back.  1 - h∘h keeps its bare 1."""
    centring = sp.MatAdd(sp.Identity(n), sp.MatMul(-1 / n, sp.OneMatrix(n, n)))
    assert fmt(centring) == "I_n - 1/n 𝟏_{n×n}"
    assert tex(centring) == r"I_{n} - \frac{1}{n} \mathbf{1}_{n \times n}"
    assert sp.Eq(parse_unicode(fmt(centring), SYMBOLS), centring) is sp.true
    h = sp.HadamardProduct(x, x)
    assert fmt(sp.MatAdd(sp.OneMatrix(n, 1), -h)) == "1 - x∘x"


def test_a_unit_ones_factor_is_the_identity() -> None:
    """𝟏ᵀ E 𝟏₁ₓ₁ (a column summed as a matrix) is 𝟏ᵀ E: products drop 𝟏₁ₓ₁ as they drop
    I₁, and the softmax is still found in log 𝟏ᵀ exp(x) 𝟏₁ₓ₁."""
    unit = sp.OneMatrix(1, 1)
    assert matmul(sp.OneMatrix(1, n), x, unit) == sp.MatMul(sp.OneMatrix(1, n), x)
    f = sp.log(AsScalar(sp.MatMul(sp.OneMatrix(1, n), x.applyfunc(sp.exp), unit)))
    d = gradient(f, x)
    assert fmt(d.result) == "softmax(x)", fmt(d.result)
    check_derivation(d, {n: 4})


def test_a_composition_sympy_fused_is_differentiated_as_two_functions() -> None:
    """doit() fuses x.applyfunc(tanh).applyfunc(exp) into (d ↦ exp(tanh(d)))∘(x): matderiv
    splits it back, so the result reads exp(tanh(x)) and the softmax and σ are found;
    a Lambda that is not a chain of functions (d ↦ tanh(2 d)) stays as it is."""
    fused = x.applyfunc(sp.tanh).applyfunc(sp.exp).doit()
    assert "↦" in fmt(fused)  # SymPy's own fusion, which the test relies on
    d = gradient(sp.log(AsScalar(sp.OneMatrix(1, n) * fused)), x)
    assert fmt(d.result) == "(1 - tanh(x)∘tanh(x))∘softmax(tanh(x))", fmt(d.result)
    check_derivation(d, {n: 4})
    sigmoid = parse_expression("sigmoid(x)", SYMBOLS).function
    d = derive(sp.OneMatrix(1, n) * x.applyfunc(sp.sin).applyfunc(sigmoid).doit(), x)
    assert "σ(sin(x))" in fmt(d.result) and "↦" not in fmt(d.result), fmt(d.result)
    check_derivation(d, {n: 3})
    t = sp.Symbol("t")
    kept = derive(sp.OneMatrix(1, n) * x.applyfunc(sp.Lambda(t, sp.tanh(2 * t))), x)
    assert "↦" in fmt(kept.result)
    check_derivation(kept, {n: 3})


def test_named_intermediates_are_shown_by_name_after_rewrites_and_inside_products() -> None:
    """A layer norm's gradient: c = x - 𝟏𝟏ᵀx/n becomes (I - 𝟏𝟏ᵀ/n) x under the rewrites,
    and wᵀ c is a run of the longer product wᵀ (I - 𝟏𝟏ᵀ/n) x; both used to be written out,
    c four times in the headline.  A scalar multiple of ones keeps its size (𝟏_n)."""
    w = sp.MatrixSymbol("w", n, 1)
    program = parse_program(
        "mu = sum(x)/n; c = x - mu; s = sum(c^2)/n; y = c / sqrt(s + 0.001); L = w.T @ y",
        {"x": x, "w": w},
    )
    import warnings

    with warnings.catch_warnings():  # y was "does not occur" (the regrouped c inside)
        warnings.simplefilter("error")
        d = gradient(program.expr, x, names=program.names)
    check_derivation(d, {n: 5})
    head = title(d)  # the term -(wᵀ c)/(n·(s + 1/1000)) c, twice, is named r
    assert head.count("c") == 2 and "(wᵀ c)" in head and "(s + 1/1000)" in head, head
    assert "I_n" not in head and "/n 𝟏_n" in head and ", with r = " in head, head
    locals_ = {s.lhs: fmt(s.expr) for s in d.steps if s.kind == "local"}
    by_c = [v for k, v in locals_.items() if k.endswith("/∂c") and k != "∂L/∂c"]
    # y = c/√(s + ε), named, is a node too (it was flattened into 1/√(s + ε) wᵀ c)
    assert "2 diag(c)" in by_c and locals_["∂L/∂y"] == "w", locals_
    assert locals_["∂mu/∂x"] == "1/n 𝟏_n", locals_  # mu, named by the user, is a node
    values = random_values(d.result, {n: 5}, np.random.default_rng(1))
    read = parse_candidate(head, program.expr, program.names)  # verify reads the "with"
    np.testing.assert_allclose(
        evaluate(read, {**values, n: 5}), evaluate(d.result, {**values, n: 5}), rtol=1e-10
    )


def test_fractional_and_symbolic_powers_print_with_a_caret() -> None:
    """(s + 1/1000)**(3/2) was Python's notation in the steps; it is (s + 1/1000)^(3/2),
    and reads back.  Integer powers keep their superscripts, square roots √ (they
    printed as sqrt(s))."""
    s, k = sp.Symbol("s"), sp.Symbol("k")
    assert fmt(-1 / (2 * (s + sp.Rational(1, 1000)) ** sp.Rational(3, 2))) == (
        "-1/(2·(s + 1/1000)^(3/2))"
    )
    assert fmt(s ** sp.Rational(-3, 2)) == "s^(-3/2)" and fmt(s**k) == "s^k"
    assert fmt(s**2) == "s²" and fmt(1 / sp.sqrt(s)) == "1/√s"
    assert fmt(sp.sqrt(s + 1)) == "√(s + 1)" and parse_unicode(
        "1/√(s + 1)", {"s": s}
    ) == 1 / sp.sqrt(s + 1)
    power = sp.Trace(sp.MatrixSymbol("A", n, n)) ** sp.Rational(5, 2)
    text = fmt(power)
    assert text == "tr(A)^(5/2)", text
    assert parse_unicode(text, {"A": sp.MatrixSymbol("A", n, n)}) == power


def test_an_entrywise_function_of_a_transposed_product_is_the_transposed_function() -> None:
    """SymPy's .T of tanh(A x) - b is tanh(xᵀ Aᵀ) - bᵀ, another node than tanh(A x):
    ½ (tanh(A x) - b)ᵀ(tanh(A x) - b) had two tanh nodes, a gradient of two equal
    terms that did not combine, and v₃, v₇ in its headline.  Input reads f(xᵀAᵀ) as
    f(A x)ᵀ, so both factors share tanh(A x)."""
    A, b = sp.MatrixSymbol("A", m, n), sp.MatrixSymbol("b", m, 1)
    f = parse_expression(
        "0.5 * (tanh(A @ x) - b).T @ (tanh(A @ x) - b)", {**SYMBOLS, "A": A, "b": b}
    )
    d = gradient(f, x)
    assert fmt(d.result) == "Aᵀ ((1 - tanh(A x)∘tanh(A x))∘(tanh(A x) - b))", fmt(d.result)
    assert "v" not in fmt(headline(d))
    check_derivation(d, {m: 4, n: 3})


def test_the_transpose_of_a_named_sum_is_that_sum_transposed() -> None:
    """c = x - mu; ... c.T @ c: SymPy's .T distributed over the sum, so cᵀ was built
    again from xᵀ (xᵀ - xᵀ𝟏𝟏ᵀ/n), a second copy of c the derivative went through
    twice, in the forward pass as v₁ := xᵀ, v₂ := -1/n v₁ 𝟏, v₃ := v₂ + v₁."""
    g = sp.MatrixSymbol("g", n, 1)
    program = parse_program(
        "mu = sum(x)/n; c = x - mu; s = sqrt(c.T @ c / n + 1); L = g.T @ (c / s)",
        {"x": x, "g": g},
    )
    d = gradient(program.expr, x, names=program.names)
    check_derivation(d, {n: 5})
    defined = [fmt(s.expr) for s in d.steps if s.kind == "define"]
    # cᵀ is shown as itself, no name of its own: 1/n cᵀ c
    assert any("cᵀ c" in text for text in defined), defined
    assert not any("xᵀ" in text for text in defined), defined


def test_logistic_regression_with_zero_one_labels_is_x_transposed_times_the_residual() -> None:
    """-(yᵀ log p + (1 - y)ᵀ log(1 - p)), p = σ(X w): the gradient was
    -Xᵀ((exp(X w)∘y + y - exp(X w))∘σ(-(X w))); the textbook's Xᵀ(σ(X w) - y)."""
    y = sp.MatrixSymbol("y", m, 1)
    program = parse_program(
        "p = sigmoid(X @ w); L = -(y.T @ log(p) + (1 - y).T @ log(1 - p))",
        {"X": X, "w": w, "y": y},
    )
    d = gradient(program.expr, w)
    assert fmt(d.result) == "Xᵀ (σ(X w) - y)", fmt(d.result)
    check_derivation(d, {m: 5, n: 3})


def test_numerator_layout_is_the_transposed_simplified_gradient() -> None:
    """Cross-entropy with 0/1 labels: Xᵀ (σ(X w) - y) in denominator layout, but
    (σ(X w)ᵀ - (σ(X w)∘y)ᵀ - (σ(-X w)∘y)ᵀ) X in numerator layout, where the terms were
    transposed before σ(u) + σ(-u) = 1 could combine them."""
    y = sp.MatrixSymbol("y", m, 1)
    one = sp.OneMatrix(m, 1)
    p = (X * w).applyfunc(lambda u: 1 / (1 + sp.exp(-u)))
    loss = -(y.T * p.applyfunc(sp.log) + (one - y).T * (one - p).applyfunc(sp.log))
    num, den = derive(loss, w, "numerator"), derive(loss, w, "denominator")
    assert fmt(den.result) == "Xᵀ (σ(X w) - y)", fmt(den.result)
    assert fmt(num.result) == "(σ(X w) - y)ᵀ X", fmt(num.result)  # printed as a textbook does
    for d in (num, den):
        check_derivation(d, {m: 5, n: 3})


def test_a_transposed_hadamard_product_shares_its_factor() -> None:
    """∂ tr((X∘Xᵀ) A)/∂X read Aᵀ∘Xᵀ + (X∘Aᵀ)ᵀ; the transposed product is Xᵀ∘A, and
    the shared Xᵀ gives the Cookbook-like (A + Aᵀ)∘Xᵀ."""
    S, A = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("A", n, n)
    d = derive(sp.Trace(sp.HadamardProduct(S, S.T) * A), S, "denominator")
    assert fmt(d.result) == "(A + Aᵀ)∘Xᵀ", fmt(d.result)
    for layout in ("numerator", "denominator"):
        check_derivation(derive(sp.Trace(sp.HadamardProduct(S, S.T) * A), S, layout), {n: 3})


def test_a_sum_beside_its_own_transpose_keeps_its_sign_and_prints_transposed() -> None:
    """The Gaussian log-likelihood's ∂/∂S read S⁻ᵀ (mu - x) (xᵀ - muᵀ) S⁻ᵀ: the sign
    went into one of two twin sums and the other printed with its ᵀ distributed.  Now
    -S⁻ᵀ (x - mu) (x - mu)ᵀ S⁻ᵀ, as the Cookbook writes it, read back alike."""
    S, mu = sp.MatrixSymbol("S", n, n), sp.MatrixSymbol("mu", n, 1)
    q = (x - mu).T * S.I * (x - mu)
    d = gradient(q, S)
    assert fmt(d.result) == "-S⁻ᵀ (x - μ) (x - μ)ᵀ S⁻ᵀ", fmt(d.result)
    assert r"\left(x - \mu\right)^{T}" in tex(d.result)
    assert parse_unicode(fmt(d.result), {"S": S, "mu": mu, "x": x}).doit() == d.result.doit()
    for layout in ("numerator", "denominator"):
        check_derivation(derive(q, S, layout), {n: 3})
    # a row of transposed vectors with no twin prints transposed too (it read (xᵀ - μᵀ) S x)
    lone = matmul(sp.MatAdd(x.T, -mu.T), S, x)
    assert fmt(lone) == "(x - μ)ᵀ S x", fmt(lone)
    assert r"\left(x - \mu\right)^{T} S x" in tex(lone), tex(lone)
    # not a row, or a term that is not a transposed vector: as it is
    assert fmt(matmul(sp.MatAdd(S.T, -S), x)) == "(Sᵀ - S) x"
    assert fmt(matmul(sp.MatAdd(x.T * S, -mu.T), x)) == "(xᵀ S - μᵀ) x"  # not (Sᵀ x - μ)ᵀ
    twin = matmul(sp.MatAdd(x.T, -mu.T), S, sp.MatAdd(x, -mu))
    assert fmt(twin) == "(x - μ)ᵀ S (x - μ)", fmt(twin)


def test_the_sigmoid_of_a_scalar_prints_as_sigma() -> None:
    """∂ log(1 + exp(wᵀx))/∂w printed exp(wᵀ x)/(exp(wᵀ x) + 1) x; the textbook's σ(wᵀx) x,
    and σ′ = σ(u)·σ(-u) for the sigmoid itself; both read back."""
    expr = parse_expression("log(1 + exp(w.T @ x))", SYMBOLS)
    d = gradient(expr, w)
    assert fmt(d.result) == "σ(wᵀ x) x", fmt(d.result)
    assert tex(d.result) == r"\sigma\left(w^{T} x\right) x"
    assert verify(fmt(d.result), expr, w, "denominator")
    check_derivation(d, {n: 3})
    s = parse_expression("sigmoid(w.T @ x)", SYMBOLS)
    ds = gradient(s, w)
    assert fmt(ds.result) == "σ(-wᵀ x)·σ(wᵀ x) x", fmt(ds.result)
    assert verify(fmt(ds.result), s, w, "denominator")
    assert fmt(sp.exp(sp.Symbol("t"))) == "exp(t)"  # an exp alone stays
    h = hessian(s, w)  # exp(-2u)/(1 + exp(-u))³ is σ(u)² σ(-u)... : no exp left
    assert "exp" not in fmt(h.result) and verify(fmt(h.result), s, w, order=2)


def test_a_sigmoid_inside_the_sigmoid_derivative_prints_as_sigma() -> None:
    """The squared error of one sigmoid output, (σ(wᵀx) - y)², had its gradient printed
    (-2·y + 2/(1 + exp(-wᵀ x)))·σ(-wᵀ x)·σ(wᵀ x) x, and headed by v₃·(...)/(v₃ + 1)² x
    with v₃ = exp(-wᵀ x): the σ(u) inside σ(u)σ(-u)·(...) was left as a fraction."""
    y = sp.Symbol("y")
    f = parse_expression("(sigmoid(w.T @ x) - y)**2", {**SYMBOLS, "y": y})
    d = gradient(f, w)
    assert "exp" not in fmt(d.result) and "2·σ(wᵀ x)" in fmt(d.result), fmt(d.result)
    assert "exp" not in title(d) and "v₃" not in title(d), title(d)
    assert verify(fmt(d.result), f, w, "denominator")
    check_derivation(d, {n: 3})


def test_a_factor_shared_by_some_terms_is_factored() -> None:
    """∇(xᵀBx + bᵀx) was B x + Bᵀ x + b (only a factor shared by every term was
    factored); it is (B + Bᵀ) x + b, as for xᵀBx alone."""
    B, b = sp.MatrixSymbol("B", n, n), sp.MatrixSymbol("b", n, 1)
    d = gradient(x.T * B * x + b.T * x, x)
    assert fmt(d.result) == "(B + Bᵀ) x + b", fmt(d.result)
    check_derivation(d, {n: 3})
    d = derive(x.T * B * x + b.T * x, x, "numerator")
    assert fmt(d.result) == "xᵀ (B + Bᵀ) + bᵀ", fmt(d.result)
    check_derivation(d, {n: 4})


def test_derivatives_by_a_one_by_one_matrix_read_as_the_cookbook_writes_them() -> None:
    """∂ det(A + sB)/∂s was tr(det(s B + A) Bᵀ (s Bᵀ + Aᵀ)⁻¹) and ∂ xᵀ(A + sI)⁻¹x/∂s
    tr(-(s I + Aᵀ)⁻¹ x xᵀ (s I + Aᵀ)⁻¹): scalars leave traces, a trace with an outer
    product in it is a quadratic form, and a product of transposes is transposed."""
    s, A, B = sp.MatrixSymbol("s", 1, 1), sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n)
    cases = {
        sp.Determinant(A + s[0, 0] * B): "det(s B + A)·tr((s B + A)⁻¹ B)",
        x.T * (A + s[0, 0] * sp.Identity(n)).I * x: "-xᵀ (s I_n + A)⁻² x",
        sp.log(sp.Determinant(A + s[0, 0] * B)): "tr((s B + A)⁻¹ B)",
    }
    for f, written in cases.items():
        d = derive(f, s)
        assert fmt(d.result) == written, fmt(d.result)
        check_derivation(d, {n: 3})


def test_a_quadratic_form_in_vec_has_a_matrix_gradient() -> None:
    """∇ vec(Z)ᵀ (B ⊗ A) vec(Z) printed vec⁻¹_{n×m}(vec(A Z Bᵀ) + vec(Aᵀ Z B)): the
    reshaping of a sum of vecs is the sum of the matrices."""
    from matderiv import vec
    from matderiv.testing import check_derivation

    n, m = sp.symbols("n m", integer=True, positive=True)
    Z, A, B = sp.MatrixSymbol("Z", n, m), sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", m, m)
    d = gradient(vec(Z).T * sp.KroneckerProduct(B, A) * vec(Z), Z)
    assert fmt(d.result) == "A Z Bᵀ + Aᵀ Z B", fmt(d.result)
    check_derivation(d, {n: 3, m: 4})


def test_two_forms_of_one_matrix_are_added() -> None:
    """A GP's negative log marginal likelihood yᵀK⁻¹y + log det K, K = X Xᵀ + σ² I, by X
    read (v₃ (I - y yᵀ v₃) + (I - v₃ y yᵀ) v₃) X: one matrix factored two ways before
    the two were added; 2 K⁻¹ (I - y yᵀ K⁻¹) X."""
    from matderiv.testing import check_derivation

    N, p = sp.symbols("N p", integer=True, positive=True)
    X, y = sp.MatrixSymbol("X", N, p), sp.MatrixSymbol("y", N, 1)
    K = X * X.T + sp.Symbol("sigma2", positive=True) * sp.Identity(N)
    d = gradient(sp.Trace(y.T * K.I * y) + sp.log(sp.Determinant(K)), X)
    assert fmt(d.steps[-1].expr) == "2 v₃ (I_N - y yᵀ v₃) X", fmt(d.steps[-1].expr)
    check_derivation(d, {N: 4, p: 3}, positive={sp.Symbol("sigma2", positive=True)})


def test_entrywise_hessians_of_a_matrix_read_as_for_a_vector() -> None:
    """Hessians by a matrix Z of sums of entrywise functions kept vec(·) pieces apart:
    3 diag(vec(2 Z)∘vec(C)) for tr(Cᵀ Z^∘3), and 2 (diag(vec(1 - t∘t))² - 2 diag(...))
    for 𝟏ᵀ tanh(Z)^∘2 𝟏; the vector's forms, 6 diag(vec(C∘Z)) and tanh″'s factors."""
    from matderiv.testing import check_derivation

    n, m = sp.symbols("n m", integer=True, positive=True)
    Z, C = sp.MatrixSymbol("Z", n, m), sp.MatrixSymbol("C", n, m)
    ones = sp.OneMatrix(m, n)
    cube = hessian(sp.Trace(C.T * sp.HadamardPower(Z, 3)), Z)
    assert fmt(cube.result) == "6 diag(vec(C∘Z))", fmt(cube.result)
    tanh2 = hessian(sp.Trace(ones * sp.HadamardPower(Z.applyfunc(sp.tanh), 2)), Z)
    text = fmt(tanh2.result)
    assert text.count("diag") == 1 and text.count("vec") == 1 and "(1 - 3 " in text, text
    root = sp.Trace(ones * (sp.HadamardPower(Z, 2) + ones.T).applyfunc(sp.sqrt))
    sqrt = hessian(root, Z)
    assert fmt(sqrt.result) == "diag(vec((Z∘Z + 1)^∘(-3/2)))", fmt(sqrt.result)
    for d in (cube, tanh2, sqrt):
        check_derivation(d, {n: 3, m: 2})


def test_a_centering_matrix_is_idempotent() -> None:
    """The Jacobian of x_c/‖x_c‖ (x_c = x - 𝟏𝟏ᵀx/n) held (I - 𝟏𝟏ᵀ/n)², which is the
    centering matrix itself."""
    from matderiv import jacobian, norm
    from matderiv.testing import check_derivation

    x = sp.MatrixSymbol("x", n, 1)
    one = sp.OneMatrix(n, 1)
    xc = x - one * (one.T * x) / n
    d = jacobian(xc / norm(xc), x, names={"x_c": xc})
    assert "²" not in fmt(d.result) and "𝟏_{n×n})²" not in title(d), title(d)
    check_derivation(d, {n: 4})


def test_a_headline_with_sigmoids_of_opposite_signs_reads_in_sigma() -> None:
    """σ(wᵀx)σ(-wᵀx)y's gradient was headed -(r·exp(2·(wᵀ x))·y - ...) x, with
    r = (1 + exp(-(-wᵀ x)))⁻³: the sign inside the 1 x 1 -wᵀx hid the sigmoid."""
    y = sp.Symbol("y")
    f = parse_expression("sigmoid(w.T @ x) * sigmoid(-(w.T @ x)) * y", {**SYMBOLS, "y": y})
    d = gradient(f, w)
    head = title(d)
    assert "exp" not in head and "-(-" not in head and "σ(-wᵀ x)" in head, head
    assert verify(head.split(" = ", 1)[1].rsplit("   ", 1)[0], f, w, "denominator")
    check_derivation(d, {n: 3})


def test_an_entrywise_power_cancels_its_inverse() -> None:
    """Label smoothing, -((1 - ε)y + ε/k 𝟏)ᵀ log softmax(z): its gradient kept
    q∘s^∘-1∘s (s = softmax(z)), 0/0 = NaN where s underflows (a logit gap of 800);
    s^∘-1∘s is 𝟏 wherever s^∘-1 is defined."""
    k = sp.Symbol("k", integer=True, positive=True)
    z, y, eps = sp.MatrixSymbol("z", k, 1), sp.MatrixSymbol("y", k, 1), sp.Symbol("eps")
    f = parse_expression(
        "-((1 - eps) * y + eps / k * ones(k, 1)).T @ log(softmax(z))",
        {"z": z, "y": y, "eps": eps, "k": k},
    )
    d = gradient(f, z)
    assert not any(isinstance(a, sp.HadamardPower) for a in sp.preorder_traversal(d.result))
    for dims in ({k: 2}, {k: 3}, {k: 5}):
        check_derivation(d, dims)
    zv, yv = np.array([[0.0], [-800.0], [5.0], [1.0]]), np.array([[1.0], [0], [0], [0]])
    got = evaluate(d, {z: zv, y: yv, eps: 0.1})
    q = 0.9 * yv + 0.1 / 4
    s = np.exp(zv - zv.max()) / np.exp(zv - zv.max()).sum()
    np.testing.assert_allclose(got, s * q.sum() - q, rtol=1e-12, atol=1e-15)
    A, B = sp.MatrixSymbol("A", k, k), sp.MatrixSymbol("B", k, k)
    assert matmul(hadamard_of(A, sp.HadamardPower(A, -1), B)) == B
    assert hadamard_of(A, sp.HadamardPower(A, -1)) == sp.OneMatrix(k, k)
    assert hadamard_of(A, sp.HadamardPower(A, sp.Rational(1, 2))) == sp.HadamardPower(
        A, sp.Rational(3, 2)
    )


def hadamard_of(*factors):
    from matderiv.canon import hadamard

    return hadamard(sp.HadamardProduct(*factors))


def test_the_trace_of_a_transposed_inverse_loses_its_transposes() -> None:
    """d det(s I - A)/ds printed det(s I_n - A)·tr((s I_n - Aᵀ)⁻¹) (Jacobi's formula
    with its Aᵀ from the chain rule's transposes): tr(Mᵀ) = tr(M) inside the inverse."""
    s, A = sp.Symbol("s"), sp.MatrixSymbol("A", n, n)
    for layout in ("numerator", "denominator"):
        d = derive(sp.Determinant(s * sp.Identity(n) - A), s, layout)
        assert fmt(d.result) == "det(s I_n - A)·tr((s I_n - A)⁻¹)", fmt(d.result)
        for size in (2, 3, 5):
            check_derivation(d, {n: size})
