"""Cleaning: validate, normalise and quarantine; nothing is lost."""

from .core import CleanResult, clean
from .report import QUALITY_COLUMNS

__all__ = ["CleanResult", "clean", "QUALITY_COLUMNS"]
