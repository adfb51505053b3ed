"""where= programs: differentiation through definitions, named adjoints, linear size."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sympy as sp

import matderiv
from matderiv import (
    MatDerivError,
    ShapeMismatch,
    derive,
    evaluate,
    gradient,
    jacobian,
    lambdify,
    verify,
)
from matderiv.testing import check_derivation, numeric_jacobian, random_values

n, m = sp.symbols("n m", integer=True, positive=True)
DIMS = {n: 3, m: 4}
W = sp.MatrixSymbol("W", m, n)
U = sp.MatrixSymbol("U", n, n)
c = sp.MatrixSymbol("c", n, 1)
h0 = sp.MatrixSymbol("h_0", n, 1)


def rnn(T: int) -> tuple[sp.Expr, dict[sp.MatrixSymbol, sp.Expr], list[sp.MatrixSymbol]]:
    """L = Σ_t cᵀ h_t with h_t = tanh(Wᵀ x_t + Uᵀ h_{t-1}), as a program."""
    where, prev, hs = {}, h0, []
    for t in range(1, T + 1):
        x = sp.MatrixSymbol(f"x_{t}", m, 1)
        h = sp.MatrixSymbol(f"h_{t}", n, 1)
        where[h] = (W.T * x + U.T * prev).applyfunc(sp.tanh)
        prev = h
        hs.append(h)
    return sp.MatAdd(*[c.T * h for h in hs]), where, hs


def nodes(expr) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


def size(d) -> int:
    """SymPy nodes in everything the derivation emits: result, definitions, steps."""
    total = nodes(d.result) + sum(nodes(v) for v in d.definitions.values())
    return total + sum(nodes(s.expr) for s in d.steps)


@pytest.mark.parametrize("wrt", [W, U], ids=["W", "U"])
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_rnn_gradient_through_program_matches_finite_differences(wrt, layout) -> None:
    L, where, _ = rnn(3)
    d = derive(L, wrt, layout, where=where)
    check_derivation(d, DIMS, trials=2)
    assert d.mode == "reverse"


def test_gradient_is_backprop_through_time_with_named_adjoints() -> None:
    L, where, hs = rnn(3)
    d = gradient(L, W, where=where)
    names = [str(s) for s in d.definitions]
    assert names[:3] == ["h_1", "h_2", "h_3"]  # the user's program first
    assert set(names[3:]) == {"hbar_1", "hbar_2"}  # hbar_3 = c is not worth a name
    hbar_1 = next(s for s in d.definitions if str(s) == "hbar_1")
    hbar_2 = next(s for s in d.definitions if str(s) == "hbar_2")
    # hbar_1 = c + U (hbar_2 ∘ (1 - h_2∘h_2)): the adjoint recursion, one step each
    assert hbar_2 in d.definitions[hbar_1].free_symbols
    assert hs[1] in d.definitions[hbar_1].free_symbols
    assert d.result.free_symbols >= {hbar_1, hbar_2, *hs}
    assert [s.kind for s in d.steps].count("program") == 2


def test_adjoint_names_avoid_the_users_symbols() -> None:
    """A user symbol called hbar (Planck's constant, say) leaves the adjoint of h the
    name hadj; the fallback used to be hbar2, which LaTeX prints as ℏ₂."""
    x, h, hbar = (sp.MatrixSymbol(s, n, 1) for s in ("x", "h", "hbar"))
    where = {h: (U * x + hbar).applyfunc(sp.tanh)}
    L = c.T * (U * h)
    d = gradient(L, x, where=where)
    generated = [str(s) for s in d.definitions if s not in where]
    assert generated == ["hadj"]
    latex = d.to_latex()
    assert r"\hbar" not in latex
    # one symbol h with a superscript, not the product h·a·d·j
    assert r"h^{\mathrm{adj}}" in latex and "hadj" not in latex
    check_derivation(d, DIMS, trials=1)


def test_forward_jacobian_through_program_names_tangents() -> None:
    _, where, hs = rnn(3)
    d = jacobian(hs[-1], W, where=where)
    check_derivation(d, DIMS, trials=1)
    assert any(str(s).startswith("hdot") for s in d.definitions)


def test_evaluate_runs_the_program() -> None:
    L, where, hs = rnn(3)
    inline = L.xreplace({hs[2]: where[hs[2]]})
    inline = inline.xreplace({hs[1]: where[hs[1]]}).xreplace({hs[0]: where[hs[0]]})
    values = random_values(sp.Tuple(inline), DIMS, np.random.default_rng(1))
    env = {**values, **DIMS}
    np.testing.assert_allclose(evaluate(L, env, where=where), evaluate(inline, env))


def test_program_matches_the_inlined_tree() -> None:
    L, where, hs = rnn(2)
    tree = L.xreplace({hs[1]: where[hs[1]]}).xreplace({hs[0]: where[hs[0]]})
    tree = tree.xreplace({hs[0]: where[hs[0]]})
    values = random_values(tree, DIMS, np.random.default_rng(2))
    env = {**values, **DIMS}
    program = gradient(L, W, where=where)
    nested = gradient(tree, W)
    np.testing.assert_allclose(evaluate(program, env), evaluate(nested, env), rtol=1e-10)


def test_size_of_the_derivation_grows_linearly() -> None:
    sizes = {}
    for T in (8, 16, 32):
        L, where, _ = rnn(T)
        sizes[T] = size(gradient(L, W, where=where))
    per_step = [sizes[T] / T for T in sizes]
    assert max(per_step) / min(per_step) < 1.3, sizes


def test_long_program_has_no_recursion_error() -> None:
    L, where, _ = rnn(300)
    d = gradient(L, U, where=where)
    assert len(d.definitions) == 300 + 299


def test_verify_accepts_candidates_over_the_program() -> None:
    L, where, _ = rnn(2)
    right = "x_1 @ (hbar_1 * (1 - h_1 * h_1))' + x_2 @ (c * (1 - h_2 * h_2))'"
    assert verify(right, L, W, "denominator", where=where)
    wrong = verify("x_1 @ (hbar_1 * (1 - h_1 * h_1))'", L, W, "denominator", where=where)
    assert wrong.kind == "missing-term"


def test_verify_over_a_program_defines_the_generated_names_it_uses() -> None:
    """A message with h̄₁ (an adjoint the user never wrote) says what it is."""
    L, where, _ = rnn(2)
    wrong = verify("x_2 @ (c * (1 - h_2 * h_2))'", L, W, "denominator", where=where)
    assert wrong.kind == "missing-term"
    assert "Here h̄₁ := U ((1 - h₂∘h₂)∘c) + c." in wrong.message, wrong.message


def test_verify_over_a_program_finds_a_symmetry_assumption_on_its_inputs() -> None:
    """U only in the definitions (h_t = tanh(Wᵀx_t + Uᵀh_{t-1})): U for Uᵀ was "wrong"
    over the program and "symmetric" for the same function as one tree."""
    L, where, _ = rnn(2)
    text = (
        "x_1 @ ((c + U.T @ (c * (1 - h_2 * h_2))) * (1 - h_1 * h_1))' "
        "+ x_2 @ (c * (1 - h_2 * h_2))'"
    )
    v = verify(text, L, W, "denominator", where=where)
    assert v.kind == "symmetric" and v.details["symmetric"] == U


def test_sums_over_steps_print_in_step_order() -> None:
    """x₁ (...) + x₂ (...) + ... + x₁₀ (...): SymPy's order put x₁₀ after x₁."""
    from matderiv.render.latex import tex
    from matderiv.render.unicode import fmt

    L, where, _ = rnn(12)
    d = gradient(L, W, where=where)
    text, latex = fmt(d.result), tex(d.result)
    assert text.index("x₉ (") < text.index("x₁₀ (") < text.index("x₁₁ (") < text.index("x₁₂ (")
    assert latex.index("x_{9}") < latex.index("x_{10}")
    assert fmt(L).endswith("cᵀ h₉ + cᵀ h₁₀ + cᵀ h₁₁ + cᵀ h₁₂")


def test_lambdify_runs_the_program() -> None:
    L, where, _ = rnn(4)
    d = gradient(L, W, where=where)
    rng = np.random.default_rng(3)
    values = random_values(sp.Tuple(L, *where.values()), DIMS, rng, where=where)
    env = {**values, **DIMS}
    fn = matderiv.lambdify(d)
    params = inspect.signature(fn).parameters
    assert set(params) == {"U", "W", "c", "h_0", "x_1", "x_2", "x_3", "x_4"}
    got = fn(**{str(k): v for k, v in values.items() if str(k) in params})
    np.testing.assert_allclose(got, evaluate(d, env), rtol=1e-12)
    jac = numeric_jacobian(L, W, env, where=where)
    np.testing.assert_allclose(got, jac.reshape(4, 3, order="F"), rtol=1e-6, atol=1e-8)


def test_scalar_definitions_and_plain_aliases() -> None:
    x = sp.MatrixSymbol("x", n, 1)
    s = sp.Symbol("s")
    y = sp.MatrixSymbol("y", n, 1)
    where = {y: x, s: sp.log(sp.Trace(x.T * x))}
    d = gradient(s * sp.Trace(c.T * y), x, where=where)
    check_derivation(d, DIMS, trials=1)


def test_where_errors_name_the_problem() -> None:
    a = sp.MatrixSymbol("a", n, 1)
    b = sp.MatrixSymbol("b", n, 1)
    x = sp.MatrixSymbol("x", n, 1)
    with pytest.raises(MatDerivError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        gradient(sp.Trace(c.T * a), x, where={a: b + x, b: a})
    with pytest.raises(ShapeMismatch, match="Declare a with the shape"):
        gradient(sp.Trace(c.T * a), x, where={a: W})
    with pytest.raises(MatDerivError, match="also the variable"):
        gradient(sp.Trace(c.T * x), x, where={x: a})
    with pytest.raises(MatDerivError, match="keys must be MatrixSymbols"):
        gradient(sp.Trace(c.T * x), x, where={"a": x})
    with pytest.raises(MatDerivError, match="definition of a in where= is not a SymPy expr"):
        gradient(sp.Trace(c.T * a), x, where={a: object()})


_N1 = sp.Symbol("n", integer=True, positive=True)
_X1 = sp.MatrixSymbol("x", _N1, 1)


@pytest.mark.parametrize(
    "definition",
    [sp.exp(_X1.T * _X1), 3, sp.ImmutableMatrix([[3]])],
    ids=["exp(xᵀx)", "3", "Matrix([[3]])"],
)
def test_a_one_by_one_symbol_defined_by_a_scalar(definition) -> None:
    """s := exp(xᵀx) (a scalar) for a 1 x 1 s gave the result 2·s̄ s x, a product of a
    1 x 1 and an n x 1 matrix that evaluate and the generated code could not run;
    s := 3 generated s[0, 0] of an int.  A scalar definition is that scalar times I₁."""
    c, s = sp.MatrixSymbol("c", _N1, 1), sp.MatrixSymbol("s", 1, 1)
    d = gradient(c.T * _X1 * s, _X1, where={s: definition})
    check_derivation(d, {_N1: 3})
    rng = np.random.default_rng(0)
    values = {_X1: rng.normal(size=(3, 1)), c: rng.normal(size=(3, 1)), _N1: 3}
    generated = lambdify(d)(x=values[_X1], c=values[c])
    np.testing.assert_allclose(generated, evaluate(d, values), rtol=1e-12)


def test_an_explicit_matrix_larger_than_one_by_one_is_refused_in_where() -> None:
    S, T = sp.MatrixSymbol("S", 2, 2), sp.MatrixSymbol("T", 2, 2)
    with pytest.raises(MatDerivError, match="explicit 2 x 2 matrix"):
        gradient(sp.Trace(T * S), S, where={T: sp.ImmutableMatrix([[1, 2], [3, 4]])})


def test_named_adjoints_are_defined_before_the_chain_steps_use_them() -> None:
    """BPTT's h̄_t appeared in chain-rule lines before the section defining them."""
    T = 3
    W, U, c = (
        sp.MatrixSymbol("W", _N1, _N1),
        sp.MatrixSymbol("U", _N1, _N1),
        sp.MatrixSymbol("c", _N1, 1),
    )
    hs = [sp.MatrixSymbol(f"h_{t}", _N1, 1) for t in range(T + 1)]
    xs = [sp.MatrixSymbol(f"x_{t}", _N1, 1) for t in range(T + 1)]
    where = {hs[t]: (W.T * xs[t] + U.T * hs[t - 1]).applyfunc(sp.tanh) for t in range(1, T + 1)}
    d = gradient(sp.MatAdd(*(c.T * h for h in hs[1:])), W, where=where)
    generated = {str(s) for s in d.definitions if str(s) not in {str(h) for h in hs}}
    assert generated, d.definitions
    seen: set[str] = set()
    for step in d.steps:
        used = {str(a) for a in sp.sympify(step.expr).free_symbols} & generated
        assert used <= seen | {step.lhs}, (step.kind, step.lhs, used - seen)
        if step.kind == "program":
            seen.add(step.lhs)


def test_evaluate_checks_a_programs_inputs_once_not_per_step(monkeypatch) -> None:
    """evaluate of a T-step program re-bound and re-checked every input at every step
    (and built an error message with repr of each array): 70 s at T = 300."""
    import sys
    from pathlib import Path

    import numpy as np

    from matderiv import numeric_inputs

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from cases import rnn_data, rnn_program

    calls = []
    original = numeric_inputs._check_shape
    monkeypatch.setattr(
        numeric_inputs, "_check_shape", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    counts = []
    for T in (10, 40):
        L, W, _, where = rnn_program(T)
        d = gradient(L, W, where=where)
        calls.clear()
        evaluate(d, rnn_data(T, 3, np.random.default_rng(0)))
        counts.append(len(calls))
    assert counts[1] < 6 * counts[0], counts  # linear: 4x the steps, about 4x the checks


def test_index_notation_of_a_program_adds_names_to_small_sets(monkeypatch) -> None:
    """Renaming the summation indices of each line merged the names of every symbol of
    the program into the set each node extends (a copy per node: the index notation
    was quadratic in T, 18 s at T = 256).  The names bound around a node stay few,
    however long the program."""
    import matderiv.index_sums as index_sums

    largest = [0]
    original = index_sums._rename

    def recording(expr, reserved, taken=frozenset()):
        largest[0] = max(largest[0], len(taken))
        return original(expr, reserved, taken)

    monkeypatch.setattr(index_sums, "_rename", recording)
    sizes = {}
    for T in (4, 16):
        largest[0] = 0
        L, where, _ = rnn(T)
        text = gradient(L, W, where=where).to_index_notation()
        assert text.count("\n") > 2 * T, text[:400]  # a line per adjoint at least
        sizes[T] = largest[0]
    assert sizes[16] == sizes[4] <= 4, sizes


def test_a_size_defined_in_where_is_refused_not_a_hang() -> None:
    """where={n: tr(X X)} of an n x n X looped in the graph, holding 5 GB after a
    minute: n is a size of the matrices, not a formula of them."""
    from matderiv import MatDerivError, gradient

    n = sp.Symbol("n", integer=True, positive=True)
    X, Y = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("Y", 3, 3)
    for where in ({n: sp.Trace(X * X)}, {n: sp.Trace(Y)}):  # in a definition, or in f
        with pytest.raises(MatDerivError, match="also a size of the matrices"):
            gradient(sp.Trace(X) * n, X, where=where)
    plain = sp.Symbol("n")  # another symbol of the same name: a scalar, defined
    d = gradient(sp.Trace(X) * plain, X, where={plain: sp.Trace(X * X)})
    assert check_derivation(d, {n: 3}) < 1e-6


def test_where_given_to_evaluate_may_not_redefine_the_derivation_s_symbols() -> None:
    """evaluate(d, values, where={h: X x}) of a d that defines h := tanh(X x) silently
    computed with tanh; lambdify too.  A different definition is refused, the same one
    taken."""
    from matderiv import MatDerivError, evaluate, gradient, lambdify

    n = sp.Symbol("n", integer=True, positive=True)
    X, x, h = sp.MatrixSymbol("X", n, n), sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("h", n, 1)
    d = gradient(sp.OneMatrix(1, n) * h, x, where={h: (X * x).applyfunc(sp.tanh)})
    values = {X: np.eye(3) * 0.5, x: np.ones((3, 1))}
    with pytest.raises(MatDerivError, match=r"where= defines h as X x.*tanh\(X x\)"):
        evaluate(d, values, where={h: X * x})
    with pytest.raises(MatDerivError, match="where= defines h"):
        lambdify(d, where={h: X * x})
    same = evaluate(d, values, where={h: (X * x).applyfunc(sp.tanh)})
    np.testing.assert_allclose(same, evaluate(d, values))


def test_a_candidate_may_use_the_adjoint_a_program_leaves_unnamed() -> None:
    """The last state's adjoint h̄₂ = c is a leaf, not a generated definition: a uniform
    BPTT candidate using it was refused as "unknown symbol 'h2bar'", with a hint to
    pass the program (it was passed)."""
    x1, x2 = sp.MatrixSymbol("x1", m, 1), sp.MatrixSymbol("x2", m, 1)
    a1, h1, a2, h2 = (sp.MatrixSymbol(s, n, 1) for s in ("a1", "h1", "a2", "h2"))
    where = {
        a1: W.T * x1 + U.T * h0,
        h1: a1.applyfunc(sp.tanh),
        a2: W.T * x2 + U.T * h1,
        h2: a2.applyfunc(sp.tanh),
    }
    L = c.T * h2
    d = gradient(L, W, where=where)
    assert "h2bar" not in map(str, d.definitions) and d.leaf_adjoints == {"h2bar": c}
    bptt = "x1 @ (h1bar * (1 - h1**2)).T + x2 @ (h2bar * (1 - h2**2)).T"
    assert verify(bptt, L, W, "denominator", where=where)
    wrong = verify(bptt.replace("h1bar", "h2bar"), L, W, "denominator", where=where)
    assert not wrong
    with pytest.raises(matderiv.ParseError) as caught:
        verify("x2 @ (h3bar * (1 - h2**2)).T", L, W, "denominator", where=where)
    said = str(caught.value)
    assert "add --program" not in said, said
    assert "its adjoints are a1bar, a2bar, h1bar, h2bar" in said, said


def test_a_long_program_is_not_run_again_per_left_out_factor(monkeypatch) -> None:
    """verify's diagnoses of a program's adjoints run the program once per factor,
    term or label value: for a long recurrence (T = 64) that tripled the time of a
    wrong candidate's verdict, so only programs of at most SMALL_PROGRAM definitions
    are run so."""
    import matderiv.mistake_terms as terms

    runs: list[object] = []
    original = terms.matches_without

    def counted(m, symbol, changed):
        runs.append(symbol)
        return original(m, symbol, changed)

    monkeypatch.setattr(terms, "matches_without", counted)
    L, where, _ = rnn(9)
    d = gradient(L, W, where=where)
    assert len(d.definitions) > terms.SMALL_PROGRAM
    assert verify(W * U, L, W, "denominator", where=where).kind == "wrong"
    assert [s for s in runs if s is not None] == []
    L, where, _ = rnn(2)  # a short one is
    assert verify(W * U, L, W, "denominator", where=where).kind == "wrong"
    assert [s for s in runs if s is not None]
