"""Forecast plots: fan over time, pipeline waterfall, accuracy by rep. They never compute."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

__all__ = ["plot_forecast_fan", "plot_waterfall", "plot_accuracy_by_rep"]


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    return ax


def plot_forecast_fan(backtest: pd.DataFrame, ax=None, *, method: str = "model"):
    """Expected bookings and the P10-P90 band per period against actuals.

    From :func:`~salesanalytics.backtest_forecast` with a period horizon (``(total)`` rows
    when segmented).
    """
    ax = _ax(ax)
    b = backtest[backtest["method"] == method]
    by = [c for c in backtest.attrs.get("by", []) if c in b]
    if by:
        b = b[b[by[0]] == "(total)"]
    x = np.arange(len(b))
    ax.fill_between(x, b["p10"], b["p90"], color="#1f77b4", alpha=0.2, label="P10-P90")
    ax.plot(x, b["expected"], color="#1f77b4", marker="o", markersize=3, label="expected")
    ax.plot(x, b["actual"], color="black", marker="s", markersize=3, ls="", label="actual")
    ax.set_xticks(x, b["period"].astype(str), rotation=45, fontsize=7)
    ax.set_title(f"Forecast ({method}) vs bookings per period")
    ax.set_ylabel("amount")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_waterfall(waterfall: pd.DataFrame, ax=None):
    """Open pipeline at start, its flows, and the open pipeline at end, from
    :func:`~salesanalytics.pipeline_waterfall` (moves that change no amount are left out)."""
    ax = _ax(ax)
    w = waterfall[waterfall["kind"] != "move"].reset_index(drop=True)
    x = np.arange(len(w))
    level = w["kind"] == "level"
    bottom = np.where(level, 0.0, (w["running"] - w["amount"]).clip(upper=w["running"]))
    height = np.where(level, w["amount"], w["amount"].abs())
    bottom = np.where(~level & (w["amount"] < 0), w["running"], bottom)
    color = np.where(level, "#7f7f7f", np.where(w["amount"] >= 0, "#2ca02c", "#d62728"))
    ax.bar(x, height, bottom=bottom, color=color)
    ax.set_xticks(x, w["step"], rotation=30, fontsize=7, ha="right")
    a = waterfall.attrs
    ax.set_title(f"Pipeline {a.get('start', '')} to {a.get('end', '')}")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    return ax


def plot_accuracy_by_rep(reps: pd.DataFrame, ax=None):
    """Forecast accuracy per rep (max(0, 1 - |actual - forecast| / actual)), flagged reps in
    red, from the ``reps`` table of :func:`~salesanalytics.forecast_review`."""
    ax = _ax(ax)
    r = reps.iloc[::-1]
    y = np.arange(len(r))
    color = np.where(r["flagged"], "#d62728", "#1f77b4")
    ax.barh(y, r["accuracy"].fillna(0), color=color)
    ax.set_yticks(y, r["owner"], fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"Forecast accuracy by rep, {reps.attrs.get('period', '')}")
    return ax
