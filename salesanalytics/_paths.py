"""Where the project's files live: one place, package-relative, never the working directory."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "PROJECT_ROOT", "PARAMS_DIR", "STAGES_DIR", "SAMPLE_DIR", "NOTEBOOKS_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
PARAMS_DIR = PROJECT_ROOT / "params"
# A wheel carries the stage presets inside the package; a source checkout reads params/.
STAGES_DIR = (
    PACKAGE_DIR / "_params" / "stages"
    if (PACKAGE_DIR / "_params" / "stages").is_dir()
    else PARAMS_DIR / "stages"
)
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
