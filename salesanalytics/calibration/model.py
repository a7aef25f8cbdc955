"""StageProbabilityModel: P(win | stage, segment, age in stage) learned from history."""

from __future__ import annotations

import copy
import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._estimator import ParamsMixin
from ..dataset import Dataset
from ..engine.connect import is_engine
from ..funnel._common import as_list, wilson
from ..funnel._common import as_of_ts as end_of
from ..funnel.transitions import stage_transitions
from ..stages import StageConfig, load_stages
from ..view import View, explicit_frames, rewind, view_as_of
from .estimators import CompetingRisks, aalen_johansen, aalen_johansen_sorted, shrink

__all__ = ["StageProbabilityModel", "stage_visits"]

#: Outcome codes of the encoded transitions (index in this tuple; -1: anything else).
OUTCOMES = ("open", "won", "lost", "advanced", "skipped", "regressed")
_FATES = ("won", "lost")  # fate codes 1 and 2; 0: still open (censored)
_EXIT_KINDS = ("forward", "back", "lost")
#: outcome code -> exit kind code (1 forward, 2 back, 3 lost, 0 none)
_EXIT_OF_OUTCOME = np.array([0, 1, 3, 1, 1, 2, 0], dtype=np.int8)


def stage_visits(t: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """First visit of each deal to each stage with the deal's fate as known at ``as_of``.

    ``duration`` runs from the stage entry to the deal's close (won/lost) or, for deals
    still open, to ``as_of`` (censored).
    """
    last = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")
    fate = last["outcome"].where(last["outcome"].isin(["won", "lost"]))
    closed_at = last["exited_at"].where(fate.notna())
    first = t.sort_values(["opportunity_id", "order", "visit"], kind="mergesort").drop_duplicates(
        ["opportunity_id", "stage"]
    )
    end = first["opportunity_id"].map(closed_at).fillna(as_of)
    return first.assign(
        fate=first["opportunity_id"].map(fate).to_numpy(),
        duration=((end - first["entered_at"]).dt.total_seconds() / 86400).clip(lower=0).to_numpy(),
    ).reset_index(drop=True)


# ---------------------------------------------------------------- encoded history
def _codes_in(values: pd.Series, labels) -> np.ndarray:
    """Position of each value in ``labels`` (-1: missing or not among them)."""
    codes, uniques = pd.factorize(values)
    pos = {k: i for i, k in enumerate(labels)}
    lut = np.array([pos.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return lut[codes]


def _sorted_codes(values: pd.Series) -> np.ndarray:
    """Integer codes that sort as the values do (equal values, equal codes).

    Transitions come sorted by opportunity: then the codes are a running count of changes
    (one pass in Arrow) instead of a factorization with a sort of the distinct values.
    """
    dtype = values.dtype
    arrow = getattr(dtype, "storage", None) == "pyarrow" or isinstance(dtype, pd.ArrowDtype)
    if arrow and len(values) > 1 and not values.hasnans:
        import pyarrow as pa
        import pyarrow.compute as pc

        a = pa.array(values)
        prev, nxt = a.slice(0, len(a) - 1), a.slice(1)
        if pc.all(pc.greater_equal(nxt, prev)).as_py():
            changed = pc.not_equal(nxt, prev).to_numpy(zero_copy_only=False)
            return np.concatenate([[0], np.cumsum(changed)])
    return pd.factorize(values, sort=True)[0]


def _encode(t: pd.DataFrame, cfg: StageConfig) -> dict[str, np.ndarray]:
    """The transitions as numbers: text columns become integer codes (``pos``: row in ``t``).

    Codes take the smallest integer type that holds them (memory at a million deals).
    """
    keys = list(cfg.keys)
    small = np.int8 if len(keys) < 100 else np.int32
    opp = _sorted_codes(t["opportunity_id"])
    return {
        "opp": opp.astype(np.int32) if len(opp) < 2**31 else opp,
        "stage": _codes_in(t["stage"], keys).astype(small),
        "order": t["order"].to_numpy(),
        "visit": t["visit"].to_numpy(),
        "entered_at": t["entered_at"].to_numpy(),
        "exited_at": t["exited_at"].to_numpy(),
        "dwell_days": t["dwell_days"].to_numpy(float),
        "outcome": _codes_in(t["outcome"], OUTCOMES).astype(np.int8),
        "next_stage": _codes_in(t["next_stage"], keys).astype(small),
        "pos": np.arange(len(t), dtype=np.int32 if len(t) < 2**31 else np.int64),
    }


def _take(cols: dict[str, np.ndarray], rows) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in cols.items()}


def _days(later, earlier: np.ndarray) -> np.ndarray:
    """``(later - earlier).dt.total_seconds() / 86400`` as pandas computes it."""
    return ((later - pd.Series(earlier)).dt.total_seconds() / 86400).to_numpy()


class _History:
    """Stage transitions known at one moment, encoded once, with earlier moments derived.

    ``derivable``: the transitions are :func:`stage_transitions` of a Dataset (or explicit
    tables) at the fit's ``as_of``, so the transitions at an earlier moment are these cut
    there (a visit still running then is open, its dwell runs to that moment) instead of a
    recomputation from the stage history. A View or user-given transitions: recomputed.
    """

    def __init__(self, t, cfg, dataset, frames, *, derivable: bool) -> None:
        self.t, self.cfg, self.dataset, self.frames = t, cfg, dataset, frames
        self.derivable = derivable
        self.c = _encode(t, cfg)
        self.is_root = True
        self._segs: dict[str, tuple[np.ndarray, pd.Index]] = {}

    @property
    def has_source(self) -> bool:
        return self.dataset is not None or bool(self.frames)

    def seg(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """Sorted codes of a segment column over the root rows (missing: the last code)."""
        if col not in self._segs:
            codes, uniques = pd.factorize(self.t[col], sort=True)
            self._segs[col] = (np.where(codes < 0, len(uniques), codes), uniques)
        return self._segs[col]

    def seg_value(self, col: str, code: int):
        uniques = self.seg(col)[1]
        return uniques[code] if code < len(uniques) else np.nan

    def cut(self, cutoff: pd.Timestamp) -> _History:
        """The transitions as :func:`stage_transitions` gives them at ``cutoff`` (earlier)."""
        c = _take(self.c, self.c["entered_at"] <= cutoff.to_datetime64())
        exited = c["exited_at"]
        late = np.isnat(exited) | (exited > cutoff.to_datetime64())
        if late.any():
            c["outcome"] = np.where(late, 0, c["outcome"])
            c["next_stage"] = np.where(late, -1, c["next_stage"])
            c["exited_at"] = np.where(late, np.datetime64("NaT"), exited).astype(exited.dtype)
            dwell = c["dwell_days"].copy()
            dwell[late] = _days(cutoff, c["entered_at"][late])
            c["dwell_days"] = dwell
        out = copy.copy(self)
        out.c, out.is_root = c, False
        return out

    def open_at(self, when: pd.Timestamp) -> dict[str, np.ndarray]:
        """The visits running at ``when`` (the deals open then) with their age in the stage."""
        c = self.c
        w = when.to_datetime64()
        run = (c["entered_at"] <= w) & (np.isnat(c["exited_at"]) | (c["exited_at"] > w))
        out = {k: c[k][run] for k in ("opp", "stage", "pos")}
        out["age_days"] = _days(when, c["entered_at"][run])
        return out

    def pipeline(self, when: pd.Timestamp) -> pd.DataFrame:
        """:func:`pipeline_as_of` at ``when`` from these transitions (an earlier moment)."""
        d = self.open_at(when)
        t = self.t.take(d["pos"]).reset_index(drop=True)
        t = t.assign(dwell_days=d["age_days"]).rename(columns={"dwell_days": "age_days"})
        drop = ["exited_at", "next_stage", "outcome", "censored", "visit", "status", "loss_reason"]
        return t.drop(columns=[c for c in drop if c in t.columns])

    def fate(self) -> np.ndarray:
        """Per opportunity code: its fate known now (1 won, 2 lost, 0 open)."""
        opp = self.c["opp"]
        last = self._last_rows()
        out = self.c["outcome"][last]
        fate = np.zeros(int(opp.max()) + 1 if len(opp) else 0, np.int8)
        fate[opp[last]] = np.where((out == 1) | (out == 2), out, 0)
        return fate

    def first_close(self):
        exited = self.c["exited_at"][np.isin(self.c["outcome"], (1, 2))]
        exited = exited[~np.isnat(exited)]
        return pd.Timestamp(exited.min()) if len(exited) else pd.NaT

    def _last_rows(self) -> np.ndarray:
        """Whether each row is its opportunity's last (in the transitions' order)."""
        opp = self.c["opp"]
        if len(opp) and bool((opp[1:] >= opp[:-1]).all()):  # grouped by opportunity
            return np.r_[opp[1:] != opp[:-1], True]
        return ~pd.Series(opp).duplicated(keep="last").to_numpy()

    def visits(self, as_of: pd.Timestamp, start, half_life) -> dict[str, np.ndarray]:
        """:func:`stage_visits` on the codes (same rows in the same order, ``fate`` as a
        code), with the weights and the delayed entry of the fit, visits out before ``start``
        left out."""
        c = self.c
        opp = c["opp"]
        last = self._last_rows()
        out = c["outcome"][last]
        fate_last = np.where((out == 1) | (out == 2), out, 0).astype(np.int8)
        n_opp = int(opp.max()) + 1 if len(opp) else 0
        fate_of = np.zeros(n_opp, np.int8)
        fate_of[opp[last]] = fate_last
        exited = c["exited_at"]
        closed_of = np.full(n_opp, np.datetime64("NaT"), dtype=exited.dtype)
        closed_of[opp[last]] = np.where(fate_last > 0, exited[last], np.datetime64("NaT"))
        opp = opp.astype(np.int64)
        order, visit = c["order"].astype(np.int64), c["visit"].astype(np.int64)
        stage = c["stage"].astype(np.int64)
        nv, no = int(visit.max(initial=0)) + 1, int(order.max(initial=0)) + 1
        if len(opp) and order.min() >= 0 and visit.min() >= 0 and n_opp * no * nv < 2**62:
            perm = np.argsort((opp * no + order) * nv + visit, kind="stable")
        else:
            perm = np.lexsort((visit, order, opp))
        so, ss = opp[perm], stage[perm]
        # first visit of each (deal, stage): adjacent after the sort when each stage has one
        # funnel position (as stage_transitions gives it); else found by hashing
        lut = np.full(len(self.cfg.keys) + 2, -1, np.int64)
        lut[stage + 1] = order
        if len(opp) and bool((lut[stage + 1] == order).all()):
            dup = np.r_[False, (so[1:] == so[:-1]) & (ss[1:] == ss[:-1])]
        else:
            dup = pd.Series(so * (len(self.cfg.keys) + 2) + ss + 1).duplicated().to_numpy()
        v = _take(
            {k: c[k] for k in ("opp", "stage", "entered_at", "dwell_days", "pos")}, perm[~dup]
        )
        end = pd.Series(closed_of[v["opp"]]).fillna(as_of)
        duration = ((end - pd.Series(v["entered_at"])).dt.total_seconds() / 86400).to_numpy()
        v["duration"] = np.where(duration < 0, 0.0, duration)  # pandas' clip(lower=0)
        v["fate"] = fate_of[v["opp"]]
        v["_w"] = (
            0.5 ** (_days(as_of, v["entered_at"]) / half_life)
            if half_life
            else np.ones(len(v["opp"]))
        )
        v["_entry"] = _entry(v["entered_at"], start)
        return _take(v, (v["duration"] > v["_entry"]) | (v["_entry"] == 0))


class _StageRows:
    """One stage's visits (original order) sorted once, for Aalen-Johansen on any split."""

    def __init__(self, dur, fate, w, entry, pos) -> None:
        self.dur, self.fate, self.w, self.entry, self.pos = dur, fate, w, entry, pos
        self.n = len(dur)
        self.unit = bool(np.all(w == 1.0))
        self.plain = not (np.isnan(dur).any() or np.isnan(entry).any())
        if self.plain:
            # with unit weights any order of ties gives the same sums: the faster sort
            self.od = np.argsort(dur) if self.unit else np.argsort(dur, kind="stable")
            self.oe = np.argsort(entry, kind="stable")
            self.d_sorted, self.f_sorted = dur[self.od], fate[self.od]
            self.e_sorted = entry[self.oe]
            self.w_d = None if self.unit else w[self.od]
            self.w_e = None if self.unit else w[self.oe]

    def _generic(self, idx) -> CompetingRisks:
        kinds = np.array((*_FATES, None), object)[self.fate[idx] - 1]
        return aalen_johansen(self.dur[idx], kinds, _FATES, self.w[idx], self.entry[idx])

    def curve(self) -> CompetingRisks:
        """The stage's curve over all its visits."""
        if not self.plain:
            return self._generic(slice(None))
        total = float(self.n) if self.unit else self.w.sum()
        return aalen_johansen_sorted(
            self.d_sorted, self.f_sorted, _FATES, self.w_d, total, self.e_sorted, self.w_e
        )

    def resolved_weight(self) -> float:
        """Weight of the visits whose deal is closed (original order, as pandas sums)."""
        return float(self.w[self.fate != 0].sum())

    def split(self, cells: np.ndarray):
        """Per observed cell code, in code order: ``(cell, fates, resolved weight, curve)``."""
        small = cells.astype(np.int16) if cells.max(initial=0) < 2**15 else cells
        if not self.plain:
            oc = np.argsort(small, kind="stable")
            sc = cells[oc]
            bounds = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1], True])
            out = []
            for a, b in zip(bounds[:-1], bounds[1:]):
                idx = oc[a:b]
                f = self.fate[idx]
                out.append((int(sc[a]), f, float(self.w[idx][f != 0].sum()), self._generic(idx)))
            return out
        pd_ = np.argsort(small[self.od], kind="stable")
        pe_ = np.argsort(small[self.oe], kind="stable")
        d_s, f_s, e_s = self.d_sorted[pd_], self.f_sorted[pd_], self.e_sorted[pe_]
        sc = small[self.od][pd_]
        bounds = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1], True])
        if self.unit:
            w_s = we_s = None
        else:
            w_s, we_s = self.w_d[pd_], self.w_e[pe_]
            oc = np.argsort(small, kind="stable")  # original order, for the sums of weights
        out = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            f = f_s[a:b]
            if self.unit:
                total = float(b - a)
                resolved = float(np.count_nonzero(f))
                cr = aalen_johansen_sorted(d_s[a:b], f, _FATES, None, total, e_s[a:b], None)
            else:
                idx = oc[a:b]
                w = self.w[idx]
                total, resolved = w.sum(), float(w[self.fate[idx] != 0].sum())
                cr = aalen_johansen_sorted(
                    d_s[a:b], f, _FATES, w_s[a:b], total, e_s[a:b], we_s[a:b]
                )
            out.append((int(sc[a]), f, resolved, cr))
        return out


class StageProbabilityModel(ParamsMixin):
    """Win probability per stage (and segment) from history, with open deals censored.

    Parameters
    ----------
    by
        Segment column(s) (e.g. ``"channel"``); segment estimates are shrunk toward their
        stage's estimate (beta-binomial empirical Bayes), pairs toward the first column's.
        ``"auto"`` (default): chosen among none, channel, owner, region, product and their
        pairs by out-of-time log-loss on data known at ``as_of`` (see ``by_selection_``), so
        a user who does not know which segment matters gets it; ``None``: no segments.
    half_life_days
        Recency weighting: a deal that entered a stage ``half_life_days`` before ``as_of``
        counts half. ``None``: all history counts equally.
    window_days
        Period estimate: only time at risk and closes within the last ``window_days`` before
        ``as_of`` count (left truncation), so the estimate follows a pipeline whose win rate
        drifts. ``None``: all history. ``"auto"``: chosen among ``WINDOW_CANDIDATES`` by an
        inner out-of-time check on data known at ``as_of`` (see ``selection_``).
    history_start
        When the history is complete enough to count time at risk. ``"first_close"``
        (default): the first recorded won/lost date. Exports are often filtered by close date
        ("closed since January, plus open deals"), which silently drops the deals that closed
        earlier, mostly the quick losses; time at risk before the first recorded close is
        therefore not counted (delayed entry). On complete data this only drops exposure in
        which nothing closed, so the estimate stays unbiased either way. A date: that date.
        ``None``: count all exposure.
    min_count
        Segments with fewer deals entering a stage fall back to the stage estimate (with a
        warning).
    age_effect
        Adjust for time already spent in the stage (deals stuck longer usually win less), from
        the competing exits (forward, back, lost) of the stage's visits. ``"auto"``: kept only
        if it wins the inner out-of-time check (see ``window_days``).
    stages
        Stage config; default the dataset's.

    Attributes
    ----------
    table_ : DataFrame
        Per stage (and segment): entered, won, lost, open, estimate with ``low``/``high``,
        the stage estimate it was shrunk toward, and the configured probability.
    as_of_ : Timestamp
    data_sha256_ : str

    Examples
    --------
    >>> import salesanalytics as sa
    >>> ds = sa.read_dataset()
    >>> m = sa.StageProbabilityModel(by="channel").fit(ds, as_of="2025-12-31")
    >>> p = m.predict_proba(sa.pipeline_as_of(ds, "2025-12-31"))
    >>> bool(((p >= 0) & (p <= 1)).all())
    True
    """

    #: Windows tried by ``window_days="auto"`` (None: all history), and the inner check's length.
    WINDOW_CANDIDATES = (None, 180.0, 90.0, 60.0)
    VALIDATION_DAYS = 90
    #: Fewer days of recorded closes than this before ``as_of``: a warning (``history_days_``).
    MIN_HISTORY_DAYS = 90

    def __init__(
        self,
        by="auto",
        *,
        half_life_days: float | None = None,
        window_days: float | None = None,
        history_start="first_close",
        min_count: int = 30,
        age_effect: bool | str = True,
        alpha: float = 0.05,
        stages=None,
    ) -> None:
        self.by = by
        self.half_life_days = half_life_days
        self.window_days = window_days
        self.history_start = history_start
        self.min_count = min_count
        self.age_effect = age_effect
        self.alpha = alpha
        self.stages = stages

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        dataset: Dataset | None = None,
        as_of=None,
        *,
        transitions: pd.DataFrame | None = None,
        stage_history: pd.DataFrame | None = None,
        opportunities: pd.DataFrame | None = None,
        stages=None,
    ) -> StageProbabilityModel:
        """Learn from what was known at ``as_of`` (history after it is ignored)."""
        as_of = view_as_of(dataset, as_of)  # a View: its own as_of
        frames = explicit_frames(stage_history, opportunities, stages)
        if as_of is None:
            raise ValueError("fit needs as_of: the date the estimate is made on")
        if is_engine(dataset):  # fitted from counts computed in the engine
            from ..engine.fit import fit_in_engine

            return fit_in_engine(self, dataset, as_of)
        cfg = load_stages(
            self.stages
            if self.stages is not None
            else (dataset.stages if dataset is not None else frames.get("stages"))
        )
        t = (
            transitions
            if transitions is not None
            else stage_transitions(dataset, as_of=as_of, **frames)
        )
        derivable = transitions is None and not isinstance(dataset, View)
        return self._fit_known(t, cfg, dataset, frames, derivable=derivable)

    def _fit_known(self, t, cfg, dataset, frames, *, derivable: bool):
        """Fit on transitions ``t`` known at their ``as_of`` (``derivable``: see _History)."""
        as_of_ts = end_of(t.attrs["as_of"])
        late = (t["entered_at"] > as_of_ts).to_numpy()
        if late.any():
            t = t[~late]
        hist = _History(t, cfg, dataset, frames, derivable=derivable)
        return self._fit_history(hist, as_of_ts, cfg)

    def _fit_history(self, hist: _History, as_of_ts, cfg, *, light: bool = False):
        """The fit on encoded transitions (``light``: skip what only predictions with a
        horizon and the export need: for the inner fits of the automatic choices)."""
        for cached in ("_timing_cache", "_timing_sorted", "_segments_memo"):
            self.__dict__.pop(cached, None)
        window, age = self.window_days, self.age_effect
        if "auto" in (window, age):
            chosen, self.selection_ = self._select(hist, as_of_ts)
            window, age = chosen["window_days"], chosen["age_effect"]
        self.window_, self.age_effect_ = window, age
        first_close = hist.first_close()
        self.history_start_ = self._history_start(first_close)
        self._check_history(first_close, as_of_ts)
        start = self.history_start_
        if window:  # period estimate: only exposure and events inside the window
            w_start = as_of_ts - pd.Timedelta(days=window)
            start = w_start if start is None else max(start, w_start)
        if isinstance(self.by, str) and self.by == "auto":
            by, self.by_selection_ = self._select_segments(hist, as_of_ts)
        else:
            by = as_list(self.by)
        v = hist.visits(as_of_ts, start, self.half_life_days)
        stage_code = v["stage"]
        cols = {c: v[c] for c in ("duration", "fate", "dwell_days", "_w", "_entry", "pos")}
        self._hist = hist
        self._rows: dict[str, _StageRows] = {}
        self._timing = {}
        for i, s in enumerate(cfg.keys):
            at = stage_code == i
            if not at.any():
                continue
            dur, fate, dwell, w_, e_, pos = (a[at] for a in cols.values())
            if not light:  # the timing of a deal still in its stage: the stage's own dwell
                self._timing[s] = (dur, fate, dwell, w_, e_)
            if s in cfg.open_keys:
                g = self._rows[s] = _StageRows(dur, fate, w_, e_, pos)
                if not light and g.plain:  # the timing reuses the fit's sorting
                    self.__dict__.setdefault("_timing_sorted", {})[s] = (
                        (g.d_sorted, g.f_sorted, g.w_d, dwell[g.od]),
                        (g.e_sorted, g.w_e, dwell[g.oe]),
                        g.unit,
                        True,
                    )
        self.stages_ = cfg
        self.by_ = by
        self.as_of_ = as_of_ts.normalize()
        if not light:
            t = hist.t
            self.data_sha256_ = hashlib.sha256(
                pd.util.hash_pandas_object(
                    t[["opportunity_id", "stage", "entered_at", "outcome"]], index=False
                )
                .to_numpy()
                .tobytes()
            ).hexdigest()
        self.curves_: dict[str, CompetingRisks] = {}
        rows, stage_p = [], {}
        for s in cfg.open_keys:
            g = self._rows.get(s)
            cr = g.curve() if g is not None else aalen_johansen([], [], _FATES, [], [])
            self.curves_[s] = cr
            p, n_eff = _eventual(cr, g)
            stage_p[s] = p
            rows.append(stage_row(s, p, n_eff, _counts(g), by=by, alpha=self.alpha))
        self.stage_estimate_ = pd.Series(stage_p, name="estimate")
        if by:
            rows += self._segments(by, stage_p)[0]
        table = pd.DataFrame(rows)
        table["configured"] = table["stage"].map(cfg.probabilities)
        self.table_ = table
        self._fit_age(hist, stage_p, cfg, start)
        if not light:  # the encoded history is only needed by the automatic choices
            for name in ("_hist", "_rows", "_segments_memo"):
                self.__dict__.pop(name, None)
        return self

    def _check_history(self, first_close, as_of_ts: pd.Timestamp) -> None:
        span = (as_of_ts - first_close).days + 1 if pd.notna(first_close) else 0
        self.history_days_ = span
        if span < self.MIN_HISTORY_DAYS:
            warnings.warn(
                f"closes recorded over only {span} days before {as_of_ts.date()} (fewer than "
                f"{self.MIN_HISTORY_DAYS}): slow deals are barely represented and a quarter-end "
                "push is not averaged out; treat these estimates as provisional",
                stacklevel=4,
            )

    def _history_start(self, first_close) -> pd.Timestamp | None:
        if self.history_start is None:
            return None
        if isinstance(self.history_start, str) and self.history_start == "first_close":
            return first_close if pd.notna(first_close) else None
        return pd.Timestamp(self.history_start).normalize()

    def _select(self, hist: _History, as_of_ts) -> tuple[dict, pd.DataFrame]:
        """Settle the ``"auto"`` settings by an inner out-of-time check on data known at ``as_of``.

        Each candidate setting is fitted ``VALIDATION_DAYS`` before ``as_of`` and scores
        (log-loss) the deals open then and at the next month starts, against their fate known
        at ``as_of``. Too few scored deals (< 100): the plain settings (all history, age effect).
        """
        from ..snapshot import pipeline_as_of

        dataset, frames = hist.dataset, hist.frames
        windows = self.WINDOW_CANDIDATES if self.window_days == "auto" else (self.window_days,)
        ages = (True, False) if self.age_effect == "auto" else (self.age_effect,)
        grid = [{"window_days": w, "age_effect": a} for a in ages for w in windows]
        inner = as_of_ts - pd.Timedelta(days=self.VALIDATION_DAYS)
        fate_of = hist.fate()
        snaps = [inner + pd.Timedelta(days=d) for d in range(0, self.VALIDATION_DAYS - 29, 30)]
        if hist.derivable:
            deals = [hist.pipeline(s) for s in snaps]
            codes = [hist.open_at(s)["opp"] for s in snaps]
            known = [fate_of[c] > 0 for c in codes]
            won = [fate_of[c][k] == 1 for c, k in zip(codes, known)]
            inner_hist = hist.cut(inner)
        else:
            fate = hist.t.drop_duplicates("opportunity_id", keep="last").set_index(
                "opportunity_id"
            )["outcome"]
            deals = (
                [pipeline_as_of(*rewind(dataset, s.normalize()), **frames) for s in snaps]
                if hist.has_source
                else []
            )
            known = [d["opportunity_id"].map(fate).isin(["won", "lost"]).to_numpy() for d in deals]
            won = [
                (d["opportunity_id"].map(fate) == "won").to_numpy()[k] for d, k in zip(deals, known)
            ]
        deals = [d[k] for d, k in zip(deals, known)]
        y = np.concatenate([np.zeros(0, int)] + [w.astype(int) for w in won])
        rows = []
        for cand in grid:
            model = StageProbabilityModel(
                self.by,
                half_life_days=self.half_life_days,
                history_start=self.history_start,
                min_count=self.min_count,
                alpha=self.alpha,
                stages=self.stages,
                **cand,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if hist.derivable:
                        model._fit_history(inner_hist, inner, hist.cfg, light=True)
                    else:
                        model.fit(*rewind(dataset, inner.normalize()), **frames)
                except ValueError:
                    continue
            if len(y):
                p = np.concatenate([model.predict_proba(d).to_numpy(float) for d in deals])
                p = np.clip(np.where(np.isfinite(p), p, y.mean()), 1e-6, 1 - 1e-6)
                loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
                rows.append({**cand, "n": len(y), "log_loss": loss})
        table = pd.DataFrame(rows, columns=["window_days", "age_effect", "n", "log_loss"])
        plain = {
            "window_days": None if self.window_days == "auto" else self.window_days,
            "age_effect": True if self.age_effect == "auto" else self.age_effect,
        }
        if table.empty or table["n"].iloc[0] < 100:
            return plain, table
        best = table.loc[table["log_loss"].idxmin()]
        window = best["window_days"]
        return {
            "window_days": None if pd.isna(window) else float(window),
            "age_effect": bool(best["age_effect"]),
        }, table

    #: Columns ``by="auto"`` may choose (alone or in pairs) when the history has them.
    SEGMENT_CANDIDATES = ("channel", "owner", "region", "product")

    def _select_segments(self, hist: _History, as_of_ts) -> tuple[list[str], pd.DataFrame]:
        """``by="auto"``: the segments with the lowest out-of-time log-loss on data known at
        ``as_of``.

        The stage model is fitted ``VALIDATION_DAYS`` before ``as_of``; each candidate
        (none, each available column of ``SEGMENT_CANDIDATES``, each pair, the pair's cells
        shrunk toward the first column's) scores the deals open then and at the next month
        starts whose fate is known at ``as_of``. Fewer than 100 such deals: no segments.
        """
        rows_at = hist.c["pos"]
        cols = []
        for c in self.SEGMENT_CANDIDATES:
            if c not in hist.t:
                continue
            codes, uniques = hist.seg(c)
            here = codes[rows_at]
            present = here < len(uniques)
            if len(np.unique(here[present])) >= 2 and present.mean() > 0.5:
                cols.append(c)
        cands = [[]] + [[c] for c in cols]
        cands += [[a, b] for i, a in enumerate(cols) for b in cols[i + 1 :]]
        inner = as_of_ts - pd.Timedelta(days=self.VALIDATION_DAYS)
        snaps = [inner + pd.Timedelta(days=d) for d in range(0, self.VALIDATION_DAYS - 29, 30)]
        empty = pd.DataFrame(columns=["by", "n", "log_loss"])
        base = StageProbabilityModel(
            None,
            half_life_days=self.half_life_days,
            window_days=None if self.window_days == "auto" else self.window_days,
            history_start=self.history_start,
            min_count=self.min_count,
            age_effect=True if self.age_effect == "auto" else self.age_effect,
            alpha=self.alpha,
            stages=self.stages,
        )
        entered_by_inner = bool((hist.c["entered_at"] <= inner.to_datetime64()).any())
        if len(cands) == 1 or not entered_by_inner or not hist.has_source:
            return [], empty
        if not hist.derivable:
            return self._select_segments_recomputed(hist, base, cands, inner, snaps, empty)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base._fit_history(hist.cut(inner), inner, hist.cfg, light=True)
        opened = [hist.open_at(s) for s in snaps]
        deals = {k: np.concatenate([d[k] for d in opened]) for k in opened[0]}
        fate = hist.fate()[deals["opp"]]
        stage = deals["stage"]
        open_codes = [list(base.stages_.keys).index(s) for s in base.stages_.open_keys]
        keep = (fate > 0) & np.isin(stage, open_codes)
        if keep.sum() < 100:
            return [], empty
        deals = _take(deals, keep)
        fate, stage = fate[keep], stage[keep]
        y = (fate == 1).astype(int)
        stage_p = base.stage_estimate_.to_dict()
        p_stage = np.array([stage_p.get(k, np.nan) for k in base.stages_.keys] + [np.nan])[stage]
        age = np.where(np.isnan(deals["age_days"]), 0.0, deals["age_days"])
        factor = None
        if base.age_effect_:
            factor = np.ones(len(age))
            for i in np.unique(stage):
                at = stage == i
                factor[at] = base.age_factor(base.stages_.keys[i], age[at])
        pos = deals["pos"]
        rows = []
        for by in cands:
            p = p_stage
            if by:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    table, keys = base._segments(by, stage_p, quiet=True)
                cell = base._cell_estimates(table, keys, by, stage, pos)
                p = np.where(~np.isnan(cell), cell, p_stage)
            if factor is not None:
                p = np.clip(p * factor, 0.0, 1.0)
            p = np.clip(np.where(np.isfinite(p), p, y.mean()), 1e-4, 1 - 1e-4)
            loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
            rows.append({"by": "+".join(by) or "(none)", "n": len(y), "log_loss": loss})
        table = pd.DataFrame(rows)
        return cands[int(table["log_loss"].idxmin())], table

    def _select_segments_recomputed(self, hist, base, cands, inner, snaps, empty):
        """``_select_segments`` when the earlier transitions cannot be derived (given
        transitions): recomputed from the dataset, as a user would."""
        from ..snapshot import pipeline_as_of

        dataset, frames, t = hist.dataset, hist.frames, hist.t
        fate = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")[
            "outcome"
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d, a = _earlier(dataset, inner)
            tt = stage_transitions(d, as_of=a, **frames)
            inner_hist = _History(tt, hist.cfg, dataset, frames, derivable=False)
            base._fit_history(inner_hist, end_of(tt.attrs["as_of"]), hist.cfg, light=True)
            deals = pd.concat(
                [
                    pipeline_as_of(d, a, transitions=stage_transitions(d, as_of=a, **frames))
                    for d, a in (_earlier(dataset, s) for s in snaps)
                ],
                ignore_index=True,
            )
        deals = deals[deals["opportunity_id"].map(fate).isin(["won", "lost"]).to_numpy()]
        deals = deals[deals["stage"].isin(base.stages_.open_keys).to_numpy()]
        if len(deals) < 100:
            return [], empty
        y = (deals["opportunity_id"].map(fate) == "won").to_numpy(int)
        stage_p = base.stage_estimate_.to_dict()
        rows = []
        for by in cands:
            m = copy.copy(base)
            if by:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    m.table_ = pd.DataFrame(base._segments(by, stage_p, quiet=True)[0])
                m.by_ = by
            p = m.predict_proba(deals).to_numpy(float)
            p = np.clip(np.where(np.isfinite(p), p, y.mean()), 1e-4, 1 - 1e-4)
            loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
            rows.append({"by": "+".join(by) or "(none)", "n": len(y), "log_loss": loss})
        table = pd.DataFrame(rows)
        return cands[int(table["log_loss"].idxmin())], table

    def _cell_codes(self, by, pos: np.ndarray) -> np.ndarray:
        """One code per row (``pos``: rows of the root transitions) for the cells of ``by``,
        in the order ``groupby(by, sort=True, dropna=False)`` sorts them."""
        code = np.zeros(len(pos), np.int64)
        for col in by:
            codes, uniques = self._hist.seg(col)
            code = code * (len(uniques) + 1) + codes[pos]
        return code

    def _cell_estimates(self, table, keys, by, stage, pos) -> np.ndarray:
        """Per deal (stage code, root rows ``pos``): the estimate of its cell in ``table``
        (NaN: no such cell, or a cell that fell back), as ``predict_proba`` looks it up."""
        keys_all = list(self.stages_.keys)
        use = [i for i, r in enumerate(table) if r.get("fallback") is False or (len(by) > 1)]
        width = 1
        for col in by:
            width *= len(self._hist.seg(col)[1]) + 1
        row_key = np.array(
            [keys_all.index(table[i]["stage"]) * width + keys[i] for i in use], dtype=np.int64
        )
        est = np.array([table[i]["estimate"] for i in use], dtype=float)
        deal_key = stage.astype(np.int64) * width + self._cell_codes(by, pos)
        order = np.argsort(row_key)
        row_key, est = row_key[order], est[order]
        at = np.clip(np.searchsorted(row_key, deal_key), 0, max(len(row_key) - 1, 0))
        hit = (row_key[at] == deal_key) if len(row_key) else np.zeros(len(deal_key), bool)
        return np.where(hit, est[at] if len(row_key) else np.nan, np.nan)

    def _segments(self, by, stage_p, *, quiet: bool = False) -> tuple[list[dict], list[int]]:
        """Table rows of the segment cells of ``by`` (and each row's cell code)."""
        memo = self.__dict__.setdefault("_segments_memo", {})
        key = (tuple(by), tuple(stage_p.items()))
        if key not in memo:
            memo[key] = self._segment_rows(by, stage_p)
        rows, keys, fallback = memo[key]
        if fallback and not quiet:
            warnings.warn(
                f"{len(fallback)} segment(s) below min_count={self.min_count} use their "
                f"stage estimate: {', '.join(fallback[:8])}{' ...' if len(fallback) > 8 else ''}",
                stacklevel=4,
            )
        return rows, keys

    def _segment_rows(self, by, stage_p) -> tuple[list[dict], list[int], list[str]]:
        parent = {}
        if len(by) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                top, top_keys = self._segments(by[:1], stage_p, quiet=True)
            parent = {(r["stage"], k): r["estimate"] for r, k in zip(top, top_keys)}
        widths = [len(self._hist.seg(c)[1]) + 1 for c in by]
        rows, keys, fallback = [], [], []
        for s in self.stages_.open_keys:
            g = self._rows.get(s)
            if g is None or not g.n:
                continue
            cells = []
            for code, f, resolved_w, cr in g.split(self._cell_codes(by, g.pos)):
                key_codes, rest = [], code
                for wdt in reversed(widths):
                    key_codes.insert(0, rest % wdt)
                    rest //= wdt
                key = tuple(self._hist.seg_value(c, k) for c, k in zip(by, key_codes))
                won, lost = cr.final("won"), cr.final("lost")
                p = won / (won + lost) if won + lost > 0 else float("nan")
                n_eff = resolved_w if won + lost > 0 else 0.0
                n_won, n_lost = int((f == 1).sum()), int((f == 2).sum())
                cell = {
                    "entered": len(f),
                    "won": n_won,
                    "lost": n_lost,
                    "open": len(f) - n_won - n_lost,
                }
                cells.append((key, cell, p, n_eff, code, key_codes[0]))
            if not cells:
                continue
            # pairs shrink toward their parent (the first column's shrunk estimate)
            parents = {c[5]: parent.get((s, c[5]), stage_p[s]) for c in cells}
            if len(by) < 2:
                parents = dict.fromkeys(parents, stage_p[s])
            for pkey, prior in parents.items():
                group = [c for c in cells if c[5] == pkey] if len(by) > 1 else cells
                wins = np.array([p * n for _, _, p, n, _, _ in group])
                ns = np.array([n for _, _, _, n, _, _ in group])
                prior = prior if np.isfinite(prior) else stage_p[s]
                mean, lo, hi, kappa = shrink(wins, ns, prior, alpha=self.alpha)
                for (key, cell, p, n_eff, code, _), m, lo_, hi_ in zip(group, mean, lo, hi):
                    enough = cell["entered"] >= self.min_count
                    if not enough:
                        fallback.append(f"{s}/{'/'.join(map(str, key))}")
                    rows.append(
                        {
                            "stage": s,
                            **dict(zip(by, key)),
                            **cell,
                            "estimate": m if enough else prior,
                            "low": lo_,
                            "high": hi_,
                            "stage_estimate": stage_p[s],
                            "effective_n": n_eff,
                            "raw": p,
                            "prior_strength": kappa,
                            "fallback": not enough and len(by) < 2,
                        }
                    )
                    keys.append(code)
                if len(by) < 2:
                    break
        return rows, keys, fallback

    def _fit_age(self, hist: _History, stage_p, cfg: StageConfig, start) -> None:
        """Per stage: exit mix (forward / back / lost) by dwell, for the age adjustment."""
        c = hist.c
        entry = _entry(c["entered_at"], start)
        dwell = c["dwell_days"]
        keep = (dwell > entry) | (entry == 0)
        dwell, entry = dwell[keep], entry[keep]
        kinds = _EXIT_OF_OUTCOME[c["outcome"][keep]]
        nxt, pos = c["next_stage"][keep], c["pos"][keep]
        stage = c["stage"][keep].astype(np.int16)
        by_stage = np.argsort(stage, kind="stable")  # each stage's rows, in their order
        bounds = np.searchsorted(stage[by_stage], np.arange(len(cfg.keys) + 1), side="left")
        self.exit_curves_: dict[str, tuple[CompetingRisks, float, float]] = {}
        value_of = {**stage_p, cfg.won: 1.0, cfg.lost: 0.0}
        values = np.array([value_of.get(k, np.nan) for k in cfg.keys] + [np.nan], dtype=float)
        for i, s in enumerate(cfg.open_keys):
            code = list(cfg.keys).index(s)
            at = by_stage[bounds[code] : bounds[code + 1]]
            d, k, e = dwell[at], kinds[at], entry[at]
            if np.isnan(d).any() or np.isnan(e).any():
                kind_names = np.array((*_EXIT_KINDS, None), object)[k - 1]
                cr = aalen_johansen(d, kind_names, _EXIT_KINDS, None, e)
            else:  # unit weights: sums of ones are exact in any order of ties
                od = np.argsort(d)
                cr = aalen_johansen_sorted(
                    d[od], k[od], _EXIT_KINDS, None, float(len(d)), np.sort(e), None
                )
            fwd_at = at[k == 1]
            fwd = pd.Series(values[nxt[fwd_at]])
            if len(fwd):  # the dtype ``next_stage.map`` gives (its mean sums in its own way)
                mapped = hist.t["next_stage"].take(pos[fwd_at[:1]]).map(value_of)
                fwd = fwd.astype(mapped.dtype)
            v_fwd = float(fwd.mean()) if len(fwd) and fwd.notna().any() else stage_p[s]
            v_back = stage_p[cfg.open_keys[i - 1]] if i > 0 else 0.0
            v_back = 0.0 if not np.isfinite(v_back) else v_back  # an earlier stage with no data
            self.exit_curves_[s] = (cr, v_fwd, v_back)

    # ------------------------------------------------------------------ predict
    def age_factor(self, stage: str, age_days) -> np.ndarray:
        """How the win probability at ``age_days`` in ``stage`` compares with at entry."""
        cr, v_fwd, v_back = self.exit_curves_[stage]
        age = np.asarray(age_days, float)

        def g(a):
            rem = {k: cr.final(k) - cr.cif_at(k, a) for k in ("forward", "back", "lost")}
            tot = rem["forward"] + rem["back"] + rem["lost"]
            with np.errstate(invalid="ignore", divide="ignore"):
                return (rem["forward"] * v_fwd + rem["back"] * v_back) / tot

        base = g(np.zeros(1))[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            f = g(age) / base
        # past the last observed exit nothing is known: keep the last finite factor
        f = np.where(np.isfinite(f), f, np.nan)
        if np.isnan(f).any():
            finite = g(cr.times[cr.times <= age.max()]) / base if len(cr.times) else np.array([1.0])
            last = finite[np.isfinite(finite)][-1] if np.isfinite(finite).any() else 1.0
            f = np.where(np.isnan(f), last, f)
        return f

    def predict_proba(self, deals: pd.DataFrame, *, horizon_days: float | None = None):
        """P(win eventually) for open deals (``stage``, ``age_days``, segment columns).

        With ``horizon_days``, returns a DataFrame with ``p_win`` and ``p_win_within``
        (won within that many days from now).
        """
        if not hasattr(self, "table_"):
            raise RuntimeError("fit the model first")
        unknown = set(deals["stage"].dropna()) - set(self.stages_.open_keys)
        if unknown:
            raise ValueError(f"not open stages of {self.stages_.name!r}: {sorted(unknown)}")
        p = deals["stage"].map(self.stage_estimate_).astype(float)
        if self.by_:
            seg = self.table_[
                self.table_.get("fallback", pd.Series(False)).eq(False)
                & self.table_[self.by_[0]].ne("(all)")
            ]
            key = ["stage", *self.by_]
            cell = deals[key].merge(seg[[*key, "estimate"]], on=key, how="left")["estimate"]
            p = pd.Series(np.where(cell.notna(), cell.to_numpy(), p.to_numpy()), index=deals.index)
        age = (
            deals["age_days"].fillna(0.0)
            if "age_days" in deals
            else pd.Series(0.0, index=deals.index)
        )
        if self.age_effect_:
            factor = pd.Series(1.0, index=deals.index)
            for s, idx in deals.groupby("stage").groups.items():
                factor[idx] = self.age_factor(s, age[idx])
            p = (p * factor).clip(0.0, 1.0)
        p = p.rename("p_win")
        if horizon_days is None:
            return p
        within = pd.Series(0.0, index=deals.index)
        for s, idx in deals.groupby("stage").groups.items():
            within[idx] = self._share_won_within(s, age[idx].to_numpy(float), horizon_days)
        return pd.DataFrame({"p_win": p, "p_win_within": p * within.clip(0, 1)})

    #: Age bins of the timing: a deal's time to close is estimated from the stage's visits
    #: still in the stage at the bin's lower edge (they have the rest of the funnel ahead).
    AGE_BINS = (
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        8,
        10,
        12,
        14,
        17,
        20,
        24,
        28,
        33,
        40,
        50,
        60,
        75,
        90,
        120,
        180,
        365,
    )

    def _share_won_within(self, stage: str, age: np.ndarray, horizon: float) -> np.ndarray:
        """Of the wins still to come for deals in ``stage`` at ``age``: the share within
        ``horizon`` days. From the stage's visits that were still in the stage at the age
        (delayed entry there), so slow deals are not credited with the pace of quick ones."""
        timing = getattr(self, "_timing", {}).get(stage)
        out = np.zeros(len(age))
        if timing is None:
            return out
        dwell = timing[2]
        edges = np.asarray(self.AGE_BINS)
        bins = np.clip(np.searchsorted(edges, age, side="right") - 1, 0, len(edges) - 1)
        for b in np.unique(bins):
            a0 = edges[b]
            at = np.flatnonzero(bins == b)
            keep = dwell >= a0
            while keep.sum() < 30 and a0 > 0:  # too few visits that old: a younger edge
                b -= 1
                a0 = edges[b]
                keep = dwell >= a0
            if not keep.any():
                continue
            cr = self._timing_curve(stage, a0, keep)
            a = np.maximum(age[at], a0)
            rest = cr.final("won") - cr.cif_at("won", a)
            got = cr.cif_at("won", a + horizon) - cr.cif_at("won", a)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[at] = np.where(rest > 0, got / rest, 0.0)
        return np.clip(out, 0.0, 1.0)

    def _timing_curve(self, stage: str, a0: float, keep: np.ndarray) -> CompetingRisks:
        """Won/lost curve of the stage's visits still in it at ``a0`` (``keep``), observed
        from ``a0`` on; cached per stage and age edge (a fitted model does not change)."""
        cache = self.__dict__.setdefault("_timing_cache", {})
        if (stage, a0) in cache:
            return cache[(stage, a0)]
        dur, fate, dwell, wt, entry = self._timing[stage]
        fate = np.asarray(fate)
        if fate.dtype == object:  # fates as text (a model fitted by an older version)
            fate = np.select([fate == "won", fate == "lost"], [1, 2], 0)
        sorted_ = self.__dict__.setdefault("_timing_sorted", {})
        if stage not in sorted_:
            plain = not (np.isnan(dur).any() or np.isnan(entry).any())
            od, oe = np.argsort(dur, kind="stable"), np.argsort(entry, kind="stable")
            sorted_[stage] = (
                (dur[od], fate[od], wt[od], dwell[od]),  # by duration (stable)
                (entry[oe], wt[oe], dwell[oe]),  # by entry (stable)
                bool(np.all(wt == 1.0)),
                plain,
            )
        (d_d, f_d, w_d, dw_d), (e_e, w_e, dw_e), unit, plain = sorted_[stage]
        if not plain:
            kinds = np.array((*_FATES, None), object)[fate[keep] - 1]
            cr = aalen_johansen(dur[keep], kinds, _FATES, wt[keep], np.maximum(entry[keep], a0))
        else:
            kd = dw_d >= a0  # ``keep`` in duration order
            total = float(keep.sum()) if unit else wt[keep].sum()
            # a stable sort of max(entry, a0): the visits entered by a0 (tied at a0, in their
            # order), then the later ones in entry order
            low = keep & (entry <= a0)
            high = (dw_e >= a0) & (e_e > a0)
            e_sorted = np.concatenate([np.full(int(low.sum()), float(a0)), e_e[high]])
            if unit:  # sums of ones: no weights to carry
                w_kept = w_sorted = None
            else:
                w_kept, w_sorted = w_d[kd], np.concatenate([wt[low], w_e[high]])
            cr = aalen_johansen_sorted(d_d[kd], f_d[kd], _FATES, w_kept, total, e_sorted, w_sorted)
        cache[(stage, a0)] = cr
        return cr

    # ------------------------------------------------------------------ export
    def to_yaml(self, path: str | Path) -> Path:
        """Write a stage config with the calibrated probabilities and their provenance."""
        seg = None
        if self.by_:
            t = self.table_[self.table_[self.by_[0]] != "(all)"]
            seg = {
                f"{r['stage']}|{'|'.join(str(r[b]) for b in self.by_)}": round(
                    float(r["estimate"]), 4
                )
                for _, r in t.iterrows()
            }
        stage_rows = self.table_[
            self.table_["stage_estimate"] == self.table_["estimate"]
        ].drop_duplicates("stage")
        provenance = {
            "method": "Aalen-Johansen (won vs lost, open deals censored)"
            + (", segments shrunk by beta-binomial empirical Bayes" if self.by_ else ""),
            "as_of": str(self.as_of_.date()),
            "data_sha256": self.data_sha256_,
            "half_life_days": self.half_life_days,
            "window_days": self.window_,
            "age_effect": self.age_effect_,
            "history_start": None
            if self.history_start_ is None
            else str(self.history_start_.date()),
            "history_days": self.history_days_,
            "by": self.by_,
            "deals_entered": {r["stage"]: int(r["entered"]) for _, r in stage_rows.iterrows()},
            "intervals": {
                r["stage"]: [round(float(r["low"]), 4), round(float(r["high"]), 4)]
                for _, r in stage_rows.iterrows()
            },
        }
        if seg:
            provenance["segment_estimates"] = seg
        probs = {s: round(float(p), 4) for s, p in self.stage_estimate_.items()}
        return self.stages_.with_probabilities(probs, provenance).to_yaml(path)


def _eventual(cr: CompetingRisks, visits: _StageRows | None) -> tuple[float, float]:
    """P(won | resolved) at the end of follow-up, and the (weighted) number of resolved deals.

    Censored deals shape the estimate but are not counted as evidence in its interval.
    """
    won, lost = cr.final("won"), cr.final("lost")
    if won + lost <= 0:
        return float("nan"), 0.0
    return won / (won + lost), visits.resolved_weight()


def _entry(entered_at: np.ndarray, start) -> np.ndarray:
    """Days from entry until ``start`` (0 when entered after it, or no start): delayed entry."""
    out = np.zeros(len(entered_at))
    if start is None:
        return out
    before = entered_at < start.to_datetime64()  # the others are clipped to 0
    days = _days(start, entered_at[before])
    out[before] = np.where(days < 0, 0.0, days)
    return out


def _counts(g: _StageRows | None) -> dict:
    if g is None:
        return {"entered": 0, "won": 0, "lost": 0, "open": 0}
    return {
        "entered": g.n,
        "won": int((g.fate == 1).sum()),
        "lost": int((g.fate == 2).sum()),
        "open": int((g.fate == 0).sum()),
    }


def _earlier(dataset, as_of) -> tuple:
    """``(dataset, as_of)`` positional arguments for a look at an earlier date; a View is
    rewound to that date (it cannot be asked about another moment otherwise)."""
    return rewind(dataset, as_of.normalize()) if isinstance(dataset, View) else (dataset, as_of)


def fit_on_own_transitions(model, dataset, as_of, t: pd.DataFrame):
    """``model.fit(dataset, as_of=...)`` when the caller already holds ``t`` =
    ``stage_transitions(dataset, as_of=...)`` (defaults, no table overrides): the same fit,
    without recomputing them for the inner out-of-time checks (they are cut from ``t``, as
    ``fit`` does with its own). Anything else (a View, an engine): ``fit(transitions=t)``.
    """
    if not isinstance(dataset, Dataset):
        return model.fit(dataset, as_of=as_of, transitions=t)
    cfg = load_stages(model.stages if model.stages is not None else dataset.stages)
    return model._fit_known(t, cfg, dataset, {}, derivable=True)


def stage_row(stage: str, p: float, n_eff: float, counts: dict, *, by, alpha: float) -> dict:
    """A stage's row of ``table_``: its counts, estimate ``p`` (also the ``stage_estimate``
    its segments shrink toward) and Wilson bounds on ``n_eff`` effective deals."""
    lo, hi = wilson(np.array([p * n_eff]), np.array([n_eff]), alpha)
    return {
        "stage": stage,
        **dict.fromkeys(by, "(all)"),
        **counts,
        "estimate": p,
        "low": lo[0],
        "high": hi[0],
        "stage_estimate": p,
        "effective_n": n_eff,
    }
