"""Funnel summaries: cohort (how far did deals created in a period get) and period (monthly template)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._grouping import check_segments, id_rank, take_rows
from ..dataset import Dataset
from ..engine.connect import is_engine
from ..stages import load_stages
from ._common import as_list, inputs, order_stages, wilson
from .dwell import _transitions
from .transitions import COUNTING_RULES, stage_transitions

__all__ = [
    "funnel_summary",
    "cohort_funnel",
    "period_funnel",
    "guide_stage_summary",
    "GUIDE_CONVENTION",
]

ADVANCED = ("advanced", "skipped", "won")


def funnel_summary(
    ds: Dataset | None = None,
    *,
    by: str | list[str] | None = None,
    mode: str = "cohort",
    period: str | None = None,
    as_of=None,
    start=None,
    skipped: str = "reached",
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Stage-by-stage funnel, in cohort or period mode, optionally by segment.

    The combined entry point, kept for existing calls: :func:`cohort_funnel` and
    :func:`period_funnel` are the same two views with only the options that apply to each.
    Its steps: the transitions (given, a View's cached ones, or computed from the tables),
    then the cohort or the period table, then the parameters in ``attrs``.

    Parameters
    ----------
    ds
        A Dataset, a View (``dataset.at(as_of)``, whose cached transitions are used), an
        engine dataset, or None with ``transitions`` or the tables below.
    by
        Segment column(s) of the opportunities (channel, owner, region, industry, product, ...).
    mode
        ``"cohort"``: deals created from ``start`` to ``as_of`` (per ``period`` when given)
        and how far they got; deals still open are censored (``open_here``), not lost.
        ``"period"``: the monthly (``period="M"``) or quarterly (``"Q"``) stage summary:
        opening, new, advanced, lost, regressed, closing, conversion and mean dwell of the
        stage's exits in the period, and the expected amount still in the stage.
    period
        Cohort mode: cohorts by creation period (``"M"``, ``"Q"``, ...), None for one
        cohort. Period mode: the summary's period (default ``"M"``).
    as_of
        Snapshot; nothing after it is used. Default: the View's, else the latest date in
        the data.
    start
        Cohort mode: only deals created at or after ``start``.
    skipped
        Cohort mode: ``"reached"`` counts a stage jumped over as reached (a monotone funnel);
        ``"not_reached"`` counts only stages actually entered.
    transitions
        A table from :func:`stage_transitions` to use instead of computing it.
    stage_history, opportunities, stages
        Tables and stage config to use instead of the dataset's.
    alpha
        Level of the Wilson interval of each conversion (0.05: 95%).

    Returns
    -------
    DataFrame
        Cohort mode: stage, the ``by`` columns (and ``cohort``), reached, advanced, lost_here,
        open_here, won, conversion = advanced / (advanced + lost_here) with
        ``conversion_low``/``conversion_high`` (Wilson), reached_share (of the first stage).
        Counting rules and parameters are in ``attrs``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> f = sa.funnel_summary(sa.read_dataset(), as_of="2026-06-30")
    >>> f["stage"].tolist()[:3]
    ['prospect', 'contacted', 'needs_confirmed']
    """
    if is_engine(ds) or is_engine(transitions):  # computed in the engine
        from ..engine import expressions as ex

        return ex.funnel_summary(
            ds,
            by=by,
            mode=mode,
            period=period,
            as_of=as_of,
            start=start,
            skipped=skipped,
            transitions=transitions,
            alpha=alpha,
        )
    if mode not in ("cohort", "period"):
        raise ValueError("mode must be 'cohort' or 'period'")
    if skipped not in ("reached", "not_reached"):
        raise ValueError("skipped must be 'reached' or 'not_reached'")
    t, cfg = _transitions(
        ds,
        transitions,
        as_of,
        stage_history=stage_history,
        opportunities=opportunities,
        stages=stages,
    )
    by = as_list(by)
    check_segments(by, t)
    if mode == "cohort":
        out = _cohort(t, cfg, by, period, start, skipped, alpha)
    else:
        out = _period(t, cfg, by, period or "M", alpha)
    return _with_attrs(out, t, mode=mode, by=by, period=period, skipped=skipped)


def cohort_funnel(
    ds,
    *,
    by: str | list[str] | None = None,
    period: str | None = None,
    start=None,
    skipped: str = "reached",
    as_of=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How far the deals created from ``start`` to ``as_of`` got, stage by stage.

    The cohort view of :func:`funnel_summary` (``mode="cohort"``; same table, same
    ``attrs``) with only its options. Deals still open are censored (``open_here``), not
    lost.

    Parameters
    ----------
    ds
        A Dataset, a View (``dataset.at(as_of)``: its cached transitions are reused) or an
        engine dataset.
    by
        Segment column(s) of the opportunities (channel, owner, region, ...).
    period
        Cohorts by creation period (``"M"``, ``"Q"``, ``"Y"``); None for one cohort.
    start
        Only deals created at or after ``start``.
    skipped
        ``"reached"`` counts a stage jumped over as reached (a monotone funnel);
        ``"not_reached"`` counts only stages actually entered.
    as_of
        Snapshot (a View's own when None); nothing after it is used.
    alpha
        Level of the Wilson interval of each conversion (0.05: 95%).

    Returns
    -------
    DataFrame
        stage, the ``by`` columns (and ``cohort``), reached, advanced, lost_here, open_here,
        won, conversion = advanced / (advanced + lost_here), conversion_low /
        conversion_high (Wilson), reached_share (of the first stage).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> f = sa.cohort_funnel(sa.read_dataset().at("2026-06-30"), by="channel")
    >>> f.columns[:3].tolist()
    ['stage', 'channel', 'reached']
    """
    return funnel_summary(
        ds,
        by=by,
        mode="cohort",
        period=period,
        as_of=as_of,
        start=start,
        skipped=skipped,
        alpha=alpha,
    )


def period_funnel(
    ds,
    *,
    by: str | list[str] | None = None,
    period: str = "M",
    as_of=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The stage summary per month (or quarter): what entered, moved on, was lost, stayed.

    The period view of :func:`funnel_summary` (``mode="period"``; same table, same
    ``attrs``) with only its options.

    Parameters
    ----------
    ds
        A Dataset, a View (``dataset.at(as_of)``: its cached transitions are reused) or an
        engine dataset.
    by
        Segment column(s) of the opportunities.
    period
        ``"M"`` (monthly) or ``"Q"`` (quarterly).
    as_of
        Snapshot (a View's own when None); the last period is the one holding it.
    alpha
        Level of the Wilson interval of each conversion (0.05: 95%).

    Returns
    -------
    DataFrame
        the ``by`` columns, period, stage, opening, new, advanced, lost, regressed, closing,
        conversion (advanced / (advanced + lost)) with conversion_low / conversion_high,
        mean_dwell_exits, expected_amount.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> p = sa.period_funnel(sa.read_dataset().at("2026-06-30"), period="Q")
    >>> p.columns[:3].tolist()
    ['period', 'stage', 'opening']
    """
    return funnel_summary(ds, by=by, mode="period", period=period, as_of=as_of, alpha=alpha)


def _with_attrs(out: pd.DataFrame, t: pd.DataFrame, *, mode, by, period, skipped) -> pd.DataFrame:
    """Last step of a summary: the transitions' attrs, the options and the counting rules."""
    out.attrs = {
        **t.attrs,
        "mode": mode,
        "by": by,
        "period": period,
        "skipped": skipped,
        "counting_rules": COUNTING_RULES,
        "conversion": "advanced / (advanced + lost); open deals are censored, "
        "regressed exits are not counted as resolved",
    }
    return out


def _cohort(t, cfg, by, period, start, skipped, alpha) -> pd.DataFrame:
    keys = by + (["cohort"] if period else [])
    rows = None
    if start is not None:
        rows = np.flatnonzero((t["created_at"] >= pd.Timestamp(start)).to_numpy(dtype=bool))
    deals = _Deals.of(t, rows, by, period)
    out = pd.concat(_cohort_counts(deals, cfg, keys, skipped), ignore_index=True)
    for c in ("reached", "advanced", "lost_here", "open_here", "won"):
        out[c] = out[c].astype("int64")
    resolved = out["advanced"] + out["lost_here"]
    out["conversion"] = out["advanced"] / resolved.where(resolved > 0)
    out["conversion_low"], out["conversion_high"] = wilson(out["advanced"], resolved, alpha)
    first = (
        out[out["stage"] == cfg.open_keys[0]].set_index(keys)["reached"]
        if keys
        else out["reached"].iloc[0]
    )
    base = out.set_index(keys).index.map(first) if keys else first
    out["reached_share"] = out["reached"] / np.asarray(base, dtype=float)
    if out["conversion"].gt(1).any():  # a logic check the practice asks for
        raise RuntimeError("conversion above 100%: counting error")
    return order_stages(out, cfg, *keys)


@dataclass(frozen=True)
class _Deals:
    """One entry per deal of a transitions table (rows with an id), in grouped order.

    ``max_order``: the furthest stage entered; ``final_order`` / ``won`` / ``lost`` /
    ``open``: the stage and outcome of the deal's last row; ``entered``: per open stage,
    which deals have a row there (``skipped="not_reached"``); ``keys``: the deal's first
    non-missing value of each ``by`` column (and its ``cohort``).
    """

    max_order: np.ndarray
    final_order: np.ndarray
    won: np.ndarray
    lost: np.ndarray
    open: np.ndarray
    order: np.ndarray
    start: np.ndarray
    keys: dict

    @classmethod
    def of(cls, t: pd.DataFrame, rows: np.ndarray | None, by: list[str], period) -> _Deals:
        """The deals of ``t`` (of its ``rows`` when given), grouped without a hash when sorted."""
        rank, missing = id_rank(t["opportunity_id"])
        every = rows is None and missing is None  # all rows, in table order: no copies
        if rows is None:
            rows = np.arange(len(t)) if missing is None else np.flatnonzero(~missing)
        elif missing is not None:
            rows = rows[~missing[rows]]
        r = rank if every else rank[rows]
        if len(r) > 1 and (r[1:] < r[:-1]).any():  # group a deal's rows, keeping their order
            rows = rows[np.argsort(r, kind="stable")]
            r = rank[rows]
            every = False
        new = np.ones(len(r), dtype=bool)
        new[1:] = r[1:] != r[:-1]
        start = np.flatnonzero(new)
        end = np.append(start[1:], len(r)) - 1 if len(start) else start
        order = t["order"].to_numpy() if every else t["order"].to_numpy()[rows]
        final = t["outcome"].take(rows[end]).reset_index(drop=True)
        keys = {k: _first_valid(t[k], rows, start) for k in by}
        if period:
            created = _first_valid(t["created_at"], rows, start)
            codes, uniques = pd.factorize(created.dt.to_period(period).array)
            labels = pd.Series(uniques).astype(str)
            keys["cohort"] = take_rows(labels, codes, True)
        return cls(
            max_order=np.maximum.reduceat(order, start) if len(r) else order,
            final_order=order[end],
            won=_is(final, "won"),
            lost=_is(final, "lost"),
            open=_is(final, "open"),
            order=order,
            start=start,
            keys=keys,
        )

    def entered(self, s: int) -> np.ndarray:
        """Deals with a row in open stage ``s``."""
        if not len(self.order):
            return np.zeros(0, dtype=bool)
        return np.logical_or.reduceat(self.order == s, self.start)


def _is(values: pd.Series, label: str) -> np.ndarray:
    return (values == label).fillna(False).to_numpy(dtype=bool)


def _first_valid(col: pd.Series, rows: np.ndarray, start: np.ndarray):
    """Each deal's first non-missing value of ``col`` (missing when it has none)."""
    at = rows[start]
    na = col.isna().to_numpy(dtype=bool)
    if na.any() and len(rows):
        pos = np.where(na[rows], len(rows), np.arange(len(rows)))
        first = np.minimum.reduceat(pos, start)
        at = np.where(first < len(rows), rows[np.minimum(first, len(rows) - 1)], -1)
        return take_rows(col, at, bool((at < 0).any()))
    return take_rows(col, at, False)


def _groups(keys: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each deal by its key values (missing values form a group), and the
    first deal of each group. Without keys, all deals form one group."""
    if not keys:
        return np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    g = None
    for values in keys.values():
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        g = codes if g is None else pd.factorize(g * len(uniques) + codes)[0]
    seen = np.maximum.accumulate(g) if len(g) else g
    first = np.ones(len(g), dtype=bool)
    first[1:] = g[1:] > seen[:-1]  # codes number the groups in order of appearance
    return g.astype(np.int64), np.flatnonzero(first)


def _key_values(values: pd.Series, at: np.ndarray) -> pd.Series:
    """Key values of the groups at ``at``, typed as a groupby's keys are (object values
    inferred: strings as ``str``, booleans as ``bool``)."""
    out = values.take(at).reset_index(drop=True)
    return out.infer_objects() if out.dtype == object else out


def _cohort_counts(deals: _Deals, cfg, keys: list[str], skipped: str) -> list[pd.DataFrame]:
    """Per open stage: reached, advanced, lost_here, open_here and won of each key group."""
    g, rep = _groups(deals.keys, len(deals.max_order))
    n_groups = len(rep)

    def count(mask: np.ndarray) -> np.ndarray:
        if not keys:
            return np.array([np.count_nonzero(mask)], dtype=np.int64)
        return np.bincount(g[mask], minlength=n_groups).astype(np.int64)

    frames = []
    for s in range(len(cfg.open_keys)):
        if skipped == "reached":
            reached = (deals.max_order >= s) | deals.won
        else:
            reached = deals.entered(s)
        here = reached & (deals.final_order == s)
        n = {
            "reached": count(reached),
            "advanced": count(reached & ((deals.max_order > s) | deals.won)),
            "lost_here": count(here & deals.lost),
            "open_here": count(here & deals.open),
            "won": count(reached & deals.won),
        }
        present = np.flatnonzero(n["reached"] > 0) if keys else np.zeros(1, dtype=np.int64)
        frame = pd.DataFrame(
            {
                **{k: _key_values(v, rep[present]) for k, v in deals.keys.items()},
                **{c: v[present] for c, v in n.items()},
            }
        )
        frame.insert(0, "stage", cfg.open_keys[s])
        frames.append(frame)
    return frames


def _period(t, cfg, by, period, alpha) -> pd.DataFrame:
    keys = ["stage", *by]
    base = t[keys].assign(
        _entry=t["entered_at"].dt.to_period(period),
        _exit=t["exited_at"].dt.to_period(period),
        outcome=t["outcome"],
        dwell_days=t["dwell_days"],
        _exp=t["amount"].fillna(0) * t["stage"].map(cfg.probabilities) if "amount" in t else 0.0,
    )
    counts = (
        base.groupby([*keys, "_entry", "_exit", "outcome"], dropna=False, observed=True)
        .agg(n=("outcome", "size"), dwell_sum=("dwell_days", "sum"), exp_sum=("_exp", "sum"))
        .reset_index()
    )
    as_of = pd.Timestamp(t.attrs["as_of"])
    return period_from_counts(counts, by=by, period=period, as_of=as_of, alpha=alpha, stages=cfg)


def period_from_counts(
    counts: pd.DataFrame, *, by: list[str], period: str, as_of: pd.Timestamp, alpha: float, stages
) -> pd.DataFrame:
    """The period stage summary from stage visits counted by stage, ``by``, entry period
    (``_entry``), exit period (``_exit``, missing while open) and outcome, with ``n``,
    ``dwell_sum`` and ``exp_sum`` (amount x stage probability): the finishing step shared by
    the pandas and the engine route (balances, the period grid, rates).

    >>> c = pd.DataFrame({"stage": ["prospect", "prospect"],
    ...                   "_entry": pd.PeriodIndex(["2026-01", "2026-01"], freq="M"),
    ...                   "_exit": pd.PeriodIndex(["2026-02", None], freq="M"),
    ...                   "outcome": ["advanced", "open"], "n": [2, 1],
    ...                   "dwell_sum": [20.0, 0.0], "exp_sum": [0.0, 50.0]})
    >>> out = period_from_counts(c, by=[], period="M", as_of=pd.Timestamp("2026-02-28"),
    ...                          alpha=0.05, stages="default")
    >>> out[["period", "opening", "new", "advanced", "closing"]].values.tolist()
    [['2026-01', 0, 3, 0, 3], ['2026-02', 3, 0, 2, 1]]
    """
    cfg = load_stages(stages)
    a = counts
    keys = ["stage", *by]
    periods = pd.period_range(a["_entry"].min(), as_of.to_period(period), freq=period)
    grid = pd.MultiIndex.from_product(
        [
            *(pd.Index(sorted(a[k].dropna().unique()), name=k) for k in keys),
            pd.Index(periods, name="period"),
        ]
    )

    def count(mask, col, value="n"):
        s = a[mask].groupby([*keys, col], observed=True)[value].sum()
        s.index = s.index.set_names([*keys, "period"])
        return s.reindex(grid, fill_value=0)

    exited = a["_exit"].notna()
    out = pd.DataFrame(
        {
            "new": count(pd.Series(True, index=a.index), "_entry"),
            "advanced": count(exited & a["outcome"].isin(ADVANCED), "_exit"),
            "lost": count(exited & (a["outcome"] == "lost"), "_exit"),
            "regressed": count(exited & (a["outcome"] == "regressed"), "_exit"),
        }
    ).astype("int64")
    moved = out["new"] - out["advanced"] - out["lost"] - out["regressed"]
    out["closing"] = moved.groupby(level=keys, sort=False).cumsum()
    out["opening"] = out["closing"] - moved
    dsum = a[exited].groupby([*keys, "_exit"], observed=True)[["dwell_sum", "n"]].sum()
    dw = dsum["dwell_sum"] / dsum["n"]
    dw.index = dw.index.set_names([*keys, "period"])
    out["mean_dwell_exits"] = dw.reindex(grid)
    # expected amount still in the stage at period end: deals entered by then, not yet out
    still = []
    for p in periods:
        inside = (a["_entry"] <= p) & (a["_exit"].isna() | (a["_exit"] > p))
        still.append(a[inside].groupby(keys, observed=True)["exp_sum"].sum().rename(p))
    exp = pd.concat(still, axis=1).stack()
    exp.index = exp.index.set_names([*keys, "period"])
    out["expected_amount"] = exp.reindex(grid).fillna(0.0)
    out = out.reset_index()
    out["period"] = out["period"].astype(str)
    resolved = out["advanced"] + out["lost"]
    out["conversion"] = out["advanced"] / resolved.where(resolved > 0)
    out["conversion_low"], out["conversion_high"] = wilson(out["advanced"], resolved, alpha)
    cols = [
        *by,
        "period",
        "stage",
        "opening",
        "new",
        "advanced",
        "lost",
        "regressed",
        "closing",
        "conversion",
        "conversion_low",
        "conversion_high",
        "mean_dwell_exits",
        "expected_amount",
    ]
    return order_stages(out[cols], cfg, *by, "period")


GUIDE_CONVENTION = {
    "name": "guide-004",
    "closing": "closing = opening + new - lost (advanced deals stay counted in the stage)",
    "conversion": "conversion = advanced / closing",
    "expected_amount": "expected_amount = closing x the stage's average expected deal amount",
    "opening": "deals in the stage at the start of the period (entered before, not yet out)",
    "new": "deals entering the stage during the period",
    "lost": "deals lost from the stage during the period",
    "advanced": "deals moving on from the stage (to a later stage or won) during the period",
    "regressed": "deals moving back to an earlier stage are not lost: they stay in closing",
    "dwell": "mean_dwell_days: mean days in the stage of the visits that ended in the period",
}


def guide_stage_summary(
    ds: Dataset | None = None,
    *,
    period: str | None = None,
    as_of=None,
    average_amount=None,
    min_conversion: float = 0.40,
    reference_dwell=None,
    transitions: pd.DataFrame | None = None,
    stage_history: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    stages=None,
) -> pd.DataFrame:
    """The monthly stage summary as guide [004] keeps it (銷售漏斗階段數據匯總表).

    A named convention beside :func:`funnel_summary`'s period mode: the guide counts a deal
    that advanced during the month in the stage's closing figure, so
    ``closing = opening + new - lost``, ``conversion = advanced / closing`` and
    ``expected_amount = closing x average expected amount``.

    Parameters
    ----------
    period
        The month, ``"YYYY-MM"``; default the month of ``as_of``.
    as_of
        Snapshot; nothing after it is used. Default: latest date in the history.
    average_amount
        The stage's average expected deal amount (平均客單價): a number, a mapping
        ``{stage: amount}``, or None for the mean ``amount`` of the deals counted in the
        stage's closing figure.
    min_conversion
        Stages converting below this are flagged (guide: 40%).
    reference_dwell
        ``{stage: days}`` (the industry average); stages whose mean dwell is above it are
        flagged ``slow``.

    Returns
    -------
    DataFrame
        period, stage, opening, new, lost, closing, advanced, conversion, mean_dwell_days,
        average_amount, expected_amount, previous_conversion (the month before),
        conversion_change, low_conversion, slow; a last row for the won stage with ``new``
        (deals won in the month). ``attrs["convention"]`` states every definition.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> g = sa.guide_stage_summary(sa.read_dataset(), period="2026-03")
    >>> g.columns[:6].tolist()
    ['period', 'stage', 'opening', 'new', 'lost', 'closing']
    """
    hist, opps, cfg = inputs(ds, stage_history, opportunities, stages)
    t = (
        transitions
        if transitions is not None
        else stage_transitions(stage_history=hist, opportunities=opps, stages=cfg, as_of=as_of)
    )
    t_as_of = pd.Timestamp(t.attrs.get("as_of", t["entered_at"].max()))
    p = pd.Period(period, "M") if period is not None else t_as_of.to_period("M")
    if p.start_time > t_as_of:
        raise ValueError(f"period {p} starts after as_of {t_as_of.date()}")
    cur = _guide_month(t, cfg, p, average_amount, min_conversion, reference_dwell)
    prev = _guide_month(t, cfg, p - 1, average_amount, min_conversion, reference_dwell)
    cur["previous_conversion"] = cur["stage"].map(prev.set_index("stage")["conversion"])
    cur["conversion_change"] = cur["conversion"] - cur["previous_conversion"]
    cols = [
        "period",
        "stage",
        "opening",
        "new",
        "lost",
        "closing",
        "advanced",
        "conversion",
        "previous_conversion",
        "conversion_change",
        "mean_dwell_days",
        "average_amount",
        "expected_amount",
        "low_conversion",
        "slow",
    ]
    out = cur[cols].reset_index(drop=True)
    out.attrs = {
        "as_of": str(t_as_of.date()),
        "period": str(p),
        "convention": GUIDE_CONVENTION,
        "min_conversion": min_conversion,
        "reference_dwell": dict(reference_dwell or {}),
        "coarse_history": bool(t.attrs.get("coarse_history", False)),
    }
    return out


def _guide_month(t, cfg, p, average_amount, min_conversion, reference_dwell) -> pd.DataFrame:
    start, end = p.start_time, p.end_time
    exited_in = t["exited_at"].between(start, end)
    masks = {
        "opening": (t["entered_at"] < start) & (t["exited_at"].isna() | (t["exited_at"] >= start)),
        "new": t["entered_at"].between(start, end),
        "lost": exited_in & (t["outcome"] == "lost"),
        "advanced": exited_in & t["outcome"].isin(ADVANCED),
    }
    amount = t["amount"] if "amount" in t else pd.Series(np.nan, index=t.index)
    rows = []
    for key in cfg.open_keys:
        here = t["stage"] == key
        row = {"period": str(p), "stage": key}
        for name, m in masks.items():
            row[name] = int((here & m).sum())
        row["closing"] = row["opening"] + row["new"] - row["lost"]
        row["conversion"] = row["advanced"] / row["closing"] if row["closing"] else np.nan
        row["mean_dwell_days"] = float(t.loc[here & exited_in, "dwell_days"].mean())
        if average_amount is None:
            counted = here & (masks["opening"] | masks["new"]) & ~masks["lost"]
            avg = float(amount[counted].mean()) if counted.any() else np.nan
        elif isinstance(average_amount, dict):
            avg = float(average_amount.get(key, np.nan))
        else:
            avg = float(average_amount)
        row["average_amount"] = avg
        row["expected_amount"] = row["closing"] * avg
        rows.append(row)
    won = t["exited_at"].between(start, end) & (t["outcome"] == "won")
    rows.append({"period": str(p), "stage": cfg.won, "new": int(won.sum())})
    out = pd.DataFrame(rows)
    for c in ("opening", "lost", "closing", "advanced"):
        out[c] = out[c].astype("Int64")
    out["new"] = out["new"].astype("int64")
    ref = pd.Series(dict(reference_dwell or {}), dtype=float)
    open_row = out["stage"] != cfg.won
    out["low_conversion"] = open_row & out["conversion"].lt(min_conversion).fillna(False)
    out["slow"] = open_row & out["mean_dwell_days"].gt(out["stage"].map(ref)).fillna(False)
    return out
