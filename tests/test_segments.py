"""Blank or unknown segment values are kept as "(unknown)"; wins are never dropped."""

from pathlib import Path

import pandas as pd
import pytest

import salesanalytics as sa

DATA = Path(__file__).parent / "data"


def test_blank_channel_leads_are_kept_and_whole_funnel_conversion_is_plain():
    ds = sa.read_dataset({"leads": DATA / "leads_blank_channel.csv"})
    assert len(ds.leads) == 10 and ds.rejected["leads"].empty
    by = ds.leads.set_index("lead_id")["channel"]
    assert by[["L02", "L03", "L05", "L07", "L10"]].tolist() == ["(unknown)"] * 5
    conv = sa.conversion_by(ds, by="channel", as_of="2024-12-31")
    assert conv["leads"].sum() == 10
    assert conv["opportunities"].sum() / conv["leads"].sum() == pytest.approx(3 / 10)
    unknown = conv.set_index("channel").loc["(unknown)"]
    assert unknown["leads"] == 5 and unknown["opportunities"] == 2
    q = ds.quality[ds.quality["rule"] == "unknown_segment"]
    assert q["row"].tolist() == [1, 2, 4, 6, 9] and set(q["action"]) == {"kept_unknown"}


def test_reject_mode_rejects_blank_required_segments_but_never_a_win():
    raw = pd.read_csv(DATA / "leads_blank_channel.csv", dtype=str)
    res = sa.clean(raw, "leads", unknown="reject")
    # blank channel: L02 (converted), L03, L05, L07 (converted), L10 -> the two wins stay
    assert res.rejected["row"].tolist() == [2, 4, 9]
    assert res.rejected["reason"].tolist() == ["channel missing"] * 3
    kept = res.data.set_index("lead_id")["channel"]
    assert kept[["L02", "L07"]].tolist() == ["(unknown)", "(unknown)"]
    with pytest.raises(ValueError, match="keep' or 'reject"):
        sa.clean(raw, "leads", unknown="drop")


def test_won_opportunity_with_blank_segments_is_kept():
    df = pd.DataFrame(
        {
            "opportunity_id": ["A1", "A2"],
            "owner": ["Ann Fox", "Bo Lin"],
            "created_at": ["2024-01-05", "2024-01-06"],
            "stage": ["won", "lost"],
            "closed_at": ["2024-02-01", "2024-02-02"],
            "channel": ["", "web"],
            "region": [None, "未知"],
        }
    )
    res = sa.clean(df, "opportunities", unknown="reject")
    assert res.data["region"].tolist() == ["(unknown)", "(unknown)"]  # optional: kept
    assert res.data["channel"].tolist() == ["(unknown)", "web"]


def test_relax_still_works_with_a_missing_channel_column():
    df = pd.DataFrame({"lead_id": ["L1"], "created_at": ["2024-01-01"]})
    res = sa.clean(df, "leads", relax=("channel",))
    assert res.data["lead_id"].tolist() == ["L1"]


def test_targets_with_chinese_periods_give_the_same_attainment_as_iso():
    import numpy as np

    history = pd.DataFrame(
        [
            ("D1", "prospect", "2024-01-05"),
            ("D1", "won", "2024-02-01"),
            ("D5", "prospect", "2024-01-02"),
            ("D5", "won", "2024-04-02"),
        ],
        columns=["opportunity_id", "stage", "entered_at"],
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D5"],
            "owner": ["a", "b"],
            "created_at": ["2024-01-05", "2024-01-02"],
            "stage": ["won", "won"],
            "amount": [250.0, 50.0],
            "close_amount": [300.0, np.nan],
        }
    )
    cn = sa.read_table(DATA / "targets_cn_periods.csv")
    iso = cn.rename(columns={"期间": "period", "负责人": "owner", "目标": "target_amount"})
    iso["period"] = iso["period"].str.replace(
        r"(\d{4})年(\d+)月", lambda m: f"{m[1]}-{int(m[2]):02d}", regex=True
    )
    a = {
        name: sa.attainment(
            sa.read_dataset({"opportunities": opps, "stage_history": history, "targets": t}),
            period=period,
            as_of="2024-04-30",
        )
        for name, t in (("cn", cn), ("iso", iso))
        for period in ("M",)
    }
    pd.testing.assert_frame_equal(a["cn"], a["iso"])
    q = sa.attainment(
        sa.read_dataset({"opportunities": opps, "stage_history": history, "targets": cn}),
        period="Q",
        as_of="2024-04-30",
    ).set_index(["period", "owner"])
    assert q.loc[("2024Q1", "a"), "attainment"] == pytest.approx(300 / 200)
    assert q.loc[("2024Q2", "b"), "attainment"] == pytest.approx(50 / 70)


def test_read_dataset_passes_unknown_through():
    ds = sa.read_dataset({"leads": DATA / "leads_blank_channel.csv"}, unknown="reject")
    assert ds.rejected["leads"]["row"].tolist() == [2, 4, 9]
