"""A small, consistent copy of data/sample for tests that execute notebooks or many runs.

Every 11th opportunity (so the copy spans the whole two years) with its stage history and
activities, the leads that became those deals plus every 12th other lead, every 6th order,
and the reference tables (targets, accounts, products, reps) whole. ~310 deals.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesanalytics import _paths

ALL_TABLES = (
    "opportunities",
    "stage_history",
    "leads",
    "activities",
    "orders",
    "targets",
    "accounts",
    "products",
    "reps",
)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(_paths.SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)


def write_small_sample(
    dst: Path, tables=ALL_TABLES, *, every: int = 11, lead_every: int = 12, empty=()
) -> Path:
    """Write the small copy (only ``tables``; those in ``empty`` header-only) into ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    opps = _read("opportunities").iloc[::every]
    ids = set(opps["opportunity_id"])
    leads = _read("leads")
    keep_leads = leads["opportunity_id"].isin(ids) | (leads.index % lead_every == 0)
    frames = {
        "opportunities": opps,
        "stage_history": (sh := _read("stage_history"))[sh["opportunity_id"].isin(ids)],
        "leads": leads[keep_leads],
        "activities": (a := _read("activities"))[a["opportunity_id"].isin(ids)],
        "orders": _read("orders").iloc[::6],
        "targets": _read("targets"),
        "accounts": _read("accounts"),
        "products": _read("products"),
        "reps": _read("reps"),
    }
    for name in tables:
        df = frames[name]
        if name in empty:
            df = df.iloc[:0]
        df.to_csv(dst / f"{name}.csv", index=False, lineterminator="\n")
    return dst
