"""Bookings per period, attainment with pace, YoY and MoM, roll-up checks, pacing.

Bookings are won deals counted in the period they were won, at their close amount (the
pipeline amount where no close amount is recorded). Targets come from the ``targets`` table;
monthly targets add up to quarters and years.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..forecast import _timed, forecast_bookings
from ..snapshot import pipeline_as_of
from ._base import as_list, data_start, end_of, freq_of, targets, won

__all__ = ["attainment", "bookings", "check_rollup", "period_pacing"]


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
    freq = freq_of(period)
    by = as_list(by)
    w = won(dataset, as_of=as_of)
    b = w.assign(period=w["won_at"].dt.to_period(freq).astype(str))
    out = (
        b.groupby(["period", *by], dropna=False, sort=True)
        .agg(won_deals=("opportunity_id", "size"), bookings=("booked", "sum"))
        .reset_index()
    )
    out.attrs = {"as_of": w.attrs["as_of"], "period": freq}
    return out


def attainment(
    dataset: Dataset,
    *,
    period: str = "M",
    by: str | Sequence[str] = "owner",
    as_of=None,
    pace: str = "linear",
    lag_threshold: float = 0.2,
    holidays: Sequence[str] = (),
) -> pd.DataFrame:
    """Bookings against target per period and ``by`` (owner, team, region...), with pace.

    Periods after ``as_of`` are left out; the period holding ``as_of`` is marked
    ``complete=False`` (unless ``as_of`` is its last day). Its ``expected_to_date`` is the share of the target due by
    ``as_of``: ``pace="linear"`` by elapsed working days (Monday to Friday, minus
    ``holidays``; the ``as_of`` day counts as elapsed), ``pace="seasonal"`` by the share of
    the bookings that the same period of earlier years (all reps pooled) had booked by the
    same day (linear when no earlier year is in the data). A finished period is due in full.
    A row is ``lagging`` when it is more than ``lag_threshold`` behind that pace [002]
    (``pace_ratio < 1 - lag_threshold``).

    ``yoy`` compares with the same period a year earlier, ``mom`` with the previous period
    (month, quarter or year); an open period is compared with its prior up to the same day.
    Both are NaN when the prior period lies before the data start or booked nothing.
    Target rows that are totals (a ``by`` value missing or ``总计`` / ``合计`` / ``total``)
    are not summed in: each is checked against the sum of its children and reported in
    ``attrs["total_rows"]``. Rows with a ``metric`` column other than revenue (counts,
    rates) are left to :func:`target_sheet`.

    Returns
    -------
    DataFrame
        ``period``, the ``by`` columns, ``target``, ``won_deals``, ``bookings``,
        ``attainment`` (bookings / target; NaN without a target), ``gap`` (target -
        bookings), ``complete``, ``expected_to_date``, ``pace_ratio`` (bookings /
        expected_to_date), ``lagging``, ``bookings_prior_year``, ``yoy``,
        ``bookings_prior_period`` and ``mom``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> a = sa.attainment(sa.read_dataset(), period="Q", by="team", as_of="2026-06-30")
    >>> bool((a["target"] > 0).all()), a.attrs["pace"]
    (True, 'linear')
    """
    freq = freq_of(period)
    by = as_list(by)
    if pace not in ("linear", "seasonal"):
        raise ValueError(f"pace must be 'linear' or 'seasonal', got {pace!r}")
    if not 0 <= lag_threshold < 1:
        raise ValueError(f"lag_threshold must be in [0, 1), got {lag_threshold!r}")
    tg, totals = targets(dataset, freq, by)
    w = won(dataset, as_of=as_of)
    end = end_of(w.attrs["as_of"])
    current = end.to_period(freq)
    now = str(current)
    w = w.assign(period=w["won_at"].dt.to_period(freq).astype(str))
    b = (
        w.groupby(["period", *by], dropna=False, sort=True)
        .agg(won_deals=("opportunity_id", "size"), bookings=("booked", "sum"))
        .reset_index()
    )
    out = tg.merge(b, on=["period", *by], how="outer")
    out = out[out["period"] <= now].copy()
    out["won_deals"] = out["won_deals"].fillna(0).astype(int)
    out["bookings"] = out["bookings"].fillna(0.0).astype(float)
    out["target"] = out["target"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["attainment"] = np.where(out["target"] > 0, out["bookings"] / out["target"], np.nan)
    out["gap"] = out["target"] - out["bookings"]
    full = bool(end >= current.end_time - pd.Timedelta(microseconds=1))  # as_of = last day
    out["complete"] = (out["period"] < now) | ((out["period"] == now) & full)
    if pace == "linear":
        share, pace_note = _working_day_share(current, end, holidays), "working days"
    else:
        share, pace_note = _seasonal_share(w, current, end, data_start(dataset))
    out["expected_to_date"] = out["target"] * np.where(out["complete"], 1.0, share)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pace_ratio"] = np.where(
            out["expected_to_date"] > 0, out["bookings"] / out["expected_to_date"], np.nan
        )
    out["lagging"] = (out["pace_ratio"] < 1 - lag_threshold).astype(bool)
    start = data_start(dataset)
    per_year = {"M": 12, "Q": 4, "Y": 1}[freq]
    for name, prior_col, lag in (
        ("yoy", "bookings_prior_year", per_year),
        ("mom", "bookings_prior_period", 1),
    ):
        out[prior_col] = _prior(w, out, by, freq, lag, None if full else current, end, start)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(out[prior_col] > 0, out["bookings"] / out[prior_col] - 1, np.nan)
    out = out.sort_values(["period", *by], kind="mergesort").reset_index(drop=True)
    cols = [
        "period",
        *by,
        "target",
        "won_deals",
        "bookings",
        "attainment",
        "gap",
        "complete",
        "expected_to_date",
        "pace_ratio",
        "lagging",
        "bookings_prior_year",
        "yoy",
        "bookings_prior_period",
        "mom",
    ]
    out = out[cols]
    out.attrs = {
        "as_of": str(end.date()),
        "period": freq,
        "by": by,
        "pace": pace,
        "pace_basis": pace_note,
        "share_due": float(share),
        "lag_threshold": lag_threshold,
        "rule": f"lagging = more than {lag_threshold:.0%} behind the pace expected by as_of [002]",
        "total_rows": totals.to_dict("records"),
        "total_rows_consistent": bool(totals["consistent"].all()) if len(totals) else True,
    }
    return out


def check_rollup(
    child: pd.DataFrame,
    parent: pd.DataFrame,
    *,
    on: str | Sequence[str],
    columns: Sequence[str] = ("target", "bookings", "won_deals"),
) -> pd.DataFrame:
    """Children summed per ``on`` against the parent table: every mismatch reported.

    ``child`` and ``parent`` are :func:`attainment` results at two levels (e.g. by
    ``["team", "owner"]`` and by ``"team"``); ``on`` names the parent's key columns.

    Returns
    -------
    DataFrame
        One row per parent key and column: ``column``, ``parent``, ``children_sum``,
        ``difference`` and ``consistent``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> ds = sa.read_dataset()
    >>> c = sa.attainment(ds, period="Q", by=["team", "owner"], as_of="2026-06-30")
    >>> p = sa.attainment(ds, period="Q", by="team", as_of="2026-06-30")
    >>> bool(sa.check_rollup(c, p, on=["period", "team"])["consistent"].all())
    True
    """
    on = as_list(on)
    sums = child.groupby(on, dropna=False, sort=True)[list(columns)].sum(min_count=1)
    par = parent.set_index(on)[list(columns)]
    rows = []
    for key in sorted(set(sums.index) | set(par.index), key=str):
        for col in columns:
            p = float(par[col].get(key, np.nan)) if key in par.index else np.nan
            c = float(sums[col].get(key, np.nan)) if key in sums.index else np.nan
            rows.append(
                {
                    **dict(zip(on, key if isinstance(key, tuple) else (key,))),
                    "column": col,
                    "parent": p,
                    "children_sum": c,
                    "difference": p - c,
                    "consistent": bool(np.isclose(p, c, equal_nan=True)),
                }
            )
    return pd.DataFrame(
        rows, columns=[*on, "column", "parent", "children_sum", "difference", "consistent"]
    )


def _working_day_share(current: pd.Period, end: pd.Timestamp, holidays) -> float:
    first = current.start_time.date()
    last = current.end_time.date() + pd.Timedelta(days=1)
    upto = min(end.normalize().date() + pd.Timedelta(days=1), last)
    hol = [pd.Timestamp(h).date() for h in holidays]
    total = np.busday_count(first, last, holidays=hol)
    done = np.busday_count(first, upto, holidays=hol)
    return float(done / total) if total > 0 else 1.0


def _seasonal_share(w, current: pd.Period, end: pd.Timestamp, start) -> tuple[float, str]:
    """Share of the same period's bookings, in earlier years, booked by the same day."""
    per_year = {"M": 12, "Q": 4, "Y": 1}[current.freqstr[0]]
    offset = end - current.start_time
    first = start.to_period(current.freqstr) if start is not None else current
    before = total = 0.0
    years = []
    k = 1
    while (p := current - k * per_year) >= first:
        in_p = w[(w["won_at"] >= p.start_time) & (w["won_at"] <= p.end_time)]
        before += float(in_p.loc[in_p["won_at"] <= p.start_time + offset, "booked"].sum())
        total += float(in_p["booked"].sum())
        years.append(str(p))
        k += 1
    if total <= 0:
        return _working_day_share(current, end, ()), "working days (no earlier year to shape it)"
    return before / total, "seasonal from " + ", ".join(years)


def _prior(w, out, by, freq, lag, current, end, start) -> np.ndarray:
    """Bookings of each row's prior period (up to the same day for the open period)."""
    first = start.to_period(freq) if start is not None else None
    result = np.full(len(out), np.nan)
    for i, (_, r) in enumerate(out.iterrows()):
        p = pd.Period(r["period"], freq=freq)
        prior = p - lag
        if first is None or prior < first:
            continue
        cut = prior.end_time
        if p == current:
            cut = min(cut, prior.start_time + (end - current.start_time))
        sel = (w["won_at"] >= prior.start_time) & (w["won_at"] <= cut)
        for col in by:
            sel &= (w[col].astype("string") == str(r[col])).fillna(False).astype(bool)
        result[i] = float(w.loc[sel, "booked"].sum())
    return result


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
    from ..calibration import StageProbabilityModel

    freq = freq_of(period)
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
