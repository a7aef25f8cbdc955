"""Drawing only: every function takes a tidy result, draws on ``ax`` and returns the Axes."""

from __future__ import annotations

import numpy as np
import pandas as pd

# matplotlib.pyplot is imported inside the functions that need it (import salesanalytics stays
# cheap); matplotlib.ticker is light but follows it.

__all__ = [
    "plot_backtest",
    "plot_pacing",
    "plot_stage_distribution",
    "plot_monthly",
    "plot_quality",
    "plot_funnel",
    "plot_conversion_heatmap",
    "plot_dwell_by_rep",
    "plot_bottlenecks",
]


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

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


def plot_funnel(summary: pd.DataFrame, ax=None, *, stages=None, lang: str = "en"):
    """Funnel bars of a cohort :func:`funnel_summary` (no ``by``): reached per stage, with conversion."""
    ax = _ax(ax)
    d = summary.iloc[::-1]
    labels = (
        d["stage"]
        if stages is None
        else d["stage"].map(stages.to_frame(lang).set_index("stage")["label"])
    )
    widths = d["reached"].to_numpy(float)
    ax.barh(labels, widths, left=(widths.max() - widths) / 2, color="#1f77b4")
    for y, (w, conv) in enumerate(zip(widths, d["conversion"])):
        ax.annotate(
            f"{w:,.0f}  ({conv:.0%} advance)",
            ((widths.max() + w) / 2, y),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, widths.max() * 1.35)
    ax.set_xticks([])
    ax.set_title("Funnel: deals reaching each stage")
    return ax


def plot_conversion_heatmap(summary: pd.DataFrame, by: str, ax=None, *, value: str = "conversion"):
    """Stage x segment heatmap of a cohort :func:`funnel_summary` with ``by``."""
    ax = _ax(ax)
    order = list(dict.fromkeys(summary["stage"]))
    wide = summary.pivot(index=by, columns="stage", values=value)[order]
    im = ax.imshow(wide.to_numpy(float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(order)), order, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(wide.index)), wide.index, fontsize=8)
    for i in range(wide.shape[0]):
        for j in range(wide.shape[1]):
            v = wide.iat[i, j]
            if v == v:
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7)
    ax.figure.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title(f"{value.replace('_', ' ').capitalize()} by stage and {by}")
    return ax


def plot_dwell_by_rep(transitions: pd.DataFrame, stage: str, ax=None, *, by: str = "owner"):
    """Box plot of finished dwell days in one stage, per rep (from :func:`stage_transitions`)."""
    ax = _ax(ax)
    d = transitions[(transitions["stage"] == stage) & ~transitions["censored"]]
    groups = sorted(d[by].dropna().unique())
    ax.boxplot(
        [d.loc[d[by] == g, "dwell_days"] for g in groups],
        orientation="horizontal",
        showfliers=False,
    )
    ax.set_yticks(range(1, len(groups) + 1), groups, fontsize=8)
    ax.set_xlabel("days in stage")
    ax.set_title(f"Dwell in {stage} by {by}")
    return ax


def plot_bottlenecks(bottlenecks: pd.DataFrame, ax=None, *, top: int = 10):
    """Flagged conversion bottlenecks: segment value vs benchmark with its interval."""
    ax = _ax(ax)
    by = bottlenecks.columns[1]
    d = (
        bottlenecks[(bottlenecks["metric"] == "conversion") & bottlenecks["tested"]]
        .head(top)
        .iloc[::-1]
    )
    labels = d["stage"] + " / " + d[by].astype(str)
    y = range(len(d))
    colors = ["#d62728" if f else "#7f7f7f" for f in d["flagged"]]
    ax.errorbar(
        d["value"],
        y,
        xerr=_nonneg([d["value"] - d["value_low"], d["value_high"] - d["value"]]),
        fmt="none",
        ecolor="#555555",
        capsize=2,
    )
    ax.scatter(d["value"], y, color=colors, zorder=3, label="segment")
    ax.scatter(d["benchmark"], y, marker="|", s=200, color="black", label="benchmark")
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("conversion (red: flagged)")
    ax.set_title("Weakest stage conversions vs benchmark")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return ax


def plot_reliability(reliability: pd.DataFrame, ax=None):
    """Reliability curves of :func:`calibration_report` (``report.reliability``): predicted vs observed."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect")
    for name, g in reliability.groupby("model", sort=False):
        line = ax.plot(
            g["mean_predicted"], g["observed"], marker="o", markersize=3, label=str(name)
        )[0]
        ax.fill_between(
            g["mean_predicted"],
            g["observed_low"],
            g["observed_high"],
            color=line.get_color(),
            alpha=0.12,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted win probability")
    ax.set_ylabel("observed win rate")
    ax.set_title("Reliability (out of time)")
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_backtest(backtest: pd.DataFrame, ax=None):
    """Forecast with its interval vs actual bookings per date, from :func:`backtest_forecast`."""
    ax = _ax(ax)
    dates = pd.to_datetime(backtest["as_of"].drop_duplicates())
    for name, g in backtest.groupby("model", sort=False):
        x = pd.to_datetime(g["as_of"])
        line = ax.plot(x, g["expected"], marker="o", markersize=3, label=f"{name} forecast")[0]
        ax.fill_between(x, g["low"], g["high"], color=line.get_color(), alpha=0.15)
    actual = backtest.drop_duplicates("as_of")
    ax.plot(dates, actual["actual"], color="black", marker="s", markersize=3, label="actual")
    h = backtest.attrs.get("horizon_days")
    ax.set_title(f"Bookings of the open pipeline in the next {h:g} days" if h else "Backtest")
    ax.set_ylabel("amount")
    from matplotlib.ticker import StrMethodFormatter

    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_pacing(pacing: pd.DataFrame, ax=None):
    """Per rep (or team): booked and expected share of target, with the projection's interval.

    From :func:`period_pacing`; the dashed line is the target (100%).
    """
    ax = _ax(ax)
    by = pacing.columns[0]
    d = pacing[pacing["target"] > 0].iloc[::-1]
    y = np.arange(len(d))
    booked = d["booked"] / d["target"]
    expected = d["expected_from_pipeline"] / d["target"]
    ax.barh(y, booked, color="#1f77b4", label="booked")
    ax.barh(y, expected, left=booked, color="#aec7e8", label="expected from open deals")
    ax.errorbar(
        d["projected"] / d["target"],
        y,
        xerr=_nonneg(
            [
                (d["projected"] - d["low"]) / d["target"],
                (d["high"] - d["projected"]) / d["target"],
            ]
        ),
        fmt="none",
        ecolor="black",
        capsize=3,
        linewidth=1,
    )
    ax.axvline(1.0, color="#d62728", linestyle="--", linewidth=1, label="target")
    ax.set_yticks(y, d[by].astype(str), fontsize=8)
    from matplotlib.ticker import StrMethodFormatter

    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0%}"))
    ax.set_xlabel("share of target")
    ax.set_title(f"Pacing of {pacing.attrs.get('period', 'the period')}")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return ax


def _nonneg(err):
    """Error-bar lengths for matplotlib: missing -> 0, a bound on the wrong side -> 0."""
    return [np.clip(np.nan_to_num(np.asarray(e, dtype=float)), 0, None) for e in err]
