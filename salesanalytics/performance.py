"""Targets and performance: bookings per period, attainment, and pacing of the open period.

Bookings are won deals counted in the period they were won, at their close amount (the
pipeline amount where no close amount is recorded). Targets come from the ``targets`` table;
monthly targets add up to quarters and years.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .dataset import Dataset
from .forecast import _timed, forecast_bookings, won_deals
from .funnel._common import as_list
from .funnel._common import as_of_ts as end_of
from .funnel.transitions import stage_transitions
from .snapshot import pipeline_as_of

__all__ = ["attainment", "bookings", "period_pacing"]

FREQS = ("M", "Q", "Y")


def bookings(
    dataset: Dataset, *, period: str = "M", by: str | Sequence[str] = "owner", as_of=None
) -> pd.DataFrame:
    """Won deals and their amounts per period (and ``by``), up to ``as_of``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> b = sa.bookings(sa.read_dataset(), period="Q", as_of="2026-06-30")
    >>> list(b.columns)
    ['period', 'owner', 'won_deals', 'bookings']
    """
    freq = _freq(period)
    by = as_list(by)
    t = stage_transitions(dataset, as_of=as_of)
    won = won_deals(dataset, t)
    b = won.assign(period=won["won_at"].dt.to_period(freq).astype(str))
    out = (
        b.groupby(["period", *by], dropna=False, sort=True)
        .agg(won_deals=("opportunity_id", "size"), bookings=("booked", "sum"))
        .reset_index()
    )
    out.attrs = {"as_of": t.attrs["as_of"], "period": freq}
    return out


def attainment(
    dataset: Dataset, *, period: str = "M", by: str | Sequence[str] = "owner", as_of=None
) -> pd.DataFrame:
    """Bookings against target per period and ``by`` (owner, team, region...).

    Periods after ``as_of`` are left out; the period holding ``as_of`` is marked
    ``complete=False`` (see :func:`period_pacing` for where it is heading).

    Returns
    -------
    DataFrame
        ``period``, the ``by`` columns, ``target``, ``won_deals``, ``bookings``,
        ``attainment`` (bookings / target; NaN without a target), ``gap`` (target -
        bookings) and ``complete``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> a = sa.attainment(sa.read_dataset(), period="Q", by="team", as_of="2026-06-30")
    >>> bool((a["target"] > 0).all())
    True
    """
    freq = _freq(period)
    by = as_list(by)
    targets = _targets(dataset, freq, by)
    b = bookings(dataset, period=freq, by=by, as_of=as_of)
    end = end_of(b.attrs["as_of"])
    now = str(end.to_period(freq))
    out = targets.merge(b, on=["period", *by], how="outer")
    out = out[out["period"] <= now].copy()
    out["won_deals"] = out["won_deals"].fillna(0).astype(int)
    out["bookings"] = out["bookings"].fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["attainment"] = np.where(out["target"] > 0, out["bookings"] / out["target"], np.nan)
    out["gap"] = out["target"] - out["bookings"]
    out["complete"] = out["period"] < now
    out = out.sort_values(["period", *by], kind="mergesort").reset_index(drop=True)
    out.attrs = {"as_of": str(end.date()), "period": freq}
    return out[["period", *by, "target", "won_deals", "bookings", "attainment", "gap", "complete"]]


def period_pacing(
    dataset: Dataset,
    model=None,
    *,
    as_of,
    period: str = "Q",
    by: str = "owner",
    interval: float = 0.8,
    n_sims: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Where the period holding ``as_of`` is heading, per ``by`` and in total.

    ``projected`` = booked so far + the expected bookings of the deals open on ``as_of``
    that are won by the period's end (from ``model``, a fitted or unfitted
    :class:`~salesanalytics.StageProbabilityModel`, default one fitted at ``as_of``; or
    stage probabilities or a model without timing, which count every open deal as if it
    closed in the period), with an interval from :func:`forecast_bookings`. Deals not yet created are not counted, so
    the projection is a floor when new deals still close within the period. ``run_rate``
    is the naive alternative: booked so far / share of the period elapsed.

    Returns
    -------
    DataFrame
        ``by``, ``target``, ``booked``, ``elapsed`` (share of the period), ``run_rate``,
        ``open_deals``, ``expected_from_pipeline``, ``projected`` with ``low`` / ``high``,
        ``projected_attainment`` and ``status``: ``on track`` (low >= target), ``at risk``
        (the interval holds the target) or ``behind`` (high < target).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> p = sa.period_pacing(sa.read_dataset(), as_of="2026-05-15", period="Q")
    >>> p.attrs["period"], p["status"].iloc[-1]
    ('2026Q2', 'at risk')
    """
    from .calibration import StageProbabilityModel

    freq = _freq(period)
    end = end_of(as_of)
    current = end.to_period(freq)
    period_end = current.end_time
    days_left = max((period_end - end).total_seconds() / 86400, 0.0)
    elapsed = (end - current.start_time) / (period_end - current.start_time)
    a = attainment(dataset, period=freq, by=by, as_of=as_of)
    a = a[a["period"] == str(current)].set_index(by)
    model = model if model is not None else StageProbabilityModel()
    if hasattr(model, "fit") and not hasattr(model, "table_"):
        model = copy.deepcopy(model).fit(dataset, as_of=as_of)
    deals = pipeline_as_of(dataset, as_of)
    f = forecast_bookings(
        deals,
        model,
        horizon_days=days_left if _timed(model) else None,
        by=by,
        interval=interval,
        n_sims=n_sims,
        seed=seed,
    ).set_index(by)
    keys = sorted(set(a.index.dropna()) | (set(f.index) - {"(total)"}))
    rows = []
    for key in [*keys, "(total)"]:
        if key == "(total)":
            target, booked = a["target"].sum(), a["bookings"].sum()
        else:
            target = a["target"].get(key, np.nan)
            booked = a["bookings"].get(key, 0.0)
        fk = f.loc[key] if key in f.index else None
        exp = float(fk["expected"]) if fk is not None else 0.0
        low = booked + (float(fk["low"]) if fk is not None else 0.0)
        high = booked + (float(fk["high"]) if fk is not None else 0.0)
        projected = booked + exp
        rows.append(
            {
                by: key,
                "target": target,
                "booked": booked,
                "elapsed": elapsed,
                "run_rate": booked / elapsed if elapsed > 0 else np.nan,
                "open_deals": int(fk["deals"]) if fk is not None else 0,
                "expected_from_pipeline": exp,
                "projected": projected,
                "low": low,
                "high": high,
                "projected_attainment": projected / target if target > 0 else np.nan,
                "status": _status(target, low, high),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs = {"period": str(current), "as_of": str(end.date()), "days_left": days_left}
    return out


def _status(target: float, low: float, high: float) -> str:
    if not target > 0:
        return "no target"
    if low >= target:
        return "on track"
    return "behind" if high < target else "at risk"


def _freq(period: str) -> str:
    key = str(period).upper()[:1]
    if key not in FREQS:
        raise ValueError(f"period must be M, Q or Y, got {period!r}")
    return key


def _targets(dataset: Dataset, freq: str, by: list[str]) -> pd.DataFrame:
    t = dataset.targets
    if t is None or t.empty:
        raise ValueError("no targets table: attainment needs targets (period, target_amount)")
    missing = [b for b in by if b not in t]
    if missing:
        raise ValueError(f"targets have no column(s) {missing}; they have {list(t.columns)}")
    periods = pd.PeriodIndex([pd.Period(p) for p in t["period"].astype(str)])
    if freq == "M" and (periods.freqstr != "M"):
        raise ValueError("targets are not monthly: choose period='Q' or 'Y'")
    t = t.assign(period=periods.asfreq(freq).astype(str))
    return (
        t.groupby(["period", *by], dropna=False, sort=True)["target_amount"]
        .sum()
        .rename("target")
        .reset_index()
    )
