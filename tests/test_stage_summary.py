"""The monthly stage summary under guide [004]'s convention, on the guide's March 2024 table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa

# SEED-PRACTICES §4, March 2024: opening / new / lost / closing / advanced / conversion / dwell /
# expected (10k CNY), for the six open stages of the default config in funnel order.
GUIDE = pd.DataFrame(
    {
        "stage": [
            "prospect",
            "contacted",
            "needs_confirmed",
            "proposal",
            "negotiation",
            "contract",
        ],
        "opening": [200, 120, 90, 60, 45, 36],
        "new": [150, 120, 90, 60, 45, 36],
        "lost": [50, 30, 20, 15, 10, 5],
        "closing": [300, 210, 160, 105, 80, 67],
        "advanced": [120, 90, 60, 45, 36, 30],
        "conversion": ["40.0%", "42.9%", "37.5%", "42.9%", "45.0%", "44.8%"],
        "expected": [300, 450, 600, 675, 720, 750],
    }
)


def march_2024() -> pd.DataFrame:
    """Deal-level stage history whose March 2024 counts are the guide's table.

    Every stage's opening deals entered on 2024-02-20. Deals that advanced out of the previous
    stage in March are the stage's new deals; prospects' new deals are created in March. Within
    a stage the opening deals leave first (advanced, then lost), then the new ones; those left
    stay open at the end of March.
    """
    rows = []
    n = 0
    new_ids: list[tuple[str, pd.Timestamp]] = []
    feb = pd.Timestamp("2024-02-20")
    for k, g in GUIDE.iterrows():
        stage = g["stage"]
        opening = []
        for _ in range(g["opening"]):
            n += 1
            oid = f"D{n:04d}"
            rows.append((oid, stage, feb))
            opening.append((oid, feb))
        if k == 0:
            new_ids = []
            for i in range(g["new"]):
                n += 1
                oid = f"D{n:04d}"
                at = pd.Timestamp("2024-03-02") + pd.Timedelta(hours=i)
                rows.append((oid, stage, at))
                new_ids.append((oid, at))
        pool = opening + new_ids
        assert len(pool) == g["opening"] + g["new"]
        advanced, lost = pool[: g["advanced"]], pool[g["advanced"] : g["advanced"] + g["lost"]]
        nxt = GUIDE["stage"].get(k + 1, "won")
        new_ids = []
        for oid, entered in advanced:
            at = max(entered, pd.Timestamp("2024-03-01")) + pd.Timedelta(days=3 + k)
            rows.append((oid, nxt, at))
            new_ids.append((oid, at))
        for oid, entered in lost:
            at = max(entered, pd.Timestamp("2024-03-01")) + pd.Timedelta(days=4 + k)
            rows.append((oid, "lost", at))
    return pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at"])


@pytest.fixture(scope="module")
def march():
    avg = dict(zip(GUIDE["stage"], GUIDE["expected"] / GUIDE["closing"]))
    return sa.guide_stage_summary(
        stage_history=march_2024(),
        stages="default",
        period="2024-03",
        as_of="2024-03-31",
        average_amount=avg,
        reference_dwell={"needs_confirmed": 10.0},
    )


def test_guide_table_to_the_digit(march):
    g = march[march["stage"] != "won"].reset_index(drop=True)
    assert g["stage"].tolist() == GUIDE["stage"].tolist()
    for col in ("opening", "new", "lost", "closing", "advanced"):
        assert g[col].astype(int).tolist() == GUIDE[col].tolist(), col
    assert g["closing"].astype(int).tolist() == [300, 210, 160, 105, 80, 67]
    assert [f"{v:.1%}" for v in g["conversion"]] == GUIDE["conversion"].tolist()
    assert np.round(g["expected_amount"].astype(float), 6).tolist() == GUIDE["expected"].tolist()
    won = march[march["stage"] == "won"].iloc[0]
    assert won["new"] == 30


def test_flags_under_40_percent(march):
    flagged = march.loc[march["low_conversion"], "stage"].tolist()
    assert flagged == ["needs_confirmed"]
    zh = sa.stage_labels(flagged, lang="zh_hant")
    assert zh == ["需求確認"]
    assert march.attrs["convention"]["closing"].startswith("closing = opening + new - lost")


def test_slow_flag_and_dwell(march):
    g = march.set_index("stage")
    # needs_confirmed exits: 60 advanced opening deals at 2024-03-06 (15 days after 02-20),
    # 20 lost: opening deals at 03-07 (16 days) -> mean (60*15 + 20*16) / 80 = 15.25
    assert g.loc["needs_confirmed", "mean_dwell_days"] == pytest.approx(15.25)
    assert bool(g.loc["needs_confirmed", "slow"])
    assert not g["slow"].drop("needs_confirmed").any()


def test_previous_month_compared():
    h = march_2024()
    res = sa.guide_stage_summary(
        stage_history=h, stages="default", period="2024-04", as_of="2024-04-30"
    )
    g = res.set_index("stage")
    # in April nothing moves: March's closing stock (without the advanced) is the opening
    assert g.loc["prospect", "opening"] == 300 - 120
    assert g.loc["prospect", "previous_conversion"] == pytest.approx(0.4)
    assert g.loc["prospect", "conversion"] == 0
    assert g.loc["prospect", "conversion_change"] == pytest.approx(-0.4)


def test_period_after_as_of_is_an_error():
    with pytest.raises(ValueError, match="after as_of"):
        sa.guide_stage_summary(
            stage_history=march_2024(), stages="default", period="2024-05", as_of="2024-03-31"
        )
