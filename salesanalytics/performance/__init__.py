"""Targets and performance: attainment with pace, target decomposition, growth, product mix,
customers new and returning with tiers, persistent under-performance, the review workbook.

Bookings are won deals counted in the period they were won, at their close amount (the
pipeline amount where no close amount is recorded). Targets come from the ``targets`` table;
monthly targets add up to quarters and years.

>>> import salesanalytics as sa
>>> a = sa.attainment(sa.read_dataset(), period="Q", as_of="2026-05-15")
>>> a.attrs["pace"], round(a.attrs["share_due"], 3)
('linear', 0.508)
"""

from .attainment import attainment, bookings, check_rollup, period_pacing
from .customers import customer_activity, tier_migration
from .decompose import decompose_target, largest_remainder
from .growth import growth
from .measures import target_sheet
from .mix import product_mix
from .plots import plot_attainment, plot_growth, plot_product_share, plot_tier_migration
from .underperformers import underperformers
from .workbook import write_review

__all__ = [
    "attainment",
    "bookings",
    "check_rollup",
    "customer_activity",
    "decompose_target",
    "growth",
    "largest_remainder",
    "period_pacing",
    "plot_attainment",
    "plot_growth",
    "plot_product_share",
    "plot_tier_migration",
    "product_mix",
    "target_sheet",
    "tier_migration",
    "underperformers",
    "write_review",
]
