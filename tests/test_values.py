"""Value rules, each on a small hand-made input."""

import pandas as pd
import pytest

from salesanalytics.clean import values as V


def _dates(cells, **kw):
    p = V.parse_datetime(pd.Series(cells), **kw)
    return p.values.dt.strftime("%Y-%m-%d %H:%M").tolist(), p.bad.tolist(), p.notes


def test_iso_and_chinese_and_ymd_slash_dates():
    got, bad, _ = _dates(["2024-03-05", "2024-03-05T14:30:00", "2024年3月5日", "2024/3/5 09:15"])
    assert got == ["2024-03-05 00:00", "2024-03-05 14:30", "2024-03-05 00:00", "2024-03-05 09:15"]
    assert not any(bad)


def test_day_month_order_is_decided_per_column():
    got, _, notes = _dates(["03/04/2024", "25/04/2024"])  # 25 can only be a day
    assert got == ["2024-04-03 00:00", "2024-04-25 00:00"] and "day-first" in notes[0]
    got, _, _ = _dates(["03/04/2024", "04/25/2024"])  # 25 can only be a day: month first
    assert got == ["2024-03-04 00:00", "2024-04-25 00:00"]


def test_ambiguous_column_uses_parameter_and_says_so():
    got, _, notes = _dates(["03/04/2024"])
    assert got == ["2024-03-04 00:00"] and "ambiguous" in notes[0] and "M/D/Y" in notes[0]
    got, _, _ = _dates(["03/04/2024"], dayfirst=True)
    assert got == ["2024-04-03 00:00"]


def test_contradicting_cells_are_bad_not_guessed():
    got, bad, notes = _dates(["25/04/2024", "26/04/2024", "04/27/2024"])
    assert bad == [False, False, True] and "mixed" in notes[0]


def test_excel_serials_and_time_zones():
    got, bad, _ = _dates(["45292", "2024-01-01T08:00:00+08:00", "2024-01-01T00:00:00Z"])
    assert got == ["2024-01-01 00:00", "2024-01-01 00:00", "2024-01-01 00:00"]
    nums = V.parse_datetime(pd.Series([45292.5, None]))
    assert nums.values.iloc[0] == pd.Timestamp("2024-01-01 12:00")


def test_unreadable_dates_are_marked_bad_and_placeholders_are_missing():
    got, bad, _ = _dates(["yesterday", "N/A", None, "Select"])
    assert bad == [True, False, False, False]


@pytest.mark.parametrize(
    "text,value",
    [
        ("¥50万", 500_000.0),
        ("50万元", 500_000.0),
        ("RMB 1,234.50", 1234.5),
        ("$3k", 3000.0),
        ("2.5M", 2_500_000.0),
        ("1.2亿", 120_000_000.0),
        ("(1,200)", -1200.0),
        ("1.234,56", 1234.56),
        ("€ 99", 99.0),
        ("3千", 3000.0),
        ("  42 ", 42.0),
    ],
)
def test_amounts(text, value):
    assert V.parse_number(pd.Series([text])).values.iloc[0] == pytest.approx(value)


def test_amount_ranges_keep_low_high_and_midpoint():
    p = V.parse_number(pd.Series(["50-80万", "10k~20k", "7"]))
    assert p.values.tolist() == [650_000.0, 15_000.0, 7.0]
    assert p.extra["low"].tolist()[:2] == [500_000.0, 10_000.0]
    assert p.extra["high"].tolist()[:2] == [800_000.0, 20_000.0]


def test_unreadable_amount_is_bad():
    p = V.parse_number(pd.Series(["lots", "unknown", None]))
    assert p.bad.tolist() == [True, False, False]


def test_booleans():
    p = V.parse_bool(pd.Series(["Yes", "no", "是", "否", "1", "0", "TRUE", "maybe", None]))
    assert p.values.tolist()[:7] == [True, False, True, False, True, False, True]
    assert p.bad.tolist() == [False] * 7 + [True, False]


def test_placeholders_and_case_drift():
    p = V.normalise_category(
        pd.Series(["Google", "google", " GOOGLE ", "Google", "Select", "bing", "-"])
    )
    assert p.values.tolist()[:4] == ["Google"] * 4
    assert p.values.isna().tolist() == [False, False, False, False, True, False, True]
    assert "2 cells folded" in p.notes[0]


def test_ids_from_excel_numbers():
    assert V.normalise_id(pd.Series([123.0, 45.0])).values.tolist() == ["123", "45"]
    assert V.normalise_id(pd.Series([" A-1 ", "7.0"])).values.tolist() == ["A-1", "7"]


def test_masking():
    assert V.mask_phone(pd.Series(["138-1234-5678", "12"])).tolist() == ["138****5678", "****"]
    assert V.mask_email(pd.Series(["john.doe@example.com"])).tolist() == ["j***@example.com"]


def test_impossible_slash_date_is_bad_and_not_evidence_of_an_order():
    got, bad, notes = _dates(["31/31/2025", "2024-01-01"])
    assert bad == [True, False] and notes == []


# ---------------------------------------------------------------- the guides' value forms
def test_guide_amounts_ranges_counts_and_days():
    p = V.parse_number(pd.Series(["1500万", "50-80万元", "20家", "30天", "90天+", "113%", None]))
    assert p.values.tolist()[:5] == [15_000_000.0, 650_000.0, 20.0, 30.0, 90.0]
    assert p.bad.tolist() == [False, False, False, False, False, True, False]  # % in an amount
    assert p.extra["low"][1] == 500_000.0 and p.extra["high"][1] == 800_000.0
    assert p.flags["range"].tolist() == [False, True, False, False, False, False, False]
    assert p.flags["open_ended"].tolist() == [False, False, False, False, True, False, False]


def test_percentages_become_fractions_in_percentage_columns():
    p = V.parse_number(pd.Series(["113%", "+8%", "-5%", "0.9", "n/a"]), percent=True)
    assert [round(v, 6) for v in p.values.tolist()[:4]] == [1.13, 0.08, -0.05, 0.9]
    assert p.bad.tolist() == [False] * 5
    # an unknown column of percentages (完成率 110%) becomes fractions too
    assert V.infer_extra(pd.Series(["110%", "95%"])).round(6).tolist() == [1.1, 0.95]


def test_periods_of_the_templates():
    p = V.parse_period(
        pd.Series(["2024年1月", "2024-03", "2024年Q1", "2024-Q2", "2024Q3", "2024年", "2024", "Q5"])
    )
    assert p.values.tolist()[:7] == [
        "2024-01",
        "2024-03",
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024",
        "2024",
    ]
    assert p.bad.tolist() == [False] * 7 + [True]


def test_range_value_is_flagged_in_the_quality_report():
    import salesanalytics as sa

    df = pd.DataFrame(
        {
            "opportunity_id": ["A1", "A2"],
            "owner": ["Ann Fox", "Bo Lin"],
            "created_at": ["2024-01-05", "2024-01-06"],
            "stage": ["proposal", "proposal"],
            "amount": ["50-80万元", "1500万"],
        }
    )
    res = sa.clean(df, "opportunities")
    assert res.data["amount"].tolist() == [650_000.0, 15_000_000.0]
    assert res.data["amount_low"].tolist()[0] == 500_000.0
    q = res.quality[res.quality["rule"] == "range_value"]
    assert q[["row", "column", "action"]].values.tolist() == [[0, "amount", "flagged"]]


def test_dates_in_one_format_parse_in_one_call_and_leftovers_by_rule():
    got, bad, _ = _dates(["2024-03-05", "2024-03-06", "2024年3月7日", "Mar 8, 2024", "today"])
    assert got[:4] == [
        "2024-03-05 00:00",
        "2024-03-06 00:00",
        "2024-03-07 00:00",
        "2024-03-08 00:00",
    ]
    assert bad == [False, False, False, False, True]


def test_invisible_characters():
    out, hit = V.strip_invisible(pd.Series(["a\u200bb", "c\x01", "d\te", "\ufefff", None]))
    assert out.tolist()[:4] == ["ab", "c", "d\te", "f"] and hit.tolist() == [
        True,
        True,
        False,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("cells", "one_cast"),
    [
        (["2024-03-05", "2300-01-01", None, "1899-12-31"], True),
        (["2024-03-05 14:30:00", None, "2024-03-06 00:00:01"], True),
        (["2024-03-05T14:30:00", "2024-03-06T01:02:03"], True),
        (["2024-03-05 14:30", "2024-03-05 14:31"], True),
        (["2024-03-05", "2024-02-30"], False),  # an impossible day
        (["2024-03-05 14:30:00", "2024-03-05T14:30:00"], False),  # two separators
        (["2024-03-05", "N/A       "], False),  # same length, a placeholder
    ],
)
def test_canonical_date_columns_read_as_the_general_path(cells, one_cast):
    """A pyarrow column of zero-padded ISO cells is read in one cast; the result is the
    general path's, out-of-range and impossible cells included."""
    arrow = pd.Series(cells, dtype="string[pyarrow]")
    assert (V._canonical_column(arrow) is not None) == one_cast
    fast = V.parse_datetime(arrow)
    slow = V.parse_datetime(pd.Series(cells, dtype=object))
    pd.testing.assert_series_equal(fast.values, slow.values, check_names=False)
    assert fast.bad.fillna(False).tolist() == slow.bad.fillna(False).tolist()
    assert fast.flags["out_of_range"].fillna(False).tolist() == (
        slow.flags["out_of_range"].fillna(False).tolist()
    )


def test_canonical_date_column_by_hand():
    p = V.parse_datetime(
        pd.Series(["2024-03-05", "2300-01-01", None, "1899-12-31"], dtype="string[pyarrow]")
    )
    assert p.values.tolist()[0] == pd.Timestamp("2024-03-05")
    assert p.values.isna().tolist() == [False, True, True, True]
    assert p.bad.tolist() == [False, True, False, True]
    assert p.flags["out_of_range"].tolist() == [False, True, False, True]


def test_may_contain_searches_the_cells_bytes():
    import pyarrow as pa

    cells = pa.array(["ab", None, "c.d", "TOTAL", "x\u3000y"], type=pa.large_string())
    assert V.may_contain(cells, ".") and V.may_contain(cells, "\u3000")
    assert V.may_contain(cells, "total", ignore_case=True)
    assert not V.may_contain(cells, "total") and not V.may_contain(cells, "z")
    # a slice sees only its own cells; a chunked array every chunk; 32-bit offsets too
    assert not V.may_contain(cells.slice(0, 2), ".") and V.may_contain(cells.slice(2, 1), ".")
    chunked = pa.chunked_array([pa.array(["a", "b"]), pa.array(["c", "T"])])
    assert V.may_contain(chunked, "T") and not V.may_contain(chunked, "d")
    assert not V.may_contain(pa.array([], type=pa.string()), "a")
