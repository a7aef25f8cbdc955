"""Shared helpers of the funnel functions (re-exported from their homes), and inputs.

``as_of_ts`` lives in :mod:`salesanalytics._time`, ``as_list`` / ``SEGMENTS`` in
:mod:`salesanalytics._grouping`, ``wilson`` in :mod:`salesanalytics.metrics`; they are
re-exported here so existing imports keep working.
"""

from __future__ import annotations

import pandas as pd

from .._grouping import SEGMENTS, as_list
from .._time import as_of_ts
from ..dataset import Dataset
from ..metrics import wilson
from ..stages import StageConfig, load_stages

__all__ = ["SEGMENTS", "as_list", "as_of_ts", "inputs", "order_stages", "wilson"]


def inputs(ds: Dataset | None, stage_history, opportunities, stages) -> tuple:
    """(stage_history or None, opportunities or None, StageConfig) from a Dataset or frames."""
    if ds is not None:
        stage_history = ds.stage_history if stage_history is None else stage_history
        opportunities = ds.opportunities if opportunities is None else opportunities
        stages = ds.stages if stages is None else stages
    return stage_history, opportunities, load_stages(stages)


def order_stages(df: pd.DataFrame, cfg: StageConfig, *extra_sort: str) -> pd.DataFrame:
    pos = df["stage"].map({k: i for i, k in enumerate(cfg.keys)})
    return (
        df.assign(_o=pos)
        .sort_values([*extra_sort, "_o"], kind="mergesort")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
