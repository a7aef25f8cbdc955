"""Stage-history aggregations written once as Ibis expressions; only aggregates come back.

Each function mirrors a pandas entry point (same counting rules, same columns, same numbers
to 1e-9): :func:`transitions` (``stage_transitions``), :func:`funnel_summary` (cohort and
period), :func:`stage_dwell`, :func:`stale_deals`, :func:`conversion_by`, and
:func:`visit_counts` / :func:`exit_counts`, the counts the stage-probability model is
fitted from. Point in time: the ``as_of`` cut is part of the expression, so no stage row
after ``as_of`` is read.

The pandas side only finishes small tables: Wilson intervals, Kaplan-Meier quantiles on
the grouped dwell times, cumulative period balances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..funnel._common import SEGMENTS, as_list, as_of_ts, order_stages, wilson
from ..funnel.dwell import km_quantile
from ..funnel.transitions import COUNTING_RULES

__all__ = [
    "EngineTransitions",
    "transitions",
    "funnel_summary",
    "stage_dwell",
    "stale_deals",
    "conversion_by",
    "visit_counts",
    "exit_counts",
]

ADVANCED = ("advanced", "skipped", "won")
_DAY = 86400.0


@dataclass
class EngineTransitions:
    """Stage visits as a lazy Ibis table (one row per deal and open-stage visit).

    ``table`` is the expression, ``attrs`` the same counting rules as the pandas table;
    ``to_pandas()`` brings every row back (only for data that fit in memory).
    """

    table: object
    attrs: dict
    dataset: object = field(repr=False)
    as_of: pd.Timestamp = None
    _sa_engine = True

    @property
    def columns(self) -> list[str]:
        return list(self.table.columns)

    def to_pandas(self) -> pd.DataFrame:
        out = self.table.order_by(["opportunity_id", "entered_at", "order"]).to_pandas()
        out.attrs = dict(self.attrs)
        return out

    def __len__(self) -> int:
        return int(self.table.count().execute())


def _lit_ts(ts: pd.Timestamp):
    import ibis

    return ibis.literal(ts.to_pydatetime(), type="timestamp")


def _epoch(ts: pd.Timestamp) -> float:
    """Seconds since 1970 of a naive timestamp (microseconds kept)."""
    return (ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)


def default_as_of(ds, as_of) -> pd.Timestamp:
    """``as_of`` as its last moment; None: the latest stage entry (never the clock)."""
    if as_of is not None:
        return as_of_ts(as_of)
    if ds.stage_history is not None:
        latest = ds.stage_history["entered_at"].max().execute()
    else:
        o = ds.opportunities
        latest = max(
            v for v in (o["created_at"].max().execute(), o["closed_at"].max().execute()) if v
        )
    if latest is None or pd.isna(latest):
        raise ValueError("as_of is needed: the data hold no dates")
    return pd.Timestamp(latest)


def history(ds):
    """The stage history; without one, the coarse history derived from opportunities."""
    import ibis

    if ds.stage_history is not None:
        return ds.stage_history.select("opportunity_id", "stage", "entered_at")
    cfg = ds.stages
    o = ds.opportunities
    entry = cfg.coarse_entry or cfg.open_keys[0]
    closed = o["status"].isin(["won", "lost"])
    first = o.select(
        "opportunity_id",
        stage=ibis.ifelse(closed, ibis.literal(entry), o["stage"]),
        entered_at=o["created_at"],
    )
    last = o.filter(closed & o["closed_at"].notnull()).select(
        "opportunity_id", "stage", entered_at=o["closed_at"]
    )
    return first.union(last)


def transitions(ds, *, as_of=None, reentry: str = "all") -> EngineTransitions:
    """Engine twin of :func:`salesanalytics.stage_transitions` (a lazy table)."""
    import ibis

    if reentry not in ("all", "first", "last"):
        raise ValueError("reentry must be 'all', 'first' or 'last'")
    cfg = ds.stages
    t_as_of = default_as_of(ds, as_of)
    key = ("transitions", t_as_of, reentry)
    if key in ds.cache:  # computed once per as_of, kept in the engine
        return ds.cache[key]
    order = {k: i for i, k in enumerate(cfg.keys)}
    n_open = len(cfg.open_keys)
    h = history(ds)
    h = h.filter(h["entered_at"] <= _lit_ts(t_as_of))  # point in time: nothing after as_of
    h = h.mutate(order=h["stage"].substitute(order, else_=ibis.null("int64")).cast("int64"))
    w = ibis.window(group_by=h["opportunity_id"], order_by=[h["entered_at"], h["order"]])
    h = h.mutate(
        next_stage=h["stage"].lead().over(w),
        next_order=h["order"].lead().over(w),
        exited_at=h["entered_at"].lead().over(w),
    )
    h = h.filter(h["order"] < n_open)
    outcome = ibis.cases(
        (h["next_stage"].isnull(), "open"),
        (h["next_stage"] == cfg.won, "won"),
        (h["next_stage"] == cfg.lost, "lost"),
        (h["next_order"] < h["order"], "regressed"),
        (h["next_order"] == h["order"] + 1, "advanced"),
        else_="skipped",
    )
    end = h["exited_at"].epoch_seconds().cast("float64").coalesce(ibis.literal(_epoch(t_as_of)))
    wv = ibis.window(
        group_by=[h["opportunity_id"], h["stage"]], order_by=[h["entered_at"], h["order"]]
    )
    h = h.mutate(
        outcome=outcome,
        censored=h["next_stage"].isnull(),
        dwell_days=(end - h["entered_at"].epoch_seconds().cast("float64")) / _DAY,
        visit=(ibis.row_number().over(wv) + 1).cast("int64"),
        n_visits=h["opportunity_id"]
        .count()
        .over(ibis.window(group_by=[h["opportunity_id"], h["stage"]])),
    )
    if reentry == "first":
        h = h.filter(h["visit"] == 1)
    elif reentry == "last":
        h = h.filter(h["visit"] == h["n_visits"])
    o = ds.opportunities
    extra = ("created_at", "amount", "status", "loss_reason")
    seg = [c for c in (*SEGMENTS, *extra) if c in o.columns]
    h = h.select(
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
    )
    t = h.left_join(o.select("opportunity_id", *seg), "opportunity_id").drop("opportunity_id_right")
    attrs = {
        "as_of": str(t_as_of.date()),
        "reentry": reentry,
        "coarse_history": ds.history_is_coarse,
        "counting_rules": COUNTING_RULES,
        "note": (
            "coarse history derived from opportunities (created and closed dates only): "
            "stage dwell and conversion between open stages are not observed"
        )
        if ds.history_is_coarse
        else "",
        "engine": ds.engine,
    }
    from .connect import _materialise

    ds.cache[key] = EngineTransitions(_materialise(t, ds.backend), attrs, ds, t_as_of)
    return ds.cache[key]


def _resolve(ds, transitions_, as_of) -> EngineTransitions:
    if transitions_ is not None:
        return transitions_
    return transitions(ds, as_of=as_of)


def _last_visit(t):
    """The transitions with ``_last`` = True on each deal's last visit (its current fate)."""
    import ibis

    w = ibis.window(
        group_by=t["opportunity_id"],
        order_by=[t["entered_at"].desc(), t["order"].desc(), t["visit"].desc()],
    )
    return t.mutate(_last=ibis.row_number().over(w) == 0)


def _pull(expr, *, categorical: bool = False) -> pd.DataFrame:
    """An aggregate brought back; ``categorical``: text as categories in sorted order
    (large count tables stay small in memory and compare fast)."""
    if not categorical:
        df = expr.to_pandas()
        for c in df.columns:
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
                df[c] = df[c].astype(object).where(df[c].notna(), np.nan)
        return df
    import pyarrow as pa

    tab = expr.to_pyarrow()
    cols = {}
    for name, col in zip(tab.column_names, tab.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            cat = col.combine_chunks().dictionary_encode().to_pandas()
            cols[name] = cat.cat.set_categories(sorted(cat.cat.categories))
        else:
            cols[name] = col.to_pandas()
    return pd.DataFrame(cols)


# ------------------------------------------------------------------ funnel
def funnel_summary(
    ds,
    *,
    by=None,
    mode: str = "cohort",
    period: str | None = None,
    as_of=None,
    start=None,
    skipped: str = "reached",
    transitions: EngineTransitions | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Engine twin of :func:`salesanalytics.funnel_summary` (cohort and period modes)."""
    if mode not in ("cohort", "period"):
        raise ValueError("mode must be 'cohort' or 'period'")
    if skipped not in ("reached", "not_reached"):
        raise ValueError("skipped must be 'reached' or 'not_reached'")
    tr = _resolve(ds, transitions, as_of)
    cfg = (ds if ds is not None else tr.dataset).stages
    by = as_list(by)
    missing = [b for b in by if b not in tr.columns]
    if missing:
        raise ValueError(f"unknown segment column(s) {missing}; available: {tr.columns}")
    if mode == "cohort":
        out = _cohort(tr.table, cfg, by, period, start, skipped, alpha)
    else:
        out = _period(tr, cfg, by, period or "M", alpha)
    out.attrs = {
        **tr.attrs,
        "mode": mode,
        "by": by,
        "period": period,
        "skipped": skipped,
        "counting_rules": COUNTING_RULES,
        "conversion": "advanced / (advanced + lost); open deals are censored, "
        "regressed exits are not counted as resolved",
    }
    return out


def _period_parts(col, period: str) -> dict:
    if period == "M":
        return {"_py": col.year(), "_pp": col.month()}
    if period == "Q":
        return {"_py": col.year(), "_pp": col.quarter()}
    if period in ("Y", "A"):
        return {"_py": col.year(), "_pp": col.year() * 0}
    raise ValueError("period must be 'M', 'Q' or 'Y' in the engine")


def _period_label(year, part, period: str) -> pd.Series:
    y = pd.Series(year)
    p = pd.Series(part)
    out = []
    for a, b in zip(y, p):
        if pd.isna(a):
            out.append("NaT")
        elif period == "M":
            out.append(f"{int(a):04d}-{int(b):02d}")
        elif period == "Q":
            out.append(f"{int(a):04d}Q{int(b)}")
        else:
            out.append(f"{int(a):04d}")
    return pd.Series(out, index=y.index, dtype=object)


def _cohort(t, cfg, by, period, start, skipped, alpha) -> pd.DataFrame:
    import ibis

    n_open = len(cfg.open_keys)
    d = t
    if start is not None:
        d = d.filter(d["created_at"] >= _lit_ts(pd.Timestamp(start)))
    cohort_cols = []
    if period:
        d = d.mutate(**_period_parts(d["created_at"], period))
        cohort_cols = ["_py", "_pp"]
    keys = by + cohort_cols
    d = _last_visit(d)
    deals = d.group_by(["opportunity_id", *keys]).aggregate(
        max_order=d["order"].max(),
        final=ibis.ifelse(d["_last"], d["outcome"], ibis.null("string")).max(),
        final_order=ibis.ifelse(d["_last"], d["order"], ibis.null("int64")).max(),
    )
    stages = ibis.memtable(pd.DataFrame({"_s": np.arange(n_open, dtype="int64")}))
    x = deals.cross_join(stages)
    won = x["final"] == "won"
    if skipped == "reached":
        x = x.filter((x["max_order"] >= x["_s"]) | won)
    else:
        entered = d.select("opportunity_id", _s=d["order"]).distinct()
        x = x.semi_join(entered, ["opportunity_id", "_s"])
    won = x["final"] == "won"
    agg = x.group_by(["_s", *keys]).aggregate(
        reached=x.count(),
        advanced=((x["max_order"] > x["_s"]) | won).cast("int64").sum(),
        lost_here=((x["final"] == "lost") & (x["final_order"] == x["_s"])).cast("int64").sum(),
        open_here=((x["final"] == "open") & (x["final_order"] == x["_s"])).cast("int64").sum(),
        won=won.cast("int64").sum(),
    )
    out = _pull(agg)
    if period:
        out["cohort"] = _period_label(out["_py"], out["_pp"], period)
        out = out.drop(columns=cohort_cols)
    keys = by + (["cohort"] if period else [])
    out.insert(0, "stage", [cfg.open_keys[int(s)] for s in out["_s"]])
    out = out.drop(columns="_s")
    out = out[["stage", *keys, "reached", "advanced", "lost_here", "open_here", "won"]]
    out = out.sort_values(keys, kind="mergesort", na_position="last") if keys else out
    for c in ("reached", "advanced", "lost_here", "open_here", "won"):
        out[c] = out[c].astype("int64")
    out = out.reset_index(drop=True)
    resolved = out["advanced"] + out["lost_here"]
    out["conversion"] = out["advanced"] / resolved.where(resolved > 0)
    out["conversion_low"], out["conversion_high"] = wilson(out["advanced"], resolved, alpha)
    first = out[out["stage"] == cfg.open_keys[0]]
    if keys:
        base = out[keys].merge(first[[*keys, "reached"]], on=keys, how="left")["reached"]
        out["reached_share"] = out["reached"] / base.to_numpy(dtype=float)
    else:
        out["reached_share"] = out["reached"] / float(first["reached"].iloc[0])
    if out["conversion"].gt(1).any():
        raise RuntimeError("conversion above 100%: counting error")
    return order_stages(out, cfg, *keys)


def _period(tr: EngineTransitions, cfg, by, period, alpha) -> pd.DataFrame:
    """Counts by entry and exit period in the engine; balances and the grid in pandas."""
    import ibis

    t = tr.table
    keys = ["stage", *by]
    prob = cfg.probabilities.to_dict()
    t = t.mutate(
        **{f"_e{k}": v for k, v in _period_parts(t["entered_at"], period).items()},
        **{f"_x{k}": v for k, v in _period_parts(t["exited_at"], period).items()},
        _exp=(
            t["amount"].coalesce(0.0) * t["stage"].substitute(prob, else_=ibis.null("float64"))
            if "amount" in t.columns
            else ibis.literal(0.0)
        ),
    )
    ecols, xcols = ["_e_py", "_e_pp"], ["_x_py", "_x_pp"]
    agg = t.group_by([*keys, *ecols, *xcols, "outcome"]).aggregate(
        n=t.count(), dwell_sum=t["dwell_days"].sum(), exp_sum=t["_exp"].sum()
    )
    a = _pull(agg)
    as_of = pd.Timestamp(tr.attrs["as_of"])
    freq = {"M": "M", "Q": "Q", "Y": "Y", "A": "Y"}[period]

    def to_period(y, p):
        lab = _period_label(y, p, period)
        return pd.PeriodIndex([None if x == "NaT" else x for x in lab], freq=freq)

    a["_entry"] = to_period(a["_e_py"], a["_e_pp"])
    a["_exit"] = to_period(a["_x_py"], a["_x_pp"])
    periods = pd.period_range(a["_entry"].min(), as_of.to_period(freq), freq=freq)
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


# ------------------------------------------------------------------ dwell
def dwell_inputs(tr: EngineTransitions, by: list[str]) -> pd.DataFrame:
    """Visits grouped by stage, segment, dwell and censoring: the Kaplan-Meier inputs."""
    t = tr.table
    agg = t.group_by(["stage", *by, "dwell_days", "censored"]).aggregate(n=t.count())
    return _pull(agg, categorical=True)


def stage_dwell(
    ds,
    *,
    by=None,
    as_of=None,
    timeout_factor: float = 1.5,
    transitions: EngineTransitions | None = None,
) -> pd.DataFrame:
    """Engine twin of :func:`salesanalytics.stage_dwell`."""
    tr = _resolve(ds, transitions, as_of)
    cfg = tr.dataset.stages
    by = as_list(by)
    a = dwell_inputs(tr, by)
    done = ~a["censored"].astype(bool)
    w = a["n"].to_numpy(float)
    stage = a["stage"].astype(object)
    sums = (a["dwell_days"] * w)[done].groupby(stage[done]).sum()
    counts = pd.Series(w, index=a.index)[done].groupby(stage[done]).sum()
    team_mean = sums / counts
    a["_late"] = a["dwell_days"] > stage.map(team_mean).astype(float) * timeout_factor
    a["_done"] = done
    rows = []
    for key, g in a.groupby(["stage", *by], sort=True, dropna=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        n = g["n"].to_numpy(np.int64)
        dur = np.repeat(g["dwell_days"].to_numpy(float), n)
        obs = np.repeat(g["_done"].to_numpy(bool), n)
        rows.append(
            {
                **dict(zip(["stage", *by], key)),
                "visits": int(n.sum()),
                "completed": int(obs.sum()),
                "open": int((~obs).sum()),
                "mean_completed": float(dur[obs].mean()) if obs.any() else np.nan,
                "median": km_quantile(dur, obs, 0.5),
                "p90": km_quantile(dur, obs, 0.9),
                "timeout_rate": float((g["_late"].to_numpy(bool) * n).sum() / n.sum()),
            }
        )
    out = order_stages(pd.DataFrame(rows), cfg, *by)
    out.attrs = {
        **tr.attrs,
        "by": by,
        "timeout_factor": timeout_factor,
        "method": "median and p90 by Kaplan-Meier; open visits are right-censored at as_of",
    }
    return out


def stale_deals(
    ds,
    *,
    as_of=None,
    factor: float = 1.5,
    transitions: EngineTransitions | None = None,
) -> pd.DataFrame:
    """Engine twin of :func:`salesanalytics.stale_deals` (only the stale deals come back)."""
    tr = _resolve(ds, transitions, as_of)
    t = tr.table
    done = t.filter(~t["censored"])
    mean = done.group_by("stage").aggregate(stage_mean_days=done["dwell_days"].mean())
    cur = t.filter(t["censored"]).inner_join(mean, "stage")
    cur = cur.mutate(ratio=cur["dwell_days"] / cur["stage_mean_days"])
    cur = cur.filter(cur["ratio"] > factor)
    cols = [
        c
        for c in (
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
        if c in cur.columns
    ]
    out = _pull(cur.select(*cols))
    out = out.sort_values(["ratio", "opportunity_id"], ascending=[False, True], kind="mergesort")
    out = out.reset_index(drop=True)
    out.attrs = {**tr.attrs, "factor": factor, "rule": f"open and in stage > {factor} x stage mean"}
    return out


# ------------------------------------------------------------------ leads
def conversion_by(ds, *, by="channel", as_of=None, spend: pd.DataFrame | None = None):
    """Engine twin of :func:`salesanalytics.conversion_by`."""
    import ibis

    leads = ds.leads
    if leads is None:
        raise ValueError("conversion_by needs a leads table")
    by = as_list(by)
    if as_of is not None:
        t = as_of_ts(as_of)
    else:
        latest = leads["created_at"].max().execute()
        if latest is None or pd.isna(latest):
            raise ValueError("as_of is needed: the data hold no dates")
        t = pd.Timestamp(latest)
    ld = leads.filter(leads["created_at"].isnull() | (leads["created_at"] <= _lit_ts(t)))
    conv = (
        ld["converted"].coalesce(False)
        if "converted" in ld.columns
        else ld["opportunity_id"].notnull()
    )
    days = (
        (ld["converted_at"].epoch_seconds() - ld["created_at"].epoch_seconds()).cast("float64")
        / _DAY
        if "converted_at" in ld.columns
        else ibis.null("float64")
    )
    ld = ld.mutate(_conv=conv, _days=days)
    o = ds.opportunities
    if "opportunity_id" in ld.columns:
        amount = "close_amount" if "close_amount" in o.columns else "amount"
        oo = o.select(_oid="opportunity_id", _status="status", _won_amount=o[amount])
        ld = ld.left_join(oo, ld["opportunity_id"] == oo["_oid"])
    else:
        ld = ld.mutate(_status=ibis.null("string"), _won_amount=ibis.null("float64"))
    won = ld["_status"] == "won"
    g = ld.group_by(by).aggregate(
        leads=ld.count(),
        opportunities=ld["_conv"].cast("int64").sum(),
        won=won.fill_null(False).cast("int64").sum(),
        lost=(ld["_status"] == "lost").fill_null(False).cast("int64").sum(),
        open=(ld["_status"] == "open").fill_null(False).cast("int64").sum(),
        won_amount=ibis.ifelse(won.fill_null(False), ld["_won_amount"], ibis.null("float64")).sum(),
    )
    # exact median: the middle one or two values of each segment's sorted days
    dd = ld.filter(ld["_days"].notnull())
    w = ibis.window(group_by=[dd[b] for b in by], order_by=dd["_days"])
    dd = dd.mutate(
        _rn=ibis.row_number().over(w),
        _cnt=dd.count().over(ibis.window(group_by=[dd[b] for b in by])),
    )
    mid = dd.filter(
        (dd["_rn"] == ((dd["_cnt"] - 1) / 2).floor()) | (dd["_rn"] == ((dd["_cnt"] - 1) / 2).ceil())
    )
    med = mid.group_by(by).aggregate(median_days_to_convert=mid["_days"].mean())
    out = _pull(g)
    m = _pull(med)
    out = out.merge(m, on=by, how="left")
    out["won_amount"] = out["won_amount"].fillna(0.0)
    for c in ("leads", "opportunities", "won", "lost", "open"):
        out[c] = out[c].astype("int64")
    out = out[
        [
            *by,
            "leads",
            "opportunities",
            "median_days_to_convert",
            "won",
            "lost",
            "open",
            "won_amount",
        ]
    ]
    out["lead_to_opportunity"] = out["opportunities"] / out["leads"]
    out["lead_to_opportunity_low"], out["lead_to_opportunity_high"] = wilson(
        out["opportunities"], out["leads"]
    )
    closed = (out["won"] + out["lost"]).astype(float)
    out["win_rate"] = out["won"] / closed.where(closed > 0)
    out["win_rate_low"], out["win_rate_high"] = wilson(out["won"], closed)
    out["lead_to_won"] = out["won"] / out["leads"]
    if spend is not None:
        s = spend.groupby(by)["amount"].sum().rename("spend").reset_index()
        out = out.merge(s, on=by, how="left")
        out["cost_per_lead"] = out["spend"] / out["leads"]
        out["cost_per_opportunity"] = out["spend"] / out["opportunities"].astype(float).where(
            out["opportunities"] > 0
        )
        out["cost_per_win"] = out["spend"] / out["won"].astype(float).where(out["won"] > 0)
    out = out.sort_values(by, kind="mergesort", na_position="last").reset_index(drop=True)
    out.attrs = {
        "as_of": str(t.date()),
        "by": by,
        "win_rate": "won / (won + lost); open opportunities are not counted as lost",
        "engine": ds.engine,
    }
    return out


# ------------------------------------------------------------------ calibration counts
def first_close(tr: EngineTransitions):
    t = tr.table
    v = t.filter(t["outcome"].isin(["won", "lost"]))["exited_at"].min().execute()
    return pd.NaT if v is None or pd.isna(v) else pd.Timestamp(v)


def visit_counts(
    tr: EngineTransitions,
    *,
    as_of: pd.Timestamp,
    by: list[str],
    start: pd.Timestamp | None,
    half_life_days: float | None,
) -> pd.DataFrame:
    """First visit of each deal to each stage, grouped: stage, by, duration, fate, entry, n, w.

    The same quantities as :func:`salesanalytics.calibration.model.stage_visits` (duration
    to the deal's close or to ``as_of``; delayed entry from ``start``; recency weight), counted.
    """
    import ibis

    t = _last_visit(tr.table)
    fate_rows = t.filter(t["_last"]).select(
        _oid="opportunity_id",
        fate=ibis.ifelse(t["outcome"].isin(["won", "lost"]), t["outcome"], ibis.null("string")),
        closed_s=ibis.ifelse(
            t["outcome"].isin(["won", "lost"]),
            t["exited_at"].epoch_seconds().cast("float64"),
            ibis.null("float64"),
        ),
    )
    v = t.filter(t["visit"] == 1)
    v = v.inner_join(fate_rows, v["opportunity_id"] == fate_rows["_oid"])
    entered_s = v["entered_at"].epoch_seconds().cast("float64")
    duration = (v["closed_s"].coalesce(ibis.literal(_epoch(as_of))) - entered_s) / _DAY
    duration = ibis.greatest(duration, 0.0)
    entry = (
        ibis.greatest((ibis.literal(_epoch(start)) - entered_s) / _DAY, 0.0)
        if start is not None
        else ibis.literal(0.0)
    )
    weight = (
        ibis.literal(0.5).pow((ibis.literal(_epoch(as_of)) - entered_s) / _DAY / half_life_days)
        if half_life_days
        else ibis.literal(1.0)
    )
    v = v.mutate(duration=duration, _entry=entry, _w=weight)
    v = v.filter((v["duration"] > v["_entry"]) | (v["_entry"] == 0))
    agg = v.group_by(["stage", *by, "duration", "fate", "_entry"]).aggregate(
        n=v.count(), _w=v["_w"].sum()
    )
    return _pull(agg, categorical=True)


def exit_counts(tr: EngineTransitions, *, start: pd.Timestamp | None) -> tuple:
    """Per stage: visits grouped by dwell, exit kind and delayed entry; forward next stages."""
    import ibis

    t = tr.table
    kind = t["outcome"].substitute(
        {
            "advanced": "forward",
            "skipped": "forward",
            "won": "forward",
            "regressed": "back",
            "lost": "lost",
        },
        else_=ibis.null("string"),
    )
    entry = (
        ibis.greatest(
            (ibis.literal(_epoch(start)) - t["entered_at"].epoch_seconds().cast("float64")) / _DAY,
            0.0,
        )
        if start is not None
        else ibis.literal(0.0)
    )
    t = t.mutate(_kind=kind, _entry=entry)
    t = t.filter((t["dwell_days"] > t["_entry"]) | (t["_entry"] == 0))
    exits = t.group_by(["stage", "dwell_days", "_kind", "_entry"]).aggregate(n=t.count())
    fwd = t.filter(t["_kind"] == "forward")
    nxt = fwd.group_by(["stage", "next_stage"]).aggregate(n=fwd.count())
    return _pull(exits, categorical=True), _pull(nxt)
