"""Table rules of clean(): each on a small hand-made input, reconciliation in every test."""

import pandas as pd
import pytest
from helpers import assert_reconciled

import salesanalytics as sa


def _opps(**overrides):
    base = {
        "opportunity_id": ["1", "2", "3"],
        "owner": ["Ann", "Bo", "Cy"],
        "created_at": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "stage": ["Proposal", "Closed Won", "lost"],
        "closed_at": ["", "2024-02-01", "2024-03-01"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_unknown_stage_is_rejected_with_the_value_named():
    df = _opps(stage=["Proposal", "需求调研", "Maybe later"])
    res = sa.clean(df, "opportunities")
    assert_reconciled(res, df)
    assert res.data["stage"].tolist() == ["proposal", "needs_confirmed"]
    assert res.rejected["reason"].tolist() == ["unknown stage 'Maybe later'"]
    assert res.rejected["row"].tolist() == [2]


def test_missing_required_cells_reject_the_row():
    df = _opps(owner=["Ann", "", "N/A"])
    res = sa.clean(df, "opportunities")
    assert_reconciled(res, df)
    assert res.rejected["reason"].tolist() == ["owner missing", "owner missing"]


def test_relaxed_requirement_keeps_undated_rows():
    df = pd.DataFrame({"lead_id": ["L1", "L2"], "channel": ["web", "Web"]})
    with pytest.raises(sa.DataContractError, match="created_at"):
        sa.clean(df, "leads")
    res = sa.clean(df, "leads", relax=["created_at"])
    assert_reconciled(res, df)
    assert res.data["channel"].tolist() == ["Web", "Web"]  # tie: alphabetically first spelling


def test_exact_duplicates_dropped_conflicting_duplicates_rejected():
    df = pd.concat([_opps(), _opps().iloc[[0]]], ignore_index=True)  # row 3 = copy of row 0
    df.loc[4] = ["2", "Bo", "2024-01-02", "Proposal", ""]  # same id as row 1, different stage
    res = sa.clean(df, "opportunities")
    assert_reconciled(res, df)
    assert res.report["duplicates_dropped"] == 1
    assert sorted(res.rejected["row"]) == [1, 4]
    assert "conflicting duplicate opportunity_id" in res.rejected["reason"].iloc[0]
    assert res.data["opportunity_id"].tolist() == ["1", "3"]


def test_negative_amount_set_missing_and_reported():
    df = _opps(amount=["100", "-5", "x"])
    res = sa.clean(df, "opportunities")
    assert_reconciled(res, df)
    assert res.data["amount"].isna().tolist() == [False, True, True]
    rules = res.quality.set_index("row")["rule"]
    assert rules[1] == "below_minimum" and rules[2] == "unreadable_number"


def test_amount_range_columns_are_added():
    res = sa.clean(_opps(amount=["50-80万", "10", ""]), "opportunities")
    assert res.data["amount"].tolist()[:2] == [650_000.0, 10.0]
    assert res.data["amount_low"].tolist()[0] == 500_000.0


def test_won_without_close_date_and_close_before_creation_are_flagged():
    df = _opps(closed_at=["", "", "2023-12-01"])
    res = sa.clean(df, "opportunities")
    assert_reconciled(res, df)
    flags = res.quality[res.quality["action"] == "flagged"].set_index("row")["rule"]
    assert flags[1] == "closed_without_date" and flags[2] == "close_before_creation"
    assert len(res.data) == 3  # kept


def test_unknown_columns_kept_and_typed():
    res = sa.clean(_opps(Notes=["a", "Select", "c"], Score=["1", "2", ""]), "opportunities")
    assert res.data["Notes"].isna().tolist() == [False, True, False]
    assert str(res.data["Score"].dtype) == "Int64"
    assert res.report["unknown_columns"] == ["Notes", "Score"]


@pytest.mark.parametrize(
    "headers",
    [
        # Salesforce opportunity report, HubSpot deals, Pipedrive deals, Odoo pipeline
        ["Opportunity ID", "Opportunity Owner", "Created Date", "Stage"],
        ["Record ID", "Deal owner", "Create Date", "Deal Stage"],
        ["Deal - ID", "Deal - Owner", "Deal - Deal created", "Deal - Stage"],
        ["ID", "Salesperson", "Created on", "Stage"],
        ["opportunity_id", "sales_agent", "engage_date", "deal_stage"],
    ],
)
def test_crm_export_headers(headers):
    df = pd.DataFrame([["9", "Ann", "2024-05-06", "Closed Won"]], columns=headers)
    res = sa.clean(df, "opportunities", stages="default")
    assert list(res.data.columns[:4]) == ["opportunity_id", "owner", "created_at", "stage"]


def test_same_contact_from_several_channels_is_merged_with_provenance():
    df = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "created_at": ["2024-01-05", "2024-01-01", "2024-01-09", "2024-01-02"],
            "channel": ["referral", "website", "trade_show", "website"],
            "phone": ["138 1234 5678", "13812345678", "+86 139 0000 1111", "13900001111"],
            "email": ["a@x.com", "", "", ""],
        }
    )
    res = sa.clean(df, "leads")
    assert_reconciled(res, df)
    assert res.report["merged"] == 2
    d = res.data.set_index("lead_id")
    assert list(d.index) == ["L2", "L4"]  # the first contact of each person stays
    assert d.loc["L2", "channels"] == "website|referral" and d.loc["L2", "merged_lead_ids"] == "L1"
    assert d.loc["L4", "merged_lead_ids"] == "L3"
    assert d["phone"].tolist() == ["138****5678", "139****1111"]
    merged = res.quality[res.quality["action"] == "merged"]
    assert merged["detail"].tolist() == ["merged into lead L2", "merged into lead L4"]


def test_personal_data_masked_in_data_rejected_and_quality():
    df = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "created_at": ["2024-01-01", "bad"],
            "channel": ["web", "web"],
            "Mobile": ["13812345678", "13987654321"],
            "E-mail": ["ann@x.com", "bo@y.org"],
        }
    )
    res = sa.clean(df, "leads")
    assert res.data["phone"].tolist() == ["138****5678"] and res.data["email"].tolist() == [
        "a***@x.com"
    ]
    assert res.rejected["Mobile"].tolist() == ["139****4321"] and res.rejected[
        "E-mail"
    ].tolist() == ["b***@y.org"]
    assert not res.quality["value"].fillna("").str.contains("13987654321").any()
    raw = sa.clean(df, "leads", mask_pii=False)
    assert raw.data["phone"].tolist() == ["13812345678"]


def test_required_column_missing_names_it():
    with pytest.raises(sa.DataContractError, match=r"\['stage'\] not found"):
        sa.clean(_opps().drop(columns="stage"), "opportunities")
    with pytest.raises(ValueError, match="unknown table"):
        sa.clean(_opps(), "deals")


def test_input_is_not_mutated():
    df = _opps()
    before = df.copy()
    sa.clean(df, "opportunities")
    pd.testing.assert_frame_equal(df, before)
