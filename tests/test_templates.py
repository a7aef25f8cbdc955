"""The guides' templates read with their own headers, in either script, with no mapping."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_reconciled

import salesanalytics as sa
from salesanalytics.clean.headers import header_key, map_headers
from salesanalytics.dataset import find_table_files
from salesanalytics.schema import TABLES
from salesanalytics.stages import load_stages, normalise_grade, to_simplified

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "data" / "examples"
DATA = Path(__file__).parent / "data" / "templates"

# template file (simplified name) -> table, rows in, clean rows
TEMPLATES = {
    "客户跟进记录表": ("activities", 5, 5),
    "客户跟进记录表(001)": ("activities", 3, 3),
    "线索获取与筛选表": ("leads", 4, 4),
    "线索分级与分配表": ("leads", 3, 3),
    "销售目标分解与追踪表": ("targets", 4, 4),
    "销售业绩分析表": ("targets", 4, 3),
    "客户关系维护表": ("accounts", 3, 3),
    "客户阶段转化跟踪表": ("opportunities", 10, 9),
}


def _t2s_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) or pd.api.types.is_object_dtype(out[c]):
            out[c] = out[c].map(lambda v: to_simplified(v) if isinstance(v, str) else v)
    return out


def _path(script: str, name: str) -> Path:
    folder = EXAMPLES / script
    stem = name if script == "zh-hans" else _s2t(name)
    hits = [p for p in folder.iterdir() if p.stem == stem]
    assert len(hits) == 1, (folder, stem)
    return hits[0]


def _s2t(text: str) -> str:
    from opencc_purepy import OpenCC

    return OpenCC("s2t").convert(text)


@pytest.mark.parametrize("script", ["zh-hans", "zh-hant"])
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_each_template_reads_without_mapping(script, name):
    table, rows_in, n_clean = TEMPLATES[name]
    raw = sa.read_table(_path(script, name))
    res = sa.clean(raw, table)
    assert_reconciled(res, raw)
    assert (res.report["rows_in"], res.report["clean"]) == (rows_in, n_clean)
    assert set(TABLES[table].required) <= set(res.data.columns)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_both_scripts_give_identical_tables(name):
    table = TEMPLATES[name][0]
    a = sa.clean(sa.read_table(_path("zh-hans", name)), table)
    b = sa.clean(sa.read_table(_path("zh-hant", name)), table)
    # ids, dates, numbers, stages, grades, status are identical; free text keeps its script
    pd.testing.assert_frame_equal(_t2s_frame(a.data), _t2s_frame(b.data), check_dtype=False)
    assert list(a.data.columns) == list(b.data.columns)
    # categories (channel, industry, product, grade ...) are written in simplified script
    cats = [c.name for c in TABLES[table].columns if c.kind == "category" and c.name in a.data]
    pd.testing.assert_frame_equal(a.data[cats], b.data[cats], check_dtype=False)
    assert a.rejected["reason"].tolist() == b.rejected["reason"].map(to_simplified).tolist()


def test_template_files_are_found_by_name_in_either_script():
    expected = {
        "opportunities": "客户阶段转化跟踪表",
        "accounts": "客户关系维护表",
        "targets": "销售业绩分析表",
    }
    for script in ("zh-hans", "zh-hant"):
        found = find_table_files(EXAMPLES / script)
        assert set(found) == {"opportunities", "leads", "activities", "targets", "accounts"}
        for table, stem in expected.items():
            assert to_simplified(found[table].stem) == stem
    assert find_table_files(EXAMPLES / "zh-hant")["targets"].suffix == ".xlsx"


@pytest.fixture(scope="module")
def stage_ds():
    return {s: sa.read_dataset(EXAMPLES / s) for s in ("zh-hans", "zh-hant")}


def test_folder_of_templates_reads_in_both_scripts(stage_ds):
    a, b = stage_ds["zh-hans"], stage_ds["zh-hant"]
    for table in a.tables:
        pd.testing.assert_frame_equal(
            _t2s_frame(a.tables[table]), _t2s_frame(b.tables[table]), check_dtype=False
        )
    s = a.summary().set_index("table")
    assert s.loc["opportunities", ["rows_in", "clean", "merged"]].tolist() == [10, 9, 1]
    assert s.loc["leads", "source"] == "线索获取与筛选表.csv + 线索分级与分配表.csv"
    assert (
        s["rows_in"] == s["clean"] + s["rejected"] + s["duplicates_dropped"] + s["merged"]
    ).all()


def test_stage_tracking_funnel_matches_hand_counts(stage_ds):
    for ds in stage_ds.values():
        # current stages (hand count of the example's 9 deals)
        counts = ds.opportunities["stage"].value_counts().to_dict()
        assert counts == {
            "lost": 2,
            "contacted": 1,
            "won": 1,
            "needs_confirmed": 1,
            "negotiation": 1,
            "prospect": 1,
            "contract": 1,
            "proposal": 1,
        }
        f = sa.funnel_summary(ds, as_of="2024-03-31").set_index("stage")
        assert f["reached"].tolist() == [9, 8, 7, 5, 3, 2]
        assert f["advanced"].tolist() == [8, 7, 5, 3, 2, 1]
        assert f["lost_here"].tolist() == [0, 0, 1, 1, 0, 0]
        assert f["open_here"].tolist() == [1, 1, 1, 1, 1, 1]
        assert f["won"].tolist() == [1] * 6
        np.testing.assert_allclose(f["conversion"], [1, 1, 5 / 6, 3 / 4, 1, 1])


def test_customer_keyed_deals(stage_ds):
    o = stage_ds["zh-hant"].opportunities.set_index("opportunity_id")
    assert sorted(o.index) == [
        "KH001", "KH001#2", "KH002", "KH003", "KH004", "KH005", "KH006", "KH007", "KH008"
    ]  # fmt: skip
    # KH001 was lost on 2024-02-20 and came back: a second deal
    assert o.loc["KH001", "status"] == "lost" and o.loc["KH001#2", "status"] == "open"
    assert o.loc["KH001#2", "account_id"] == "KH001"
    # KH004's two rows are one deal: the later row is the deal, created when first seen
    assert o.loc["KH004", "stage"] == "negotiation"
    assert o.loc["KH004", "created_at"] == pd.Timestamp("2024-03-07")
    assert o.loc["KH002", "closed_at"] == pd.Timestamp("2024-03-10")
    # (万元) header: bare numbers x 10,000; a cell with its own unit is already in yuan
    assert o.loc["KH007", "amount"] == 1_500_000
    assert o.loc["KH008", "amount"] == 900_000
    assert o.loc["KH003", ["amount_low", "amount", "amount_high"]].tolist() == [
        300_000,
        400_000,
        500_000,
    ]
    h = stage_ds["zh-hant"].stage_history
    kh004 = h[h["opportunity_id"] == "KH004"]
    assert kh004["stage"].tolist() == ["needs_confirmed", "proposal", "negotiation"]
    q = stage_ds["zh-hant"].quality
    assert "customer_key" in set(q["rule"]) and "same_customer_deal" in set(q["rule"])


def test_target_sheet_in_ten_thousands():
    for script in ("zh-hans", "zh-hant"):
        res = sa.clean(sa.read_table(_path(script, "销售业绩分析表")), "targets")
        d = res.data
        assert d["target_amount"].tolist() == [1_000_000, 1_000_000, 1_000_000]
        assert d["actual_amount"].tolist() == [1_200_000, 800_000, 950_000]
        np.testing.assert_allclose(d["attainment"], [1.20, 0.80, 0.95])
        np.testing.assert_allclose(d["yoy_growth"], [0.08, -0.05, 0.03])
        assert d["owner"].map(to_simplified).tolist() == ["张伟", "李娜", "张伟"]
        assert res.rejected["reason"].tolist() == ["subtotal row"]
        assert res.rejected["row"].tolist() == [3]


def test_target_breakdown_sheet():
    res = sa.clean(sa.read_table(_path("zh-hans", "销售目标分解与追踪表")), "targets")
    d = res.data
    assert d["period"].tolist() == ["2024-Q1", "2024-Q1", "2024-Q2", "2024-Q1"]
    assert d["target_amount"].tolist() == [3_000_000, 2_500_000, 4_000_000, 20]
    assert d["actual_amount"].tolist()[:2] == [3_300_000, 2_000_000]
    np.testing.assert_allclose(d["attainment"].astype(float)[:2], [1.1, 0.8])
    assert d["shortfall_reason"].tolist()[1] == "大客户延期签约"
    # a count target (新签客户数, 20家) is kept as its own metric row; attainment of bookings
    # reads the amount rows only, target_sheet reads both
    assert d["metric"].tolist()[3] == "新签客户数" and res.rejected.empty
    ds = sa.read_dataset({"targets": _path("zh-hans", "销售目标分解与追踪表")})
    assert sa.performance._base.revenue_rows(ds.targets)["target_amount"].sum() == 9_500_000


def test_subtotals_in_either_script_and_units_per_cell():
    raw = sa.read_table(DATA / "targets_traditional.csv")
    res = sa.clean(raw, "targets")
    assert_reconciled(res, raw)
    assert res.data["actual_amount"].tolist() == [1_200_000, 800_000]  # 80萬 is yuan already
    assert res.data["target_amount"].tolist() == [1_000_000, 1_000_000]
    assert res.rejected["reason"].tolist() == ["subtotal row"]
    assert res.data["target_amount"].sum() == 2_000_000  # the 合計 row is not counted twice


def test_grades_stage_names_and_contact_column():
    raw = sa.read_table(DATA / "leads_traditional.csv")
    res = sa.clean(raw, "leads")
    assert_reconciled(res, raw)
    assert res.data["grade"].tolist() == ["S", "A", "A", "B"]
    assert res.data["phone"].tolist() == [
        "138****1111",
        "139****2222",
        "137****3333",
        "136****4444",
    ]
    assert res.rejected["reason"].tolist() == ["subtotal row"]
    assert "13800001111" not in res.rejected.to_csv()
    cfg = load_stages()
    names = ["潛在客戶", "初步溝通", "需求確認", "方案展示", "商務談判", "等待簽約", "成交", "流失"]
    assert [cfg.resolve(n) for n in names] == list(cfg.keys)
    assert normalise_grade(pd.Series(["S級", "A级", "a", "hot"])).tolist() == ["S", "A", "A", "hot"]


def test_header_suffixes():
    k = header_key("預計成交金額(萬元)")
    assert (k.base, k.scale, k.percent) == ("预计成交金额", 1e4, False)
    assert header_key("完成率（%）").percent
    assert header_key("跟進方式(电话/拜访/邮件/线上会议)").base == "跟进方式"
    assert header_key("備注(如展會號、推薦人等)").base == "备注"
    assert header_key("销售负责人*").base == "销售负责人"
    assert header_key("金额(元)").scale == 1.0
    df = pd.DataFrame(columns=["close date (expected)", "客戶編號", "當前階段", "跟進責任人"])
    _, mapping, _ = map_headers(df, TABLES["opportunities"])
    assert mapping == {
        "close date (expected)": "expected_close_date",
        "客戶編號": "account_id",
        "當前階段": "stage",
        "跟進責任人": "owner",
    }


ALIASES = {
    "leads": {
        "获取时间": "created_at",
        "分配时间": "assigned_at",
        "初步意向等级": "grade",
        "线索等级": "grade",
        "线索编号": "lead_id",
        "来源渠道": "channel",
        "跟进责任人": "owner",
        "首次跟进时间": "first_response_at",
    },
    "opportunities": {
        "客户来源": "channel",
        "销售负责人": "owner",
        "进入当前阶段时间": "stage_entered_at",
        "上一阶段": "previous_stage",
        "上一阶段退出时间": "previous_stage_left_at",
        "预计成交时间": "expected_close_date",
        "预计成交金额": "amount",
        "产品线": "product",
    },
    "targets": {
        "周期": "period",
        "产品线": "product",
        "目标值": "target_amount",
        "当前值": "actual_amount",
        "销售负责人": "owner",
    },  # fmt: skip
    "activities": {"日期": "occurred_at", "跟进责任人": "owner"},
}


@pytest.mark.parametrize("table", list(ALIASES))
@pytest.mark.parametrize("convert", [str, _s2t])
def test_issue_aliases_in_both_scripts(table, convert):
    for header, canonical in ALIASES[table].items():
        df = pd.DataFrame(columns=[convert(header)])
        _, mapping, _ = map_headers(df, TABLES[table])
        assert mapping == {convert(header): canonical}, header


@pytest.mark.parametrize("present", [(), ("leads",), ("opportunities", "stage_history"),
                                     ("products", "reps"), ("opportunities", "reps")])  # fmt: skip
def test_print_and_summary_on_any_subset(present):
    full = (
        sa.read_dataset(
            {
                t: pd.read_csv(ROOT / "data" / "sample" / f"{t}.csv", dtype=str, nrows=30)
                for t in present
            }  # fmt: skip
        )
        if present
        else sa.read_dataset({})
    )
    text = repr(full)
    assert text.startswith("Dataset(")
    for t in TABLES:
        assert (getattr(full, t) is not None) == (t in present)
        assert (f"{t}=" in text) == (t in present)
    s = full.summary()
    assert sorted(s["table"]) == sorted(present)
    str(full)


def test_empty_tables_print():
    empty = {t: pd.DataFrame(columns=list(TABLES[t].required)) for t in ("leads", "products")}
    ds = sa.read_dataset(empty)
    assert repr(ds).startswith("Dataset(leads=0, products=0;")
    assert ds.summary()["rows_in"].tolist() == [0, 0]


def test_english_equivalent_of_the_stage_tracking_template():
    raw = pd.DataFrame(
        {
            "Customer ID": ["KH1", "KH2"],
            "Source": ["Referral", "Trade show"],
            "Current Stage": ["Negotiation", "Closed Won"],
            "Stage Entered": ["2024-03-10", "2024-03-12"],
            "Previous Stage": ["Proposal", "Contract"],
            "Previous Stage Left": ["2024-03-08", "2024-03-11"],
            "Owner*": ["Ann", "Bo"],
            "Expected Amount (10k)": ["12", "30"],
        }
    )
    res = sa.clean(raw, "opportunities")
    assert res.data["opportunity_id"].tolist() == ["KH1", "KH2"]
    assert res.data["amount"].tolist() == [120_000, 300_000]
    assert res.data["status"].tolist() == ["open", "won"]
    assert res.data["created_at"].tolist() == pd.to_datetime(["2024-03-08", "2024-03-11"]).tolist()
