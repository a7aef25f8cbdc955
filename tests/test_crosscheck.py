"""Hand-written statistics cross-checked against reference implementations to 1e-9 (issue 15).

- Wilson interval: ``funnel._common.wilson`` vs statsmodels ``proportion_confint(method="wilson")``.
- Kaplan-Meier: the all-cause survival of ``calibration.estimators.aalen_johansen`` vs
  statsmodels ``SurvfuncRight`` (also with frequency weights and left truncation).
- Aalen-Johansen cumulative incidence: the same function vs statsmodels ``CumIncidenceRight``.
- Brier score of ``calibration.report.score_predictions`` vs ``sklearn.metrics.brier_score_loss``,
  and its Murphy decomposition: ``brier == reliability - resolution + uncertainty`` exactly when
  the forecasts are constant within each probability bin; for continuous forecasts the exact
  identity carries Stephenson's two within-bin terms (checked here, so every component is).
- AUC of ``score_predictions`` and ``evaluate_scorecard`` vs ``sklearn.metrics.roc_auc_score``
  (the package calls scikit-learn there; the check pins the wiring: scores, ties, groups).

lifelines is not installable with pandas 3, so statsmodels is the survival reference.
Random data use fixed seeds; ties are forced (integer durations, rounded probabilities).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from salesanalytics.calibration.estimators import aalen_johansen
from salesanalytics.calibration.report import score_predictions
from salesanalytics.funnel._common import wilson

TOL = 1e-9
KINDS = np.array([None, "won", "lost"], dtype=object)


# --- Wilson -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_matches_statsmodels_on_random_counts(alpha):
    rng = np.random.default_rng(11)
    n = rng.integers(1, 500, 300)
    k = rng.binomial(n, rng.uniform(0, 1, 300))
    k[:5], n[:5] = 0, np.array([1, 2, 7, 50, 400])  # no successes
    k[5:10] = n[5:10]  # all successes
    lo, hi = wilson(k, n, alpha)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=0, atol=TOL)
    np.testing.assert_allclose(hi, ref_hi, rtol=0, atol=TOL)


def test_wilson_tied_counts_give_tied_intervals_and_nan_for_empty():
    lo, hi = wilson(np.array([3, 3, 3, 0]), np.array([10, 10, 10, 0]))
    ref_lo, ref_hi = proportion_confint(3, 10, alpha=0.05, method="wilson")
    np.testing.assert_allclose(lo[:3], ref_lo, rtol=0, atol=TOL)
    np.testing.assert_allclose(hi[:3], ref_hi, rtol=0, atol=TOL)
    assert np.isnan(lo[3]) and np.isnan(hi[3])


# --- Kaplan-Meier and Aalen-Johansen ----------------------------------------------------------


def _survival_data(seed: int, n: int, tied: bool):
    rng = np.random.default_rng(seed)
    d = rng.integers(1, 25, n).astype(float) if tied else rng.exponential(20, n)
    status = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])  # 0 censored, 1 won, 2 lost
    w = rng.integers(1, 5, n).astype(float)
    return d, status, w


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_cause_survival_is_kaplan_meier(tied, weighted):
    d, status, w = _survival_data(3, 400, tied)
    w = w if weighted else None
    cr = aalen_johansen(d, KINDS[status], ("won", "lost"), w)
    ref = SurvfuncRight(d, (status > 0).astype(int), freq_weights=w)
    assert len(ref.surv_times) == len(cr.times)
    np.testing.assert_allclose(cr.times, ref.surv_times, rtol=0, atol=TOL)
    np.testing.assert_allclose(cr.survival_at(ref.surv_times), ref.surv_prob, rtol=0, atol=TOL)
    assert cr.survival_at(ref.surv_times[0] - 1e-6)[()] == 1.0  # before the first event


@pytest.mark.parametrize("tied", [True, False])
def test_left_truncated_survival_is_kaplan_meier_with_entry(tied):
    d, status, w = _survival_data(5, 400, tied)
    entry = np.floor(d * np.random.default_rng(6).uniform(0, 0.9, len(d)))
    cr = aalen_johansen(d, KINDS[status], ("won", "lost"), w, entry)
    ref = SurvfuncRight(d, (status > 0).astype(int), entry=entry, freq_weights=w)
    np.testing.assert_allclose(cr.survival_at(ref.surv_times), ref.surv_prob, rtol=0, atol=TOL)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_cumulative_incidence_is_aalen_johansen(tied, weighted):
    d, status, w = _survival_data(7, 400, tied)
    w = w if weighted else None
    cr = aalen_johansen(d, KINDS[status], ("won", "lost"), w)
    ref = CumIncidenceRight(d, status, freq_weights=w)
    for j, kind in enumerate(("won", "lost")):
        np.testing.assert_allclose(cr.cif_at(kind, ref.times), ref.cinc[j], rtol=0, atol=TOL)
    # all-cause: survival + both incidences = 1 at every event time
    total = cr.survival_at(ref.times) + cr.cif_at("won", ref.times) + cr.cif_at("lost", ref.times)
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=TOL)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels' variance at n == d
def test_aalen_johansen_hand_example_with_ties():
    # t=1: 2 won of 5 at risk (S = 3/5); t=2: 1 lost of 3, 1 censored (S = 2/5);
    # t=3: 1 won of 1 at risk
    cr = aalen_johansen([1, 1, 2, 2, 3], ["won", "won", None, "lost", "won"], ("won", "lost"))
    ref = CumIncidenceRight(np.array([1, 1, 2, 2, 3.0]), np.array([1, 1, 0, 2, 1]))
    np.testing.assert_allclose(cr.cif["won"], [2 / 5, 2 / 5, 2 / 5 + 3 / 5 * 2 / 3 * 1], atol=TOL)
    np.testing.assert_allclose(cr.cif["lost"], [0, 3 / 5 * 1 / 3, 3 / 5 * 1 / 3], atol=TOL)
    np.testing.assert_allclose(cr.cif["won"], ref.cinc[0], rtol=0, atol=TOL)
    np.testing.assert_allclose(cr.cif["lost"], ref.cinc[1], rtol=0, atol=TOL)


# --- Brier, Murphy decomposition, AUC ---------------------------------------------------------


def _predictions(seed: int, n: int, discrete: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if discrete:  # one forecast value per bin (ties by construction)
        p = rng.choice([0.05, 0.15, 0.35, 0.55, 0.85, 0.95], n)
    else:
        p = np.round(rng.beta(2, 3, n), 2)  # continuous, with ties from rounding
    y = (rng.uniform(0, 1, n) < np.clip(p + rng.normal(0, 0.1, n), 0, 1)).astype(int)
    model = np.where(np.arange(n) % 3 == 0, "a", "b")
    return pd.DataFrame({"model": model, "p": p, "y": y})


@pytest.mark.parametrize("discrete", [True, False])
def test_brier_and_auc_match_sklearn_per_model(discrete):
    pred = _predictions(21, 3000, discrete)
    scores, _ = score_predictions(pred, bins=10)
    assert sorted(scores["model"]) == ["a", "b"]
    for _, row in scores.iterrows():
        g = pred[pred["model"] == row["model"]]
        assert row["n"] == len(g)
        assert abs(row["brier"] - brier_score_loss(g["y"], g["p"])) <= TOL
        assert abs(row["auc"] - roc_auc_score(g["y"], g["p"])) <= TOL
        assert abs(row["uncertainty"] - g["y"].mean() * (1 - g["y"].mean())) <= TOL


def test_murphy_decomposition_is_exact_for_binned_forecasts():
    pred = _predictions(22, 5000, discrete=True)
    scores, _ = score_predictions(pred, bins=10)
    gap = scores["brier"] - (scores["reliability"] - scores["resolution"] + scores["uncertainty"])
    assert (gap.abs() <= TOL).all()


def test_murphy_decomposition_with_within_bin_terms_for_continuous_forecasts():
    pred = _predictions(23, 5000, discrete=False)
    bins = 10
    scores, _ = score_predictions(pred, bins=bins)
    for _, row in scores.iterrows():
        g = pred[pred["model"] == row["model"]]
        p, y = g["p"].to_numpy(), g["y"].to_numpy()
        k = np.minimum((p * bins).astype(int), bins - 1)
        pbar = pd.Series(p).groupby(k).transform("mean").to_numpy()
        ybar = pd.Series(y).groupby(k).transform("mean").to_numpy()
        wbv = np.mean((p - pbar) ** 2)  # within-bin variance of the forecasts
        wbc = 2 * np.mean((p - pbar) * (y - ybar))  # within-bin covariance
        three = row["reliability"] - row["resolution"] + row["uncertainty"]
        assert abs(row["brier"] - (three + wbv - wbc)) <= TOL
        assert wbv > 1e-5  # the three-term sum alone is not the Brier score here


def test_auc_with_all_scores_tied_is_one_half():
    pred = pd.DataFrame({"model": "m", "p": [0.3, 0.3, 0.3, 0.3, 0.7], "y": [0, 1, 1, 0, 1]})
    scores, _ = score_predictions(pred, bins=10)
    assert abs(scores.loc[0, "auc"] - roc_auc_score(pred["y"], pred["p"])) <= TOL
    assert abs(scores.loc[0, "auc"] - (0.5 * 4 + 2) / 6) <= TOL  # hand: 2 ties of 2x2, 2 wins


def test_scorecard_auc_is_sklearn_on_the_raw_scores():
    from salesanalytics.scoring import Scorecard, evaluate_scorecard

    card = Scorecard.from_dict(
        {
            "name": "crosscheck",
            "dimensions": [
                {
                    "column": "employees",
                    "weight": 60,
                    "bands": [
                        {"below": 10, "points": 20},
                        {"below": 100, "points": 60},
                        {"points": 100},
                    ],
                },
                {"column": "source", "weight": 40, "map": {"referral": 100, "web": 30}},
            ],
            "tiers": [{"tier": "A", "min": 70}, {"tier": "B", "min": 40}, {"tier": "C", "min": 0}],
        }
    )
    rng = np.random.default_rng(31)
    emp = rng.integers(1, 400, 600)
    source = rng.choice(["referral", "web", "event"], 600)
    y = (rng.uniform(0, 1, 600) < 0.1 + 0.4 * (emp >= 100) + 0.2 * (source == "referral")).astype(
        int
    )
    hist = pd.DataFrame({"employees": emp, "source": source, "converted": y})
    ev = evaluate_scorecard(card, hist)
    scores = ev.scored["score"].to_numpy()
    assert len(np.unique(scores)) == 9  # 3 bands x 3 sources: heavily tied scores
    assert abs(ev.auc - roc_auc_score(y, scores)) <= TOL
    assert abs(ev.brier - brier_score_loss(y, ev.scored["probability"])) <= TOL
