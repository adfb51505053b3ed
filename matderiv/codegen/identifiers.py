"""Python identifiers for symbol names in generated code.

A symbol's name is the user's text: it may not be an identifier (a-b), may be a
keyword (lambda) or may shadow what the generated code calls (numpy, getattr,
float, the helpers _kron, _f_core ...).  Each becomes an identifier of its own.
"""

from __future__ import annotations

import builtins
import keyword
import re

#: names the generated code uses: modules and builtins (getattr, float, ...); the
#: generated helpers (_kron, _f_core, ...) all start with "_", which no symbol's
#: identifier does
RESERVED = {"numpy", "np", "math", "numba", *dir(builtins)}


def identifiers(names: list[str], taken: set[str]) -> list[str]:
    """Identifiers for ``names``, in order, distinct from ``taken`` and each other: a
    name that is an identifier already keeps it, whatever comes first (W_1 stays W_1
    beside W^1, which becomes W_1_2, not the other way round)."""
    out: list[str | None] = [None] * len(names)
    for k, name in enumerate(names):
        if _usable(name) and name not in taken:
            taken.add(name)
            out[k] = name
    return [given or identifier(name, taken) for given, name in zip(out, names, strict=True)]


def _usable(name: str) -> bool:
    """A name ``identifier`` keeps as it is (when it is not taken)."""
    return identifier(name, set()) == name


def identifier(name: str, taken: set[str]) -> str:
    """A Python identifier for a symbol name, distinct from ``taken``."""
    text = re.sub(r"\W", "_", name)
    if not text or text[0].isdigit() or text[0] == "_":
        text = f"v{text}" if text.startswith("_") else f"v_{text}"
    if keyword.iskeyword(text) or text in RESERVED:
        text = f"{text}_"  # PEP 8: lambda_, getattr_
    base, k = text, 1
    while text in taken:
        k += 1
        text = f"{base}_{k}"
    taken.add(text)
    return text
