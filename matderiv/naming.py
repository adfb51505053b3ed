"""The names matderiv gives the intermediates it introduces (v_1, v_2, ...).

One place for their form, read both by the engine that hands them out and by the
renderers that write them out again in a result's headline.
"""

from __future__ import annotations

import re

_GENERATED = re.compile(r"v_[0-9]+")
#: the note of a second-order derivation's headings (g := ∇f, p := ⟨∇f, V⟩)
SECOND_ORDER_NOTE = " (second order)"


def generated_name(k: int) -> str:
    """The k-th generated intermediate's name: v_k."""
    return f"v_{k}"


def is_generated_name(name: str) -> bool:
    """Whether ``name`` has the form of a generated intermediate's name (v_k).

    Generated names avoid the user's symbols and names, so within one derivation a
    define step called v_k that is neither a user's name nor a where= symbol is one.
    """
    return _GENERATED.fullmatch(name) is not None


def adjoint_note(name: str) -> str | None:
    """For an unknown name that looks like an adjoint a program generates (hbar_1, h̄₁:
    ``program.Namer``'s accent "bar"), what to do; None for other names."""
    if "\u0304" not in name and re.search(r"bar(?:_|\d|$)", name) is None:
        return None
    return f"{name} {ADJOINT_HINT}"


#: what adjoint_note says after the name
ADJOINT_HINT = (
    "looks like an adjoint that a program generates: on the command line add --program "
    "(in Python, pass the definitions as where=)"
)
