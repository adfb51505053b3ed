"""A pasted line's left-hand side and shape label: not checked, but a note says
where they contradict the question (they were ignored silently)."""

from __future__ import annotations

import pytest
import sympy as sp

from matderiv import declare, derive, gradient, parse, verify
from matderiv.examples import rnn_step

S = declare("A: m x n, x: n, b: m")
F = parse("norm(A @ x - b)**2", S)


def test_a_left_hand_side_by_another_input_is_noted() -> None:
    v = verify("∂f/∂b = 2 Aᵀ (A x - b)", F, S["x"], "denominator")
    assert (
        v.ok and "Note: the pasted line is a derivative by b, but the variable is x" in v.message
    )


def test_a_shape_label_of_the_other_layout_is_noted() -> None:
    v = verify("∂f/∂x = 2 Aᵀ (A x - b)   (1 × n)", F, S["x"], "denominator")
    assert v.ok and "shape label is (1 × n) (the other layout's shape)" in v.message
    assert "(n × 1) in denominator layout" in v.message


def _example(e):
    return derive(e.expr, e.wrt, e.layout, names=e.names)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    "build",
    [
        lambda layout: gradient(F, S["x"]) if layout == "denominator" else derive(F, S["x"]),
        lambda layout: derive(sp.Trace(S["A"].T * S["A"]), S["A"], layout),
        lambda layout: _example(rnn_step(layout=layout)),
    ],
)
def test_a_line_printed_by_matderiv_gets_no_note(build, layout) -> None:
    """The headline str(d) prints (∂h₁/∂vec(Wₕₓᵀ) = ... (nₕ·nᵢ × nₕ)) pasted back."""
    d = build(layout)
    line = str(d).splitlines()[0]
    v = verify(line, d.of, d.wrt, d.layout, names=d.names)
    assert v.ok and "Note" not in v.message, (line, v.message)
