"""Targets and performance: attainment against the generator's rule, pacing by hand."""

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa

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


@pytest.fixture(scope="module")
def tiny():
    return sa.read_dataset({"opportunities": OPPS, "stage_history": HISTORY, "targets": TARGETS})


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
