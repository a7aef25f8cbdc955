"""Data-quality views: problems by rule, the metrics each one affects, examples."""

from __future__ import annotations

import pandas as pd

from .dataset import Dataset

__all__ = ["RULE_EFFECTS", "quality_summary", "quality_impact", "rejected_examples", "format_notes"]

#: What each rule puts at risk, in the analyst's words.
RULE_EFFECTS = {
    "missing_required": "row left out of every count",
    "unknown_stage": "funnel counts, conversion and win rates",
    "unreadable_datetime": "dwell times, cohorts, monthly summaries",
    "unreadable_number": "pipeline value, forecast, revenue",
    "unreadable_bool": "conversion rates",
    "below_minimum": "pipeline value, forecast, revenue",
    "exact_duplicate": "counts would be inflated (dropped)",
    "conflicting_duplicate": "counts and amounts (both copies left out)",
    "same_contact": "lead counts per channel (merged, channels kept)",
    "contract": "row left out of every count",
    "closed_without_date": "cycle time, monthly bookings",
    "close_before_creation": "cycle time",
    "close_before_engagement": "cycle time",
    "open_with_close_date": "open pipeline and forecast",
    "won_without_amount": "bookings, forecast accuracy",
    "orphan_reference": "stage dwell and transitions (row left out)",
    "unknown_reference": "grouping by product / rep / account",
    "simultaneous_entries": "stage order and dwell times",
    "won_before_first_contact": "stage dwell and transitions",
    "won_without_history": "stage transitions",
    "entry_before_creation": "cohort assignment, dwell times",
    "history_disagrees": "current-stage counts vs transitions",
}


def quality_summary(ds: Dataset) -> pd.DataFrame:
    """Problems per table, rule and action, with the metrics they affect."""
    q = ds.quality[ds.quality["action"] != "column"]
    cols = ["table", "rule", "action", "rows", "affects"]
    if q.empty:
        return pd.DataFrame(columns=cols)
    out = q.groupby(["table", "rule", "action"]).size().rename("rows").reset_index()
    out["affects"] = out["rule"].map(RULE_EFFECTS).fillna("")
    order = {t: i for i, t in enumerate(ds.reports)}
    out["_o"] = out["table"].map(order)
    out = out.sort_values(["_o", "rows", "rule"], ascending=[True, False, True], kind="mergesort")
    return out[cols].reset_index(drop=True)


def format_notes(ds: Dataset) -> pd.DataFrame:
    """What was fixed per column: header renames, date formats, folded spellings, fallbacks."""
    q = ds.quality[ds.quality["action"] == "column"]
    return q[["table", "column", "rule", "detail"]].reset_index(drop=True)


def _flagged_rows(ds: Dataset, table: str) -> pd.Index:
    q = ds.quality
    rows = q.loc[(q["table"] == table) & (q["action"] == "flagged"), "row"].dropna().astype(int)
    return pd.Index(rows.unique())


def quality_impact(ds: Dataset) -> pd.DataFrame:
    """Key metrics next to the rows behind them and how far flagged rows move them.

    For each metric: its value on the clean data, the rows it uses, how many of those
    carry a flag, the value without the flagged rows, and the rows of that table that
    were rejected (not in the metric at all).
    """
    rows = []

    def add(metric, table, frame, fn, flagged_positions):
        used = len(frame)
        keep = ~frame.index.isin(flagged_positions)
        rows.append(
            {
                "metric": metric,
                "table": table,
                "value": fn(frame),
                "rows_used": used,
                "rows_flagged": int((~keep).sum()),
                "value_without_flagged": fn(frame[keep]) if keep.any() else float("nan"),
                "rows_rejected": ds.reports[table]["rejected"],
            }
        )

    if ds.opportunities is not None:
        o = ds.opportunities
        # data positions -> input rows, to match flags recorded by input row
        src = _source_positions(ds, "opportunities", o)
        flagged = o.index[src.isin(_flagged_rows(ds, "opportunities"))]
        add("opportunities", "opportunities", o, len, flagged)
        closed = o[o["status"].isin(["won", "lost"])]
        add(
            "win rate (closed deals)",
            "opportunities",
            closed,
            lambda d: float((d["status"] == "won").mean()) if len(d) else float("nan"),
            flagged,
        )
        if "amount" in o:
            open_ = o[o["status"] == "open"]
            add(
                "open pipeline amount",
                "opportunities",
                open_,
                lambda d: float(d["amount"].sum()),
                flagged,
            )
    if ds.leads is not None and "converted" in ds.leads:
        ld = ds.leads
        flagged = ld.index[_source_positions(ds, "leads", ld).isin(_flagged_rows(ds, "leads"))]
        add(
            "lead conversion rate",
            "leads",
            ld,
            lambda d: float(d["converted"].astype(float).mean()),
            flagged,
        )
    if ds.orders is not None:
        od = ds.orders
        flagged = od.index[_source_positions(ds, "orders", od).isin(_flagged_rows(ds, "orders"))]
        add("order revenue", "orders", od, lambda d: float(d["amount"].sum()), flagged)
    return pd.DataFrame(
        rows,
        columns=[
            "metric",
            "table",
            "value",
            "rows_used",
            "rows_flagged",
            "value_without_flagged",
            "rows_rejected",
        ],
    )


def _source_positions(ds: Dataset, table: str, frame: pd.DataFrame) -> pd.Series:
    rows = ds.source_rows.get(table)
    if rows is None:
        return pd.Series(frame.index, index=frame.index)
    return pd.Series(rows[frame.index.to_numpy()], index=frame.index)


def rejected_examples(ds: Dataset, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rejected rows of each table: input row and reason."""
    parts = [r[["row", "reason"]].head(n).assign(table=t) for t, r in ds.rejected.items() if len(r)]
    if not parts:
        return pd.DataFrame(columns=["table", "row", "reason"])
    return pd.concat(parts, ignore_index=True)[["table", "row", "reason"]]
