"""Learn scorecard weights from history and export them in the same YAML shape."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .evaluate import outcome_of
from .scorecard import LEAKY_FIELDS, Scorecard, load_scorecard

__all__ = ["LeakageError", "ScorecardFit", "fit_scorecard"]


class LeakageError(ValueError):
    """A scorecard input is filled in after the outcome and would leak it."""


@dataclass
class ScorecardFit:
    """``scorecard`` (learned weights), ``coefficients`` per dimension, ``cv_auc`` per fold,
    ``comparison`` of hand-set and fitted weights."""

    scorecard: Scorecard
    coefficients: pd.Series
    importance: pd.Series
    cv_auc: list[float]
    comparison: pd.DataFrame


def fit_scorecard(
    history: pd.DataFrame,
    dimensions: Scorecard | str,
    *,
    outcome: str = "converted",
    time_column: str | None = "created_at",
    leaky_fields=LEAKY_FIELDS,
    allow_leaky: bool = False,
    C: float = 1.0,
    folds: int = 5,
    seed: int = 0,
) -> ScorecardFit:
    """Fit the weights of a scorecard's dimensions (its bands kept) on past outcomes.

    A regularised logistic regression on each dimension's points (0-1) learns how much each
    dimension moves the odds; the positive coefficients rescaled to sum to 100 become the
    weights (a dimension with a negative or zero effect gets weight 0 and a warning). Folds
    are time-ordered when ``time_column`` exists (train on the past, score the future),
    stratified otherwise.

    Raises
    ------
    LeakageError
        When a dimension reads a field filled in after the outcome (``leaky_fields``), unless
        ``allow_leaky=True``.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> fit = sa.fit_scorecard(sa.read_dataset().leads, "lead_sabc")
    >>> round(sum(d.weight for d in fit.scorecard.dimensions))
    100
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit

    card = load_scorecard(dimensions)
    leaky = sorted(set(card.columns) & set(leaky_fields))
    if leaky and not allow_leaky:
        raise LeakageError(
            f"refused: {leaky} are filled in after the outcome and would leak it "
            "(pass allow_leaky=True to override, knowingly)"
        )
    y = outcome_of(history, outcome).to_numpy()
    X = card.points(history).to_numpy(float) / 100.0
    if time_column and time_column in history and history[time_column].notna().all():
        order = np.argsort(history[time_column].to_numpy(), kind="mergesort")
        splits = TimeSeriesSplit(folds).split(order)
        splits = [(order[a], order[b]) for a, b in splits]
    else:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y))
    aucs = []
    for train, test in splits:
        m = LogisticRegression(C=C, max_iter=1000).fit(X[train], y[train])
        if 0 < y[test].sum() < len(test):
            aucs.append(float(roc_auc_score(y[test], m.decision_function(X[test]))))
    model = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    names = [d.name for d in card.dimensions]
    coef = pd.Series(model.coef_[0], index=names, name="coefficient")
    importance = (coef * X.std(axis=0)).rename("importance")  # effect of one SD of points
    positive = coef.clip(lower=0)
    if (coef <= 0).any():
        warnings.warn(
            f"dimension(s) with no positive effect get weight 0: {list(coef[coef <= 0].index)}",
            stacklevel=2,
        )
    raw = (
        100 * positive / positive.sum()
        if positive.sum() > 0
        else pd.Series(100 / len(names), index=names)
    )
    weights = _round_to_100(raw)
    fitted = card.with_weights(
        weights.to_dict(),
        name=f"{card.name}_fitted",
        description=f"Weights fitted on {len(y):,} rows ({outcome}); bands from {card.name}.",
        provenance={
            "fitted_on_rows": int(len(y)),
            "outcome": outcome,
            "outcome_rate": round(float(y.mean()), 4),
            "cv": "time-ordered" if time_column and time_column in history else "stratified",
            "cv_auc": [round(a, 4) for a in aucs],
            "C": C,
            "base": card.name,
        },
    )
    comparison = pd.DataFrame(
        {
            "dimension": names,
            "column": list(card.columns),
            "hand_weight": [d.weight for d in card.dimensions],
            "fitted_weight": weights.to_numpy(),
            "coefficient": coef.to_numpy(),
            "importance": importance.to_numpy(),
        }
    )
    return ScorecardFit(fitted, coef, importance, aucs, comparison)


def _round_to_100(w: pd.Series) -> pd.Series:
    """Whole weights that sum to exactly 100 (largest remainders get the spare points)."""
    floor = np.floor(w)
    spare = int(round(100 - floor.sum()))
    order = np.argsort(-(w - floor).to_numpy(), kind="mergesort")[:spare]
    floor.iloc[order] += 1
    return floor
