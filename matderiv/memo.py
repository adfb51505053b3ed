"""A bounded memo keyed by object identity.

SymPy compares expressions structurally, so looking up an expression that
equals a key but is another object compares the two trees node by node down
to the operands they share: on a nested expression of depth D, O(D) per
lookup.  A derivation builds many such copies (and the memos outlive it, so
the next derivation of the same expression builds them all again).  Keyed by
``id`` (holding the key, so the id stays its own), a lookup is O(1); a copy
is a miss and is worked out again from its operands, which usually hit.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    """{expression: value} by identity; cleared when it holds more than ``limit``."""

    def __init__(self, limit: int = 200_000) -> None:
        self._items: dict[int, tuple[Any, V]] = {}
        self._limit = limit

    def get(self, key: Any) -> V | None:
        hit = self._items.get(id(key))
        return hit[1] if hit is not None and hit[0] is key else None

    def put(self, key: Any, value: V) -> V:
        if len(self._items) >= self._limit:
            self._items.clear()
        self._items[id(key)] = (key, value)
        return value
