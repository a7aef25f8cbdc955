"""Integration on real exports in $SALESANALYTICS_PUBLIC_DATA (Maven CRM, X Education)."""

import pandas as pd
import pytest
from helpers import assert_reconciled

import salesanalytics as sa

pytestmark = pytest.mark.publicdata


def test_maven_both_date_variants_give_identical_clean_data(public_data):
    m = public_data / "maven_crm"
    iso = sa.read_dataset({"opportunities": m / "sales_pipeline.csv"}, stages="maven")
    mdy = sa.read_dataset({"opportunities": m / "sales_pipeline_mdy_dates.csv"}, stages="maven")
    pd.testing.assert_frame_equal(iso.opportunities, mdy.opportunities)
    notes = mdy.quality.loc[mdy.quality["rule"] == "format", "detail"].tolist()
    assert "ambiguous" not in " ".join(notes)  # the column itself decided M/D/Y


def test_maven_folder_reconciles_and_reports_gtxpro(public_data):
    m = public_data / "maven_crm"
    ds = sa.read_dataset(m, stages="maven")
    raw = pd.read_csv(m / "sales_pipeline.csv")
    s = ds.summary().set_index("table")
    assert s.loc["opportunities", "rows_in"] == len(raw) == 8800
    assert s.loc["opportunities", "rejected"] == raw["engage_date"].isna().sum() == 500
    assert set(ds.rejected["opportunities"]["deal_stage"]) == {"Prospecting"}
    gtx = ds.quality[
        (ds.quality["column"] == "product") & (ds.quality["rule"] == "unknown_reference")
    ]
    expected = ((raw["product"] == "GTXPro") & raw["engage_date"].notna()).sum()
    assert len(gtx) == expected and expected > 1000
    assert (
        set(gtx["value"]) == {"GTXPro"}
        and gtx["detail"].str.contains("did you mean 'GTX Pro'").all()
    )
    o = ds.opportunities
    assert o["status"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 1589}
    assert ds.history_is_coarse
    assert {
        "sales_agent": "owner",
        "deal_stage": "stage",
        "close_value": "close_amount",
    }.items() <= ds.reports["opportunities"]["columns"].items()


def test_xeducation_placeholders_case_drift_and_xlsx_named_csv(public_data):
    x = public_data / "xeducation_leads"
    raw = sa.read_table(x / "Leads.csv")
    res = sa.clean(raw, "leads", relax=["created_at"])
    assert_reconciled(res, raw)
    d = res.data
    assert len(raw) == 9240
    for col in d.columns:
        if d[col].dtype == "string":
            assert not d[col].isin(["Select", "select"]).any(), col
    assert "google" not in set(d["channel"]) and "Google" in set(d["channel"])
    assert d["converted"].mean() == pytest.approx(raw["Converted"].astype(int).mean(), abs=0.005)
    xl = sa.read_table(x / "Leads_saved_as_xlsx.csv")
    pd.testing.assert_frame_equal(sa.clean(xl, "leads", relax=["created_at"]).data, d)
