"""The tutorial notebooks: each one runs top to bottom, and is committed with outputs cleared.

The notebooks carry their own asserts (derivatives against finite differences, verdict
kinds), so a wrong derivative or a changed behaviour fails here.  The kernel runs this
very Python (``sys.executable``), whatever kernelspecs the machine has installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
REQUIRED = {
    "01_rnn_step.ipynb",
    "02_matrix_cookbook.ipynb",
    "03_backprop_mlp.ipynb",
    "04_verify_your_derivation.ipynb",
    "05_second_order.ipynb",
}
NAMING = re.compile(r"\d\d_[a-z0-9_]+\.ipynb")
KERNEL = "python3"
CELL_TIMEOUT = 120  # seconds per cell
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in IPython tracebacks


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """Kernelspecs holding only a python3 kernel that runs sys.executable (the venv's Python)."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / KERNEL)
    return KernelSpecManager(kernel_dirs=[str(kernels)])


def execute(nb: nbformat.NotebookNode, kernel_specs: KernelSpecManager) -> None:
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    client = NotebookClient(
        nb,
        km=km,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},  # cwd of the kernel
    )
    client.execute()


def _failing_cell(nb: nbformat.NotebookNode) -> tuple[int, str, str]:
    """(index, source, traceback) of the cell whose output is an error."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
                return index, cell.source, trace or f"{output.ename}: {output.evalue}"
    return -1, "", ""


def test_the_tutorial_notebooks_are_there() -> None:
    found = {path.name for path in NOTEBOOKS}
    missing = REQUIRED - found
    assert not missing, f"missing notebooks in {NOTEBOOK_DIR}: {sorted(missing)}"
    unnumbered = sorted(name for name in found if not NAMING.fullmatch(name))
    assert not unnumbered, f"name notebooks NN_topic.ipynb, in reading order: {unnumbered}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_is_committed_with_outputs_cleared(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL, path.name
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {index} has outputs; clear them"
            assert cell.execution_count is None, f"{path.name}: cell {index} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel_specs: KernelSpecManager) -> None:
    nb = nbformat.read(path, as_version=4)
    try:
        execute(nb, kernel_specs)
        return
    except CellExecutionError:
        index, source, trace = _failing_cell(nb)
        if index < 0:
            raise
    # outside the except block, so the report is not chained to nbclient's coloured one
    pytest.fail(
        f"{path.name}: cell {index} failed\n--- cell source ---\n{source}\n--- error ---\n{trace}",
        pytrace=False,
    )


def test_the_kernel_runs_this_python(kernel_specs: KernelSpecManager) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")]
    )
    execute(nb, kernel_specs)
    printed = "".join(out.get("text", "") for out in nb.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()
