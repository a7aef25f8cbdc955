"""Cross-table checks in read_dataset, HubSpot history, export safety."""

import pandas as pd

import salesanalytics as sa
from salesanalytics.clean.integrity import suggest_matches


def _tables():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["1", "2"],
            "owner": ["Ann", "Bo"],
            "created_at": ["2024-01-10", "2024-01-10"],
            "stage": ["won", "proposal"],
            "closed_at": ["2024-02-01", ""],
            "product": ["GTX Pro", "GTXPro"],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["1", "1", "2", "2", "9"],
            "stage": ["prospect", "won", "prospect", "contacted", "prospect"],
            "entered_at": ["2024-01-10", "2024-02-01", "2024-01-01", "2024-01-11", "2024-01-01"],
        }
    )
    products = pd.DataFrame({"product": ["GTX Pro", "GTX Basic"]})
    reps = pd.DataFrame({"owner": ["Ann", "Bob"]})
    return {"opportunities": opps, "stage_history": hist, "products": products, "reps": reps}


def test_orphan_history_rejected_and_references_flagged_with_suggestions():
    t = _tables()
    ds = sa.read_dataset(t)
    assert ds.reports["stage_history"]["rejected"] == 1
    rej = ds.rejected["stage_history"]
    assert rej["row"].tolist() == [4] and "not in opportunities" in rej["reason"].iloc[0]
    assert len(ds.stage_history) == 4
    q = ds.quality
    prod = q[(q["rule"] == "unknown_reference") & (q["column"] == "product")]
    assert (
        prod["value"].tolist() == ["GTXPro"] and "did you mean 'GTX Pro'" in prod["detail"].iloc[0]
    )
    owner = q[(q["rule"] == "unknown_reference") & (q["column"] == "owner")]
    assert owner["detail"].iloc[0] == "not in reps; did you mean 'Bob'?"
    s = ds.summary().set_index("table")
    assert (
        s["rows_in"] == s["clean"] + s["rejected"] + s["duplicates_dropped"] + s["merged"]
    ).all()


def test_chronology_findings():
    t = _tables()
    ds = sa.read_dataset(t)
    rules = ds.quality.set_index(["table", "rule"])
    # opportunity 2 entered prospect on 2024-01-01, nine days before it was created
    assert rules.loc[("stage_history", "entry_before_creation"), "row"] == 2
    # opportunity 2 is at proposal but its history ends at contacted
    assert (
        rules.loc[("opportunities", "history_disagrees"), "detail"]
        == "last stage in stage_history is contacted"
    )


def test_won_before_first_contact_and_simultaneous_entries():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["1"],
            "owner": ["A"],
            "created_at": ["2024-01-01"],
            "stage": ["won"],
            "closed_at": ["2024-01-02"],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["1", "1", "1"],
            "stage": ["won", "prospect", "contacted"],
            "entered_at": ["2024-01-02", "2024-01-05", "2024-01-05"],
        }
    )
    q = sa.read_dataset({"opportunities": opps, "stage_history": hist}).quality
    assert set(q.loc[q["rule"] == "won_before_first_contact", "row"]) == {0}
    assert set(q.loc[q["rule"] == "simultaneous_entries", "row"]) == {1, 2}


def test_suggestions():
    assert suggest_matches(["Philipines", "GTXPro", "zzz"], ["Philippines", "GTX Pro"]) == {
        "Philipines": "Philippines",
        "GTXPro": "GTX Pro",
        "zzz": None,
    }


def test_hubspot_date_entered_columns_become_stage_history():
    deals = pd.DataFrame(
        {
            "Record ID": ["11", "12"],
            "Deal owner": ["Ann", "Bo"],
            "Create Date": ["2024-01-01", "2024-01-03"],
            "Deal Stage": ["Closed Won", "Presentation Scheduled"],
            'Date entered "Appointment Scheduled (Sales Pipeline)"': ["2024-01-01", "2024-01-03"],
            'Date entered "Presentation Scheduled (Sales Pipeline)"': ["2024-01-09", "2024-01-20"],
            'Date entered "Closed Won (Sales Pipeline)"': ["2024-02-01", ""],
        }
    )
    ds = sa.read_dataset({"opportunities": deals}, stages="hubspot")
    h = ds.stage_history.sort_values(["opportunity_id", "entered_at"])
    assert h["stage"].tolist() == [
        "appointment_scheduled",
        "presentation_scheduled",
        "won",
        "appointment_scheduled",
        "presentation_scheduled",
    ]
    assert ds.sources["stage_history"].endswith("(Date entered columns)")
    assert not ds.history_is_coarse


def test_written_files_neutralise_formulas(tmp_path):
    df = pd.DataFrame(
        {"=cmd": ["=1+2", "+SUM(A1)", "-2+3", "@x", "ok", "\tx"], "n": [-1, 2, 3, 4, 5, 6]}
    )
    sa.write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    assert list(back.columns) == ["'=cmd", "n"]
    assert back["'=cmd"].tolist()[:5] == ["'=1+2", "'+SUM(A1)", "'-2+3", "'@x", "ok"]
    assert back["n"].tolist()[0] == "-1"  # numbers are not text: left alone
    sa.write_excel(df, tmp_path / "t.xlsx")
    x = pd.read_excel(tmp_path / "t.xlsx")
    assert x.iloc[0, 0] == "'=1+2"


def test_an_orphan_row_before_a_flagged_row_leaves_the_flag_on_its_own_row():
    """Findings are located in the history as cleaned: rejecting an orphan first must not
    shift a later finding onto the next rows (nor past the end of the table)."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "owner": ["Ann", "Bo"],
            "created_at": ["2024-01-10", "2024-01-10"],
            "stage": ["won", "contacted"],
            "closed_at": ["2024-01-12", ""],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["OX", "O1", "O1", "O1", "O2", "O2"],
            "stage": ["prospect", "prospect", "contacted", "won", "prospect", "contacted"],
            "entered_at": [
                "2024-01-01",
                "2024-01-10 09:00",
                "2024-01-12 10:00",
                "2024-01-12 10:00",  # the same moment as the row before
                "2024-01-10",
                "2024-01-11",
            ],
        }
    )
    ds = sa.read_dataset({"opportunities": opps, "stage_history": hist})
    assert ds.rejected["stage_history"]["row"].tolist() == [0]
    q = ds.quality
    assert q.loc[q["rule"] == "simultaneous_entries", "row"].tolist() == [2, 3]
    assert ds.stage_history["opportunity_id"].tolist() == ["O1", "O1", "O1", "O2", "O2"]
    assert ds.reports["stage_history"]["rejected"] == 1


def test_entry_before_creation_values_stand_beside_their_own_rows():
    """An unsorted history: each flagged row's quality entry carries that row's own date."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["A", "B"],
            "owner": ["Ann", "Bo"],
            "created_at": ["2024-03-01", "2024-03-01"],
            "stage": ["contacted", "contacted"],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "A", "B"],
            "stage": ["contacted", "prospect", "prospect", "contacted"],
            "entered_at": ["2024-03-02", "2024-01-05", "2024-02-10", "2024-03-02"],
        }
    )
    ds = sa.read_dataset({"opportunities": opps, "stage_history": hist})
    q = ds.quality[ds.quality["rule"] == "entry_before_creation"]
    assert q["row"].tolist() == [1, 2]
    assert [v[:10] for v in q["value"]] == ["2024-01-05", "2024-02-10"]
