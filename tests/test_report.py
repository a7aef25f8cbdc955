"""Reports a manager reads: formatted workbooks, HTML tables, the summary page of a run."""

from __future__ import annotations

import time

import openpyxl
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.report.html import format_frame


def frame():
    return pd.DataFrame(
        {
            "stage": ["prospect", "needs_confirmed"],
            "leads": [1234, 56],
            "conversion": [0.4, 0.375],
            "won_amount": [1500000.0, 2.5],
            "p_value": [0.00001, 0.2],
            "created_at": pd.to_datetime(["2024-03-01", "2024-03-02"]),
            "note": ["=HYPERLINK(1)", "ok"],
        }
    )


def test_workbook_formats_and_frozen_header(tmp_path):
    p = sa.write_excel({"funnel": frame()}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(p)["funnel"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:G3"
    assert [c.number_format for c in ws[2]] == [
        "General",
        "#,##0",
        "0.0%",
        "#,##0.00",
        "0.000",
        "yyyy-mm-dd",
        "General",
    ]
    assert ws["A1"].font.bold
    assert ws.column_dimensions["A"].width == len("needs_confirmed") + 2
    assert ws["G2"].value == "'=HYPERLINK(1)"  # still formula-safe
    assert ws["B2"].value == 1234 and ws["C3"].value == 0.375


def test_workbook_labels(tmp_path):
    p = sa.write_excel({"s": frame()[["stage", "leads"]]}, tmp_path / "zh.xlsx", lang="zh")
    ws = openpyxl.load_workbook(p)["s"]
    assert [c.value for c in ws[1]] == ["阶段名称", "线索数"]
    assert ws["A3"].value == "需求确认"


def test_two_writes_give_identical_bytes(tmp_path):
    a = sa.write_excel({"funnel": frame()}, tmp_path / "a.xlsx").read_bytes()
    time.sleep(2.1)  # zip entry times have a 2-second resolution
    b = sa.write_excel({"funnel": frame()}, tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_html_table_formats():
    f = format_frame(frame(), "en")
    assert f.columns.tolist() == [
        "Stage",
        "Leads",
        "Conversion",
        "Won amount",
        "p-value",
        "Created",
        "Note",
    ]
    assert f.iloc[0].tolist() == [
        "Prospect",
        "1,234",
        "40.0%",
        "1,500,000",
        "< 0.001",
        "2024-03-01",
        "=HYPERLINK(1)",
    ]
    assert f.iloc[1, 4] == "0.200"
    html = sa.show(frame(), lang="zh")._repr_html_()
    assert "<th>阶段名称</th>" in html and "需求确认" in html and "0.000" not in html


def test_show_cuts_long_tables_with_a_link():
    t = sa.show(pd.DataFrame({"leads": range(100)}), max_rows=10, name="big")
    assert len(t.data) == 10
    assert 'href="tables/big.csv"' in t.to_html()
    assert "10 of 100 rows" in repr(t)


def test_show_keeps_a_named_index_as_a_column():
    d = pd.DataFrame({"leads": [3, 4]}, index=pd.Index(["web", "fair"], name="channel"))
    t = sa.show(d)
    assert t.data.columns.tolist() == ["Channel", "Leads"]
    with pytest.raises(TypeError):
        sa.show(d, langs="zh")
