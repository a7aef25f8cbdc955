"""Persistent under-performance: reps below a share of the team average for N months."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ._base import end_of, won

__all__ = ["underperformers"]


def underperformers(
    dataset: Dataset,
    *,
    months: int = 3,
    threshold: float = 0.8,
    measure: str = "bookings",
    as_of=None,
    team: str | None = None,
    owner: str = "owner",
) -> pd.DataFrame:
    """Reps below ``threshold`` x the team average in each of the last ``months`` months.

    The last ``months`` complete months up to ``as_of`` are compared (the month holding
    ``as_of`` counts only when ``as_of`` is its last day); the team average is the mean
    over every rep known from the won deals, the targets and the reps table (a rep who
    won nothing counts as 0), within each ``team`` value when ``team`` names a column,
    else over all reps. ``measure``: ``"bookings"`` or ``"deals"``. The guides coach a rep (or team)
    20% below average for three months running [001; 009].

    Returns
    -------
    DataFrame
        One row per rep: ``owner``, the team column if any, ``months_below``, ``flagged``,
        ``ratio_<month>`` for each month (value / team average), ``trend`` (the slope of the
        ratio per month, least squares) and ``mean_ratio``; flagged reps first.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> u = sa.underperformers(sa.read_dataset(), as_of="2026-06-30")
    >>> sorted(u.loc[u["flagged"], "owner"])
    ['Chen Wei', 'Fatima Khan']
    """
    if measure not in ("bookings", "deals"):
        raise ValueError(f"measure must be 'bookings' or 'deals', got {measure!r}")
    if months < 1 or not 0 < threshold:
        raise ValueError("months must be >= 1 and threshold > 0")
    end = end_of(as_of, (dataset.opportunities, "closed_at"))
    last = end.to_period("M")
    if end < last.end_time - pd.Timedelta(microseconds=1):
        last = last - 1  # the month holding as_of is not finished
    window = pd.period_range(last - months + 1, last, freq="M")
    w = won(dataset, as_of=window[-1].end_time)
    w = w[w["won_at"] >= window[0].start_time].assign(month=lambda x: x["won_at"].dt.to_period("M"))
    reps = _reps(dataset, w, owner, team)
    value = "booked" if measure == "bookings" else "opportunity_id"
    fn = "sum" if measure == "bookings" else "size"
    table = (
        w.groupby([owner, "month"])[value]
        .agg(fn)
        .unstack("month")
        .reindex(index=reps[owner], columns=window)
        .fillna(0.0)
    )
    table.index = reps.index
    if team:
        avg = table.groupby(reps[team].to_numpy()).transform("mean")
    else:
        avg = pd.DataFrame(
            np.tile(table.mean().to_numpy(), (len(table), 1)),
            index=table.index,
            columns=table.columns,
        )
    ratio = table / avg.where(avg > 0)
    below = ratio < threshold
    out = reps.copy()
    for m in window:
        out[f"ratio_{m}"] = ratio[m].to_numpy()
    out["months_below"] = below.sum(axis=1).astype(int).to_numpy()
    out["flagged"] = out["months_below"] == months
    x = np.arange(months, dtype=float)
    r = ratio.to_numpy(dtype=float)
    out["trend"] = (
        np.nan
        if months < 2
        else ((r - r.mean(axis=1, keepdims=True)) @ (x - x.mean())) / ((x - x.mean()) ** 2).sum()
    )
    out["mean_ratio"] = r.mean(axis=1)
    out = out.sort_values(["flagged", "mean_ratio"], ascending=[False, True], kind="mergesort")
    out = out.reset_index(drop=True)
    out.attrs = {
        "as_of": str(end.date()),
        "months": [str(m) for m in window],
        "threshold": threshold,
        "measure": measure,
        "team": team,
        "rule": f"below {threshold:.0%} of the team average in each of the last "
        f"{months} months [001]",
    }
    return out


def _reps(dataset, w, owner, team) -> pd.DataFrame:
    cols = [owner, team] if team else [owner]
    frames = [w[cols]] if all(c in w for c in cols) else []
    for t in (dataset.targets, getattr(dataset, "reps", None)):
        if t is not None and all(c in t for c in cols):
            frames.append(t[cols])
    if not frames:
        raise ValueError(f"no {cols} columns on won deals or targets")
    reps = pd.concat(frames, ignore_index=True).dropna(subset=[owner]).astype("string")
    return reps.drop_duplicates(owner).sort_values(owner).reset_index(drop=True)
