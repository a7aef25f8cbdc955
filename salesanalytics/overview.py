"""What a dataset holds: row counts, date ranges, stage mix, monthly volumes."""

from __future__ import annotations

import pandas as pd

from .dataset import Dataset

__all__ = [
    "date_ranges",
    "stage_distribution",
    "monthly_counts",
    "run_warnings",
    "has_tables",
    "EVENT_COLUMNS",
]


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


#: Columns that record something that happened (planned dates such as
#: ``expected_close_date`` may lie in the future and are left out).
EVENT_COLUMNS = (
    "created_at",
    "entered_at",
    "closed_at",
    "occurred_at",
    "ordered_at",
    "first_response_at",
    "converted_at",
    "engaged_at",
)


def run_warnings(ds: Dataset, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """What a report reader must know before trusting the numbers: empty tables, and an
    ``as_of`` after the last or before the first recorded event.

    A future ``as_of`` makes every open deal look overdue and every rate look stalled;
    one before the data starts leaves nothing to analyse. Returns one row per warning
    (column ``warning``); an empty frame when there is nothing to say.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> w = run_warnings(sa.read_dataset(), "2027-01-31")
    >>> w["warning"].str.contains("after the last").tolist()
    [True]
    """
    out: list[str] = []
    for table, df in ds.tables.items():
        if len(df) == 0:
            out.append(f"{table}: the table has no rows")
    if not ds.tables:
        out.append("no table was loaded")
    firsts, lasts = [], []
    for df in ds.tables.values():
        for col in EVENT_COLUMNS:
            if col in df.columns and pd.api.types.is_datetime64_any_dtype(df[col]):
                s = df[col].dropna()
                if len(s):
                    s = s.dt.tz_localize(None) if s.dt.tz is not None else s
                    firsts.append(s.min())
                    lasts.append(s.max())
    if as_of not in (None, "") and lasts:
        ts = pd.Timestamp(as_of)
        end = ts.normalize() + pd.Timedelta(days=1)  # a bare date is the end of that day
        first, last = min(firsts), max(lasts)
        if ts.normalize() > last.normalize():
            days = (ts.normalize() - last.normalize()).days
            out.append(
                f"as_of {ts.date()} is {days} day(s) after the last recorded event "
                f"({last.date()}): open deals look overdue and recent rates look low"
            )
        if end <= first:
            out.append(
                f"as_of {ts.date()} is before the first recorded event ({first.date()}): "
                "nothing is known yet at that date"
            )
    return pd.DataFrame({"warning": pd.Series(out, dtype="string")})


def _row_count(table) -> int:
    """Rows of a DataFrame, or of an engine (Ibis) table counted where it lives."""
    return len(table) if isinstance(table, pd.DataFrame) else int(table.count().execute())


def has_tables(ds: Dataset, *tables: str, section: str | None = None) -> bool:
    """True when every table named is present with at least one row.

    Otherwise, with ``section``, print one line saying what is skipped and why; notebooks
    guard each section with it so a partial export still gives a report.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> ds = sa.read_dataset({"leads": sa.read_dataset().leads.head(3)})
    >>> has_tables(ds, "opportunities", section="Stage mix")
    Stage mix: skipped (no opportunities table in this export)
    False
    """
    missing = [t for t in tables if getattr(ds, t, None) is None]
    empty = [t for t in tables if t not in missing and _row_count(getattr(ds, t)) == 0]
    if not missing and not empty:
        return True
    if section:
        why = []
        if missing:
            why.append(f"no {' / '.join(missing)} table in this export")
        if empty:
            why.append(f"the {' / '.join(empty)} table has no rows")
        print(f"{section}: skipped ({'; '.join(why)})")
    return False
