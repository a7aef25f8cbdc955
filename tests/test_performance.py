"""Targets and performance: every number below was computed by hand (see the comments)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa

DATA = Path(__file__).parent / "data" / "performance"

HISTORY = pd.DataFrame(
    [
        ("D1", "prospect", "2024-01-05"),
        ("D1", "won", "2024-02-01"),
        ("D3", "prospect", "2024-01-07"),
        ("D3", "lost", "2024-01-20"),
        ("D4", "prospect", "2024-02-01"),
        ("D5", "prospect", "2024-01-02"),
        ("D5", "won", "2024-04-02"),
    ],
    columns=["opportunity_id", "stage", "entered_at"],
)
OPPS = pd.DataFrame(
    {
        "opportunity_id": ["D1", "D3", "D4", "D5"],
        "owner": ["a", "a", "b", "b"],
        "created_at": ["2024-01-05", "2024-01-07", "2024-02-01", "2024-01-02"],
        "stage": ["won", "lost", "prospect", "won"],
        "amount": [250.0, 100.0, 400.0, 50.0],
        "close_amount": [300.0, np.nan, np.nan, np.nan],
    }
)
TARGETS = pd.DataFrame(
    {
        "period": ["2024-01", "2024-02", "2024-03", "2024-01", "2024-02", "2024-03", "2024-04"],
        "owner": ["a", "a", "a", "b", "b", "b", "b"],
        "target_amount": [100.0, 50.0, 50.0, 100.0, 100.0, 100.0, 70.0],
    }
)


def won_deals(rows) -> pd.DataFrame:
    """Opportunities won on the given dates: (owner, won date, amount[, product, account])."""
    out = []
    for i, r in enumerate(rows):
        owner, day, amount = r[:3]
        out.append(
            {
                "opportunity_id": f"W{i:03d}",
                "owner": owner,
                "team": "T1" if owner in ("x", "y") else "T2",
                "created_at": str(pd.Timestamp(day) - pd.Timedelta(days=2)),
                "stage": "won",
                "amount": amount,
                "close_amount": amount,
                "closed_at": day,
                "product": r[3] if len(r) > 3 else "P1",
                "account_id": r[4] if len(r) > 4 else f"A{i:03d}",
            }
        )
    return pd.DataFrame(out)


# Q1 2024 pace example. 2023 Q1: x 100 on Jan 10, y 300 on Mar 10 (no targets then).
# 2024 Q1 by Feb 15: x 200 + 140 = 340, y 280, z 260; targets 200/200/250 a month = 650.
PACE_DEALS = won_deals(
    [
        ("x", "2023-01-10", 100.0),
        ("y", "2023-03-10", 300.0),
        ("x", "2024-01-20", 200.0),
        ("y", "2024-01-25", 280.0),
        ("z", "2024-02-05", 260.0),
        ("x", "2024-02-10", 140.0),
    ]
)
PACE_TARGETS = pd.DataFrame(
    {
        "period": [f"2024-0{m}" for m in (1, 2, 3) for _ in range(3)],
        "owner": ["x", "y", "z"] * 3,
        "team": ["T1", "T1", "T2"] * 3,
        "target_amount": [200.0] * 6 + [250.0] * 3,
    }
)


@pytest.fixture(scope="module")
def tiny():
    return sa.read_dataset({"opportunities": OPPS, "stage_history": HISTORY, "targets": TARGETS})


@pytest.fixture(scope="module")
def pace_ds():
    return sa.read_dataset({"opportunities": PACE_DEALS, "targets": PACE_TARGETS})


def test_bookings_and_attainment_by_hand(tiny):
    a = sa.attainment(tiny, period="Q", as_of="2024-04-30").set_index(["period", "owner"])
    # Q1: a won D1 (close amount 300) against 200; b nothing against 300
    assert a.loc[("2024Q1", "a"), "bookings"] == 300.0
    assert a.loc[("2024Q1", "a"), "attainment"] == pytest.approx(1.5)
    assert a.loc[("2024Q1", "b"), "bookings"] == 0.0 and a.loc[("2024Q1", "b"), "gap"] == 300.0
    # Q2 holds as_of: D5 won on Apr 2 at its pipeline amount 50, target 70, not complete
    assert a.loc[("2024Q2", "b"), "attainment"] == pytest.approx(50 / 70)
    assert not a.loc[("2024Q2", "b"), "complete"] and a.loc[("2024Q1", "a"), "complete"]
    m = sa.attainment(tiny, period="M", as_of="2024-02-29").set_index(["period", "owner"])
    assert m.loc[("2024-02", "a"), "attainment"] == pytest.approx(300 / 50)
    assert "2024-03" not in m.index.get_level_values("period")  # after as_of
    with pytest.raises(ValueError, match="period must be"):
        sa.attainment(tiny, period="W")
    with pytest.raises(TypeError):
        sa.attainment(tiny, period="Q", pace_mode="linear")  # a misspelled keyword


def test_linear_pace_mid_quarter_flags_only_the_rep_more_than_20pct_behind(pace_ds):
    a = sa.attainment(pace_ds, period="Q", as_of="2024-02-15").set_index(["period", "owner"])
    q = a.loc["2024Q1"]
    # working days Jan 1 - Feb 15 2024: 23 + 11 = 34 of 23 + 21 + 21 = 65 in Q1
    assert a.attrs["share_due"] == pytest.approx(34 / 65)
    assert q["expected_to_date"].tolist() == pytest.approx([340.0, 340.0, 340.0])
    # x 340/340 = 1.0; y 280/340 = 0.824 (17.6% behind); z 260/340 = 0.765 (23.5% behind)
    assert q["pace_ratio"].tolist() == pytest.approx([1.0, 280 / 340, 260 / 340])
    assert q["lagging"].tolist() == [False, False, True]
    # a stricter threshold (15%) flags y too
    s = sa.attainment(pace_ds, period="Q", as_of="2024-02-15", lag_threshold=0.15)
    assert s.loc[s["period"] == "2024Q1", "lagging"].tolist() == [False, True, True]
    # a holiday on Jan 1 leaves 33 of 64 working days
    h = sa.attainment(pace_ds, period="Q", as_of="2024-02-15", holidays=["2024-01-01"])
    assert h.attrs["share_due"] == pytest.approx(33 / 64)
    # monthly: Feb 1-15 holds 11 of February's 21 working days
    m = sa.attainment(pace_ds, period="M", as_of="2024-02-15")
    assert m.attrs["share_due"] == pytest.approx(11 / 21)
    feb = m[m["period"] == "2024-02"].set_index("owner")
    assert feb.loc["x", "expected_to_date"] == pytest.approx(200 * 11 / 21)
    # finished periods are due in full: 2023Q1 has no target, so no pace and no flag
    assert np.isnan(a.loc[("2023Q1", "x"), "pace_ratio"]) and not a.loc[("2023Q1", "x"), "lagging"]


def test_seasonal_pace_from_the_same_quarter_last_year(pace_ds):
    a = sa.attainment(pace_ds, period="Q", as_of="2024-02-15", pace="seasonal")
    # 2023Q1: 100 of 400 booked by Feb 15 -> a quarter of the target is due: 162.5
    assert a.attrs["share_due"] == pytest.approx(0.25)
    q = a[a["period"] == "2024Q1"]
    assert q["expected_to_date"].tolist() == pytest.approx([162.5] * 3)
    assert not q["lagging"].any()
    with pytest.raises(ValueError, match="pace must be"):
        sa.attainment(pace_ds, period="Q", pace="weekly")


def test_yoy_mom_and_a_missing_prior_period(pace_ds):
    m = sa.attainment(pace_ds, period="M", as_of="2024-03-31").set_index(["period", "owner"])
    # 2024-01 x: 200 vs 100 in 2023-01 -> +100%; y: 2023-01 exists but booked 0 -> NaN
    assert m.loc[("2024-01", "x"), "yoy"] == pytest.approx(1.0)
    assert m.loc[("2024-01", "y"), "bookings_prior_year"] == 0.0
    assert np.isnan(m.loc[("2024-01", "y"), "yoy"])
    # 2023-01: 2022-01 is before the data start (first deal created 2023-01-08): missing
    assert np.isnan(m.loc[("2023-01", "x"), "bookings_prior_year"])
    assert np.isnan(m.loc[("2023-01", "x"), "yoy"])
    # MoM: x Feb 140 vs Jan 200 -> -30%
    assert m.loc[("2024-02", "x"), "mom"] == pytest.approx(-0.3)
    # the open quarter compares like for like: 2023Q1 up to Feb 15 for x = 100 -> +240%
    q = sa.attainment(pace_ds, period="Q", as_of="2024-02-15").set_index(["period", "owner"])
    assert q.loc[("2024Q1", "x"), "bookings_prior_year"] == 100.0
    assert q.loc[("2024Q1", "x"), "yoy"] == pytest.approx(2.4)
    assert q.loc[("2024Q1", "y"), "bookings_prior_year"] == 0.0  # y's 300 came on Mar 10


def test_a_period_is_complete_on_its_last_day(pace_ds):
    q = sa.attainment(pace_ds, period="Q", as_of="2024-03-31").set_index(["period", "owner"])
    assert q.loc[("2024Q1", "x"), "complete"]
    assert q.loc[("2024Q1", "x"), "expected_to_date"] == 650.0  # due in full
    # whole quarters compared: x 340 vs 100, y 280 vs 300
    assert q.loc[("2024Q1", "x"), "yoy"] == pytest.approx(2.4)
    assert q.loc[("2024Q1", "y"), "yoy"] == pytest.approx(280 / 300 - 1)
    assert q.loc[("2024Q1", "z"), "lagging"]  # 260 / 650 = 40%


def test_rollups_sum_and_total_rows_are_checked(pace_ds):
    child = sa.attainment(pace_ds, period="Q", by=["team", "owner"], as_of="2024-03-31")
    parent = sa.attainment(pace_ds, period="Q", by="team", as_of="2024-03-31")
    r = sa.check_rollup(child, parent, on=["period", "team"])
    assert r["consistent"].all()
    t1 = r[(r["period"] == "2024Q1") & (r["team"] == "T1") & (r["column"] == "target")]
    assert t1["parent"].item() == 1300.0  # x + y, 650 each
    # a parent table that disagrees is reported, not hidden
    bad = parent.copy()
    bad.loc[(bad["period"] == "2024Q1") & (bad["team"] == "T2"), "target"] = 700.0
    r = sa.check_rollup(child, bad, on=["period", "team"])
    wrong = r[~r["consistent"]]
    assert len(wrong) == 1 and wrong["difference"].item() == 50.0
    # a 总计 row in the targets is not summed in; a wrong one is reported in attrs
    extra = pd.DataFrame(
        {"period": ["2024-01"], "owner": ["总计"], "team": [None], "target_amount": [999.0]}
    )
    ds = sa.read_dataset({"opportunities": PACE_DEALS, "targets": pd.concat([PACE_TARGETS, extra])})
    a = sa.attainment(ds, period="Q", as_of="2024-03-31")
    assert a.loc[a["period"] == "2024Q1", "target"].sum() == 1950.0
    assert a.attrs["total_rows_consistent"] is False
    assert a.attrs["total_rows"][0]["children_sum"] == 600.0


def test_guide_layout_targets_equal_iso_targets():
    # the same targets in the guide's layout (2024年1月, 目标值(万元), a 总计 row) and in ISO
    # periods and yuan give the same attainment (deals scaled x100 to yuan-sized amounts)
    deals = PACE_DEALS.assign(
        amount=PACE_DEALS["amount"] * 100, close_amount=PACE_DEALS["close_amount"] * 100
    )
    iso = sa.read_dataset({"opportunities": deals, "targets": DATA / "targets_iso.csv"})
    guide = sa.read_dataset({"opportunities": deals, "targets": DATA / "targets_guide.csv"})
    a = sa.attainment(iso, period="Q", as_of="2024-02-15")
    b = sa.attainment(guide, period="Q", as_of="2024-02-15")
    pd.testing.assert_frame_equal(a, b, check_like=True)
    assert a.loc[a["period"] == "2024Q1", "target"].sum() == 195000.0


def test_pacing_by_hand(tiny):
    p = sa.period_pacing(
        tiny, {"prospect": 0.5}, as_of="2024-02-15", period="Q", interval=0.8
    ).set_index("owner")
    # open on Feb 15: D4 (b, 400, p 0.5) and D5 (b, 50, p 0.5); a booked 300 of 200
    assert p.loc["a", "status"] == "on track" and p.loc["a", "projected"] == 300.0
    assert p.loc["b", "expected_from_pipeline"] == pytest.approx(225.0)
    assert (p.loc["b", "low"], p.loc["b", "high"]) == (0.0, 450.0)
    assert p.loc["b", "status"] == "at risk"  # 300 is inside [0, 450]
    assert p.loc["(total)", "target"] == 500.0 and p.loc["(total)", "projected"] == 525.0
    assert p.loc["a", "elapsed"] == pytest.approx(46 / 91, abs=1e-6)
    assert p.loc["a", "run_rate"] == pytest.approx(300 / (46 / 91), rel=1e-6)
    # a model without timing counts like its stage probabilities (prospect 0.10 by default)
    untimed = sa.period_pacing(tiny, sa.ConfiguredProbabilities(), as_of="2024-02-15")
    pd.testing.assert_frame_equal(untimed, sa.period_pacing(tiny, tiny.stages, as_of="2024-02-15"))
    assert untimed.set_index("owner").loc["b", "expected_from_pipeline"] == pytest.approx(45.0)


def test_sample_attainment_matches_the_generators_rule(sample_ds):
    # the generator sets each rep's monthly target to 110% of their average monthly bookings
    a = sa.attainment(sample_ds, period="M", as_of="2026-06-30")
    rep = a.groupby("owner")[["bookings", "target"]].sum()
    ratio = rep["bookings"] / rep["target"]
    assert len(rep) == 8 and ratio.between(0.89, 0.92).all()  # 1/1.1 = 0.909, targets rounded
    assert rep["bookings"].sum() / rep["target"].sum() == pytest.approx(1 / 1.1, abs=0.005)
    teams = sa.attainment(sample_ds, period="Y", by="team", as_of="2026-06-30")
    assert teams["target"].sum() == pytest.approx(rep["target"].sum())
    assert teams["complete"].tolist().count(False) == teams["team"].nunique()  # 2026 open
