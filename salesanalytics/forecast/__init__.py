"""Pipeline and period forecasts, their backtest, the monthly review and the waterfall.

Modules: ``period`` (:func:`forecast_period`), ``bookings`` (open-pipeline forecasts),
``backtest``, ``review``, ``waterfall``, ``plots``.

>>> from salesanalytics.forecast import METHODS, forecast_accuracy
>>> METHODS, forecast_accuracy([110.0], [100.0]).tolist()
(('model', 'weighted', 'funnel'), [0.9])
"""

from .backtest import backtest_forecast, backtest_summary, forecast_accuracy
from .bookings import _timed as _timed
from .bookings import deal_forecast, forecast_bookings, won_deals
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
