"""Expressions put in one form for comparing them: two forms of one expression (a
parsed candidate's tanh(x), the derivative's) cancel in their difference."""

from __future__ import annotations

from typing import Any

import sympy as sp

_FUNCTION_VARIABLE = sp.Dummy("t")  # one variable for every entrywise function compared


def comparable(expr: Any) -> Any:
    """``expr`` with each entrywise function written over one shared variable and each
    ∘ product of one factor with itself as a power (t∘t is t^∘2), so that two forms of
    one expression (a parsed candidate's tanh(x), the derivative's) cancel in their
    difference.  For comparison only: the values are unchanged."""
    lambdas = {
        node: sp.Lambda(
            _FUNCTION_VARIABLE, node.expr.xreplace({node.variables[0]: _FUNCTION_VARIABLE})
        )
        for node in sp.preorder_traversal(expr)
        if isinstance(node, sp.Lambda) and len(node.variables) == 1
    }
    expr = expr.xreplace(lambdas) if lambdas else expr
    expr = expr.replace(
        lambda e: isinstance(e, sp.HadamardProduct) and len(e.args) > 1 and len(set(e.args)) == 1,
        lambda e: sp.HadamardPower(e.args[0], len(e.args)),
    )
    return expr.replace(  # e∘(x + 𝟏) is e∘x + e∘𝟏: ∘ distributed over sums
        lambda e: (
            isinstance(e, sp.HadamardProduct) and any(isinstance(a, sp.MatAdd) for a in e.args)
        ),
        _distributed,
    )


def _distributed(product: Any) -> Any:
    k = next(i for i, a in enumerate(product.args) if isinstance(a, sp.MatAdd))
    rest = product.args[:k] + product.args[k + 1 :]
    return sp.MatAdd(*(_distributed_term(t, rest) for t in product.args[k].args))


def _distributed_term(term: Any, rest: tuple[Any, ...]) -> Any:
    coeff, mats = term.as_coeff_mmul() if isinstance(term, sp.MatMul) else (1, term)
    product = sp.HadamardProduct(mats, *rest)
    return product if coeff == 1 else sp.MatMul(coeff, product)
