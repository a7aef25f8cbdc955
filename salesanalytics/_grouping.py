"""Segments: the columns analyses group by, and ``by=`` arguments as lists."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["SEGMENTS", "as_list", "check_segments", "segment_columns"]

#: Opportunity columns carried as segments into per-deal tables (transitions, pipelines).
SEGMENTS = ("channel", "owner", "region", "team", "industry", "product", "account_id")


def as_list(by: str | Iterable[str] | None) -> list[str]:
    """A ``by=`` argument as a list of column names.

    >>> as_list("channel"), as_list(None), as_list(("owner", "region"))
    (['channel'], [], ['owner', 'region'])
    """
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def segment_columns(df: pd.DataFrame, extra: Iterable[str] = ()) -> list[str]:
    """The segment columns (then ``extra``) that ``df`` has, in a fixed order.

    >>> segment_columns(pd.DataFrame(columns=["owner", "amount", "channel"]), ["amount"])
    ['channel', 'owner', 'amount']
    """
    return [c for c in (*SEGMENTS, *extra) if c in df.columns]


def check_segments(by: Iterable[str], df: pd.DataFrame) -> None:
    """ValueError naming the ``by`` columns that ``df`` lacks (and the ones it has)."""
    missing = [b for b in by if b not in df.columns]
    if missing:
        raise ValueError(f"unknown segment column(s) {missing}; available: {list(df.columns)}")
