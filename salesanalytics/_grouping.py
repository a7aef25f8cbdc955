"""Segments: the columns analyses group by, ``by=`` arguments as lists, and row grouping.

The row helpers work on columns, not Python objects: deal ids ranked as integers (in one
pass when already in order), positions to join by, and takes that keep the column types.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "SEGMENTS",
    "arrow_strings",
    "ascending_runs",
    "as_list",
    "check_segments",
    "id_rank",
    "in_order",
    "positions",
    "segment_columns",
    "take_rows",
]

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


def arrow_strings(values: pd.Series) -> pa.Array | None:
    """The pyarrow string array behind a pyarrow-backed string column (None otherwise)."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    arr = pa.array(values.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def id_rank(ids: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer ranks that order ``ids`` as ``sort_values`` does, and where ids are missing.

    Equal ids get equal ranks; missing ids rank last (and are flagged). Ids already in
    ascending order (the cleaned history) are ranked in one pass, without a hash or a sort.
    """
    runs = ascending_runs(ids)
    if runs is not None:
        return runs[0], None
    codes, uniques = pd.factorize(ids, sort=True)
    rank = codes.astype(np.int64)
    missing = rank < 0
    if not missing.any():
        return rank, None
    rank[missing] = len(uniques)
    return rank, missing


def ascending_runs(ids: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """For text ids already in ascending order with none missing (the cleaned history):
    each row's id as 0, 1, ... in order, and the row where each id's run starts; else None.

    >>> codes, starts = ascending_runs(pd.Series(["a", "a", "b", "c", "c"], dtype="string[pyarrow]"))
    >>> codes.tolist(), starts.tolist()
    ([0, 0, 1, 2, 2], [0, 2, 3])
    """
    n = len(ids)
    arr = arrow_strings(ids)
    if arr is None or arr.null_count or n < 2:
        return None
    head, tail = arr.slice(0, n - 1), arr.slice(1)
    if not pc.all(pc.less_equal(head, tail)).as_py():
        return None
    new = np.asarray(pc.not_equal(head, tail).to_numpy(zero_copy_only=False), dtype=bool)
    codes = np.zeros(n, dtype=np.int64)
    np.cumsum(new, out=codes[1:])
    return codes, np.flatnonzero(np.r_[True, new])


def in_order(ids: np.ndarray, ent: np.ndarray, order: np.ndarray) -> bool:
    """True when rows already ascend by (ids, ent, order): then sorting keeps them as they are."""
    if len(ids) < 2:
        return True
    di = ids[1:] - ids[:-1]
    if (di < 0).any():
        return False
    same = di == 0
    de = ent[1:] - ent[:-1]
    if (same & (de < 0)).any():
        return False
    return not (same & (de == 0) & (order[1:] < order[:-1])).any()


def positions(keys: pd.Series, ids: pd.Series) -> np.ndarray | None:
    """Row of ``ids`` holding each key (-1: none); None when ``ids`` repeat a value."""
    a, b = arrow_strings(keys), arrow_strings(ids)
    if (
        a is not None
        and b is not None
        and len(a) == len(b)
        and a.null_count == 0
        and b.null_count == 0
        and pc.all(pc.equal(a, b)).as_py()
    ):
        return np.arange(len(a))
    index = pd.Index(ids)
    if not index.is_unique:
        return None
    return index.get_indexer(keys)


def take_rows(col: pd.Series, at: np.ndarray, fill: bool) -> pd.Series:
    """``col`` at positions ``at`` (a new RangeIndex); -1 is missing when ``fill``, as a
    left join leaves it (an integer column becomes float, a bool column object)."""
    if isinstance(col.dtype, np.dtype):
        values = pd.api.extensions.take(col.to_numpy(copy=False), at, allow_fill=fill)
        return pd.Series(values, dtype=values.dtype, name=col.name)
    return pd.Series(col.array.take(at, allow_fill=fill), name=col.name)
