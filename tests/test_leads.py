"""Lead funnel and lead-management rules on hand-made examples, computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.funnel.lead_rules import (
    assignment_audit,
    cadence_check,
    first_contact_check,
    lead_status_summary,
    load_lead_rules,
    sla_breaches,
)

DATA = __import__("pathlib").Path(__file__).parent / "data" / "olist"
T = pd.Timestamp


def test_lead_funnel_by_hand():
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
            "created_at": pd.to_datetime(["2024-01-01"] * 6 + ["2024-03-01"]),
            "channel": ["web", "web", "web", "fair", "fair", " ", "web"],
            "opportunity_id": ["O1", "O2", None, "O4", None, "O6", None],
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O4", "O6"],
            "created_at": pd.to_datetime(["2024-01-11", "2024-01-06", "2024-01-03", "2024-02-10"]),
            "status": ["won", "lost", "open", "won"],
            "closed_at": pd.to_datetime(["2024-01-21", "2024-01-15", None, "2024-03-01"]),
        }
    )
    before = leads.copy()
    f = sa.lead_funnel(leads=leads, opportunities=opps, by="channel", as_of="2024-02-15")
    pd.testing.assert_frame_equal(leads, before)  # input not mutated
    g = f.set_index("channel")
    assert g.index.tolist() == ["(unknown)", "fair", "web"]
    assert g["leads"].tolist() == [1, 2, 3]  # L7 is after as_of
    assert g["opportunities"].tolist() == [1, 1, 2]
    assert g["won"].tolist() == [0, 0, 1]  # O6 wins after as_of
    assert g.loc["web", "lead_to_opportunity"] == pytest.approx(2 / 3)
    assert g.loc["web", "lead_to_won"] == pytest.approx(1 / 3)
    assert g.loc["web", "opportunity_to_won"] == pytest.approx(1 / 2)
    assert g.loc["web", "median_days_to_opportunity"] == pytest.approx(7.5)  # 10 and 5 days
    assert g.loc["web", "median_days_to_won"] == pytest.approx(20.0)
    assert g.loc["fair", "median_days_to_opportunity"] == pytest.approx(2.0)
    # Wilson 95% for 1 of 3, by hand: centre (1/3 + 1.9208/3) / (1 + 3.8415/3) = 0.4270,
    # half 1.96 * sqrt(2/27 + 3.8415/36) / 2.2805 = 0.3654
    assert g.loc["web", "lead_to_won_low"] == pytest.approx(0.0615, abs=1e-3)
    assert g.loc["web", "lead_to_won_high"] == pytest.approx(0.7923, abs=1e-3)
    total = sa.lead_funnel(leads=leads, opportunities=opps, as_of="2024-02-15")
    assert total[["leads", "opportunities", "won"]].iloc[0].tolist() == [6, 4, 1]
    assert not total.attrs["won_only"]


def olist():
    mql = pd.read_csv(DATA / "marketing_qualified_leads.csv", parse_dates=["first_contact_date"])
    deals = pd.read_csv(DATA / "closed_deals.csv", parse_dates=["won_date"])
    leads = mql.rename(
        columns={"mql_id": "lead_id", "first_contact_date": "created_at", "origin": "channel"}
    )
    won = deals.rename(columns={"mql_id": "lead_id", "won_date": "closed_at"})
    return leads, won


def test_lead_funnel_olist_shape():
    leads, won = olist()
    f = sa.lead_funnel(leads=leads, opportunities=won, by="channel", as_of="2018-03-31")
    assert f.attrs["won_only"]
    g = f.set_index("channel")
    assert g.index.tolist() == ["(unknown)", "organic_search", "paid_search", "social"]
    assert g["leads"].tolist() == [2, 4, 3, 2]  # m12 comes after as_of
    assert g["won"].tolist() == [1, 2, 1, 0]  # m09 is won after as_of
    assert (g["opportunities"] == g["won"]).all()
    assert g.loc["organic_search", "lead_to_won"] == 0.5
    assert g.loc["organic_search", "lead_to_won_low"] == pytest.approx(0.150, abs=1e-3)
    assert g.loc["organic_search", "lead_to_won_high"] == pytest.approx(0.850, abs=1e-3)
    # m01: 01-03 -> 01-13 10:00 = 10.4167 days; m03: 01-09 -> 02-08 09:00 = 30.375 days
    assert g.loc["organic_search", "median_days_to_won"] == pytest.approx((10.41667 + 30.375) / 2)
    assert g.loc["paid_search", "median_days_to_won"] == pytest.approx(1.625)
    total = sa.lead_funnel(leads=leads, opportunities=won, as_of="2018-03-31")
    assert total["leads"].iloc[0] == 11 and total["won"].iloc[0] == 4
    assert total["lead_to_won"].iloc[0] == pytest.approx(4 / 11)


def test_lead_funnel_errors():
    leads, won = olist()
    with pytest.raises(ValueError, match="unknown lead column"):
        sa.lead_funnel(leads=leads, opportunities=won, by="grade")
    with pytest.raises(TypeError):
        sa.lead_funnel(leads=leads, opportunities=won, channel="x")


def test_default_rules_are_the_guides():
    r = load_lead_rules()
    assert r["grades"] == ["S", "A", "B", "C"]
    assert r["sla_hours"] == {"S": 2.0, "A": 2.0, "B": 4.0, "C": 24.0}
    assert r["first_contact_days"] == {"S": 3.0, "C": 7.0}
    assert r["cadence_by_grade_days"] == {"S": 1.0, "A": 2.0, "B": 7.0, "C": 7.0}
    assert r["cadence_by_tier_days"] == {"A": 7.0, "B": 14.0, "C": 30.0}
    assert [s["zh"] for s in r["statuses"]][:2] == ["未接触", "初步接洽"]


def test_rules_file_rejects_unknown_keys(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("sla_hour: {A: 2}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key"):
        load_lead_rules(p)


def sla_leads(with_assignment=True):
    d = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "owner": ["Mia", "Mia", "Ken", "Ken"],
            "grade": ["S", "A", "B", "C"],
            "created_at": [T("2024-01-01 09:00")] * 3 + [T("2023-12-30 09:00")],
            "assigned_at": [T("2024-01-01 10:00"), pd.NaT, T("2024-01-01 09:00"), pd.NaT],
            "first_response_at": [T("2024-01-01 11:30"), T("2024-01-01 11:30"), pd.NaT, pd.NaT],
        }
    )
    return d if with_assignment else d.drop(columns="assigned_at")


def test_sla_measured_from_assignment_when_present():
    rules = load_lead_rules()
    per, detail = sla_breaches(sla_leads(), sla_hours=rules["sla_hours"], as_of="2024-01-01 12:00")
    d = detail.set_index("lead_id")
    assert d["measured_from"].tolist() == ["assigned_at", "created_at", "assigned_at", "created_at"]
    assert d.loc["L1", "hours"] == 1.5  # from assignment; 2.5 h from creation would breach
    assert d["within"].tolist() == [True, False, False, False]
    assert d["pending"].tolist() == [False, False, True, False]  # L3: 3 h of 4 gone
    assert d["breach"].tolist() == [False, True, False, True]  # L4: C lead, 51 h, no answer
    p = per.set_index("owner")
    assert p["breaches"].to_dict() == {"Ken": 1, "Mia": 1}
    assert p.loc["Mia", "compliance"] == 0.5
    assert p.loc["Ken", "compliance"] == 0.0  # 0 within of 1 judged (L3 pending)
    assert per.attrs["measured_from"] == {"assigned_at": 2, "created_at": 2}


def test_sla_without_assignment_column_uses_creation():
    per, detail = sla_breaches(
        sla_leads(False), sla_hours={"S": 2, "A": 2, "B": 4, "C": 24}, as_of="2024-01-01 12:00"
    )
    assert set(detail["measured_from"]) == {"created_at"}
    assert detail.set_index("lead_id").loc["L1", "breach"]  # 2.5 h > 2 h
    assert per["breaches"].sum() == 3


def test_first_contact_limits_by_grade():
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "owner": ["Mia", "Mia", "Ken"],
            "grade": ["S", "C", "B"],
            "created_at": [T("2024-01-01")] * 3,
            "first_response_at": [T("2024-01-05"), T("2024-01-06"), T("2024-01-30")],
        }
    )
    per, detail = first_contact_check(
        leads, limits_days=load_lead_rules()["first_contact_days"], as_of="2024-02-01"
    )
    d = detail.set_index("lead_id")
    assert d.index.tolist() == ["L1", "L2"]  # B has no limit in the guide
    assert d["days"].tolist() == [4.0, 5.0]
    assert d["breach"].tolist() == [True, False]
    assert per.set_index("owner").loc["Mia", "compliance"] == 0.5


def activities():
    return pd.DataFrame(
        {
            "account_id": ["K1", "K1", "K1", "K2"],
            "owner": ["Mia", "Mia", "Mia", "Ken"],
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03"]),
            "next_planned_at": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-06", None]),
        }
    )


def test_cadence_by_intent_grade():
    grades = pd.DataFrame({"account_id": ["K1", "K2"], "grade": ["S", "B"]})
    cad = load_lead_rules()["cadence_by_grade_days"]
    per, overdue = cadence_check(
        activities(), grades=grades, cadence_days=cad, as_of="2024-01-06", grace_days=1
    )
    p = per.set_index("owner")
    # K1: plan 01-02 done on 01-02; plan 01-03 not done by 01-04 (next is 01-05);
    # plan 01-06 not due yet at 01-06 + 1 day grace
    assert p.loc["Mia", ["planned", "done"]].tolist() == [2, 1]
    assert p.loc["Mia", "plan_completion"] == 0.5
    assert np.isnan(p.loc["Ken", "plan_completion"])
    # S is daily: last contact 01-05, about 2 days before the end of 01-06; K2 (B, weekly) is fine
    assert overdue["account_id"].tolist() == ["K1"]
    assert p["overdue"].to_dict() == {"Ken": 0, "Mia": 1}


def test_cadence_by_customer_tier():
    tiers = pd.DataFrame({"account_id": ["K1", "K2"], "tier": ["C", "A"]})
    cad = load_lead_rules()["cadence_by_tier_days"]
    per, overdue = cadence_check(
        activities(), grades=tiers, grade_column="tier", cadence_days=cad, as_of="2024-01-12"
    )
    # K2 is tier A (weekly): last contact 01-03, 9.99 days before the end of 01-12
    assert overdue["account_id"].tolist() == ["K2"]
    assert overdue["days_since"].iloc[0] == pytest.approx(10.0, abs=1e-6)


def test_assignment_audit():
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "grade": ["S", "S", "B"],
            "region": ["North", "South", "North"],
            "owner": ["Mia", "Ken", "Ken"],
        }
    )
    reps = pd.DataFrame(
        {
            "owner": ["Mia", "Ken"],
            "role": ["manager", "junior"],
            "team": ["Team North", "Team South"],
            "region": ["North", "South"],
        }
    )
    rules = [
        {"grade": "S", "role": "manager"},
        {"region": "North", "team": "Team North"},
        {"same": "region"},
    ]
    out = assignment_audit(leads, rules=rules, reps=reps)
    assert out[["lead_id", "expected", "actual"]].values.tolist() == [
        ["L2", "manager", "junior"],
        ["L3", "Team North", "Team South"],
        ["L3", "North", "South"],
    ]
    assert out.attrs["checked"] == {
        "grade=S, role=manager": 2,
        "region=North, team=Team North": 2,
        "same=region": 3,
    }
    with pytest.raises(ValueError, match="reps table"):
        assignment_audit(leads, rules=rules)


def test_status_lifecycle():
    leads = pd.DataFrame({"status": ["初步接洽", "未接触", "won", "初步接洽", "weird"]})
    out = lead_status_summary(leads, statuses=load_lead_rules()["statuses"])
    counts = dict(zip(out["status"], out["leads"]))
    assert counts["first_contact"] == 2 and counts["untouched"] == 1 and counts["won"] == 1
    assert counts["(not a configured status)"] == 1
    assert out["status"].tolist()[:7] == [
        "untouched",
        "first_contact",
        "needs_clear",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]


def test_cadence_grades_from_the_best_lead_grade():
    leads = pd.DataFrame({"account_id": ["K1", "K1", "K2"], "grade": ["B", "S", "B"]})
    per, overdue = cadence_check(
        activities(), leads=leads, cadence_days={"S": 1, "B": 7}, as_of="2024-01-06"
    )
    assert overdue["account_id"].tolist() == ["K1"]  # K1 is S (its best lead), daily
    with pytest.raises(ValueError, match="needs grades"):
        cadence_check(activities(), cadence_days={"S": 1}, as_of="2024-01-06")


def test_only_active_accounts_can_be_overdue():
    grades = pd.DataFrame({"account_id": ["K1", "K2"], "grade": ["S", "S"]})
    per, overdue = cadence_check(
        activities(), grades=grades, cadence_days={"S": 1}, as_of="2024-01-06", active=["K2"]
    )
    assert overdue["account_id"].tolist() == ["K2"]
    assert per.set_index("owner")["overdue"].to_dict() == {"Ken": 1, "Mia": 0}
