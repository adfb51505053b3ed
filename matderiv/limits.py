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

RECURSION_LIMIT = 12_000

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def deep_recursion(limit: int = RECURSION_LIMIT) -> Iterator[None]:
    old_limit = sys.getrecursionlimit()
    was_enabled = gc.isenabled()
    sys.setrecursionlimit(max(old_limit, limit))
    gc.disable()
    try:
        yield
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
