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
from ..view import explicit_frames, rewind, view_as_of
from .estimators import CompetingRisks, aalen_johansen, shrink

__all__ = ["StageProbabilityModel", "stage_visits"]


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
        as_of_ts = end_of(t.attrs["as_of"])
        t = t[t["entered_at"] <= as_of_ts]
        window, age = self.window_days, self.age_effect
        if "auto" in (window, age):
            chosen, self.selection_ = self._select(dataset, t, as_of_ts, frames)
            window, age = chosen["window_days"], chosen["age_effect"]
        self.window_, self.age_effect_ = window, age
        first_close = t.loc[t["outcome"].isin(["won", "lost"]), "exited_at"].min()
        self.history_start_ = self._history_start(first_close)
        self._check_history(first_close, as_of_ts)
        start = self.history_start_
        if window:  # period estimate: only exposure and events inside the window
            w_start = as_of_ts - pd.Timedelta(days=window)
            start = w_start if start is None else max(start, w_start)
        if isinstance(self.by, str) and self.by == "auto":
            by, self.by_selection_ = self._select_segments(dataset, t, as_of_ts, frames)
        else:
            by = as_list(self.by)
        v = stage_visits(t, as_of_ts)
        w = (
            0.5 ** ((as_of_ts - v["entered_at"]).dt.total_seconds() / 86400 / self.half_life_days)
            if self.half_life_days
            else pd.Series(1.0, index=v.index)
        )
        v = v.assign(_w=w.to_numpy(), _entry=_entry(v["entered_at"], start))
        v = v[(v["duration"] > v["_entry"]) | (v["_entry"] == 0)]
        # for the timing of a deal still in its stage at some age: the stage's own dwell
        self._timing = {
            s: (
                g["duration"].to_numpy(float),
                g["fate"].to_numpy(object),
                g["dwell_days"].to_numpy(float),
                g["_w"].to_numpy(float),
                g["_entry"].to_numpy(float),
            )
            for s, g in v.groupby("stage", sort=False)
        }
        self._v = v
        self.stages_ = cfg
        self.by_ = by
        self.as_of_ = as_of_ts.normalize()
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
            g = v[v["stage"] == s]
            cr = aalen_johansen(g["duration"], g["fate"], ("won", "lost"), g["_w"], g["_entry"])
            self.curves_[s] = cr
            p, n_eff = _eventual(cr, g)
            stage_p[s] = p
            lo, hi = wilson(np.array([p * n_eff]), np.array([n_eff]), self.alpha)
            rows.append(
                {
                    "stage": s,
                    **dict.fromkeys(by, "(all)"),
                    **_counts(g),
                    "estimate": p,
                    "low": lo[0],
                    "high": hi[0],
                    "stage_estimate": p,
                    "effective_n": n_eff,
                }
            )
        self.stage_estimate_ = pd.Series(stage_p, name="estimate")
        if by:
            rows += self._segments(v, by, stage_p)
        table = pd.DataFrame(rows)
        table["configured"] = table["stage"].map(cfg.probabilities)
        self.table_ = table
        self._fit_age(t, stage_p, cfg, start)
        return self

    def _check_history(self, first_close, as_of_ts: pd.Timestamp) -> None:
        span = (as_of_ts - first_close).days + 1 if pd.notna(first_close) else 0
        self.history_days_ = span
        if span < self.MIN_HISTORY_DAYS:
            warnings.warn(
                f"closes recorded over only {span} days before {as_of_ts.date()} (fewer than "
                f"{self.MIN_HISTORY_DAYS}): slow deals are barely represented and a quarter-end "
                "push is not averaged out; treat these estimates as provisional",
                stacklevel=3,
            )

    def _history_start(self, first_close) -> pd.Timestamp | None:
        if self.history_start is None:
            return None
        if isinstance(self.history_start, str) and self.history_start == "first_close":
            return first_close if pd.notna(first_close) else None
        return pd.Timestamp(self.history_start).normalize()

    def _select(self, dataset, t, as_of_ts, frames) -> tuple[dict, pd.DataFrame]:
        """Settle the ``"auto"`` settings by an inner out-of-time check on data known at ``as_of``.

        Each candidate setting is fitted ``VALIDATION_DAYS`` before ``as_of`` and scores
        (log-loss) the deals open then and at the next month starts, against their fate known
        at ``as_of``. Too few scored deals (< 100): the plain settings (all history, age effect).
        """
        from ..snapshot import pipeline_as_of

        windows = self.WINDOW_CANDIDATES if self.window_days == "auto" else (self.window_days,)
        ages = (True, False) if self.age_effect == "auto" else (self.age_effect,)
        grid = [{"window_days": w, "age_effect": a} for a in ages for w in windows]
        inner = as_of_ts - pd.Timedelta(days=self.VALIDATION_DAYS)
        fate = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")[
            "outcome"
        ]
        snaps = [inner + pd.Timedelta(days=d) for d in range(0, self.VALIDATION_DAYS - 29, 30)]
        deals = (
            [pipeline_as_of(*rewind(dataset, s.normalize()), **frames) for s in snaps]
            if dataset is not None or frames
            else []
        )
        deals = [d[d["opportunity_id"].map(fate).isin(["won", "lost"]).to_numpy()] for d in deals]
        y = np.concatenate(
            [np.zeros(0, int)]
            + [(d["opportunity_id"].map(fate) == "won").to_numpy(int) for d in deals]
        )
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

    def _select_segments(self, dataset, t, as_of_ts, frames) -> tuple[list[str], pd.DataFrame]:
        """``by="auto"``: the segments with the lowest out-of-time log-loss on data known at
        ``as_of``.

        The stage model is fitted ``VALIDATION_DAYS`` before ``as_of``; each candidate
        (none, each available column of ``SEGMENT_CANDIDATES``, each pair, the pair's cells
        shrunk toward the first column's) scores the deals open then and at the next month
        starts whose fate is known at ``as_of``. Fewer than 100 such deals: no segments.
        """
        from ..snapshot import pipeline_as_of

        cols = [
            c
            for c in self.SEGMENT_CANDIDATES
            if c in t and t[c].nunique(dropna=True) >= 2 and t[c].notna().mean() > 0.5
        ]
        cands = [[]] + [[c] for c in cols]
        cands += [[a, b] for i, a in enumerate(cols) for b in cols[i + 1 :]]
        inner = as_of_ts - pd.Timedelta(days=self.VALIDATION_DAYS)
        fate = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")[
            "outcome"
        ]
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
        inner_t = t[t["entered_at"] <= inner]
        if len(cands) == 1 or not len(inner_t) or (dataset is None and not frames):
            return [], empty
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                from ..funnel.transitions import stage_transitions

                tt = stage_transitions(dataset, as_of=inner, **frames)
                base.fit(dataset, as_of=inner, transitions=tt, **frames)
            except ValueError:
                return [], empty
            deals = pd.concat(
                [
                    pipeline_as_of(
                        dataset, s, transitions=stage_transitions(dataset, as_of=s, **frames)
                    )
                    for s in snaps
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
                    m.table_ = pd.DataFrame(base._segments(base._v, by, stage_p, quiet=True))
                m.by_ = by
            p = m.predict_proba(deals).to_numpy(float)
            p = np.clip(np.where(np.isfinite(p), p, y.mean()), 1e-4, 1 - 1e-4)
            loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
            rows.append({"by": "+".join(by) or "(none)", "n": len(y), "log_loss": loss})
        table = pd.DataFrame(rows)
        return cands[int(table["log_loss"].idxmin())], table

    def _segments(self, v, by, stage_p, *, quiet: bool = False) -> list[dict]:
        parent = {}
        if len(by) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                top = self._segments(v, by[:1], stage_p, quiet=True)
            parent = {(r["stage"], r[by[0]]): r["estimate"] for r in top}
        rows, fallback = [], []
        v = v[["stage", *by, "duration", "fate", "_w", "_entry"]]
        v.attrs = {}
        for s in self.stages_.open_keys:
            g = v[v["stage"] == s]
            cells = []
            dur, w_, e_ = (g[c].to_numpy(float) for c in ("duration", "_w", "_entry"))
            fate = g["fate"].to_numpy(object)
            for key, idx in g.groupby(by, dropna=False, sort=True).indices.items():
                key = key if isinstance(key, tuple) else (key,)
                f = fate[idx]
                f = np.where(pd.isna(f), None, f)
                cr = aalen_johansen(dur[idx], f, ("won", "lost"), w_[idx], e_[idx])
                won, lost = cr.final("won"), cr.final("lost")
                resolved = f != None  # noqa: E711 (object array)
                p = won / (won + lost) if won + lost > 0 else float("nan")
                n_eff = float(w_[idx][resolved].sum()) if won + lost > 0 else 0.0
                cell = {
                    "entered": len(idx),
                    "won": int((f == "won").sum()),
                    "lost": int((f == "lost").sum()),
                    "open": int((~resolved).sum()),
                }
                cells.append((key, cell, p, n_eff))
            if not cells:
                continue
            # pairs shrink toward their parent (the first column's shrunk estimate)
            parents = {k[:1]: parent.get((s, k[0]), stage_p[s]) for k, *_ in cells}
            if len(by) < 2:
                parents = dict.fromkeys(parents, stage_p[s])
            for pkey, prior in parents.items():
                group = [c for c in cells if c[0][:1] == pkey] if len(by) > 1 else cells
                wins = np.array([p * n for _, _, p, n in group])
                ns = np.array([n for _, _, _, n in group])
                prior = prior if np.isfinite(prior) else stage_p[s]
                mean, lo, hi, kappa = shrink(wins, ns, prior, alpha=self.alpha)
                for (key, cell, p, n_eff), m, lo_, hi_ in zip(group, mean, lo, hi):
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
                if len(by) < 2:
                    break
        if fallback and not quiet:
            warnings.warn(
                f"{len(fallback)} segment(s) below min_count={self.min_count} use their "
                f"stage estimate: {', '.join(fallback[:8])}{' ...' if len(fallback) > 8 else ''}",
                stacklevel=3,
            )
        return rows

    def _fit_age(self, t, stage_p, cfg: StageConfig, start) -> None:
        """Per stage: exit mix (forward / back / lost) by dwell, for the age adjustment."""
        entry = _entry(t["entered_at"], start)
        keep = (t["dwell_days"] > entry) | (entry == 0)
        t, entry = t[keep], entry[keep.to_numpy()]
        self.exit_curves_: dict[str, tuple[CompetingRisks, float, float]] = {}
        kinds = t["outcome"].map(
            {
                "advanced": "forward",
                "skipped": "forward",
                "won": "forward",
                "regressed": "back",
                "lost": "lost",
            }
        )
        value_of = {**stage_p, cfg.won: 1.0, cfg.lost: 0.0}
        for i, s in enumerate(cfg.open_keys):
            at = (t["stage"] == s).to_numpy()
            g = t[at]
            k = kinds[g.index]
            cr = aalen_johansen(
                g["dwell_days"],
                k.where(k.notna(), None),
                ("forward", "back", "lost"),
                None,
                entry[at],
            )
            fwd = g.loc[k == "forward", "next_stage"].map(value_of)
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
        dur, fate, dwell, wt, entry = timing
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
            f = np.where(pd.isna(fate[keep]), None, fate[keep])
            cr = aalen_johansen(
                dur[keep], f, ("won", "lost"), wt[keep], np.maximum(entry[keep], a0)
            )
            a = np.maximum(age[at], a0)
            rest = cr.final("won") - cr.cif_at("won", a)
            got = cr.cif_at("won", a + horizon) - cr.cif_at("won", a)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[at] = np.where(rest > 0, got / rest, 0.0)
        return np.clip(out, 0.0, 1.0)

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


def _eventual(cr: CompetingRisks, visits: pd.DataFrame) -> tuple[float, float]:
    """P(won | resolved) at the end of follow-up, and the (weighted) number of resolved deals.

    Censored deals shape the estimate but are not counted as evidence in its interval.
    """
    won, lost = cr.final("won"), cr.final("lost")
    if won + lost <= 0:
        return float("nan"), 0.0
    return won / (won + lost), float(visits.loc[visits["fate"].notna(), "_w"].sum())


def _entry(entered_at: pd.Series, start) -> np.ndarray:
    """Days from entry until ``start`` (0 when entered after it, or no start): delayed entry."""
    if start is None:
        return np.zeros(len(entered_at))
    return ((start - entered_at).dt.total_seconds() / 86400).clip(lower=0).to_numpy()


def _counts(g: pd.DataFrame) -> dict:
    return {
        "entered": len(g),
        "won": int((g["fate"] == "won").sum()),
        "lost": int((g["fate"] == "lost").sum()),
        "open": int(g["fate"].isna().sum()),
    }
