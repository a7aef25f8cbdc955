"""What a dataset holds: row counts, date ranges, stage mix, monthly volumes."""

from __future__ import annotations

import pandas as pd

from .dataset import Dataset

__all__ = ["date_ranges", "stage_distribution", "monthly_counts"]


def date_ranges(ds: Dataset) -> pd.DataFrame:
    """Per table and date column: first and last date, and how many values are missing."""
    rows = []
    for table, df in ds.tables.items():
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                s = df[col]
                rows.append(
                    {
                        "table": table,
                        "column": col,
                        "first": s.min(),
                        "last": s.max(),
                        "missing": int(s.isna().sum()),
                        "rows": len(s),
                    }
                )
    return pd.DataFrame(rows, columns=["table", "column", "first", "last", "missing", "rows"])


def stage_distribution(
    ds: Dataset | None = None,
    *,
    opportunities: pd.DataFrame | None = None,
    stages=None,
    lang: str = "en",
) -> pd.DataFrame:
    """Current stage of every opportunity: count, share, total and mean amount, in funnel order.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> sa.stage_distribution(sa.read_dataset())["stage"].tolist()[:2]
    ['prospect', 'contacted']
    """
    opps = opportunities if opportunities is not None else ds.opportunities
    cfg = stages or ds.stages
    if opps is None:
        raise ValueError("stage_distribution needs an opportunities table")
    g = opps.groupby("stage", observed=True).agg(
        count=("opportunity_id", "size"),
        amount_total=("amount", "sum") if "amount" in opps else ("opportunity_id", "size"),
    )
    frame = cfg.to_frame(lang)[["stage", "kind", "label"]]
    out = frame.merge(g, left_on="stage", right_index=True, how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    out["share"] = out["count"] / max(int(out["count"].sum()), 1)
    if "amount" in opps:
        out["amount_total"] = out["amount_total"].fillna(0.0).astype(float)
        out["amount_mean"] = out["amount_total"] / out["count"].where(out["count"] > 0)
    else:
        out = out.drop(columns="amount_total")
    first = ["stage", "kind", "label", "count", "share"]
    return out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)


def monthly_counts(
    df: pd.DataFrame,
    date_col: str,
    *,
    by: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    period: str = "M",
) -> pd.DataFrame:
    """Rows per calendar period of ``date_col`` (optionally by a segment), up to ``as_of``.

    Returns a wide table: one row per period (``YYYY-MM`` or ``YYYY-Qn``), one column per
    segment value (or ``count``), zeros where nothing happened.
    """
    d = df[df[date_col].notna()]
    if as_of is not None:
        d = d[d[date_col] <= pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    p = d[date_col].dt.to_period(period).astype(str).rename("period")
    if by is None:
        out = p.value_counts().sort_index().rename("count").to_frame()
    else:
        out = pd.crosstab(p, d[by].fillna("(missing)"))
        out.columns.name = None
    out.index.name = "period"
    return out.reset_index()
