"""Shapes of particular CRM exports that need more than a header alias."""

from __future__ import annotations

import re

import pandas as pd

from ..schema import TABLES
from .headers import map_headers

__all__ = ["stage_history_from_date_columns"]

_DATE_ENTERED = re.compile(
    r"""^\s*date entered\s+['"]?(?P<stage>.+?)['"]?\s*(\([^)]*\))?\s*['"]?\s*$""", re.I
)


def stage_history_from_date_columns(raw_opportunities: pd.DataFrame) -> pd.DataFrame | None:
    """HubSpot deal exports: one ``Date entered <stage> (<pipeline>)`` column per stage.

    Returns a raw stage-history table (``opportunity_id``, ``stage``, ``entered_at``; one
    row per filled cell, stage names as in the headers) or ``None`` when there are no such
    columns. It is cleaned like any other stage history.

    Examples
    --------
    >>> deals = pd.DataFrame({"Record ID": ["1"], "Deal Stage": ["closedwon"],
    ...     "Create Date": ["2024-01-01"], "Deal owner": ["Ann"],
    ...     "Date entered Appointment Scheduled (Sales Pipeline)": ["2024-01-01"],
    ...     "Date entered Closed Won (Sales Pipeline)": ["2024-02-01"]})
    >>> stage_history_from_date_columns(deals)["stage"].tolist()
    ['Appointment Scheduled', 'Closed Won']
    """
    cols = {
        c: m.group("stage") for c in raw_opportunities.columns if (m := _DATE_ENTERED.match(str(c)))
    }
    if not cols:
        return None
    renamed, mapping, _ = map_headers(
        raw_opportunities.drop(columns=list(cols)), TABLES["opportunities"]
    )
    if "opportunity_id" not in renamed.columns:
        return None
    ids = renamed["opportunity_id"].to_numpy()
    parts = [
        pd.DataFrame(
            {"opportunity_id": ids, "stage": stage, "entered_at": raw_opportunities[col].to_numpy()}
        )
        for col, stage in cols.items()
    ]
    long = pd.concat(parts, ignore_index=True)
    filled = long["entered_at"].notna() & (long["entered_at"].astype("string").str.strip() != "")
    return long[filled].reset_index(drop=True)
