"""Pipeline waterfall: how the open pipeline at ``start`` became the open pipeline at ``end``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_of_ts as end_of
from ..funnel.transitions import stage_transitions
from ..snapshot import pipeline_as_of

__all__ = ["pipeline_waterfall", "STEPS"]

#: Steps in order; ``moves`` change no total (a deal changed stage or close date only).
STEPS = (
    ("open at start", "level"),
    ("new", "flow"),
    ("advanced", "move"),
    ("regressed", "move"),
    ("pulled in", "move"),
    ("pushed out", "move"),
    ("amount up", "flow"),
    ("amount down", "flow"),
    ("won", "flow"),
    ("lost", "flow"),
    ("open at end", "level"),
)


def pipeline_waterfall(dataset: Dataset, start, end) -> pd.DataFrame:
    """Open pipeline at ``start`` -> new, moves, amount changes, won, lost -> open at ``end``.

    Every deal open at either end or created in between is counted once per step that
    applies to it. ``new``: entered the pipeline after ``start`` (at its first amount).
    ``won`` / ``lost``: closed by ``end`` (at its last open amount). ``amount up`` /
    ``amount down``: the rest of each deal's change, so ``open at start + new + amount up -
    amount down - won - lost = open at end`` exactly, and both ends equal the amount sums of
    :func:`~salesanalytics.pipeline_as_of`. ``advanced`` / ``regressed`` (open at both ends,
    later or earlier stage) and ``pulled in`` / ``pushed out`` (expected close date earlier
    or later, when the history records it per row) move no amount.

    Returns
    -------
    DataFrame
        One row per step: ``step``, ``kind`` (level, flow, move), ``deals``, ``amount``
        (signed change for flows) and ``running`` (the total after the step).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> w = sa.pipeline_waterfall(sa.read_dataset(), "2025-12-31", "2026-01-31")
    >>> start, flows = w["amount"].iloc[0], w.loc[w["kind"] == "flow", "amount"].sum()
    >>> bool(abs(start + flows - w["amount"].iloc[-1]) < 1e-6)
    True
    """
    t0, t1 = end_of(start), end_of(end)
    if t1 <= t0:
        raise ValueError(f"end {end} must be after start {start}")
    a = pipeline_as_of(dataset, t0).drop_duplicates("opportunity_id").set_index("opportunity_id")
    if "amount" not in a:
        a = a.assign(amount=np.nan)
    t = stage_transitions(dataset, as_of=t1)
    b = pipeline_as_of(dataset, t1, transitions=t)
    b = b.drop_duplicates("opportunity_id").set_index("opportunity_id")
    if "amount" not in b:
        b = b.assign(amount=np.nan)
    amt = pd.to_numeric(t["amount"], errors="coerce").fillna(0.0) if "amount" in t else 0.0
    t = t.assign(_amount=amt)
    inside = t[(t["entered_at"] > t0) | t["exited_at"].isna() | (t["exited_at"] > t0)]
    first = t.groupby("opportunity_id")["entered_at"].min()
    new_ids = first.index[first > t0]
    last = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")
    closed = last[last["outcome"].isin(["won", "lost"]) & (last["exited_at"] > t0)]
    ids = pd.Index(sorted(set(a.index) | set(b.index) | set(new_ids) | set(closed.index)))
    ids = ids[ids.isin(inside["opportunity_id"]) | ids.isin(a.index)]
    v0 = pd.to_numeric(a["amount"], errors="coerce").reindex(ids).fillna(0.0)
    v1 = pd.to_numeric(b["amount"], errors="coerce").reindex(ids).fillna(0.0)
    amount_now = last["_amount"].reindex(ids).fillna(0.0)
    is_new = ids.isin(new_ids)
    new = pd.Series(np.where(is_new, amount_now, 0.0), index=ids)
    won_ = closed.index[closed["outcome"] == "won"]
    lost_ = closed.index[closed["outcome"] == "lost"]
    won = pd.Series(np.where(ids.isin(won_), amount_now, 0.0), index=ids)
    lost = pd.Series(np.where(ids.isin(lost_), amount_now, 0.0), index=ids)
    rest = v1 - v0 - new + won + lost
    both = ids[ids.isin(a.index) & ids.isin(b.index)]
    order = {s: i for i, s in enumerate(dataset.stages.keys)}
    s0 = a.loc[both, "stage"].map(order)
    s1 = b.loc[both, "stage"].map(order)
    moves = {"advanced": both[(s1 > s0).to_numpy()], "regressed": both[(s1 < s0).to_numpy()]}
    if "expected_close_date" in a and "expected_close_date" in b:
        d0 = pd.to_datetime(a.loc[both, "expected_close_date"], errors="coerce")
        d1 = pd.to_datetime(b.loc[both, "expected_close_date"], errors="coerce")
        moves["pulled in"] = both[(d1 < d0).to_numpy()]
        moves["pushed out"] = both[(d1 > d0).to_numpy()]
    else:
        moves["pulled in"] = moves["pushed out"] = pd.Index([])
    rows = [("open at start", "level", len(a), float(v0.sum()))]
    rows.append(("new", "flow", int(is_new.sum()), float(new.sum())))
    for name in ("advanced", "regressed", "pulled in", "pushed out"):
        rows.append((name, "move", len(moves[name]), float(v1.reindex(moves[name]).sum())))
    rows.append(("amount up", "flow", int((rest > 0).sum()), float(rest[rest > 0].sum())))
    rows.append(("amount down", "flow", int((rest < 0).sum()), float(rest[rest < 0].sum())))
    rows.append(("won", "flow", len(won_), -float(won.sum())))
    rows.append(("lost", "flow", len(lost_), -float(lost.sum())))
    rows.append(("open at end", "level", len(b), float(v1.sum())))
    out = pd.DataFrame(rows, columns=["step", "kind", "deals", "amount"])
    flows = out["amount"].where(out["kind"] == "flow", 0.0)
    out["running"] = out.loc[0, "amount"] + flows.cumsum()
    out.loc[out.index[-1], "running"] = out["amount"].iloc[-1]
    out.attrs = {"start": str(t0.date()), "end": str(t1.date())}
    return out
