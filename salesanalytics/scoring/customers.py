"""Account features for customer tiering and the tier -> follow-up cadence plan."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_of_ts
from ..funnel.leads import DEFAULT_CADENCE_DAYS

__all__ = ["customer_features", "followup_plan"]


def customer_features(ds: Dataset, as_of=None, *, months: int = 6) -> pd.DataFrame:
    """Per account: purchases in the last ``months``, orders, tenure, open pipeline.

    Orders come from the orders table, or from won opportunities when there is none.
    """
    t = as_of_ts(as_of, (ds.orders, "ordered_at"), (ds.opportunities, "created_at"))
    if ds.orders is not None:
        o = ds.orders.rename(columns={"ordered_at": "at"})[["account_id", "at", "amount"]]
    else:
        won = ds.opportunities[ds.opportunities["status"] == "won"]
        amount = won["close_amount"] if "close_amount" in won else won.get("amount")
        if amount is not None and "amount" in won:  # close amount, else the pipeline amount
            amount = amount.fillna(won["amount"])
        o = pd.DataFrame(
            {"account_id": won["account_id"], "at": won["closed_at"], "amount": amount}
        )
    o = o[o["at"] <= t]
    since = t - pd.DateOffset(months=months)
    recent = o[o["at"] > since].groupby("account_id")["amount"].sum().rename("purchases_6m")
    first = o.groupby("account_id")["at"].min()
    accounts = (
        ds.accounts["account_id"]
        if ds.accounts is not None
        else pd.Series(o["account_id"].unique())
    )
    out = pd.DataFrame({"account_id": accounts.to_numpy()})
    out["purchases_6m"] = out["account_id"].map(recent).fillna(0.0)
    out["orders"] = out["account_id"].map(o.groupby("account_id").size()).fillna(0).astype("int64")
    out["tenure_days"] = ((t - out["account_id"].map(first)).dt.total_seconds() / 86400).fillna(0.0)
    if ds.opportunities is not None and "account_id" in ds.opportunities:
        op = ds.opportunities[
            (ds.opportunities["status"] == "open") & (ds.opportunities["created_at"] <= t)
        ]
        out["open_pipeline"] = (
            out["account_id"].map(op.groupby("account_id")["amount"].sum()).fillna(0.0)
        )
    else:
        out["open_pipeline"] = 0.0
    out.attrs = {"as_of": str(t.date()), "months": months}
    return out


def followup_plan(
    tiers: pd.DataFrame,
    *,
    as_of,
    cadence_days: Mapping[str, float] | None = None,
    last_contact: pd.Series | None = None,
    id_column: str = "account_id",
) -> pd.DataFrame:
    """Tier -> cadence, and each row's next planned follow-up from its last contact (or as_of)."""
    cad = dict(DEFAULT_CADENCE_DAYS if cadence_days is None else cadence_days)
    t = pd.Timestamp(as_of)
    out = tiers[[id_column, "tier"]].copy()
    out["cadence_days"] = (
        out["tier"].map(cad).astype(float)
    )  # a tier without a cadence: no due date
    last = (
        out[id_column].map(last_contact)
        if last_contact is not None
        else pd.Series(pd.NaT, index=out.index)
    )
    base = pd.to_datetime(last).fillna(t)
    out["next_due"] = (base + pd.to_timedelta(out["cadence_days"], unit="D")).dt.normalize()
    out["overdue"] = out["next_due"] < t.normalize()
    return out.sort_values(["next_due", id_column], kind="mergesort").reset_index(drop=True)
