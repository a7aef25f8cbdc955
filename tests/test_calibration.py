"""Stage-probability calibration: estimators by hand, truth recovery, censoring, leakage."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics import _paths
from salesanalytics.calibration import aalen_johansen, shrink
from salesanalytics.calibration.report import score_predictions, snapshot_predictions
from salesanalytics.sample import Process
from salesanalytics.sample.process import CHANNELS, REPS, STAGES

SPLIT = "2025-12-31"
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*below min_count:UserWarning"),
    pytest.mark.filterwarnings("ignore:closes recorded over only:UserWarning"),
]


@pytest.fixture(scope="module")
def truth():
    return json.loads((_paths.SAMPLE_DIR / "ground_truth.json").read_text())


def test_aalen_johansen_by_hand():
    cr = aalen_johansen([1, 2, 3, 4], ["won", None, "lost", "won"], ("won", "lost"))
    # t=1: 1/4 won; t=3: S=3/4, half of the 2 at risk lost; t=4: S=3/8, the last one won
    assert cr.final("won") == pytest.approx(0.625) and cr.final("lost") == pytest.approx(0.375)
    assert cr.survival_at(3.5) == pytest.approx(0.375) and cr.cif_at("won", 0.5) == 0.0
    weighted = aalen_johansen([1, 2], ["won", "lost"], ("won", "lost"), weights=[3, 1])
    assert weighted.final("won") == pytest.approx(0.75)


def test_shrinkage_pulls_small_segments_hardest():
    mean, lo, hi, kappa = shrink(np.array([9, 45]), np.array([10, 100]), prior=0.4, kappa=20)
    assert mean[0] == pytest.approx((20 * 0.4 + 9) / 30)  # 0.567: far from the raw 0.9
    assert mean[1] == pytest.approx((20 * 0.4 + 45) / 120)  # 0.442: near the raw 0.45
    assert lo[0] < mean[0] < hi[0] and kappa == 20
    assert shrink(np.array([4, 40]), np.array([10, 100]), 0.4)[3] == 1e4  # no spread: pooled


def test_estimates_cover_the_truth(sample_ds, truth):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sa.StageProbabilityModel(by="channel").fit(sample_ds, as_of="2026-06-30")
    t = m.table_[m.table_["channel"] != "(all)"]
    true = np.array(
        [
            truth["win_probability"]["by_stage_channel"][s][c]
            for s, c in zip(t["stage"], t["channel"])
        ]
    )
    covered = (t["low"].to_numpy() <= true) & (true <= t["high"].to_numpy())
    assert len(t) == 36 and covered.mean() >= 0.9
    stage = m.table_[m.table_["channel"] == "(all)"].set_index("stage")
    for s in STAGES:
        assert abs(stage.loc[s, "estimate"] - truth["win_probability"]["by_stage"][s]) < 0.03, s


def _true_probability(ds, pred):
    rows = []
    proc = Process()
    for snap, g in pred.groupby("snapshot"):
        deals = sa.pipeline_as_of(ds, snap).set_index("opportunity_id").loc[g["opportunity_id"]]
        known = deals["owner"].isin([r[0] for r in REPS]).to_numpy()  # not the misspelt rep
        ch = deals["channel"].map({c[0]: i for i, c in enumerate(CHANNELS)}).to_numpy()
        rep = (
            deals["owner"]
            .map({r[0]: i for i, r in enumerate(REPS)})
            .fillna(0)
            .astype(int)
            .to_numpy()
        )
        st = deals["stage"].map({s: i for i, s in enumerate(STAGES)}).to_numpy()
        rows.append(
            g.assign(
                p_true=proc.win_probability_given_age(ch, rep, st, deals["age_days"]), known=known
            )
        )
    return pd.concat(rows)


def test_brier_excess_over_true_probabilities_is_small(sample_ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = snapshot_predictions(
            {"ours": sa.StageProbabilityModel(by="channel")}, sample_ds, SPLIT
        )
    d = _true_probability(sample_ds, pred)
    d = d[d["known"]]
    excess = np.mean((d["p"] - d["y"]) ** 2) - np.mean((d["p_true"] - d["y"]) ** 2)
    assert len(d) > 1000 and excess <= 0.005


def test_ignoring_censoring_is_biased_where_many_deals_are_open(sample_ds, truth):
    as_of = "2024-09-30"  # three months in: about half the deals still open
    ours = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=as_of)
    naive = sa.EmpiricalStageRate().fit(sample_ds, as_of=as_of)
    assert ours.table_.set_index("stage").loc["prospect", "open"] > 150
    for s in ("prospect", "contacted"):
        true = truth["win_probability"]["by_stage"][s]
        assert true - naive.rates_[s] > 0.08  # quick losses close first: far too low
        assert abs(ours.stage_estimate_[s] - true) < 0.03


def test_appending_later_data_leaves_the_fit_unchanged(sample_ds):
    as_of = "2025-06-30"
    before = sa.StageProbabilityModel(by="channel").fit(sample_ds, as_of=as_of)
    opps, hist = sample_ds.opportunities.copy(), sample_ds.stage_history.copy()
    open_then = sa.pipeline_as_of(sample_ds, as_of)["opportunity_id"].head(50)
    later = pd.DataFrame(
        {
            "opportunity_id": open_then,
            "stage": "won",
            "entered_at": pd.Timestamp("2025-07-15"),
            "owner": pd.NA,
            "amount": np.nan,
        }
    )
    new = opps.head(20).assign(
        opportunity_id=[f"NEW-{i}" for i in range(20)], created_at=pd.Timestamp("2025-08-01")
    )
    new_hist = pd.DataFrame(
        {
            "opportunity_id": new["opportunity_id"],
            "stage": "prospect",
            "entered_at": pd.Timestamp("2025-08-01"),
            "owner": pd.NA,
            "amount": np.nan,
        }
    )
    ds2 = sa.read_dataset(
        {
            "opportunities": pd.concat([opps, new]),
            "stage_history": pd.concat([hist, later, new_hist]),
        }
    )
    after = sa.StageProbabilityModel(by="channel").fit(ds2, as_of=as_of)
    pd.testing.assert_frame_equal(before.table_, after.table_)
    assert before.data_sha256_ == after.data_sha256_


def test_age_in_stage_lowers_the_probability(sample_ds):
    m = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=SPLIT)
    f = m.age_factor("proposal", [0, 15, 60, 120])
    assert f[0] == pytest.approx(1.0) and f[1] > f[2] > f[3] and f[3] < 0.6
    deals = pd.DataFrame({"stage": ["proposal", "proposal"], "age_days": [0.0, 90.0]})
    p = m.predict_proba(deals, horizon_days=30)
    assert p["p_win"].iloc[0] > p["p_win"].iloc[1]
    assert (p["p_win_within"] <= p["p_win"]).all() and p["p_win_within"].iloc[0] > 0


def test_recency_weighting_and_min_count_fallback(sample_ds):
    with pytest.warns(UserWarning, match="below min_count"):
        m = sa.StageProbabilityModel(by="owner", min_count=200, half_life_days=180).fit(
            sample_ds, as_of=SPLIT
        )
    t = m.table_
    small = t[(t["owner"] == "Ben Okafr")]
    assert small["fallback"].all() and (small["estimate"] == small["stage_estimate"]).all()


def test_report_scores_and_ours_beats_the_baselines(sample_ds):
    models = {
        "ours": sa.StageProbabilityModel(by="channel"),
        "configured": sa.ConfiguredProbabilities(),
        "global": sa.GlobalWinRate(),
        "empirical": sa.EmpiricalStageRate(),
        "naive_bayes": sa.NaiveBayesOdoo(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sa.calibration_report(models, sample_ds, SPLIT)
    s = r.scores.set_index("model")
    assert (
        s.loc["ours", "brier"] == s["brier"].min()
        and s.loc["ours", "log_loss"] == s["log_loss"].min()
    )
    # Murphy: Brier = reliability - resolution + uncertainty, up to the within-bin spread
    assert (s["reliability"] - s["resolution"] + s["uncertainty"] - s["brier"]).abs().max() < 0.01
    assert set(r.reliability["model"]) == set(models) and (r.reliability["n"] > 0).all()
    assert r.scores.attrs["split"] == SPLIT


def test_score_predictions_by_hand():
    pred = pd.DataFrame({"model": "m", "p": [0.1, 0.1, 0.9, 0.9], "y": [0, 0, 1, 0]})
    s, rel = score_predictions(pred)
    assert s.loc[0, "brier"] == pytest.approx((0.01 + 0.01 + 0.01 + 0.81) / 4)
    assert s.loc[0, "ece"] == pytest.approx(0.5 * 0.1 + 0.5 * 0.4)
    assert s.loc[0, "auc"] == pytest.approx(5 / 6)
    assert rel["n"].tolist() == [2, 2]


def test_to_yaml_exports_a_usable_stage_config(sample_ds, tmp_path):
    m = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=SPLIT)
    cfg = sa.load_stages(m.to_yaml(tmp_path / "calibrated.yaml"))
    assert cfg.probabilities["proposal"] == pytest.approx(round(m.stage_estimate_["proposal"], 4))
    assert cfg.provenance["as_of"] == SPLIT and len(cfg.provenance["data_sha256"]) == 64
    assert cfg.provenance["deals_entered"]["prospect"] > 1000
    assert cfg.resolve("方案展示") == "proposal"  # labels and aliases carried over


def test_left_truncation_by_hand():
    # subject 2 enters observation at t=2.5: not at risk for the event at t=1
    cr = aalen_johansen([1, 3, 4], ["won", "lost", "won"], ("won", "lost"), entry=[0, 2.5, 0])
    assert cr.final("won") == pytest.approx(0.5 + 0.25) and cr.final("lost") == pytest.approx(0.25)
    plain = aalen_johansen([1, 3, 4], ["won", "lost", "won"], ("won", "lost"))
    assert plain.final("won") == pytest.approx(1 / 3 + 1 / 3)


def test_close_date_filtered_export_is_corrected_by_delayed_entry(sample_ds, truth):
    # an export of "deals closed since March, plus open deals": the quick losses of the
    # earlier cohorts are gone, so counting those cohorts from their entry overstates wins
    t = sa.stage_transitions(sample_ds)
    last = t.drop_duplicates("opportunity_id", keep="last")
    gone = last.loc[
        last["outcome"].isin(["won", "lost"]) & (last["exited_at"] < "2025-03-01"),
        "opportunity_id",
    ]
    assert len(gone) > 1000
    filtered = sa.read_dataset(
        {
            name: getattr(sample_ds, name).pipe(lambda f: f[~f["opportunity_id"].isin(gone)])
            for name in ("opportunities", "stage_history")
        }
    )
    ours = sa.StageProbabilityModel(by=None).fit(filtered, as_of="2025-06-30")
    naive = sa.StageProbabilityModel(by=None, history_start=None).fit(filtered, as_of="2025-06-30")
    assert ours.history_start_ >= pd.Timestamp("2025-03-01")
    true = truth["win_probability"]["by_stage"]["prospect"]  # 0.187
    row = ours.table_.set_index("stage").loc["prospect"]
    assert abs(row["estimate"] - true) < 0.01 and row["low"] <= true <= row["high"]
    assert naive.stage_estimate_["prospect"] - true > 0.03  # 0.228: outside ours' interval
    assert naive.stage_estimate_["prospect"] > row["high"]


def test_short_history_warns(sample_ds):
    with pytest.warns(UserWarning, match="closes recorded over only"):
        m = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of="2024-08-31")
    assert m.history_days_ < 90
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=SPLIT).history_days_ > 500


def test_window_and_auto_use_only_history_known_at_as_of(sample_ds):
    as_of = "2025-06-30"
    m = sa.StageProbabilityModel(by=None, window_days="auto", age_effect="auto").fit(
        sample_ds, as_of=as_of
    )
    sel = m.selection_
    assert list(sel["window_days"].fillna(-1)) == [-1, 180.0, 90.0, 60.0] * 2
    assert list(sel["age_effect"]) == [True] * 4 + [False] * 4
    assert m.window_ in (None, 180.0, 90.0, 60.0)
    # the sample's deals do lose chances with age: the check keeps the age effect
    assert m.age_effect_ is True
    assert (
        sel.loc[sel["age_effect"], "log_loss"].min() < sel.loc[~sel["age_effect"], "log_loss"].min()
    )
    w = sa.StageProbabilityModel(by=None, window_days=90).fit(sample_ds, as_of=as_of)
    full = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=as_of)
    # a stationary process: the 90-day period estimate agrees with all history within noise
    assert (w.stage_estimate_ - full.stage_estimate_).abs().max() < 0.06
    cut = sa.read_dataset(
        {
            "opportunities": sample_ds.opportunities,
            "stage_history": sample_ds.stage_history[
                sample_ds.stage_history["entered_at"] < "2025-07-01"
            ],
        }
    )
    again = sa.StageProbabilityModel(by=None, window_days="auto", age_effect="auto").fit(
        cut, as_of=as_of
    )
    pd.testing.assert_frame_equal(m.selection_, again.selection_)


def test_rolling_report_refits_at_each_split(sample_ds):
    models = {"ours": sa.StageProbabilityModel(by=None), "global": sa.GlobalWinRate()}
    report = sa.calibration_report(models, sample_ds, ["2026-02-28", "2025-12-31"])
    pred = report.predictions
    per = report.by_split.set_index(["model", "split"])["brier"]
    later = pred[(pred["model"] == "ours") & (pred["split"] == "2026-02-28")]
    assert len(per) == 4
    assert per[("ours", "2026-02-28")] == pytest.approx(((later["p"] - later["y"]) ** 2).mean())
    got = pred.drop_duplicates("snapshot").set_index("snapshot")["split"].to_dict()
    assert got == {
        "2025-12-31": "2025-12-31",
        "2026-01-01": "2025-12-31",
        "2026-02-01": "2025-12-31",
        "2026-02-28": "2026-02-28",
        "2026-03-01": "2026-02-28",
        "2026-04-01": "2026-02-28",
        "2026-05-01": "2026-02-28",
    }
    later = pred[(pred["split"] == "2026-02-28") & (pred["model"] == "global")]
    rate = sa.GlobalWinRate().fit(sample_ds, as_of="2026-02-28").rate_
    assert np.allclose(later["p"], rate)
    with pytest.raises(ValueError, match="nothing to score"):
        snapshot_predictions(models, sample_ds, "2026-02-28", snapshots=["2026-01-01"])


def test_cli_calibrate_stages(tmp_path, capsys):
    from salesanalytics.cli import main

    out = tmp_path / "stage_probabilities.yaml"
    assert main(["calibrate", "stages", "--as-of", SPLIT, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "proposal" in printed and "configured 0.50" in printed
    cfg = sa.load_stages(out)
    assert cfg.provenance["as_of"] == SPLIT and 0.3 < cfg.probabilities["proposal"] < 0.55
    assert cfg.provenance["history_start"] == "2024-07-14" and cfg.provenance["age_effect"]
    args = ["calibrate", "stages", "--as-of", SPLIT, "--out", str(out), "--window", "180"]
    assert main([*args, "--age-effect", "off"]) == 0
    cfg = sa.load_stages(out)
    assert cfg.provenance["window_days"] == 180.0 and cfg.provenance["age_effect"] is False
    with pytest.raises(SystemExit):
        main([*args[:-1], "half a year"])
    assert (
        main(
            [
                "calibrate",
                "stages",
                "--data",
                str(tmp_path / "none"),
                "--as-of",
                SPLIT,
                "--out",
                str(out),
            ]
        )
        == 2
    )


@pytest.mark.publicdata
def test_maven_out_of_time_report(public_data):
    ds = sa.read_dataset(public_data / "maven_crm", stages="maven")
    t = sa.stage_transitions(ds)
    split = (
        t["entered_at"].min() + (pd.Timestamp(t.attrs["as_of"]) - t["entered_at"].min()) / 2
    ).normalize()
    models = {
        "ours": sa.StageProbabilityModel(by=None),
        "configured": sa.ConfiguredProbabilities(),
        "global": sa.GlobalWinRate(),
        "empirical": sa.EmpiricalStageRate(),
        "naive_bayes": sa.NaiveBayesOdoo(fields=("product", "owner")),
    }
    s = sa.calibration_report(models, ds, split).scores.set_index("model")
    assert np.isfinite(s[["brier", "log_loss"]].to_numpy()).all() and (s["n"] > 5000).all()
    # at the declared split (the data's midpoint, 2017-05-26): 0.2191 vs 0.2222 (global)
    base = s.drop(index="ours")
    assert s.loc["ours", "brier"] <= base["brier"].min() - 0.002
    assert s.loc["ours", "log_loss"] <= base["log_loss"].min()
    # rolling: refitted at every month end with 90+ days of recorded closes (2017-05-31 ..
    # 2017-11-30), each scoring the next month start; pooled 12,982 deal-snapshots
    rolling = sa.calibration_report(
        models, ds, pd.date_range("2017-05-31", "2017-11-30", freq="ME")
    ).scores.set_index("model")
    assert rolling["n"].min() > 12000
    base = rolling.drop(index="ours")  # 0.2233 vs 0.2242 (global); log-loss 0.6395 vs 0.6408
    assert rolling.loc["ours", "brier"] <= base["brier"].min()
    assert rolling.loc["ours", "log_loss"] <= base["log_loss"].min()
