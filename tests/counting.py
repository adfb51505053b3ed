"""Counting calls, for the tests that check work by counts rather than by time."""

from __future__ import annotations

from typing import Any

import pytest


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Replace ``owner.name`` (a function of a module, or a method of a class) by one
    that counts its calls and then makes them; the count is ``[0]`` of the list
    returned, which a test resets between measurements."""
    calls = [0]
    original = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls
