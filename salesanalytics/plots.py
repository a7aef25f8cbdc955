"""Drawing only: every function takes a tidy result, draws on ``ax`` and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["plot_stage_distribution", "plot_monthly", "plot_quality"]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def plot_stage_distribution(dist: pd.DataFrame, ax=None, *, value: str = "count"):
    """Horizontal bars of :func:`stage_distribution` in funnel order (open stages darker)."""
    ax = _ax(ax)
    d = dist.iloc[::-1]
    colors = [
        "#1f77b4" if k == "open" else ("#2ca02c" if k == "won" else "#d62728") for k in d["kind"]
    ]
    ax.barh(d["label"], d[value], color=colors)
    ax.set_xlabel(value.replace("_", " "))
    ax.set_title("Opportunities by current stage")
    for y, v in enumerate(d[value]):
        ax.annotate(
            f"{v:,.0f}", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8
        )
    return ax


def plot_monthly(table: pd.DataFrame, ax=None, *, title: str = "Per month", stacked: bool = True):
    """Stacked bars of a :func:`monthly_counts` table (period column first)."""
    ax = _ax(ax)
    t = table.set_index("period")
    bottom = None
    for col in t.columns:
        ax.bar(t.index, t[col], bottom=bottom, label=str(col), width=0.8)
        bottom = t[col] if bottom is None or not stacked else bottom + t[col]
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    if len(t.columns) > 1:
        ax.legend(fontsize=7, ncol=3, frameon=False)
    return ax


def plot_quality(summary: pd.DataFrame, ax=None):
    """Rows per table and action from :func:`quality_summary` (stacked horizontal bars)."""
    ax = _ax(ax)
    if summary.empty:
        ax.text(0.5, 0.5, "no data problems", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    wide = summary.pivot_table(
        index="table", columns="action", values="rows", aggfunc="sum", fill_value=0
    )
    colors = {
        "rejected": "#d62728",
        "set_missing": "#ff7f0e",
        "flagged": "#bcbd22",
        "dropped_duplicate": "#7f7f7f",
        "merged": "#17becf",
    }
    left = None
    for action in wide.columns:
        ax.barh(wide.index, wide[action], left=left, label=action, color=colors.get(action))
        left = wide[action] if left is None else left + wide[action]
    ax.set_xlabel("rows")
    ax.set_title("Data problems by table and action")
    ax.legend(fontsize=7, frameon=False)
    return ax
