"""Committed notebooks: parameters cell, no definitions, outputs stored, in sync with py twins."""

import jupytext
import nbformat
import pytest

from salesanalytics import _paths
from salesanalytics.runner import discover_notebooks, notebook_parameters

NOTEBOOKS = sorted(discover_notebooks())


def test_there_are_notebooks():
    assert "00-data-overview" in NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_well_formed(name):
    nb = nbformat.read(_paths.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert any(c.outputs for c in code), "committed without outputs"
    for c in code:
        assert not any(line.startswith(("def ", "class ")) for line in c.source.splitlines())
    params = notebook_parameters(_paths.NOTEBOOKS_DIR / f"{name}.ipynb")
    assert all(p["help"] for p in params.values()), "every parameter needs a # help comment"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_matches_its_py_twin(name):
    nb = nbformat.read(_paths.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    twin = jupytext.read(_paths.NOTEBOOKS_DIR / f"{name}.py")
    assert [c.source for c in nb.cells] == [c.source for c in twin.cells]
