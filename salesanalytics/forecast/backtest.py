"""Backtest of period forecasts: every method on past dates against what was booked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_list
from ..funnel.transitions import stage_transitions
from . import bookings as _bookings
from ._window import window
from .period import METHODS, _segment_key, forecast_period

__all__ = ["backtest_forecast", "backtest_summary", "forecast_accuracy"]


def backtest_forecast(
    dataset: Dataset,
    as_of_dates: Sequence,
    horizon_days="M",
    models: Mapping[str, object] | None = None,
    *,
    methods: Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    interval: float = 0.8,
    adjustment: float = 0.0,
    n_sims: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Forecast on past dates with what was known then, and compare with what was booked.

    With a period horizon (``"M"``, ``"Q"``) or ``methods``: each date and method runs
    :func:`forecast_period` (nothing after the date is used: the data are cut at it) and the
    actual is everything booked in the period, including what was already booked. With a
    number of days and no ``methods``: the open-pipeline backtest of
    :func:`forecast_bookings` (``models``), as before.

    Parameters
    ----------
    horizon_days
        ``"M"``, ``"Q"`` or days.
    methods
        Methods of :func:`forecast_period` (default all three with a period horizon).
    by
        Segment column(s): rows per segment as well as ``(total)``.

    Returns
    -------
    DataFrame
        Per date, method (and segment): ``period``, ``expected``, ``p10``, ``p50``, ``p90``,
        ``low``, ``high``, ``already_won``, ``from_open``, ``from_new``, ``actual``,
        ``error`` (expected - actual), ``covered`` (``low`` <= actual <= ``high``) and
        ``accuracy`` = max(0, 1 - |actual - expected| / actual). Summaries:
        :func:`backtest_summary`.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> bt = sa.backtest_forecast(sa.read_dataset(), ["2025-12-31"], "M", n_sims=1000)
    >>> list(bt["method"])
    ['model', 'weighted', 'funnel']
    """
    if methods is None and not isinstance(horizon_days, str):
        return _bookings.backtest_forecast(
            dataset, as_of_dates, horizon_days, models, interval=interval, n_sims=n_sims, seed=seed
        )
    methods = list(methods) if methods is not None else list(METHODS)
    unknown = set(methods) - set(METHODS) - set(models or {})
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}: use {METHODS} or models")
    by = as_list(by)
    t_all = stage_transitions(dataset)
    won = _bookings.won_deals(dataset, t_all)
    rows = []
    for as_of in sorted(pd.Timestamp(a) for a in as_of_dates):
        w = window(as_of, horizon_days)
        got = won[(won["won_at"] >= w.start) & (won["won_at"] <= w.stop)]
        key = _segment_key(got, by)
        for name in methods:
            model = (models or {}).get(name)
            f = forecast_period(
                dataset,
                as_of,
                horizon_days,
                by=by or None,
                method="model" if model is not None else name,
                model=model,
                interval=interval,
                adjustment=adjustment,
                n_sims=n_sims,
                seed=seed,
            ).assign(method=name)
            if by:
                seg = _segment_key(f, by)
                actual = [
                    float(got["booked"].sum())
                    if str(s) == "(total)" or s == ("(total)",) * len(by)
                    else float(got.loc[key == s, "booked"].sum())
                    for s in seg
                ]
            else:
                actual = [float(got["booked"].sum())]
            f.insert(0, "as_of", w.as_of.date().isoformat())
            rows.append(f.assign(actual=actual))
    out = pd.concat(rows, ignore_index=True)
    out["error"] = out["expected"] - out["actual"]
    out["covered"] = (out["low"] <= out["actual"]) & (out["actual"] <= out["high"])
    out["accuracy"] = forecast_accuracy(out["expected"], out["actual"])
    out.attrs = {
        "horizon": horizon_days,
        "interval": interval,
        "adjustment": adjustment,
        "methods": methods,
        "by": by,
        "n_sims": n_sims,
        "seed": seed,
    }
    return out


def forecast_accuracy(expected, actual) -> np.ndarray:
    """max(0, 1 - |actual - expected| / actual); NaN where nothing was booked.

    >>> forecast_accuracy([90.0, 300.0], [100.0, 100.0]).tolist()
    [0.9, 0.0]
    """
    e, a = np.asarray(expected, float), np.asarray(actual, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, np.maximum(0.0, 1 - np.abs(a - e) / a), np.nan)


def backtest_summary(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per method (and segment): dates, WAPE, bias, coverage and mean accuracy.

    ``wape`` = sum |expected - actual| / sum actual; ``bias`` = sum (expected - actual) /
    sum actual; ``coverage`` = share of dates whose actual fell inside the interval. A
    backtest of :func:`forecast_bookings` (``model`` column) gets its former summary.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"method": ["m", "m"], "as_of": ["a", "b"], "expected": [90.0, 120.0],
    ...                   "actual": [100.0, 100.0], "covered": [True, False]})
    >>> s = backtest_summary(b.assign(error=b["expected"] - b["actual"], accuracy=[0.9, 0.8]))
    >>> s.loc["m", ["wape", "bias", "coverage"]].round(3).tolist()
    [0.15, 0.05, 0.5]
    """
    if "method" not in backtest:
        return _bookings.backtest_summary(backtest)
    by = [c for c in backtest.attrs.get("by", []) if c in backtest]
    keys = ["method", *by]
    b = backtest.assign(abs_error=backtest["error"].abs())
    g = b.groupby(keys, sort=False)
    out = g.agg(
        dates=("as_of", "size"),
        actual=("actual", "sum"),
        abs_error=("abs_error", "sum"),
        error=("error", "sum"),
        coverage=("covered", "mean"),
        covered=("covered", "sum"),
        accuracy=("accuracy", "mean"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["wape"] = out["abs_error"] / out["actual"]
        out["bias"] = out["error"] / out["actual"]
    out = out[["dates", "wape", "bias", "coverage", "covered", "accuracy", "actual"]]
    out.attrs = dict(backtest.attrs)
    return out
