"""Per-deal stage tracking: one row per opportunity and stage visit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._grouping import segment_columns
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
    """The body of :func:`stage_transitions` on explicit tables (what a View caches)."""
    coarse = hist is None
    if coarse:
        if opps is None:
            raise ValueError("stage_transitions needs stage_history or opportunities")
        hist = coarse_history(opps, cfg)
    t_as_of = as_of_ts(as_of, (hist, "entered_at"))
    out = _visits(hist, cfg, t_as_of)
    if reentry != "all":
        out = out.drop_duplicates(["opportunity_id", "stage"], keep=reentry)
    if opps is not None:
        out = _with_segments(out, _with_lead_grade(opps, leads))
    out = out[_COLUMNS + [c for c in out.columns if c not in _COLUMNS]].reset_index(drop=True)
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


def _visits(hist: pd.DataFrame, cfg: StageConfig, t_as_of: pd.Timestamp) -> pd.DataFrame:
    """Open-stage visits up to ``t_as_of``: exit, next stage, outcome, dwell, visit number."""
    order = {k: i for i, k in enumerate(cfg.keys)}
    n_open = len(cfg.open_keys)
    h = hist.loc[hist["entered_at"] <= t_as_of, ["opportunity_id", "stage", "entered_at"]]
    h = h.assign(order=h["stage"].map(order).astype("int64"))
    h = h.sort_values(["opportunity_id", "entered_at", "order"], kind="mergesort").reset_index(
        drop=True
    )
    same = h["opportunity_id"].eq(h["opportunity_id"].shift(-1))
    is_open_stage = h["order"] < n_open
    nxt_stage = h["stage"].shift(-1).where(same)[is_open_stage]
    nxt_order = h["order"].shift(-1).where(same)[is_open_stage]
    exited = h["entered_at"].shift(-1).where(same)[is_open_stage]
    out = h[is_open_stage].copy()
    out["exited_at"] = exited.astype("datetime64[ns]")
    out["next_stage"] = nxt_stage.astype("string")
    out["outcome"] = _outcome(out["order"], nxt_stage, nxt_order, cfg)
    out["censored"] = out["outcome"] == "open"
    end = out["exited_at"].fillna(t_as_of)
    out["dwell_days"] = (end - out["entered_at"]).dt.total_seconds() / 86400.0
    out["visit"] = out.groupby(["opportunity_id", "stage"]).cumcount() + 1
    return out


def _outcome(order: pd.Series, nxt_stage: pd.Series, nxt_order: pd.Series, cfg) -> np.ndarray:
    def b(cond: pd.Series) -> np.ndarray:
        return cond.astype("boolean").fillna(False).to_numpy(dtype=bool)

    return np.select(
        [
            b(nxt_stage.isna()),
            b(nxt_stage == cfg.won),
            b(nxt_stage == cfg.lost),
            b(nxt_order < order),
            b(nxt_order == order + 1),
        ],
        ["open", "won", "lost", "regressed", "advanced"],
        default="skipped",
    )


def _with_lead_grade(opps: pd.DataFrame, leads: pd.DataFrame | None) -> pd.DataFrame:
    """The opportunities with the grade of the lead they came from (when they have none)."""
    if leads is None or "grade" in opps.columns:
        return opps
    ld = leads.dropna(subset=["opportunity_id"]) if "opportunity_id" in leads else None
    if ld is None or "grade" not in ld.columns or not len(ld):
        return opps
    grade = ld.drop_duplicates("opportunity_id").set_index("opportunity_id")["grade"]
    return opps.assign(grade=opps["opportunity_id"].map(grade))


def _with_segments(out: pd.DataFrame, opps: pd.DataFrame) -> pd.DataFrame:
    extra = ("grade", "created_at", "amount", "status", "loss_reason")
    seg = segment_columns(opps, extra)
    return out.merge(opps[["opportunity_id", *seg]], on="opportunity_id", how="left")
