"""matderiv's expression syntax: what it builds, its errors, and hostile input."""

from __future__ import annotations

import contextlib
import re
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matderiv import (
    MatDerivError,
    ParseError,
    ShapeMismatch,
    commutation,
    derive,
    diag,
    gradient,
    logsumexp,
    softmax,
    vec,
)
from matderiv.nodes import AsScalar
from matderiv.parse.declarations import parse_shapes
from matderiv.parse.expr import parse_expression, parse_program
from matderiv.render.unicode import fmt
from matderiv.scalarize import scalarize
from matderiv.testing import check_derivation

S = parse_shapes("W_hx: n_i x n_h, W_hh: n_h x n_h, e: n_i, h0: n_h, c: n_h, A: 3 x 3, s: 1")
n_i, n_h = (sp.Symbol(s, integer=True, positive=True) for s in ("n_i", "n_h"))
W, U, e, h0, c, A, s = (S[k] for k in ("W_hx", "W_hh", "e", "h0", "c", "A", "s"))


def test_declarations() -> None:
    assert W.shape == (n_i, n_h) and e.shape == (n_i, 1) and A.shape == (3, 3)
    assert parse_shapes("x: 4;  Y: 2 × m")["Y"].shape == (
        2,
        sp.Symbol("m", integer=True, positive=True),
    )
    for bad in ("W", "W: ", "W: n x m x p", "1W: n", "W: n, W: m", "W: 0", "W: n-1"):
        with pytest.raises(ParseError):
            parse_shapes(bad)


def test_a_shape_written_without_spaces_around_x_is_pointed_out() -> None:
    """'A: mxn' declared a column of a dimension named mxn, and the error came later,
    from the expression (inner dimensions 1 and n)."""
    with pytest.raises(ParseError, match="for a m x n matrix write 'A: m x n'"):
        parse_shapes("A: mxn, x: n, b: m")
    with pytest.raises(ParseError, match="for a matrix write '3 x 4'"):
        parse_shapes("A: 3x4")
    assert parse_shapes("x: nx")["x"].shape[0] == sp.Symbol("nx", integer=True, positive=True)
    assert parse_shapes("x: nx, A: nx x nx")["A"].shape[1] == parse_shapes("x: nx")["x"].shape[0]


def test_a_scalar_is_declared_as_scalar() -> None:
    """'lam: scalar' declared a column of a dimension named scalar (a p x scalar
    Jacobian for ridge's gradient, no warning)."""
    declared = parse_shapes("lam: scalar, s: Number, x: n, t: ()")
    assert declared["lam"].shape == (1, 1) and declared["s"].shape == (1, 1)
    assert declared["t"].shape == (1, 1)  # NumPy's shape of a scalar
    with pytest.raises(ParseError, match="give its size, 'x: n' for a column"):
        parse_shapes("x: vector")
    S = parse_shapes("y: n, X: n x p, b: p, lam: scalar")
    ridge = parse_expression("norm(X @ b - y)**2 + lam * b.T @ b", S)
    d = gradient(ridge, S["b"])
    assert d.shape == (S["b"].shape[0], 1)
    check_derivation(
        d,
        {
            sp.Symbol("n", integer=True, positive=True): 4,
            sp.Symbol("p", integer=True, positive=True): 3,
        },
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("n: scalar, x: n", "n is declared (n: scalar) and is also a size (x: n)"),
        ("x: n, n: scalar", "n is declared (n: scalar) and is also a size (x: n)"),
        ("A: n x m, m: n", "m is declared (m: n) and is also a size (A: n x m)"),
        ("p: p", "p is declared (p: p) and is also a size (p: p)"),
    ],
)
def test_a_name_declared_and_used_as_a_size_is_refused(text: str, says: str) -> None:
    """'n: scalar, x: n' was accepted: a scalar n and a size n, two symbols of one
    name, which formulas then read one or the other way (n x, I_n)."""
    with pytest.raises(ParseError, match=re.escape(says) + ".*a name is a symbol or a size"):
        parse_shapes(text)


@pytest.mark.parametrize(
    "text", ["A: n x n\nx: n", "A: n x n\n  x: n\n", "A: n x n,\nx: n", "A: (n, n)\nx: (n,)"]
)
def test_declarations_may_be_given_one_a_line(text: str) -> None:
    """'A: n x n\\nx: n' said "bad dimension 'n\\nx: n'"."""
    declared = parse_shapes(text)
    n = sp.Symbol("n", integer=True, positive=True)
    assert declared["A"].shape == (n, n) and declared["x"].shape == (n, 1)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("W_hx.T @ e", W.T * e),
        ("W_hx' @ e", W.T * e),
        ("W_hx.T @ e + W_hh.T @ h0", W.T * e + U.T * h0),
        ("tanh(h0)", h0.applyfunc(sp.tanh)),
        ("h0 * c", sp.HadamardProduct(h0, c)),
        ("2 * h0", 2 * h0),
        ("h0 ^ 2", sp.HadamardPower(h0, 2)),
        ("h0 ** 3", sp.HadamardPower(h0, 3)),
        ("inv(A)", sp.Inverse(A)),
        ("tr(A)", sp.Trace(A)),
        ("trace(W_hx.T @ W_hx)", sp.Trace(W.T * W)),  # NumPy's name for tr
        ("det(A)", sp.Determinant(A)),
        ("logdet(A)", sp.log(sp.Determinant(A))),
        ("kron(e, h0)", sp.KroneckerProduct(e, h0)),
        ("vec(W_hx)", vec(W)),
        ("diag(c)", diag(c)),
        ("softmax(c)", softmax(c)),
        ("logsumexp(c)", logsumexp(c)),
        ("eye(n_h)", sp.Identity(n_h)),
        ("commutation(n_i, n_h) @ vec(W_hx)", commutation(n_i, n_h) * vec(W)),
        ("-c", -c),
        ("(c)", c),
        ("c.T @ h0 * 2", sp.MatMul(c.T, h0) * 2),
        ("exp(s)", sp.exp(AsScalar(s))),
        ("1 - c", sp.MatAdd(sp.OneMatrix(n_h, 1), -c)),
    ],
)
def test_constructs(text: str, expected) -> None:
    assert scalarize(parse_expression(text, S)) == scalarize(expected)


def test_program_with_definitions() -> None:
    program = parse_program("a = W_hx.T @ e + W_hh.T @ h0; h = tanh(a); L = c.T @ h", S)
    a = W.T * e + U.T * h0
    assert program.names["a"] == a
    assert scalarize(program.names["h"]) == scalarize(a.applyfunc(sp.tanh))
    assert scalarize(program.expr) == scalarize(c.T * a.applyfunc(sp.tanh))
    d = derive(program.expr, W, "denominator", names=program.names)
    assert [s.lhs for s in d.steps if s.kind == "define"][-2:] == ["h", "L"]


def test_sigmoid_relu_softplus_are_entrywise_lambdas() -> None:
    for name in ("sigmoid", "relu", "softplus"):
        out = parse_expression(f"{name}(c)", S)
        assert out.shape == c.shape and isinstance(out.function, sp.Lambda)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("tanh(W_hx", "expected"),
        ("W_hx @@ e", "^"),
        ("W_hxx @ e", "Did you mean W_hx"),
        ("tahn(e)", "Did you mean tanh"),
        ("h0 ^ h0", "exponents must be numbers or scalars, not a matrix of shape"),
        ("e ^ 100000", "too large"),
        ("inv(A, A)", "takes 1 argument"),
        ("commutation(A, n_h)", "commutation expects dimensions, e.g. commutation(m, n)"),
        ("commutation(n_h)", "takes 2 argument(s)"),
        ("W_hx = e", "cannot be redefined"),
        ("c / (0 * c)", "division by a zero matrix"),
        ("1" * 40, "too long"),
    ],
)
def test_errors_are_clear(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_expression(text, S)
    assert fragment in str(info.value)


def test_division_by_a_matrix_is_entrywise_as_in_numpy() -> None:
    """c / h0 was refused ("use inv(A)"); NumPy divides entrywise, as * multiplies."""
    c, h0, A = S["c"], S["h0"], S["A"]
    assert parse_expression("c / h0", S) == sp.HadamardProduct(c, sp.HadamardPower(h0, -1))
    assert parse_expression("1 / h0", S) == sp.HadamardPower(h0, -1)
    assert parse_expression("2 / A", S) == 2 * sp.HadamardPower(A, -1)
    d = derive(parse_expression("sum(c / h0)", S), h0)
    check_derivation(d, {h0.shape[0]: 4, S["e"].shape[0]: 3})
    assert fmt(d.result) == "-((h0^∘-2)∘c)ᵀ"
    with pytest.raises(ShapeMismatch, match="must have the same shape"):
        parse_expression("c / e", S)


def test_syntax_error_has_a_caret_under_the_position() -> None:
    with pytest.raises(ParseError) as info:
        parse_expression("W_hx.T @ @ e", S)
    line, caret = str(info.value).splitlines()[1:3]
    assert caret.index("^") == line.index("@ e")


@pytest.mark.parametrize("text", ["2 c", "h0.T W_hh h0", "tanh(e) (c)", "W_hx.T e"])
def test_operands_side_by_side_are_named_as_a_missing_product(text: str) -> None:
    """Juxtaposition is a product on paper; here the error says to write @ or *."""
    with pytest.raises(ParseError) as info:
        parse_expression(text, S)
    message = str(info.value)
    assert "write A @ B for a matrix product and 2 * x" in message
    assert "'*'" in message  # every expected token is listed, '*' and '/' included


def test_other_syntax_errors_do_not_suggest_a_product() -> None:
    with pytest.raises(ParseError) as info:
        parse_expression("W_hx.T @ @ e", S)
    assert "side by side" not in str(info.value)


def test_shape_errors_name_the_operation() -> None:
    with pytest.raises(ShapeMismatch, match=r"'@' of A \(3 × 3\) and s \(1 × 1\)"):
        parse_expression("A @ s @ A", S)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("h0.T @ eye(n_i) @ h0", "inner dimensions n_h and n_i"),  # SymPy drops I: hᵀh
        ("h0.T @ h0 + 0 * (h0.T @ e)", "inner dimensions n_h and n_i"),  # 0 swallows hᵀe
        ("eye(n_i) @ W_hh", "inner dimensions n_i and n_h"),
        ("e + h0", "the same shape"),
        ("e - 0 * h0", "the same shape"),
        ("e * h0", "the same shape"),
        ("W_hx + W_hx.T", "the same shape"),
    ],
)
def test_symbolic_sizes_that_differ_are_refused_before_sympy_simplifies(text, says) -> None:
    """SymPy only objects to numeric sizes that differ (3 vs 4), and its evaluation can
    then hide the mismatch; n_i and n_h are different sizes and must be refused."""
    with pytest.raises(ShapeMismatch, match=re.escape(says)):
        parse_expression(text, S)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1e999999 * c", "beyond the range of floating point"),  # took minutes to print
        ("1e-999999 * c", "beyond the range of floating point"),
        ("(2^1000)^1000 * c", "has about 301030 digits"),  # a 301030-digit integer
        ("c / 0", "division by zero"),
        ("0^-1 * c", "division by zero"),
        ("log(0 * c)", "log of a zero matrix"),
        ("log(0) * c", "is not finite"),
    ],
)
def test_numbers_beyond_float_range_or_infinite_are_refused(text, says) -> None:
    with pytest.raises(ParseError, match=re.escape(says)):
        parse_expression(text, S)


def test_numbers_within_range_are_read() -> None:
    assert parse_expression("1.5e3 * c", S) == 1500 * c
    assert parse_expression("0.1 * c", S) == sp.Rational(1, 10) * c  # exact, as written
    assert parse_expression("(c.T @ c)^0.5", S) == sp.sqrt(AsScalar(c.T * c))
    assert parse_expression("2^-1 * c", S) == c / 2
    assert parse_expression("0e5 * c", S) == sp.ZeroMatrix(n_h, 1)
    assert parse_expression("(2^10)^10 * c", S) == 2**100 * c


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('echo hacked')",
        "().__class__.__bases__[0].__subclasses__()",
        "lambda x: x",
        "c.__class__",
        "exec('1')",
        "e ^ 9999999999999999999999999999999999999",
        "(" * 100_000 + "c" + ")" * 100_000,
        "-" * 5_000 + "c",
        "c" + " + c" * 4_000,
        "9" * 10_000,
    ],
)
def test_hostile_input_is_rejected_fast(hostile: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ParseError):
        parse_expression(hostile, S)
    assert time.perf_counter() - start < 5


ALPHABET = st.sampled_from([*"W_hxe0c()+-*@^.'T;=, 123", "tanh", "inv", "kron"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(st.lists(ALPHABET, max_size=30).map("".join))
def test_fuzz_only_clean_errors(text: str) -> None:
    with contextlib.suppress(ParseError, ShapeMismatch):
        parse_expression(text, S)


VALID = ["W_hx.T @ e", "tanh(h0) * c", "c.T @ h0", "kron(e, h0)", "inv(A) @ A"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(VALID), st.integers(0, 40), st.sampled_from(list("()@*+-.'^;,x1 ")))
def test_fuzz_mutations(base: str, pos: int, char: str) -> None:
    text = base[:pos] + char + base[pos:]
    with contextlib.suppress(ParseError, ShapeMismatch):
        parse_expression(text, S)


def test_ones_and_zeros_take_dimensions() -> None:
    """ones(m, n) as zeros(m, n): the matrix of ones of a size no term gives (1 - v has
    v's); 𝟏ᵀ W sums W's columns."""
    W = S["W_hx"]
    n_i, n_h = W.shape
    assert parse_expression("ones(n_i, n_h)", S) == sp.OneMatrix(n_i, n_h)
    assert parse_expression("zeros(n_h, 1)", S) == sp.ZeroMatrix(n_h, 1)
    d = derive(parse_expression("ones(1, n_i) @ W_hx @ c", S), W)
    check_derivation(d, {n_i: 3, n_h: 4})
    with pytest.raises(ParseError, match="ones expects dimensions"):
        parse_expression("ones(W_hx, 1)", S)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("c.T @ matrix_power(W_hh, 3) @ h0", c.T * sp.MatPow(U, 3) * h0),
        ("tr(matrix_power(W_hh.T, -2))", sp.Trace(sp.MatPow(U.T, -2))),
        ("matrix_power(W_hh, 2) @ h0", sp.MatPow(U, 2) * h0),
    ],
)
def test_matrix_power_is_the_matrix_product_power(text: str, expected, layout: str) -> None:
    """matrix_power(A, k) (NumPy's name) is Aᵏ, next to A^k, the entrywise power."""
    got = parse_expression(text, S)
    assert scalarize(got) == scalarize(expected)
    check_derivation(derive(got, U, layout), {n_i: 4, n_h: 3}, definite={U})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("matrix_power(W_hh, 2.5)", "the power must be an integer"),
        ("matrix_power(W_hh, h0)", "takes a square matrix and an integer"),
        ("matrix_power(W_hh)", "takes a square matrix and an integer"),
        ("matrix_power(2, 2)", "takes a square matrix and an integer"),
        ("matrix_power(W_hh, 101)", "the power is too large"),
    ],
)
def test_matrix_power_errors(text: str, says: str) -> None:
    with pytest.raises(ParseError, match=re.escape(says)):
        parse_expression(text, S)


def test_matrix_power_of_a_non_square_matrix_is_a_shape_error() -> None:
    with pytest.raises(ShapeMismatch, match=r"W_hx is n_i x n_h; only a square matrix"):
        parse_expression("matrix_power(W_hx, 2)", S)
    assert parse_expression("matrix_power(W_hh, 0)", S) == sp.Identity(n_h)
    assert parse_expression("matrix_power(W_hh, -1)", S) == sp.Inverse(U)


@pytest.mark.parametrize(("text", "name"), [("eye(k) @ W_hh", "k"), ("ones(n_h, n_x)", "n_x")])
def test_an_unknown_dimension_is_named_as_one(text: str, name: str) -> None:
    """It was 'unknown symbol', with --shapes 'k: n x m' as the way out: a matrix."""
    with pytest.raises(ParseError) as info:
        parse_expression(text, S)
    message = str(info.value)
    assert f"unknown dimension '{name}'" in message
    assert "(here: n_h, n_i)" in message or "(here: n_i, n_h)" in message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x.T @ A", "'@' of x.T (1 × 4) and A (3 × 3): the inner dimensions 4 and 3 differ"),
        ("x * A", "'*' is entrywise and needs two operands of one shape. Hint: for a matrix"),
    ],
)
def test_numeric_sizes_that_do_not_agree_are_named_plainly(text: str, says: str) -> None:
    """The message ended in SymPy's tuple, ('Matrices are not aligned', 4, 3)."""
    with pytest.raises(ShapeMismatch) as info:
        parse_expression(text, parse_shapes("A: 3 x 3, x: 4"))
    assert says in str(info.value)
    assert "aligned" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a = W_hh @ h; h = tanh(h0); L = c.T @ a", "h"),
        ("a = b + h0; b = a + h0; L = c.T @ b", "b"),
    ],
    ids=["later", "cycle"],
)
def test_a_name_used_before_its_definition_is_named_so(text: str, name: str) -> None:
    """It was 'unknown symbol ... declare its shape in --shapes'."""
    with pytest.raises(ParseError) as info:
        parse_program(text, S)
    message = str(info.value)
    assert f"{name} is used before its definition" in message
    assert "--shapes" not in message


def test_an_unknown_symbol_may_be_declared_a_scalar() -> None:
    with pytest.raises(ParseError, match=re.escape("or 'lam: scalar' for a scalar")):
        parse_expression("lam * c", S)


@pytest.mark.parametrize("name", ["softmax", "logsumexp"])
def test_softmax_of_a_matrix_says_what_vec_would_mean(name: str) -> None:
    """The hint 'pass vec(Z)' gave one softmax over all entries: for a batch of columns,
    a different function, silently; the message says what each form means."""
    with pytest.raises(ShapeMismatch) as info:
        parse_expression(f"{name}(W_hx)", S)
    message = " ".join(str(info.value).split())
    assert f"{name}(vec(W_hx)) one over all its entries" in message
    assert f"{name}_rows(W_hx)" in message and f"({name}_cols) one per column" in message


@pytest.mark.parametrize("name", ["softmax", "logsumexp"])
def test_the_axis_keyword_is_said_to_be_the_rows_function(name: str) -> None:
    for text in (f"{name}(W_hx, axis=1)", f"{name}(W_hx, 1)"):
        with pytest.raises(ParseError) as info:
            parse_expression(text, S)
        assert f"{name}_rows(Z)" in str(info.value) and f"{name}_cols(Z)" in str(info.value)


def test_small_messages_point_at_the_place() -> None:
    """A matrix exponent had no caret; a name that is no identifier in a declaration
    only 'bad shape declaration' (α is alpha now)."""
    with pytest.raises(ParseError) as info:
        parse_expression("c ^ h0", S)
    message = str(info.value)
    assert (
        "exponents must be numbers or scalars, not a matrix of shape" in message
        and "\n    ^" in message
    )
    with pytest.raises(ParseError, match=r"a name is an identifier .* h₁ for h_1"):
        parse_shapes("h′: n")
    assert set(parse_shapes("h₁: n, ā₂: n")) == {"h_1", "abar_2"}  # as printed
    assert set(parse_shapes("α: n")) == {"alpha"}


@pytest.mark.parametrize(
    ("mixed", "plain"),
    [
        ("W_hx ᵀ @ e", "W_hx.T @ e"),
        ("sum(e ∘ e)", "sum(e * e)"),
        ("e ⊗ c", "kron(e, c)"),
        ("A⁻¹ @ A", "inv(A) @ A"),
        ("tanh(W_hxᵀ @ e) ∘ c", "tanh(W_hx.T @ e) * c"),
        ("s⁻¹ * c", "s^-1 * c"),
    ],
)
def test_the_printed_operators_are_read_in_the_syntax(mixed: str, plain: str) -> None:
    """One ᵀ or ∘ switched the whole formula to the printed notation, where @, .T and
    sum are errors ("unknown symbol 'sum'"); the syntax reads them."""
    from matderiv.parse.candidate import parse_candidate

    want = scalarize(parse_expression(plain, S))
    assert scalarize(parse_expression(mixed, S)) == want
    assert scalarize(parse_candidate(mixed, sp.Tuple(*S.values()), {})) == want


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sum(tanh(X @ W + b.T))", r"write ones\(m, 1\) @ b\.T to add the row b\.T"),
        ("sum(tanh(X @ W + 2*c))", r"write \(2 \* c\) @ ones\(k, 1\)\.T to add the column"),
        ("x.T @ A.I @ x", r"Write inv\(A\) for the inverse A⁻¹ \(SymPy's A\.I\)"),
        ("log(|A|)", r"Write det\(X\) for the determinant \|X\|"),
    ],
)
def test_notations_of_numpy_sympy_and_papers_get_a_hint(text: str, says: str) -> None:
    symbols = parse_shapes("X: m x n, W: n x k, b: k, c: m, A: n x n, x: n")
    with pytest.raises(MatDerivError, match=says):
        parse_expression(text, symbols)


def test_greek_letters_are_names_in_the_syntax_and_in_shapes() -> None:
    """Σ was "unexpected character" in the syntax and "a name is an ASCII identifier"
    in --shapes; σ(x) is the sigmoid, as in LaTeX."""
    symbols = parse_shapes("Σ: n x n, μ: n, x: n")
    assert set(symbols) == {"Sigma", "mu", "x"}
    greek = parse_expression("logdet(Σ) + (x - μ).T @ inv(Σ) @ (x - μ)", symbols)
    assert greek == parse_expression("logdet(Sigma) + (x - mu).T @ inv(Sigma) @ (x - mu)", symbols)
    assert parse_expression("σ(x)", symbols) == parse_expression("sigmoid(x)", symbols)
    f = parse_expression("σ(μ).T @ Σ @ x", symbols)
    check_derivation(gradient(f, symbols["mu"]), {symbols["x"].shape[0]: 3})


@pytest.mark.parametrize(
    ("text", "shapes", "written"),
    [
        ("W @ h₁", "W: n x n, h_1: n", "W @ h_1"),
        ("W @ h₁", "W: n x n, h1: n", "W @ h1"),  # the CLI's h1, printed h₁
        ("h0 @ ā₁.T", "h0: n, abar_1: n", "h0 @ abar_1.T"),
        ("h0 @ ā₁ᵀ", "h0: n, a1bar: n", "h0 @ a1bar.T"),  # the CLI's a1's adjoint
        ("h0 @ \u0101\u2081.T", "h0: n, a1bar: n", "h0 @ a1bar.T"),  # ā typed as one character
        ("μ₁.T @ Σ @ μ₁", "Σ: n x n, μ_1: n", "mu_1.T @ Sigma @ mu_1"),
    ],
)
def test_printed_names_are_read_beside_the_syntaxs_operators(
    text: str, shapes: str, written: str
) -> None:
    """h0 @ ā₁ᵀ, a printed result edited with @, was "unexpected character 'ā'": the
    syntax read ᵀ and Greek letters but not subscripts and accents."""
    symbols = parse_shapes(shapes)
    assert parse_expression(text, symbols) == parse_expression(written, symbols)


def test_an_entrywise_power_by_a_scalar() -> None:
    """x^s for a scalar s (a Symbol, or a 1 x 1 input as --shapes declares one) is the
    entrywise power (refused before: "exponents must be numbers"); its derivative by s
    is x^∘s ∘ log(x)."""
    from matderiv import derive
    from matderiv.testing import check_derivation

    n = sp.Symbol("n", integer=True, positive=True)
    x, s1 = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("s", 1, 1)
    s = sp.Symbol("s")
    assert parse_expression("x ^ s", {"x": x, "s": s}) == sp.HadamardPower(x, s)
    power = parse_expression("x ^ s", {"x": x, "s": s1})
    assert power == sp.HadamardPower(x, AsScalar(s1))
    check_derivation(derive(power, s1), {n: 3}, positive={x})


def test_a_pasted_minus_sign_and_curly_quotes_read_as_ascii() -> None:
    """sum(log(1 + exp(−y * (X @ w)))) with U+2212 and x’ @ A @ x were "unexpected
    character"; a minus sign and a quote pasted from a document are ASCII's."""
    S = parse_shapes("y: n, X: n x p, w: p, A: p x p, x: p")
    pasted = parse_expression("sum(log(1 + exp(−y * (X @ w))))", S)
    assert fmt(pasted) == fmt(parse_expression("sum(log(1 + exp(-y * (X @ w))))", S))
    assert parse_expression("x’ @ A @ x", S) == parse_expression("x' @ A @ x", S)


@pytest.mark.parametrize(
    "text, says",
    [
        ("x.dot(x)", "not its methods (.dot)"),
        ("X.transpose()", "X.T for X.transpose()"),
        ("np.trace(X)", "without np."),
        ("ln(x.T @ x)", "Write log(x) for the natural logarithm"),
        ("inverse(X)", "Write inv(X) for the inverse"),
        # not "Did you mean exp?", whose exp(X) is entrywise
        ("trace(expm(X))", "expm is the matrix exponential, which matderiv does not"),
        ("logm(X)", "exp(A) is the exponential of each entry, not the matrix exponential"),
        ("sum(softmax(X, axis=1))", "The functions take no keyword arguments (axis=)"),
        ("norm(x, ord=2)", "(ord=). norm(x) is the 2-norm of a vector"),
    ],
)
def test_other_tools_spellings_get_the_syntax_s(text: str, says: str) -> None:
    """x.dot(x), np.trace(X) were "unexpected character '.'" alone; ln and inverse
    "unknown function" without a suggestion."""
    S = parse_shapes("X: n x n, x: n")
    with pytest.raises(ParseError) as caught:
        parse_expression(text, S)
    assert says in " ".join(str(caught.value).split())


@pytest.mark.parametrize(
    "text", ["A @ x∘y", "A @ x ∘ y", "x ∘ A @ y", "Aᵀ @ x∘y", "A∘B @ X", "A ⊗ B @ X"]
)
def test_a_printed_operator_beside_matmul_is_refused(text: str) -> None:
    """A x∘y prints A (x∘y); edited with @ as A @ x∘y the syntax read (A x)∘y, left to
    right as NumPy's * and @: a verify candidate right as printed was called wrong."""
    symbols = parse_shapes("A: n x n, B: n x n, X: n x n, x: n, y: n")
    with pytest.raises(ParseError, match="beside @ without parentheses is ambiguous") as info:
        parse_expression(text, symbols)
    assert info.value.refusal


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("(A @ x) ∘ y", "(A @ x) * y"),
        ("A @ (x ∘ y)", "A @ (x * y)"),
        ("(A @ x.T.T) ∘ y", "(A @ x) * y"),
        ("(A @ tanh(x)) ∘ y", "(A @ tanh(x)) * y"),
        ("x.T @ (A ∘ B) @ x", "x.T @ (A * B) @ x"),
        ("A @ x * y", "(A @ x) * y"),  # NumPy's own operators: left to right, as NumPy
        ("(A ⊗ B) @ kron(X, X)", "kron(A, B) @ kron(X, X)"),
    ],
)
def test_a_printed_operator_in_parentheses_beside_matmul_reads(text: str, written: str) -> None:
    symbols = parse_shapes("A: n x n, B: n x n, X: n x n, x: n, y: n")
    assert str(parse_expression(text, symbols)) == str(parse_expression(written, symbols))
