"""verify on long sums and long programs: the common mistakes are still found, and
looking for them costs work linear in the length (counted, not timed)."""

from __future__ import annotations

import sympy as sp
from counting import count_calls

import matderiv.trials as trials
from matderiv import gradient, verify

M = sp.MatrixSymbol
n, m = sp.symbols("n m", integer=True, positive=True)
X = M("X", n, m)
A = [M(f"a_{k}", n, 1) for k in range(10)]
B = [M(f"b_{k}", m, 1) for k in range(10)]
F = sp.Add(*[sp.Trace(a.T * X * b) for a, b in zip(A, B, strict=True)])
TERMS = [a * b.T for a, b in zip(A, B, strict=True)]  # ∂F/∂X, denominator layout


def test_a_sum_of_ten_terms_with_one_left_out_is_a_missing_term() -> None:
    """Sums of more than six terms were not searched for a term left out at all
    ("wrong, none of the common mistakes"); one change is searched in any sum."""
    assert verify(sp.MatAdd(*TERMS), F, X, "denominator")
    v = verify(sp.MatAdd(*TERMS[:4], *TERMS[5:]), F, X, "denominator")
    assert v.kind == "missing-term" and v.details["missing"] == TERMS[4], v.kind


def test_a_sum_of_ten_terms_with_one_sign_wrong_is_a_term_sign() -> None:
    v = verify(sp.MatAdd(*TERMS[:7], -TERMS[7], *TERMS[8:]), F, X, "denominator")
    assert v.kind == "term-sign" and v.details["wrong_sign"] == TERMS[7], (v.kind, v.details)


def test_a_candidate_of_eleven_terms_with_one_too_many_is_an_extra_term() -> None:
    extra = A[0] * B[1].T
    v = verify(sp.MatAdd(*TERMS, extra), F, X, "denominator")
    assert v.kind == "extra-term" and v.details["extra"] == [extra], (v.kind, v.details)


def _rnn(T: int) -> tuple[sp.Expr, sp.MatrixSymbol, dict[sp.MatrixSymbol, sp.MatrixExpr]]:
    W, U = M("W", m, n), M("U", n, n)
    c, prev = M("c", n, 1), M("h_0", n, 1)
    where, hs = {}, []
    for t in range(1, T + 1):
        h = M(f"h_{t}", n, 1)
        where[h] = (W.T * M(f"x_{t}", m, 1) + U.T * prev).applyfunc(sp.tanh)
        prev = h
        hs.append(h)
    return sp.MatAdd(*[c.T * h for h in hs]), W, where


def test_a_backprop_through_time_gradient_missing_one_step_says_which() -> None:
    """The gradient of an RNN of 8 steps with one step's term left out was "wrong,
    none of the common mistakes" (the sum had 8 terms)."""
    L, W, where = _rnn(8)
    d = gradient(L, W, where=where)
    kept, dropped = d.result.args[:-1], d.result.args[-1]
    v = verify(sp.MatAdd(*kept), L, W, "denominator", where=where)
    assert v.kind == "missing-term" and v.details["missing"] == dropped, v.kind


def test_looking_for_mistakes_runs_a_program_a_fixed_number_of_times(monkeypatch) -> None:
    """Whether the candidate assumes labels that sum to 1 or are ±1 was tried input
    vector by input vector, each try running the whole program: an RNN of T steps has
    T + 2 input vectors, so a wrong candidate cost T² (46 s at T = 64).  Now every
    vector is changed at once first.  A short program (at most SMALL_PROGRAM
    definitions) is also run once per factor, term or label value left out of its
    adjoints, a bounded number of times."""
    from matderiv.mistake_terms import SMALL_PROGRAM

    calls = count_calls(monkeypatch, trials, "_run_program")
    runs = {}
    for T in (4, 8, 16, 24):
        L, W, where = _rnn(T)
        d = gradient(L, W, where=where)
        assert (len(d.definitions) <= SMALL_PROGRAM) == (T <= 8)
        wrong = 2 * sp.MatAdd(*d.result.args[:-1])
        calls[0] = 0
        assert not verify(wrong, L, W, "denominator", where=where)
        runs[T] = calls[0]
    assert runs[24] == runs[16], runs
    assert max(runs[4], runs[8]) <= 400, runs


def test_a_program_run_gives_each_step_only_the_values_it_uses(monkeypatch) -> None:
    """Each step of a program's run at a trial point was evaluated with the whole point
    (every input and every symbol computed so far), which evaluate reads and checks:
    a run of T steps read T² values."""
    given = [0]
    original = trials.evaluate

    def counting(expr, values, **kwargs):
        given[0] += len(values)
        return original(expr, values, **kwargs)

    monkeypatch.setattr(trials, "evaluate", counting)
    read = {}
    for T in (8, 16, 32):
        L, W, where = _rnn(T)
        d = gradient(L, W, where=where)
        given[0] = 0
        assert verify(d.result, L, W, "denominator", where=where)
        read[T] = given[0]
    assert read[32] <= 2.3 * read[16] and read[16] <= 2.3 * read[8], read
