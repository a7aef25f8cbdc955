"""Per-cell problems stay per-cell: dates, invisible characters, malformed rows, headers."""

from pathlib import Path

import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.io import detect_encoding

DATA = Path(__file__).parent / "data"


def _opps(**cols):
    base = {
        "opportunity_id": ["A1", "A2", "A3", "A4"],
        "owner": ["Ann Fox", "Bo Lin", "Ann Fox", "Bo Lin"],
        "created_at": ["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"],
        "stage": ["proposal", "won", "won", "lost"],
        "closed_at": [None, "2024-02-01", "2024-02-02", "2024-02-03"],
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_out_of_range_dates_reject_the_cell_not_the_table():
    df = _opps(
        created_at=["2300-01-01", "2024-01-06", "1800-01-01", "2024-01-08"],
        closed_at=[None, "2999-12-31", "2024-02-02", "2024-02-03"],
    )
    res = sa.clean(df, "opportunities")
    assert res.data["opportunity_id"].tolist() == ["A2", "A4"]
    assert res.rejected["row"].tolist() == [0, 2]
    assert res.rejected["reason"].tolist() == [
        "created_at out of range: '2300-01-01'",
        "created_at out of range: '1800-01-01'",
    ]
    q = res.quality[res.quality["rule"] == "date_out_of_range"]
    assert q[["row", "column", "action"]].values.tolist() == [
        [0, "created_at", "rejected"],
        [1, "closed_at", "set_missing"],
        [2, "created_at", "rejected"],
    ]
    assert res.data["closed_at"].isna().tolist() == [True, False]


def test_date_window_is_configurable():
    df = _opps(created_at=["1950-01-01", "2024-01-06", "2024-01-07", "2024-01-08"])
    res = sa.clean(df, "opportunities", date_range=("2000-01-01", "2030-12-31"))
    assert res.rejected["reason"].tolist() == ["created_at out of range: '1950-01-01'"]


@pytest.mark.parametrize("word", ["now", "today", "Today", "昨天", "tomorrow", "yesterday"])
def test_relative_words_are_never_the_wall_clock(word):
    res = sa.clean(
        _opps(created_at=[word, "2024-01-06", "2024-01-07", "2024-01-08"]), "opportunities"
    )
    assert res.rejected["reason"].tolist() == [f"created_at unreadable: {word!r}"]
    assert res.data["created_at"].max() == pd.Timestamp("2024-01-08")


def test_invisible_characters_are_stripped_and_counted():
    df = _opps(
        owner=["Ann Fox", "Bo\u200b Lin", "Ann Fox\ufeff", "Bo\u200bLin"],
        stage=["proposal", "won\x01", "won", "lost"],
    )
    df["notes"] = ["ok\x00", "tab\tkept", None, "fine"]
    res = sa.clean(df, "opportunities")
    assert res.data["owner"].tolist() == ["Ann Fox", "Bo Lin", "Ann Fox", "Bo Lin"]
    assert res.data["stage"].tolist() == ["proposal", "won", "won", "lost"]
    assert res.data["notes"].tolist()[0] == "ok"
    q = res.quality[res.quality["rule"] == "invisible_characters"]
    assert q[["row", "column"]].values.tolist() == [
        [0, "notes"],
        [1, "owner"],
        [1, "stage"],
        [2, "owner"],
        [3, "owner"],
    ]
    assert not q["action"].ne("fixed").any()


def test_truncated_last_row_is_rejected(tmp_path):
    ds = sa.read_dataset({"orders": DATA / "orders_truncated.csv"})
    assert ds.orders["order_id"].tolist() == ["O1", "O2"]
    rej = ds.rejected["orders"]
    assert rej["row"].tolist() == [2]
    assert rej["reason"].tolist() == ["truncated row (3 of 4 fields)"]
    r = ds.reports["orders"]
    assert r["rows_in"] == 3 and r["clean"] == 2 and r["rejected"] == 1
    assert ds.quality.query("rule == 'truncated_row'")["row"].tolist() == [2]


def test_row_with_too_many_fields_is_rejected_but_a_trailing_comma_is_not():
    ds = sa.read_dataset({"orders": DATA / "orders_extra_fields.csv"})
    assert ds.orders["order_id"].tolist() == ["O1", "O3"]
    assert ds.rejected["orders"]["reason"].tolist() == ["too many fields (6 for 4 columns)"]


def test_quoted_file_with_a_truncated_row(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text(
        'order_id,account_id,ordered_at,amount\nO1,"C1, Ltd",2024-01-01,"1,000"\nO2,"C2\n', "utf-8"
    )
    ds = sa.read_dataset({"orders": p})
    assert ds.orders["amount"].tolist() == [1000.0]
    assert ds.rejected["orders"]["reason"].str.startswith("truncated row").tolist() == [True]


def test_duplicate_raw_headers_name_both_columns():
    with pytest.raises(
        sa.DataContractError, match=r"duplicate header 'amount' \(columns 4 and 5\)"
    ):
        sa.read_table(DATA / "orders_duplicate_header.csv")
    df = pd.DataFrame([["O1", "C1", "2024-01-01", 1, 2]])
    df.columns = ["order_id", "account_id", "ordered_at", "amount", "amount"]
    with pytest.raises(sa.DataContractError, match="duplicate header 'amount'"):
        sa.clean(df, "orders")


def test_two_different_aliases_of_one_name_keep_the_first_with_a_note():
    df = pd.DataFrame(
        {
            "order_id": ["O1"],
            "account_id": ["C1"],
            "ordered_at": ["2024-01-01"],
            "amount": ["1"],
            "金额": ["2"],
        }
    )
    res = sa.clean(df, "orders")
    assert res.data["amount"].tolist() == [1.0]
    notes = res.quality.loc[res.quality["rule"] == "headers", "detail"].tolist()
    assert "'金额' also names 'amount': 'amount' used, '金额' kept as is" in notes


def test_the_same_header_in_two_scripts_is_an_error():
    df = pd.DataFrame(
        {
            "order_id": ["O1"],
            "account_id": ["C1"],
            "ordered_at": ["2024-01-01"],
            "金额": ["1"],
            "金額": ["2"],
        }
    )
    with pytest.raises(sa.DataContractError, match="'金额' and '金額' both name 'amount'"):
        sa.clean(df, "orders")


def test_duplicate_headers_in_excel(tmp_path):
    p = tmp_path / "orders.xlsx"
    df = pd.DataFrame([["O1", "C1", "2024-01-01", 1, 2]])
    df.columns = ["order_id", "account_id", "ordered_at", "amount", "amount"]
    df.to_excel(p, index=False)
    with pytest.raises(sa.DataContractError, match="duplicate header 'amount'"):
        sa.read_table(p)


ROWS = "客戶編號,負責人,備注\nKH001,陳小明,優先\nKH002,林美華,正常\n"


@pytest.mark.parametrize(
    "encoding,expected",
    [
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("big5", "big5"),
        ("gbk", "gb18030"),
        ("utf-8-sig", "utf-8-sig"),
    ],
)
def test_encodings_by_charset_normalizer(tmp_path, encoding, expected):
    p = tmp_path / "x.csv"
    data = ROWS.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # no BOM
        assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    p.write_bytes(data)
    assert detect_encoding(data) == expected
    raw = sa.read_table(p)
    assert list(raw.columns) == ["客戶編號", "負責人", "備注"]
    assert raw["負責人"].tolist() == ["陳小明", "林美華"]


def test_cp1252_curly_quotes_and_dashes(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("id;note\n1;“quoted” – dash €5\n".encode("cp1252"))
    raw = sa.read_table(p)
    assert raw.attrs["encoding"] == "cp1252"
    assert raw["note"].tolist() == ["“quoted” – dash €5"]


def test_zero_width_space_in_a_rep_name_is_no_phantom_rep():
    opps = _opps(owner=["Ethan Brooks", "Ethan\u200bBrooks", "\ufeffEthan Brooks", "Goo\u200bgle"])
    reps = pd.DataFrame({"owner": ["Ethan Brooks", "Google"], "team": ["East", "East"]})
    ds = sa.read_dataset({"opportunities": opps, "reps": reps})
    assert ds.opportunities["owner"].tolist() == ["Ethan Brooks"] * 3 + ["Google"]
    assert not (ds.quality["rule"] == "unknown_reference").any()
    assert (ds.quality["rule"] == "invisible_characters").sum() == 3


def test_invisible_characters_in_a_csv_file(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text(
        "order_id,account_id,ordered_at,amount,note\n"
        "O1,C1,2024-01-01,100,ok\x01\nO2,C\u200b2,2024-01-02,200,fine\n",
        encoding="utf-8",
    )
    ds = sa.read_dataset({"orders": p})
    assert ds.orders["account_id"].tolist() == ["C1", "C2"]
    assert ds.orders["note"].tolist() == ["ok", "fine"]
    q = ds.quality[ds.quality["rule"] == "invisible_characters"]
    assert q[["row", "column"]].values.tolist() == [[0, "note"], [1, "account_id"]]
