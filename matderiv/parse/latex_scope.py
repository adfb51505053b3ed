r"""The names a LaTeX or Unicode formula may use, and the superscripts on them.

``Scope`` holds the symbols (matched by name: \mathbf{W}_{hx}, W_{hx} and W_hx
are one name) and the dimensions, and knows the constants that take their sizes
from those: ``I_{n}``, ``K_{m,n}``, ``\mathbf{1}_n`` (a column of ones),
``\mathbf{1}_{m \times n}``, ``\mathbf{0}_{...}`` and π.  ``superscript`` reads
what may follow a name: ^T, ^{-1}, ^{-T}, powers and entrywise powers.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from ..errors import ParseError
from ..nodes import AsScalar, commutation
from ..render.tex_names import escape
from ..render.unicode_names import accented
from . import latex_algebra as alg
from .latex_grammar import NAME_BASE, SUB, SUP
from .latex_text import LocatedError, canonical, unknown_name
from .limits import MAX_EXPONENT

_PART = re.compile(rf"\s*(?:(?P<sub>{SUB})|(?P<sup>{SUP}))")
_BASE = re.compile(NAME_BASE)

#: ^{+}, ^\dagger: the Moore-Penrose pseudo-inverse, which matderiv has no node for
PSEUDO_INVERSE_MARKS = ("+", r"\dagger", "†")
PSEUDO_INVERSE = (
    "the pseudo-inverse X^{+} is not supported: for X of full column rank write "
    "(X^T X)^{-1} X^T, of full row rank X^T (X X^T)^{-1}, or X^{-1} for a square X"
)


#: the syntax's functions of matrices, which LaTeX writes otherwise
_SYNTAX_FUNCTIONS = {
    "inv": "(A B)^{-1}",
    "trace": r"\operatorname{tr}(A B)",
    "logdet": r"\log\det(A B)",
    "kron": r"A \otimes B",
    "eye": "I_n",
    "matrix_power": "A^{k}",
    "ones": r"\mathbf{1}_n",
}

#: a superscript after a layer's, W^{(2)T}: the layer's and the rest
_LAYERED = re.compile(r"\s*\{\s*(\([^()]*\))\s*(\S.*?)\s*\}\s*")


class Scope:
    """The names a formula may use: symbols, dimensions, and the constants I, 1, K, pi.

    Shared with the Unicode front end (unicode_builder.py), which looks names up with
    ``lookup`` and sizes with ``dimension``.
    """

    def __init__(self, symbols: Mapping[str, Any], dims: Mapping[str, Any] | None) -> None:
        self.symbols = _index(symbols, "symbols")
        #: reads a formula in this scope (an exponent x^{\\circ s - 1}); set by the parser
        self.read: Callable[[str], Any] | None = None
        if dims is None:  # the sizes of the matrices, and integer symbols (I_p's p)
            found = {
                s
                for v in self.symbols.values()
                if alg.is_matrix(v)
                for d in v.shape
                for s in getattr(d, "free_symbols", ())
            }
            found |= {
                v for v in self.symbols.values() if isinstance(v, sp.Symbol) and v.is_integer
            }
            dims = {str(s): s for s in found}
        self.dims = _index(dims, "dims")

    def binding(self, bound: Mapping[str, Any]) -> Scope:
        """This scope with the variables of (t \\mapsto ...) added; they shadow symbols."""
        child = copy.copy(self)
        child.symbols = {**self.symbols, **_index(bound, "bound variables")}
        return child

    def name(self, text: str, pos: int) -> Any:
        """A NAME token: base, at most one subscript, superscripts applied in order."""
        base = _BASE.match(text)
        assert base is not None, text  # the lexer matched NAME_BASE
        sub: tuple[str, int] | None = None
        decorations: list[str] = []
        sups: list[tuple[str, int]] = []
        for part in _PART.finditer(text, base.end()):
            where = pos + part.start(part.lastgroup or 0)
            if part.group("sub"):
                if sub is not None:
                    raise LocatedError("a second subscript: write one, as in W_{hx}", where)
                sub = (part.group("sub")[1:].strip(), where)
            elif re.fullmatch(r"\(.*\)", canonical(part.group("sup")[1:])):
                decorations.append(canonical(part.group("sup")))  # W^{(1)}: part of the name
            elif layered := _LAYERED.fullmatch(part.group("sup")[1:]):
                decorations.append("^" + canonical(layered[1]))  # W^{(2)T}: W^{(2)}, transposed
                sups.append((layered[2], where))
            else:
                sups.append((part.group("sup")[1:].strip(), where))
        factors = self.lookup(base.group(), sub, decorations, pos)
        check_stacked([body for body, _ in sups], [where for _, where in sups])
        for body, where in sups:
            factors[-1] = self.superscript(factors[-1], body, where)
        return alg.matmul(factors)

    def superscript(self, x: Any, body: str, pos: int) -> Any:
        """x^{body} (``superscript``); ^T and ^{-T} refused where a symbol is called T
        (``refuse_t_marker``)."""
        if canonical(body) in ("T", "-T"):
            self.refuse_t_marker(f"^{body}", pos, r"^{\top}", r"^{\circ T}")
        return superscript(x, body, pos, self.read)

    def refuse_t_marker(self, marker: str, pos: int, transpose: str, power: str) -> None:
        """^T where a symbol is called T: X^T read as a transpose or the power by T
        changed with braces and notation; refused in each notation with its spellings
        of the two (the Unicode reader's too)."""
        if "T" in self.symbols:
            raise LocatedError(
                f"{marker} is ambiguous: T is also a symbol here; write {transpose} for the "
                f"transpose, {power} for the entrywise power by T",
                pos,
                refusal=True,
            )

    def lookup(
        self, base: str, sub: tuple[str, int] | None, decorations: list[str], pos: int
    ) -> list[Any]:
        b, s = canonical(base), "_" + canonical(sub[0]) if sub else ""
        keys = [b + s + "".join(decorations), b + "".join(decorations) + s]
        if s[1:].isdigit():  # W_{1} is W1 (SymPy prints W1 so) unless W_1 is known
            keys.append(b + s[1:] + "".join(decorations))
            found = accented(b)
            if found is not None and not found[1]:  # \bar{a}_{1}: the CLI's a1's adjoint
                keys.append(found[0] + s[1:] + "".join(found[2]) + "".join(decorations))
        layer = re.fullmatch(r"\^\((\w+)\)", "".join(decorations))
        if layer is not None and not s:  # W^{(2)}, a layer's, is W2 or W_2 if declared so
            keys += [b + layer[1], f"{b}_{layer[1]}"]
        for table in (self.symbols, self.dims):
            for key in keys:
                if key in table:
                    return [table[key]]
        if not decorations:
            special = self._special(b, sub, pos)
            if special is not None:
                return [special]
            if re.fullmatch(r"[A-Za-z]{2,}", base):  # ab: a times b, as LaTeX reads it
                with contextlib.suppress(LocatedError):
                    return self._run(base[:-1], pos) + self.lookup(base[-1], sub, [], pos)
            if sub and re.fullmatch(r"[A-Za-z0-9]{2,}", sub[0]):  # W_hx not found: W_h x
                with contextlib.suppress(LocatedError):
                    first = (sub[0][0], sub[1])
                    return self.lookup(base, first, [], pos) + self._run(sub[0][1:], pos)
        hint = (
            r" (\sigma is the sigmoid only before '('; for σ′(z) write its value, "
            r"\sigma(z) \circ (1 - \sigma(z)))"
            if b == "sigma"
            else ""
        )
        if b in _SYNTAX_FUNCTIONS:  # inv(H P H^T + R) nu: the syntax's inv, LaTeX's juxtaposition
            hint = (
                f" ({b}(...) is a function of matderiv's syntax, where a product is written "
                f"with @; in LaTeX write {_SYNTAX_FUNCTIONS[b]})"
            )
        raise LocatedError(unknown_name("symbol", keys[0], self.symbols) + hint, pos)

    def _run(self, letters: str, pos: int) -> list[Any]:
        """Juxtaposed single letters and numbers: xy2 is x times y times 2."""
        return [
            sp.Integer(int(piece)) if piece.isdigit() else self.lookup(piece, None, [], pos)[0]
            for piece in re.findall(r"[0-9]+|[A-Za-z]", letters)
        ]

    def _special(self, b: str, sub: tuple[str, int] | None, pos: int) -> Any:
        if b == "I":
            return sp.Identity(self.dimension(*sub)) if sub else alg.Unsized("identity", pos)
        if b == "1":
            return sp.OneMatrix(*self.sizes(*sub)) if sub else alg.Unsized("ones", pos)
        if b == "0":
            return sp.ZeroMatrix(*self.sizes(*sub)) if sub else sp.S.Zero
        if b == "K" and sub:
            return commutation(*self._pair(*sub))
        if b == "pi" and not sub:
            return sp.pi
        return None

    def dimension(self, raw: str, pos: int) -> Any:
        """A size written in a subscript: a name from dims, an integer, or a product of them."""
        key = canonical(raw)
        if key in self.dims:
            return self.dims[key]
        if key.isdigit():
            return sp.Integer(int(key))
        parts = [p for p in re.split(r"\\times|\\cdot|\*|\s+", raw.strip("{} ")) if p]
        if len(parts) > 1:
            return sp.Mul(*(self.dimension(p, pos) for p in parts))
        power = re.fullmatch(r"(.+?)\s*\^\s*\{?\s*([0-9]+)\s*\}?", raw.strip("{} "))
        if power:  # n^{2}, as sizes print (I_{n^{2}}, 0_{m n^{2} \times p})
            k = int(power.group(2))
            if k > MAX_EXPONENT:
                raise LocatedError(f"an exponent larger than {MAX_EXPONENT}", pos)
            return self.dimension(power.group(1), pos) ** k
        pieces = self._split_dims(key)
        if pieces:
            return sp.Mul(*pieces)
        raise LocatedError(unknown_name("dimension", key, self.dims), pos)

    def sizes(self, raw: str, pos: int) -> tuple[Any, Any]:
        """The shape a subscript gives: 1_{n} is n x 1; 1_{m \\times n} and 1_{m,n}
        (and vec^{-1}_{m \\times n}) are m x n."""
        parts = re.split(r",|\\times", raw.strip("{} "))
        if len(parts) == 2:
            return self.dimension(parts[0], pos), self.dimension(parts[1], pos)
        return self.dimension(raw, pos), sp.S.One

    def _pair(self, raw: str, pos: int) -> tuple[Any, Any]:
        """K_{m,n}; K_{mn} when it splits into exactly two dimensions."""
        parts = raw.strip("{} ").split(",")
        if len(parts) == 2:
            return self.dimension(parts[0], pos), self.dimension(parts[1], pos)
        pieces = self._split_dims(canonical(raw))
        if pieces and len(pieces) == 2:
            return pieces[0], pieces[1]
        raise LocatedError(f"K_{{{raw.strip('{} ')}}} needs two sizes: write K_{{m,n}}", pos)

    def _split_dims(self, key: str) -> list[Any] | None:
        """``key`` read as consecutive dimension names or integers (longest first), or None."""
        out, i = [], 0
        names = sorted(self.dims, key=len, reverse=True)
        while i < len(key):
            digits = re.match(r"[0-9]+", key[i:])
            match = next((n for n in names if key.startswith(n, i)), None)
            if match is not None:
                out.append(self.dims[match])
                i += len(match)
            elif digits:
                out.append(sp.Integer(int(digits.group())))
                i += digits.end()
            else:
                return None
        return out


def _index(table: Mapping[str, Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if not isinstance(value, sp.Basic):
            raise ParseError(f"{what}[{key!r}] must be a SymPy object, got {type(value).__name__}")
        name = canonical(key)
        if out.get(name, value) != value:
            raise ParseError(f"{what}: two entries are both named {name!r}")
        out[name] = value
        if not key.isascii():  # β̂ (β and a combining hat) as printed: \hat{\beta}
            out.setdefault(canonical(escape(key)), value)
    return out


def _scalar_exponent(exponent: Any, pos: int, where: str) -> Any:
    """An exponent read from a superscript, a scalar (a 1 x 1 matrix as one): x^{\\circ s}
    and a scalar's d^{s - 1}."""
    if alg.is_matrix(exponent) and exponent.shape == (1, 1):
        exponent = AsScalar(exponent)
    if alg.is_matrix(exponent):
        raise LocatedError(f"the exponent {where} must be a scalar", pos)
    return exponent


def check_stacked(bodies: list[str], positions: list[int]) -> None:
    """s^2^3: two powers in a row, which TeX refuses ("Double superscript") and readers
    take as s^(2^3) or (s^2)^3 (it was read as s⁶); refused.  A^{-1}^T reads one way."""
    powers = [bool(_POWER.fullmatch(canonical(body))) for body in bodies]
    for k in range(1, len(bodies)):
        if powers[k - 1] and powers[k]:
            raise LocatedError(
                f"two exponents in a row, ^{bodies[k - 1]}^{bodies[k]}, which TeX refuses and "
                "readers take two ways: write the one meant, as in (s^{2})^{3} or s^{8}",
                positions[k],
                refusal=True,
            )


#: a numeric exponent: 2, -1/2, 0.5, \circ 2
_POWER = re.compile(r"\{?(?:circ|odot)?-?[0-9.]+(?:/[0-9]+)?\}?")


def superscript(x: Any, body: str, pos: int, read: Callable[[str], Any] | None = None) -> Any:
    """x^{body}: T, \\top, \\intercal, \\prime; -1; -T; an integer k; \\circ k; 1/2;
    \\circ s for a scalar s (``read`` reads it: x^{\\circ s - 1} as matderiv prints it);
    of a scalar x, any scalar formula (\\det(X)^{s - 1}, as matderiv prints it)."""
    # \frac{1}{2} as matderiv prints it in x^{\circ - \frac{1}{2}}: 1/2
    s = canonical(re.sub(r"\\[dt]?frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}", r"\1/\2", body))
    if s in ("T", "top", "intercal", "prime", "'"):  # W^{(2)'}: a prime inside the braces
        return alg.transpose(x)
    if s in ("-T", "-top", "-intercal"):
        return alg.transpose(alg.inverse(x, pos))
    number = re.fullmatch(  # 2, 1/2, 0.5 (x^{0.5} was refused where x^{1/2} was read)
        r"(circ|odot)?(-?)(?:([0-9]+(?:\.[0-9]+)?)(?:/([0-9]+))?|[dt]?frac([0-9])([0-9]))", s
    )
    entrywise = re.fullmatch(r"\{?\s*\\(?:circ|odot)(?![A-Za-z])(.*?)\}?", body.strip(), re.S)
    if number is None and entrywise is not None and read is not None:
        exponent = _scalar_exponent(read(entrywise.group(1)), pos, "after \\circ")
        return alg.hadamard_power(x, exponent)
    if number is None and entrywise is None and read is not None and not alg.is_matrix(x):
        inner = body.strip()
        inner = inner[1:-1] if inner.startswith("{") else inner
        return sp.Pow(x, _scalar_exponent(read(inner), pos, "of a power"))
    if number is None:
        shown = body.strip("{} ")
        if shown in PSEUDO_INVERSE_MARKS:
            raise LocatedError(PSEUDO_INVERSE, pos)
        raise LocatedError(
            f"unsupported superscript ^{{{shown}}}: write ^T (or ^\\top), ^{{-1}}, "
            "^{-T}, an integer power, or ^{\\circ k} for an entrywise power",
            pos,
        )
    hadamard, sign, whole, over, num, den = number.groups()
    k = sp.Rational(int(num), int(den)) if num else sp.Rational(whole) / int(over or 1)
    k = -k if sign else k
    if abs(k.p) > MAX_EXPONENT or k.q > MAX_EXPONENT:
        raise LocatedError(f"an exponent larger than {MAX_EXPONENT}", pos)
    return alg.hadamard_power(x, k) if hadamard else alg.power(x, k, pos)
