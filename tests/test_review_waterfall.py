"""Monthly review and pipeline waterfall on hand-made deals: every number computed by hand."""

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _ds(history, amounts, close_amounts=None):
    h = pd.DataFrame(history, columns=["opportunity_id", "stage", "entered_at"])
    h["entered_at"] = pd.to_datetime(h["entered_at"])
    ids = list(dict.fromkeys(h["opportunity_id"]))
    last = h.groupby("opportunity_id")["stage"].last()
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "owner": [amounts[i][1] for i in ids],
            "created_at": [h.loc[h["opportunity_id"] == i, "entered_at"].min() for i in ids],
            "stage": [last[i] for i in ids],
            "amount": [amounts[i][0] for i in ids],
            "close_amount": [(close_amounts or {}).get(i, np.nan) for i in ids],
        }
    )
    return sa.read_dataset({"opportunities": opps, "stage_history": h})


WATERFALL = [
    ("A", "prospect", "2024-01-01"),
    ("A", "proposal", "2024-01-20"),  # open at both ends, advanced
    ("B", "prospect", "2024-01-02"),
    ("B", "won", "2024-01-25"),  # open at start, won
    ("C", "prospect", "2024-01-03"),
    ("C", "lost", "2024-01-20"),  # open at start, lost
    ("D", "prospect", "2024-01-15"),  # new, open at end
    ("E", "prospect", "2024-01-12"),
    ("E", "won", "2024-01-28"),  # new and won inside the window
    ("F", "prospect", "2024-01-01"),
    ("F", "proposal", "2024-01-05"),
    ("F", "prospect", "2024-01-18"),  # open at both ends, regressed
    ("G", "prospect", "2024-01-01"),
    ("G", "lost", "2024-01-05"),  # closed before the start: not in the waterfall
]
W_AMOUNTS = {k: (100.0 * (i + 1), "x") for i, k in enumerate("ABCDEFG")}


def test_waterfall_by_hand():
    ds = _ds(WATERFALL, W_AMOUNTS)
    w = sa.pipeline_waterfall(ds, "2024-01-10", "2024-01-31").set_index("step")
    # open on Jan 10: A 100, B 200, C 300, F 600 -> 1,200; on Jan 31: A, D 400, F -> 1,100
    assert w.loc["open at start", ["deals", "amount"]].tolist() == [4, 1200.0]
    assert w.loc["new", ["deals", "amount"]].tolist() == [2, 900.0]  # D 400 + E 500
    assert w.loc["advanced", ["deals", "amount"]].tolist() == [1, 100.0]  # A
    assert w.loc["regressed", ["deals", "amount"]].tolist() == [1, 600.0]  # F
    assert w.loc["won", ["deals", "amount"]].tolist() == [2, -700.0]  # B 200 + E 500
    assert w.loc["lost", ["deals", "amount"]].tolist() == [1, -300.0]  # C
    assert w.loc["amount up", "amount"] == 0.0 and w.loc["amount down", "amount"] == 0.0
    assert w.loc["open at end", ["deals", "amount"]].tolist() == [3, 1100.0]
    # both ends are pipeline_as_of, and the flows add up exactly
    assert w.loc["open at start", "amount"] == sa.pipeline_as_of(ds, "2024-01-10")["amount"].sum()
    assert w.loc["open at end", "amount"] == sa.pipeline_as_of(ds, "2024-01-31")["amount"].sum()
    assert w.loc["lost", "running"] == 1100.0
    with pytest.raises(ValueError, match="must be after"):
        sa.pipeline_waterfall(ds, "2024-01-31", "2024-01-10")


def test_waterfall_reconciles_on_the_sample(sample_ds):
    w = sa.pipeline_waterfall(sample_ds, "2025-12-31", "2026-03-31").set_index("step")
    flows = w.loc[w["kind"] == "flow", "amount"].sum()
    start = sa.pipeline_as_of(sample_ds, "2025-12-31")["amount"].sum()
    end = sa.pipeline_as_of(sample_ds, "2026-03-31")["amount"].sum()
    assert w.loc["open at start", "amount"] == pytest.approx(start)
    assert start + flows == pytest.approx(end) and w.loc["open at end", "amount"] == end
    assert w.loc["won", "deals"] > 0 and w.loc["new", "deals"] > 0


REVIEW = [
    ("D1", "prospect", "2024-01-01"),
    ("D1", "won", "2024-02-15"),
    ("D2", "prospect", "2024-01-02"),
    ("D2", "won", "2024-05-01"),
    ("D4", "prospect", "2024-01-04"),
    ("D4", "lost", "2024-02-20"),
    ("D5", "prospect", "2024-02-03"),
    ("D5", "won", "2024-02-25"),
    ("D6", "prospect", "2024-01-05"),
    ("D6", "won", "2024-02-10"),
    ("D7", "prospect", "2024-01-06"),
    ("D7", "won", "2024-02-12"),
    ("D8", "prospect", "2024-01-07"),
    ("D8", "won", "2024-02-05"),
]
R_AMOUNTS = {
    "D1": (100.0, "a"),
    "D2": (200.0, "a"),
    "D4": (400.0, "b"),
    "D5": (50.0, "b"),
    "D6": (100.0, "a"),
    "D7": (100.0, "b"),
    "D8": (100.0, "b"),
}
R_CLOSE = {"D1": 90.0, "D2": 200.0, "D5": 50.0, "D6": 150.0, "D7": 100.0, "D8": 100.0}
FORECAST = pd.DataFrame(
    {
        "opportunity_id": ["D1", "D2", "D4", "D6", "D7", "D8"],
        "owner": ["a", "a", "b", "a", "b", "b"],
        "forecast_amount": [100.0, 200.0, 400.0, 100.0, 100.0, 100.0],
        "expected": [80.0, 100.0, 200.0, 60.0, 30.0, 50.0],
        "expected_close_date": pd.to_datetime(
            ["2024-02-20", "2024-02-25", "2024-02-28", "2024-02-10", "2024-03-15", None]
        ),
    }
)


def test_review_by_hand():
    ds = _ds(REVIEW, R_AMOUNTS, R_CLOSE)
    deals, reps = sa.forecast_review(ds, "2024-02", FORECAST)
    d = deals.set_index("opportunity_id")
    assert d["actual"].to_dict() == {
        "D1": 90.0,
        "D2": 0.0,
        "D4": 0.0,
        "D5": 50.0,
        "D6": 150.0,
        "D7": 100.0,
        "D8": 100.0,
    }
    assert d.loc["D1", "deviation"] == pytest.approx(0.125)  # (90 - 80) / 80: within 20%
    assert d["reason"].to_dict() == {
        "D1": "on forecast",
        "D2": "slipped",  # won in May
        "D4": "lost",
        "D5": "not in the forecast",  # created after the forecast
        "D6": "amount changed",  # 150 booked on a 100 forecast amount
        "D7": "pulled in",  # expected in March, won in February
        "D8": "won, forecast low",
    }
    assert d["flagged"].sum() == 6 and d.loc["D6", "deviation"] == pytest.approx(1.5)
    r = reps.set_index("owner")
    # a: 80 + 100 + 60 = 240 forecast, 90 + 0 + 150 = 240 booked
    assert r.loc["a", ["forecast", "actual", "deviation"]].tolist() == [240.0, 240.0, 0.0]
    # b: 200 + 30 + 50 = 280 forecast, 50 + 100 + 100 = 250 booked: -10.7%, not flagged
    assert r.loc["b", "deviation"] == pytest.approx(-30 / 280) and not r.loc["b", "flagged"]
    assert r["flagged_deals"].tolist() == [2, 4]
    assert r.loc["b", "accuracy"] == pytest.approx(1 - 30 / 250)
    # a tighter threshold flags rep b and D1
    deals10, reps10 = sa.forecast_review(ds, "2024-02", FORECAST, threshold=0.1)
    assert reps10.set_index("owner").loc["b", "flagged"]
    assert deals10.set_index("opportunity_id").loc["D1", "reason"] == "won, forecast low"


def test_plots_draw_what_they_are_given():
    import matplotlib.pyplot as plt

    ds = _ds(WATERFALL, W_AMOUNTS)
    w = sa.pipeline_waterfall(ds, "2024-01-10", "2024-01-31")
    ax = sa.plot_waterfall(w)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [1200.0, 900.0, 0.0, 0.0, 700.0, 300.0, 1100.0]  # moves left out
    _, reps = sa.forecast_review(_ds(REVIEW, R_AMOUNTS, R_CLOSE), "2024-02", FORECAST)
    ax = sa.plot_accuracy_by_rep(reps)
    assert [p.get_width() for p in ax.patches] == pytest.approx([1 - 30 / 250, 1.0])
    bt = pd.DataFrame(
        {
            "method": ["model", "model"],
            "period": ["2024-01", "2024-02"],
            "expected": [100.0, 120.0],
            "p10": [80.0, 90.0],
            "p90": [130.0, 150.0],
            "actual": [110.0, 95.0],
        }
    )
    ax = sa.plot_forecast_fan(bt)
    assert list(ax.lines[0].get_ydata()) == [100.0, 120.0]
    plt.close("all")
