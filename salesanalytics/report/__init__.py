"""Reports a manager reads: labels (en/zh), formatted tables, CJK fonts, the summary page."""

from .fonts import use_fonts
from .html import show
from .labels import LABELS, label, label_columns, stage_labels

__all__ = ["LABELS", "label", "label_columns", "show", "stage_labels", "use_fonts"]
