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


# ------------------------------------------------------------------ a sample run, once

import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from bs4 import BeautifulSoup  # noqa: E402

from salesanalytics import _paths  # noqa: E402
from salesanalytics.report.labels import LABELS  # noqa: E402
from salesanalytics.report.summary import format_value, headlines_frame, write_summary  # noqa: E402
from salesanalytics.runner import run  # noqa: E402

OWN_HEADLINES = (
    "00-data-overview",
    "01-data-quality",
    "02-funnel-bottlenecks",
    "03-channels-and-reps",
)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    res = run(
        _paths.PARAMS_DIR / "default.yaml",
        output=out,
        run_date="2026-07-01",
        progress=False,
        log=lambda _: None,
    )
    assert res.ok, [(r.name, r.error) for r in res.notebooks if r.error]
    return res.folder


def _cell(folder: Path, notebook: str, source: dict):
    df = pd.read_csv(folder / notebook / "tables" / f"{source['table']}.csv")
    for col, want in (source.get("where") or {}).items():
        df = df[df[col] == want]
    agg, col = source.get("agg"), source.get("column")
    if agg == "count":
        return len(df)
    if col and "-" in col:  # a difference of columns, e.g. leads-pending-within_sla
        first, *rest = col.split("-")
        values = df[first] - sum(df[c] for c in rest)
    else:
        values = df[col]
    if agg == "sum":
        return values.sum()
    if agg == "nunique":
        return values.nunique()
    if "row" in source:
        return values.iloc[source["row"]]
    assert len(values) == 1, source
    return values.iloc[0]


def test_summary_holds_every_headline_matching_the_tables(sample_run):
    summary = json.loads((sample_run / "summary.json").read_text(encoding="utf-8"))
    page = BeautifulSoup((sample_run / "index.html").read_text(encoding="utf-8"), "lxml")
    page_text = page.get_text(" ")
    sections = {s["notebook"]: s for s in summary["sections"]}
    assert summary["as_of"] == "2026-06-30"
    keys = {h["key"] for s in summary["sections"] for h in s["headlines"]}
    expected = {
        "as_of",
        "data_period",
        "opportunities",
        "won",
        "deal_win_rate",  # 00
        "rows_in",
        "clean",
        "rejected",
        "problem_rows",  # 01
        "bottleneck_stage",
        "bottlenecks_flagged",
        "stale_deals",  # 02
        "leads",
        "lead_to_opportunity",
        "lead_to_won",
        "sla_breaches",
        "reps_flagged",  # 03
        "stages_miscalibrated",
        "largest_probability_gap",  # 04
        "forecast_expected",  # 06
        "projected_attainment",
        "reps_behind",  # 07
    }
    assert expected <= keys
    checked = 0
    for name, sec in sections.items():
        assert sec["status"] == "ok"
        assert page.find("a", href=sec["html"]) is not None
        nb_text = BeautifulSoup(
            (sample_run / sec["html"]).read_text(encoding="utf-8"), "lxml"
        ).get_text(" ")
        for h in sec["headlines"]:
            shown = format_value(h["value"], h["kind"])
            assert shown in page_text, (name, h["key"], shown)
            assert h["label"] in page_text
            if name in OWN_HEADLINES:
                assert shown in nb_text, (name, h["key"], shown)  # the notebook shows it too
            if h["source"]:
                assert _cell(sample_run, name, h["source"]) == pytest.approx(h["value"], abs=1e-6)
                checked += 1
    assert checked >= 15
    # figures read from notebooks 04/06/07 tables, recomputed here
    f = pd.read_csv(sample_run / "06-forecast" / "tables" / "forecast.csv")
    fc = {h["key"]: h for h in sections["06-forecast"]["headlines"]}["forecast_expected"]
    assert (fc["value"], fc["low"], fc["high"]) == pytest.approx(
        tuple(f.loc[0, ["expected", "low", "high"]])
    )
    sp = pd.read_csv(sample_run / "04-stage-probabilities" / "tables" / "stage_probabilities.csv")
    sp = sp.drop_duplicates("stage")
    outside = int(((sp["configured"] < sp["low"]) | (sp["configured"] > sp["high"])).sum())
    mis = {h["key"]: h for h in sections["04-stage-probabilities"]["headlines"]}
    assert mis["stages_miscalibrated"]["value"] == outside
    pace = pd.read_csv(sample_run / "07-targets-performance" / "tables" / "pacing.csv")
    total = pace[pace["owner"] == "(total)"].iloc[0]
    att = {h["key"]: h for h in sections["07-targets-performance"]["headlines"]}
    assert att["projected_attainment"]["value"] == pytest.approx(
        total["projected"] / total["target"], abs=1e-6
    )


def test_summary_workbook_formatted_and_rewritten_identically(sample_run):
    first = (sample_run / "summary.xlsx").read_bytes()
    time.sleep(2.1)
    write_summary(sample_run)
    assert (sample_run / "summary.xlsx").read_bytes() == first
    ws = openpyxl.load_workbook(sample_run / "summary.xlsx")["headlines"]
    assert ws.freeze_panes == "A2"
    assert ws["D2"].number_format == "#,##0.00"
    t = openpyxl.load_workbook(
        sample_run / "02-funnel-bottlenecks" / "tables" / "funnel_cohort.xlsx"
    )
    ws = t.active
    assert ws.freeze_panes == "A2"
    assert "0.0%" in [c.number_format for c in ws[2]]


_P_HEADER = re.compile(r"p[-_ ]?value|p_adj|adjusted p|p值", re.I)


def _html_problems(path: Path) -> list[str]:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")
    problems = []
    for table in soup.find_all("table"):
        heads = [th.get_text(strip=True) for th in table.select("thead th")]
        if table.select("tbody tr th"):
            problems.append(f"index column in a table headed {heads[:3]}")
        if heads and heads[0] == "":
            problems.append(f"blank index header in a table headed {heads[:3]}")
        raw = [h for h in heads if h in LABELS]
        if raw:
            problems.append(f"raw header(s) {raw}")
        p_cols = [i for i, h in enumerate(heads) if _P_HEADER.search(h)]
        for tr in table.select("tbody tr"):
            cells = [td.get_text(strip=True) for td in tr.find_all(["td", "th"])]
            for i in p_cols:
                if i < len(cells) and re.fullmatch(r"0\.0+", cells[i]):
                    problems.append(f"p-value shown as {cells[i]}")
    return problems


@pytest.mark.parametrize(
    "name",
    [
        "index",
        *sorted(p.stem for p in _paths.NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb")),
    ],
)
def test_every_html_reads_like_a_report(sample_run, name):
    path = sample_run / "index.html" if name == "index" else sample_run / name / f"{name}.html"
    problems = _html_problems(path)
    assert not problems, problems[:5]


def test_the_html_check_can_fail(tmp_path):
    p = tmp_path / "raw.html"
    raw = pd.DataFrame({"lead_to_won": [0.5], "p_value": [0.0]}).to_html()
    p.write_text(raw.replace("<td>0.0</td>", "<td>0.000</td>"), encoding="utf-8")
    problems = _html_problems(p)
    assert any("index" in x for x in problems)
    assert any("raw header" in x for x in problems)
    assert any("p-value shown" in x for x in problems)


# ------------------------------------------------------------ headlines without a run


def tiny(won_only: bool = False) -> sa.Dataset:
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "owner": ["Mia"] * 4,
            "created_at": ["2024-01-01", "2024-01-10", "2024-02-20", "2024-03-05"],
            "stage": ["won", "lost", "prospect", "prospect"],
            "amount": [100.0, 200.0, 300.0, 400.0],
            "closed_at": ["2024-03-01", "2024-01-20", None, None],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O1", "O1", "O2", "O2", "O3", "O4"],
            "stage": ["prospect", "proposal", "won", "prospect", "lost", "prospect", "prospect"],
            "entered_at": [
                "2024-01-01",
                "2024-02-01",
                "2024-03-01",
                "2024-01-10",
                "2024-01-20",
                "2024-02-20",
                "2024-03-05",
            ],
        }
    )
    if won_only:
        return sa.read_dataset({"opportunities": opps.iloc[:1]})
    return sa.read_dataset({"opportunities": opps, "stage_history": hist})


def test_dataset_as_of_by_hand():
    ds = tiny()
    then = sa.dataset_as_of(ds, "2024-02-15")
    o = then.opportunities.set_index("opportunity_id")
    assert o.index.tolist() == ["O1", "O2"]  # O3 and O4 were created later
    assert o.loc["O1", "stage"] == "proposal" and o.loc["O1", "status"] == "open"
    assert pd.isna(o.loc["O1", "closed_at"])  # closed on 03-01: not known on 02-15
    assert o.loc["O2", "status"] == "lost"
    assert len(then.stage_history) == 4
    assert len(ds.opportunities) == 4  # input untouched
    c = sa.deal_conversion(ds, as_of="2024-03-31").iloc[0]
    assert (c["won"], c["lost"], c["open"], c["win_rate"]) == (1, 1, 2, 0.5)
    early = sa.deal_conversion(ds, as_of="2024-02-15").iloc[0]
    assert (early["won"], early["lost"], early["open"], early["win_rate"]) == (0, 1, 1, 0.0)


def test_won_only_data_is_not_100_percent():
    ds = tiny(won_only=True)
    c = sa.deal_conversion(ds)
    assert not c["measurable"].iloc[0] and pd.isna(c["win_rate"].iloc[0])
    items, warns = sa.report.overview_headlines(ds, as_of="2024-03-31", conversion=c)
    rate = {h["key"]: h for h in items}["deal_win_rate"]
    assert rate["value"] == "conversion cannot be measured from this export"
    assert any("won-only" in w for w in warns)
    assert any("coarse history" in w for w in warns)
    assert "100.0%" not in headlines_frame(items).to_string()


def test_as_of_outside_the_data_warns():
    ds = tiny()
    c = sa.deal_conversion(ds, as_of="2025-01-01")
    _, warns = sa.report.overview_headlines(ds, as_of="2025-01-01", conversion=c)
    assert any("after the last date in the data (2024-03-05)" in w for w in warns)
    _, warns = sa.report.overview_headlines(ds, as_of="2023-06-30", conversion=c)
    assert any("before the first opportunity" in w for w in warns)


def test_summary_page_warnings_failed_sections_and_chinese(tmp_path):
    manifest = {
        "run_date": "2026-07-01",
        "status": "ok",
        "notebooks": [
            {
                "name": "00-data-overview",
                "status": "ok",
                "parameters": {"as_of": "2024-03-31", "lang": "zh"},
            },
            {"name": "02-funnel-bottlenecks", "status": "failed", "parameters": {}},
        ],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    nb = tmp_path / "00-data-overview"
    items = [sa.report.headline("won", 1234, label="Won deals", label_zh="成交数")]
    sa.save_headlines(items, nb, warnings=["as_of 2025-01-01 is after the last date"])
    (nb / "00-data-overview.html").write_text("<html></html>", encoding="utf-8")
    s = write_summary(tmp_path)
    assert s["as_of"] == "2024-03-31" and s["lang"] == "zh"
    assert s["warnings"] == [
        "00-data-overview: as_of 2025-01-01 is after the last date",
        "02-funnel-bottlenecks: failed: section skipped",
    ]
    page = BeautifulSoup((tmp_path / "index.html").read_text(encoding="utf-8"), "lxml")
    box = page.find("div", class_="warn")
    assert "after the last date" in box.get_text() and "section skipped" in box.get_text()
    assert "成交数" in page.get_text() and "1,234" in page.get_text()
    assert page.find("a", href="00-data-overview/00-data-overview.html") is not None
