"""Performance over time: values per period with MoM, YoY, trend and seasonality [003]."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ._base import as_list, end_of, freq_of, won

__all__ = ["growth"]

MEASURES = ("bookings", "deals", "avg_deal")


def growth(
    dataset: Dataset,
    *,
    period: str = "M",
    by: str | Sequence[str] | None = None,
    measure: str = "bookings",
    as_of=None,
) -> pd.DataFrame:
    """A measure per period (and ``by``), its MoM and YoY change, trend and seasonality.

    Every period from the first won deal to the one holding ``as_of`` is listed (zero when
    nothing was won). ``mom`` is the change from the previous period, ``yoy`` from the
    same period a year earlier (NaN when that is before the first period or zero).
    Where at least two full years of periods exist, ``trend`` and ``seasonal`` come from
    statsmodels' STL (robust, period 12 or 4); otherwise they are NaN and the note says so.
    The period holding ``as_of`` is flagged ``complete=False`` and kept out of the fit.

    Returns
    -------
    DataFrame
        ``period``, ``by`` columns, ``value``, ``mom``, ``yoy``, ``trend``, ``seasonal``,
        ``complete``; ``attrs["measure"]`` and ``attrs["decomposition"]``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> g = sa.growth(sa.read_dataset(), period="M", as_of="2026-06-30")
    >>> len(g), g.attrs["decomposition"]  # the sample holds 23 months: no seasonal fit
    (23, 'none: fewer than two full years of periods')
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    freq = freq_of(period)
    by = as_list(by)
    w = won(dataset, as_of=as_of)
    end = end_of(w.attrs["as_of"])
    if w.empty:
        raise ValueError("no won deals up to as_of")
    w = w.assign(period=w["won_at"].dt.to_period(freq))
    periods = pd.period_range(w["period"].min(), end.to_period(freq), freq=freq)
    groups = [()] if not by else sorted(map(tuple, w[by].astype(str).drop_duplicates().to_numpy()))
    per_year = {"M": 12, "Q": 4, "Y": 1}[freq]
    parts, note = [], "none"
    for key in groups:
        sel = pd.Series(True, index=w.index)
        for col, v in zip(by, key):
            sel &= (w[col].astype("string") == v).fillna(False).astype(bool)
        g = w[sel].groupby("period")["booked"].agg(["sum", "size"]).reindex(periods)
        s = g["sum"].astype(float).fillna(0.0)
        n = g["size"].astype(float).fillna(0.0)
        value = {"bookings": s, "deals": n, "avg_deal": s / n.where(n > 0)}[measure]
        value = value.astype(float)
        d = pd.DataFrame({"period": periods.astype(str), "value": value.to_numpy(dtype=float)})
        for col, v in zip(by, key):
            d[col] = v
        prev = value.shift(1).to_numpy(dtype=float)
        prior = value.shift(per_year).to_numpy(dtype=float)
        value = value.to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            d["mom"] = np.where(prev > 0, value / prev - 1, np.nan)
            d["yoy"] = np.where(prior > 0, value / prior - 1, np.nan)
        d["complete"] = d["period"] < str(end.to_period(freq))
        d["trend"], d["seasonal"] = np.nan, np.nan
        done = d["complete"].to_numpy()
        series = np.nan_to_num(value[done])
        if per_year > 1 and len(series) >= 2 * per_year:
            from statsmodels.tsa.seasonal import STL

            fit = STL(series, period=per_year, robust=True).fit()
            d.loc[done, "trend"] = fit.trend
            d.loc[done, "seasonal"] = fit.seasonal
            note = f"STL, period {per_year}"
        parts.append(d)
    out = pd.concat(parts, ignore_index=True)
    out = out[["period", *by, "value", "mom", "yoy", "trend", "seasonal", "complete"]]
    if note == "none":
        note = "none: fewer than two full years of periods" if per_year > 1 else "none (yearly)"
    out.attrs = {
        "as_of": str(end.date()),
        "period": freq,
        "measure": measure,
        "decomposition": note,
    }
    return out
