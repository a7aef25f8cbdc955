"""The pipeline as it stood on a past date."""

from __future__ import annotations

import pandas as pd

from .dataset import Dataset
from .funnel.transitions import stage_transitions
from .view import View

__all__ = ["pipeline_as_of"]


def pipeline_as_of(
    ds: Dataset | View | None = None,
    as_of=None,
    *,
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
) -> pd.DataFrame:
    """Open deals on ``as_of``: their stage then, days in that stage, and segments.

    Only history up to ``as_of`` is used, so the result is what the CRM showed that day.
    Given a View (``ds.at(date)``), ``as_of`` defaults to the view's.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> p = sa.pipeline_as_of(sa.read_dataset(), "2025-12-31")
    >>> {"opportunity_id", "stage", "age_days"} <= set(p.columns)
    True
    """
    t = (
        transitions
        if transitions is not None
        else stage_transitions(
            ds,
            as_of=as_of,
            stage_history=stage_history,
            opportunities=opportunities,
            stages=stages,
        )
    )
    open_ = t[t["censored"]].rename(columns={"dwell_days": "age_days"})
    # the deal's fate is not known on as_of: drop the final status and loss reason too
    drop = ["exited_at", "next_stage", "outcome", "censored", "visit", "status", "loss_reason"]
    out = open_.drop(columns=[c for c in drop if c in open_.columns]).reset_index(drop=True)
    out.attrs = {"as_of": t.attrs["as_of"], "coarse_history": t.attrs["coarse_history"]}
    return out
