"""The rewriting machinery: apply the rule table of ``rewrites.py`` to a fixed point.

``simplify`` applies the rules bottom-up to a fixed point, after SymPy's own
canonicalisation (flattening, identities, scalars), checks that every
rewrite keeps the shape, and records (rule, before, after).  The rules
terminate (see ``rewrites.py``); a pass limit guards the invariant anyway.
Fixed points are remembered across calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from .canon import canonical
from .rewrites import NODE_RULES, PAIR_RULES
from .shapes import is_matrix, shape_of, shapes_equal
from .substitute import rebuild, unchecked

MAX_PASSES = 25


@dataclass(frozen=True)
class Rewrite:
    """One applied rewrite, as shown in a derivation."""

    rule: str
    before: Any
    after: Any


# -- the driver ---------------------------------------------------------------------


# Adjacent factors that no pair rule rewrites (the rules are functions of the two
# factors alone), shared by all calls: forward mode's Jacobians of a chain are products
# of 2k factors at level k, each level's product holding the pairs of the one before,
# so that every pair was tried again at every level (quadratic in depth).  Bounded.
_NO_PAIR_RULE: set[tuple[Any, Any]] = set()


def _pair_rewrite(expr: Any) -> tuple[str, Any] | None:
    """The first PAIR_RULES rewrite of two adjacent factors of a product."""
    scalars = [a for a in expr.args if not is_matrix(a)]
    mats = [a for a in expr.args if is_matrix(a)]
    for i in range(len(mats) - 1):
        pair = (mats[i], mats[i + 1])
        if pair in _NO_PAIR_RULE:
            continue
        for pair_rule in PAIR_RULES:
            new = pair_rule(*pair)
            if new is not None:
                # the rule keeps the product's shape: no checks (O(depth) each)
                product = unchecked(sp.MatMul, *scalars, *mats[:i], *new, *mats[i + 2 :])
                return pair_rule.__name__, product
        if len(_NO_PAIR_RULE) > _NORMAL_LIMIT:
            _NO_PAIR_RULE.clear()
        _NO_PAIR_RULE.add(pair)
    return None


def _rewrite_once(node: Any) -> tuple[str, Any] | None:
    for node_rule in NODE_RULES:
        new = node_rule(node)
        if new is not None:
            return node_rule.__name__, new
    if isinstance(node, sp.MatMul):
        return _pair_rewrite(node)
    return None


def _apply_node_rules(node: Any, log: list[Rewrite] | None) -> Any:
    for _ in range(MAX_PASSES):
        found = _rewrite_once(node)
        if found is None:
            return node
        name, new = found
        new = canonical(new)
        if is_matrix(node):
            assert shapes_equal(shape_of(new), shape_of(node)), (name, node, new)
        if log is not None:
            log.append(Rewrite(name, node, new))
        node = new
    return node


# Expressions known to be fixed points of the rules, shared by all calls: the
# operands of a new expression are usually already simplified.  Bounded.
_NORMAL: set[Any] = set()
_NORMAL_LIMIT = 200_000


# One pass's result for each node, shared by the calls that keep no log (a pass is a
# function of the node alone): simplifying the intermediates of a chain one after the
# other reuses each level's pass instead of redoing it inside every later level, which
# made a chain of n sums of transposes or inverses cost n² rewrites.  Bounded.
_PASSED: dict[Any, Any] = {}


def _one_pass(expr: Any, log: list[Rewrite] | None) -> Any:
    memo: dict[Any, Any] = {} if log is not None else _PASSED

    def visit(node: Any) -> Any:
        known = memo.get(node)  # one lookup (and no KeyError if another thread clears it)
        if known is not None:
            return known
        if node in _NORMAL:
            return node
        out = node
        if isinstance(node, sp.Basic) and node.args and not isinstance(node, sp.Lambda):
            args = tuple(visit(a) for a in node.args)
            if args != node.args:
                out = canonical(rebuild(node, args))
            out = _apply_node_rules(canonical(out), log)
        memo[node] = out
        return out

    return visit(expr)


def _remember(expr: Any) -> None:
    """Record ``expr`` and its subexpressions as fixed points."""
    if len(_NORMAL) > _NORMAL_LIMIT:
        _NORMAL.clear()
    if len(_PASSED) > _NORMAL_LIMIT:
        _PASSED.clear()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in _NORMAL or not isinstance(node, sp.Basic):
            continue
        _NORMAL.add(node)
        if not isinstance(node, sp.Lambda):
            stack.extend(node.args)


def simplify(expr: Any, log: list[Rewrite] | None = None) -> Any:
    """Rewrite ``expr`` to a fixed point of the rules; append each rewrite to ``log``."""
    for _ in range(MAX_PASSES):
        new = _one_pass(expr, log)
        if new == expr:
            _remember(new)
            return new
        expr = new
    return expr
