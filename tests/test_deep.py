"""Nested trees: matderiv's own work grows linearly with depth (counted, not timed)."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import sympy as sp
from counting import count_calls
from rich.console import Console
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from matderiv import (
    ExpressionTooDeep,
    evaluate,
    gradient,
    hessian,
    hvp,
    jacobian,
    lambdify,
    substitute,
    verify,
)
from matderiv.limits import deep_recursion
from matderiv.scalarize import lambda_restorer, scalarize
from matderiv.shapes import shape_of
from matderiv.substitute import unchecked

x = sp.MatrixSymbol("x", 3, 1)
A = sp.MatrixSymbol("A", 3, 3)


def tanh_chain(depth: int) -> sp.MatrixExpr:
    """tanh(A tanh(A ... tanh(A x))), ``depth`` levels."""
    e = x
    for _ in range(depth):
        e = sp.MatMul(A, e).applyfunc(sp.tanh)
    return e


def tanh_dag(depth: int) -> sp.MatrixExpr:
    """e_{k+1} = tanh(A e_k + e_k): ``depth`` distinct nodes, 2^depth as a tree."""
    e = x
    for _ in range(depth):
        e = sp.MatAdd(sp.MatMul(A, e), e).applyfunc(sp.tanh)
    return e


def _count_rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = substitute.rebuild

    def counting(node, args):
        calls[0] += 1
        return original(node, args)

    for module in ("matderiv.substitute", "matderiv.step_names", "matderiv.scalarize"):
        monkeypatch.setattr(f"{module}.rebuild", counting)
    return calls


@pytest.mark.parametrize("kind", ["jacobian", "gradient"])
def test_each_subexpression_is_rebuilt_once_per_derivation(monkeypatch, kind) -> None:
    # The steps show every chain value with the intermediates by name; the values
    # share their subexpressions, so one memo rebuilds each once (xreplace per step
    # rebuilt them all again: quadratic in depth, and each rebuild cost O(depth)).
    calls = _count_rebuilds(monkeypatch)
    counts = {}
    for depth in (16, 32, 64):
        e = tanh_chain(depth)
        calls[0] = 0
        if kind == "jacobian":
            jacobian(e, x)
        else:
            gradient(sp.Trace(sp.MatMul(x.T, e)), x)
        counts[depth] = calls[0]
    assert counts[32] <= 2.2 * counts[16] and counts[64] <= 2.2 * counts[32], counts


def test_the_shape_of_a_new_node_reads_its_operands_only(monkeypatch) -> None:
    e = tanh_chain(100)
    shape_of(e)  # the walk that remembers every shape below e
    reads = [0]
    for cls in (sp.MatMul, ElementwiseApplyFunction):
        getter = cls.shape.fget

        def counting(self, getter=getter):
            reads[0] += 1
            return getter(self)

        monkeypatch.setattr(cls, "shape", property(counting))
    assert shape_of(unchecked(sp.HadamardProduct, e, e)) == (3, 1)
    assert shape_of(unchecked(sp.MatMul, A, e)) == (3, 1)
    assert reads[0] == 0  # SymPy would recompute each through all 100 levels


def test_a_dag_is_walked_as_a_dag() -> None:
    # 2^24 nodes as a tree: any walk that unfolds it (Basic.atoms, xreplace) never ends
    e = tanh_dag(24)
    assert lambda_restorer(e)(e) == e
    d = gradient(sp.Trace(sp.MatMul(x.T, e)), x)
    assert d.shape == (3, 1)


def test_equal_inputs_give_identical_intermediates() -> None:
    # scalarize interns its result: a tree derived again, or built again, yields the
    # same objects, so the memos compare them by identity, not level by level.
    assert scalarize(tanh_chain(50)) is scalarize(tanh_chain(50))
    assert scalarize(sp.Trace(sp.MatMul(x.T, tanh_chain(50)))).arg.args[1] is scalarize(
        tanh_chain(50)
    )


def linear_chain(depth: int) -> sp.MatrixExpr:
    """A(A(... (A x + b) ...) + b) + b, ``depth`` levels: products and sums only."""
    b = sp.MatrixSymbol("b", 3, 1)
    e = x
    with deep_recursion():  # SymPy's constructors check shapes recursively
        for _ in range(depth):
            e = sp.MatAdd(sp.MatMul(A, e), b)
    return e


def _count_sympy_walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts SymPy's recursive shape reads and free-symbol walks, each level a call."""
    calls = [0]
    for cls, name in ((sp.MatMul, "shape"), (sp.MatAdd, "shape"), (sp.Basic, "free_symbols")):
        getter = getattr(cls, name).fget

        def counting(self, getter=getter):
            calls[0] += 1
            return getter(self)

        monkeypatch.setattr(cls, name, property(counting))
    return calls


def test_deep_sums_and_products_cost_linear_sympy_walks(monkeypatch) -> None:
    # The steps asked each intermediate's free symbols, canon.matadd split each term
    # with as_coeff_mmul (a new product, its shape checked through every level), and
    # the printer of the code's docstring ordered each nested sum by a preorder walk
    # of its terms: quadratic in the depth (lambdify at depth 1000 took 98 s).
    c = sp.MatrixSymbol("c", 3, 1)
    counts = {}
    for depth in (50, 100, 200):
        L = sp.MatMul(c.T, linear_chain(depth))
        calls = _count_sympy_walks(monkeypatch)
        lambdify(gradient(L, x))
        counts[depth] = calls[0]
        monkeypatch.undo()
    assert counts[100] <= 2.3 * counts[50] and counts[200] <= 2.3 * counts[100], counts


def test_verify_takes_a_deep_tree() -> None:
    """verify drew its random values by SymPy's recursive free_symbols, outside the
    raised recursion limit: a RecursionError at 300 levels."""
    c = sp.MatrixSymbol("c", 3, 1)
    L = sp.MatMul(c.T, linear_chain(300))
    d = gradient(L, x)
    assert verify(d.result, L, x, "denominator")
    assert verify(sp.MatMul(2, d.result), L, x, "denominator").kind != "correct"


def test_a_tree_deeper_than_the_recursion_limit_is_refused_with_what_to_do(
    monkeypatch,
) -> None:
    """SymPy hashes, compares and prints recursively: past the raised limit the
    RecursionError from inside SymPy becomes an error that says to use where=."""
    c = sp.MatrixSymbol("c", 3, 1)
    with deep_recursion(6000):
        L = sp.MatMul(c.T, linear_chain(600))
    monkeypatch.setattr("matderiv.limits.RECURSION_LIMIT", 1500)
    for call in (lambda: gradient(L, x), lambda: verify(x, L, x, "denominator")):
        with pytest.raises(ExpressionTooDeep, match=r"where=\{h_1") as info:
            call()
        assert not isinstance(info.value, RecursionError)
        assert isinstance(info.value.__cause__, RecursionError)


def test_generated_code_names_a_large_expression_by_its_size() -> None:
    """The docstring printed the whole expression and kept 200 characters: a deep
    tree cost its depth in recursion (a RecursionError at 1500 levels).  120 levels
    of A e + b: 240 sums and products, cᵀ and the product by it, A, b, c and x."""
    c = sp.MatrixSymbol("c", 3, 1)
    deep = lambdify(gradient(sp.MatMul(c.T, linear_chain(120)), x)).source
    assert "∂(an expression of 246 distinct subexpressions)/∂(x)" in deep, deep[:600]
    small = lambdify(gradient(sp.MatMul(c.T, linear_chain(2)), x)).source
    assert "∂(cᵀ (A (A x + b) + b))/∂(x)" in small, small[:600]


def test_hvp_hessian_and_the_renderers_raise_the_limit_themselves() -> None:
    """hvp chose the direction's name by SymPy's recursive free_symbols, and the
    Derivation's and Verdict's renderers printed with SymPy's recursive printers,
    outside the raised limit: a RecursionError on a tree derive itself handled."""
    c = sp.MatrixSymbol("c", 3, 1)
    b = sp.MatrixSymbol("b", 3, 1)
    constant = linear_chain(200).xreplace({x: b})  # no x: its derivatives are cheap
    f = sp.MatAdd(sp.MatMul(c.T, x), sp.MatMul(c.T, constant))
    L = sp.MatMul(c.T, linear_chain(200))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(500)
    try:
        assert hvp(f, x).result == sp.ZeroMatrix(3, 1)
        assert hessian(f, x).result == sp.ZeroMatrix(3, 3)
        d = gradient(L, x)
        assert "∂f/∂x = (Aᵀ)²⁰⁰ c" in str(d)
        assert r"\partial f" in d.to_latex()
        console = Console(file=io.StringIO(), width=100)
        console.print(d)
        assert "(Aᵀ)²⁰⁰" in console.file.getvalue()
        v = verify(d.result, L, x, "denominator")
        assert "correct" in str(v) and "correct" in v._repr_markdown_()
        console.print(v)
    finally:
        sys.setrecursionlimit(old)


def test_nested_kronecker_products_read_sympy_shapes_linearly(monkeypatch) -> None:
    """SymPy's KroneckerProduct.shape asks each operand for its shape twice and
    remembers none: the shape cache took it whole, so (((X + B) ⊗ a + B) ⊗ a ...)
    cost 2^depth reads (4.7 s at 20 levels, minutes at 40)."""
    X, B = sp.MatrixSymbol("X", 3, 3), sp.MatrixSymbol("B", 3, 3)
    a = sp.MatrixSymbol("a", 1, 1)
    reads = [0]
    getter = sp.KroneckerProduct.shape.fget

    def counting(self):
        reads[0] += 1
        return getter(self)

    counts = {}
    for depth in (8, 16):
        e = X
        for _ in range(depth):
            e = sp.KroneckerProduct(sp.MatAdd(e, B), a)
        monkeypatch.setattr(sp.KroneckerProduct, "shape", property(counting))
        reads[0] = 0
        d = gradient(sp.Trace(e), X)
        monkeypatch.undo()
        counts[depth] = reads[0]
        assert d.shape == (3, 3)
    assert counts[16] <= 2.5 * counts[8] + 10, counts


def test_generated_code_of_a_deep_chain_walks_each_node_a_bounded_number_of_times(
    monkeypatch,
) -> None:
    """The one-pass check asked each node of g whether the matrix A occurs in it by a
    walk of the node's free symbols: quadratic in depth (lambdify of a 300-level
    tanh chain took minutes).  Counted: the nodes shapes.walk yields."""
    import matderiv.shapes as shapes

    c = sp.MatrixSymbol("c", 3, 1)
    visits = [0]
    original = shapes.walk

    def counting(*exprs, **kwargs):
        for node in original(*exprs, **kwargs):
            visits[0] += 1
            yield node

    counts = {}
    for depth in (20, 40):
        d = gradient(sp.MatMul(c.T, tanh_chain(depth)), x)
        monkeypatch.setattr(shapes, "walk", counting)
        visits[0] = 0
        f = lambdify(d)
        monkeypatch.undo()
        counts[depth] = visits[0]
        rng = np.random.default_rng(depth)
        values = {A: rng.standard_normal((3, 3)) / 2, x: rng.standard_normal((3, 1))}
        values[c] = rng.standard_normal((3, 1))
        got = f(**{str(k): v for k, v in values.items()})
        assert np.allclose(got, evaluate(d, values)), (got, evaluate(d, values))
    assert counts[40] <= 2.5 * counts[20] + 50, counts


def test_an_hvp_regroups_each_shared_subexpression_once(monkeypatch) -> None:
    """The second phase of an HVP names every level of a nested chain, and each named
    expression was regrouped on its own: every product of the chain once per level
    above it (quadratic; with each product tried against every named run, an HVP of a
    150-level linear recurrence took 21 s)."""
    import matderiv.regroup as regroup

    c = sp.MatrixSymbol("c", 3, 1)
    calls = count_calls(monkeypatch, regroup, "_regroup_product")
    counts = {}
    for depth in (20, 40):
        calls[0] = 0
        d = hvp(sp.MatMul(c.T, linear_chain(depth)), x)
        counts[depth] = calls[0]
        assert d.result == sp.ZeroMatrix(3, 1)  # linear in x: H = 0
    assert counts[40] <= 2.3 * counts[20], counts


def test_a_plain_entrywise_function_is_not_rebuilt_to_look_for_a_composition(
    monkeypatch,
) -> None:
    """Each applyfunc(tanh) has its own Lambda (a fresh variable); reading t ↦ tanh(t)
    as 'tanh of t' rebuilt tanh(t) through SymPy (its eval, cached only for the last
    1000 calls: a program of 1024 steps paid it for every step).  Fused compositions
    are still split."""
    import matderiv.named_functions as nf

    calls = count_calls(monkeypatch, nf, "_outer")
    plain = [sp.MatMul(A, x).applyfunc(f) for f in (sp.tanh, sp.exp, sp.sin)]
    scalarize(sp.MatAdd(*plain))
    assert calls[0] == 0
    fused = x.applyfunc(sp.tanh).applyfunc(sp.exp).doit()
    assert isinstance(fused.function.expr, sp.exp)  # SymPy fused them into one Lambda
    split = scalarize(fused)
    assert calls[0] > 0
    assert isinstance(split.expr, ElementwiseApplyFunction)  # exp∘(tanh∘(x))


def _forget_simplified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty simplify's memos shared across calls, so that one measurement does not
    reuse what another depth's derivation left there."""
    import matderiv.simplify as simplify

    monkeypatch.setattr(simplify, "_PASSED", {})
    monkeypatch.setattr(simplify, "_NORMAL", set())
    monkeypatch.setattr(simplify, "_NO_PAIR_RULE", set())


def _chain_of(kind: str, depth: int) -> sp.Expr:
    """tr(e_depth) with e_0 = X and e_k = e_{k-1}ᵀ + B ("T") or (A + e_{k-1})⁻¹ ("inv")."""
    X, B = sp.MatrixSymbol("X", 3, 3), sp.MatrixSymbol("B", 3, 3)
    e: sp.MatrixExpr = X
    for _ in range(depth):
        e = sp.MatAdd(sp.Transpose(e), B) if kind == "T" else sp.Inverse(sp.MatAdd(A, e))
    return sp.Trace(e)


@pytest.mark.parametrize("kind", ["T", "inv"])
def test_intermediates_of_a_chain_are_simplified_once_each(monkeypatch, kind) -> None:
    """The steps simplify each intermediate e_k; e_k holds e_{k-1}, which is no fixed
    point of the rules (its transposes or sums are rewritten), so each level was
    simplified again inside every later one: n² rewrites (2.9 s at 100 levels)."""
    import matderiv.simplify as simplify

    calls = count_calls(monkeypatch, simplify, "_rewrite_once")
    counts = {}
    for depth in (16, 32, 64):
        _forget_simplified(monkeypatch)
        f = _chain_of(kind, depth)
        calls[0] = 0
        gradient(f, sp.MatrixSymbol("X", 3, 3))
        counts[depth] = calls[0]
    assert counts[32] <= 2.2 * counts[16] and counts[64] <= 2.2 * counts[32], counts


def test_products_of_powers_compare_factors_by_hash_first(monkeypatch) -> None:
    """Merging A Aᵏ compares neighbouring factors; SymPy's == walks two different
    inverses of deep sums to the bottom before it looks at a hash (the gradient of
    200 nested inverses took 19 s)."""
    from sympy.core.basic import Basic

    calls = count_calls(monkeypatch, Basic, "__eq__")
    counts = {}
    for depth in (16, 32, 64):
        f = _chain_of("inv", depth)
        calls[0] = 0
        gradient(f, sp.MatrixSymbol("X", 3, 3))
        counts[depth] = calls[0]
    # the result is a product of 2·depth factors at each level: quadratic in size,
    # so the comparisons are too; walking each pair to the bottom made them cubic
    assert counts[64] <= 4.5 * counts[32], counts


def test_forward_mode_tries_each_pair_of_adjacent_factors_once(monkeypatch) -> None:
    """The Jacobian of a chain at level k is a product of 2k factors holding the pairs
    of level k - 1's; each pair was offered to every pair rule again at every level."""
    import matderiv.simplify as simplify

    calls = [0]

    def counting(rule):
        def tried(left, right):
            calls[0] += 1
            return rule(left, right)

        tried.__name__ = rule.__name__
        return tried

    monkeypatch.setattr(simplify, "PAIR_RULES", tuple(map(counting, simplify.PAIR_RULES)))
    counts = {}
    for depth in (16, 32, 64):
        _forget_simplified(monkeypatch)
        e = tanh_chain(depth)
        calls[0] = 0
        jacobian(e, x)
        counts[depth] = calls[0]
    assert counts[32] <= 2.3 * counts[16] and counts[64] <= 2.3 * counts[32], counts
