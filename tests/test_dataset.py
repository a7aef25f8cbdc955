import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.schema import TABLES


def test_sample_has_every_table_with_canonical_columns_and_dtypes(sample_ds):
    assert set(sample_ds.tables) == set(TABLES)
    for name, df in sample_ds.tables.items():
        spec = TABLES[name]
        for col in spec.columns:
            if col.name in df:
                assert str(df[col.name].dtype) == col.dtype, (name, col.name)
        assert set(spec.required) <= set(df.columns)
    assert sample_ds.opportunities["status"].isin(["open", "won", "lost"]).all()
    assert sample_ds.leads["company_size"].dtype == "Int64"  # unknown columns kept, typed


def test_sample_row_accounting_is_complete(sample_ds):
    s = sample_ds.summary()
    assert (
        s["rows_in"] == s["clean"] + s["rejected"] + s["duplicates_dropped"] + s["merged"]
    ).all()
    assert s.set_index("table").loc["opportunities", ["rows_in", "clean"]].tolist() == [3416, 3411]


def test_planted_mess_is_found_exactly(sample_ds):
    """The generator plants known problems in the files; cleaning finds exactly those."""
    import json

    from salesanalytics import _paths

    mess = json.loads((_paths.SAMPLE_DIR / "ground_truth.json").read_text())["mess"]
    q = sample_ds.quality
    rows = lambda t, rule: sorted(q.loc[(q["table"] == t) & (q["rule"] == rule), "row"].tolist())  # noqa: E731
    assert rows("opportunities", "exact_duplicate") == mess["opportunities"]["duplicate_rows"]
    assert rows("opportunities", "below_minimum") == mess["opportunities"]["below_minimum_rows"]
    assert rows("opportunities", "unknown_reference") == mess["opportunities"]["unknown_owner_rows"]
    assert rows("leads", "unreadable_datetime") == mess["leads"]["rejected_rows"]
    assert rows("leads", "same_contact") == mess["leads"]["merged_rows"]
    assert sorted(sample_ds.rejected["orders"]["row"]) == mess["orders"]["rejected_rows"]
    assert (
        sorted(sample_ds.rejected["stage_history"]["row"]) == mess["stage_history"]["rejected_rows"]
    )
    o = sample_ds.opportunities
    assert set(o["owner"]) == {
        "Ana Silva",
        "Ben Okafor",
        "Chen Wei",
        "Diana Park",
        "Ethan Brooks",
        "Fatima Khan",
        "Gao Lin",
        "Hugo Martin",
        "Ben Okafr",
    }
    assert set(o["stage"]) <= set(sample_ds.stages.keys)  # Chinese stage names mapped
    assert o["amount"].isna().sum() == 3 and sorted(set(sample_ds.activities["kind"])) == [
        "call",
        "email",
        "meeting",
        "visit",
    ]
    merged = sample_ds.leads.dropna(subset=["merged_lead_ids"])
    assert sorted(merged["lead_id"]) == sorted(mess["leads"]["merged_into"])
    assert merged["channels"].str.contains("|", regex=False).all()


def test_phone_numbers_are_masked_by_default(sample_ds):
    assert sample_ds.leads["phone"].str.fullmatch(r"139\*{4}\d{4}").all()


def test_mapping_of_dataframes_with_chinese_headers():
    opps = pd.DataFrame(
        {
            "商机编号": ["A1", "A2", "A3"],
            "负责人": ["李雷", "韩梅梅", "李雷"],
            "创建时间": ["2024-01-05", "2024/02/01", "2024年3月5日"],
            "当前阶段": ["需求分析", "成交", "流失"],
            "预计成交金额": ["¥50万", "3,000", "1.2k"],
        }
    )
    ds = sa.read_dataset({"opportunities": opps})
    o = ds.opportunities
    assert o["stage"].tolist() == ["needs_confirmed", "won", "lost"]
    assert o["created_at"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-05",
        "2024-02-01",
        "2024-03-05",
    ]
    assert o["amount"].tolist() == [500000.0, 3000.0, 1200.0]
    assert ds.history_is_coarse


def test_missing_required_column_is_a_clear_error(tmp_path):
    pd.DataFrame({"opportunity_id": ["1"], "stage": ["won"]}).to_csv(
        tmp_path / "opportunities.csv", index=False
    )
    with pytest.raises(sa.DataContractError, match=r"\['owner', 'created_at'\] not found"):
        sa.read_dataset(tmp_path)


def test_empty_folder_and_missing_folder(tmp_path):
    with pytest.raises(sa.DataContractError, match="no table files"):
        sa.read_dataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        sa.read_dataset(tmp_path / "absent")


def test_sql_source_through_sqlalchemy(tmp_path):
    import sqlalchemy

    url = f"sqlite:///{tmp_path / 'crm.db'}"
    pd.DataFrame(
        {
            "order_id": ["O1", "O2"],
            "account_id": ["C1", "C2"],
            "ordered_at": ["2024-01-01", "2024-01-02"],
            "amount": [10.5, 20.0],
        }
    ).to_sql("orders", sqlalchemy.create_engine(url), index=False)
    ds = sa.read_dataset({"orders": "SELECT * FROM orders"}, con=url)
    assert ds.orders["amount"].sum() == 30.5
