"""The gamma family entrywise: log Γ (loggamma, lgamma, gammaln), ψ (digamma) and ψ′
(trigamma), as likelihoods of counts and proportions need them (negative binomial,
Beta, Dirichlet): derivatives checked by finite differences, values with SciPy,
and what every printer writes read back by every reader."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from matderiv import derive, evaluate, gradient, hessian, lambdify, verify
from matderiv.parse.declarations import parse_shapes
from matderiv.parse.expr import parse_expression
from matderiv.parse.latex import parse_latex
from matderiv.render.syntax import to_syntax
from matderiv.render.tex_printer import tex
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation

S = parse_shapes("alpha: n, p: n, x: n, a: n, X: m x n, b: n, y: m, r: scalar")
alpha, p, x, a, X, b, y, r = (S[k] for k in ("alpha", "p", "x", "a", "X", "b", "y", "r"))
n, m = alpha.shape[0], X.shape[0]
DIMS = ({n: 2, m: 3}, {n: 3, m: 5}, {n: 4, m: 2}, {n: 5, m: 4})

#: the Dirichlet log-likelihood of proportions p in its parameters α
dirichlet = parse_expression(
    "loggamma(sum(alpha)) - sum(loggamma(alpha)) + (alpha - 1).T @ log(p)", S
)
#: a negative binomial's count part, with the mean exp(X b) as the dispersion
negbin = parse_expression("sum(lgamma(y + exp(X @ b)) - gammaln(exp(X @ b)))", S)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "f, wrt", [(dirichlet, alpha), (negbin, b)], ids=["dirichlet", "negative binomial"]
)
def test_derivatives_match_finite_differences(f, wrt, layout) -> None:
    d = derive(f, wrt, layout)
    for seed, dims in enumerate(DIMS):
        check_derivation(d, dims, seed=seed, positive={alpha, p, y})


def test_the_textbook_forms_and_the_hessian() -> None:
    """∇ = ψ(𝟏ᵀα) 𝟏 - ψ(α) + log p; H = ψ′(𝟏ᵀα) 𝟏𝟏ᵀ - diag(ψ′(α))."""
    g = gradient(dirichlet, alpha)
    assert fmt(g.result) == "log(p) + digamma(𝟏_nᵀ α) 𝟏_n - digamma(α)"
    h = hessian(dirichlet, alpha)
    for seed, dims in enumerate(DIMS[:3]):
        check_derivation(h, dims, seed=seed, positive={alpha, p})
    rng = np.random.default_rng(0)
    al = rng.uniform(0.5, 2.0, (4, 1))
    expected = scipy.special.polygamma(1, al.sum()) * np.ones((4, 4)) - np.diag(
        scipy.special.polygamma(1, al[:, 0])
    )
    got = evaluate(h, {alpha: al, p: np.full((4, 1), 0.25)})
    assert np.allclose(got, expected)


def test_values_and_generated_code_use_scipy() -> None:
    rng = np.random.default_rng(1)
    values = {x: rng.uniform(0.5, 3.0, (3, 1)), a: rng.uniform(0.5, 3.0, (3, 1))}
    f = parse_expression("sum(loggamma(x + a))", S)
    d = gradient(f, x)
    expected = scipy.special.digamma(values[x] + values[a])
    assert np.allclose(evaluate(d, values), expected)
    assert np.isclose(evaluate(f, values), scipy.special.gammaln(values[x] + values[a]).sum())
    fn = lambdify(d)
    assert "scipy.special.digamma" in fn.source
    assert np.allclose(fn(x=values[x], a=values[a]), expected)


def test_printed_forms_read_back() -> None:
    g = gradient(dirichlet, alpha).result
    h = hessian(dirichlet, alpha).result
    assert r"\psi\left(" in tex(g) and r"\psi'\left(" in tex(h)
    assert r"\log\Gamma\left(" in tex(dirichlet)
    for text in (fmt(g), tex(g), to_syntax(g)):
        assert verify(text, dirichlet, alpha, "denominator"), text
    for text in (fmt(h), tex(h), to_syntax(h)):
        assert verify(text, dirichlet, alpha, order=2), text
    # a forgotten ψ(𝟏ᵀα) term is named
    assert verify(r"\log p - \psi(\alpha)", dirichlet, alpha, "denominator").kind == "missing-term"


def test_the_readers_spellings() -> None:
    scalar = parse_shapes("s: scalar")
    at = {scalar["s"]: np.array([[2.5]])}
    expected = scipy.special.gammaln(2.5) + scipy.special.digamma(2.5)
    expected += scipy.special.polygamma(1, 2.5)
    for text in (
        r"\ln\Gamma(s) + \psi(s) + \psi'(s)",
        r"\log \Gamma(s) + \operatorname{digamma}(s) + \operatorname{trigamma}(s)",
    ):
        assert np.isclose(evaluate(parse_latex(text, scalar), at), expected), text
    got = parse_expression("lgamma(s) + gammaln(s) + loggamma(s)", scalar)
    assert np.isclose(evaluate(got, at), 3 * scipy.special.gammaln(2.5))
    # a symbol called psi keeps its meaning: ψ(x) is then the product ψ·x
    declared = parse_shapes("psi: scalar, x: n")
    product = parse_latex(r"\psi(x)", declared)
    assert declared["psi"] in product.free_symbols


def test_numba_refuses_scipy_clearly() -> None:
    pytest.importorskip("numba")
    from matderiv.errors import BackendError

    with pytest.raises(BackendError, match=r"scipy\.special.*backend='numpy'"):
        lambdify(gradient(dirichlet, alpha), backend="numba")
