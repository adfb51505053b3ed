"""Nested trees: matderiv's own work grows linearly with depth (counted, not timed)."""

from __future__ import annotations

import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from matderiv import gradient, jacobian, substitute
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
