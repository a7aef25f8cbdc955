"""Where the project's files live: one place, package first, checkout second.

An installed wheel carries the bundled files inside the package, under ``salesanalytics/_data/``
(``params/``, ``sample/``, ``notebooks/``; see ``[tool.hatch.build.targets.wheel.force-include]``
in pyproject.toml), found through :func:`importlib.resources.files`. A source checkout (or an
editable install, which does not copy them) reads the top-level ``params/``, ``data/sample/``
and ``notebooks/`` of the repository, which stay the sources. Never the working directory,
except for ``PROJECT_ROOT`` of an installed wheel (there is no project there: reports go to
``./reports`` of wherever the command runs).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "PROJECT_ROOT",
    "PARAMS_DIR",
    "STAGES_DIR",
    "SCORECARDS_DIR",
    "SAMPLE_DIR",
    "NOTEBOOKS_DIR",
    "INSTALLED_DATA",
]

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent


def _bundled() -> Path | None:
    """``salesanalytics/_data`` of an installed wheel, or None in a checkout."""
    data = files("salesanalytics") / "_data"
    if data.is_dir():
        return Path(str(data)).resolve()
    return None


_DATA = _bundled()
#: True when the package data comes from the wheel, False in a source checkout.
INSTALLED_DATA = _DATA is not None

if _DATA is not None:
    PROJECT_ROOT = Path.cwd()
    PARAMS_DIR = _DATA / "params"
    SAMPLE_DIR = _DATA / "sample"
    NOTEBOOKS_DIR = _DATA / "notebooks"
else:
    PROJECT_ROOT = _CHECKOUT
    PARAMS_DIR = _CHECKOUT / "params"
    SAMPLE_DIR = _CHECKOUT / "data" / "sample"
    NOTEBOOKS_DIR = _CHECKOUT / "notebooks"
STAGES_DIR = PARAMS_DIR / "stages"
SCORECARDS_DIR = PARAMS_DIR / "scorecards"
