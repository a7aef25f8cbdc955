"""Drawing the review views: every function takes a result, draws on ``ax``, returns it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import StrMethodFormatter

__all__ = ["plot_attainment", "plot_growth", "plot_product_share", "plot_tier_migration"]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def plot_attainment(att: pd.DataFrame, ax=None, *, period: str | None = None):
    """Bars of attainment per rep for one period (default the latest), with the pace due by
    as_of as a marker; lagging reps in red. From :func:`~salesanalytics.attainment`."""
    ax = _ax(ax)
    by = att.attrs.get("by", [att.columns[1]])[0]
    period = period or att["period"].max()
    d = att[(att["period"] == period) & (att["target"] > 0)].iloc[::-1]
    y = np.arange(len(d))
    colors = np.where(d["lagging"], "#d62728", "#1f77b4")
    ax.barh(y, d["attainment"], color=colors)
    ax.scatter(
        d["expected_to_date"] / d["target"],
        y,
        marker="|",
        s=200,
        color="black",
        label="pace due by as_of",
        zorder=3,
    )
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, d[by].astype(str), fontsize=8)
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0%}"))
    ax.set_xlabel("bookings / target (red: lagging)")
    ax.set_title(f"Attainment {period}")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return ax


def plot_growth(g: pd.DataFrame, ax=None):
    """Values per period with the trend, and YoY on a second axis. From :func:`growth`."""
    ax = _ax(ax)
    d = (
        g.groupby("period", sort=True)[["value", "trend", "yoy"]].agg(
            {"value": "sum", "trend": "sum", "yoy": "mean"}
        )
        if len(g.columns) > 7
        else g.set_index("period")
    )
    x = np.arange(len(d))
    ax.bar(x, d["value"], color="#aec7e8", label=g.attrs.get("measure", "value"))
    if d["trend"].notna().any():
        ax.plot(x, d["trend"].where(d["trend"] != 0), color="#1f77b4", label="trend")
    ax2 = ax.twinx()
    ax2.plot(x, d["yoy"], color="#d62728", marker="o", markersize=3, label="YoY")
    ax2.yaxis.set_major_formatter(StrMethodFormatter("{x:.0%}"))
    ax.set_xticks(x, d.index, rotation=90, fontsize=7)
    ax.set_title("Growth with YoY")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax2.legend(fontsize=7, frameon=False, loc="upper right")
    return ax


def plot_product_share(mix: pd.DataFrame, ax=None, *, product: str = "product"):
    """Stacked revenue share per product over periods. From :func:`product_mix`."""
    ax = _ax(ax)
    p = mix.pivot_table(index="period", columns=product, values="revenue", aggfunc="sum")
    share = p.div(p.sum(axis=1), axis=0).fillna(0.0)
    bottom = np.zeros(len(share))
    x = np.arange(len(share))
    for col in share.columns:
        ax.bar(x, share[col], bottom=bottom, label=str(col))
        bottom += share[col].to_numpy()
    ax.set_xticks(x, share.index, rotation=90, fontsize=7)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:.0%}"))
    ax.set_title("Product share of revenue")
    ax.legend(fontsize=7, frameon=False, bbox_to_anchor=(1, 1))
    return ax


def plot_tier_migration(m: pd.DataFrame, ax=None):
    """Customers moving from tier (rows) to tier (columns). From :func:`tier_migration`."""
    ax = _ax(ax)
    t = m.pivot_table(
        index="from_tier",
        columns="to_tier",
        values="customers",
        aggfunc="sum",
        fill_value=0,
        sort=False,
    )
    ax.imshow(t.to_numpy(), cmap="Blues")
    for (i, j), v in np.ndenumerate(t.to_numpy()):
        ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(t.shape[1]), t.columns, fontsize=8)
    ax.set_yticks(range(t.shape[0]), t.index, fontsize=8)
    ax.set_xlabel(f"tier on {m.attrs.get('end', '')}")
    ax.set_ylabel(f"tier on {m.attrs.get('start', '')}")
    ax.set_title(f"Tier migration ({m.attrs.get('scheme', '')})")
    return ax
