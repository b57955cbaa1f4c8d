"""Every notebook runs top to bottom at tiny size and is stored without outputs.

The notebooks (``notebooks/*.ipynb``) replicate the report's figures by calling
:mod:`naah.experiments`; here they run with ``NAAH_NOTEBOOK_TINY=1`` (fixture
weights, 32 px, a few iterations) in an IPython kernel of the Python running the
tests, whatever kernels are installed elsewhere: the kernel-spec search path is
empty, so jupyter_client falls back to ipykernel's own spec for ``sys.executable``.
"""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
jupyter_client = pytest.importorskip("jupyter_client")

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
# Seconds one cell may take at tiny size (training or ten compilations at most).
CELL_TIMEOUT = 180


def _ids(paths):
    return [p.stem for p in paths]


def test_there_is_a_notebook_per_figure_group():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: execution count"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_without_errors_at_tiny_size(path, tmp_path, monkeypatch):
    monkeypatch.setenv("NAAH_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("NAAH_NOTEBOOK_OUTPUT", str(tmp_path))
    monkeypatch.delenv("NAAH_PICASSO", raising=False)
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    this_python = jupyter_client.kernelspec.KernelSpecManager(kernel_dirs=[])
    kernel = jupyter_client.KernelManager(
        kernel_name="python3", kernel_spec_manager=this_python
    )
    client = nbclient.NotebookClient(
        notebook,
        km=kernel,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute(cleanup_kc=True)  # raises CellExecutionError on a failing cell
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    assert any(tmp_path.rglob("*.png")), "the notebook saved no figure"
