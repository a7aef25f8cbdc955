"""Shared fixtures: the bundled sample, synthetic variants, the public datasets."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

# Kernels started by nbval and papermill inherit this process's environment: they must draw
# inline as in JupyterLab, or figure outputs would differ from the committed ones.
os.environ.pop("MPLBACKEND", None)
matplotlib.use("Agg")  # in-process plotting tests need no display

import salesanalytics as sa
from salesanalytics import _paths


@pytest.fixture(scope="session")
def sample_ds() -> sa.Dataset:
    return sa.read_dataset(_paths.SAMPLE_DIR)


@pytest.fixture(scope="session")
def public_data() -> Path:
    """The folder of public datasets ($SALESANALYTICS_PUBLIC_DATA); skip when absent."""
    value = os.environ.get("SALESANALYTICS_PUBLIC_DATA")
    if not value:
        pytest.skip("SALESANALYTICS_PUBLIC_DATA is not set (public datasets unavailable)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"public datasets folder {path} is absent")
    return path
