"""Shapes of particular CRM exports that need more than a header alias."""

from __future__ import annotations

import re

import pandas as pd

from ..schema import TABLES
from .headers import map_headers

__all__ = ["stage_history_from_date_columns", "stage_history_from_customer_rows"]

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


def stage_history_from_customer_rows(
    raw_opportunities: pd.DataFrame, stages=None, columns=None
) -> pd.DataFrame | None:
    """The guide's per-customer stage table ([004] 客户阶段转化跟踪表) as a stage history.

    For a file keyed by the customer (客户编号, no deal id) with 进入当前阶段时间: each row
    gives its current stage entered at that time and, when filled, its previous stage
    (上一阶段) at 上一阶段退出时间. The table records when the previous stage was left, not
    entered, so that time stands in for its entry: the order of stages is right, the
    previous stage's dwell is not measured. Deal ids follow the customer-keyed reading of
    :func:`salesanalytics.clean` (``KH001``, ``KH001#2`` after a win or a loss). ``None``
    when the file is not of that shape.

    Examples
    --------
    >>> raw = pd.DataFrame({"客户编号": ["KH001"], "当前阶段": ["需求确认"],
    ...     "进入当前阶段时间": ["2024-03-10"], "上一阶段": ["初步沟通"],
    ...     "上一阶段退出时间": ["2024-03-08"], "跟进责任人": ["张伟"]})
    >>> stage_history_from_customer_rows(raw)[["opportunity_id", "stage"]].values.tolist()
    [['KH001', 'contacted'], ['KH001', 'needs_confirmed']]
    """
    from ..stages import load_stages
    from . import values as V
    from .templates import customer_deal_ids, episode_numbers

    cfg = load_stages(stages)
    renamed, _, _ = map_headers(raw_opportunities, TABLES["opportunities"], columns)
    cols = set(renamed.columns)
    if "opportunity_id" in cols or not {"account_id", "stage", "stage_entered_at"} <= cols:
        return None
    account = V.normalise_id(renamed["account_id"]).values
    stage = cfg.map(V.normalise_text(renamed["stage"]).values)
    entered = V.parse_datetime(renamed["stage_entered_at"]).values
    status = cfg.status(stage)
    ok = account.notna() & status.notna()
    ids = pd.Series(pd.NA, index=renamed.index, dtype="string")
    ep = episode_numbers(account[ok], entered[ok], status[ok].isin(["won", "lost"]))
    ids[ok] = customer_deal_ids(account[ok], ep)
    parts = [pd.DataFrame({"opportunity_id": ids, "stage": stage, "entered_at": entered})]
    if {"previous_stage", "previous_stage_left_at"} <= cols:
        prev = cfg.map(V.normalise_text(renamed["previous_stage"]).values)
        left = V.parse_datetime(renamed["previous_stage_left_at"]).values
        parts.append(pd.DataFrame({"opportunity_id": ids, "stage": prev, "entered_at": left}))
    long = pd.concat(parts, ignore_index=True).dropna()
    current = long.iloc[: int(parts[0].notna().all(axis=1).sum())]
    derived = long.iloc[len(current) :]
    seen = set(zip(current["opportunity_id"], current["stage"]))
    derived = derived[[k not in seen for k in zip(derived["opportunity_id"], derived["stage"])]]
    derived = derived.drop_duplicates(["opportunity_id", "stage"])
    out = pd.concat([current, derived], ignore_index=True)
    out = out.sort_values(["opportunity_id", "entered_at"], kind="mergesort")
    return out.reset_index(drop=True)
