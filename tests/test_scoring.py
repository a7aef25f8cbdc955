"""Scorecards: scoring by hand, evaluation, fitting (truth recovery, leakage), customers."""

import warnings

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.sample import LEAD_DRIVERS

pytestmark = pytest.mark.filterwarnings("ignore:dimension.*no positive effect:UserWarning")

CARD = {
    "name": "t",
    "dimensions": [
        {
            "name": "size",
            "column": "n",
            "weight": 60,
            "kind": "number",
            "bands": [{"below": 10, "points": 0}, {"below": 100, "points": 50}, {"points": 100}],
        },
        {
            "name": "src",
            "column": "src",
            "weight": 40,
            "kind": "category",
            "map": {"Referral": 100, "web": 40},
            "default": 10,
        },
    ],
    "tiers": [{"tier": "A", "min": 80}, {"tier": "B", "min": 50}, {"tier": "C", "min": 0}],
}


def test_scoring_by_hand():
    card = sa.Scorecard.from_dict(CARD)
    df = pd.DataFrame(
        {"n": ["5", "50", "1,000", None], "src": ["referral ", "WEB", "fax", "Referral"]}
    )
    s = card.score(df)
    assert s["points_size"].tolist() == [0, 50, 100, 0] and s["points_src"].tolist() == [
        100,
        40,
        10,
        100,
    ]
    assert s["score"].tolist() == [40.0, 46.0, 64.0, 40.0]
    assert s["tier"].tolist() == ["C", "C", "B", "C"]
    assert df["n"].tolist()[0] == "5"  # input untouched


def test_yaml_round_trip_and_validation(tmp_path):
    card = sa.Scorecard.from_dict(CARD)
    back = sa.Scorecard.from_yaml(card.to_yaml(tmp_path / "c.yaml"))
    assert back == card
    with pytest.raises(ValueError, match="sum to 90"):
        sa.Scorecard.from_dict(
            CARD | {"dimensions": [CARD["dimensions"][0] | {"weight": 50}, CARD["dimensions"][1]]}
        )
    with pytest.raises(FileNotFoundError, match="presets"):
        sa.Scorecard.from_yaml("nope")


def test_presets_score_the_sample(sample_ds):
    for name, tiers in (
        ("lead_sabc", ["S", "A", "B", "C"]),
        ("lead_value_potential", ["A", "B", "C"]),
    ):
        e = sa.evaluate_scorecard(name, sample_ds.leads)
        assert e.tiers["tier"].tolist() == tiers and e.monotone and e.auc > 0.7


def test_evaluation_monotonicity_and_gains_by_hand():
    df = pd.DataFrame(
        {
            "n": [1000] * 4 + [50] * 4 + [1] * 4,
            "src": ["web"] * 12,
            "converted": [1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0],
        }
    )
    e = sa.evaluate_scorecard(CARD, df)
    rates = e.tiers.set_index("tier")["rate"]
    assert rates["B"] == 0.25 and rates["C"] == pytest.approx(3 / 8) and np.isnan(rates["A"])
    assert not e.monotone and e.violations[0].startswith("B converts below C")
    assert (
        e.gains["converted"].sum() == 4
        and e.gains["cumulative_share_of_conversions"].iloc[-1] == 1.0
    )


def test_capacity_cutoff():
    scores = pd.Series(np.arange(100, dtype=float))
    assert sa.capacity_cutoff(scores, leads_per_week=100, reps=2, capacity_per_rep=10) == 80.0
    assert sa.capacity_cutoff(scores, leads_per_week=10, reps=2, capacity_per_rep=10) == 0.0


def test_fitted_weights_rank_the_true_drivers(sample_ds):
    card = {
        "name": "drivers",
        "tiers": [{"tier": "A", "min": 60}, {"tier": "B", "min": 0}],
        "dimensions": [
            {
                "name": n,
                "column": n,
                "weight": 20,
                "kind": "number",
                "bands": [{"below": b, "points": p} for b, p in bands] + [{"points": 100}],
            }
            for n, bands in (
                ("budget_fit", [(2, 0), (3, 25), (4, 50), (5, 75)]),
                ("urgency", [(2, 0), (3, 25), (4, 50), (5, 75)]),
                ("company_size", [(30, 0), (70, 20), (150, 40), (400, 60), (1000, 80)]),
                ("website_visits", [(2, 0), (4, 33), (6, 66)]),
            )
        ]
        + [
            {
                "name": "decision_maker_engaged",
                "column": "decision_maker_engaged",
                "weight": 20,
                "kind": "bool",
                "map": {"true": 100, "false": 0},
            }
        ],
    }
    fit = sa.fit_scorecard(sample_ds.leads, card)
    truth_order = sorted(LEAD_DRIVERS, key=lambda k: -LEAD_DRIVERS[k])
    assert list(fit.importance.sort_values(ascending=False).index) == truth_order
    w = fit.comparison.set_index("dimension")["fitted_weight"]
    assert w["website_visits"] <= 2 and w["budget_fit"] == w.max() and w.sum() == 100
    assert len(fit.cv_auc) == 5 and min(fit.cv_auc) > 0.7  # time-ordered folds


def test_leakage_guard():
    df = pd.DataFrame({"lead_quality": ["High", "Low"] * 10, "converted": [1, 0] * 10})
    card = {
        "name": "leaky",
        "dimensions": [
            {
                "name": "q",
                "column": "lead_quality",
                "weight": 100,
                "kind": "category",
                "map": {"High": 100},
            }
        ],
        "tiers": [{"tier": "A", "min": 0}],
    }
    with pytest.raises(sa.LeakageError, match="lead_quality"):
        sa.fit_scorecard(df, card, time_column=None)
    assert (
        sa.fit_scorecard(df, card, time_column=None, allow_leaky=True)
        .scorecard.dimensions[0]
        .weight
        == 100
    )


def test_fitted_at_least_as_good_out_of_time(sample_ds):
    leads = sample_ds.leads
    train, test = (
        leads[leads["created_at"] < "2025-12-01"],
        leads[leads["created_at"] >= "2025-12-01"],
    )
    fit = sa.fit_scorecard(train, "lead_sabc")
    hand, fitted = (
        sa.evaluate_scorecard("lead_sabc", test),
        sa.evaluate_scorecard(fit.scorecard, test),
    )
    assert fitted.auc >= hand.auc and fitted.brier <= hand.brier and fitted.monotone


def test_customer_tiers_and_followup_plan(sample_ds):
    f = sa.customer_features(sample_ds, "2026-06-30")
    assert len(f) == len(sample_ds.accounts) and (f["purchases_6m"] >= 0).all()
    since = pd.Timestamp("2026-06-30 23:59") - pd.DateOffset(months=6)
    recent = sample_ds.orders[sample_ds.orders["ordered_at"] > since]
    assert f["purchases_6m"].sum() == pytest.approx(recent["amount"].sum())
    tiers = sa.Scorecard.from_yaml("customer_tiers").score(f)
    assert set(tiers["tier"]) == {"VIP", "core", "normal", "potential"}
    cadence = {"VIP": 7.0, "core": 14.0, "normal": 30.0, "potential": 60.0}
    acc = f["account_id"].iloc[0]
    plan = sa.followup_plan(
        f.assign(tier=tiers["tier"]).head(3),
        as_of="2026-06-30",
        cadence_days=cadence,
        last_contact=pd.Series({acc: pd.Timestamp("2026-06-01")}),
    )
    first = plan.set_index("account_id").loc[acc]
    assert first["next_due"] == pd.Timestamp("2026-06-01") + pd.Timedelta(
        days=float(first["cadence_days"])
    )
    others = plan[plan["account_id"] != acc]
    assert not others["overdue"].any()  # never contacted: due one cadence after as_of
    # a tier without a cadence gets no due date rather than a wrong one
    assert (
        sa.followup_plan(f.assign(tier="VIP").head(1), as_of="2026-06-30")["next_due"].isna().all()
    )


@pytest.mark.publicdata
def test_xeducation_hand_set_vs_fitted(public_data):
    d = sa.clean(
        sa.read_table(public_data / "xeducation_leads" / "Leads.csv"), "leads", relax=["created_at"]
    ).data
    idx = np.random.default_rng(0).permutation(len(d))
    cut = int(0.7 * len(d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sa.fit_scorecard(d.iloc[idx[:cut]], "xeducation_precontact", time_column=None)
    hand = sa.evaluate_scorecard("xeducation_precontact", d.iloc[idx[cut:]])
    fitted = sa.evaluate_scorecard(fit.scorecard, d.iloc[idx[cut:]])
    assert fitted.auc >= hand.auc and fitted.brier <= hand.brier
    assert hand.monotone and fitted.monotone and not fitted.violations  # measured: both monotone
    leaky = {
        "name": "x",
        "tiers": [{"tier": "A", "min": 0}],
        "dimensions": [
            {
                "name": "tags",
                "column": "Tags",
                "weight": 100,
                "kind": "category",
                "map": {"Will revert after reading the email": 100},
            }
        ],
    }
    with pytest.raises(sa.LeakageError):
        sa.fit_scorecard(d, leaky, time_column=None)


def test_cli_calibrate_scorecard(tmp_path, capsys):
    from salesanalytics.cli import main

    out = tmp_path / "scorecard.yaml"
    assert main(["calibrate", "scorecard", "--scorecard", "lead_sabc", "--out", str(out)]) == 0
    assert "fitted: AUC" in capsys.readouterr().out
    card = sa.Scorecard.from_yaml(out)
    assert sum(d.weight for d in card.dimensions) == 100 and card.provenance["base"] == "lead_sabc"
