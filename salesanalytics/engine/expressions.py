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
from ..funnel.dwell import STALE_COLUMNS, dwell_from_counts
from ..funnel.leads import conversion_from_counts
from ..funnel.summary import period_from_counts
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
    """Stage visits kept in the engine (one row per deal and open-stage visit).

    ``core`` is the computed table (integer deal key ``_oid`` and stage ``order``, kept in
    the engine once); ``table`` the public lazy view with ids, stage names and segment
    columns; ``attrs`` the same counting rules as the pandas table; ``to_pandas()`` brings
    every row back (only for data that fit in memory).
    """

    core: object
    attrs: dict
    dataset: object = field(repr=False)
    as_of: pd.Timestamp = None
    _sa_engine = True

    @property
    def opportunities(self):
        """The dataset's opportunities with the integer key ``_oid``."""
        return keyed_opportunities(self.dataset)

    @property
    def table(self):
        """The transitions as the pandas table has them (a lazy join on ``core``)."""
        return _public(self)

    @property
    def columns(self) -> list[str]:
        return list(self.table.columns)

    def segmented(self, cols) -> object:
        """``core`` with the opportunity columns ``cols`` joined (nothing joined if none)."""
        cols = [c for c in cols if c not in self.core.columns]
        if not cols:
            return self.core
        o = self.opportunities.select("_oid", *cols)
        return self.core.inner_join(o, "_oid")

    def to_pandas(self) -> pd.DataFrame:
        out = self.table.order_by(["opportunity_id", "entered_at", "order"]).to_pandas()
        out.attrs = dict(self.attrs)
        return out

    def __len__(self) -> int:
        return int(self.core.count().execute())


def keyed_opportunities(ds):
    """Opportunities with ``_oid`` (kept in the engine by ``read_dataset``)."""
    if "keyed_opportunities" not in ds.cache:
        from .connect import _keyed

        ds.cache["keyed_opportunities"] = _keyed(ds.opportunities, ds.backend)
    return ds.cache["keyed_opportunities"]


def _stage_names(order_col, cfg):
    import ibis

    return order_col.substitute(dict(enumerate(cfg.keys)), else_=ibis.null("string"))


def _segment_cols(o) -> list[str]:
    extra = ("created_at", "amount", "status", "loss_reason")
    return [c for c in (*SEGMENTS, *extra) if c in o.columns]


def _public(tr: EngineTransitions):
    cfg = tr.dataset.stages
    c = tr.core
    o = tr.opportunities
    seg = _segment_cols(o)
    t = c.inner_join(o.select("_oid", "opportunity_id", *seg), "_oid")
    return t.select(
        "opportunity_id",
        stage=_stage_names(t["order"], cfg),
        order=t["order"],
        visit=t["visit"],
        entered_at=t["entered_at"],
        exited_at=t["exited_at"],
        next_stage=_stage_names(t["next_order"], cfg),
        dwell_days=t["dwell_days"],
        outcome=t["outcome"],
        censored=t["censored"],
        **{c_: t[c_] for c_ in seg},
    )


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
    """The stage history (id, stage, entered_at); without one, the coarse history derived
    from opportunities."""
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
    """Engine twin of :func:`salesanalytics.stage_transitions` (kept in the engine).

    One window pass over the history (per deal, by entry time): the next stage's order and
    entry time. Deals whose stage order only ever rises (nearly all) need nothing more:
    each stage is visited once and the last open-stage visit is the one followed by a
    closed stage or nothing. The few others (regressions, repeats) get their visit numbers
    and last visit from windows over their own rows only.
    """
    import ibis

    from .connect import _materialise, _release

    if reentry not in ("all", "first", "last"):
        raise ValueError("reentry must be 'all', 'first' or 'last'")
    cfg = ds.stages
    t_as_of = default_as_of(ds, as_of)
    key = ("transitions", t_as_of, reentry)
    if key in ds.cache:  # computed once per as_of, kept in the engine
        return ds.cache[key]
    order = {k: i for i, k in enumerate(cfg.keys)}
    n_open = len(cfg.open_keys)
    won, lost = order[cfg.won], order[cfg.lost]
    ko = keyed_opportunities(ds).select("opportunity_id", "_oid")
    if "history_core" in ds.cache:  # id, stage order, entered_at; read lean from the raw
        h = ds.cache["history_core"]
    else:
        h = history(ds)
        h = h.select(
            "opportunity_id",
            "entered_at",
            order=h["stage"].substitute(order, else_=ibis.null("int64")).cast("int64"),
        )
    h = h.filter(h["entered_at"] <= _lit_ts(t_as_of))  # point in time: nothing after as_of
    h = h.inner_join(ko, "opportunity_id")  # known deals only, by their integer key
    h = h.select("_oid", "entered_at", "order")
    w = ibis.window(group_by=h["_oid"], order_by=[h["entered_at"], h["order"]])
    base = h.mutate(next_order=h["order"].lead().over(w), exited_at=h["entered_at"].lead().over(w))
    base = _materialise(base, ds.backend)
    # deals whose order does not strictly rise: regressions, repeats, reopened deals
    odd = base.filter(base["next_order"] <= base["order"]).select("_oid").distinct()
    op = base.filter(base["order"] < n_open)
    plain = op.anti_join(odd, "_oid")
    plain = plain.mutate(
        visit=ibis.literal(1, type="int64"),
        _last=plain["next_order"].isnull() | (plain["next_order"] >= n_open),
    )
    rest = op.semi_join(odd, "_oid")
    wv = ibis.window(
        group_by=[rest["_oid"], rest["order"]], order_by=[rest["entered_at"], rest["order"]]
    )
    rest = rest.mutate(
        visit=(ibis.row_number().over(wv) + 1).cast("int64"),
        n_visits=rest["_oid"].count().over(ibis.window(group_by=[rest["_oid"], rest["order"]])),
    )
    if reentry == "first":
        rest = rest.filter(rest["visit"] == 1)
    elif reentry == "last":
        rest = rest.filter(rest["visit"] == rest["n_visits"])
    wl = ibis.window(
        group_by=rest["_oid"],
        order_by=[rest["entered_at"].desc(), rest["order"].desc(), rest["visit"].desc()],
    )
    rest = rest.mutate(_last=ibis.row_number().over(wl) == 0).drop("n_visits")
    cols = ["_oid", "order", "visit", "entered_at", "exited_at", "next_order", "_last"]
    t = plain.select(*cols).union(rest.select(*cols))
    nxt = t["next_order"]
    outcome = ibis.cases(
        (nxt.isnull(), "open"),
        (nxt == won, "won"),
        (nxt == lost, "lost"),
        (nxt < t["order"], "regressed"),
        (nxt == t["order"] + 1, "advanced"),
        else_="skipped",
    )
    end = t["exited_at"].epoch_seconds().cast("float64").coalesce(ibis.literal(_epoch(t_as_of)))
    t = t.select(
        "_oid",
        "order",
        "visit",
        "entered_at",
        "exited_at",
        "next_order",
        dwell_days=(end - t["entered_at"].epoch_seconds().cast("float64")) / _DAY,
        outcome=outcome,
        censored=nxt.isnull(),
        _last=t["_last"],
    )
    core = _materialise(t, ds.backend)
    _release(base, ds.backend)
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
    ds.cache[key] = EngineTransitions(core, attrs, ds, t_as_of)
    return ds.cache[key]


def _resolve(ds, transitions_, as_of) -> EngineTransitions:
    if transitions_ is not None:
        return transitions_
    return transitions(ds, as_of=as_of)


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
        out = _cohort(tr, cfg, by, period, start, skipped, alpha)
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


def _cohort(tr: EngineTransitions, cfg, by, period, start, skipped, alpha) -> pd.DataFrame:
    """Per deal in the engine (furthest stage, final fate and stage), deals counted by
    those and the segment; the (few) count rows are spread over the stages in pandas."""
    import ibis

    n_open = len(cfg.open_keys)
    c = tr.core
    deals = c.group_by("_oid").aggregate(
        max_order=c["order"].max(),
        final=ibis.ifelse(c["_last"], c["outcome"], ibis.null("string")).max(),
        final_order=ibis.ifelse(c["_last"], c["order"], ibis.null("int64")).max(),
    )
    need = [*by, *(["created_at"] if period or start is not None else [])]
    d = deals
    if need:
        d = deals.inner_join(tr.opportunities.select("_oid", *need), "_oid")
    if start is not None:
        d = d.filter(d["created_at"] >= _lit_ts(pd.Timestamp(start)))
    cohort_cols = []
    if period:
        d = d.mutate(**_period_parts(d["created_at"], period))
        cohort_cols = ["_py", "_pp"]
    keys = by + cohort_cols
    fate = ["max_order", "final", "final_order"]
    if skipped == "reached":
        g = _pull(d.group_by([*keys, *fate]).aggregate(n=d.count()))
    else:
        entered = c.select("_oid", _s=c["order"]).distinct()
        x = entered.inner_join(d, "_oid")
        g = _pull(x.group_by(["_s", *keys, *fate]).aggregate(n=x.count()))
    parts = []
    for s_ in range(n_open):
        if skipped == "reached":
            sub = g[(g["max_order"] >= s_) | (g["final"] == "won")]
        else:
            sub = g[g["_s"] == s_]
        won = (sub["final"] == "won").to_numpy(bool)
        here = (sub["final_order"] == s_).to_numpy(bool)
        n = sub["n"].to_numpy(np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "_s": np.full(len(sub), s_, dtype=np.int64),
                    **{k: sub[k].to_numpy() for k in keys},
                    "reached": n,
                    "advanced": n * ((sub["max_order"].to_numpy() > s_) | won),
                    "lost_here": n * ((sub["final"] == "lost").to_numpy(bool) & here),
                    "open_here": n * ((sub["final"] == "open").to_numpy(bool) & here),
                    "won": n * won,
                }
            )
        )
    agg = pd.concat(parts, ignore_index=True)
    out = agg.groupby(["_s", *keys], dropna=False, sort=False).sum().reset_index()
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
    freq = {"M": "M", "Q": "Q", "Y": "Y", "A": "Y"}[period]

    def to_period(y, p):
        lab = _period_label(y, p, period)
        return pd.PeriodIndex([None if x == "NaT" else x for x in lab], freq=freq)

    a["_entry"] = to_period(a["_e_py"], a["_e_pp"])
    a["_exit"] = to_period(a["_x_py"], a["_x_pp"])
    as_of = pd.Timestamp(tr.attrs["as_of"])
    return period_from_counts(a, by=by, period=freq, as_of=as_of, alpha=alpha, stages=cfg)


# ------------------------------------------------------------------ dwell
def dwell_inputs(tr: EngineTransitions, by: list[str]) -> pd.DataFrame:
    """Visits grouped by stage, segment, dwell and censoring: the Kaplan-Meier inputs."""
    t = tr.segmented(by)
    agg = t.group_by(["order", *by, "dwell_days", "censored"]).aggregate(n=t.count())
    return _named_stages(_pull(agg, categorical=True), tr.dataset.stages)


def _named_stages(df: pd.DataFrame, cfg) -> pd.DataFrame:
    """``order`` (an integer column) replaced in place by ``stage``, a categorical of the
    stage names present, categories sorted (as a pulled text column is)."""
    o = df["order"].to_numpy(np.int64)
    present = np.unique(o)
    names = sorted(cfg.keys[i] for i in present)
    lut = np.full(len(cfg.keys), -1, dtype=np.int64)
    for i in present:
        lut[i] = names.index(cfg.keys[i])
    stage = pd.Categorical.from_codes(lut[o], categories=names)
    df = df.rename(columns={"order": "stage"})
    df["stage"] = stage
    return df


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
    out = dwell_from_counts(dwell_inputs(tr, by), by=by, timeout_factor=timeout_factor, stages=cfg)
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
    cols = [c for c in STALE_COLUMNS if c in cur.columns]
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
    out = conversion_from_counts(out, by=by, as_of=t, spend=spend)
    out.attrs["engine"] = ds.engine
    return out


# ------------------------------------------------------------------ calibration counts
def first_close(tr: EngineTransitions):
    t = tr.core
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
    """First visit of each deal to each stage, grouped: stage, by, duration, fate, entry, n, w
    (sorted by stage order, ``by``, duration, fate, entry: the same order on every run).

    The same quantities as :func:`salesanalytics.calibration.model.stage_visits` (duration
    to the deal's close or to ``as_of``; delayed entry from ``start``; recency weight), counted.
    """
    import ibis

    t = tr.core
    closed = t["outcome"].isin(["won", "lost"])
    fate_rows = t.filter(t["_last"]).select(
        "_oid",
        fate=ibis.ifelse(closed, t["outcome"], ibis.null("string")),
        closed_s=ibis.ifelse(
            closed, t["exited_at"].epoch_seconds().cast("float64"), ibis.null("float64")
        ),
    )
    v = tr.segmented(by)
    v = v.filter(v["visit"] == 1).select("_oid", "order", "entered_at", *by)
    v = v.inner_join(fate_rows, "_oid")
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
    keys = ["order", *by, "duration", "fate", "_entry"]
    agg = v.group_by(keys).aggregate(n=v.count(), _w=v["_w"].sum()).order_by(keys)
    return _named_stages(_pull(agg, categorical=True), tr.dataset.stages)


def exit_counts(tr: EngineTransitions, *, start: pd.Timestamp | None) -> tuple:
    """Per stage: visits grouped by dwell, exit kind and delayed entry; forward next stages."""
    import ibis

    t = tr.core
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
    exits = t.group_by(["order", "dwell_days", "_kind", "_entry"]).aggregate(n=t.count())
    fwd = t.filter(t["_kind"] == "forward")
    nxt = fwd.group_by(["order", "next_order"]).aggregate(n=fwd.count())
    cfg = tr.dataset.stages
    nxt = _pull(nxt)
    nxt.insert(0, "stage", [cfg.keys[int(i)] for i in nxt["order"]])
    nxt.insert(1, "next_stage", [cfg.keys[int(i)] for i in nxt["next_order"]])
    nxt = nxt[["stage", "next_stage", "n"]]
    return _named_stages(_pull(exits, categorical=True), cfg), nxt
