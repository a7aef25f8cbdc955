import json

import pandas as pd

from salesanalytics import _paths
from salesanalytics.cli import main


def test_sample_command_writes_data_and_truth(tmp_path):
    assert main(["sample", "--seed", "5", "--out", str(tmp_path), "--leads", "800"]) == 0
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["seed"] == 5 and truth["counts"]["leads"] == 800
    assert len(pd.read_csv(tmp_path / "leads.csv")) == 800 + len(
        truth["mess"]["leads"]["merged_rows"]
    )


def test_sample_no_effects(tmp_path):
    assert main(["sample", "--out", str(tmp_path), "--leads", "500", "--no-effects"]) == 0
    assert json.loads((tmp_path / "ground_truth.json").read_text())["planted"]["bottleneck"] is None


def test_clean_command_writes_clean_rejected_and_report(tmp_path):
    src = tmp_path / "opps.csv"
    pd.DataFrame(
        {
            "Opportunity ID": ["1", "2", "2", "3"],
            "Owner": ["a", "b", "b", "c"],
            "Created Date": ["2024-01-01", "2024-01-02", "2024-01-02", "never"],
            "Stage": ["Proposal", "Closed Won", "Closed Won", "Proposal"],
            "Note": ['=HYPERLINK("x")', "", "", ""],
        }
    ).to_csv(src, index=False)
    assert main(["clean", str(src), "--table", "opportunities", "--out", str(tmp_path / "o")]) == 0
    clean = pd.read_csv(tmp_path / "o" / "opps.clean.csv")
    rejected = pd.read_csv(tmp_path / "o" / "opps.rejected.csv")
    report = json.loads((tmp_path / "o" / "opps.report.json").read_text())
    assert clean["opportunity_id"].tolist() == [1, 2]
    assert clean["Note"].iloc[0].startswith("'=")  # formula neutralised
    assert (
        rejected["source_line"].tolist() == [5] and "created_at unreadable" in rejected["reason"][0]
    )
    assert (
        report["rows_in"],
        report["clean"],
        report["rejected"],
        report["duplicates_dropped"],
    ) == (4, 2, 1, 1)


def test_validate_exit_codes(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path / "tidy"), "--leads", "600", "--tidy"]) == 0
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "tidy")]) == 0
    assert "OK: 0 rejected" in capsys.readouterr().out
    assert main(["validate", str(_paths.SAMPLE_DIR)]) == 1  # the planted mess
    out = capsys.readouterr().out
    assert "ERRORS: 9 rejected row(s)" in out and "orphan_reference" in out
    pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "account_id": ["a", "b"],
            "ordered_at": ["2024-01-01", "x"],
            "amount": [1, 2],
        }
    ).to_csv(tmp_path / "orders.csv", index=False)
    assert main(["validate", str(tmp_path)]) == 1
    assert "ERRORS: 1 rejected" in capsys.readouterr().out


def test_validate_takes_a_file_and_warns_on_an_empty_export(tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,account_id,ordered_at,amount\n1,a,2024-01-01,10\n2,b,2024-01-02,20\n"
    )
    assert main(["validate", str(orders)]) == 0
    out = capsys.readouterr().out
    assert "OK: 0 rejected" in out and "orders" in out
    other = tmp_path / "export.csv"
    other.write_text(orders.read_text())
    assert main(["validate", str(other)]) == 2
    assert "cannot tell which table" in capsys.readouterr().err
    assert main(["validate", str(other), "--table", "orders"]) == 0
    capsys.readouterr()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "opportunities.csv").write_text("opportunity_id,owner,created_at,stage\n")
    assert main(["validate", str(empty)]) == 1
    out = capsys.readouterr().out
    assert "WARNING: the export has no rows: opportunities" in out and "OK" not in out
    assert main(["validate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file or folder" in err


def test_expected_failures_are_one_line_with_exit_2(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "opportunities.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)  # truncated workbook
    assert main(["validate", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "opportunities.xlsx" in err and "Traceback" not in err
    (d / "opportunities.xlsx").unlink()
    (d / "leads.csv").write_text("lead_id,created_at\nL1,2024-01-01\n")  # no channel column
    assert main(["validate", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "channel" in err
