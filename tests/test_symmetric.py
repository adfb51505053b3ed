"""symmetric=: results written with Σᵀ = Σ, and the gradient by a symmetric variable.

Every derivative is compared with central finite differences (``check_derivation``
draws the declared matrices symmetric, and compares a symmetric variable's gradient
with the symmetric part of the differences'); the gradient among symmetric matrices is
also checked on its own definition, the derivative along symmetric directions.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_trees import SIZES, expressions
from typer.testing import CliRunner

from matderiv import derive, evaluate, gradient, hessian, hvp, jacobian, lambdify, verify
from matderiv.cli import app
from matderiv.errors import EvaluationError, MatDerivError
from matderiv.render.unicode import fmt
from matderiv.testing import check_derivation, spd_matrix

n, k = sp.symbols("n k", integer=True, positive=True)
Sigma = sp.MatrixSymbol("Sigma", n, n)
S = sp.MatrixSymbol("S", n, n)
A = sp.MatrixSymbol("A", n, n)
B = sp.MatrixSymbol("B", n, k)
x = sp.MatrixSymbol("x", n, 1)
mu = sp.MatrixSymbol("mu", n, 1)
LAYOUTS = ("numerator", "denominator")
DIMS = ({n: 3, k: 2}, {n: 4, k: 3}, {n: 5, k: 2}, {n: 2, k: 1})  # k <= n: Bᵀ Σ B invertible

logdet = sp.log(sp.Determinant(Sigma))
gaussian = -logdet / 2 - sp.Trace(Sigma.I * S) / 2
quadratic = (x - mu).T * Sigma.I * (x - mu)

CASES = [  # (f, variable, symmetric=)
    (logdet, Sigma, [Sigma]),
    (gaussian, Sigma, [Sigma, S]),
    (gaussian, Sigma, [Sigma]),  # S not symmetric: no simplification by it
    (sp.Trace(A * Sigma), Sigma, [Sigma]),
    (sp.Trace(A * Sigma * A.T * Sigma), Sigma, [Sigma]),
    (sp.log(sp.Determinant(B.T * Sigma * B)), Sigma, [Sigma]),
    (x.T * Sigma * x, Sigma, [Sigma]),
    (quadratic, Sigma, [Sigma]),
    (quadratic, mu, [Sigma]),
    (x.T * A * x, x, [A]),
    (sp.Trace(Sigma.I * S * Sigma.I * A), A, [Sigma, S]),
]


def _ids(case: tuple) -> str:
    f, X, sym = case
    return f"{fmt(f)} by {X} ({', '.join(map(str, sym))})"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_derivatives_with_symmetric_matrices_match_finite_differences(case, layout) -> None:
    f, X, sym = case
    d = derive(f, X, layout, symmetric=sym)
    assert d.symmetric == tuple(sorted(sym, key=str))
    for seed, dims in enumerate(DIMS):
        check_derivation(d, dims, seed=seed)
    # no transpose of a matrix declared symmetric is left in the answer
    assert not any(
        isinstance(e, sp.Transpose) and e.arg in sym for e in sp.preorder_traversal(d.result)
    )


def test_the_textbook_forms() -> None:
    assert gradient(logdet, Sigma, symmetric=[Sigma]).result == Sigma.I  # not Σ⁻ᵀ
    assert derive(logdet, Sigma, "numerator", symmetric=[Sigma]).result == Sigma.I
    by_mu = gradient(quadratic, mu, symmetric=[Sigma]).result
    assert by_mu == 2 * Sigma.I * (mu - x)  # not Σ⁻¹ (μ - x) + Σ⁻ᵀ (μ - x)
    # without the declaration, the general forms
    assert gradient(logdet, Sigma).result == Sigma.T.I


def test_the_gradient_among_symmetric_matrices_is_the_derivative_along_symmetric_directions() -> (
    None
):
    """⟨G, E⟩ = d/dt f(Σ + tE) for every symmetric E, and G is symmetric; the gradient
    by all n² entries (Aᵀ for tr(AΣ)) fails the first for a non-symmetric A."""
    rng = np.random.default_rng(7)
    for f in (sp.Trace(A * Sigma), sp.Trace(A * Sigma * A.T * Sigma), gaussian):
        G = gradient(f, Sigma, symmetric=[Sigma])
        for size in (2, 3, 4):
            values = {
                Sigma: spd_matrix(size, rng),
                A: rng.standard_normal((size, size)),
                S: spd_matrix(size, rng),
            }
            used = {M: v for M, v in values.items() if M in f.free_symbols}
            g = evaluate(G, used)
            assert np.allclose(g, g.T)
            E = rng.standard_normal((size, size))
            E = E + E.T
            h = 1e-6
            ahead = evaluate(f, {**used, Sigma: used[Sigma] + h * E})
            behind = evaluate(f, {**used, Sigma: used[Sigma] - h * E})
            assert np.isclose((ahead - behind) / (2 * h), np.sum(g * E), rtol=1e-6)


def test_a_symmetric_gradient_that_is_not_symmetric_as_written_is_averaged() -> None:
    """tr(AΣ): Aᵀ by the n² entries; (A + Aᵀ)/2 among symmetric matrices, with the step."""
    d = gradient(sp.Trace(A * Sigma), Sigma, symmetric=[Sigma])
    assert d.result == sp.MatMul(sp.Rational(1, 2), A + A.T)
    assert [s.rule for s in d.steps if s.kind == "simplify"] == ["symmetric gradient"]
    assert "among symmetric matrices" in d.description and "Σ symmetric" in d.description
    assert "among symmetric matrices" in d.to_latex()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_symmetric_matrices_step_is_shown_as_the_result_is(layout) -> None:
    """The step read (Σ⁻¹ + Σ⁻ᵀ)(μ - x) ⇒ (Σ⁻¹ + Σ⁻¹)(μ - x), like terms not joined,
    and in the numerator layout as an n x 1 column beside a 1 x n result."""
    d = derive(quadratic, mu, layout, symmetric=[Sigma])
    step = next(s for s in d.steps if s.rule == "symmetric matrices")
    want = "2 (μ - x)ᵀ Σ⁻¹" if layout == "numerator" else "2 Σ⁻¹ (μ - x)"
    assert fmt(d.result) == want and fmt(step.expr) == want, (fmt(d.result), fmt(step.expr))
    assert step.shape == d.shape and "Σ⁻ᵀ" in fmt(step.before)
    check_derivation(d, {n: 3})


def test_hessians_and_hvps_with_symmetric_constants() -> None:
    for f, X in ((quadratic, mu), (x.T * A * x + x.T * S * x, x)):
        sym = [M for M in (Sigma, S) if M in f.free_symbols]
        h = hessian(f, X, symmetric=sym)
        assert not h.result.has(sp.Transpose(sym[0]))
        v = hvp(f, X, symmetric=sym)
        for seed, dims in enumerate(DIMS[:3]):
            check_derivation(h, dims, seed=seed)
            check_derivation(v, dims, seed=seed)
    assert hessian(quadratic, mu, symmetric=[Sigma]).result == 2 * Sigma.I


def test_programs_with_symmetric_constants() -> None:
    """where=: the generated adjoints are written with Σᵀ = Σ too."""
    a, h = sp.MatrixSymbol("a", n, 1), sp.MatrixSymbol("h", n, 1)
    where = {a: Sigma.I * (x - mu), h: a.applyfunc(sp.tanh)}
    d = gradient((h.T * Sigma * h)[0, 0], mu, where=where, symmetric=[Sigma])
    for e in (d.result, *d.definitions.values()):
        assert not e.has(sp.Transpose(Sigma)), e
    for seed, dims in enumerate(DIMS):
        check_derivation(d, dims, seed=seed)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_scalar_functions_of_a_symmetric_matrix(data) -> None:
    """Random well-shaped scalar trees over a square variable: the gradient among
    symmetric matrices agrees with finite differences in both layouts."""
    X = sp.MatrixSymbol("X", n, n)
    f = data.draw(expressions((sp.S.One, sp.S.One), X, 2))
    layout = data.draw(st.sampled_from(LAYOUTS))
    d = derive(f, X, layout, symmetric=[X])
    check_derivation(d, SIZES, seed=0)


def test_matrices_may_be_named_by_their_names() -> None:
    assert gradient(logdet, Sigma, symmetric=["Sigma"]).result == Sigma.I
    with pytest.raises(MatDerivError, match="no matrix named 'Sgima'"):
        gradient(logdet, Sigma, symmetric=["Sgima"])


def test_bad_declarations_are_refused_clearly() -> None:
    with pytest.raises(MatDerivError, match=r"x of shape \(n x 1\).*only a square"):
        gradient(logdet, Sigma, symmetric=[x])
    with pytest.raises(MatDerivError, match="A does not occur in the expression"):
        gradient(logdet, Sigma, symmetric=[A])
    with pytest.raises(MatDerivError, match=r"takes a list of square MatrixSymbols"):
        gradient(logdet, Sigma, symmetric=Sigma)
    with pytest.raises(MatDerivError, match=r"takes a list of square MatrixSymbols"):
        verify("inv(Sigma)", logdet, Sigma, symmetric="Sigma")  # not the letters S, i, ...
    with pytest.raises(MatDerivError, match=r"a Jacobian .* by the symmetric matrix Σ"):
        jacobian(Sigma.I, Sigma, symmetric=[Sigma])
    with pytest.raises(MatDerivError, match="a Hessian by the symmetric matrix Σ"):
        hessian(logdet, Sigma, symmetric=[Sigma])
    with pytest.raises(MatDerivError, match="a Hessian-vector product by the symmetric"):
        hvp(logdet, Sigma, symmetric=[Sigma])


def test_values_that_are_not_symmetric_are_refused() -> None:
    d = gradient(gaussian, Sigma, symmetric=[Sigma, S])
    good = np.array([[2.0, 0.5], [0.5, 1.0]])
    skew = np.array([[1.0, 0.3], [0.0, 1.0]])
    assert np.allclose(
        evaluate(d, {Sigma: good, S: good}), evaluate(d, {"Sigma": good, "S": good})
    )
    with pytest.raises(EvaluationError, match=r"S was declared symmetric.* 0\.3"):
        evaluate(d, {Sigma: good, S: skew})
    fn = lambdify(d)
    assert np.allclose(fn(Sigma=good, S=good), evaluate(d, {Sigma: good, S: good}))
    with pytest.raises(ValueError, match=r"S was declared symmetric.*= 0\.3"):
        fn(Sigma=good, S=skew)


def test_verify_with_a_symmetric_variable() -> None:
    right = verify("inv(Sigma)", logdet, Sigma, "denominator", symmetric=[Sigma])
    assert right and "gradient among symmetric Σ" in right.message
    cookbook = verify("2 * inv(Sigma) - inv(Sigma) * eye(n)", logdet, Sigma, symmetric=[Sigma])
    assert cookbook.kind == "symmetric-entries"
    assert "With Σ declared symmetric" in cookbook.message
    wrong = verify(
        "inv(Sigma) @ S @ inv(Sigma) - inv(Sigma)", gaussian, Sigma, symmetric=[Sigma, S]
    )
    assert wrong.kind == "factor"


def test_cli_symmetric() -> None:
    runner = CliRunner()
    shapes = ["--shapes", "Sigma: n x n, S: n x n, x: n, mu: n"]
    out = runner.invoke(
        app,
        ["derive", "logdet(Sigma)", "--wrt", "Sigma", *shapes, "--symmetric", "Sigma"],
        catch_exceptions=False,
    )
    assert out.exit_code == 0 and "∂f/∂Σ = Σ⁻¹ " in out.output
    assert "among symmetric matrices" in out.output
    out = runner.invoke(
        app,
        [
            "hessian",
            "(x - mu).T @ inv(Sigma) @ (x - mu)",
            "--wrt",
            "mu",
            *shapes,
            *["--symmetric", "Sigma"],
        ],
        catch_exceptions=False,
    )
    headline = out.output.splitlines()[1]
    assert out.exit_code == 0 and "2 Σ⁻¹" in headline and "Σ⁻ᵀ" not in headline
    out = runner.invoke(
        app,
        ["derive", "logdet(Sigma)", "--wrt", "Sigma", *shapes, "--symmetric", "Q"],
        catch_exceptions=False,
    )
    assert out.exit_code != 0 and "Q" in out.output
    out = runner.invoke(
        app,
        ["derive", "logdet(Sigma)", "--wrt", "Sigma", *shapes, "--symmetric", "Sigma", "--json"],
        catch_exceptions=False,
    )
    data = json.loads(out.output)
    assert data["symmetric"] == ["Sigma"] and data["result"] == "Σ⁻¹"


def test_the_index_notation_of_a_symmetric_gradient_is_its_value() -> None:
    """to_index_notation() ended at G[i,j] = A[j,i] for tr(AΣ), not (G + Gᵀ)/2, the result."""
    d = gradient(sp.Trace(A * Sigma), Sigma, symmetric=[Sigma])
    last = d.to_index_notation().splitlines()[-1]
    assert "A[i,j]/2 + A[j,i]/2" in last, last


def test_a_defined_symbol_is_not_declared_symmetric() -> None:
    """P := Σ A in where= taken symmetric gave 2 P x, wrong (P is not), unchecked."""
    P = sp.MatrixSymbol("P", n, n)
    with pytest.raises(MatDerivError, match="P is defined in where="):
        gradient(x.T * P * x, x, where={P: Sigma * A}, symmetric=[P])


def test_cli_symmetric_by_the_greek_letter() -> None:
    out = CliRunner().invoke(
        app,
        ["derive", "x.T @ Σ @ x", "--wrt", "x", "--shapes", "Σ: n x n, x: n", "--symmetric", "Σ"],
        catch_exceptions=False,
    )
    assert out.exit_code == 0 and "2 xᵀ Σ" in out.output
