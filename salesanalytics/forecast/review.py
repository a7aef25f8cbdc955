"""Monthly accuracy review: forecast vs actual by deal and by rep, with a reason per deal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel.transitions import stage_transitions
from .bookings import won_deals

__all__ = ["forecast_review"]

REASONS = (
    "on forecast",
    "slipped",
    "pulled in",
    "lost",
    "amount changed",
    "not in the forecast",
    "won, forecast low",
)


def forecast_review(
    dataset: Dataset, period, forecast: pd.DataFrame, *, threshold: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """After ``period`` closed: each deal's forecast vs what it booked, and the same by rep.

    A deal is flagged when |actual - forecast| > ``threshold`` x its forecast ([000]: 20%),
    or when it booked without a forecast. Reasons: ``lost`` (lost by the period end),
    ``slipped`` (forecast, not won in the period: still open or won later), ``pulled in``
    (won in the period though its expected close date was later), ``amount changed``
    (won at an amount off the forecast amount by more than ``threshold``), ``not in the
    forecast`` (won in the period but not in the forecast, e.g. created later), ``won,
    forecast low`` (won at the forecast amount with a low probability), ``on forecast``.

    Parameters
    ----------
    period
        ``"2025-03"``, ``"2025Q1"`` or a ``pandas.Period``.
    forecast
        Per deal: ``opportunity_id``, ``expected`` and optionally ``owner``, ``amount`` /
        ``forecast_amount`` and ``expected_close_date``, e.g. :func:`forecast_deals`.

    Returns
    -------
    (deals, reps)
        ``deals``: ``opportunity_id``, ``owner``, ``forecast``, ``actual``, ``deviation``
        ((actual - forecast) / forecast), ``flagged``, ``reason``. ``reps``: per owner the
        sums, ``deviation``, ``flagged`` (rep off by more than ``threshold``) and
        ``flagged_deals``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> ds = sa.read_dataset()
    >>> f = sa.forecast_deals(ds, "2026-02-28", "M", method="weighted")
    >>> deals, reps = sa.forecast_review(ds, "2026-03", f)
    >>> set(deals["reason"]) <= set(sa.forecast.review.REASONS)
    True
    """
    p = period if isinstance(period, pd.Period) else pd.Period(str(period))
    start, stop = p.start_time, p.end_time.floor("us")
    t = stage_transitions(dataset)
    won = won_deals(dataset, t).drop_duplicates("opportunity_id").set_index("opportunity_id")
    last = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")
    f = forecast.drop_duplicates("opportunity_id").set_index("opportunity_id")
    in_period = won.index[(won["won_at"] >= start) & (won["won_at"] <= stop)]
    ids = pd.Index(sorted(set(f.index) | set(in_period)))
    fc = pd.to_numeric(f["expected"], errors="coerce").reindex(ids).fillna(0.0)
    actual = won["booked"].reindex(ids).where(ids.isin(in_period), 0.0).fillna(0.0)
    amount_col = "forecast_amount" if "forecast_amount" in f else "amount"
    f_amount = pd.to_numeric(f.get(amount_col), errors="coerce").reindex(ids)
    owner = f["owner"].reindex(ids) if "owner" in f else pd.Series(np.nan, index=ids, dtype=object)
    if "owner" in last:
        owner = owner.fillna(last["owner"].reindex(ids))
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(fc > 0, (actual - fc) / fc, np.where(actual > 0, np.inf, 0.0))
    dev = pd.Series(dev, index=ids)
    flagged = dev.abs() > threshold
    outcome = last["outcome"].reindex(ids)
    lost_by_end = (outcome == "lost") & (last["exited_at"].reindex(ids) <= stop)
    won_here = ids.isin(in_period)
    due = (
        pd.to_datetime(f["expected_close_date"], errors="coerce").reindex(ids)
        if "expected_close_date" in f
        else pd.Series(pd.NaT, index=ids)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        amount_off = (actual - f_amount).abs() > threshold * f_amount
    reason = np.select(
        [
            ~flagged,
            ~ids.isin(f.index),
            lost_by_end.to_numpy(),
            ~won_here,
            (amount_off.fillna(False)).to_numpy(bool),
            (due > stop).to_numpy(bool),
        ],
        ["on forecast", "not in the forecast", "lost", "slipped", "amount changed", "pulled in"],
        default="won, forecast low",
    )
    deals = pd.DataFrame(
        {
            "opportunity_id": ids,
            "owner": owner.to_numpy(),
            "forecast": fc.to_numpy(),
            "actual": actual.to_numpy(),
            "deviation": dev.to_numpy(),
            "flagged": flagged.to_numpy(),
            "reason": reason,
        }
    )
    reps = (
        deals.assign(owner=deals["owner"].fillna("(missing)"))
        .groupby("owner", sort=True)
        .agg(
            deals=("opportunity_id", "size"),
            forecast=("forecast", "sum"),
            actual=("actual", "sum"),
            flagged_deals=("flagged", "sum"),
        )
        .reset_index()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        reps["deviation"] = np.where(
            reps["forecast"] > 0, (reps["actual"] - reps["forecast"]) / reps["forecast"], np.nan
        )
    reps["accuracy"] = np.where(
        reps["actual"] > 0,
        np.maximum(0.0, 1 - (reps["actual"] - reps["forecast"]).abs() / reps["actual"]),
        np.nan,
    )
    reps["flagged"] = ~(reps["deviation"].abs() <= threshold)
    attrs = {"period": str(p), "threshold": threshold}
    deals.attrs, reps.attrs = dict(attrs), dict(attrs)
    return deals, reps
