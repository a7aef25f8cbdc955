"""Per-deal stage tracking: one row per opportunity and stage visit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .._grouping import (
    arrow_chunks,
    id_rank,
    id_starts,
    in_order,
    positions,
    positions_in,
    segment_columns,
    take_labels,
    take_rows,
)
from .._time import as_of_ts
from ..dataset import Dataset
from ..engine.connect import is_engine
from ..stages import StageConfig
from ..view import View, view_as_of
from ._common import inputs

__all__ = ["stage_transitions", "coarse_history", "COUNTING_RULES"]

COUNTING_RULES = {
    "skipped": "'reached': a deal that jumps past a stage counts as having reached it; "
    "'not_reached': only stages actually entered count",
    "reentry": "'first': a stage entered twice counts once, from its first entry; "
    "'last': once, from its last entry; 'all': every visit counts",
    "backward": "a move to an earlier stage is outcome 'regressed'; the stage left is not "
    "counted as advanced",
}


def coarse_history(opportunities: pd.DataFrame, stages: StageConfig) -> pd.DataFrame:
    """A stage history derived from opportunities alone (no per-stage timestamps).

    Each deal enters at ``created_at``: closed deals at the config's ``coarse_entry`` stage
    (default: the first open stage), open deals at their current stage; closed deals then
    enter won/lost at ``closed_at``. Dwell before a close is created-to-close.
    """
    entry = stages.coarse_entry or stages.open_keys[0]
    o = opportunities
    closed = o["status"].isin(["won", "lost"]).to_numpy()
    first = pd.DataFrame(
        {
            "opportunity_id": o["opportunity_id"].to_numpy(),
            "stage": np.where(closed, entry, o["stage"].to_numpy()),
            "entered_at": o["created_at"].to_numpy(),
        }
    )
    term = o[closed & o["closed_at"].notna().to_numpy()]
    last = pd.DataFrame(
        {
            "opportunity_id": term["opportunity_id"].to_numpy(),
            "stage": term["stage"].to_numpy(),
            "entered_at": term["closed_at"].to_numpy(),
        }
    )
    h = pd.concat([first, last], ignore_index=True)
    return h.sort_values(["opportunity_id", "entered_at"], kind="mergesort").reset_index(drop=True)


def stage_transitions(
    ds: Dataset | None = None,
    *,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
    as_of=None,
    reentry: str = "all",
) -> pd.DataFrame:
    """One row per opportunity and open-stage visit, with how the visit ended.

    Parameters
    ----------
    ds
        A Dataset, a View (``dataset.at(as_of)``: its transitions are computed once and a
        copy is returned), or None with ``stage_history`` and ``opportunities``.
    stage_history, opportunities, stages
        Tables and stage config to use instead of the dataset's.
    as_of
        Snapshot: history after it is ignored, and a visit still running at ``as_of`` is
        ``open`` (censored: its dwell so far is not a finished dwell). Default: latest date
        in the data. Given a View: the view's (another date is a ValueError).
    reentry
        ``"all"`` keeps every visit; ``"first"`` / ``"last"`` keep one visit per deal and
        stage (the outcome and dwell of that visit).

    Returns
    -------
    DataFrame
        opportunity_id, stage, order (funnel position), visit (1 = first), entered_at,
        exited_at (NaT while open), next_stage, dwell_days (to exit, or to ``as_of`` when
        open), outcome (``advanced``, ``skipped`` = advanced past one or more stages,
        ``regressed``, ``won``, ``lost``, ``open``), censored, and the deal's segment columns
        (channel, owner, region, ...). ``attrs`` hold the counting rules and whether the
        history is coarse (derived from opportunities only).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> t = sa.stage_transitions(sa.read_dataset(), as_of="2026-06-30")
    >>> bool(t["outcome"].isin(["advanced", "skipped", "regressed", "won", "lost", "open"]).all())
    True
    """
    if is_engine(ds):  # a lazy table in the engine (see salesanalytics.engine)
        from ..engine.expressions import transitions

        return transitions(ds, as_of=as_of, reentry=reentry)
    if reentry not in ("all", "first", "last"):
        raise ValueError("reentry must be 'all', 'first' or 'last'")
    if isinstance(ds, View) and stage_history is None and opportunities is None and stages is None:
        view_as_of(ds, as_of)  # another as_of is a ValueError
        return ds.transitions(reentry=reentry)
    as_of = view_as_of(ds, as_of)
    hist, opps, cfg = inputs(ds, stage_history, opportunities, stages)
    return transitions_frame(
        hist, opps, cfg, as_of=as_of, reentry=reentry, leads=None if ds is None else ds.leads
    )


def transitions_frame(
    hist: pd.DataFrame | None,
    opps: pd.DataFrame | None,
    cfg: StageConfig,
    *,
    as_of,
    reentry: str,
    leads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The body of :func:`stage_transitions` on explicit tables (what a View caches).

    Columnar throughout: the deal ids are ranked once as integers (a history already in
    order, as the cleaned data are, is checked in one pass and not sorted again), next
    stage / exit / outcome / dwell come from shifted arrays, and the deal's segments are
    joined through row positions. At a million deals the time goes mostly into touching
    new memory, so the working arrays stay narrow, each output column is written once at
    its final type, and the frame takes the columns as they are (no stacking into blocks).
    """
    coarse = hist is None
    if coarse:
        if opps is None:
            raise ValueError("stage_transitions needs stage_history or opportunities")
        hist = coarse_history(opps, cfg)
    t_as_of = as_of_ts(as_of, (hist, "entered_at"))
    v = _visits(hist, cfg, t_as_of)
    keep = _reentry_rows(v, reentry)
    columns = _visit_columns(hist, cfg, v, keep, t_as_of)
    if opps is None:
        out = _frame(columns)
    else:
        out = _with_segments(columns, _with_lead_grade(opps, leads), v, keep)
    out.attrs = {
        "as_of": str(t_as_of.date()),
        "reentry": reentry,
        "coarse_history": coarse,
        "counting_rules": COUNTING_RULES,
        "note": (
            "coarse history derived from opportunities (created and closed dates only): "
            "stage dwell and conversion between open stages are not observed"
        )
        if coarse
        else "",
    }
    return out


_COLUMNS = [
    "opportunity_id",
    "stage",
    "order",
    "visit",
    "entered_at",
    "exited_at",
    "next_stage",
    "dwell_days",
    "outcome",
    "censored",
]

#: Outcome codes of :class:`_Visits` (``outcome`` holds these labels).
_OUTCOMES = ("open", "won", "lost", "regressed", "advanced", "skipped")


@dataclass(frozen=True)
class _Visits:
    """Open-stage visits up to ``as_of``, as arrays in output order.

    ``rows``: the history rows of the visits, as a boolean mask over the history when they
    ascend (a history already in order) or else as positions; ``deal``: a number per deal,
    ascending in output order (a missing id is a deal of its own); ``order``: funnel
    position of the stage; ``nxt_order``: that of the deal's next history entry (-1:
    none); ``entered`` / ``exited``: when the visit began (the history's unit) and ended
    (ns; NaT while open); ``outcome``: code in :data:`_OUTCOMES`; ``visit``: 1 for the
    first visit of the stage and ``n_visits``: the deal's visits of the stage (both None
    when no deal visits a stage twice); ``no_id``: the id is missing (its visit is NaN).
    """

    rows: np.ndarray
    deal: np.ndarray
    order: np.ndarray
    nxt_order: np.ndarray
    entered: np.ndarray
    exited: np.ndarray
    outcome: np.ndarray
    visit: np.ndarray | None
    n_visits: np.ndarray | None
    no_id: np.ndarray | None

    def __len__(self) -> int:
        return len(self.order)


def _visits(hist: pd.DataFrame, cfg: StageConfig, t_as_of: pd.Timestamp) -> _Visits:
    """History entries up to ``t_as_of`` in (opportunity, entered_at, stage order) order.

    Arrays stay as narrow as they can (stage positions in one byte, deal numbers in four)
    and are copied only where rows drop out: most of the time here is spent touching
    memory, not computing.
    """
    known = (hist["entered_at"] <= t_as_of).to_numpy(dtype=bool)
    order = _stage_order(hist["stage"], cfg)
    ent = hist["entered_at"].to_numpy()
    start = id_starts(hist["opportunity_id"])
    if start is not None:  # ids in order: the rank is a running count of new ids
        ids, missing = np.cumsum(start, dtype=_index_type(len(start))), None
    else:
        ids, missing = id_rank(hist["opportunity_id"])
    row = None  # None: every history row, in history order
    if not known.all():  # history after as_of is not known then
        row = np.flatnonzero(known)
        order, ids, ent = order[row], ids[row], ent[row]
        missing = None if missing is None else missing[row]
    if (order < 0).any():
        bad_rows = np.flatnonzero(order < 0) if row is None else row[order < 0]
        bad = sorted(set(hist["stage"].take(bad_rows).astype(str)))
        raise ValueError(f"stage_history has stages not in stage config {cfg.name!r}: {bad}")
    ascending = in_order(ids, ent.view("int64"), order)
    if not ascending:  # a stable sort, as sort_values(kind="mergesort")
        perm = np.lexsort((order, ent.view("int64"), ids))
        row = perm if row is None else row[perm]
        ids, ent, order = ids[perm], ent[perm], order[perm]
        missing = None if missing is None else missing[perm]
    n = len(order)
    same = np.zeros(n, dtype=bool)  # the next row belongs to the same deal
    same[:-1] = ids[1:] == ids[:-1]
    deal = ids
    if missing is not None:  # a missing id never continues the row before
        same[:-1] &= ~missing[:-1]
        deal = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(~same[:-1], out=deal[1:])
    nxt_order = np.full(n, -1, dtype=order.dtype)
    nxt_order[:-1] = order[1:]
    nxt_order[~same] = -1
    sel = order < len(cfg.open_keys)
    deal_sel, order_sel, nxt_sel = deal[sel], order[sel], nxt_order[sel]
    visit, n_visits = _visit_numbers(deal, order, nxt_order, deal_sel, order_sel)
    if row is None:
        rows = sel
    elif ascending:
        rows = np.zeros(len(hist), dtype=bool)
        rows[row] = sel
    else:
        rows = row[sel]
    return _Visits(
        rows=rows,
        deal=deal_sel,
        order=order_sel,
        nxt_order=nxt_sel,
        entered=ent[sel],
        exited=_next_entries(ent.astype("datetime64[ns]", copy=False), same, sel),
        outcome=_outcome_codes(order_sel, nxt_sel, cfg),
        visit=visit,
        n_visits=n_visits,
        no_id=None if missing is None else missing[sel],
    )


def _index_type(n: int) -> type:
    """The narrowest integer type numbering ``n`` rows."""
    return np.int32 if n < 2**31 - 1 else np.int64


def _stage_order(stage: pd.Series, cfg: StageConfig) -> np.ndarray:
    """Funnel position of each stage value (-1: not a stage of ``cfg``, or missing).

    One byte per row for any realistic config (up to 127 stages)."""
    return positions_in(stage, cfg.keys, dtype=np.int8 if len(cfg.keys) < 127 else np.int32)


def _next_entries(ent: np.ndarray, same: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """For the rows of ``sel``: when the deal's next row begins (NaT: no next row)."""
    out = np.empty(int(np.count_nonzero(sel)), dtype=ent.dtype)
    if len(sel):
        k = int(np.count_nonzero(sel[:-1]))
        np.compress(sel[:-1], ent[1:], out=out[:k])
        out[k:] = np.datetime64("NaT")
        out[~same[sel]] = np.datetime64("NaT")
    return out


def _outcome_codes(order: np.ndarray, nxt: np.ndarray, cfg: StageConfig) -> np.ndarray:
    """Code in :data:`_OUTCOMES` of each visit, from its stage and the next one (-1: none)."""
    won, lost = cfg.keys.index(cfg.won), cfg.keys.index(cfg.lost)
    outcome = np.full(len(order), 5, dtype=np.int8)  # skipped, unless an earlier rule holds
    outcome[nxt == order + 1] = 4
    outcome[nxt < order] = 3
    outcome[nxt == lost] = 2
    outcome[nxt == won] = 1
    outcome[nxt < 0] = 0
    return outcome


def _visit_numbers(
    deal: np.ndarray,
    order: np.ndarray,
    nxt_order: np.ndarray,
    deal_sel: np.ndarray,
    order_sel: np.ndarray,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Visit number of each selected row's stage within its deal (1 = first), and the
    deal's visits of it; None, None when no deal visits a stage twice.

    Only a deal that moves back or repeats a stage (next order <= this order, over all of
    its rows) can visit a stage twice; the selected rows of those deals alone are ranked.
    """
    back = (nxt_order >= 0) & (nxt_order <= order)
    if not back.any():
        return None, None
    flagged = np.zeros(int(deal[-1]) + 1, dtype=bool)
    flagged[deal[back]] = True
    idx = np.flatnonzero(flagged[deal_sel])
    key = deal_sel[idx].astype(np.int64) * (int(order.max()) + 1) + order_sel[idx]
    perm = np.argsort(key, kind="stable")
    k = key[perm]
    start = np.ones(len(k), dtype=bool)
    start[1:] = k[1:] != k[:-1]
    first = np.flatnonzero(start)
    run = np.cumsum(start) - 1
    counts = np.diff(np.append(first, len(k)))
    visit = np.ones(len(deal_sel), dtype=np.int64)
    n_visits = np.ones(len(deal_sel), dtype=np.int64)
    visit[idx[perm]] = np.arange(len(k)) - first[run] + 1
    n_visits[idx[perm]] = counts[run]
    return visit, n_visits


def _reentry_rows(v: _Visits, reentry: str) -> np.ndarray | None:
    """Positions of the visits kept: the first / last visit of each deal and stage (None:
    all of them)."""
    if reentry == "all":
        return None
    if v.visit is None:  # every stage visited once
        keep = np.ones(len(v), dtype=bool)
    elif reentry == "first":
        keep = v.visit == 1
    else:
        keep = v.visit == v.n_visits
    if v.no_id is not None:  # rows without an id count as one deal in drop_duplicates
        keep = keep & ~v.no_id | (v.no_id & _first_or_last(v, reentry))
    return None if keep.all() else np.flatnonzero(keep)


def _first_or_last(v: _Visits, reentry: str) -> np.ndarray:
    """Among rows without an id: the first / last row of each stage."""
    out = np.zeros(len(v), dtype=bool)
    idx = np.flatnonzero(v.no_id)
    stages = v.order[idx]
    pick = idx[::-1] if reentry == "last" else idx
    _, at = np.unique(stages[::-1] if reentry == "last" else stages, return_index=True)
    out[pick[at]] = True
    return out


def _visit_columns(
    hist: pd.DataFrame, cfg: StageConfig, v: _Visits, keep: np.ndarray | None, t_as_of
) -> dict:
    """The transition columns of the kept visits (``_COLUMNS``, in that order).

    Each column is built once at its final type: the stage from the stage positions, the
    ids filtered chunk by chunk, labels from small integer codes through a dictionary.
    """

    def kept(values: np.ndarray) -> np.ndarray:
        return values if keep is None else values[keep]

    rows = v.rows if keep is None else _kept_rows(v.rows, keep)
    order, outcome = kept(v.order), kept(v.outcome)
    entered, exited = kept(v.entered), kept(v.exited)
    if v.visit is None:
        visit = np.ones(len(order), dtype=np.int64)
    else:
        visit = kept(v.visit)
    if v.no_id is not None and kept(v.no_id).any():  # groupby cumcount skips missing ids
        visit = np.where(kept(v.no_id), np.nan, visit)
    return {
        "opportunity_id": _history_rows(hist["opportunity_id"], rows),
        "stage": _stage_labels(hist["stage"], rows, order, cfg),
        "order": order.astype(np.int64),
        "visit": visit,
        "entered_at": entered,
        "exited_at": exited,
        "next_stage": _labels(kept(v.nxt_order), cfg.keys, "string"),
        "dwell_days": _dwell_days(entered, exited, t_as_of),
        "outcome": _labels(outcome, _OUTCOMES, "str"),
        "censored": outcome == 0,
    }


def _kept_rows(rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``rows`` (a mask over the history, or positions) narrowed to the visits ``keep``."""
    if rows.dtype != bool:
        return rows[keep]
    out = np.zeros(len(rows), dtype=bool)
    out[np.flatnonzero(rows)[keep]] = True
    return out


def _history_rows(col: pd.Series, rows: np.ndarray) -> pd.Series:
    """A history column at ``rows`` (a boolean mask or positions), with a new RangeIndex."""
    chunks = arrow_chunks(col)
    if rows.dtype == bool and chunks is not None:
        return pd.Series(pd.array(chunks.filter(rows), dtype=col.dtype), name=col.name)
    return take_rows(col, np.flatnonzero(rows) if rows.dtype == bool else rows, False)


def _stage_labels(stage: pd.Series, rows: np.ndarray, order: np.ndarray, cfg: StageConfig):
    """The stage of each visit: the config's key at its position (the stage column holds
    exactly those keys), as a column of the history's string type."""
    chunks = arrow_chunks(stage)
    if chunks is None:
        return _history_rows(stage, rows)
    dictionary = pa.array(list(cfg.keys), type=chunks.type)
    values = pa.DictionaryArray.from_arrays(pa.array(order), dictionary).cast(chunks.type)
    return pd.Series(pd.array(values, dtype=stage.dtype), name=stage.name)


def _dwell_days(entered: np.ndarray, exited: np.ndarray, t_as_of: pd.Timestamp) -> np.ndarray:
    """Days from entry to exit (to ``t_as_of`` while open), as Timedelta.total_seconds / 86400.

    Spans of whole seconds (all but the open visits, usually) are divided in place in
    integer nanoseconds, which equals total_seconds exactly; the others go through pandas.
    """
    start = np.asarray(entered, "datetime64[ns]").view(np.int64)
    days = np.empty(len(start), dtype=np.float64)
    span = days.view(np.int64)  # the nanoseconds, overwritten by the days below
    np.subtract(exited.view(np.int64), start, out=span)
    running = np.isnat(exited)  # open at as_of
    np.subtract(t_as_of.as_unit("ns").value, start, out=span, where=running)
    if len(span) and (span.max() >= 2**62 or span.min() <= -(2**62)):
        part = np.arange(len(span))  # beyond exact float division: all through pandas
    else:
        part = np.flatnonzero(np.remainder(span, 10**9))
    other = span[part].view("timedelta64[ns]")
    np.divide(span, 1e9, out=days)
    if len(part):
        days[part] = pd.Series(other).dt.total_seconds().to_numpy()
    days /= 86400.0
    return days


def _labels(codes: np.ndarray, labels, dtype: str) -> pd.api.extensions.ExtensionArray:
    """``labels[code]`` as a string array of ``dtype`` (a negative code: missing)."""
    dictionary = pa.array(list(labels), type=pa.large_string())
    missing = codes < 0
    idx = pa.array(codes, mask=missing if missing.any() else None)
    values = pa.DictionaryArray.from_arrays(idx, dictionary).cast(pa.large_string())
    return pd.array(values, dtype=dtype)


def _with_lead_grade(opps: pd.DataFrame, leads: pd.DataFrame | None) -> pd.DataFrame:
    """The opportunities with the grade of the lead they came from (when they have none)."""
    if leads is None or "grade" in opps.columns:
        return opps
    ld = leads.dropna(subset=["opportunity_id"]) if "opportunity_id" in leads else None
    if ld is None or "grade" not in ld.columns or not len(ld):
        return opps
    grade = ld.drop_duplicates("opportunity_id").set_index("opportunity_id")["grade"]
    return opps.assign(grade=opps["opportunity_id"].map(grade))


def _with_segments(
    columns: dict, opps: pd.DataFrame, v: _Visits, keep: np.ndarray | None
) -> pd.DataFrame:
    """The transitions with the deal's segment columns (a left join on opportunity_id).

    Each deal's id is looked up once and the columns are taken by position (a column of
    few distinct strings through its codes). Opportunities with repeated ids (or ids of
    another type) take the general join.
    """
    extra = ("grade", "created_at", "amount", "status", "loss_reason")
    seg = segment_columns(opps, extra)
    right = opps[["opportunity_id", *seg]]
    ids = columns["opportunity_id"]
    if len(ids) == 0 or ids.dtype != opps["opportunity_id"].dtype:
        return _frame(columns).merge(right, on="opportunity_id", how="left")
    deal = v.deal if keep is None else v.deal[keep]
    first = np.empty(len(deal), dtype=bool)  # a deal's first visit
    first[0] = True
    np.not_equal(deal[1:], deal[:-1], out=first[1:])
    pos = positions(ids[first].reset_index(drop=True), opps["opportunity_id"])
    if pos is None:
        return _frame(columns).merge(right, on="opportunity_id", how="left")
    deal_no = np.cumsum(first, dtype=_index_type(len(first)))
    deal_no -= 1
    at = pos.astype(deal_no.dtype)[deal_no]
    fill = bool((at < 0).any())
    for c in seg:
        take = take_labels if arrow_chunks(opps[c]) is not None else take_rows
        columns[c] = take(opps[c], at, fill)
    return _frame(columns)


def _frame(columns: dict) -> pd.DataFrame:
    """A DataFrame holding ``columns`` as they are (each its own block: nothing is copied
    into 2-D blocks); the plain constructor where pandas lacks pandas.api.internals."""
    try:
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:  # pragma: no cover - pandas < 3
        return pd.DataFrame(columns)
    blocks = []
    for i, values in enumerate(columns.values()):
        if isinstance(values, pd.Series):
            values = values.array
        if type(values) is pd.arrays.NumpyExtensionArray:  # a numpy column: its ndarray
            values = values.to_numpy()
        if isinstance(values, np.ndarray):
            values = values.reshape(1, -1)
        blocks.append((values, np.array([i])))
    n = len(next(iter(columns.values())))
    return create_dataframe_from_blocks(
        blocks, index=pd.RangeIndex(n), columns=pd.Index(list(columns))
    )
