"""Channels and follow-ups: lead -> opportunity -> won, response SLA, cadence compliance."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..engine.connect import is_engine
from ..view import view_as_of
from ._common import as_list, as_of_ts, wilson

__all__ = [
    "conversion_by",
    "lead_funnel",
    "response_sla",
    "followup_compliance",
    "DEFAULT_SLA_HOURS",
    "DEFAULT_CADENCE_DAYS",
]

DEFAULT_SLA_HOURS = {"A": 2.0, "B": 4.0, "C": 24.0}
DEFAULT_CADENCE_DAYS = {"A": 7.0, "B": 14.0, "C": 30.0}


def conversion_by(
    ds: Dataset | None = None,
    *,
    by: str | list[str] = "channel",
    as_of=None,
    spend: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Lead -> opportunity -> won per segment, with time to convert and cost per win.

    Parameters
    ----------
    by
        Lead column(s), e.g. ``"channel"`` or ``["channel", "grade"]``.
    spend
        Optional table with the ``by`` columns and ``amount`` (marketing spend): adds
        cost_per_lead, cost_per_opportunity and cost_per_win.

    Returns
    -------
    DataFrame
        leads, opportunities, lead_to_opportunity (+ Wilson bounds), median_days_to_convert,
        won, lost, open, win_rate (won / closed, + bounds), lead_to_won, won_amount.
    """
    as_of = view_as_of(ds, as_of)
    if is_engine(ds):  # computed in the engine
        from ..engine import expressions as ex

        return ex.conversion_by(ds, by=by, as_of=as_of, spend=spend)
    leads = ds.leads if leads is None else leads
    opps = ds.opportunities if opportunities is None and ds is not None else opportunities
    if leads is None:
        raise ValueError("conversion_by needs a leads table")
    by = as_list(by)
    t = as_of_ts(as_of, (leads, "created_at"))
    ld = (
        leads[leads["created_at"].isna() | (leads["created_at"] <= t)]
        if "created_at" in leads
        else leads
    )
    ld = ld.assign(
        _conv=ld["converted"].fillna(False).astype(bool)
        if "converted" in ld
        else ld["opportunity_id"].notna()
    )
    if "converted_at" in ld:
        ld = ld.assign(_days=(ld["converted_at"] - ld["created_at"]).dt.total_seconds() / 86400)
    else:
        ld = ld.assign(_days=np.nan)
    if opps is not None and "opportunity_id" in ld:
        o = opps.set_index("opportunity_id")
        ld = ld.assign(
            _status=ld["opportunity_id"].map(o["status"]),
            _won_amount=ld["opportunity_id"].map(o.get("close_amount", o.get("amount"))),
        )
    else:
        ld = ld.assign(_status=pd.NA, _won_amount=np.nan)
    g = ld.groupby(by, dropna=False)
    out = pd.DataFrame(
        {
            "leads": g.size(),
            "opportunities": g["_conv"].sum().astype("int64"),
            "median_days_to_convert": g["_days"].median(),
            "won": g["_status"].agg(lambda s: int((s == "won").sum())),
            "lost": g["_status"].agg(lambda s: int((s == "lost").sum())),
            "open": g["_status"].agg(lambda s: int((s == "open").sum())),
        }
    )
    out["won_amount"] = ld[ld["_status"] == "won"].groupby(by, dropna=False)["_won_amount"].sum()
    return conversion_from_counts(out.reset_index(), by=by, as_of=t, spend=spend)


def conversion_from_counts(
    counts: pd.DataFrame, *, by: list[str], as_of: pd.Timestamp, spend: pd.DataFrame | None
) -> pd.DataFrame:
    """The conversion table from per-segment counts (the finishing step shared by the
    pandas and the engine route).

    ``counts``: the ``by`` columns, leads, opportunities, median_days_to_convert, won, lost,
    open, won_amount (missing: nothing won). Adds the rates with Wilson bounds and, with
    ``spend``, the costs; sorted by ``by``.

    >>> c = pd.DataFrame({"channel": ["web"], "leads": [4], "opportunities": [2],
    ...                   "median_days_to_convert": [3.0], "won": [1], "lost": [1],
    ...                   "open": [0], "won_amount": [100.0]})
    >>> conversion_from_counts(c, by=["channel"], as_of=pd.Timestamp("2026-06-30"),
    ...                        spend=None)[["lead_to_opportunity", "win_rate"]].iloc[0].tolist()
    [0.5, 0.5]
    """
    out = counts[
        [*by, "leads", "opportunities", "median_days_to_convert", "won", "lost", "open"]
    ].copy()
    out["won_amount"] = counts["won_amount"].fillna(0.0).to_numpy()
    for c in ("leads", "opportunities", "won", "lost", "open"):
        out[c] = out[c].astype("int64")
    out["lead_to_opportunity"] = out["opportunities"] / out["leads"]
    out["lead_to_opportunity_low"], out["lead_to_opportunity_high"] = wilson(
        out["opportunities"], out["leads"]
    )
    closed = (out["won"] + out["lost"]).astype(float)
    out["win_rate"] = out["won"] / closed.where(closed > 0)
    out["win_rate_low"], out["win_rate_high"] = wilson(out["won"], closed)
    out["lead_to_won"] = out["won"] / out["leads"]
    if spend is not None:
        s = spend.groupby(by)["amount"].sum().rename("spend").reset_index()
        out = out.merge(s, on=by, how="left")
        out["cost_per_lead"] = out["spend"] / out["leads"]
        out["cost_per_opportunity"] = out["spend"] / out["opportunities"].astype(float).where(
            out["opportunities"] > 0
        )
        out["cost_per_win"] = out["spend"] / out["won"].astype(float).where(out["won"] > 0)
    out = out.sort_values(by, kind="mergesort", na_position="last").reset_index(drop=True)
    out.attrs = {
        "as_of": str(as_of.date()),
        "by": by,
        "win_rate": "won / (won + lost); open opportunities are not counted as lost",
    }
    return out


def response_sla(
    ds: Dataset | None = None,
    *,
    sla_hours: Mapping[str, float] | None = None,
    by: str = "grade",
    as_of=None,
    leads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """First-response time against an SLA per grade (default A 2h, B 4h, C 24h).

    A lead with no response yet breaches once its SLA has passed by ``as_of``; before that
    it is ``pending`` and not counted either way.
    """
    as_of = view_as_of(ds, as_of)
    leads = ds.leads if leads is None else leads
    sla = dict(DEFAULT_SLA_HOURS if sla_hours is None else sla_hours)
    t = as_of_ts(as_of, (leads, "created_at"))
    ld = leads[(leads["created_at"] <= t) & leads[by].isin(list(sla))].copy()
    limit = ld[by].map(sla).astype(float)
    hours = (ld["first_response_at"] - ld["created_at"]).dt.total_seconds() / 3600
    responded = ld["first_response_at"].notna() & (ld["first_response_at"] <= t)
    hours = hours.where(responded)
    age = (t - ld["created_at"]).dt.total_seconds() / 3600
    ld["_within"] = responded & (hours <= limit)
    ld["_pending"] = ~responded & (age <= limit)
    ld["_hours"] = hours
    g = ld.groupby(by)
    out = pd.DataFrame(
        {
            "sla_hours": pd.Series(sla),
            "leads": g.size(),
            "responded": g["_hours"].count(),
            "within_sla": g["_within"].sum(),
            "pending": g["_pending"].sum(),
            "median_response_hours": g["_hours"].median(),
            "p90_response_hours": g["_hours"].quantile(0.9),
        }
    ).dropna(subset=["leads"])
    out.index.name = by
    out = out.reset_index()
    for c in ("leads", "responded", "within_sla", "pending"):
        out[c] = out[c].astype("int64")
    judged = out["leads"] - out["pending"]
    out["compliance"] = out["within_sla"] / judged.where(judged > 0)
    out["compliance_low"], out["compliance_high"] = wilson(out["within_sla"], judged)
    out.attrs = {
        "as_of": str(t.date()),
        "sla_hours": sla,
        "rule": "within SLA: first response no later than the grade's limit; no response "
        "after the limit is a breach",
    }
    return out


def followup_compliance(
    ds: Dataset | None = None,
    *,
    tiers: pd.DataFrame | None = None,
    cadence_days: Mapping[str, float] | None = None,
    as_of=None,
    grace_days: float = 2.0,
    activities: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Follow-up cadence by customer tier (default A weekly, B fortnightly, C monthly).

    Parameters
    ----------
    tiers
        ``account_id`` and ``tier``; default: each account's best lead grade.
    grace_days
        A planned follow-up (``next_planned_at``) counts as done when an activity on the
        same account happens no later than this many days after the plan.

    Returns
    -------
    (summary, overdue)
        summary per tier: accounts, gaps, gaps_within_cadence, cadence_compliance,
        planned, done, plan_completion. overdue: accounts with an open opportunity whose
        last follow-up is older than their tier's cadence at ``as_of``.
    """
    as_of = view_as_of(ds, as_of)
    act = ds.activities if activities is None else activities
    cad = dict(DEFAULT_CADENCE_DAYS if cadence_days is None else cadence_days)
    if tiers is None:
        ld = ds.leads.dropna(subset=["account_id", "grade"]) if "account_id" in ds.leads else None
        if ld is None or ld.empty:
            raise ValueError("followup_compliance needs tiers= (account_id, tier)")
        tiers = ld.groupby("account_id")["grade"].min().rename("tier").reset_index()
    t = as_of_ts(as_of, (act, "occurred_at"))
    a = act[(act["occurred_at"] <= t) & act["account_id"].notna()]
    a = a.merge(tiers, on="account_id", how="inner").sort_values(
        ["account_id", "occurred_at"], kind="mergesort"
    )
    gap = a.groupby("account_id")["occurred_at"].diff().dt.total_seconds() / 86400
    a = a.assign(_gap=gap, _limit=a["tier"].map(cad))
    # plan completion: the next activity on the account, compared with the plan
    a["_next"] = a.groupby("account_id")["occurred_at"].shift(-1)
    due = a["next_planned_at"].notna() & (a["next_planned_at"] + pd.Timedelta(days=grace_days) <= t)
    done = (
        due
        & a["_next"].notna()
        & (a["_next"] <= a["next_planned_at"] + pd.Timedelta(days=grace_days))
    )
    a = a.assign(_due=due, _done=done)
    g = a.groupby("tier")
    summary = pd.DataFrame(
        {
            "cadence_days": pd.Series(cad),
            "accounts": g["account_id"].nunique(),
            "gaps": g["_gap"].count(),
            "gaps_within_cadence": g.apply(lambda d: int((d["_gap"] <= d["_limit"]).sum())),
            "planned": g["_due"].sum(),
            "done": g["_done"].sum(),
        }
    ).dropna(subset=["accounts"])
    summary.index.name = "tier"
    summary = summary.reset_index()
    for c in ("accounts", "gaps", "gaps_within_cadence", "planned", "done"):
        summary[c] = summary[c].astype("int64")
    summary["cadence_compliance"] = summary["gaps_within_cadence"] / summary["gaps"].where(
        summary["gaps"] > 0
    )
    summary["plan_completion"] = summary["done"] / summary["planned"].where(summary["planned"] > 0)
    last = a.groupby("account_id").agg(last_followup=("occurred_at", "max"), tier=("tier", "first"))
    last["days_since"] = (t - last["last_followup"]).dt.total_seconds() / 86400
    last["cadence_days"] = last["tier"].map(cad)
    if ds is not None and ds.opportunities is not None and "account_id" in ds.opportunities:
        open_acc = (
            ds.opportunities.loc[ds.opportunities["status"] == "open", "account_id"]
            .dropna()
            .unique()
        )
        last = last[last.index.isin(open_acc)]
    overdue = last[last["days_since"] > last["cadence_days"]].reset_index()
    overdue = overdue.sort_values(
        ["days_since", "account_id"], ascending=[False, True], kind="mergesort"
    )
    summary.attrs = overdue.attrs = {
        "as_of": str(t.date()),
        "cadence_days": cad,
        "grace_days": grace_days,
    }
    return summary, overdue.reset_index(drop=True)


UNKNOWN = "(unknown)"


def lead_funnel(
    ds: Dataset | None = None,
    *,
    by: str | list[str] | None = None,
    as_of=None,
    leads: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    won_only: bool | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Leads -> opportunities -> won, where every lead counts in the denominator.

    Works without stage history: leads and opportunities are joined by ``lead_id`` when the
    opportunities carry it (the Olist shape: marketing-qualified leads and closed deals),
    else by the leads' ``opportunity_id``. A blank segment value is kept as ``"(unknown)"``.

    Parameters
    ----------
    by
        Lead column(s), e.g. ``"channel"`` or ``"grade"``; None gives one row for all leads.
    as_of
        Only leads created, opportunities created and deals won by then count.
    won_only
        The opportunities table holds won deals only (Olist's closed deals). Default: true
        when it has neither ``status`` nor ``stage``. Then ``opportunities`` equals ``won``.

    Returns
    -------
    DataFrame
        the ``by`` columns, leads, opportunities, won, lead_to_opportunity, lead_to_won and
        opportunity_to_won, each with ``_low``/``_high`` Wilson bounds,
        median_days_to_opportunity, median_days_to_won.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"],
    ...     "created_at": pd.to_datetime(["2024-01-01"] * 4), "channel": ["web", "web", None, "fair"]})
    >>> won = pd.DataFrame({"lead_id": ["L1"], "closed_at": pd.to_datetime(["2024-01-11"])})
    >>> lead_funnel(leads=leads, opportunities=won, by="channel")[["channel", "leads", "won"]]
         channel  leads  won
    0  (unknown)      1    0
    1       fair      1    0
    2        web      2    1
    """
    leads = ds.leads if leads is None and ds is not None else leads
    opps = ds.opportunities if opportunities is None and ds is not None else opportunities
    if leads is None:
        raise ValueError("lead_funnel needs a leads table")
    by = as_list(by)
    missing = [b for b in by if b not in leads.columns]
    if missing:
        raise ValueError(f"unknown lead column(s) {missing}; available: {list(leads.columns)}")
    t = as_of_ts(as_of, (leads, "created_at"), (opps, "created_at"), (opps, "closed_at"))
    ld = leads[leads["created_at"].notna() & (leads["created_at"] <= t)].copy()
    for b in by:
        col = ld[b].astype("string").str.strip()
        ld[b] = col.mask(col.isna() | (col == ""), UNKNOWN).astype(object)
    if won_only is None:
        won_only = opps is not None and not ({"status", "stage"} & set(opps.columns))
    opp_at = pd.Series(pd.NaT, index=ld.index, dtype="datetime64[ns]")
    won_at = pd.Series(pd.NaT, index=ld.index, dtype="datetime64[ns]")
    if opps is not None and len(opps):
        o = opps
        if "lead_id" in o.columns:
            o = o.dropna(subset=["lead_id"]).drop_duplicates("lead_id").set_index("lead_id")
            key = ld["lead_id"]
        else:
            o = o.drop_duplicates("opportunity_id").set_index("opportunity_id")
            key = ld["opportunity_id"] if "opportunity_id" in ld else pd.Series(pd.NA, ld.index)
        present = key.isin(o.index)
        created = o["created_at"] if "created_at" in o else pd.Series(pd.NaT, index=o.index)
        closed = o["closed_at"] if "closed_at" in o else pd.Series(pd.NaT, index=o.index)
        if won_only:
            is_won = pd.Series(True, index=o.index)
        else:
            status = o["status"] if "status" in o else pd.Series(pd.NA, index=o.index)
            is_won = status.eq("won").fillna(False).astype(bool)
        w = key.map(closed.where(is_won)).where(present)
        won_at = pd.to_datetime(w).where(lambda s: s <= t)
        conv = ld["converted_at"] if "converted_at" in ld else pd.Series(pd.NaT, index=ld.index)
        c = key.map(created).where(present)
        c = pd.to_datetime(c).fillna(conv).fillna(won_at)
        opp_at = c.where(present & (c <= t))
        opp_at = opp_at.where(opp_at.notna() | won_at.isna(), won_at)
    ld["_opp"] = opp_at.notna()
    ld["_won"] = won_at.notna()
    ld["_d_opp"] = (opp_at - ld["created_at"]).dt.total_seconds() / 86400
    ld["_d_won"] = (won_at - ld["created_at"]).dt.total_seconds() / 86400
    ld["_all"] = "all"
    keys = by or ["_all"]
    g = ld.groupby(keys, dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "leads": g.size(),
            "opportunities": g["_opp"].sum(),
            "won": g["_won"].sum(),
            "median_days_to_opportunity": g["_d_opp"].median(),
            "median_days_to_won": g["_d_won"].median(),
        }
    ).reset_index()
    if not by:
        out = out.drop(columns="_all")
    for c in ("leads", "opportunities", "won"):
        out[c] = out[c].astype("int64")
    for name, k, n in (
        ("lead_to_opportunity", "opportunities", "leads"),
        ("lead_to_won", "won", "leads"),
        ("opportunity_to_won", "won", "opportunities"),
    ):
        den = out[n].astype(float)
        out[name] = out[k] / den.where(den > 0)
        out[f"{name}_low"], out[f"{name}_high"] = wilson(out[k], den, alpha)
    cols = [
        *by,
        "leads",
        "opportunities",
        "won",
        "lead_to_opportunity",
        "lead_to_opportunity_low",
        "lead_to_opportunity_high",
        "lead_to_won",
        "lead_to_won_low",
        "lead_to_won_high",
        "opportunity_to_won",
        "opportunity_to_won_low",
        "opportunity_to_won_high",
        "median_days_to_opportunity",
        "median_days_to_won",
    ]
    out = out[cols]
    out.attrs = {
        "as_of": str(t.date()),
        "by": by,
        "alpha": alpha,
        "won_only": bool(won_only),
        "rule": "every lead created by as_of counts; opportunity = joined to an opportunity "
        "created by as_of; won = won by as_of; blank segments are '(unknown)'",
        "note": "the opportunities table holds won deals only: opportunities = won, so "
        "opportunity_to_won cannot be measured"
        if won_only
        else "",
    }
    return out
