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
    "arrow_chunks",
    "arrow_strings",
    "ascending_runs",
    "as_list",
    "check_segments",
    "id_rank",
    "id_starts",
    "in_order",
    "positions",
    "positions_in",
    "segment_columns",
    "take_labels",
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


def arrow_chunks(values: pd.Series) -> pa.ChunkedArray | None:
    """The pyarrow chunks behind a pyarrow-backed string column, as they are (None otherwise).

    Compute functions (comparisons, ``index_in``, ``filter``) run chunk by chunk, so the
    chunks of a column read from a CSV need not be copied into one array first.
    """
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    arr = pa.array(values.array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def arrow_strings(values: pd.Series) -> pa.Array | None:
    """The pyarrow string array behind a pyarrow-backed string column (None otherwise)."""
    arr = arrow_chunks(values)
    return None if arr is None else arr.combine_chunks()


def id_starts(ids: pd.Series) -> np.ndarray | None:
    """Where a new id begins (True at row 0 and where the id differs from the row before).

    Only for pyarrow strings without missing values already in ascending order (the cleaned
    history): checked and computed in two comparisons of neighbouring rows, chunk by chunk.
    None otherwise.
    """
    n = len(ids)
    arr = arrow_chunks(ids)
    if arr is None or arr.null_count or n < 2:
        return None
    head, tail = arr.slice(0, n - 1), arr.slice(1)
    if not pc.all(pc.less_equal(head, tail)).as_py():
        return None
    start = np.empty(n, dtype=bool)
    start[0] = True
    start[1:] = pc.not_equal(head, tail).to_numpy(zero_copy_only=False)
    return start


def id_rank(ids: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer ranks that order ``ids`` as ``sort_values`` does, and where ids are missing.

    Equal ids get equal ranks; missing ids rank last (and are flagged). Ids already in
    ascending order (the cleaned history) are ranked in one pass, without a hash or a sort.
    """
    start = id_starts(ids)
    if start is not None:
        rank = np.cumsum(start, dtype=np.int64)
        rank -= 1
        return rank, None
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

    >>> ids = pd.Series(["a", "a", "b", "c", "c"], dtype="string[pyarrow]")
    >>> codes, starts = ascending_runs(ids)
    >>> codes.tolist(), starts.tolist()
    ([0, 0, 1, 2, 2], [0, 2, 3])
    """
    start = id_starts(ids)
    if start is None:
        return None
    codes = np.cumsum(start, dtype=np.int64)
    codes -= 1
    return codes, np.flatnonzero(start)


def positions_in(values: pd.Series, names, dtype=np.int64) -> np.ndarray:
    """Position of each value in the list ``names`` (-1: missing or not there), as
    ``dtype``; one lookup in C over the chunks of a pyarrow string column.

    >>> positions_in(pd.Series(["b", None, "z", "a"], dtype="string[pyarrow]"), ["a", "b"])
    array([ 1, -1, -1,  0])
    """
    arr = arrow_chunks(values)
    if arr is not None:
        pos = pc.index_in(arr, value_set=pa.array(list(names), type=arr.type))
        if pos.null_count:
            pos = pos.fill_null(-1)
        return pos.cast(pa.from_numpy_dtype(np.dtype(dtype))).to_numpy()
    index = pd.Index(list(names), dtype=object)
    return index.get_indexer(values.astype(object)).astype(dtype)


def in_order(ids: np.ndarray, ent: np.ndarray, order: np.ndarray) -> bool:
    """True when rows already ascend by (ids, ent, order): then sorting keeps them as they are."""
    if len(ids) < 2:
        return True
    if (ids[1:] < ids[:-1]).any():
        return False
    same = ids[1:] == ids[:-1]
    if (same & (ent[1:] < ent[:-1])).any():
        return False
    same &= ent[1:] == ent[:-1]
    same &= order[1:] < order[:-1]
    return not same.any()


def positions(keys: pd.Series, ids: pd.Series) -> np.ndarray | None:
    """Row of ``ids`` holding each key (-1: none); None when ``ids`` repeat a value."""
    a, b = arrow_chunks(keys), arrow_chunks(ids)
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
    left join leaves it (an integer column becomes float, a bool column object).

    Ascending positions into a column of several pyarrow chunks are a filter, chunk by
    chunk (a take would first copy the chunks into one array).
    """
    if isinstance(col.dtype, np.dtype):
        values = pd.api.extensions.take(col.to_numpy(copy=False), at, allow_fill=fill)
        return pd.Series(values, dtype=values.dtype, name=col.name, copy=False)  # a new array
    chunks = arrow_chunks(col)
    if chunks is not None and chunks.num_chunks > 1 and len(at) and at[0] >= 0:
        if len(at) == 1 or (at[1:] > at[:-1]).all():
            mask = np.zeros(len(col), dtype=bool)
            mask[at] = True
            return pd.Series(pd.array(chunks.filter(mask), dtype=col.dtype), name=col.name)
    return pd.Series(col.array.take(at, allow_fill=fill), name=col.name)


def take_labels(col: pd.Series, at: np.ndarray, fill: bool) -> pd.Series:
    """:func:`take_rows` for a column of few distinct strings (a segment such as channel).

    The column is encoded once against its distinct values; the codes are taken and the
    strings rebuilt from the dictionary, which costs a fraction of taking the strings.
    Other columns are taken as they are.
    """
    chunks = arrow_chunks(col)
    if chunks is None or len(col) == 0:
        return take_rows(col, at, fill)
    encoded = pc.dictionary_encode(chunks).combine_chunks()
    if 4 * len(encoded.dictionary) > len(col):
        return take_rows(col, at, fill)
    codes = encoded.indices
    if codes.null_count:
        codes = codes.fill_null(-1)
    picked = np.take(codes.to_numpy(), at)
    if fill:
        picked[at < 0] = -1
    missing = picked < 0
    labels = pa.DictionaryArray.from_arrays(
        pa.array(picked, mask=missing if missing.any() else None), encoded.dictionary
    )
    return pd.Series(pd.array(labels.cast(chunks.type), dtype=col.dtype), name=col.name)
