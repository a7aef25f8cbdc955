"""Bottlenecks: (stage, segment) cells converting worse, or dwelling longer, than a benchmark by more than noise."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ._common import wilson
from .dwell import _transitions

__all__ = ["find_bottlenecks", "holm"]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control).

    >>> holm(np.array([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, float)
    ok = ~np.isnan(p)
    out = np.full_like(p, np.nan)
    q = p[ok]
    order = np.argsort(q)
    m = len(q)
    adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def _cells(t: pd.DataFrame, by: str) -> pd.DataFrame:
    resolved = t[t["outcome"].isin(["advanced", "skipped", "won", "lost"])]
    adv = resolved["outcome"] != "lost"
    g = resolved.assign(_adv=adv).groupby(["stage", by], observed=True)["_adv"].agg(["sum", "size"])
    g.columns = ["advanced", "resolved"]
    tot = g.groupby(level="stage").sum()
    g["rest_advanced"] = g.index.get_level_values("stage").map(tot["advanced"]) - g["advanced"]
    g["rest_resolved"] = g.index.get_level_values("stage").map(tot["resolved"]) - g["resolved"]
    return g.reset_index()


def find_bottlenecks(
    ds: Dataset | None = None,
    *,
    by: str = "channel",
    benchmark: str | float | Mapping[str, float] = "rest",
    as_of=None,
    alpha: float = 0.01,
    min_count: int = 30,
    split=None,
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
) -> pd.DataFrame:
    """Ranked (stage, segment) cells whose conversion is lower, or dwell longer, than benchmark.

    Parameters
    ----------
    ds
        A Dataset or a View (``dataset.at(as_of)``: its ``as_of`` and cached transitions).
    by
        Segment column (channel, owner, region, product, ...).
    benchmark
        ``"rest"``: the rest of the team at the same stage; a number or ``{stage: rate}``:
        a configured conversion rate; ``"previous"``: the same segment before ``split``
        (default: the midpoint between the first and last exit).
    alpha
        Family-wise significance level (Holm across every tested cell and metric).
    min_count
        Cells with fewer resolved visits are not tested (reported with ``tested=False``).
    transitions, stage_history, opportunities, stages
        Precomputed transitions, or tables and stage config replacing the dataset's.

    Returns
    -------
    DataFrame
        One row per (stage, segment, metric) tested, flagged first then by strength:
        metric (``conversion`` or ``dwell``), value, benchmark value, interval, resolved
        count, p_value, p_adjusted, flagged, and for conversion bottlenecks the profile of
        the deals lost there (lost count, top loss reasons with shares, median amount).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> b = sa.find_bottlenecks(sa.read_dataset(), by="channel", as_of="2026-06-30")
    >>> b.loc[0, ["stage", "channel"]].tolist()
    ['proposal', 'trade_show']
    """
    t, cfg = _transitions(
        ds,
        transitions,
        as_of,
        stage_history=stage_history,
        opportunities=opportunities,
        stages=stages,
    )
    if by not in t.columns:
        raise ValueError(f"unknown segment column {by!r}")
    rows = [_conversion_tests(t, by, benchmark, split, cfg)]
    if isinstance(benchmark, str) and benchmark == "rest":
        rows.append(_dwell_tests(t, by))
    out = _adjust(pd.concat(rows, ignore_index=True), by, alpha, min_count)
    out = _profile(out, t, by)
    cols = [
        "stage",
        by,
        "metric",
        "value",
        "value_low",
        "value_high",
        "benchmark",
        "count",
        "p_value",
        "p_adjusted",
        "tested",
        "flagged",
        "lost",
        "top_loss_reasons",
        "median_lost_amount",
    ]
    out = out[[c for c in cols if c in out.columns]]
    out.attrs = {
        **t.attrs,
        "by": by,
        "benchmark": benchmark,
        "alpha": alpha,
        "min_count": min_count,
        "tests": "conversion: one-sided two-proportion z (or binomial vs a rate); "
        "dwell: one-sided Mann-Whitney; Holm-adjusted across all tested cells",
        "conversion": "advanced / (advanced + lost) of finished visits",
    }
    return out


def _conversion_cells(t: pd.DataFrame, by: str, benchmark, split) -> pd.DataFrame:
    """Advanced/resolved per (stage, segment) and of its comparison group."""
    if benchmark != "previous":
        return _cells(t, by)
    exits = t["exited_at"].dropna()
    cut = (
        pd.Timestamp(split) if split is not None else exits.min() + (exits.max() - exits.min()) / 2
    )
    now, before = t[t["exited_at"] >= cut], t[t["exited_at"] < cut]
    c = _cells(now, by)
    prev = _cells(before, by).set_index(["stage", by])
    c = c.set_index(["stage", by])
    c["rest_advanced"] = prev["advanced"].reindex(c.index).fillna(0).to_numpy()
    c["rest_resolved"] = prev["resolved"].reindex(c.index).fillna(0).to_numpy()
    return c.reset_index()


def _conversion_tests(t: pd.DataFrame, by: str, benchmark, split, cfg) -> pd.DataFrame:
    """One-sided test per cell: conversion below the benchmark (the rest, a rate, before)."""
    from scipy import stats

    c = _conversion_cells(t, by, benchmark, split)
    c["value"] = c["advanced"] / c["resolved"]
    c["value_low"], c["value_high"] = wilson(c["advanced"], c["resolved"])
    if isinstance(benchmark, str):
        c["benchmark"] = c["rest_advanced"] / c["rest_resolved"].where(c["rest_resolved"] > 0)
        pooled = (c["advanced"] + c["rest_advanced"]) / (c["resolved"] + c["rest_resolved"])
        se = np.sqrt(
            pooled
            * (1 - pooled)
            * (1 / c["resolved"] + 1 / c["rest_resolved"].where(c["rest_resolved"] > 0))
        )
        z = (c["value"] - c["benchmark"]) / se
        c["p_value"] = stats.norm.cdf(z)  # one-sided: lower than benchmark
    else:
        rates = (
            benchmark
            if isinstance(benchmark, Mapping)
            else dict.fromkeys(cfg.open_keys, float(benchmark))
        )
        c["benchmark"] = c["stage"].map(rates).astype(float)
        c["p_value"] = stats.binom.cdf(c["advanced"], c["resolved"], c["benchmark"])
        z = (c["value"] - c["benchmark"]) / np.sqrt(
            c["benchmark"] * (1 - c["benchmark"]) / c["resolved"]
        )
    c["effect"] = z
    c["metric"] = "conversion"
    c["count"] = c["resolved"]
    return c


def _dwell_tests(t: pd.DataFrame, by: str) -> pd.DataFrame:
    """One-sided Mann-Whitney per cell: finished visits longer than the rest of the stage's."""
    from scipy import stats

    done = t[~t["censored"]]
    dw = []
    for (stage, seg), g in done.groupby(["stage", by], observed=True, sort=False):
        rest = done[(done["stage"] == stage) & (done[by] != seg)]["dwell_days"].to_numpy()
        x = g["dwell_days"].to_numpy()
        test = stats.mannwhitneyu(x, rest, alternative="greater") if len(rest) else None
        dw.append(
            {
                "stage": stage,
                by: seg,
                "metric": "dwell",
                "count": len(x),
                "value": float(np.median(x)),
                "benchmark": float(np.median(rest)) if len(rest) else np.nan,
                "p_value": test.pvalue if test else np.nan,
                "effect": -stats.norm.isf(test.pvalue) if test and 0 < test.pvalue < 1 else 0.0,
            }
        )
    return pd.DataFrame(dw)


def _adjust(out: pd.DataFrame, by: str, alpha: float, min_count: int) -> pd.DataFrame:
    """Holm across the tested cells; flagged first, then by strength."""
    out["tested"] = out["count"] >= min_count
    out["p_adjusted"] = np.nan
    out.loc[out["tested"], "p_adjusted"] = holm(out.loc[out["tested"], "p_value"].to_numpy())
    out["flagged"] = out["tested"] & (out["p_adjusted"] < alpha)
    return out.sort_values(
        ["flagged", "effect", "stage", by], ascending=[False, True, True, True], kind="mergesort"
    ).reset_index(drop=True)


def _profile(out: pd.DataFrame, t: pd.DataFrame, by: str) -> pd.DataFrame:
    lost = t[t["outcome"] == "lost"]
    keys = list(zip(out["stage"], out[by]))
    grouped = {k: g for k, g in lost.groupby(["stage", by], observed=True)}
    n, reasons, amount = [], [], []
    for k, metric in zip(keys, out["metric"]):
        g = grouped.get(k)
        if g is None or metric != "conversion":
            n.append(0 if g is None else len(g))
            reasons.append(None)
            amount.append(np.nan)
            continue
        n.append(len(g))
        share = (
            g["loss_reason"].value_counts(normalize=True).head(3)
            if "loss_reason" in g
            else pd.Series(dtype=float)
        )
        reasons.append(", ".join(f"{r} {v:.0%}" for r, v in share.items()) or None)
        amount.append(float(g["amount"].median()) if "amount" in g else np.nan)
    return out.assign(lost=n, top_loss_reasons=reasons, median_lost_amount=amount)
