"""A term left out of a where= program's generated adjoint.

In a program, the derivative's terms sit in the definitions of the generated
adjoints (x̄c := ȳ/s - (s̄/s) xc ...), not in the result (Xᵀ Ā₁): the program is run
with one term of one definition left out, and a candidate that equals that is named,
as ``mistake_terms.missing_term`` names a term of a self-contained result."""

from __future__ import annotations

import sympy as sp

from .mistake_terms import matches_without, small_program
from .mistakes import Comparison, Found, named
from .render.unicode import fmt

#: terms of generated definitions tried one by one, at most
MAX_PROGRAM_TERMS = 24


def missing_program_term(m: Comparison) -> Found:
    """The first term of a generated definition (a sum of at most six terms) whose
    omission makes the program's result the candidate."""
    d = m.derivation
    if not small_program(d):
        return None
    tried = 0
    for symbol, value in d.definitions.items():
        if symbol in d.where or not isinstance(value, sp.MatAdd) or len(value.args) > 6:
            continue
        for term in value.args:
            tried += 1
            if tried > MAX_PROGRAM_TERMS:
                return None
            rest = sp.MatAdd(*[t for t in value.args if t is not term])
            if matches_without(m, symbol, rest):
                shown = fmt(named(term, d.names))
                return (
                    "missing-term",
                    f"the candidate lacks the term {shown} of the program's {fmt(symbol)} "
                    f"(a path the chain rule sums); the rest agrees. The {m.thing} is "
                    f"{m.shown_result}.",
                    {"missing": term, "definition": symbol},
                )
    return None
