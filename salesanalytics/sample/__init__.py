"""Deterministic synthetic CRM data with known ground truth (``salesanalytics sample``)."""

from .generator import (
    DEFAULT_SEED,
    LEAD_DRIVERS,
    SampleData,
    generate,
    generate_pipeline,
    write_sample,
)
from .process import Process

__all__ = [
    "DEFAULT_SEED",
    "LEAD_DRIVERS",
    "Process",
    "SampleData",
    "generate",
    "generate_pipeline",
    "write_sample",
]
