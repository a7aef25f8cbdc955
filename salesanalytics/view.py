"""``View``: a Dataset as it was known at one moment, the one home of time.

``dataset.at(as_of)`` cuts every table at ``as_of`` once: stage history after it is
dropped, deals created later vanish, deals closed later are shown open in the stage they
were in, amounts are those recorded by then, and leads, activities and orders after it are
gone. Every analysis accepts a View where it accepts a Dataset, so the leakage rule
("nothing after as_of") is applied here and nowhere else, and the stage transitions are
computed once per view.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._grouping import arrow_chunks, id_rank, in_order, positions, positions_in, take_rows
from ._time import as_of_ts, parse_as_of
from .schema import TABLES

if TYPE_CHECKING:  # pragma: no cover
    from .dataset import Dataset

__all__ = ["View", "explicit_frames", "rewind", "view_as_of"]

#: Table -> the column that dates its rows; rows dated after ``as_of`` are not known then.
EVENT_DATES = {
    "stage_history": "entered_at",
    "opportunities": "created_at",
    "leads": "created_at",
    "activities": "occurred_at",
    "orders": "ordered_at",
}

#: Columns filled in later than their row: blanked while still in the future at ``as_of``.
LATER_FIELDS = {
    "leads": {
        "first_response_at": ("first_response_at",),
        "converted_at": ("converted_at", "converted", "opportunity_id"),
    },
    "accounts": {"first_purchase_at": ("first_purchase_at",)},
}

RULES = {
    "stage_history": "entries after as_of dropped",
    "opportunities": "created after as_of dropped; stage, status, closed_at, close_amount and "
    "loss_reason as of as_of (the stage from the last history entry at or before it; a deal "
    "closed later is open); amount from the last history entry at or before as_of that "
    "records one",
    "leads": "created after as_of dropped; responses and conversions after as_of blanked",
    "activities": "occurred after as_of dropped",
    "orders": "ordered after as_of dropped",
    "accounts": "first_purchase_at after as_of blanked",
    "targets, products, reps": "kept (plans and reference data)",
}


class View:
    """A :class:`~salesanalytics.Dataset` as known at ``as_of`` (see :meth:`Dataset.at`).

    It has the Dataset's table attributes (``opportunities``, ``stage_history``, ``leads``,
    ...), ``stages`` and ``quality``, so every analysis accepts it. A function given a
    View uses its ``as_of`` (another ``as_of`` is a ValueError).

    Attributes
    ----------
    as_of : Timestamp
        The last instant known (a bare date means the end of that day).
    dataset : Dataset
        The full dataset the view was cut from.
    rules : dict
        What was cut or reset in each table.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> v = sa.read_dataset().at("2025-12-31")
    >>> bool((v.opportunities["created_at"] <= v.as_of).all())
    True
    >>> t = sa.stage_transitions(v)            # computed once, cached on the view
    >>> t.attrs["as_of"]
    '2025-12-31'
    """

    def __init__(self, dataset: Dataset, as_of) -> None:
        self.dataset = dataset
        self.as_of = parse_as_of(as_of)
        self.stages = dataset.stages
        self.quality = dataset.quality
        self.rejected = dataset.rejected
        self.reports = dataset.reports
        self.sources = dataset.sources
        self.source_rows = dataset.source_rows
        self.rules = dict(RULES)
        end = self.as_of
        for table in TABLES:
            df = getattr(dataset, table, None)
            setattr(self, table, None if df is None else _cut(df, table, end))
        if self.opportunities is not None:
            self.opportunities = _opportunities_then(
                self.opportunities, self.stage_history, self.stages, end
            )
        self._transitions = functools.cache(self._compute_transitions)

    # -------------------------------------------------------------- Dataset-like
    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by canonical name, in contract order."""
        return {t: getattr(self, t) for t in TABLES if getattr(self, t) is not None}

    @property
    def history_is_coarse(self) -> bool:
        """True when no stage_history table was given (history derived from dates only)."""
        return self.stage_history is None

    def summary(self) -> pd.DataFrame:
        """The full dataset's row accounting (cleaning happens before the cut)."""
        return self.dataset.summary()

    def at(self, as_of) -> View:
        """A view at an earlier (or the same) moment; a later one is a ValueError."""
        ts = parse_as_of(as_of)
        if ts == self.as_of:
            return self
        if ts > self.as_of:
            raise ValueError(
                f"as_of {ts} is after this view's {self.as_of}: a view cannot see later data"
            )
        return View(self.dataset, ts)

    def __repr__(self) -> str:
        parts = ", ".join(f"{t}={len(df):,}" for t, df in self.tables.items()) or "no tables"
        return f"View(as_of={self.as_of}; {parts}; stages={self.stages.name!r})"

    # -------------------------------------------------------------- transitions
    def transitions(self, *, reentry: str = "all") -> pd.DataFrame:
        """Stage transitions at ``as_of`` (see :func:`~salesanalytics.stage_transitions`).

        Computed once per option and cached; a copy is returned, so callers may change it.
        """
        return self._transitions(reentry).copy()

    def _compute_transitions(self, reentry: str) -> pd.DataFrame:
        from .funnel.transitions import transitions_frame

        return transitions_frame(
            self.stage_history,
            self.opportunities,
            self.stages,
            as_of=self.as_of,
            reentry=reentry,
            leads=self.leads,
        )


def view_as_of(ds, as_of):
    """``as_of`` for a function given ``ds``: a View's own, or ``as_of`` unchanged.

    A View given another ``as_of`` is a ValueError (its data stop at its own).
    """
    if not isinstance(ds, View):
        return as_of
    if as_of is None:
        return ds.as_of
    if as_of_ts(as_of) != ds.as_of:
        raise ValueError(
            f"as_of={as_of!r} differs from the view's as_of {ds.as_of}: call dataset.at(...) "
            "for another date, or leave as_of out"
        )
    return ds.as_of


def rewind(ds, as_of) -> tuple:
    """``(ds, as_of)`` for an earlier look: a View becomes ``(ds.at(as_of), as_of)``.

    For calls that refit on an earlier date inside a fit (an inner out-of-time check).
    """
    return (ds.at(as_of), as_of) if isinstance(ds, View) else (ds, as_of)


def explicit_frames(stage_history=None, opportunities=None, stages=None) -> dict:
    """The table overrides actually given, as keywords for another call."""
    given = {"stage_history": stage_history, "opportunities": opportunities, "stages": stages}
    return {k: v for k, v in given.items() if v is not None}


def _cut(df: pd.DataFrame, table: str, end: pd.Timestamp) -> pd.DataFrame:
    col = EVENT_DATES.get(table)
    out = df
    if col is not None and col in df.columns:
        late = (df[col] > end).fillna(False).to_numpy(dtype=bool)
        if late.any():
            out = df[~late].reset_index(drop=True)
    for date_col, fields in LATER_FIELDS.get(table, {}).items():
        if date_col not in out.columns:
            continue
        later = (out[date_col] > end).fillna(False).to_numpy(dtype=bool)
        if not later.any():
            continue
        out = out.copy()
        for f in fields:
            if f not in out.columns:
                continue
            if f == "converted":
                out[f] = out[f].mask(later, False)
            else:
                out[f] = out[f].mask(later)
    return out


def _opportunities_then(
    opps: pd.DataFrame, hist: pd.DataFrame | None, cfg, end: pd.Timestamp
) -> pd.DataFrame:
    """Stage, status, close fields and amount of each deal as known at ``end``."""
    o = opps.copy()
    terminal = {cfg.won, cfg.lost}
    stage_now = o["stage"]
    closed_now = stage_now.isin(terminal).fillna(False).to_numpy(dtype=bool)
    closed_late = closed_now & (o["closed_at"] > end).fillna(False).to_numpy(dtype=bool)
    last = _last_entries(o, hist, cfg) if hist is not None and len(hist) else None
    if last is not None:  # the deal's last stage entry at or before end (hist is cut at end)
        stage_then, entered_then, amount_then = last
        known = stage_then.notna().to_numpy(dtype=bool)
        if amount_then is not None:
            has = amount_then.notna().to_numpy(dtype=bool)
            o["amount"] = o["amount"].mask(has, amount_then.astype(o["amount"].dtype))
    elif hist is not None and len(hist):
        order = {k: i for i, k in enumerate(cfg.keys)}
        h = hist.assign(_o=hist["stage"].map(order))  # hist is already cut at end
        h = h.sort_values(["opportunity_id", "entered_at", "_o"], kind="mergesort")
        last = h.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")
        stage_then = o["opportunity_id"].map(last["stage"])
        entered_then = o["opportunity_id"].map(last["entered_at"])
        known = stage_then.notna().to_numpy(dtype=bool)
        if "amount" in h.columns and "amount" in o.columns:
            amt = h.dropna(subset=["amount"]).drop_duplicates("opportunity_id", keep="last")
            amount_then = o["opportunity_id"].map(amt.set_index("opportunity_id")["amount"])
            has = amount_then.notna().to_numpy(dtype=bool)
            o["amount"] = o["amount"].mask(has, amount_then.astype(o["amount"].dtype))
    else:
        stage_then = pd.Series(pd.NA, index=o.index, dtype="string")
        entered_then = pd.Series(pd.NaT, index=o.index, dtype="datetime64[ns]")
        known = np.zeros(len(o), bool)
    # a close recorded at or before end stands; otherwise the stage of the last history
    # entry at or before end; without one, the current stage unless the close came later
    closed_by_end = closed_now & (o["closed_at"] <= end).fillna(False).to_numpy(dtype=bool)
    entry = cfg.coarse_entry or cfg.open_keys[0]
    fallback = stage_now.mask(closed_late, entry)
    new_stage = stage_then.where(known & ~closed_by_end, fallback).astype(stage_now.dtype)
    closed_then = new_stage.isin(terminal).fillna(False).to_numpy(dtype=bool)
    unchanged = (new_stage == stage_now).fillna(False).to_numpy(dtype=bool)
    same_close = closed_then & unchanged & ~closed_late
    reset = ~same_close  # close fields not (yet) known at end
    o["stage"] = new_stage
    if "status" in o.columns:
        o["status"] = cfg.status(new_stage).astype(o["status"].dtype)
    if "closed_at" in o.columns:
        closed_at = o["closed_at"].mask(reset)
        # closed by end per the history, though the record shows another close
        from_hist = closed_then & ~same_close
        o["closed_at"] = closed_at.mask(from_hist, entered_then.astype(closed_at.dtype))
    for c in ("close_amount", "loss_reason"):
        if c in o.columns:
            o[c] = o[c].mask(reset)
    return o


def _last_entries(o: pd.DataFrame, hist: pd.DataFrame, cfg) -> tuple | None:
    """Per opportunity of ``o``: stage and entered_at of its last history entry (in
    (entered_at, stage order) order) and the last amount recorded, as ``Series.map`` would
    give them; None when the ids are not pyarrow strings without gaps (the general path).

    Columnar: ids ranked once (no sort when the history is in order), the last row of each
    deal read from the run ends, the opportunities joined by position.
    """
    ids = hist["opportunity_id"]
    if (
        arrow_chunks(ids) is None
        or arrow_chunks(o["opportunity_id"]) is None
        or ids.isna().any()
        or o["opportunity_id"].isna().any()
        or not isinstance(hist["entered_at"].dtype, np.dtype)
        or hist["entered_at"].dtype.kind != "M"
    ):
        return None
    rank, _ = id_rank(ids)
    ent = hist["entered_at"].to_numpy().view("int64")
    ent = np.where(hist["entered_at"].isna().to_numpy(), np.iinfo(np.int64).max, ent)  # NaT last
    stage_pos = positions_in(hist["stage"], cfg.keys)
    order = np.where(stage_pos < 0, len(cfg.keys), stage_pos)  # unknown or missing: last
    row = np.arange(len(hist))
    if not in_order(rank, ent, order):
        row = np.lexsort((order, ent, rank))
    r = rank[row]
    end = np.flatnonzero(np.append(r[1:] != r[:-1], True))
    last_rows = row[end]
    deal_of = positions(o["opportunity_id"], ids.take(last_rows).reset_index(drop=True))
    if deal_of is None:  # cannot happen (one row per id), kept for safety
        return None
    missing = bool((deal_of < 0).any())
    at = np.where(deal_of < 0, -1, last_rows[np.maximum(deal_of, 0)])
    stage_then = take_rows(hist["stage"], at, missing)
    entered_then = take_rows(hist["entered_at"], at, missing)
    amount_then = None
    if "amount" in hist.columns and "amount" in o.columns:
        has = hist["amount"].notna().to_numpy(dtype=bool)[row]
        start = np.append(0, end[:-1] + 1)
        best = np.maximum.reduceat(np.where(has, np.arange(len(row)), -1), start)
        best_row = np.where(best < 0, -1, row[np.maximum(best, 0)])
        at = np.where(deal_of < 0, -1, best_row[np.maximum(deal_of, 0)])
        amount_then = take_rows(hist["amount"], at, bool((at < 0).any()))
    return (
        stage_then.set_axis(o.index),
        entered_then.set_axis(o.index),
        None if amount_then is None else amount_then.set_axis(o.index),
    )
