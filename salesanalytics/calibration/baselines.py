"""Baselines with the model's interface: fit(dataset, as_of), predict_proba(deals)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._estimator import ParamsMixin
from .._time import as_of_ts
from ..dataset import Dataset
from ..funnel.transitions import stage_transitions
from ..stages import load_stages
from ..view import View, view_as_of
from .model import stage_visits

__all__ = ["ConfiguredProbabilities", "GlobalWinRate", "EmpiricalStageRate", "NaiveBayesOdoo"]


class _Baseline(ParamsMixin):
    """Shared ``fit``: cut the history at ``as_of``, then ``_learn`` from it."""

    def fit(
        self,
        dataset: Dataset | View | None = None,
        as_of=None,
        *,
        transitions: pd.DataFrame | None = None,
        stage_history: pd.DataFrame | None = None,
        opportunities: pd.DataFrame | None = None,
        stages=None,
    ):
        """Learn from what was known at ``as_of`` (a View's own by default)."""
        t, end = self._prepare(dataset, as_of, transitions, stage_history, opportunities, stages)
        self._learn(t, end)
        return self

    def _learn(self, t: pd.DataFrame, end: pd.Timestamp) -> None:
        raise NotImplementedError

    def _prepare(self, dataset, as_of, transitions, stage_history, opportunities, stages):
        as_of = view_as_of(dataset, as_of)
        if as_of is None:
            raise ValueError("fit needs as_of")
        self.stages_ = load_stages(
            getattr(self, "stages", None) or (dataset.stages if dataset else stages)
        )
        t = (
            transitions
            if transitions is not None
            else stage_transitions(
                dataset,
                as_of=as_of,
                stage_history=stage_history,
                opportunities=opportunities,
                stages=stages,
            )
        )
        end = as_of_ts(t.attrs["as_of"])
        return t[t["entered_at"] <= end], end


class ConfiguredProbabilities(_Baseline):
    """The probabilities typed into the stage config (what most teams use today)."""

    def __init__(self, stages=None) -> None:
        self.stages = stages

    def fit(
        self,
        dataset: Dataset | View | None = None,
        as_of=None,
        *,
        transitions: pd.DataFrame | None = None,
        stage_history: pd.DataFrame | None = None,
        opportunities: pd.DataFrame | None = None,
        stages=None,
    ):
        """Nothing to learn: the probabilities come from the stage config."""
        view_as_of(dataset, as_of)  # a View given another as_of: ValueError
        self.stages_ = load_stages(self.stages or (dataset.stages if dataset else stages))
        return self

    def predict_proba(self, deals: pd.DataFrame) -> pd.Series:
        return deals["stage"].map(self.stages_.probabilities).astype(float).rename("p_win")


class GlobalWinRate(_Baseline):
    """One number: won / (won + lost) of the deals closed by ``as_of``."""

    def __init__(self, stages=None) -> None:
        self.stages = stages

    def _learn(self, t: pd.DataFrame, end: pd.Timestamp) -> None:
        last = t.drop_duplicates("opportunity_id", keep="last")["outcome"]
        won, lost = (last == "won").sum(), (last == "lost").sum()
        self.rate_ = float(won / (won + lost)) if won + lost else float("nan")

    def predict_proba(self, deals: pd.DataFrame) -> pd.Series:
        return pd.Series(self.rate_, index=deals.index, name="p_win")


class EmpiricalStageRate(_Baseline):
    """Per stage, won / (won + lost) of the deals that reached it and closed: open deals dropped.

    This ignores censoring: the deals closed so far are the quick ones, so while many deals
    are open the rate leans toward whichever outcome comes faster (early in a funnel, losses
    come fast and wins need every stage: the rate is far too low).
    """

    def __init__(self, stages=None) -> None:
        self.stages = stages

    def _learn(self, t: pd.DataFrame, end: pd.Timestamp) -> None:
        v = stage_visits(t, end)
        closed = v[v["fate"].notna()]
        g = closed.groupby("stage")["fate"].agg(lambda f: float((f == "won").mean()))
        self.rates_ = g.reindex(list(self.stages_.open_keys))

    def predict_proba(self, deals: pd.DataFrame) -> pd.Series:
        return deals["stage"].map(self.rates_).astype(float).rename("p_win")


class NaiveBayesOdoo(_Baseline):
    """Odoo-style predictive lead scoring, written from its published description.

    Won and lost counts per field value from deals closed by ``as_of``; the stage is counted
    cumulatively (a deal counts for every stage up to the one it closed from; a won deal for
    all); fields are independent; 0.1 is added to every count.
    """

    def __init__(self, fields=("channel", "owner"), smoothing: float = 0.1) -> None:
        self.fields = tuple(fields)
        self.smoothing = smoothing

    def _learn(self, t: pd.DataFrame, end: pd.Timestamp) -> None:
        last = t.drop_duplicates("opportunity_id", keep="last")
        closed = last[last["outcome"].isin(["won", "lost"])]
        won = closed["outcome"] == "won"
        self.n_ = {"won": float(won.sum()), "lost": float((~won).sum())}
        open_keys = list(self.stages_.open_keys)
        reach = closed["order"].to_numpy()
        self.stage_counts_ = {
            "won": {s: float(won.sum()) for s in open_keys},
            "lost": {s: float(((~won) & (reach >= i)).sum()) for i, s in enumerate(open_keys)},
        }
        self.field_counts_ = {}
        for f in self.fields:
            if f in closed.columns:
                c = pd.crosstab(closed[f].astype("string").fillna("(missing)"), won)
                self.field_counts_[f] = {
                    "won": c.get(True, pd.Series(dtype=float)).to_dict(),
                    "lost": c.get(False, pd.Series(dtype=float)).to_dict(),
                }

    def predict_proba(self, deals: pd.DataFrame) -> pd.Series:
        s = self.smoothing
        logp = {}
        for o in ("won", "lost"):
            total = self.n_["won"] + self.n_["lost"]
            lp = np.log((self.n_[o] + s) / (total + 2 * s)) * np.ones(len(deals))
            sc = self.stage_counts_[o]
            lp += np.log(
                (deals["stage"].map(sc).fillna(0).to_numpy(float) + s) / (self.n_[o] + s * len(sc))
            )
            for f, counts in self.field_counts_.items():
                if f not in deals:
                    continue
                vals = deals[f].astype("string").fillna("(missing)")
                cnt = vals.map(counts[o]).fillna(0).to_numpy(float)
                n_values = len(set(counts["won"]) | set(counts["lost"])) + 1
                lp += np.log((cnt + s) / (self.n_[o] + s * n_values))
            logp[o] = lp
        m = np.maximum(logp["won"], logp["lost"])
        pw, pl = np.exp(logp["won"] - m), np.exp(logp["lost"] - m)
        return pd.Series(pw / (pw + pl), index=deals.index, name="p_win")
