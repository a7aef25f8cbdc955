"""Readers: encodings, delimiters, Excel (also under a .csv name), Parquet."""

import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.io import detect_encoding, sniff_format

ROWS = '商机编号,负责人,创建时间,当前阶段,预计成交金额\nA1,李雷,2024-01-05,需求分析,￥50万\nA2,韩梅梅,2024-02-01,商务谈判,"1,200"\n'


def test_gbk_encoded_chinese_csv(tmp_path):
    p = tmp_path / "opportunities.csv"
    p.write_bytes(ROWS.encode("gbk"))
    raw = sa.read_table(p)
    assert raw.attrs["encoding"] == "gb18030"
    res = sa.clean(raw, "opportunities")
    assert res.data["owner"].tolist() == ["李雷", "韩梅梅"]
    assert res.data["stage"].tolist() == ["needs_confirmed", "negotiation"]
    assert res.data["amount"].tolist() == [500000.0, 1200.0]


@pytest.mark.parametrize(
    "encoding,expected", [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gb18030", "gb18030")]
)
def test_encodings_detected(tmp_path, encoding, expected):
    p = tmp_path / "x.csv"
    p.write_bytes(ROWS.encode(encoding))
    assert detect_encoding(p.read_bytes()) == expected
    assert list(sa.read_table(p).columns)[0] == "商机编号"  # BOM stripped


def test_latin1_and_semicolons_and_trailing_commas(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(
        "order_id;account_id;ordered_at;amount;\nO1;Café;2024-01-01;10,5;\n".encode("latin-1")
    )
    raw = sa.read_table(p)
    assert raw.attrs["delimiter"] == ";" and raw.attrs["encoding"] == "latin-1"
    res = sa.clean(raw, "orders")
    assert res.data["account_id"].tolist() == ["Café"]
    assert list(res.data.columns) == [
        "order_id",
        "account_id",
        "ordered_at",
        "amount",
    ]  # empty column dropped
    assert "dropped 1 empty unnamed column" in " ".join(res.quality["detail"])


def test_excel_and_excel_saved_as_csv(tmp_path):
    df = pd.DataFrame(
        {
            "Opportunity ID": ["1", "2"],
            "Opportunity Owner": ["Ann", "Bo"],
            "Created Date": pd.to_datetime(["2024-01-02", "2024-03-04"]),
            "Stage": ["Closed Won", "Proposal"],
            "Amount": [1000, 2000],
        }
    )
    xlsx = tmp_path / "deals.xlsx"
    df.to_excel(xlsx, index=False)
    disguised = tmp_path / "deals.csv"
    disguised.write_bytes(xlsx.read_bytes())
    assert sniff_format(disguised) == "excel"
    a = sa.clean(sa.read_table(xlsx), "opportunities").data
    b = sa.clean(sa.read_table(disguised), "opportunities").data
    pd.testing.assert_frame_equal(a, b)
    assert a["created_at"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-03-04"]
    assert a["status"].tolist() == ["won", "open"]


def test_parquet(tmp_path):
    p = tmp_path / "accounts.parquet"
    pd.DataFrame({"account_id": ["C1"], "name": ["Acme"]}).to_parquet(p)
    assert sa.read_dataset(tmp_path).accounts["name"].tolist() == ["Acme"]


def test_unreadable_file_is_a_clear_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("")
    with pytest.raises(ValueError, match="cannot read .*x.csv"):
        sa.read_table(p)
    with pytest.raises(FileNotFoundError):
        sa.read_table(tmp_path / "missing.csv")


def test_fast_and_careful_csv_readers_agree(tmp_path):
    import io

    from salesanalytics.io import _read_fast

    text = 'a,b,c,d\r\n1,NA, x ,\r\n2,"q,""r""",,\r\n\r\n3,null,N/A,\r\n'
    fast = _read_fast(text, ",", 4, None)
    careful = pd.read_csv(
        io.StringIO(text),
        sep=",",
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        index_col=False,
    )
    pd.testing.assert_frame_equal(fast, careful)
    assert fast["b"].tolist() == ["NA", 'q,"r"', "null"]
    # a quoted line break sends the file the careful way
    assert _read_fast('a,b\n1,"x\ny"\n', ",", 2, None) is None


def _long_csv(tail: str) -> str:
    """A header, 60,000 plain rows (about 2 MB: several scan chunks), then ``tail``."""
    rows = "".join(f"O{i},C{i},2024-01-01,{i}\n" for i in range(60_000))
    return "order_id,account_id,ordered_at,amount\n" + rows + tail


def test_invisible_characters_far_into_a_large_file_are_found(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text(
        _long_csv("X1,C\u200bZ,2024-01-02,5\nX2,C\x07Y,2024-01-03,6\nX3,C\tT,2024-01-04,7\n"),
        encoding="utf-8",
    )
    ds = sa.read_dataset({"orders": p})
    assert ds.orders["account_id"].tail(3).tolist() == ["CZ", "CY", "C\tT"]  # a tab stays
    q = ds.quality[ds.quality["rule"] == "invisible_characters"]
    assert q[["row", "column"]].values.tolist() == [[60_000, "account_id"], [60_001, "account_id"]]


def test_a_header_with_a_zero_width_character_is_cleaned(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_text(
        "order_id,account\u200b_id,ordered_at,amount\nO1,C1,2024-01-01,1\n", encoding="utf-8"
    )
    ds = sa.read_dataset({"orders": p})
    assert ds.orders["account_id"].tolist() == ["C1"]


def test_non_utf8_bytes_after_megabytes_of_ascii_are_decoded(tmp_path):
    p = tmp_path / "orders.csv"
    tail = "".join(f"X{i},上海华东贸易有限公司{i},2024-01-02,5\n" for i in range(300))
    p.write_bytes(_long_csv(tail).encode("gb18030"))
    ds = sa.read_dataset({"orders": p})
    assert ds.orders["account_id"].iloc[-1] == "上海华东贸易有限公司299"
    assert len(ds.orders) == 60_300
