"""The rewrite rule table for the algebra of ⊗, K_{m,n}, I, diag, vec and transposes.

Each rule is a named function ``expr -> expr | None`` with its identity on
the first docstring line and why it terminates on the second.  Rules on
adjacent factors of a product live in ``PAIR_RULES``; the others in
``NODE_RULES``.  Within a table the rules are tried in order.  ``simplify.py``
applies them to a fixed point.  The rules themselves live by subject:
``rewrite_kron.py`` (⊗, K_{m,n}, vec), ``rewrite_diag.py`` (diag, the diagonal,
traces), ``rewrite_sums.py`` (sums, ones), ``rewrite_signs.py`` (signs, scalar
factors), ``rewrite_inverse.py`` (inverses of products), ``rewrite_scalars.py``
(1 x 1 matrices in products) and ``rewrite_exp.py`` (the softmax and the sigmoid).

Every rule makes the expression strictly smaller or moves a commutation
matrix strictly to the right, so the rewriting terminates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .rewrite_diag import (
    diag_of_ones,
    diag_power,
    diag_product,
    diag_scalar,
    diag_selection,
    diag_sum,
    diag_times_vector,
    diagonal_of_diag,
    diagonal_of_outer,
    diagonal_of_product,
    diagonal_of_transpose,
    scalar_of_constant,
    trace_of_identity,
    trace_of_outer,
    trace_of_scalar,
    trace_of_scaled,
    trace_of_transpose,
)
from .rewrite_exp import log_of_exp, sigmoid_complement, sigmoid_of_exp, softmax_of_exp
from .rewrite_inverse import inverse_cancel, product_times_inverse
from .rewrite_kron import (
    commutation_inverse,
    commutation_through_kron,
    commutation_trivial,
    commutation_vec,
    inverse_of_kron,
    kron_commutation_swap,
    kron_factor_sum,
    kron_outer_product,
    kron_through_sum,
    kron_unit_factor,
    kron_vec,
    kron_vector_sandwich,
    mixed_product,
    reshape_of_vec,
    vec_hadamard,
    vec_of_reshape,
    vec_of_vector,
    vec_row_kron,
    vec_scalar,
    vec_sum,
)
from .rewrite_scalars import kron_scalar_factor, scalar_in_product, scalar_normal_form
from .rewrite_signs import factor_scalar, negated_sum, negative_sum_factor, sign_with_abs
from .rewrite_sums import (
    constant_power,
    factor_hadamard,
    factor_sum,
    hadamard_numbers,
    hadamard_ones,
    inner_with_inverse,
    like_terms,
    ones_through_constants,
    power_of_power,
    vector_through_sum,
)

NodeRule = Callable[[Any], Any]
PairRule = Callable[[Any, Any], Any]

__all__ = [
    "NODE_RULES",
    "PAIR_RULES",
    "commutation_inverse",
    "commutation_through_kron",
    "commutation_trivial",
    "commutation_vec",
    "constant_power",
    "diag_of_ones",
    "diag_power",
    "diag_product",
    "diag_scalar",
    "diag_selection",
    "diag_sum",
    "diag_times_vector",
    "diagonal_of_diag",
    "diagonal_of_outer",
    "diagonal_of_product",
    "diagonal_of_transpose",
    "factor_hadamard",
    "factor_scalar",
    "factor_sum",
    "hadamard_numbers",
    "hadamard_ones",
    "inner_with_inverse",
    "inverse_cancel",
    "inverse_of_kron",
    "kron_commutation_swap",
    "kron_factor_sum",
    "kron_outer_product",
    "kron_scalar_factor",
    "kron_through_sum",
    "kron_unit_factor",
    "kron_vec",
    "kron_vector_sandwich",
    "like_terms",
    "log_of_exp",
    "mixed_product",
    "negated_sum",
    "negative_sum_factor",
    "ones_through_constants",
    "power_of_power",
    "product_times_inverse",
    "reshape_of_vec",
    "scalar_in_product",
    "scalar_normal_form",
    "scalar_of_constant",
    "sigmoid_complement",
    "sigmoid_of_exp",
    "sign_with_abs",
    "softmax_of_exp",
    "trace_of_identity",
    "trace_of_outer",
    "trace_of_scalar",
    "trace_of_scaled",
    "trace_of_transpose",
    "vec_hadamard",
    "vec_of_reshape",
    "vec_of_vector",
    "vec_row_kron",
    "vec_scalar",
    "vec_sum",
    "vector_through_sum",
]

NODE_RULES: tuple[NodeRule, ...] = (
    kron_unit_factor,
    kron_outer_product,
    kron_vector_sandwich,
    kron_scalar_factor,
    inverse_of_kron,
    commutation_trivial,
    trace_of_identity,
    trace_of_scalar,
    trace_of_scaled,
    trace_of_outer,
    trace_of_transpose,
    scalar_of_constant,
    scalar_normal_form,
    scalar_in_product,
    softmax_of_exp,
    log_of_exp,
    sigmoid_of_exp,
    sigmoid_complement,
    diag_sum,
    diag_scalar,
    diag_of_ones,
    diag_power,
    diag_selection,
    product_times_inverse,
    diagonal_of_diag,
    diagonal_of_outer,
    diagonal_of_product,
    diagonal_of_transpose,
    vec_of_vector,
    vec_of_reshape,
    vec_scalar,
    vec_hadamard,
    vec_sum,
    reshape_of_vec,
    hadamard_ones,
    hadamard_numbers,
    power_of_power,
    constant_power,
    sign_with_abs,
    negated_sum,
    negative_sum_factor,
    like_terms,
    factor_scalar,
    factor_sum,
    factor_hadamard,
    kron_factor_sum,
)

PAIR_RULES: tuple[PairRule, ...] = (
    commutation_inverse,
    mixed_product,
    kron_through_sum,
    kron_commutation_swap,
    commutation_through_kron,
    commutation_vec,
    kron_vec,
    vec_row_kron,
    diag_product,
    diag_times_vector,
    ones_through_constants,
    vector_through_sum,
    inner_with_inverse,
    inverse_cancel,
)
