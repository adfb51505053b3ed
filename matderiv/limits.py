"""Room for deep expressions.

SymPy compares, hashes and prints expressions recursively, so a nested tree a
few hundred levels deep (an unrolled recurrence written as one expression)
exceeds Python's default recursion limit inside SymPy itself.  matderiv's own
walks are iterative; around SymPy calls, ``deep_recursion`` raises the limit
for the duration of one call (never lowering a limit the user has set) and,
since a derivation allocates many small objects and creates no cycles,
pauses the cyclic garbage collector, whose repeated full passes would make
long programs quadratic.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from .errors import ExpressionTooDeep

RECURSION_LIMIT = 12_000

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def deep_recursion(limit: int | None = None) -> Iterator[None]:
    """Run the block with a recursion limit of at least ``limit`` (``RECURSION_LIMIT``
    by default) and the cyclic garbage collector paused.  A RecursionError that
    escapes the block (a tree nested deeper than even that limit lets SymPy hash,
    compare or print) is raised as ``ExpressionTooDeep``, which says what to do."""
    old_limit = sys.getrecursionlimit()
    was_enabled = gc.isenabled()
    raised = max(old_limit, RECURSION_LIMIT if limit is None else limit)
    sys.setrecursionlimit(raised)
    gc.disable()
    try:
        yield
    except RecursionError as error:
        raise ExpressionTooDeep(
            f"the expression is nested too deeply: Python's recursion limit ({raised} "
            "calls) ran out inside SymPy or matderiv, which hash, compare and print "
            "expressions level by level.  Write the nesting as a program instead: name "
            "each level with a MatrixSymbol and pass where={h_1: ..., h_2: ...} "
            "(a program of any length is differentiated without recursion), or raise "
            "sys.setrecursionlimit above it before the call (matderiv keeps a higher "
            "limit given to it)."
        ) from error
    finally:
        sys.setrecursionlimit(old_limit)
        if was_enabled:
            gc.enable()


def allows_deep(fn: F) -> F:
    """Run ``fn`` inside ``deep_recursion``."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with deep_recursion():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
