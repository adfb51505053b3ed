"""Fixtures shared by the test modules."""

from __future__ import annotations

import builtins
from typing import Any

import pytest
import sympy as sp


@pytest.fixture
def no_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if user text reaches eval, exec, sympify or SymPy's string parser."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("user text reached eval/exec/sympify")

    real_sympify = sp.sympify

    def guarded_sympify(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            forbidden()
        return real_sympify(value, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sp, "sympify", guarded_sympify)
    monkeypatch.setattr("sympy.parsing.sympy_parser.parse_expr", forbidden)
