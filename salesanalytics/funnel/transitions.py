"""Per-deal stage tracking: one row per opportunity and stage visit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._grouping import (
    arrow_strings,
    id_rank,
    in_order,
    positions,
    segment_columns,
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
    joined through row positions.
    """
    coarse = hist is None
    if coarse:
        if opps is None:
            raise ValueError("stage_transitions needs stage_history or opportunities")
        hist = coarse_history(opps, cfg)
    t_as_of = as_of_ts(as_of, (hist, "entered_at"))
    v = _visits(hist, cfg, t_as_of)
    keep = _reentry_rows(v, reentry)
    out = _visit_frame(hist, cfg, v, keep, t_as_of)
    if opps is not None:
        out = _with_segments(out, _with_lead_grade(opps, leads), v.deal[keep])
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

    ``row``: position in the history table; ``deal``: 0, 1, ... per deal in order (a
    missing id is a deal of its own); ``order``: funnel position of the stage; ``nxt_row``
    / ``nxt_order``: the deal's next history entry (-1: none); ``outcome``: code in
    :data:`_OUTCOMES`; ``visit``: 1 for the first visit of the stage; ``n_visits``: the
    deal's visits of the stage; ``no_id``: the id is missing (its visit is NaN).
    """

    row: np.ndarray
    deal: np.ndarray
    order: np.ndarray
    nxt_row: np.ndarray
    nxt_order: np.ndarray
    outcome: np.ndarray
    visit: np.ndarray
    n_visits: np.ndarray
    no_id: np.ndarray | None


def _visits(hist: pd.DataFrame, cfg: StageConfig, t_as_of: pd.Timestamp) -> _Visits:
    """History entries up to ``t_as_of`` in (opportunity, entered_at, stage order) order."""
    n_open = len(cfg.open_keys)
    known = (hist["entered_at"] <= t_as_of).to_numpy(dtype=bool)
    order = _stage_order(hist["stage"], cfg)
    ids, missing = id_rank(hist["opportunity_id"])
    ent = hist["entered_at"].to_numpy().view("int64")
    row = np.arange(len(hist))
    if not known.all():  # history after as_of is not known then
        row = np.flatnonzero(known)
        order, ids, ent = order[row], ids[row], ent[row]
    if (order < 0).any():
        bad = sorted(set(hist["stage"].take(row[order < 0]).astype(str)))
        raise ValueError(f"stage_history has stages not in stage config {cfg.name!r}: {bad}")
    if not in_order(ids, ent, order):  # a stable sort, as sort_values(kind="mergesort")
        perm = np.lexsort((order, ent, ids))
        row, ids, ent, order = row[perm], ids[perm], ent[perm], order[perm]
    n = len(row)
    no_id = missing[row] if missing is not None else None
    same = np.zeros(n, dtype=bool)
    same[:-1] = ids[1:] == ids[:-1]
    if no_id is not None:  # a missing id never continues the row before
        same[:-1] &= ~no_id[:-1]
    nxt_row = np.full(n, -1, dtype=np.int64)
    nxt_row[:-1] = row[1:]
    nxt_row[~same] = -1
    nxt_order = np.full(n, -1, dtype=np.int64)
    nxt_order[:-1] = order[1:]
    nxt_order[~same] = -1
    deal = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(~same[:-1], out=deal[1:])
    visit, n_visits = _visit_numbers(deal, order, nxt_order, n_open)
    sel = order < n_open
    o, nx = order[sel], nxt_order[sel]
    won, lost = cfg.keys.index(cfg.won), cfg.keys.index(cfg.lost)
    outcome = np.select(
        [nx < 0, nx == won, nx == lost, nx < o, nx == o + 1], [0, 1, 2, 3, 4], default=5
    ).astype(np.int8)
    return _Visits(
        row=row[sel],
        deal=deal[sel],
        order=o,
        nxt_row=nxt_row[sel],
        nxt_order=nx,
        outcome=outcome,
        visit=visit[sel],
        n_visits=n_visits[sel],
        no_id=None if no_id is None else no_id[sel],
    )


def _stage_order(stage: pd.Series, cfg: StageConfig) -> np.ndarray:
    """Funnel position of each stage value (-1: not a stage of ``cfg``, or missing)."""
    arr = arrow_strings(stage)
    if arr is not None:
        pos = pc.index_in(arr, value_set=pa.array(cfg.keys, type=arr.type))
        return pos.fill_null(-1).to_numpy().astype(np.int64)
    return pd.Index(cfg.keys).get_indexer(stage.astype(object)).astype(np.int64)


def _visit_numbers(
    deal: np.ndarray, order: np.ndarray, nxt_order: np.ndarray, n_open: int
) -> tuple[np.ndarray, np.ndarray]:
    """Visit number of each row's stage within its deal (1 = first), and the deal's visits.

    Only a deal that moves back or repeats a stage (next order <= this order) can visit a
    stage twice; those deals alone are ranked.
    """
    n = len(deal)
    visit = np.ones(n, dtype=np.int64)
    n_visits = np.ones(n, dtype=np.int64)
    back = (nxt_order >= 0) & (nxt_order <= order)
    if not back.any():
        return visit, n_visits
    flagged = np.zeros(int(deal[-1]) + 1, dtype=bool)
    flagged[deal[back]] = True
    idx = np.flatnonzero(flagged[deal])
    key = deal[idx] * (int(order.max()) + 1) + order[idx]
    perm = np.argsort(key, kind="stable")
    k = key[perm]
    start = np.ones(len(k), dtype=bool)
    start[1:] = k[1:] != k[:-1]
    first = np.flatnonzero(start)
    run = np.cumsum(start) - 1
    counts = np.diff(np.append(first, len(k)))
    visit[idx[perm]] = np.arange(len(k)) - first[run] + 1
    n_visits[idx[perm]] = counts[run]
    return visit, n_visits


def _reentry_rows(v: _Visits, reentry: str) -> np.ndarray:
    """Positions of the visits kept: all, or the first / last visit of each deal and stage."""
    if reentry == "first":
        keep = v.visit == 1
    elif reentry == "last":
        keep = v.visit == v.n_visits
    else:
        return np.arange(len(v.row))
    if v.no_id is not None:  # rows without an id count as one deal in drop_duplicates
        keep = keep & ~v.no_id | (v.no_id & _first_or_last(v, reentry))
    return np.flatnonzero(keep)


def _first_or_last(v: _Visits, reentry: str) -> np.ndarray:
    """Among rows without an id: the first / last row of each stage."""
    out = np.zeros(len(v.row), dtype=bool)
    idx = np.flatnonzero(v.no_id)
    stages = v.order[idx]
    pick = idx[::-1] if reentry == "last" else idx
    _, at = np.unique(stages[::-1] if reentry == "last" else stages, return_index=True)
    out[pick[at]] = True
    return out


def _visit_frame(
    hist: pd.DataFrame, cfg: StageConfig, v: _Visits, keep: np.ndarray, t_as_of: pd.Timestamp
) -> pd.DataFrame:
    """The transition columns of the kept visits (``_COLUMNS``, in that order)."""
    row, nxt_row = v.row[keep], v.nxt_row[keep]
    entered = take_rows(hist["entered_at"], row, False)
    exited = np.asarray(hist["entered_at"].to_numpy()[np.maximum(nxt_row, 0)], "datetime64[ns]")
    exited[nxt_row < 0] = np.datetime64("NaT")
    start = np.asarray(entered.to_numpy(), "datetime64[ns]")
    end = np.where(nxt_row < 0, np.datetime64(t_as_of.as_unit("ns").asm8), exited)
    seconds = pd.Series(end - start).dt.total_seconds().to_numpy()
    visit = v.visit[keep]
    if v.no_id is not None and v.no_id[keep].any():  # groupby cumcount skips missing ids
        visit = np.where(v.no_id[keep], np.nan, visit)
    outcome = v.outcome[keep]
    nxt_order = v.nxt_order[keep]
    return pd.DataFrame(
        {
            "opportunity_id": take_rows(hist["opportunity_id"], row, False),
            "stage": take_rows(hist["stage"], row, False),
            "order": v.order[keep],
            "visit": visit,
            "entered_at": entered,
            "exited_at": exited,
            "next_stage": _labels(nxt_order, cfg.keys, "string"),
            "dwell_days": seconds / 86400.0,
            "outcome": _labels(outcome, _OUTCOMES, "str"),
            "censored": outcome == 0,
        }
    )


def _labels(codes: np.ndarray, labels, dtype: str) -> pd.api.extensions.ExtensionArray:
    """``labels[code]`` as a string array of ``dtype`` (a negative code: missing)."""
    dictionary = pa.array(list(labels), type=pa.large_string())
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
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


def _with_segments(out: pd.DataFrame, opps: pd.DataFrame, deal: np.ndarray) -> pd.DataFrame:
    """``out`` with the deal's segment columns (a left join on opportunity_id).

    ``deal`` numbers the deals of ``out`` (0, 1, ... in row order): each deal's id is looked
    up once and the columns are taken by position. Opportunities with repeated ids (or ids
    of another type) take the general join.
    """
    extra = ("grade", "created_at", "amount", "status", "loss_reason")
    seg = segment_columns(opps, extra)
    right = opps[["opportunity_id", *seg]]
    ids = out["opportunity_id"]
    if len(out) == 0 or ids.dtype != opps["opportunity_id"].dtype:
        return out.merge(right, on="opportunity_id", how="left")
    start = np.flatnonzero(np.r_[True, deal[1:] != deal[:-1]])
    pos = positions(ids.take(start), opps["opportunity_id"])
    if pos is None:
        return out.merge(right, on="opportunity_id", how="left")
    at = pos[np.cumsum(np.r_[True, deal[1:] != deal[:-1]]) - 1]
    fill = bool((at < 0).any())
    return pd.concat([out, *(take_rows(opps[c], at, fill) for c in seg)], axis=1)
