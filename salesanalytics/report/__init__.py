"""Reports a manager reads: labels (en/zh), formatted tables, CJK fonts, the summary page."""

from .fonts import use_fonts
from .html import show
from .labels import LABELS, label, label_columns, stage_labels
from .summary import (
    dataset_as_of,
    deal_conversion,
    funnel_headlines,
    headline,
    lead_headlines,
    overview_headlines,
    quality_headlines,
    save_headlines,
    write_summary,
)

__all__ = [
    "LABELS",
    "dataset_as_of",
    "deal_conversion",
    "funnel_headlines",
    "headline",
    "label",
    "label_columns",
    "lead_headlines",
    "overview_headlines",
    "quality_headlines",
    "save_headlines",
    "show",
    "stage_labels",
    "use_fonts",
    "write_summary",
]
