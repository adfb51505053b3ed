"""The matderiv command, through its real entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_evaluate_inputs import _numeric_jacobian

SHAPES = "W: n_i x n_h, U: n_h x n_h, e: n_i, h0: n_h, c: n_h, A: n x n, x: n"
RNN = "a = W.T @ e + U.T @ h0; h = tanh(a); L = c.T @ h"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matderiv", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )


def test_derive_prints_the_derivation() -> None:
    out = run("derive", RNN, "--wrt", "W", "--shapes", SHAPES, "--layout", "denominator")
    assert out.returncode == 0, out.stderr
    assert "∂L/∂W = e ((1 - h∘h)∘c)ᵀ" in out.stdout
    assert "chain rule" in out.stdout


def test_derive_latex_json_and_index() -> None:
    latex = run("derive", "x.T @ A @ x", "--wrt", "x", "--shapes", SHAPES, "--latex")
    assert latex.returncode == 0 and latex.stdout.startswith(r"\begin{align*}")
    data = json.loads(
        run(
            "derive",
            "tanh(W.T @ e)",
            "--wrt",
            "vec(W.T)",
            "--shapes",
            SHAPES,
            "--layout",
            "denominator",
            "--json",
        ).stdout
    )
    assert data["layout"] == "denominator"
    assert data["shape"] == ["n_h*n_i", "n_h"]
    assert data["result"].startswith("(e ⊗ I_{nₕ}) diag")
    assert {s["kind"] for s in data["steps"]} >= {"define", "local", "chain", "result"}
    index = run("derive", RNN, "--wrt", "W", "--shapes", SHAPES, "--index")
    assert "∂L/∂W[i,j]" in index.stdout


def test_verify_exit_status() -> None:
    right = run(
        "verify",
        "kron(e, eye(n_h)) @ diag(1 - h^2)",
        "--of",
        "h = tanh(W.T @ e)",
        "--wrt",
        "vec(W.T)",
        "--shapes",
        SHAPES,
        "--layout",
        "denominator",
    )
    assert right.returncode == 0, right.stdout + right.stderr
    assert "correct" in right.stdout
    wrong = run(
        "verify",
        r"(e^T \otimes I_{n_h}) \operatorname{diag}(1 - h^2)",
        "--of",
        "h = tanh(W.T @ e)",
        "--wrt",
        "vec(W.T)",
        "--shapes",
        SHAPES,
        "--layout",
        "denominator",
    )
    assert wrong.returncode == 1
    words = " ".join(wrong.stdout.split())
    assert "ill-formed" in words and "inner dimensions" in words


def test_a_formula_may_start_with_a_minus() -> None:
    """Gradients often start with a minus: "-X^{-T}" is a formula, not an option."""
    args = (
        "--of",
        "-log(det(X))",
        "--wrt",
        "X",
        "--shapes",
        "X: n x n",
        "--layout",
        "denominator",
    )
    right = run("verify", "-inv(X).T", *args)
    assert right.returncode == 0 and "correct" in right.stdout, right.stdout + right.stderr
    wrong = run("verify", "-inv(X)", *args)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    derived = run("derive", "-x.T @ A @ x", "--wrt", "x", "--shapes", SHAPES)
    assert derived.returncode == 0 and "-" in derived.stdout.splitlines()[1]
    unknown = run("derive", "x.T @ x", "--wrt", "x", "--shapes", SHAPES, "--bogus")
    assert unknown.returncode == 2 and "--bogus" in unknown.stderr


def test_example_logdet_hessian() -> None:
    out = run("example", "logdet-hessian")
    assert out.returncode == 0, out.stderr
    assert "∂²f/∂vec(X)∂vec(X)ᵀ = -(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}" in out.stdout


def test_example_rnn() -> None:
    out = run("example", "rnn")
    assert out.returncode == 0
    assert "(e₁ ⊗ I_{nₕ}) diag(1 - h₁∘h₁)" in out.stdout


def test_example_as_a_latex_document_and_as_json() -> None:
    """`matderiv example rnn --latex --standalone` was "No such option"."""
    import json

    out = run("example", "rnn", "--latex", "--standalone")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(r"\documentclass") and r"\end{document}" in out.stdout
    assert r"\left(e_{1} \otimes I_{n_{h}}\right)" in out.stdout
    data = json.loads(run("example", "rnn-loss", "--json").stdout)
    assert data["layout"] == "denominator" and data["wrt"] == "Wₕₓ"
    alone = run("example", "rnn", "--standalone")
    assert alone.returncode == 2 and "add --latex" in alone.stderr
    unknown = run("example", "nope", "--json")  # a JSON error, as derive --json gives
    assert unknown.returncode == 2 and json.loads(unknown.stdout)["kind"] == "MatDerivError"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("derive", "W.T @ @ e", "--wrt", "W", "--shapes", SHAPES), "^"),
        (("derive", "W @ e", "--wrt", "W", "--shapes", SHAPES), "inner dimensions"),
        (("derive", "Ww.T @ e", "--wrt", "W", "--shapes", SHAPES), "Did you mean W"),
        (("derive", "tahn(e)", "--wrt", "W", "--shapes", SHAPES), "Did you mean tanh"),
        (("derive", "e", "--wrt", "W", "--shapes", "W: n_i x"), "bad dimension"),
        (("derive", "e", "--wrt", "W.T", "--shapes", SHAPES), "vec(X)"),
        (("derive", "e", "--wrt", "W", "--shapes", SHAPES, "--layout", "sideways"), "numerator"),
        (("example", "lstm"), "unknown example"),
        (("derive", "logdet(X)", "--wrt", "X"), "unknown symbol 'X'"),  # no --shapes
        (("verify", "inv(X)", "--of", "logdet(X)", "--wrt", "X"), "--shapes 'X: n x m'"),
        (("derive", "x.T A x", "--wrt", "x", "--shapes", "A: n x n, x: n"), "A @ B"),
        (("derive", "e", "--wrt", "W", "--shapes", SHAPES, "--code", "jax"), "unknown backend"),
        (
            ("derive", "n * x.T @ x", "--wrt", "x", "--shapes", "n: scalar, x: n"),
            "n is declared (n: scalar) and is also a size (x: n)",
        ),
        (
            ("derive", "n = 3; f = x.T @ A @ x", "--wrt", "x", "--shapes", SHAPES),
            "n is a size (A: n x n, x: n), and a definition cannot set it",
        ),
        (
            ("derive", "n = 3; f = x.T @ A @ x", "--wrt", "x", "--shapes", SHAPES, "--program"),
            "n is a size (A: n x n, x: n), and a definition cannot set it",
        ),
    ],
)
def test_bad_input_exits_2_without_a_traceback(args, fragment: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert fragment in " ".join(out.stderr.split())  # rich wraps long messages
    assert "Traceback" not in out.stderr + out.stdout


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_derive_code_prints_a_function_that_runs(backend: str) -> None:
    """--code prints the generated source; run as pasted, it computes the gradient."""
    pytest.importorskip(backend)
    args = ("derive", "x.T @ A @ x", "--wrt", "x", "--shapes", "A: n x n, x: n")
    out = run(*args, "--layout", "denominator", "--code", backend)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("import numpy") and "def f(*, A, x):" in out.stdout
    namespace: dict = {}
    exec(compile(out.stdout, "<pasted>", "exec"), namespace)
    a, x = np.arange(9.0).reshape(3, 3), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(namespace["f"](A=a, x=x).ravel(), (a + a.T) @ x)


def test_derive_by_several_variables() -> None:
    """--wrt repeated: one derivation each; with --code one function returning every
    gradient, checked against central differences of the loss."""
    mlp = "z = W2.T @ tanh(W1.T @ x); L = logsumexp(z) - y.T @ z"
    shapes = "W1: n x h, W2: h x k, x: n, y: k"
    args = ("derive", mlp, "--wrt", "W1", "--wrt", "W2", "--shapes", shapes)
    shown = run(*args, "--layout", "denominator")
    assert shown.returncode == 0, shown.stderr
    assert "∂L/∂W1 = " in shown.stdout and "∂L/∂W2 = " in shown.stdout
    data = json.loads(run(*args, "--json").stdout)
    assert [item["wrt"] for item in data] == ["W1", "W2"]
    out = run(*args, "--layout", "denominator", "--code", "numpy")
    assert out.returncode == 0, out.stderr
    namespace: dict = {}
    exec(compile(out.stdout, "<pasted>", "exec"), namespace)
    rng = np.random.default_rng(3)
    W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    x, y = rng.standard_normal((4, 1)), np.eye(5)[:, [2]]

    def loss(W1, W2):
        z = W2.T @ np.tanh(W1.T @ x)
        return np.log(np.exp(z).sum()) - (y * z).sum()

    g1, g2 = namespace["f"](W1=W1, W2=W2, x=x, y=y)
    for got, k in ((g1, 0), (g2, 1)):
        base = [W1, W2]
        numeric = np.zeros_like(base[k])
        for idx in np.ndindex(base[k].shape):
            plus, minus = [b.copy() for b in base], [b.copy() for b in base]
            plus[k][idx] += 1e-6
            minus[k][idx] -= 1e-6
            numeric[idx] = (loss(*plus) - loss(*minus)) / 2e-6
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    twice = run("derive", mlp, "--wrt", "W1", "--wrt", "W1", "--shapes", shapes)
    assert twice.returncode == 2 and "twice" in twice.stderr


def test_expressions_in_latex_or_unicode() -> None:
    """EXPR (and verify's --of) may be a formula pasted from a paper or from matderiv's
    output; the generated code of a LaTeX norm is checked against central differences."""
    ls = ("--wrt", "x", "--shapes", "A: m x n, x: n, b: m", "--layout", "denominator")
    out = run("derive", r"\|Ax - b\|^2", *ls)
    assert out.returncode == 0, out.stderr
    assert "∂f/∂x = 2 Aᵀ (A x - b)" in out.stdout
    assert "1/‖A x - b‖ Aᵀ (A x - b)" in run("derive", "‖A x - b‖", *ls).stdout
    code = run("derive", r"\lVert A x - b \rVert^3", *ls, "--code", "numpy")
    namespace: dict = {}
    exec(compile(code.stdout, "<pasted>", "exec"), namespace)
    rng = np.random.default_rng(0)
    a, x, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 1)), rng.standard_normal((5, 1))
    numeric = _numeric_jacobian(lambda v: np.array([np.linalg.norm(a @ v - b) ** 3]), x).T
    np.testing.assert_allclose(namespace["f"](A=a, x=x, b=b), numeric, rtol=1e-6)
    hessian = run("hessian", r"\log\det X", "--wrt", "X", "--shapes", "X: n x n")
    assert "-(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}" in hessian.stdout
    verdict = run("verify", "2 A^T (A x - b)", "--of", r"\|Ax - b\|^2", *ls)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    program = run("derive", r"\|Ax - b\|^2", *ls, "--program")
    assert program.returncode == 2 and "--program needs definitions" in program.stderr


def test_debug_shows_the_traceback() -> None:
    out = run("derive", "W @ e", "--wrt", "W", "--shapes", SHAPES, "--debug")
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_hostile_input_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    out = run(
        "derive", f"__import__('os').system('touch {marker}')", "--wrt", "W", "--shapes", SHAPES
    )
    assert out.returncode == 2 and not marker.exists()
    deep = run("derive", "(" * 4_000 + "e" + ")" * 4_000, "--wrt", "W", "--shapes", SHAPES)
    assert deep.returncode == 2 and "nesting" in deep.stderr


@pytest.mark.parametrize("command", ["derive", "verify", "hessian", "example"])
def test_help_has_examples(command: str) -> None:
    out = run(command, "--help")
    assert out.returncode == 0
    assert "Example" in out.stdout or "rnn" in out.stdout


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.startswith("matderiv ")


PROGRAM = (
    "a_1 = W' @ x_1 + U' @ h_0; h_1 = tanh(a_1); a_2 = W' @ x_2 + U' @ h_1; "
    "h_2 = tanh(a_2); c' @ h_1 + c' @ h_2"
)
PROGRAM_SHAPES = "W: m x n, U: n x n, x_1: m, x_2: m, h_0: n, c: n"


def test_derive_program_keeps_definitions_and_names_adjoints() -> None:
    args = ("derive", PROGRAM, "--wrt", "W", "--shapes", PROGRAM_SHAPES)
    out = run(*args, "--layout", "denominator", "--program", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    names = [item["name"] for item in data["definitions"]]
    assert names[:4] == ["a_1", "h_1", "a_2", "h_2"]
    assert {"abar_1", "abar_2", "hbar_1"} <= set(names)
    assert "a\u0304" in data["result"] and "tanh" not in data["result"]  # ā, combining bar
    inlined = json.loads(run(*args, "--layout", "denominator", "--json").stdout)
    assert inlined["definitions"] == [] and "tanh" in inlined["result"]


@pytest.mark.parametrize("program", [["--program"], []])
def test_derive_rejects_a_name_defined_twice(program) -> None:
    """Without --program too: h = tanh(Wᵀx); h = cᵀh silently rebound h (a candidate
    for verify --of using h then meant the scalar)."""
    out = run(
        "derive", "a = x; a = 2 * x; c' @ a", "--wrt", "x", "--shapes", "x: n, c: n", *program
    )
    assert out.returncode == 2
    assert "a is defined twice" in out.stderr


def test_verify_of_rejects_a_name_defined_twice() -> None:
    out = run(
        "verify", "x", "--of", "h = tanh(W.T @ x); h = c.T @ h", "--wrt", "W",
        "--shapes", "W: n x k, x: n, c: k",
    )  # fmt: skip
    assert out.returncode == 2
    assert "h is defined twice" in out.stderr


def _function(out: subprocess.CompletedProcess[str]):
    assert out.returncode == 0, out.stderr
    namespace: dict = {}
    exec(compile(out.stdout, "<pasted>", "exec"), namespace)
    return namespace["f"]


def test_hessian_command_prints_the_hessian_and_its_code() -> None:
    """matderiv hessian: d²f/dvec(X)dvec(X)ᵀ, checked against differences of ∇ log det X."""
    args = ("hessian", "logdet(X)", "--wrt", "X", "--shapes", "X: n x n")
    shown = run(*args)
    assert shown.returncode == 0, shown.stderr
    assert "∂²f/∂vec(X)∂vec(X)ᵀ" in shown.stdout and "K_{n,n}" in shown.stdout
    H = _function(run(*args, "--code", "numpy"))
    X = np.eye(3) * 2.0 + np.random.default_rng(0).standard_normal((3, 3)) * 0.3
    want = _numeric_jacobian(lambda Z: np.linalg.inv(Z).T, X)  # ∇ log det X = X⁻ᵀ
    np.testing.assert_allclose(H(X=X), want, rtol=1e-6, atol=1e-8)
    data = json.loads(run(*args, "--json").stdout)
    assert data["shape"] == ["n**2", "n**2"] and data["layout"] == "numerator"
    assert data["mode"] == "hessian" and data["result"] == "-(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}"


def test_hessian_command_hvp_with_a_named_direction() -> None:
    """--hvp gives H vec(V) shaped like X; --direction names V (declared or new)."""
    f = "tr(X.T @ A @ X) + tr(D.T @ X)^2"
    shapes = "X: n x m, A: n x n, D: n x m"
    fn = _function(
        run("hessian", f, "--wrt", "X", "--shapes", shapes, "--hvp", "--direction", "Z", "--code",
            "numpy")
    )  # fmt: skip
    rng = np.random.default_rng(1)
    X, A, D, Z = (rng.standard_normal(s) for s in ((3, 2), (3, 3), (3, 2), (3, 2)))

    def grad(Y: np.ndarray) -> np.ndarray:
        return (A + A.T) @ Y + 2.0 * np.sum(D * Y) * D

    want = (_numeric_jacobian(grad, X) @ Z.reshape(-1, order="F")).reshape(Z.shape, order="F")
    np.testing.assert_allclose(fn(X=X, A=A, D=D, Z=Z), want, rtol=1e-6, atol=1e-8)
    declared = run("hessian", f, "--wrt", "X", "--shapes", shapes, "--hvp", "--direction", "D")
    assert declared.returncode == 0 and "H vec(D)" in declared.stdout
    by_vec = run("hessian", f, "--wrt", "vec(X)", "--shapes", shapes, "--hvp", "--direction", "Z")
    assert by_vec.returncode == 0 and "H vec(Z)" in by_vec.stdout, by_vec.stderr  # Z like X


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--direction", "V"), "add --hvp"),
        (("--hvp", "--direction", "A"), "shaped like X"),
        (("--hvp", "--direction", "1V"), "bad --direction"),
        (("--hvp", "--direction", "X"), "the variable itself"),
    ],
)
def test_hessian_command_refuses_a_bad_direction(extra, fragment: str) -> None:
    shapes = "X: n x m, A: n x n"
    out = run("hessian", "tr(X.T @ A @ X)", "--wrt", "X", "--shapes", shapes, *extra)
    assert out.returncode == 2 and fragment in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_hessian_command_needs_a_scalar() -> None:
    out = run("hessian", "X @ A", "--wrt", "X", "--shapes", "X: n x n, A: n x n")
    assert out.returncode == 2 and "scalar" in out.stderr and "Traceback" not in out.stderr


def test_verify_a_hessian_exit_status() -> None:
    """verify --hessian: log det X's Hessian is -(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}; without the K it
    is wrong, and the verdict says where the commutation matrix goes."""
    args = ("--of", "logdet(X)", "--wrt", "X", "--shapes", "X: n x n", "--hessian")
    right = run("verify", "-kron(inv(X), inv(X).T) @ commutation(n, n)", *args)
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = run("verify", "-kron(inv(X), inv(X).T)", *args)
    assert wrong.returncode == 1 and "multiply on the right by K_{n,n}" in wrong.stdout
    # the same in the Unicode matderiv prints
    printed = run("verify", "-(X⁻¹ ⊗ X⁻ᵀ) K_{n,n}", *args)
    assert printed.returncode == 0, printed.stdout + printed.stderr


def test_verify_a_hessian_vector_product_exit_status() -> None:
    args = ("--of", "logdet(X)", "--wrt", "X", "--shapes", "X: n x n", "--hessian")
    right = run("verify", "-inv(X).T @ W.T @ inv(X).T", *args, "--direction", "W")
    assert right.returncode == 0, right.stdout + right.stderr
    wrong = run("verify", "-inv(X) @ W @ inv(X)", *args, "--direction", "W")
    assert wrong.returncode == 1 and "transpose" in wrong.stdout
    alone = run("verify", "W", *args[:-1], "--direction", "W")
    assert alone.returncode == 2 and "add --hessian" in alone.stderr


def test_verify_json() -> None:
    """--json: the verdict as data, with the exit status unchanged."""
    args = ("--of", "x.T @ A @ x", "--wrt", "x", "--shapes", "A: n x n, x: n")
    wrong = run("verify", "2 * A @ x", *args, "--layout", "denominator", "--json")
    assert wrong.returncode == 1, wrong.stderr
    data = json.loads(wrong.stdout)
    assert data["ok"] is False and data["kind"] == "symmetric"
    assert data["derived"] == "(A + Aᵀ) x" and data["shape"] == ["n", "1"]
    assert data["max_error"] > 0.1
    right = json.loads(run("verify", "(A + A.T) @ x", *args, "--layout", "denominator",
                           "--json").stdout)  # fmt: skip
    assert right["ok"] is True and right["kind"] == "correct" and right["max_error"] == 0.0
    ill = json.loads(run("verify", "A @ x.T", *args, "--json").stdout)
    assert ill["kind"] == "ill-formed" and "max_error" not in ill
    # numerator layout (the default): the wrong shape, and the mistake where it fits
    shaped = json.loads(run("verify", "2 * A @ x", *args, "--json").stdout)
    assert shaped["kind"] == "wrong-shape" and shaped["other_layout"]["kind"] == "symmetric"
    assert "other_layout" not in data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--shape", "x: n"), "no such option --shape; did you mean --shapes?"),
        (("--shapes", "x: n", "--latx"), "no such option --latx; did you mean --latex?"),
        (("--shapes", "x:", "n"), "unexpected extra argument(s): n"),
        (("--shapes", "x: n", "--json", "--latex"), "--latex and --json print different"),
        (("--shapes", "x: n", "--standalone"), "--standalone makes a LaTeX document"),
    ],
)
def test_command_line_mistakes_are_named(args: tuple[str, ...], message: str) -> None:
    """A mistyped option was 'Got unexpected extra argument(s) (--shape x: n)' (formulas
    may start with '-', so unknown options are let through) and --json beat --latex."""
    out = run("derive", "x.T @ x", "--wrt", "x", *args)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert "derive --help" in out.stderr


def test_a_mistyped_option_before_the_formula_is_named() -> None:
    out = run("derive", "--shape", "x: n", "x.T @ x", "--wrt", "x")
    assert out.returncode == 2 and "no such option --shape" in out.stderr, out.stderr


def test_a_formula_may_still_start_with_a_minus() -> None:
    out = run("verify", "-2*x", "--of", "-x.T @ x", "--wrt", "x", "--shapes", "x: n")
    assert "-x" not in out.stderr and out.returncode == 1  # transposed in numerator layout
    out = run("verify", "-2*x.T", "--of", "-x.T @ x", "--wrt", "x", "--shapes", "x: n")
    assert out.returncode == 0, out.stdout + out.stderr


def test_numpy_shape_tuples_are_declarations() -> None:
    out = run("derive", "x.T @ A @ x", "--wrt", "x", "--shapes", "A: (n, n), x: (n,)", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["shape"] == ["1", "n"]
    listed = run("derive", "x.T @ A @ x", "--wrt", "A", "--shapes", "A: [3, 3], x: [3]", "--json")
    assert json.loads(listed.stdout)["shape"] == ["3", "3"]


def test_errors_under_json_are_json_too() -> None:
    out = run("derive", "x.T @ q", "--wrt", "x", "--shapes", "x: n", "--json")
    assert out.returncode == 2
    error = json.loads(out.stdout)
    assert error["kind"] == "ParseError" and "unknown symbol 'q'" in error["error"]


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="needs pdflatex (CI installs texlive)")
def test_standalone_latex_compiles(tmp_path: Path) -> None:
    """--latex --standalone is a document (two --wrt: both in one, each with its
    headline, which the document of two dropped)."""
    out = run(
        "derive", "x.T @ A @ x", "--wrt", "x", "--wrt", "A", "--shapes", SHAPES,
        "--latex", "--standalone",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(r"\begin{align*}") == 2
    assert out.stdout.count(r"\noindent$\displaystyle") == 2, out.stdout[:1500]
    (tmp_path / "d.tex").write_text(out.stdout, encoding="utf-8")
    compiled = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout[-2000:]


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("x'*x", "write x.T @ y for the inner product"),  # was: "v @ w.T, the outer product"
        ("A\\b", "MATLAB's solve, is A⁻¹ b: write inv(A) @ b"),
    ],
)
def test_matlab_habits_get_the_form_to_write(expr: str, says: str) -> None:
    out = run("derive", expr, "--wrt", "x", "--shapes", "A: n x n, x: n, b: n")
    assert out.returncode == 2 and says in " ".join(out.stderr.split()), out.stderr


def test_a_matrix_written_to_a_power_with_caret_gets_a_note() -> None:
    """A^-1 and A^2 are entrywise in the syntax: derive said nothing (verify did)."""
    out = run("derive", "A^-1 @ x", "--wrt", "x", "--shapes", "A: n x n, x: n")
    assert out.returncode == 0 and "write inv(A) for the matrix inverse" in out.stderr
    squared = run("derive", "A^2 @ x", "--wrt", "x", "--shapes", "A: n x n, x: n")
    assert "matrix_power(A, 2)" in " ".join(squared.stderr.split())
    quiet = run("derive", "x^2", "--wrt", "x", "--shapes", "x: n")  # a vector's: no note
    assert quiet.returncode == 0 and "note" not in quiet.stderr


def test_a_wrong_wrt_is_named_for_what_it_is() -> None:
    """--wrt X for a symbol x had no "did you mean x?"; --wrt a for a name the
    expression defines was told to declare a's shape."""
    out = run("derive", "x.T @ A @ x", "--wrt", "X", "--shapes", "A: n x n, x: n")
    assert out.returncode == 2 and "Did you mean x?" in out.stderr
    for program in ([], ["--program"]):
        out = run("derive", "a = W @ x; L = sum(a)", "--wrt", "a", "--shapes", "W: m x n, x: n",
                  *program)  # fmt: skip
        said = " ".join(out.stderr.split())
        assert out.returncode == 2 and "a is an intermediate the expression defines" in said
        assert "(W, x)" in said


def test_verify_takes_a_program_and_its_adjoints() -> None:
    """A --program result pasted back into verify: h̄1 was "unknown symbol; did you mean
    h1?" (verify had no --program)."""
    program = "a1 = W.T @ x1 + U.T @ h0; h1 = tanh(a1); a2 = W.T @ x2 + U.T @ h1; " \
        "h2 = tanh(a2); L = c.T @ h1 + c.T @ h2"  # fmt: skip
    shapes = "W: m x n, U: n x n, x1: m, x2: m, h0: n, c: n"
    derived = run("derive", program, "--wrt", "U", "--program", "--shapes", shapes,
                  "--layout", "denominator", "--json")  # fmt: skip
    result = json.loads(derived.stdout)["result"]
    args = ("--of", program, "--wrt", "U", "--shapes", shapes, "--layout", "denominator")
    assert run("verify", result, *args, "--program").returncode == 0
    assert run("verify", "h0 @ a1bar.T + h1 @ a2bar.T", *args, "--program").returncode == 0
    wrong = run("verify", "h0 @ a1bar.T + h1 @ a1bar.T", *args, "--program")
    assert wrong.returncode == 1
    without = run("verify", result, *args)
    assert without.returncode == 2 and "add --program" in " ".join(without.stderr.split())


def test_verify_symmetric_option() -> None:
    args = ("2 * A @ x", "--of", "x.T @ A @ x", "--wrt", "x", "--shapes", "A: n x n, x: n",
            "--layout", "denominator")  # fmt: skip
    assert run("verify", *args).returncode == 1  # right only if A is symmetric
    out = run("verify", *args, "--symmetric", "A", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["assumed_symmetric"] == ["A"]
    typo = run("verify", *args, "--symmetric", "B")
    assert typo.returncode == 2 and "no symbol B is declared" in typo.stderr


@pytest.mark.parametrize(
    "expr", [r"\operatorname{Tr}(\sin(X))", "trace(exp(X))", r"\log\det(e^{X})"]
)
def test_a_function_of_a_square_matrix_is_said_to_be_entrywise(expr: str) -> None:
    """tr(sin X) reads sin entrywise; the Cookbook means the matrix function (its
    derivative cos(X)ᵀ is not diag): matderiv said nothing."""
    out = run("derive", expr, "--wrt", "X", "--shapes", "X: n x n")
    assert out.returncode == 0 and "taken entry by entry" in " ".join(out.stderr.split())
    quiet = run(
        "derive", "sum(tanh(W @ x)) + sum(exp(x))", "--wrt", "W", "--shapes", "W: n x n, x: n"
    )
    assert quiet.returncode == 0 and "note" not in quiet.stderr


@pytest.mark.parametrize("expr", ["sum(tanh(X))", "sum(relu(X))", "sum(sqrt(X))"])
def test_an_entrywise_function_of_a_square_matrix_is_no_internal_error(expr: str) -> None:
    """sum(tanh(X)) for a square X was "internal error: TypeError: isinstance() arg 2"
    (sp.sqrt, a function, among the classes of the matrix-function note)."""
    out = run("derive", expr, "--wrt", "X", "--shapes", "X: n x n")
    assert out.returncode == 0, out.stderr
    assert ("taken entry by entry" in " ".join(out.stderr.split())) == ("sqrt" in expr)


@pytest.mark.parametrize(
    "expr", ["x^T A x", "x'Ax", "x^T A x + b"], ids=["x^T A x", "x'Ax", "plus a scalar"]
)
def test_the_expression_may_be_written_as_math_as_a_candidate_may(expr: str) -> None:
    """derive "x^T A x" was "Two operands side by side are not a product here", while
    verify read the same text as a candidate (the syntax, then LaTeX)."""
    shapes = "A: n x n, x: n, b: scalar"
    out = run(
        "derive", expr, "--wrt", "x", "--shapes", shapes, "--json", "--layout", "denominator"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"] == "(A + Aᵀ) x"


def test_a_product_written_as_one_word_is_pointed_out() -> None:
    out = run(
        "derive", "sum(log(1 + exp(-y*Xw)))", "--wrt", "w", "--shapes", "y: n, X: n x p, w: p"
    )
    assert out.returncode == 2 and "Did you mean X @ w?" in " ".join(out.stderr.split())


def test_a_stream_without_the_math_characters_gets_utf8() -> None:
    """With stdout in cp1252 (Windows' redirection to a file) the output was an
    internal error, UnicodeEncodeError; it is written in UTF-8."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "matderiv",
            "derive",
            "x.T @ A @ x",
            "--wrt",
            "x",
            "--shapes",
            "A: n x n, x: n",
        ],
        capture_output=True,
        timeout=300,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "cp1252"},
    )
    assert out.returncode == 0, out.stderr
    assert "xᵀ (A + Aᵀ)" in out.stdout.decode("utf-8")


def test_a_layout_for_a_hessian_is_said_to_be_needless() -> None:
    """hessian --layout denominator answered "did you mean --latex?"."""
    out = run(
        "hessian",
        "x.T @ A @ x",
        "--wrt",
        "x",
        "--shapes",
        "A: n x n, x: n",
        "--layout",
        "numerator",
    )
    assert out.returncode == 2 and "the same in both layouts" in out.stderr


def test_a_variable_the_expression_does_not_contain_gets_a_note() -> None:
    """--wrt s of x^T A x printed ∂f/∂s = 0 without a word (a misread s^10 went
    unnoticed so); the 0 stands, with a note."""
    shapes = "A: n x n, x: n, s: scalar"
    out = run("derive", "x.T @ A @ x", "--wrt", "s", "--shapes", shapes)
    assert out.returncode == 0
    assert "does not contain s" in " ".join(out.stderr.split()), out.stderr
    used = run("derive", "x.T @ A @ x", "--wrt", "x", "--shapes", shapes)
    assert used.returncode == 0 and "does not contain" not in used.stderr
