"""Column mapping: one implementation behind columns=, a YAML file and --map."""

from pathlib import Path

import pandas as pd
import pytest
from helpers import assert_reconciled

import salesanalytics as sa
from salesanalytics.clean.mapping import load_column_map
from salesanalytics.cli import main

DATA = Path(__file__).parent / "data" / "mapping"
MAP = {"opportunities": {"业务负责人": "owner", "状态": "stage", "登记日期": "created_at"}}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "opportunities.csv").write_bytes((DATA / "customer_export.csv").read_bytes())
    return folder


def _check(ds: sa.Dataset) -> None:
    o = ds.opportunities.set_index("opportunity_id")
    # KH101 lost on 04-10 and came back on 05-02: a second deal; KH102 won
    assert sorted(o.index) == ["KH101", "KH101#2", "KH102"]
    assert o.loc["KH101", "stage"] == "lost"
    assert o.loc["KH101#2", "stage"] == "contacted"
    assert o.loc["KH101#2", "created_at"] == pd.Timestamp("2024-05-02")
    assert o.loc["KH102", "amount"] == 450_000
    assert o["owner"].tolist() == ["钱进", "赵敏", "赵敏"]  # file order of the kept rows
    assert (o["phone"].str.contains(r"\*\*\*\*")).all()
    s = ds.summary().set_index("table").loc["opportunities"]
    assert s[["rows_in", "clean", "merged"]].tolist() == [4, 3, 1]


def test_mapping_as_dict_and_as_yaml_give_the_same_dataset(tmp_path):
    folder = _folder(tmp_path)
    a = sa.read_dataset(folder, columns=MAP)
    b = sa.read_dataset(folder, columns=DATA / "columns.yaml")
    _check(a)
    pd.testing.assert_frame_equal(a.opportunities, b.opportunities)
    assert load_column_map(DATA / "columns.yaml") == MAP
    assert load_column_map({"columns": MAP}) == MAP  # the params-file section


def test_clean_takes_a_flat_or_full_map():
    raw = sa.read_table(DATA / "customer_export.csv")
    a = sa.clean(raw, "opportunities", columns=MAP["opportunities"])
    b = sa.clean(raw, "opportunities", columns=MAP)
    assert_reconciled(a, raw)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.report["columns"]["状态"] == "stage"


def test_unmapped_required_column_names_close_matches(tmp_path):
    with pytest.raises(sa.DataContractError) as err:
        sa.read_dataset(_folder(tmp_path))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("customer_export.csv: opportunities: required column(s)") or (
        msg.startswith("opportunities.csv: opportunities: required column(s)")
    )
    assert "['owner', 'created_at', 'stage'] not found" in msg
    assert "owner ~ '业务负责人'" in msg
    assert "--map FILE" in msg


@pytest.mark.parametrize(
    "spec,expected",
    [
        (
            "bad_column.yaml",
            r"bad_column.yaml: opportunities.业务负责人: 'salesperson' is not a column",
        ),
        ("bad_table.yaml", r"bad_table.yaml: unknown table 'deals'"),
    ],
)
def test_bad_map_files_name_file_and_key(spec, expected):
    with pytest.raises(sa.DataContractError, match=expected):
        load_column_map(DATA / spec)


def test_bad_maps():
    with pytest.raises(sa.DataContractError, match="both 'a' and 'b' map onto 'owner'"):
        load_column_map({"leads": {"a": "owner", "b": "owner"}})
    with pytest.raises(sa.DataContractError, match="column map file not found"):
        load_column_map("nowhere.yaml")
    with pytest.raises(TypeError):
        sa.read_dataset(None, column=MAP)  # a misspelled keyword is an error


def test_cli_clean_and_validate_with_map(tmp_path, capsys):
    folder = _folder(tmp_path)
    out = tmp_path / "out"
    argv = ["clean", str(folder / "opportunities.csv"), "--table", "opportunities"]
    assert main([*argv, "--out", str(out), "--map", str(DATA / "columns.yaml")]) == 0
    clean = pd.read_csv(out / "opportunities.clean.csv", dtype=str)
    assert clean["opportunity_id"].tolist() == ["KH102", "KH101", "KH101#2"]
    assert main([*argv, "--out", str(out), "--map", str(DATA / "bad_table.yaml")]) == 2
    assert "unknown table 'deals'" in capsys.readouterr().err
    assert main(["validate", str(folder), "--map", str(DATA / "columns.yaml")]) == 0
    assert "OK" in capsys.readouterr().out
