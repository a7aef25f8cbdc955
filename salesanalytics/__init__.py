"""salesanalytics: cleaning, funnels, calibration, scoring and forecasting for sales operations.

>>> import salesanalytics as sa
>>> ds = sa.read_dataset()          # the bundled synthetic sample
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .calibration import (
    CalibrationReport,
    ConfiguredProbabilities,
    EmpiricalStageRate,
    GlobalWinRate,
    NaiveBayesOdoo,
    StageProbabilityModel,
    calibration_report,
)
from .clean import CleanResult, clean
from .clean.mapping import load_column_map
from .dataset import Dataset, read_dataset
from .export import save_figure, save_table, spreadsheet_safe, write_csv, write_excel
from .forecast import backtest_forecast, backtest_summary, deal_forecast, forecast_bookings
from .funnel import (
    COUNTING_RULES,
    conversion_by,
    find_bottlenecks,
    followup_compliance,
    funnel_summary,
    rep_dwell,
    response_sla,
    stage_dwell,
    stage_transitions,
    stale_deals,
)
from .io import read_table
from .overview import date_ranges, monthly_counts, stage_distribution
from .performance import attainment, bookings, period_pacing
from .plots import (
    plot_backtest,
    plot_bottlenecks,
    plot_conversion_heatmap,
    plot_dwell_by_rep,
    plot_funnel,
    plot_monthly,
    plot_pacing,
    plot_quality,
    plot_reliability,
    plot_stage_distribution,
)
from .quality import format_notes, quality_impact, quality_summary, rejected_examples
from .schema import TABLES, DataContractError
from .scoring import (
    LeakageError,
    Scorecard,
    capacity_cutoff,
    customer_features,
    evaluate_scorecard,
    fit_scorecard,
    followup_plan,
)
from .snapshot import pipeline_as_of
from .stages import StageConfig, load_stages
from .view import View

try:
    __version__ = version("salesanalytics")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

__all__ = [
    "LeakageError",
    "Scorecard",
    "capacity_cutoff",
    "customer_features",
    "evaluate_scorecard",
    "fit_scorecard",
    "followup_plan",
    "CalibrationReport",
    "ConfiguredProbabilities",
    "EmpiricalStageRate",
    "GlobalWinRate",
    "NaiveBayesOdoo",
    "StageProbabilityModel",
    "calibration_report",
    "pipeline_as_of",
    "backtest_forecast",
    "backtest_summary",
    "attainment",
    "bookings",
    "period_pacing",
    "deal_forecast",
    "forecast_bookings",
    "COUNTING_RULES",
    "conversion_by",
    "find_bottlenecks",
    "followup_compliance",
    "funnel_summary",
    "plot_backtest",
    "plot_pacing",
    "plot_bottlenecks",
    "plot_conversion_heatmap",
    "plot_dwell_by_rep",
    "plot_funnel",
    "plot_reliability",
    "rep_dwell",
    "response_sla",
    "stage_dwell",
    "stage_transitions",
    "stale_deals",
    "CleanResult",
    "DataContractError",
    "Dataset",
    "StageConfig",
    "TABLES",
    "__version__",
    "clean",
    "date_ranges",
    "monthly_counts",
    "plot_monthly",
    "plot_quality",
    "plot_stage_distribution",
    "format_notes",
    "quality_impact",
    "quality_summary",
    "rejected_examples",
    "save_figure",
    "save_table",
    "spreadsheet_safe",
    "stage_distribution",
    "write_csv",
    "write_excel",
    "load_stages",
    "read_dataset",
    "read_table",
    "load_column_map",
    "View",
]
