"""Shared pieces of the performance views: periods, won deals, targets, purchases."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..forecast import won_deals
from ..funnel._common import as_list
from ..funnel._common import as_of_ts as end_of
from ..funnel.transitions import stage_transitions

FREQS = ("M", "Q", "Y")
#: labels of subtotal / total rows in a target sheet: kept apart and checked, never summed in
SUBTOTAL_LABELS = frozenset(
    {"总计", "合计", "小计", "總計", "合計", "total", "grand total", "subtotal", "(total)", "all"}
)
#: ``metric`` values (量化指标) that mean revenue; other metrics are counts or rates
REVENUE_METRICS = frozenset({"revenue", "bookings", "sales", "销售额", "銷售額", "业绩", "营业额"})


def freq_of(period: str) -> str:
    key = str(period).upper()[:1]
    if key not in FREQS:
        raise ValueError(f"period must be M, Q or Y, got {period!r}")
    return key


def won(dataset: Dataset, as_of=None) -> pd.DataFrame:
    """Won deals up to ``as_of``: ``opportunity_id``, ``won_at``, ``booked`` and segments."""
    t = stage_transitions(dataset, as_of=as_of)
    w = won_deals(dataset, t)
    o = dataset.opportunities
    for col in ("account_id", "product", "team", "region", "cost"):
        if col not in w and o is not None and col in o:
            w[col] = w["opportunity_id"].map(
                o.drop_duplicates("opportunity_id").set_index("opportunity_id")[col]
            )
    w.attrs = {"as_of": t.attrs["as_of"]}
    return w


def data_start(dataset: Dataset) -> pd.Timestamp | None:
    """The earliest date the CRM data cover (first deal created or stage entered)."""
    dates = []
    o = dataset.opportunities
    if o is not None and "created_at" in o and o["created_at"].notna().any():
        dates.append(pd.Timestamp(o["created_at"].min()))
    h = dataset.stage_history
    if h is not None and "entered_at" in h and h["entered_at"].notna().any():
        dates.append(pd.Timestamp(h["entered_at"].min()))
    return min(dates) if dates else None


def is_subtotal(t: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Rows of a target table that are totals: a ``by`` value missing or a total label."""
    flag = pd.Series(False, index=t.index)
    for col in by:
        text = t[col].astype("string").str.strip().str.lower()
        flag |= text.isna() | text.isin(SUBTOTAL_LABELS)
    if "period" in t:
        flag |= t["period"].astype("string").str.contains("总计|合计|總計|total", case=False)
    return flag.fillna(True).astype(bool)


def revenue_rows(t: pd.DataFrame) -> pd.DataFrame:
    """Target rows on revenue: all rows unless a ``metric`` column names other measures."""
    if "metric" not in t:
        return t
    m = t["metric"].astype("string").str.strip().str.lower()
    return t[m.isna() | m.isin(REVENUE_METRICS)]


def targets(dataset: Dataset, freq: str, by: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Revenue targets per period and ``by``; and the roll-up mismatches of total rows."""
    t = dataset.targets
    if t is None or t.empty:
        raise ValueError("no targets table: attainment needs targets (period, target_amount)")
    missing = [b for b in by if b not in t]
    if missing:
        raise ValueError(f"targets have no column(s) {missing}; they have {list(t.columns)}")
    t = revenue_rows(t)
    sub = is_subtotal(t, by)
    detail, totals = t[~sub], t[sub]
    periods = pd.PeriodIndex([pd.Period(p) for p in detail["period"].astype(str)])
    if freq == "M" and len(periods) and periods.freqstr != "M":
        raise ValueError("targets are not monthly: choose period='Q' or 'Y'")
    detail = detail.assign(period=periods.asfreq(freq).astype(str))
    out = (
        detail.groupby(["period", *by], dropna=False, sort=True)["target_amount"]
        .sum()
        .rename("target")
        .reset_index()
    )
    return out, _total_mismatches(t, totals, detail, by)


def _total_mismatches(t, totals, detail, by) -> pd.DataFrame:
    """Each total row against the sum of the detail rows it covers (same period, if any)."""
    rows = []
    for _, r in totals.iterrows():
        p = str(r["period"])
        try:
            per = pd.Period(p)
            d = detail[
                [
                    pd.Period(x).start_time >= per.start_time
                    and pd.Period(x).end_time <= per.end_time
                    for x in t.loc[detail.index, "period"].astype(str)
                ]
            ]
        except (ValueError, TypeError):
            d = detail  # a grand-total row without a period
        children = float(d["target_amount"].sum())
        given = float(r["target_amount"])
        rows.append(
            {
                "period": p,
                "total_row": given,
                "children_sum": children,
                "difference": given - children,
                "consistent": bool(np.isclose(given, children)),
            }
        )
    cols = ["period", "total_row", "children_sum", "difference", "consistent"]
    return pd.DataFrame(rows, columns=cols)


def purchases(dataset: Dataset, as_of=None) -> pd.DataFrame:
    """Purchases up to ``as_of``: the orders table, else won deals as orders.

    Columns ``account_id``, ``at``, ``amount`` and whichever of ``product``, ``owner``,
    ``cost``, ``paid_amount``, ``returned`` the source has. ``attrs['source']`` names it.
    """
    end = end_of(as_of, (dataset.orders, "ordered_at"), (dataset.opportunities, "closed_at"))
    extra = ["product", "owner", "team", "region", "cost", "paid_amount", "returned", "status"]
    if dataset.orders is not None and not dataset.orders.empty:
        o = dataset.orders.rename(columns={"ordered_at": "at"})
        keep = ["account_id", "at", "amount", *[c for c in extra if c in o]]
        o, source = o[keep], "orders"
    else:
        w = won(dataset, as_of=as_of)
        w = w.drop(columns=[c for c in ("amount", "at") if c in w])
        w = w.rename(columns={"won_at": "at", "booked": "amount"})
        if "account_id" not in w:
            raise ValueError("customer views need account_id on orders or opportunities")
        keep = ["account_id", "at", "amount", *[c for c in extra if c in w and c != "status"]]
        o, source = w[keep], "won deals"
    o = o[o["at"] <= end].copy()
    o["amount"] = pd.to_numeric(o["amount"], errors="coerce").astype(float)
    o = o.sort_values(["at", "account_id"], kind="mergesort").reset_index(drop=True)
    o.attrs = {"as_of": str(end.date()), "source": source}
    return o


__all__ = ["as_list", "end_of"]
