"""Performance by product: share, contribution to growth, top-N and star products [003]."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ._base import as_list, freq_of, purchases

__all__ = ["product_mix"]


def product_mix(
    dataset: Dataset,
    *,
    period: str = "M",
    by: str | Sequence[str] | None = None,
    as_of=None,
    product: str = "product",
    top: int = 3,
) -> pd.DataFrame:
    """Revenue per product and period: share, growth, contribution to growth, class.

    Revenue is the orders table (won deals where there is none). Per period (and ``by``):
    ``share`` of the period's revenue; ``growth`` over the previous period;
    ``contribution`` = the product's change / the previous period's total, so the
    contributions add up to the total's growth; ``rank`` and ``top`` (rank <= ``top``);
    ``class``: ``star`` (share above the average share 1/n and growth above the total's),
    ``to improve`` (below on both; the guides' 待优化产品) or empty. With a ``cost`` column,
    ``margin`` (revenue - cost) and ``margin_share`` are added; without, ``attrs['notes']``
    says so.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> m = sa.product_mix(sa.read_dataset(), period="Q", as_of="2026-06-30")
    >>> float(m.groupby("period")["share"].sum().round(9).max())
    1.0
    """
    freq = freq_of(period)
    by = as_list(by)
    o = purchases(dataset, as_of=as_of)
    if product not in o:
        raise ValueError(f"no {product!r} column on {o.attrs['source']}")
    for col in by:
        if col not in o:
            acc = dataset.accounts
            if acc is None or col not in acc:
                raise ValueError(f"no {col!r} column on {o.attrs['source']} or accounts")
            o[col] = o["account_id"].map(
                acc.drop_duplicates("account_id").set_index("account_id")[col]
            )
    o = o.assign(period=o["at"].dt.to_period(freq))
    has_cost = "cost" in o
    products = sorted(o[product].dropna().astype(str).unique())
    periods = pd.period_range(o["period"].min(), o["period"].max(), freq=freq)
    keys = [()] if not by else sorted(map(tuple, o[by].astype(str).drop_duplicates().to_numpy()))
    idx = pd.MultiIndex.from_product([products, periods], names=[product, "period"])
    parts = []
    for key in keys:
        sel = pd.Series(True, index=o.index)
        for col, v in zip(by, key):
            sel &= (o[col].astype("string") == v).fillna(False).astype(bool)
        sub = o[sel].assign(**{product: o.loc[sel, product].astype(str)})
        cols = ["amount", "cost"] if has_cost else ["amount"]
        d = sub.groupby([product, "period"])[cols].sum().reindex(idx, fill_value=0.0)
        d = d.astype(float).rename(columns={"amount": "revenue"}).reset_index()
        total = d.groupby("period")["revenue"].transform("sum")
        prev = d.groupby(product)["revenue"].shift(1)
        prev_total = d.groupby("period")["revenue"].sum().shift(1).reindex(d["period"]).to_numpy()
        total_growth = (total.to_numpy() / prev_total) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            d["share"] = np.where(total > 0, d["revenue"] / total, np.nan)
            d["growth"] = np.where(prev > 0, d["revenue"] / prev - 1, np.nan)
            d["contribution"] = np.where(prev_total > 0, (d["revenue"] - prev) / prev_total, np.nan)
        d["rank"] = d.groupby("period")["revenue"].rank(method="first", ascending=False).astype(int)
        d["top"] = d["rank"] <= top
        n = len(products)
        star = (d["share"] > 1 / n) & (d["growth"] > total_growth)
        weak = (d["share"] < 1 / n) & (d["growth"] < total_growth)
        d["class"] = np.where(star, "star", np.where(weak, "to improve", ""))
        if has_cost:
            d["margin"] = d["revenue"] - d["cost"]
            m_total = d.groupby("period")["margin"].transform("sum")
            d["margin_share"] = np.where(m_total != 0, d["margin"] / m_total, np.nan)
            d = d.drop(columns="cost")
        for col, v in zip(by, key):
            d[col] = v
        parts.append(d)
    out = pd.concat(parts, ignore_index=True)
    out["period"] = out["period"].astype(str)
    lead = ["period", *by, product]
    out = out[lead + [c for c in out.columns if c not in lead]]
    out = out.sort_values(["period", *by, "rank"], kind="mergesort").reset_index(drop=True)
    notes = [] if has_cost else ["no cost column: gross margin and its contribution omitted"]
    out.attrs = {
        "as_of": o.attrs["as_of"],
        "period": freq,
        "source": o.attrs["source"],
        "rule": "star = share > 1/n and growth > the total's growth [003]",
        "notes": notes,
    }
    return out
