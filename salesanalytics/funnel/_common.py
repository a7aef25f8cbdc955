"""Shared helpers of the funnel functions: inputs, segments, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..stages import StageConfig, load_stages

SEGMENTS = ("channel", "owner", "region", "team", "industry", "product", "account_id")


def as_list(by: str | list[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def inputs(ds: Dataset | None, stage_history, opportunities, stages) -> tuple:
    """(stage_history or None, opportunities or None, StageConfig) from a Dataset or frames."""
    if ds is not None:
        stage_history = ds.stage_history if stage_history is None else stage_history
        opportunities = ds.opportunities if opportunities is None else opportunities
        stages = ds.stages if stages is None else stages
    return stage_history, opportunities, load_stages(stages)


def wilson(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (NaN where ``n`` is 0).

    >>> lo, hi = wilson(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.49, 0.943)
    """
    from scipy import stats

    k = np.asarray(successes, float)
    n = np.asarray(n, float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = np.where(n > 0, centre - half, np.nan)
    hi = np.where(n > 0, centre + half, np.nan)
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def as_of_ts(as_of, *frames_and_cols) -> pd.Timestamp:
    """``as_of`` as the last moment it covers: a date means the end of that day.

    When None, the latest timestamp in the data (never the clock).
    """
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        return (
            ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if ts == ts.normalize() else ts
        )
    latest = [
        f[c].max() for f, c in frames_and_cols if f is not None and c in f and f[c].notna().any()
    ]
    if not latest:
        raise ValueError("as_of is needed: the data hold no dates")
    return max(latest)


def order_stages(df: pd.DataFrame, cfg: StageConfig, *extra_sort: str) -> pd.DataFrame:
    pos = df["stage"].map({k: i for i, k in enumerate(cfg.keys)})
    return (
        df.assign(_o=pos)
        .sort_values([*extra_sort, "_o"], kind="mergesort")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
