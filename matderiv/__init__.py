"""matderiv: symbolic matrix calculus that shows its work.

Conventions: vec stacks columns; numerator layout J = d vec(Y)/d vec(X)ᵀ,
denominator layout Jᵀ; a scalar's gradient in denominator layout is shaped
like X.  See README.md.
"""

from . import sympy_fixes  # noqa: F401  (fixes two SymPy bugs on import, first)
from .codegen import lambdify
from .derivation import Derivation, Step
from .engine import derive, gradient, jacobian
from .errors import (
    BackendError,
    EvaluationError,
    ExpressionTooDeep,
    InputShapeError,
    LayoutError,
    MatDerivError,
    ParseError,
    ShapeMismatch,
    UnsupportedNode,
    UnusedNameWarning,
)
from .nodes import commutation, diag, vec
from .norms import norm
from .numeric import evaluate
from .second_order import hessian, hvp
from .softmax_nodes import logsumexp, softmax
from .text_input import declare, parse
from .verification import Verdict, verify

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "Derivation",
    "EvaluationError",
    "ExpressionTooDeep",
    "InputShapeError",
    "LayoutError",
    "MatDerivError",
    "ParseError",
    "ShapeMismatch",
    "Step",
    "UnsupportedNode",
    "UnusedNameWarning",
    "Verdict",
    "__version__",
    "commutation",
    "declare",
    "derive",
    "diag",
    "evaluate",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "lambdify",
    "logsumexp",
    "norm",
    "parse",
    "softmax",
    "vec",
    "verify",
]
