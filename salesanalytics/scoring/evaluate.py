"""Does a scorecard rank outcomes? Tier conversion, monotonicity, lift, AUC, calibration, cut-offs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics import auc, brier_score, reliability_table, wilson
from .scorecard import Scorecard, load_scorecard

__all__ = ["ScorecardEvaluation", "evaluate_scorecard", "capacity_cutoff", "outcome_of"]


@dataclass
class ScorecardEvaluation:
    """tiers, monotone (+ violations), gains (deciles), auc, probability (score -> P) with
    its reliability and brier, and the scored rows."""

    tiers: pd.DataFrame
    monotone: bool
    violations: list[str]
    gains: pd.DataFrame
    auc: float
    brier: float
    reliability: pd.DataFrame
    scored: pd.DataFrame


def outcome_of(history: pd.DataFrame, outcome: str) -> pd.Series:
    y = history[outcome]
    if pd.api.types.is_bool_dtype(y) or str(y.dtype) == "boolean":
        return y.fillna(False).astype(int)
    return pd.to_numeric(y, errors="coerce").fillna(0).astype(int)


def _probability(score: np.ndarray, y: np.ndarray, method: str, seed: int) -> np.ndarray:
    """Cross-validated score -> probability (each row predicted by a model not fitted on it)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    p = np.full(len(y), np.nan)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed) if y.min() != y.max() else None
    if folds is None:
        return np.full(len(y), float(y.mean()))
    for train, test in folds.split(score.reshape(-1, 1), y):
        if method == "isotonic":
            m = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
                score[train], y[train]
            )
            p[test] = m.predict(score[test])
        else:
            m = LogisticRegression().fit(score[train].reshape(-1, 1) / 100, y[train])
            p[test] = m.predict_proba(score[test].reshape(-1, 1) / 100)[:, 1]
    return p


def evaluate_scorecard(
    scorecard: Scorecard | str,
    history: pd.DataFrame,
    *,
    outcome: str = "converted",
    method: str = "isotonic",
    seed: int = 0,
    alpha: float = 0.05,
) -> ScorecardEvaluation:
    """Evaluate a scorecard on rows with a known outcome.

    Parameters
    ----------
    history
        Rows with the scorecard's input columns and ``outcome`` (0/1 or boolean).
    method
        Score -> probability mapping: ``"isotonic"`` or ``"platt"``; always cross-validated.

    Returns
    -------
    ScorecardEvaluation
        ``tiers``: n, share, converted, rate with Wilson interval, per tier best first;
        ``monotone``: whether each tier converts at least as well as the next (violations
        named); ``gains``: per score decile, rate, lift, cumulative share of conversions;
        ``auc``; ``brier`` of the mapped probability; ``reliability`` of that mapping.
    """

    card = load_scorecard(scorecard)
    scored = card.score(history)
    y = outcome_of(history, outcome).to_numpy()
    scored = scored.assign(_y=y)
    names = [t for t, _ in card.tiers]
    g = scored.groupby("tier")["_y"].agg(["size", "sum"]).reindex(names).fillna(0)
    tiers = pd.DataFrame(
        {
            "tier": names,
            "n": g["size"].astype("int64").to_numpy(),
            "converted": g["sum"].astype("int64").to_numpy(),
        }
    )
    tiers["share"] = tiers["n"] / max(len(scored), 1)
    tiers["rate"] = tiers["converted"] / tiers["n"].where(tiers["n"] > 0)
    tiers["rate_low"], tiers["rate_high"] = wilson(tiers["converted"], tiers["n"], alpha)
    violations = []
    rated = tiers.dropna(subset=["rate"]).reset_index(drop=True)
    for i in range(len(rated) - 1):
        a, b = rated.iloc[i], rated.iloc[i + 1]
        if a["rate"] < b["rate"]:
            clear = a["rate_high"] < b["rate_low"]
            violations.append(
                f"{a['tier']} converts below {b['tier']} ({a['rate']:.1%} vs {b['rate']:.1%}"
                f"{', beyond noise' if clear else ', within noise'})"
            )
    s = scored["score"].to_numpy()
    order = np.argsort(-s, kind="mergesort")
    decile = np.empty(len(s), int)
    decile[order] = np.arange(len(s)) * 10 // max(len(s), 1)
    gd = (
        pd.DataFrame({"decile": decile + 1, "y": y, "score": s})
        .groupby("decile")
        .agg(n=("y", "size"), converted=("y", "sum"), min_score=("score", "min"))
    )
    gd["rate"] = gd["converted"] / gd["n"]
    gd["lift"] = gd["rate"] / max(y.mean(), 1e-12)
    gd["cumulative_share_of_conversions"] = gd["converted"].cumsum() / max(y.sum(), 1)
    p = _probability(s.astype(float), y, method, seed)
    rel = reliability_table(p, y, 10).drop(columns="wins").rename_axis("bin").reset_index()
    auc_ = auc(y, s)
    return ScorecardEvaluation(
        tiers,
        not violations,
        violations,
        gd.reset_index(),
        auc_,
        brier_score(p, y),
        rel,
        scored.drop(columns="_y").assign(probability=p),
    )


def capacity_cutoff(
    scores: pd.Series, *, leads_per_week: float, reps: int, capacity_per_rep: float
) -> float:
    """Lowest score the team can still follow up: the top ``reps x capacity`` of a week's leads.

    ``scores`` is a representative history; the cut-off is the score quantile that leaves as
    many leads per week above it as the reps can work.
    """
    share = min(1.0, reps * capacity_per_rep / max(leads_per_week, 1e-12))
    if share >= 1.0:
        return float(scores.min())
    return float(np.quantile(scores.to_numpy(float), 1 - share, method="higher"))
