"""Performance by customer: new vs returning, repeat rate, value, tier migration [003]."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..scoring.customers import customer_tiers
from ._base import freq_of, purchases

__all__ = ["customer_activity", "tier_migration"]


def customer_activity(
    dataset: Dataset,
    *,
    period: str = "M",
    as_of=None,
    churn_window_months: int = 12,
    churn_ceiling: float = 0.05,
) -> pd.DataFrame:
    """Buyers per period: new vs returning, repeat rate, revenue per customer, churn.

    From the orders table (won deals when there is none). Per period: ``customers`` (who
    bought), ``new_customers`` (first purchase ever in the period), ``returning_customers``
    (bought before), ``new_customer_share`` (新客户占比 = new / customers), revenue from new
    and from returning customers, ``revenue_per_customer``; ``repeat_rate``: of everyone who
    has bought by the period's end, the share who bought at least twice (复购率); and
    ``churn_rate``: of the customers who bought in the ``churn_window_months`` before the
    period started, the share with no purchase in the window ending with the period,
    flagged ``churn_over_ceiling`` above ``churn_ceiling`` (default 5% [002]).
    ``returns_rate`` (退单率) is added when the orders carry ``returned`` or a ``status``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> c = sa.customer_activity(sa.read_dataset(), period="Q", as_of="2026-06-30")
    >>> bool((c["new_customers"] + c["returning_customers"] == c["customers"]).all())
    True
    """
    freq = freq_of(period)
    o = purchases(dataset, as_of=as_of)
    if o.empty:
        raise ValueError("no purchases up to as_of")
    o = o.assign(period=o["at"].dt.to_period(freq))
    first = o.groupby("account_id")["at"].transform("min")
    o["is_new"] = o["at"].dt.to_period(freq) == first.dt.to_period(freq)
    notes = []
    returned = _returned(o)
    if returned is None:
        notes.append("no returned/status column on orders: returns rate (退单率) omitted")
    rows = []
    for p in pd.period_range(o["period"].min(), o["period"].max(), freq=freq):
        cur = o[o["period"] == p]
        buyers = cur.groupby("account_id")["is_new"].first()
        upto = o[o["at"] <= p.end_time]
        counts = upto.groupby("account_id").size()
        base_from = p.start_time - pd.DateOffset(months=churn_window_months)
        base = set(o.loc[(o["at"] >= base_from) & (o["at"] < p.start_time), "account_id"])
        kept = set(
            o.loc[
                (o["at"] > p.end_time - pd.DateOffset(months=churn_window_months))
                & (o["at"] <= p.end_time),
                "account_id",
            ]
        )
        n = len(buyers)
        rev = float(cur["amount"].sum())
        row = {
            "period": str(p),
            "customers": n,
            "new_customers": int(buyers.sum()),
            "returning_customers": int(n - buyers.sum()),
            "new_customer_share": buyers.mean() if n else np.nan,
            "revenue": rev,
            "revenue_new": float(cur.loc[cur["is_new"], "amount"].sum()),
            "revenue_returning": float(cur.loc[~cur["is_new"], "amount"].sum()),
            "revenue_per_customer": rev / n if n else np.nan,
            "repeat_rate": float((counts >= 2).mean()) if len(counts) else np.nan,
            "churn_base": len(base),
            "churn_rate": len(base - kept) / len(base) if base else np.nan,
        }
        if returned is not None:
            r = returned[cur.index]
            row["returns_rate"] = float(r.mean()) if len(r) else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    out["churn_over_ceiling"] = (out["churn_rate"] > churn_ceiling).astype(bool)
    out.attrs = {
        "as_of": o.attrs["as_of"],
        "period": freq,
        "source": o.attrs["source"],
        "churn_ceiling": churn_ceiling,
        "churn_window_months": churn_window_months,
        "notes": notes,
        "rule": "new = first purchase in the period; repeat rate = share of buyers "
        "so far with 2+ purchases [003]",
    }
    return out


def _returned(o: pd.DataFrame) -> pd.Series | None:
    if "returned" in o:
        v = o["returned"].astype("string").str.strip().str.lower()
        return v.isin(["true", "1", "yes", "y", "是", "退单", "returned"])
    if "status" in o:
        v = o["status"].astype("string").str.strip().str.lower()
        return v.isin(["returned", "refunded", "cancelled", "canceled", "退单", "退货", "取消"])
    return None


def tier_migration(
    dataset: Dataset | None = None,
    *,
    start,
    end,
    scheme: str | Mapping = "guide_003",
    before: pd.DataFrame | None = None,
    after: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How customers moved between tiers from ``start`` to ``end`` (two as_of dates).

    Tiers by :func:`~salesanalytics.customer_tiers` with ``scheme`` (guide [003] by
    default) at each date, or the given ``before`` / ``after`` tier tables.

    Returns
    -------
    DataFrame
        ``from_tier``, ``to_tier``, ``customers``, ``share_of_from`` and ``move``
        (``up``, ``down`` or ``same`` in the scheme's order) and ``scheme`` (also in
        ``attrs["scheme"]``).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> m = sa.tier_migration(sa.read_dataset(), start="2025-12-31", end="2026-06-30")
    >>> m.attrs["scheme"]
    'guide_003'
    """
    if before is None or after is None:
        if dataset is None:
            raise ValueError("give a dataset or both before and after tier tables")
        before = customer_tiers(dataset, as_of=start, scheme=scheme)
        after = customer_tiers(dataset, as_of=end, scheme=scheme)
    name = after.attrs.get("scheme", str(scheme))
    from ..scoring.customers import load_tier_scheme

    order = [r["tier"] for r in load_tier_scheme(scheme)["tiers"]] + ["none"]
    a = before[["account_id", "tier"]].rename(columns={"tier": "from_tier"})
    b = after[["account_id", "tier"]].rename(columns={"tier": "to_tier"})
    m = a.merge(b, on="account_id", how="outer").fillna({"from_tier": "none", "to_tier": "none"})
    out = m.groupby(["from_tier", "to_tier"]).size().rename("customers").reset_index()
    out["share_of_from"] = out["customers"] / out.groupby("from_tier")["customers"].transform("sum")
    rank = {t: i for i, t in enumerate(order)}
    fr, to = out["from_tier"].map(rank), out["to_tier"].map(rank)
    out["move"] = np.where(to < fr, "up", np.where(to > fr, "down", "same"))
    out = out.assign(_f=fr, _t=to).sort_values(["_f", "_t"], kind="mergesort")
    out = out.drop(columns=["_f", "_t"]).reset_index(drop=True)
    out["scheme"] = name
    out.attrs = {"start": str(start), "end": str(end), "scheme": name}
    return out
