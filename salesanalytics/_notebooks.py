"""Developer tool: rebuild notebooks from their py:percent twins and store fresh outputs.

``python -m salesanalytics._notebooks [NAME ...]`` (or ``python3 tasks.py notebooks``)
converts ``notebooks/NN-*.py`` to ``.ipynb`` with jupytext, executes it with its default
parameters (working directory ``notebooks/``) and strips run-specific metadata, so the
committed outputs are exactly what the nbval test re-creates.
"""

from __future__ import annotations

import sys

import jupytext
import nbformat
import papermill as pm

from ._paths import NOTEBOOKS_DIR
from .runner import kernel_environment


def refresh(name: str) -> None:
    src = NOTEBOOKS_DIR / f"{name}.py"
    target = NOTEBOOKS_DIR / f"{name}.ipynb"
    nb = jupytext.read(src)
    nb.metadata.pop("jupytext", None)
    nbformat.write(nb, target)
    with kernel_environment():
        pm.execute_notebook(
            str(target),
            str(target),
            kernel_name="python3",
            cwd=str(NOTEBOOKS_DIR),
            progress_bar=False,
        )
    nb = nbformat.read(target, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            del cell.metadata["tags"]
    nbformat.write(nb, target)
    print(f"refreshed {target.name}")


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]-*.py"))
    for name in names:
        refresh(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
