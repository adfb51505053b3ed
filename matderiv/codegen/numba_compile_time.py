"""Rewrites for numba's compile time: repeated statements outlined, long
concatenations nested.  Neither changes what the code computes.

numba compiles every array expression of a function into a loop of its own, so
straight-line code takes longer to compile the more statements it has, whether
or not they repeat: the core of the T = 32 unrolled RNN gradient (about a hundred
statements, nearly all of them one of five forms) took 40 s to compile.

A program from ``where=`` repeats itself, so the statements of one form, equal up
to the variables they read and the integer bounds of their slices, become calls
of one ``@numba.njit`` function per form, which numba compiles once per argument
types::

    h_2 = numpy.tanh(U.T.dot(h_1) + t2[6:7].T)      h_2 = _s1(U, h_1, t2, 6, 7)
    h_3 = numpy.tanh(U.T.dot(h_2) + t2[5:6].T)  ->  h_3 = _s1(U, h_2, t2, 5, 6)

    @numba.njit
    def _s1(a0, a1, a2, a3, a4):
        return numpy.tanh(a0.T.dot(a1) + a2[a3:a4].T)

The T = 32 core then compiles in a few seconds.  The computation is the same:
each call evaluates the statement's expression on the same arrays.
"""

from __future__ import annotations

import ast
import copy

#: a form is outlined when this many statements of the core share it
MIN_REPEATS = 2
#: the longest tuple passed to one numba concatenate (see nested_tuple)
CHUNK = 8


def outline(core: ast.FunctionDef, prefix: str = "_s") -> list[ast.FunctionDef]:
    """Rewrite ``core``'s repeated statements as calls; return the functions they
    call (undecorated; the caller adds ``@numba.njit``)."""
    local = {a.arg for a in core.args.args} | {
        t.id
        for s in core.body
        if isinstance(s, ast.Assign)
        for t in s.targets
        if isinstance(t, ast.Name)
    }
    forms: dict[str, list[tuple[ast.Assign, list[ast.expr]]]] = {}
    templates: dict[str, tuple[ast.expr, int]] = {}
    for stmt in core.body:
        if not isinstance(stmt, ast.Assign):
            continue
        template, args = _template(stmt.value, local)
        if not args:
            continue
        key = ast.dump(template)
        forms.setdefault(key, []).append((stmt, args))
        templates[key] = (template, len(args))
    helpers: list[ast.FunctionDef] = []
    for key, uses in forms.items():
        if len(uses) < MIN_REPEATS:
            continue
        name = f"{prefix}{len(helpers) + 1}"
        template, arity = templates[key]
        params = ", ".join(f"a{i}" for i in range(arity))
        helper = ast.parse(f"def {name}({params}): pass").body[0]
        assert isinstance(helper, ast.FunctionDef)
        helper.body = [ast.Return(template)]
        helpers.append(helper)
        for stmt, args in uses:
            stmt.value = ast.Call(ast.Name(name, ast.Load()), args, [])
    return helpers


def _template(value: ast.expr, local: set[str]) -> tuple[ast.expr, list[ast.expr]]:
    """``value`` with its local variables and integer slice bounds made parameters
    ``a0, a1, ...`` (a variable read twice is one parameter), and the arguments."""
    args: list[ast.expr] = []
    seen: dict[str, str] = {}

    def param(arg: ast.expr) -> ast.Name:
        args.append(arg)
        return ast.Name(f"a{len(args) - 1}", ast.Load())

    class Params(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id not in local:
                return node
            if node.id not in seen:
                seen[node.id] = param(ast.Name(node.id, ast.Load())).id
            return ast.Name(seen[node.id], ast.Load())

        def visit_Slice(self, node: ast.Slice) -> ast.Slice:
            for field in ("lower", "upper", "step"):
                bound = getattr(node, field)
                if _is_int(bound):
                    setattr(node, field, param(_runtime_int(bound.value)))
                elif bound is not None:
                    setattr(node, field, self.visit(bound))
            return node

    return Params().visit(copy.deepcopy(value)), args


def _runtime_int(value: int) -> ast.expr:
    """``numpy.intp(value)``: a literal argument would be compiled once per value."""
    return ast.Call(ast.parse("numpy.intp", mode="eval").body, [ast.Constant(value)], [])


def _is_int(node: ast.expr | None) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def nested_tuple(pieces: list[ast.expr], keywords: list[ast.keyword]) -> ast.Tuple:
    """The tuple for ``numpy.concatenate``, nested in groups of at most ``CHUNK``.

    numba's compile time grows about quadratically in the length of the tuple (a flat
    32-tuple of columns compiles in 15 s, four nested groups of 8 in 1.7 s); the
    result is the same array."""
    while len(pieces) > CHUNK:
        groups = [pieces[i : i + CHUNK] for i in range(0, len(pieces), CHUNK)]
        pieces = [
            g[0]
            if len(g) == 1
            else ast.Call(
                ast.parse("numpy.concatenate", mode="eval").body,
                [ast.Tuple(g, ast.Load())],
                keywords,
            )
            for g in groups
        ]
    return ast.Tuple(pieces, ast.Load())
