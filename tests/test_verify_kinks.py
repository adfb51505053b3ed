"""verify with kinks (relu, |·|, step, sign) at a constant that the random points do
not reach: a candidate without the kink's term is wrong, not "correct" because the
term is 0 at every point drawn."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from matderiv import declare, evaluate, parse, verify
from matderiv.kinks import kink_arguments, unswitched
from matderiv.render.unicode import fmt
from matderiv.testing import numeric_jacobian
from matderiv.trials import make_trials

S = declare("W: n x k, w: n, c: k, z: n")
n, k = sp.Symbol("n", integer=True, positive=True), sp.Symbol("k", integer=True, positive=True)

# (candidate, f, variable): each candidate drops the term of a kink at a constant
WRONG = [
    # a clipped relu (relu6 with threshold 1): the upper clip's step forgotten
    ("W @ (step(W.T @ w) * c)", "c.T @ (relu(W.T @ w) - relu(W.T @ w - 1))", "w"),
    ("W @ (step(W.T @ w) * c)", "c.T @ (relu(W.T @ w) - relu(W.T @ w - 6))", "w"),
    # a positive z (under a log) drawn from [0.5, 2]: a kink at 2, 3, 10
    ("1/z", "sum(log(z)) + sum(relu(z - 2))", "z"),
    ("1/z - 1", "sum(log(z)) + sum(abs(z - 3))", "z"),
    ("z", "z.T @ z / 2 + sum(relu(z - 10)**2)/2", "z"),
]


def _differs_somewhere(candidate: str, f: str, variable: str) -> bool:
    """The candidate differs from central differences of f at a point with large
    values (where the kink is crossed): the test's own ground truth."""
    x = S[variable]
    rng = np.random.default_rng(3)
    sizes = {n: 4, k: 3}
    values = {M: rng.uniform(0.5, 2.0, (M.shape[0].subs(sizes), 1)) for M in (S["w"], S["z"])}
    values[S["W"]] = rng.standard_normal((4, 3))
    values[S["c"]] = rng.standard_normal((3, 1))
    values = {M: v * 30 if x == M else v for M, v in values.items()}
    fd = numeric_jacobian(parse(f, S), x, {**values, **sizes}).T  # denominator layout
    cand = np.asarray(evaluate(parse(candidate, S), {**values, **sizes}), float)
    return not np.allclose(cand, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("candidate", "f", "variable"), WRONG)
def test_a_kink_at_a_constant_is_crossed(candidate: str, f: str, variable: str) -> None:
    assert _differs_somewhere(candidate, f, variable)  # the candidate is wrong
    v = verify(candidate, parse(f, S), S[variable], "denominator")
    assert not v.ok
    assert v.kind in ("missing-term", "wrong")


def test_the_missing_term_is_named() -> None:
    v = verify("1/z", parse("sum(log(z)) + sum(relu(z - 2))", S), S["z"], "denominator")
    assert v.kind == "missing-term"
    assert "step(z - 2)" in v.message


@pytest.mark.parametrize(
    ("candidate", "f"),
    [
        ("1/z + step(z - 2)", "sum(log(z)) + sum(relu(z - 2))"),
        ("1/z + sign(z - 3)", "sum(log(z)) + sum(abs(z - 3))"),
        ("step(z) * step(z)", "sum(relu(z))"),  # 0 or 1: its own square
    ],
)
def test_right_candidates_with_kinks_stay_right(candidate: str, f: str) -> None:
    assert verify(candidate, parse(f, S), S["z"], "denominator").ok


def test_a_kink_no_point_crosses_is_not_confirmed() -> None:
    v = verify("1/z", parse("sum(log(z)) + sum(relu(z - 1000))", S), S["z"], "denominator")
    assert not v.ok
    assert v.kind == "unswitched-kink"
    assert "step(z - 1000)" in v.message and "z - 1000" in v.message


def test_kink_arguments_entrywise_and_scalar_and_which_stay_uncrossed() -> None:
    f = parse("sum(relu(z - 2)) + relu(sum(z) - 5) + sum(relu(z - 1000000))", S)
    found = kink_arguments((f,))
    assert sorted(fmt(g) for g in found) == ["5 - 𝟏_nᵀ z", "z - 1000000", "z - 2"]
    assert not any(g.has(sp.Lambda) for g in found)
    # z from the standard normal: z - 2 and 1ᵀz - 5 change sign at 3, 10 or 100 times
    # larger values, z - 10⁶ never does
    assert [fmt(g) for g in unswitched(make_trials((f,), seed=0), (f,))] == ["z - 1000000"]


def test_the_command_line_exits_1() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "matderiv",
            "verify",
            "W @ (step(W.T @ w) * c)",
            "--of",
            "c.T @ (relu(W.T @ w) - relu(W.T @ w - 1))",
            "--wrt",
            "w",
            "--shapes",
            "W: n x k, w: n, c: k",
            "--layout",
            "denominator",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "step(Wᵀ w - 1)" in result.stdout


def _in(layout: str, column: str) -> str:
    """A gradient written as a column, in ``layout`` (numerator: its transpose)."""
    return column if layout == "denominator" else f"({column}).T"


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_derivative_zero_at_every_point_below_its_kinks_is_compared_at_larger_values(
    layout,
) -> None:
    """step(z - 2) - step(z - 8) is 0 wherever z < 2, at every point of standard normal
    values: the printed result was "vanishing" (could not be confirmed)."""
    f = parse("sum(relu(z - 2) - relu(z - 8))", S)
    assert verify(_in(layout, "step(z - 2) - step(z - 8)"), f, S["z"], layout).ok
    wrong = verify(_in(layout, "step(z - 2)"), f, S["z"], layout)
    assert not wrong.ok and wrong.kind == "missing-term"


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_points_where_the_derivative_is_undefined_are_left_out(layout) -> None:
    """∇‖relu(X w)‖ is 0/0 where every entry of X w is negative (at some points with
    two rows): the right candidate was "not-finite"; a wrong one is still wrong."""
    S2 = declare("X: m x n, w: n")
    f = parse("norm(relu(X @ w))", S2)
    right = "X.T @ (step(X @ w) * relu(X @ w)) / norm(relu(X @ w))"
    assert verify(_in(layout, right), f, S2["w"], layout).ok
    wrong = "X.T @ relu(X @ w) / norm(X @ w)"
    assert not verify(_in(layout, wrong), f, S2["w"], layout).ok


def test_a_relu_mask_without_its_bias_is_not_right_for_biases_that_sum_to_one() -> None:
    """step(X W1) for the mask step(X W1 + 𝟏 b1ᵀ) of a relu network given as a program
    matched at the points with b1 a probability vector (X W1 large beside it, no kink
    crossed), and was named "right only if the entries of b1 sum to 1": untrue (a b1
    of 3, -3, 1/2, 1/2 sums to 1 and the candidate is wrong there)."""
    S = declare("X: N x d, W1: d x h, b1: h, W2: h x h, b2: h, W3: h x k, Y: N x k")
    N, h, k_ = (sp.Symbol(s, integer=True, positive=True) for s in ("N", "h", "k"))
    A1, H1, A2, H2 = (sp.MatrixSymbol(s, N, h) for s in ("A1", "H1", "A2", "H2"))
    Z = sp.MatrixSymbol("Z", N, k_)
    S.update(A1=A1, H1=H1, A2=A2, H2=H2, Z=Z)
    where = {
        A1: parse("X @ W1 + ones(N,1) @ b1.T", S),
        H1: parse("relu(A1)", S),
        A2: parse("H1 @ W2 + ones(N,1) @ b2.T", S),
        H2: parse("relu(A2)", S),
        Z: parse("H2 @ W3", S),
    }
    L = parse("sum((Z - Y)**2)/2", S)
    mask = "X.T @ (((((Z - Y) @ W3.T) * step(A2)) @ W2.T) * {})"
    assert verify(mask.format("step(A1)"), L, S["W1"], "denominator", where=where)
    v = verify(mask.format("step(X @ W1)"), L, S["W1"], "denominator", where=where)
    assert not v and v.kind != "sums-to-one", v.message
