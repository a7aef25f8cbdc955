"""The target sheet of [002]: every target row (revenue, counts, collection) against actual."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ._base import REVENUE_METRICS, end_of, freq_of, is_subtotal, purchases, won

__all__ = ["target_sheet", "METRICS"]

#: metric names (量化指标) understood in a targets ``metric`` column -> canonical measure
METRICS = {
    **{m: "revenue" for m in REVENUE_METRICS},
    "new_customers": "new_customers",
    "新签客户数": "new_customers",
    "新客户数": "new_customers",
    "新客户开发数": "new_customers",
    "new customers": "new_customers",
    "new_contracts": "deals",
    "新签合同数": "deals",
    "deals": "deals",
    "成交数": "deals",
    "won_deals": "deals",
    "成交单数": "deals",
    "collection_rate": "collection_rate",
    "回款率": "collection_rate",
}
_ALIASES = {
    "metric": ("metric", "量化指标"),
    "dimension": ("dimension", "goal", "总目标维度"),
    "item": ("item", "sub_target", "分解目标项"),
    "shortfall_reason": ("shortfall_reason", "未达成原因", "未达成原因(若有)"),
    "adjustment": ("adjustment", "adjustment_plan", "调整计划"),
}


def target_sheet(
    dataset: Dataset, *, period: str = "M", by: str = "owner", as_of=None
) -> pd.DataFrame:
    """Each target row with its actual value and completion, reasons carried through.

    Count and rate targets come as ``target_new_customers`` / ``target_deals`` /
    ``target_collection_rate`` columns beside ``target_amount``, or as rows with a
    ``metric`` column (量化指标): revenue (销售额), new
    customers (新签客户数: first purchase in the period), deals (new contracts, 成交数) or
    collection rate (回款率: paid / ordered, needs a ``paid_amount`` column on orders).
    A metric whose data are absent gets a NaN actual and a note, never an error.
    ``dimension`` / ``item`` / ``shortfall_reason`` / ``adjustment`` (or the [002] headers
    总目标维度 / 分解目标项 / 未达成原因 / 调整计划) are carried from input to output.

    Returns
    -------
    DataFrame
        ``period``, ``dimension``, ``item``, ``by``, ``metric``, ``target``, ``actual``,
        ``attainment``, ``shortfall_reason``, ``adjustment``; ``attrs["notes"]``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> s = sa.target_sheet(sa.read_dataset(), period="Q", as_of="2026-06-30")
    >>> s["metric"].unique().tolist()
    ['revenue']
    """
    freq = freq_of(period)
    t = dataset.targets
    if t is None or t.empty:
        raise ValueError("no targets table")
    t = t.rename(columns={a: k for k, names in _ALIASES.items() for a in names if a in t})
    if by not in t:
        raise ValueError(f"targets have no column {by!r}")
    t = _long(t[~is_subtotal(t, [by])])
    t["metric"] = (
        t["metric"].astype("string").str.strip().str.lower().map(lambda m: METRICS.get(m, m))
        if "metric" in t
        else "revenue"
    )
    t["metric"] = t["metric"].fillna("revenue")
    end = end_of(as_of, (dataset.opportunities, "closed_at"))
    per = pd.PeriodIndex([pd.Period(p) for p in t["period"].astype(str)])
    t["period"] = per.asfreq(freq).astype(str)
    t = t[t["period"] <= str(end.to_period(freq))]
    for col in ("dimension", "item", "shortfall_reason", "adjustment"):
        if col not in t:
            t[col] = pd.NA
    text = {
        c: (lambda s: s.dropna().astype(str).str.cat(sep="; ") or pd.NA)
        for c in ("dimension", "item", "shortfall_reason", "adjustment")
    }
    g = (
        t.groupby(["period", by, "metric"], sort=True)
        .agg(target=("target_amount", "sum"), **{c: (c, f) for c, f in text.items()})
        .reset_index()
    )
    actual, notes = _actuals(dataset, freq, by, end, set(g["metric"]))
    # a measure whose data exist counts 0 where nothing happened; a rate stays undefined
    g["actual"] = [
        actual.get((m, p, str(k)), np.nan if m == "collection_rate" else 0.0)
        if m in actual["_have"]
        else np.nan
        for p, k, m in zip(g["period"], g[by], g["metric"])
    ]
    g["actual"] = g["actual"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g["attainment"] = np.where(g["target"] > 0, g["actual"] / g["target"], np.nan)
    cols = [
        "period",
        "dimension",
        "item",
        by,
        "metric",
        "target",
        "actual",
        "attainment",
        "shortfall_reason",
        "adjustment",
    ]
    out = g[cols].reset_index(drop=True)
    out.attrs = {"as_of": str(end.date()), "period": freq, "notes": notes}
    return out


def _long(t: pd.DataFrame) -> pd.DataFrame:
    """Wide count/rate targets (``target_new_customers``, ``target_deals``,
    ``target_collection_rate``) as extra ``metric`` rows beside ``target_amount``."""
    wide = [c for c in t.columns if str(c).startswith("target_") and c != "target_amount"]
    if not wide:
        return t.copy()
    base = t.drop(columns=wide)
    if "metric" not in base:
        base = base.assign(metric="revenue")
    parts = [base]
    for c in wide:
        v = pd.to_numeric(t[c], errors="coerce")
        extra = t.drop(columns=wide).assign(metric=c[len("target_") :], target_amount=v)
        for col in ("shortfall_reason", "adjustment", "adjustment_plan", "未达成原因", "调整计划"):
            if col in extra:
                extra[col] = pd.NA
        parts.append(extra[v.notna()])
    return pd.concat(parts, ignore_index=True)


def _actuals(dataset, freq, by, end, metrics) -> tuple[dict, list[str]]:
    actual: dict = {"_have": set()}
    notes = []
    w = won(dataset, as_of=end)
    w = w.assign(period=w["won_at"].dt.to_period(freq).astype(str))
    if by in w:
        for (p, k), v in w.groupby(["period", by])["booked"].agg(["sum", "size"]).iterrows():
            actual[("revenue", p, str(k))] = float(v["sum"])
            actual[("deals", p, str(k))] = float(v["size"])
        actual["_have"] |= {"revenue", "deals"}
    if metrics & {"new_customers", "collection_rate"}:
        try:
            o = purchases(dataset, as_of=end)
        except ValueError as e:
            o = None
            notes.append(f"customer measures omitted: {e}")
        if o is not None and by in o:
            o = o.assign(period=o["at"].dt.to_period(freq).astype(str))
            first = o.sort_values("at", kind="mergesort").drop_duplicates("account_id")
            for (p, k), n in first.groupby(["period", by]).size().items():
                actual[("new_customers", p, str(k))] = float(n)
            actual["_have"].add("new_customers")
            if "paid_amount" in o:
                s = o.groupby(["period", by])[["paid_amount", "amount"]].sum()
                for (p, k), r in s.iterrows():
                    if r["amount"] > 0:
                        actual[("collection_rate", p, str(k))] = r["paid_amount"] / r["amount"]
                actual["_have"].add("collection_rate")
            elif "collection_rate" in metrics:
                notes.append("no paid_amount column on orders: 回款率 (collection rate) omitted")
        elif o is not None:
            notes.append(f"purchases have no {by!r} column: customer measures omitted")
    for m in sorted(metrics - actual["_have"]):
        if not any(m in n for n in notes):
            notes.append(f"no data for metric {m!r}: its actual is left empty")
    return actual, notes
