"""Stage dwell times with open deals censored; stale deals; the per-rep coaching table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..engine.connect import is_engine
from ..stages import StageConfig, load_stages
from ..view import View, view_as_of
from ._common import as_list, inputs, order_stages
from .transitions import stage_transitions

__all__ = ["stage_dwell", "stale_deals", "rep_dwell", "km_quantile"]


def km_quantile(
    durations: np.ndarray, observed: np.ndarray, q: float, *, weights: np.ndarray | None = None
) -> float:
    """Kaplan-Meier estimate of the ``q`` quantile of a duration with right-censoring.

    ``weights``: how many subjects each row stands for (rows of equal duration and
    censoring counted once); None: one each.

    >>> km_quantile(np.array([1., 2., 3., 4.]), np.array([True, True, True, True]), 0.5)
    2.0
    >>> km_quantile(np.array([1., 2.]), np.array([True, True]), 0.5, weights=np.array([2, 2]))
    1.0
    """
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    w = np.ones(len(durations)) if weights is None else np.asarray(weights, dtype=float)
    order = np.lexsort((~observed, durations))  # events before censorings at equal times
    d, e, w = durations[order], observed[order], w[order]
    if weights is None:  # one subject a row: the step at each event
        at_risk = len(d) - np.arange(len(d))
        surv = np.cumprod(np.where(e, 1.0 - 1.0 / at_risk, 1.0))
    else:  # the step at each distinct event time: 1 - events / at risk
        new = np.r_[True, d[1:] != d[:-1]]
        start = np.flatnonzero(new)
        at_risk = w.sum() - np.r_[0.0, np.cumsum(w)[:-1]][start]
        events = np.add.reduceat(np.where(e, w, 0.0), start) if len(d) else np.zeros(0)
        surv_t = np.cumprod(np.where(events > 0, 1.0 - events / at_risk, 1.0))
        d, surv = d[start], surv_t
    hit = np.flatnonzero(surv <= 1.0 - q)
    return float(d[hit[0]]) if len(hit) else float("nan")


def dwell_from_counts(
    counts: pd.DataFrame, *, by: list[str], timeout_factor: float, stages
) -> pd.DataFrame:
    """The dwell table from stage visits counted by stage, ``by``, dwell_days and censored
    (column ``n``): the finishing step shared by the pandas and the engine route.

    >>> c = pd.DataFrame({"stage": ["prospect"] * 3, "dwell_days": [1.0, 2.0, 5.0],
    ...                   "censored": [False, False, True], "n": [1, 1, 1]})
    >>> d = dwell_from_counts(c, by=[], timeout_factor=1.5, stages="default")
    >>> int(d.loc[0, "completed"]), float(d.loc[0, "mean_completed"]), float(d.loc[0, "median"])
    (2, 1.5, 2.0)
    """
    cfg = load_stages(stages)
    done = ~counts["censored"].to_numpy(bool)
    w = counts["n"].to_numpy(float)
    dur = counts["dwell_days"].to_numpy(float)
    stage = counts["stage"].astype(object).to_numpy()
    sums = pd.Series((dur * w)[done]).groupby(stage[done]).sum()
    num = pd.Series(w[done]).groupby(stage[done]).sum()
    team_mean = sums / num
    late = dur > pd.Series(stage).map(team_mean).to_numpy(float) * timeout_factor
    a = counts.assign(_late=late, _done=done)
    rows = []
    for key, g in a.groupby(["stage", *by], sort=False, dropna=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        n = g["n"].to_numpy(float)
        d = g["dwell_days"].to_numpy(float)
        obs = g["_done"].to_numpy(bool)
        rows.append(
            {
                **dict(zip(["stage", *by], key)),
                "visits": int(n.sum()),
                "completed": int(n[obs].sum()),
                "open": int(n[~obs].sum()),
                "mean_completed": float((d[obs] * n[obs]).sum() / n[obs].sum())
                if obs.any()
                else np.nan,
                "median": km_quantile(d, obs, 0.5, weights=n),
                "p90": km_quantile(d, obs, 0.9, weights=n),
                "timeout_rate": float((g["_late"].to_numpy(bool) * n).sum() / n.sum()),
            }
        )
    return order_stages(pd.DataFrame(rows), cfg, *by)


def _transitions(
    ds, transitions, as_of, *, stage_history=None, opportunities=None, stages=None
) -> tuple[pd.DataFrame, StageConfig]:
    """The transitions (given, a View's cached ones, or computed from the tables) and the
    stage config, for an analysis built on them."""
    view_as_of(ds, as_of)  # a View given another as_of: ValueError
    hist, opps, cfg = inputs(ds, stage_history, opportunities, stages)
    if transitions is not None:
        return transitions, cfg
    if isinstance(ds, View) and stage_history is None and opportunities is None and stages is None:
        return stage_transitions(ds, as_of=as_of), cfg
    as_of = view_as_of(ds, as_of)
    t = stage_transitions(stage_history=hist, opportunities=opps, stages=cfg, as_of=as_of)
    return t, cfg


def stage_dwell(
    ds: Dataset | None = None,
    *,
    by: str | list[str] | None = None,
    as_of=None,
    timeout_factor: float = 1.5,
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
) -> pd.DataFrame:
    """Days spent in each stage, per segment, with open deals counted as censored.

    ``ds`` is a Dataset or a View (``dataset.at(as_of)``, whose ``as_of`` is used and whose
    cached transitions are reused); ``stage_history``, ``opportunities`` and ``stages``
    replace the dataset's; ``transitions`` (from :func:`stage_transitions`) skips the
    computation.

    Returns
    -------
    DataFrame
        stage, ``by`` columns, visits, completed, open, mean_completed (mean of finished
        visits only), median and p90 (Kaplan-Meier, so still-open deals count as "at least
        this long"), timeout_rate (share of visits past ``timeout_factor`` x the stage's
        team-wide mean, open ones included when already past it).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> d = sa.stage_dwell(sa.read_dataset(), as_of="2026-06-30")
    >>> list(d.columns[:4])
    ['stage', 'visits', 'completed', 'open']
    """
    if is_engine(ds) or is_engine(transitions):  # computed in the engine
        from ..engine import expressions as ex

        return ex.stage_dwell(
            ds, by=by, as_of=as_of, timeout_factor=timeout_factor, transitions=transitions
        )
    t, cfg = _transitions(
        ds,
        transitions,
        as_of,
        stage_history=stage_history,
        opportunities=opportunities,
        stages=stages,
    )
    by = as_list(by)
    counts = (
        t.groupby(["stage", *by, "dwell_days", "censored"], sort=False, dropna=False)
        .size()
        .rename("n")
        .reset_index()
    )
    out = dwell_from_counts(counts, by=by, timeout_factor=timeout_factor, stages=cfg)
    out.attrs = {
        **t.attrs,
        "by": by,
        "timeout_factor": timeout_factor,
        "method": "median and p90 by Kaplan-Meier; open visits are right-censored at as_of",
    }
    return out


#: Columns of ``stale_deals`` (those the data has), pandas and engine alike.
STALE_COLUMNS = (
    "opportunity_id",
    "stage",
    "owner",
    "channel",
    "amount",
    "entered_at",
    "dwell_days",
    "stage_mean_days",
    "ratio",
)


def stale_deals(
    ds: Dataset | None = None,
    *,
    as_of=None,
    factor: float = 1.5,
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
) -> pd.DataFrame:
    """Open deals whose time in their current stage exceeds ``factor`` x the stage mean.

    The stage mean is the team-wide mean dwell of finished visits. Sorted by how far over.

    ``ds`` is a Dataset or a View (``dataset.at(as_of)``, whose ``as_of`` is used and whose
    cached transitions are reused); ``stage_history``, ``opportunities`` and ``stages``
    replace the dataset's; ``transitions`` (from :func:`stage_transitions`) skips the
    computation.
    """
    if is_engine(ds) or is_engine(transitions):  # computed in the engine
        from ..engine import expressions as ex

        return ex.stale_deals(ds, as_of=as_of, factor=factor, transitions=transitions)
    t, _ = _transitions(
        ds,
        transitions,
        as_of,
        stage_history=stage_history,
        opportunities=opportunities,
        stages=stages,
    )
    mean = t[~t["censored"]].groupby("stage")["dwell_days"].mean()
    cur = t[t["censored"]].copy()
    cur["stage_mean_days"] = cur["stage"].map(mean)
    cur["ratio"] = cur["dwell_days"] / cur["stage_mean_days"]
    out = cur[cur["ratio"] > factor]
    cols = [c for c in STALE_COLUMNS if c in out.columns]
    out = out.sort_values(["ratio", "opportunity_id"], ascending=[False, True], kind="mergesort")[
        cols
    ]
    out = out.reset_index(drop=True)
    out.attrs = {**t.attrs, "factor": factor, "rule": f"open and in stage > {factor} x stage mean"}
    return out


def rep_dwell(
    ds: Dataset | None = None,
    *,
    by: str = "owner",
    as_of=None,
    coaching_factor: float = 1.2,
    alpha: float = 0.05,
    min_visits: int = 10,
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
) -> pd.DataFrame:
    """Per rep and stage: average, max, min dwell, deals at or below vs above the team mean.

    ``coaching`` is True when the rep's mean is above ``coaching_factor`` x the team's
    mean for that stage *and* a one-sided Mann-Whitney test of the rep's finished visits
    against the rest of the team says it is more than noise (``p_value < alpha``).
    A row with stage ``"(all stages)"`` compares the rep's stage-adjusted dwell (each
    visit divided by its stage's team mean) across the whole funnel.

    ``ds`` is a Dataset or a View (``dataset.at(as_of)``, whose ``as_of`` is used and whose
    cached transitions are reused); ``stage_history``, ``opportunities`` and ``stages``
    replace the dataset's; ``transitions`` (from :func:`stage_transitions`) skips the
    computation.
    """
    t, cfg = _transitions(
        ds,
        transitions,
        as_of,
        stage_history=stage_history,
        opportunities=opportunities,
        stages=stages,
    )
    done = t[~t["censored"]].copy()
    team = done.groupby("stage")["dwell_days"].mean()
    done["team_mean"] = done["stage"].map(team)
    done["relative"] = done["dwell_days"] / done["team_mean"]
    done["over"] = done["dwell_days"] > done["team_mean"]
    rows = []
    for (stage, rep), g in done.groupby(["stage", by], sort=False):
        rows.append(
            _rep_row(
                stage, rep, g, done[(done["stage"] == stage) & (done[by] != rep)], "dwell_days", by
            )
        )
    for rep, g in done.groupby(by, sort=False):
        rows.append(_rep_row("(all stages)", rep, g, done[done[by] != rep], "relative", by))
    out = pd.DataFrame(rows)
    out = out[out["visits"] >= min_visits].copy()
    out["coaching"] = (out["ratio"] > coaching_factor) & (out["p_value"] < alpha)
    cfg_order = {k: i for i, k in enumerate(cfg.keys)} | {"(all stages)": -1}
    out = (
        out.assign(_o=out["stage"].map(cfg_order))
        .sort_values(["_o", "ratio", by], ascending=[True, False, True], kind="mergesort")
        .drop(columns="_o")
    )
    out = out.reset_index(drop=True)
    out.attrs = {
        **t.attrs,
        "coaching_factor": coaching_factor,
        "alpha": alpha,
        "test": "one-sided Mann-Whitney U, rep's finished visits vs the rest of the team",
    }
    return out


def _rep_row(stage, rep, g, rest, col, by) -> dict:
    from scipy import stats

    x, y = g[col].to_numpy(), rest[col].to_numpy()
    p = stats.mannwhitneyu(x, y, alternative="greater").pvalue if len(x) and len(y) else np.nan
    team_mean = float(g["team_mean"].iloc[0]) if col == "dwell_days" else 1.0
    mean = float(x.mean())
    return {
        "stage": stage,
        by: rep,
        "visits": len(x),
        "mean_days": float(g["dwell_days"].mean()),
        "max_days": float(g["dwell_days"].max()),
        "min_days": float(g["dwell_days"].min()),
        "team_mean_days": team_mean if col == "dwell_days" else np.nan,
        "at_or_below_team": int((~g["over"]).sum()),
        "above_team": int(g["over"].sum()),
        "ratio": mean / team_mean,
        "p_value": float(p),
        "top_loss_reason": (
            g.loc[g["outcome"] == "lost", "loss_reason"].mode().iloc[0]
            if "loss_reason" in g
            and (g["outcome"] == "lost").any()
            and g.loc[g["outcome"] == "lost", "loss_reason"].notna().any()
            else None
        ),
    }
