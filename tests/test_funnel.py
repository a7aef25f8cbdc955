"""Funnel diagnostics: hand-computed counting rules, recovery of the generator's truth."""

import json

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics import _paths
from salesanalytics.funnel._common import wilson
from salesanalytics.funnel.bottlenecks import holm
from salesanalytics.funnel.dwell import km_quantile
from salesanalytics.sample import generate

HISTORY = pd.DataFrame(
    [
        ("D1", "prospect", "2024-01-01"),
        ("D1", "contacted", "2024-01-03"),
        ("D1", "proposal", "2024-01-06"),
        ("D1", "won", "2024-01-10"),
        ("D2", "prospect", "2024-01-01"),
        ("D2", "contacted", "2024-01-05"),
        ("D2", "prospect", "2024-01-07"),
        ("D2", "contacted", "2024-01-08"),
        ("D2", "lost", "2024-01-20"),
        ("D3", "prospect", "2024-01-02"),
        ("D3", "lost", "2024-01-04"),
        ("D4", "prospect", "2024-01-03"),
        ("D4", "contacted", "2024-01-04"),
    ],
    columns=["opportunity_id", "stage", "entered_at"],
)
OPPS = pd.DataFrame(
    {
        "opportunity_id": ["D1", "D2", "D3", "D4"],
        "owner": ["a", "a", "b", "b"],
        "created_at": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03"],
        "stage": ["won", "lost", "lost", "contacted"],
        "amount": [100, 200, 300, 400],
        "closed_at": ["2024-01-10", "2024-01-20", "2024-01-04", ""],
    }
)


@pytest.fixture(scope="module")
def tiny():
    return sa.read_dataset({"opportunities": OPPS, "stage_history": HISTORY})


def test_transitions_outcomes_and_dwell_by_hand(tiny):
    t = sa.stage_transitions(tiny, as_of="2024-01-31")
    got = list(
        zip(t["opportunity_id"], t["stage"], t["visit"], t["outcome"], t["dwell_days"].round(3))
    )
    assert got == [
        ("D1", "prospect", 1, "advanced", 2.0),
        ("D1", "contacted", 1, "skipped", 3.0),
        ("D1", "proposal", 1, "won", 4.0),
        ("D2", "prospect", 1, "advanced", 4.0),
        ("D2", "contacted", 1, "regressed", 2.0),
        ("D2", "prospect", 2, "advanced", 1.0),
        ("D2", "contacted", 2, "lost", 12.0),
        ("D3", "prospect", 1, "lost", 2.0),
        ("D4", "prospect", 1, "advanced", 1.0),
        ("D4", "contacted", 1, "open", 28.0),  # to end of as_of day
    ]
    assert t["censored"].sum() == 1
    first = sa.stage_transitions(tiny, as_of="2024-01-31", reentry="first")
    assert (
        len(first) == 8
        and first.set_index(["opportunity_id", "stage"]).loc[("D2", "contacted"), "outcome"]
        == "regressed"
    )
    last = sa.stage_transitions(tiny, as_of="2024-01-31", reentry="last")
    assert last.set_index(["opportunity_id", "stage"]).loc[("D2", "contacted"), "outcome"] == "lost"


def test_as_of_cuts_history(tiny):
    t = sa.stage_transitions(tiny, as_of="2024-01-05")
    d1 = t[t["opportunity_id"] == "D1"]
    assert d1["outcome"].tolist() == ["advanced", "open"] and d1["dwell_days"].iloc[
        -1
    ] == pytest.approx(3.0, abs=1e-6)


def test_pipeline_as_of_by_hand(tiny):
    # at the end of Jan 5: D1 contacted since Jan 3 (proposal only on Jan 6), D2 contacted
    # since Jan 5, D3 lost on Jan 4 (not open), D4 contacted since Jan 4
    p = sa.pipeline_as_of(tiny, "2024-01-05").set_index("opportunity_id")
    assert sorted(p.index) == ["D1", "D2", "D4"]
    assert p["stage"].to_dict() == {"D1": "contacted", "D2": "contacted", "D4": "contacted"}
    assert p["age_days"].round(3).to_dict() == {"D1": 3.0, "D2": 1.0, "D4": 2.0}  # to day's end
    assert p.loc["D1", "amount"] == 100
    # the fate is not known that day: no final status or loss reason
    assert not {"status", "loss_reason", "outcome"} & set(p.columns)


def test_cohort_funnel_by_hand(tiny):
    f = sa.funnel_summary(tiny, as_of="2024-01-31").set_index("stage")
    assert f.loc["prospect", ["reached", "advanced", "lost_here", "open_here", "won"]].tolist() == [
        4,
        3,
        1,
        0,
        1,
    ]
    assert f.loc["contacted", ["reached", "advanced", "lost_here", "open_here"]].tolist() == [
        3,
        1,
        1,
        1,
    ]
    assert f.loc["contacted", "conversion"] == 0.5  # the open deal is censored, not lost
    assert f.loc["needs_confirmed", "reached"] == 1  # skipped counts as reached by default
    g = sa.funnel_summary(tiny, as_of="2024-01-31", skipped="not_reached").set_index("stage")
    assert g.loc["needs_confirmed", "reached"] == 0 and np.isnan(
        g.loc["needs_confirmed", "conversion"]
    )
    lo, hi = wilson(np.array([3]), np.array([4]))
    assert f.loc["prospect", "conversion_low"] == pytest.approx(lo[0])
    assert f.attrs["skipped"] == "reached" and "reentry" in f.attrs["counting_rules"]


def test_period_summary_by_hand(tiny):
    p = sa.funnel_summary(tiny, as_of="2024-01-31", mode="period", period="M").set_index("stage")
    cols = ["opening", "new", "advanced", "lost", "regressed", "closing"]
    assert p.loc["prospect", cols].tolist() == [0, 5, 4, 1, 0, 0]
    assert p.loc["contacted", cols].tolist() == [0, 4, 1, 1, 1, 1]
    # expected amount still in the stage at period end: D4 (400) x configured 0.20
    assert p.loc["contacted", "expected_amount"] == pytest.approx(80.0)


def test_kaplan_meier_and_holm():
    assert km_quantile(np.array([1.0, 2, 3, 4]), np.array([True, True, True, False]), 0.5) == 2.0
    # a censored 3 keeps the risk set honest: median 4, not the naive 3.5
    assert km_quantile(np.array([2.0, 3, 4, 5]), np.array([True, False, True, True]), 0.5) == 4.0
    assert np.isnan(km_quantile(np.array([1.0, 2]), np.array([False, False]), 0.5))
    assert holm(np.array([0.01, 0.04, 0.03])).round(2).tolist() == [0.03, 0.06, 0.06]


def test_stale_deals_rule(tiny):
    s = sa.stale_deals(tiny, as_of="2024-01-31", factor=1.5)
    # contacted: finished visits 3, 2 and 12 days (mean 5.67); D4 has been there 28 days
    assert s["opportunity_id"].tolist() == ["D4"]
    assert s["ratio"].iloc[0] == pytest.approx(28 / (17 / 3), rel=1e-6)


# ------------------------------------------------------------ recovery of the planted truth
@pytest.fixture(scope="module")
def truth():
    return json.loads((_paths.SAMPLE_DIR / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def sample_t(sample_ds):
    return sa.stage_transitions(sample_ds, as_of="2026-06-30")


def test_planted_bottleneck_comes_first(sample_ds, sample_t, truth):
    b = sa.find_bottlenecks(sample_ds, transitions=sample_t, by="channel")
    planted = truth["planted"]["bottleneck"]
    assert b.loc[0, ["stage", "channel", "metric"]].tolist() == [
        planted["stage"],
        planted["channel"],
        "conversion",
    ]
    assert b.loc[0, "flagged"] and b.loc[0, "top_loss_reasons"].startswith("requirements mismatch")


def test_slow_rep_comes_first(sample_ds, sample_t, truth):
    r = sa.rep_dwell(sample_ds, transitions=sample_t)
    overall = r[r["stage"] == "(all stages)"]
    slow = truth["planted"]["slow_rep"]["owner"]
    assert overall["owner"].iloc[0] == slow and overall["ratio"].iloc[0] > 1.5
    assert set(r.loc[r["coaching"], "owner"]) == {slow}
    b = sa.find_bottlenecks(sample_ds, transitions=sample_t, by="owner")
    assert set(b.loc[b["flagged"], "owner"]) == {slow}


def test_per_stage_conversion_covers_the_truth(sample_t, truth):
    """Simultaneous 95% Wilson intervals (Bonferroni over the six stages) contain the truth."""
    r = sample_t[sample_t["outcome"].isin(["advanced", "skipped", "won", "lost"])]
    g = r.assign(a=r["outcome"] != "lost").groupby("stage")["a"].agg(["sum", "size"])
    lo, hi = wilson(g["sum"], g["size"], alpha=0.05 / len(g))
    for stage, low, high in zip(g.index, lo, hi):
        assert low <= truth["conversion"]["by_stage"][stage] <= high, stage


def test_nothing_flagged_without_planted_effects():
    d = generate(4, effects=False, n_leads=11_000)
    ds = sa.read_dataset(d.tables)
    t = sa.stage_transitions(ds)
    for by in ("channel", "owner", "region", "product"):
        assert not sa.find_bottlenecks(ds, transitions=t, by=by)["flagged"].any(), by
    assert not sa.rep_dwell(ds, transitions=t)["coaching"].any()


@pytest.mark.publicdata
def test_maven_coarse_history(public_data):
    ds = sa.read_dataset(public_data / "maven_crm", stages="maven")
    t = sa.stage_transitions(ds)
    assert t.attrs["coarse_history"] and "coarse history" in t.attrs["note"]
    f = sa.funnel_summary(ds, transitions=t).set_index("stage")
    assert f.loc["engaging", "reached"] == 8300
    assert f.loc["engaging", "won"] == 4238 and f.loc["engaging", "lost_here"] == 2473
    assert f.loc["engaging", "open_here"] == 1589
    assert f.attrs["coarse_history"]
    assert len(sa.find_bottlenecks(ds, transitions=t, by="owner")) > 0


# ------------------------------------------------------------ leads, SLA, follow-ups
def test_conversion_by_channel_by_hand():
    leads = pd.DataFrame(
        {
            "lead_id": list("abcdef"),
            "created_at": ["2024-01-01"] * 6,
            "channel": ["web", "web", "web", "ref", "ref", "ref"],
            "converted": ["yes", "yes", "no", "yes", "no", "no"],
            "converted_at": ["2024-01-03", "2024-01-05", "", "2024-01-02", "", ""],
            "opportunity_id": ["o1", "o2", "", "o3", "", ""],
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "owner": "x",
            "created_at": "2024-01-03",
            "stage": ["won", "lost", "proposal"],
            "close_amount": [50, None, None],
            "closed_at": ["2024-02-01", "2024-02-01", ""],
        }
    )
    ds = sa.read_dataset({"leads": leads, "opportunities": opps})
    c = sa.conversion_by(ds, spend=pd.DataFrame({"channel": ["web"], "amount": [300.0]})).set_index(
        "channel"
    )
    assert c.loc["web", ["leads", "opportunities", "won", "lost", "open"]].tolist() == [
        3,
        2,
        1,
        1,
        0,
    ]
    assert c.loc["web", "median_days_to_convert"] == 3.0 and c.loc["web", "win_rate"] == 0.5
    assert c.loc["web", "cost_per_win"] == 300.0 and c.loc["ref", "open"] == 1
    assert np.isnan(c.loc["ref", "win_rate"])  # nothing closed yet: no rate, not zero


def test_response_sla_by_hand():
    leads = pd.DataFrame(
        {
            "lead_id": list("abcd"),
            "channel": "web",
            "grade": ["A", "A", "C", "C"],
            "created_at": [
                "2024-01-01 09:00",
                "2024-01-01 09:00",
                "2024-01-01 09:00",
                "2024-01-02 23:00",
            ],
            "first_response_at": ["2024-01-01 10:00", "2024-01-01 12:00", "", ""],
        }
    )
    s = sa.response_sla(sa.read_dataset({"leads": leads}), as_of="2024-01-02 23:30").set_index(
        "grade"
    )
    assert s.loc["A", ["leads", "within_sla", "pending"]].tolist() == [2, 1, 0]
    assert s.loc["A", "compliance"] == 0.5
    # C: one never answered after 38.5 h (breach), one 30 minutes old (pending)
    assert (
        s.loc["C", ["within_sla", "pending"]].tolist() == [0, 1] and s.loc["C", "compliance"] == 0.0
    )


def test_followup_compliance_by_hand():
    acts = pd.DataFrame(
        {
            "activity_id": ["1", "2", "3", "4"],
            "owner": "x",
            "account_id": ["K", "K", "K", "L"],
            "occurred_at": ["2024-01-01", "2024-01-06", "2024-01-20", "2024-01-01"],
            "next_planned_at": ["2024-01-08", "2024-01-13", "", "2024-01-31"],
        }
    )
    tiers = pd.DataFrame({"account_id": ["K", "L"], "tier": ["A", "C"]})
    summary, overdue = sa.followup_compliance(
        sa.read_dataset({"activities": acts}), tiers=tiers, as_of="2024-01-31"
    )
    a = summary.set_index("tier").loc["A"]
    assert (a["gaps"], a["gaps_within_cadence"]) == (2, 1)  # 5 days ok, 14 days late for weekly
    assert (a["planned"], a["done"]) == (2, 1)  # plan for Jan 8 met on Jan 6; Jan 13 missed
    # K: 12 days since the last follow-up > 7; L: 31 days > 30 (no opportunities table, so
    # every account counts; with one, only accounts with an open deal do)
    assert overdue["account_id"].tolist() == ["L", "K"]


def test_plots_return_axes(sample_ds, sample_t):
    import matplotlib.pyplot as plt

    f = sa.funnel_summary(sample_ds, transitions=sample_t)
    assert sa.plot_funnel(f, stages=sample_ds.stages).get_title().startswith("Funnel")
    fb = sa.funnel_summary(sample_ds, transitions=sample_t, by="channel")
    assert sa.plot_conversion_heatmap(fb, "channel").get_ylabel() == ""
    assert sa.plot_dwell_by_rep(sample_t, "proposal").get_xlabel() == "days in stage"
    assert sa.plot_bottlenecks(sa.find_bottlenecks(sample_ds, transitions=sample_t)).get_xlim() == (
        0,
        1,
    )
    plt.close("all")


def test_bottleneck_benchmarks_rate_and_previous(sample_ds, sample_t):
    rate = sa.find_bottlenecks(sample_ds, transitions=sample_t, benchmark={"proposal": 0.62})
    flagged = rate[rate["flagged"]]
    assert flagged[["stage", "channel"]].values.tolist() == [["proposal", "trade_show"]]
    prev = sa.find_bottlenecks(
        sample_ds, transitions=sample_t, benchmark="previous", split="2025-07-01"
    )
    row = prev[(prev["stage"] == "proposal") & (prev["channel"] == "trade_show")].iloc[0]
    assert not row["flagged"]  # the planted bottleneck was there all along: no change
    assert 0.15 < row["benchmark"] < 0.45


def test_segment_by_lead_grade(sample_ds, sample_t):
    f = sa.funnel_summary(sample_ds, transitions=sample_t, by="grade")
    assert set(f["grade"].dropna()) == {"A", "B", "C"}
    assert f.groupby("stage")["reached"].sum()["prospect"] == len(sample_ds.opportunities)
