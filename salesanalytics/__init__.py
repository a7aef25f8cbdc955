"""salesanalytics: cleaning, funnels, calibration, scoring and forecasting for sales operations.

>>> import salesanalytics as sa
>>> ds = sa.read_dataset()          # the bundled synthetic sample

Importing the package is cheap: every public name is loaded from its submodule on first use
(module ``__getattr__``, PEP 562), so ``import salesanalytics`` does not pull in pandas, scipy,
scikit-learn or matplotlib until something needs them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types

# Public name -> submodule that defines it (relative to this package), loaded on first access.
# HOW TO ADD A NAME: append one line `"name": "submodule",` below (keep the submodule path
# relative, e.g. "funnel" or "calibration.report") AND append "name" to __all__ further down.
# Nothing is imported here; `from salesanalytics import name`, `sa.name` and `dir(sa)` all go
# through this map. A name equal to a submodule's name (like `clean`) resolves to the object,
# not the submodule, exactly as the former eager `from .clean import clean` did.
_LAZY: dict[str, str] = {
    "EngineDataset": "engine",
    "View": "view",
    "check_rollup": "performance",
    "customer_activity": "performance",
    "customer_tiers": "scoring",
    "decompose_target": "performance",
    "growth": "performance",
    "plot_attainment": "performance",
    "plot_growth": "performance",
    "plot_product_share": "performance",
    "plot_tier_migration": "performance",
    "product_mix": "performance",
    "target_sheet": "performance",
    "tier_migration": "performance",
    "underperformers": "performance",
    "write_review": "performance",
    "forecast_period": "forecast",
    "forecast_deals": "forecast",
    "forecast_review": "forecast",
    "pipeline_waterfall": "forecast",
    "plot_forecast_fan": "forecast.plots",
    "plot_waterfall": "forecast.plots",
    "plot_accuracy_by_rep": "forecast.plots",
    "GUIDE_CONVENTION": "funnel",
    "assignment_audit": "funnel",
    "cadence_check": "funnel",
    "first_contact_check": "funnel",
    "guide_stage_summary": "funnel",
    "lead_funnel": "funnel",
    "lead_status_summary": "funnel",
    "load_lead_rules": "funnel",
    "sla_breaches": "funnel",
    "label": "report",
    "label_columns": "report",
    "show": "report",
    "stage_labels": "report",
    "use_fonts": "report",
    "dataset_as_of": "report.summary",
    "deal_conversion": "report.summary",
    "save_headlines": "report.summary",
    "write_summary": "report.summary",
    "has_tables": "overview",
    "run_warnings": "overview",
    "ParamsError": "params",
    "parse_iso_date": "params",
    "refuse_runner_format": "runner",
    "load_column_map": "clean.mapping",
    "CalibrationReport": "calibration",
    "ConfiguredProbabilities": "calibration",
    "EmpiricalStageRate": "calibration",
    "GlobalWinRate": "calibration",
    "NaiveBayesOdoo": "calibration",
    "StageProbabilityModel": "calibration",
    "calibration_report": "calibration",
    "CleanResult": "clean",
    "clean": "clean",
    "Dataset": "dataset",
    "read_dataset": "dataset",
    "save_figure": "export",
    "save_table": "export",
    "spreadsheet_safe": "export",
    "write_csv": "export",
    "write_excel": "export",
    "backtest_forecast": "forecast",
    "backtest_summary": "forecast",
    "deal_forecast": "forecast",
    "forecast_bookings": "forecast",
    "COUNTING_RULES": "funnel",
    "conversion_by": "funnel",
    "find_bottlenecks": "funnel",
    "followup_compliance": "funnel",
    "funnel_summary": "funnel",
    "rep_dwell": "funnel",
    "response_sla": "funnel",
    "stage_dwell": "funnel",
    "stage_transitions": "funnel",
    "stale_deals": "funnel",
    "read_table": "io",
    "date_ranges": "overview",
    "monthly_counts": "overview",
    "stage_distribution": "overview",
    "attainment": "performance",
    "bookings": "performance",
    "period_pacing": "performance",
    "plot_backtest": "plots",
    "plot_bottlenecks": "plots",
    "plot_conversion_heatmap": "plots",
    "plot_dwell_by_rep": "plots",
    "plot_funnel": "plots",
    "plot_monthly": "plots",
    "plot_pacing": "plots",
    "plot_quality": "plots",
    "plot_reliability": "plots",
    "plot_stage_distribution": "plots",
    "format_notes": "quality",
    "quality_impact": "quality",
    "quality_summary": "quality",
    "rejected_examples": "quality",
    "TABLES": "schema",
    "DataContractError": "schema",
    "LeakageError": "scoring",
    "Scorecard": "scoring",
    "capacity_cutoff": "scoring",
    "customer_features": "scoring",
    "evaluate_scorecard": "scoring",
    "fit_scorecard": "scoring",
    "followup_plan": "scoring",
    "pipeline_as_of": "snapshot",
    "StageConfig": "stages",
    "load_stages": "stages",
    "cohort_funnel": "funnel",
    "period_funnel": "funnel",
}

# Subpackages / modules reachable as attributes (``sa.sample.generate_pipeline``), as before.
_SUBMODULES = frozenset(
    m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("salesanalytics")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+source"


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name == "__version__":
        value = _version()
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


class _Package(types.ModuleType):
    """Keeps a public function bound when the import system binds its same-named submodule.

    Importing ``salesanalytics.clean`` (the subpackage) sets the attribute ``clean`` on this
    package; the public name ``clean`` is the function, as it was with eager imports.
    """

    def __setattr__(self, name: str, value) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _LAZY.get(name) == name
            and value.__name__ == f"{__name__}.{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "load_column_map",
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
    "has_tables",
    "run_warnings",
    "ParamsError",
    "parse_iso_date",
    "refuse_runner_format",
    "GUIDE_CONVENTION",
    "assignment_audit",
    "cadence_check",
    "first_contact_check",
    "guide_stage_summary",
    "lead_funnel",
    "lead_status_summary",
    "load_lead_rules",
    "sla_breaches",
    "label",
    "label_columns",
    "show",
    "stage_labels",
    "use_fonts",
    "dataset_as_of",
    "deal_conversion",
    "save_headlines",
    "write_summary",
    "forecast_period",
    "forecast_deals",
    "forecast_review",
    "pipeline_waterfall",
    "plot_forecast_fan",
    "plot_waterfall",
    "plot_accuracy_by_rep",
    "check_rollup",
    "customer_activity",
    "customer_tiers",
    "decompose_target",
    "growth",
    "plot_attainment",
    "plot_growth",
    "plot_product_share",
    "plot_tier_migration",
    "product_mix",
    "target_sheet",
    "tier_migration",
    "underperformers",
    "write_review",
    "View",
    "EngineDataset",
    "cohort_funnel",
    "period_funnel",
]
