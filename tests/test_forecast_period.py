"""Period forecasts: windows and exact small cases by hand, the simulation, the backtest on the
synthetic process against its acceptance figures, the default stage model against the truth."""

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import HISTORY, OPPS

import salesanalytics as sa
from salesanalytics.forecast._window import window
from salesanalytics.forecast.period import simulate_wins
from salesanalytics.sample import Process, generate
from salesanalytics.sample.process import CHANNELS, REPS, STAGES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TYPED = {"prospect": 0.5, "proposal": 0.8}


@pytest.fixture(scope="module")
def tiny():
    return sa.read_dataset({"opportunities": OPPS, "stage_history": HISTORY})


def test_windows():
    w = window("2025-03-15", "M")
    assert (w.label, str(w.start.date()), str(w.stop.date()), w.days_left) == (
        "2025-03",
        "2025-03-01",
        "2025-03-31",
        pytest.approx(16.0),
    )
    assert window("2025-03-31", "M").label == "2025-04"  # the month is over: the next one
    q = window("2025-02-28", "Q")
    assert q.label == "2025Q1" and q.days_left == pytest.approx(31.0)
    d = window("2025-01-31", 10)
    assert d.start == d.as_of and d.days_left == pytest.approx(10.0)
    with pytest.raises(ValueError, match="horizon"):
        window("2025-01-31", "W")


def test_weighted_period_by_hand(tiny):
    # on Jan 31 the month is February: open D1 proposal 100, D2 and D4 prospect 200 + 400
    f = sa.forecast_period(tiny, "2024-01-31", "M", method="weighted", probabilities=TYPED)
    r = f.iloc[0]
    assert r["period"] == "2024-02" and r["already_won"] == 0.0 and r["from_new"] == 0.0
    assert r["expected"] == pytest.approx(100 * 0.8 + 200 * 0.5 + 400 * 0.5)
    # on Feb 20, D1 was booked on Feb 15 at its close amount 90; D2 and D4 remain open
    f = sa.forecast_period(
        tiny, "2024-02-20", "M", method="weighted", probabilities=TYPED, adjustment=-0.1
    )
    r = f.iloc[0]
    assert r["already_won"] == 90.0 and r["open_deals"] == 2
    assert r["expected"] == pytest.approx(90 + 0.9 * (200 * 0.5 + 400 * 0.5))
    assert r["p10"] >= 90.0 and r["p90"] <= 90 + 0.9 * 600
    by = sa.forecast_period(
        tiny, "2024-02-20", "M", by="owner", method="weighted", probabilities=TYPED
    ).set_index("owner")
    assert by.loc["a", "already_won"] == 90.0 and by.loc["a", "expected"] == 90 + 100.0
    assert by.loc["b", "expected"] == 200.0 and by.loc["(total)", "expected"] == 390.0
    with pytest.raises(ValueError, match="method"):
        sa.forecast_period(tiny, "2024-02-20", method="gut")
    with pytest.raises(TypeError):
        sa.forecast_period(tiny, "2024-02-20", methd="model")


def test_simulation_is_exact_seeded_and_sums_over_segments():
    amount, p = np.array([100.0, 200.0]), np.array([0.5, 0.25])
    rng = np.random.default_rng(0)
    t = simulate_wins(amount, p, np.array([0, 1]), 2, 200_000, rng)
    total = t.sum(axis=0)
    # totals 0 / 100 / 200 / 300 with probabilities .375 / .375 / .125 / .125
    freq = [np.mean(total == v) for v in (0, 100, 200, 300)]
    assert np.allclose(freq, [0.375, 0.375, 0.125, 0.125], atol=0.005)
    assert np.mean(t[0]) == pytest.approx(50, abs=0.5) and np.mean(t[1]) == pytest.approx(50, abs=1)
    again = simulate_wins(amount, p, np.array([0, 1]), 2, 200_000, np.random.default_rng(0))
    assert np.array_equal(t, again)
    # a stage factor of 2 doubles the probability (capped at 1) in every draw
    f = simulate_wins(
        amount,
        p,
        np.zeros(2, int),
        1,
        1000,
        rng,
        factor=(np.full((1000, 1), 2.0), np.zeros(2, int)),
    )
    assert np.all(f[0] >= 100.0)  # the first deal always wins


def _generated(n_leads: int) -> sa.Dataset:
    g = generate(1, with_activities=False, n_leads=n_leads, months=27)
    return sa.read_dataset(
        {"opportunities": g.tables["opportunities"], "stage_history": g.tables["stage_history"]}
    )


@pytest.fixture(scope="module")
def synthetic():
    """The generator at twice the sample's volume over 27 months (about 7,900 deals), as in
    benchmarks/forecast.py."""
    return _generated(24_750)


@pytest.fixture(scope="module")
def synthetic_4x():
    """The same process at 4x the volume (about 31,500 deals, 216 wins a month), where the
    oracle with the true parameters expects 6.4% monthly WAPE (benchmarks/forecast.py)."""
    return _generated(99_000)


def _monthly_line(ds: sa.Dataset, wape: float) -> pd.DataFrame:
    """Every method over 17 month forecasts (stage model by channel, to keep the tests short)
    and the issue's monthly line: coverage 65-95%, WAPE <= ``wape``, below weighted and
    funnel."""
    dates = pd.date_range("2024-12-31", "2026-04-30", freq="ME")  # 17 month forecasts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = sa.backtest_forecast(
            ds,
            dates,
            "M",
            {"model": sa.StageProbabilityModel(by="channel")},
            methods=["model", "weighted", "funnel"],
            n_sims=4000,
        )
    s = sa.backtest_summary(b)
    assert s.loc["model", "dates"] == 17
    assert 0.65 <= s.loc["model", "coverage"] <= 0.95
    assert s.loc["model", "wape"] <= wape
    assert s.loc["model", "wape"] < s.loc["weighted", "wape"]
    assert s.loc["model", "wape"] < s.loc["funnel", "wape"]
    return b


def test_monthly_backtest_on_the_synthetic_process(synthetic):
    # measured here: WAPE 15.0%, 13 of 17 covered (14.9% before deals moved at their rep's
    # pace), i.e. the 12% is NOT met in this configuration; the default model's
    # figures over 21 months are in benchmarks/RESULTS.md. A month holds about 53 lumpy wins:
    # an oracle with the true parameters expects 12.6% WAPE on these months
    # (benchmarks/forecast.py); the line as written is tested at 4x the volume below.
    b = _monthly_line(synthetic, wape=0.16)
    assert (b["accuracy"].between(0, 1)).all() and (b["actual"] > 0).all()


def test_quarterly_backtest_on_the_synthetic_process(synthetic):
    dates = pd.date_range("2024-12-31", "2026-06-30", freq="QE")  # 2025Q1 to 2026Q3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = sa.backtest_forecast(
            synthetic,
            dates,
            "Q",
            {"model": sa.StageProbabilityModel(by="channel")},
            methods=["model"],
            n_sims=4000,
        )
    s = sa.backtest_summary(b)
    assert s.loc["model", "dates"] == len(dates) == 7
    assert s.loc["model", "covered"] >= 4
    assert s.loc["model", "wape"] <= 0.12


def test_monthly_acceptance_line_holds_at_four_times_the_volume(synthetic_4x):
    """The issue's monthly line exactly as written, where the noise allows 12% (the quarterly
    line already holds at the benchmark's volume, above). Measured: WAPE 6.3%, 12 of 17
    covered; weighted 82.1%, funnel 11.3%."""
    _monthly_line(synthetic_4x, wape=0.12)


def test_forecast_uses_nothing_after_as_of(synthetic):
    as_of = "2025-05-31"
    h = synthetic.stage_history
    cut = sa.read_dataset(
        {
            "opportunities": synthetic.opportunities,
            "stage_history": h[h["entered_at"] < pd.Timestamp("2025-06-01")],
        }
    )
    for method in ("funnel", "model"):
        kw = {"method": method, "n_sims": 500}
        if method == "model":
            kw["model"] = sa.StageProbabilityModel(by="channel")
        a = sa.forecast_period(synthetic, as_of, "M", **kw)
        b = sa.forecast_period(cut, as_of, "M", **kw)
        pd.testing.assert_frame_equal(a, b)


def test_default_stage_model_is_close_to_the_truth(sample_ds):
    """Fit one year into the sample (2025-07-01; the issue's "2024-01-01" predates the
    sample, which starts 2024-07-01), scored on the deals open on the next 8 month starts
    whose fate is known, against the generator's exact probabilities."""
    fit_at = "2025-07-01"
    t = sa.stage_transitions(sample_ds)
    fate = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")["outcome"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = sa.StageProbabilityModel(by="auto").fit(sample_ds, as_of=fit_at)
        plain = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=fit_at)
    proc, rows = Process(), []
    for s in pd.date_range("2025-08-01", periods=8, freq="MS"):
        d = sa.pipeline_as_of(sample_ds, s - pd.Timedelta(days=1))
        keep = (
            d["opportunity_id"].map(fate).isin(["won", "lost"])
            & d["owner"].isin([r[0] for r in REPS])
            & d["channel"].isin([c[0] for c in CHANNELS])
        ).to_numpy()
        d = d[keep]
        truth = proc.win_probability_given_age(
            d["channel"].map({c[0]: i for i, c in enumerate(CHANNELS)}).to_numpy(),
            d["owner"].map({r[0]: i for i, r in enumerate(REPS)}).to_numpy(),
            d["stage"].map({x: i for i, x in enumerate(STAGES)}).to_numpy(),
            d["age_days"].to_numpy(),
        )
        y = (d["opportunity_id"].map(fate) == "won").to_numpy(float)
        rows.append(
            pd.DataFrame(
                {"auto": auto.predict_proba(d), "plain": plain.predict_proba(d), "t": truth, "y": y}
            )
        )
    r = pd.concat(rows)
    brier = {k: float(np.mean((r[k] - r["y"]) ** 2)) for k in ("auto", "plain", "t")}
    assert len(r) > 1000 and "channel" in auto.by_
    # measured: auto 0.00299 above the truth (0.0029903: within 0.003 by 1e-5, so a change
    # to the stage model can tip it), by=None (no segments) 0.01284
    assert brier["auto"] - brier["t"] <= 0.003
    assert brier["plain"] - brier["t"] > 0.008
    assert set(auto.by_selection_["by"]) >= {"(none)", "channel", "channel+owner"}


def test_sample_backtest_with_every_method(sample_ds):
    b = sa.backtest_forecast(sample_ds, ["2025-09-30", "2026-03-31"], "Q", n_sims=1000)
    assert b["method"].tolist() == ["model", "weighted", "funnel"] * 2
    assert b["period"].tolist()[::3] == ["2025Q4", "2026Q2"]
    t = sa.stage_transitions(sample_ds)
    won = t[t["outcome"] == "won"].drop_duplicates("opportunity_id", keep="last")
    close = sample_ds.opportunities.set_index("opportunity_id")["close_amount"]
    q4 = won[(won["exited_at"] >= "2025-10-01") & (won["exited_at"] < "2026-01-01")]
    booked = q4["opportunity_id"].map(close).fillna(q4["amount"]).sum()
    assert b.loc[0, "actual"] == pytest.approx(booked)  # everything won in Q4 2025
    assert np.isfinite(b[["expected", "p10", "p90", "accuracy"]].to_numpy(float)).all()
    s = sa.backtest_summary(b)
    assert set(s.index) == {"model", "weighted", "funnel"} and (s["dates"] == 2).all()


@pytest.mark.publicdata
def test_maven_backtest_with_every_method(public_data):
    m = sa.read_dataset(public_data / "maven_crm", stages="maven")
    b = sa.backtest_forecast(m, ["2017-06-30"], "M", n_sims=1000)
    assert b["method"].tolist() == ["model", "weighted", "funnel"]
    assert (b["actual"] > 0).all() and (b["expected"] > 0).all()
    assert (b["open_deals"] > 1000).all()  # open deals carry no amount: valued at the average


@pytest.mark.parametrize(("name", "horizon"), [("forecast-month", "M"), ("forecast-quarter", "Q")])
def test_month_and_quarter_params_plan_notebook_06(name, horizon):
    from salesanalytics import _paths
    from salesanalytics.runner import load_params, plan_run

    runs = {r.name: r for r in plan_run(load_params(_paths.PARAMS_DIR / f"{name}.yaml"))}
    assert list(runs) == ["06-forecast"] and runs["06-forecast"].parameters["horizon"] == horizon


def test_pace_by_hand():
    """Stage s1: owner A's forward exits take 2 days, B's 8; s2: 1 and 4. Less each stage's
    mean log dwell the residuals are -ln 2 (A) and +ln 2 (B), 16 visits each: residual
    variance 32 L / 31 (L = ln(2)^2), between-owner variance L - 2 L / 31 = 29 L / 31, so
    each mean is shrunk by 29/31: k_B = 2^(29/31), k_A = 2^(-29/31). A loss and a visit
    entered within 90 days of as_of do not count."""
    from salesanalytics.forecast.period import _pace

    rows = [
        (owner, stage, dwell, "advanced", "2024-03-01")
        for _ in range(8)
        for owner, stage, dwell in [
            ("A", "s1", 2.0),
            ("B", "s1", 8.0),
            ("A", "s2", 1.0),
            ("B", "s2", 4.0),
        ]
    ]
    rows += [("A", "s1", 300.0, "lost", "2024-03-01"), ("A", "s1", 50.0, "won", "2024-12-01")]
    t = pd.DataFrame(rows, columns=["owner", "stage", "dwell_days", "outcome", "entered_at"])
    t["entered_at"] = pd.to_datetime(t["entered_at"])
    k = _pace(t, pd.Timestamp("2024-12-31 23:59"), "owner")
    assert k["B"] == pytest.approx(2 ** (29 / 31)) and k["A"] == pytest.approx(2 ** (-29 / 31))
    assert _pace(t.head(20), pd.Timestamp("2024-12-31"), "owner").empty  # under 30 visits


def test_pace_finds_the_slow_rep_and_slows_his_deals(synthetic):
    """The generator's slow rep (Ethan Brooks) dwells 1.8x as long in every stage."""
    from salesanalytics.forecast.period import _pace

    as_of = pd.Timestamp("2025-12-31 23:59")
    k = _pace(sa.stage_transitions(synthetic, as_of=as_of), as_of, "owner")
    others = k.drop("Ethan Brooks")
    assert 1.6 <= k["Ethan Brooks"] / others.mean() <= 2.0
    assert others.between(0.85, 1.05).all()
    a = sa.forecast_deals(synthetic, "2025-12-31", "M", model=sa.StageProbabilityModel(by=None))
    b = sa.forecast_deals(
        synthetic, "2025-12-31", "M", model=sa.StageProbabilityModel(by=None), pace=None
    )
    slow = (a["owner"] == "Ethan Brooks").to_numpy()
    assert a.attrs["pace"] == "owner" and b.attrs["pace"] is None
    # the slow rep's deals: won within the month at his pace, a good third less than at
    # the average pace (measured: 0.6x); the others' a little more (measured: 1.05x)
    assert a.loc[slow, "expected"].sum() < 0.75 * b.loc[slow, "expected"].sum()
    assert 1.0 < a.loc[~slow, "expected"].sum() / b.loc[~slow, "expected"].sum() < 1.15
