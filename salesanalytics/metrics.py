"""Scoring metrics for probabilities and rates, in one place.

Wilson interval, reliability table, Brier score with its Murphy decomposition, log-loss,
expected calibration error and AUC. Used by the calibration report, the scorecard
evaluation and the funnel intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "auc",
    "brier_decomposition",
    "brier_score",
    "expected_calibration_error",
    "log_loss",
    "probability_bins",
    "reliability_table",
    "wilson",
]


def wilson(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (NaN where ``n`` is 0).

    >>> lo, hi = wilson(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.49, 0.943)
    """
    from scipy import stats

    k = np.asarray(successes, float)
    n = np.asarray(n, float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = np.where(n > 0, centre - half, np.nan)
    hi = np.where(n > 0, centre + half, np.nan)
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def probability_bins(p, bins: int = 10) -> np.ndarray:
    """Equal-width bin index (0 .. bins-1) of each probability; 1.0 falls in the last bin.

    >>> probability_bins(np.array([0.0, 0.05, 0.1, 0.99, 1.0])).tolist()
    [0, 0, 1, 9, 9]
    """
    p = np.asarray(p, float)
    return np.minimum((p * bins).astype(int), bins - 1)


def reliability_table(p, y, bins: int = 10) -> pd.DataFrame:
    """Per probability bin (index ``k``): n, mean_predicted, observed, wins.

    Only bins holding predictions appear.

    >>> reliability_table(np.array([0.1, 0.15, 0.8]), np.array([0, 1, 1]))["n"].tolist()
    [2, 1]
    """
    k = probability_bins(p, bins)
    return (
        pd.DataFrame({"k": k, "p": np.asarray(p, float), "y": np.asarray(y)})
        .groupby("k")
        .agg(
            n=("y", "size"),
            mean_predicted=("p", "mean"),
            observed=("y", "mean"),
            wins=("y", "sum"),
        )
    )


def brier_score(p, y) -> float:
    """Mean squared difference between probabilities and 0/1 outcomes.

    >>> brier_score(np.array([0.5, 1.0]), np.array([1, 1]))
    0.125
    """
    p, y = np.asarray(p, float), np.asarray(y, float)
    return float(np.mean((p - y) ** 2))


def brier_decomposition(p, y, bins: int = 10) -> dict[str, float]:
    """Murphy's decomposition of the Brier score over ``bins`` probability bins.

    ``reliability`` (calibration error, lower is better), ``resolution`` (how much the
    binned outcome rates differ from the base rate, higher is better) and ``uncertainty``
    (base rate x (1 - base rate)); with binned probabilities Brier = reliability -
    resolution + uncertainty.

    >>> d = brier_decomposition(np.array([0.2, 0.2, 0.8, 0.8]), np.array([0, 0, 1, 1]))
    >>> round(d["reliability"], 2), round(d["resolution"], 2), round(d["uncertainty"], 2)
    (0.04, 0.25, 0.25)
    """
    y = np.asarray(y)
    tab = reliability_table(p, y, bins)
    n = len(y)
    base = y.mean()
    return {
        "reliability": float((tab["n"] * (tab["mean_predicted"] - tab["observed"]) ** 2).sum() / n),
        "resolution": float((tab["n"] * (tab["observed"] - base) ** 2).sum() / n),
        "uncertainty": float(base * (1 - base)),
    }


def expected_calibration_error(p, y, bins: int = 10) -> float:
    """Share-weighted mean |mean predicted - observed| over probability bins.

    >>> round(expected_calibration_error(np.array([0.2, 0.2, 0.8, 0.8]), np.array([0, 0, 1, 1])), 6)
    0.2
    """
    tab = reliability_table(p, y, bins)
    return float((tab["n"] * (tab["mean_predicted"] - tab["observed"]).abs()).sum() / len(y))


def log_loss(p, y, eps: float = 1e-6) -> float:
    """Mean negative log-likelihood of 0/1 outcomes, probabilities clipped to [eps, 1-eps].

    >>> round(log_loss(np.array([0.5, 0.5]), np.array([0, 1])), 4)
    0.6931
    """
    from sklearn.metrics import log_loss as _log_loss

    return float(
        _log_loss(np.asarray(y), np.clip(np.asarray(p, float), eps, 1 - eps), labels=[0, 1])
    )


def auc(y, score) -> float:
    """Area under the ROC curve (NaN when only one outcome occurs).

    >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if not 0 < y.sum() < len(y):
        return float("nan")
    return float(roc_auc_score(y, np.asarray(score, float)))
