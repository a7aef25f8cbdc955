"""Pipeline and period forecasts, their backtest, the monthly review and the waterfall."""

from .backtest import backtest_forecast, backtest_summary, forecast_accuracy
from .bookings import _timed, deal_forecast, forecast_bookings, won_deals
from .period import METHODS, forecast_deals, forecast_period
from .review import forecast_review
from .waterfall import pipeline_waterfall

__all__ = [
    "METHODS",
    "backtest_forecast",
    "backtest_summary",
    "deal_forecast",
    "forecast_accuracy",
    "forecast_bookings",
    "forecast_deals",
    "forecast_period",
    "won_deals",
    "forecast_review",
    "pipeline_waterfall",
]
