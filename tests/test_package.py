"""The package as installed: the public API of DESIGN.md, and its type information."""

from __future__ import annotations

from importlib import resources

import matderiv

#: the public API the design document promises (``from matderiv import ...``)
CONTRACT = {
    "derive", "gradient", "jacobian", "hessian", "verify", "evaluate", "lambdify",
    "vec", "diag", "commutation", "softmax", "logsumexp",
}  # fmt: skip


def test_the_public_api_is_exported() -> None:
    assert set(matderiv.__all__) >= CONTRACT
    missing = [name for name in matderiv.__all__ if not hasattr(matderiv, name)]
    assert not missing, missing


def test_the_package_is_typed() -> None:
    """PEP 561: type checkers read matderiv's annotations only with a py.typed marker."""
    assert resources.files("matderiv").joinpath("py.typed").is_file()
