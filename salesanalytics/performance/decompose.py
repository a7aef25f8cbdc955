"""Splitting an annual target by region, product or rep, month by month [002]."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ._base import as_list, end_of, won

__all__ = ["decompose_target", "largest_remainder"]


def largest_remainder(total: float, weights, *, unit: float = 1.0) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` into multiples of ``unit`` summing exactly.

    Each part gets the whole units of its exact share; the units left go one each to the
    largest remainders (ties to the earlier part).

    Examples
    --------
    >>> largest_remainder(100, [1, 1, 1]).tolist()
    [34.0, 33.0, 33.0]
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or (w < 0).any() or not w.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    units = total / unit
    if not np.isclose(units, round(units)):
        raise ValueError(f"total {total} is not a whole number of units of {unit}")
    units = int(round(units))
    exact = units * w / w.sum()
    base = np.floor(exact + 1e-9).astype(np.int64)
    left = units - int(base.sum())
    order = np.lexsort((np.arange(len(w)), -(exact - base)))
    base[order[:left]] += 1
    return base.astype(float) * unit


def decompose_target(
    total: float,
    dataset: Dataset | None = None,
    *,
    by: str | Sequence[str],
    year: int | None = None,
    method: str | Mapping = "history",
    as_of=None,
    unit: float = 1.0,
) -> pd.DataFrame:
    """A suggested split of an annual target by ``by`` (region, product, rep), per month.

    ``method``:

    - ``"history"``: each (``by``, calendar month) cell gets the share it had of the
      bookings of the 12 months before ``year`` (up to ``as_of``), so the split follows
      both who sold and the seasonality;
    - ``"equal"``: the same amount for every ``by`` value (those in the history, or in the
      targets table) and month;
    - a mapping ``{value: weight}``: ``by`` shares from the weights, months equal.

    Amounts are multiples of ``unit`` (e.g. 10000 for 万元) and sum exactly to ``total``
    (largest-remainder rounding), so the split can be typed into the target sheet as is.
    ``year`` defaults to the year after ``as_of`` (or after the last closed deal).

    Returns
    -------
    DataFrame
        ``period`` (YYYY-MM), the ``by`` columns, ``share`` and ``target_amount``, in the
        targets table's layout.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> d = sa.decompose_target(1_200_000, sa.read_dataset(), by="region", year=2026,
    ...                         as_of="2025-12-31", unit=1000)
    >>> float(d["target_amount"].sum()), len(d)
    (1200000.0, 36)
    """
    by = as_list(by)
    if year is None:
        if dataset is None and as_of is None:
            raise ValueError("year is needed without a dataset or as_of")
        last = end_of(as_of, *(((dataset.opportunities, "closed_at"),) if dataset else ()))
        year = last.year + 1
    if not by:
        raise ValueError("by names at least one column (region, product, owner...)")
    months = pd.period_range(f"{year}-01", f"{year}-12", freq="M")
    if isinstance(method, Mapping):
        keys = list(method)
        grid = pd.DataFrame([(str(m), k) for k in keys for m in months], columns=["period", "_key"])
        weights = np.array([float(method[k]) for k in keys for _ in months])
        grid[by[0]] = grid.pop("_key")
        basis = "given weights, months equal"
        if len(by) > 1:
            raise ValueError("weights split one column: give a single by")
    elif method in ("history", "equal"):
        if dataset is None:
            raise ValueError(f"method={method!r} needs the dataset")
        hist = _history(dataset, by, year, as_of)
        if method == "history":
            if hist.empty or not hist["booked"].sum() > 0:
                raise ValueError(f"no bookings in the 12 months before {year} to split by")
            cells = (
                hist.groupby([*by, "month"], dropna=False, sort=True)["booked"].sum().reset_index()
            )
            grid = cells.assign(period=[f"{year}-{m:02d}" for m in cells["month"]])
            weights = grid["booked"].to_numpy(dtype=float)
            basis = "bookings of " + hist.attrs["window"]
        else:
            keys = _keys(dataset, hist, by)
            grid = pd.DataFrame(
                [(*k, str(m)) for k in keys for m in months], columns=[*by, "period"]
            )
            weights = np.ones(len(grid))
            basis = "equal"
    else:
        raise ValueError(f"method must be 'history', 'equal' or a mapping, got {method!r}")
    grid = grid[["period", *by]].copy()
    grid["share"] = weights / weights.sum()
    grid["target_amount"] = largest_remainder(total, weights, unit=unit)
    grid = grid.sort_values([*by, "period"], kind="mergesort").reset_index(drop=True)
    grid.attrs = {
        "total": total,
        "year": year,
        "method": basis,
        "unit": unit,
        "by": by,
        "rule": "largest-remainder rounding: the parts sum exactly to the total",
    }
    return grid


def _history(dataset: Dataset, by, year, as_of) -> pd.DataFrame:
    cut = pd.Timestamp(f"{year}-01-01") - pd.Timedelta(microseconds=1)
    if as_of is not None:
        cut = min(cut, end_of(as_of))
    w = won(dataset, as_of=cut)
    missing = [b for b in by if b not in w]
    if missing:
        raise ValueError(f"won deals have no column(s) {missing} to split by")
    since = cut - pd.DateOffset(years=1)
    w = w[(w["won_at"] > since) & (w["won_at"] <= cut)]
    w = w.assign(month=w["won_at"].dt.month)
    w.attrs = {"window": f"{since.date() + pd.Timedelta(days=1)} to {cut.date()}"}
    return w


def _keys(dataset, hist, by) -> list[tuple]:
    if not hist.empty:
        return sorted(map(tuple, hist[by].astype(str).drop_duplicates().to_numpy()))
    t = dataset.targets
    if t is not None and all(b in t for b in by):
        return sorted(map(tuple, t[by].astype(str).dropna().drop_duplicates().to_numpy()))
    raise ValueError("no history and no targets to list the values of by")
