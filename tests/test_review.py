"""Review views by hand: decomposition, growth, product mix, customers, tiers, under-performers,
the target sheet and the workbook."""

import io
import json
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_performance import PACE_DEALS, PACE_TARGETS, won_deals

import salesanalytics as sa
from salesanalytics import _paths
from salesanalytics.performance.workbook import FILL_BAD, FILL_FLAG, FILL_GOOD


@pytest.fixture(scope="module")
def pace_ds():
    return sa.read_dataset({"opportunities": PACE_DEALS, "targets": PACE_TARGETS})


def test_largest_remainder_sums_exactly():
    assert sa.performance.largest_remainder(100, [1, 1, 1]).tolist() == [34.0, 33.0, 33.0]
    assert sa.performance.largest_remainder(1001, [1, 3]).tolist() == [250.0, 751.0]
    with pytest.raises(ValueError, match="whole number"):
        sa.performance.largest_remainder(1000.5, [1, 1])


def test_decompose_target_by_history_equal_and_weights(pace_ds):
    # history 2023: x 100 in January, y 300 in March -> 25% / 75%
    h = sa.decompose_target(1001, pace_ds, by="owner", as_of="2023-12-31")  # year 2024
    assert h[["period", "owner"]].values.tolist() == [["2024-01", "x"], ["2024-03", "y"]]
    assert h["target_amount"].tolist() == [250.0, 751.0]  # 250.25 / 750.75, remainder to y
    # equal: 1000 over 2 reps x 12 months = 41.67 each: 16 cells of 42, 8 of 41
    e = sa.decompose_target(1000, pace_ds, by="owner", year=2024, method="equal")
    assert len(e) == 24 and e["target_amount"].sum() == 1000.0
    assert sorted(e["target_amount"].value_counts().items()) == [(41.0, 8), (42.0, 16)]
    # weights x 1 : y 2, months equal: x cells 27.78 (remainder .78) beat y cells 55.56
    w = sa.decompose_target(1000, by="owner", year=2024, method={"x": 1, "y": 2})
    per = w.groupby("owner")["target_amount"].sum()
    assert per.to_dict() == {"x": 336.0, "y": 664.0}
    assert (w.loc[w["owner"] == "x", "target_amount"] == 28.0).all()
    # in units of 万: 1500万 split, still exact
    u = sa.decompose_target(15_000_000, pace_ds, by="owner", year=2024, unit=10_000)
    assert u["target_amount"].sum() == 15_000_000 and (u["target_amount"] % 10_000 == 0).all()


def test_growth_by_hand_and_seasonality_with_two_years(pace_ds):
    g = sa.growth(pace_ds, period="M", as_of="2024-03-31").set_index("period")
    assert g.loc["2024-01", "value"] == 480.0  # x 200 + y 280
    assert g.loc["2024-01", "yoy"] == pytest.approx(480 / 100 - 1)
    assert g.loc["2024-02", "mom"] == pytest.approx(400 / 480 - 1)
    assert g.loc["2023-02", "mom"] == -1.0  # January 2023 100, February nothing
    assert np.isnan(g.loc["2023-03", "mom"])  # after a month with nothing: undefined
    assert g.attrs["decomposition"].startswith("none")
    d = sa.growth(pace_ds, period="Q", as_of="2024-03-31", measure="avg_deal").set_index("period")
    assert d.loc["2024Q1", "value"] == pytest.approx(880 / 4)
    # 36 months with a December peak: STL finds it
    rows = []
    for m in pd.period_range("2021-01", "2023-12", freq="M"):
        rows.append(
            ("x", str(m.start_time + pd.Timedelta(days=10)), 1000.0 + 500 * (m.month == 12))
        )
    ds = sa.read_dataset({"opportunities": won_deals(rows)})
    s = sa.growth(ds, period="M", as_of="2024-01-15")
    assert s.attrs["decomposition"] == "STL, period 12"
    seas = s[s["complete"]].assign(month=lambda d: d["period"].str[-2:])
    top = seas.groupby("month")["seasonal"].mean().idxmax()
    assert top == "12" and seas["trend"].notna().all()


def test_product_mix_by_hand():
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "account_id": ["A", "B", "A", "C"],
            "ordered_at": ["2024-01-05", "2024-01-06", "2024-02-05", "2024-02-06"],
            "amount": [100.0, 100.0, 150.0, 50.0],
            "product": ["P1", "P2", "P1", "P2"],
        }
    )
    ds = sa.read_dataset({"opportunities": won_deals([("x", "2024-01-01", 1.0)]), "orders": orders})
    m = sa.product_mix(ds, period="M", as_of="2024-02-29").set_index(["period", "product"])
    feb = m.loc["2024-02"]
    assert feb["share"].tolist() == [0.75, 0.25]
    assert feb["growth"].tolist() == [0.5, -0.5]
    assert feb["contribution"].tolist() == [0.25, -0.25]  # (150-100)/200, (50-100)/200
    assert feb["class"].tolist() == ["star", "to improve"]
    assert "no cost column" in m.attrs["notes"][0]
    # by a column the orders lack: taken from the accounts table (A North, B and C South)
    acc = pd.DataFrame({"account_id": ["A", "B", "C"], "region": ["N", "S", "S"]})
    r = sa.product_mix(
        sa.read_dataset(
            {
                "opportunities": won_deals([("x", "2024-01-01", 1.0)]),
                "orders": orders,
                "accounts": acc,
            }
        ),
        period="M",
        by="region",
        as_of="2024-02-29",
    ).set_index(["period", "region", "product"])
    assert r.loc[("2024-02", "S", "P2"), "share"] == 1.0  # C's 50, nobody bought P1
    assert r.loc[("2024-02", "N", "P1"), "growth"] == 0.5  # A: 100 -> 150
    c = sa.product_mix(
        sa.read_dataset(
            {
                "opportunities": won_deals([("x", "2024-01-01", 1.0)]),
                "orders": orders.assign(cost=[60.0, 80.0, 90.0, 45.0]),
            }
        ),
        period="M",
        as_of="2024-02-29",
    ).set_index(["period", "product"])
    assert c.loc[("2024-02", "P1"), "margin"] == 60.0
    assert c.loc[("2024-02", "P1"), "margin_share"] == pytest.approx(60 / 65)


def test_customer_activity_new_returning_and_repeat_rate():
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4", "O5"],
            "account_id": ["A", "A", "B", "C", "C"],
            "ordered_at": ["2024-01-10", "2024-02-10", "2024-02-11", "2024-02-12", "2024-03-01"],
            "amount": [100.0, 60.0, 30.0, 30.0, 40.0],
        }
    )
    ds = sa.read_dataset({"opportunities": won_deals([("x", "2024-01-01", 1.0)]), "orders": orders})
    c = sa.customer_activity(ds, period="M", as_of="2024-03-31").set_index("period")
    assert c["customers"].tolist() == [1, 3, 1]
    assert c["new_customers"].tolist() == [1, 2, 0]
    assert c.loc["2024-02", "new_customer_share"] == pytest.approx(2 / 3)
    # repeat rate: by Jan A once (0); by Feb A twice, B and C once (1/3); by Mar C twice (2/3)
    assert c["repeat_rate"].tolist() == pytest.approx([0.0, 1 / 3, 2 / 3])
    assert c.loc["2024-02", "revenue_per_customer"] == pytest.approx(40.0)
    assert c.loc["2024-02", "revenue_returning"] == 60.0
    assert "returns rate" in c.attrs["notes"][0]  # no returned column: omitted with a note
    r = sa.customer_activity(
        sa.read_dataset(
            {
                "opportunities": won_deals([("x", "2024-01-01", 1.0)]),
                "orders": orders.assign(returned=["no", "yes", "no", "no", "no"]),
            }
        ),
        period="M",
        as_of="2024-03-31",
    ).set_index("period")
    assert r["returns_rate"].tolist() == pytest.approx([0.0, 1 / 3, 0.0])


def test_tiers_by_the_003_rules_with_every_boundary():
    day = pd.Timestamp
    f = pd.DataFrame(
        [
            ("K1", 500_000.0, day("2022-06-30"), False, 3),  # exactly 50万, exactly 2 y: VIP
            ("K2", 499_999.99, day("2015-01-01"), False, 9),  # just under 50万: core
            ("K3", 500_000.0, day("2022-07-01"), False, 3),  # one day short of 2 y: core
            ("K4", 200_000.0, day("2023-06-30"), False, 2),  # exactly 20万, exactly 1 y: core
            ("K5", 200_000.0, day("2023-07-01"), False, 2),  # one day short of 1 y: normal
            ("K6", 199_999.0, day("2010-01-01"), False, 5),  # under 20万: normal
            ("K7", 0.0, pd.NaT, True, 0),  # a need, never bought: potential
            ("K8", 0.0, pd.NaT, False, 0),  # neither: none
            ("K9", 0.0, day("2020-01-01"), True, 4),  # bought before, not lately: normal
            ("K10", 1_000_000.0, day("2024-01-01"), False, 1),  # big but new: normal
        ],
        columns=["account_id", "purchases", "relationship_start", "need", "orders"],
    )
    t = sa.customer_tiers(f, as_of="2024-06-30").set_index("account_id")
    assert t["tier"].tolist() == [
        "VIP",
        "core",
        "core",
        "core",
        "normal",
        "normal",
        "potential",
        "none",
        "normal",
        "normal",
    ]
    assert t.loc["K1", "tier_zh"] == "VIP客户" and t.loc["K7", "tier_zh"] == "潜在客户"
    assert t.loc["K1", "cadence_days"] == 30 and t.loc["K1", "service_records_per_month"] == 2
    assert t.loc["K2", "cadence"] == "quarterly" and t.loc["K7", "cadence_days"] == 7
    assert t.loc["K6", "cadence"] == "monthly" and np.isnan(t.loc["K8", "cadence_days"])
    assert t.attrs["scheme"] == "guide_003" and (t["scheme"] == "guide_003").all()
    # VIP needs 2 service records a month [003]
    s = sa.customer_tiers(
        f.assign(service_records=[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), as_of="2024-06-30"
    )
    assert s["service_ok"].iloc[0] == False and s["service_ok"].iloc[1:].isna().all()  # noqa: E712
    s2 = sa.customer_tiers(f.assign(service_records=2), as_of="2024-06-30")
    assert s2["service_ok"].iloc[0] == True  # noqa: E712
    # the [000] value/potential preset: 60 x value item + 40 x need item (9), / 10
    v = sa.customer_tiers(f, as_of="2024-06-30", scheme="guide_000").set_index("account_id")
    assert v.loc["K10", "score"] == 60.0 and v.loc["K10", "tier"] == "B"  # >= 100万, no need
    assert v.loc["K1", "score"] == 42.0 and v.loc["K1", "tier"] == "C"
    assert v.loc["K7", "score"] == 36.0 and v.loc["K7", "cadence_days"] == 30  # C: monthly


def test_tier_migration_and_features_from_orders():
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "account_id": ["A", "A", "B"],
            "ordered_at": ["2021-01-10", "2023-12-01", "2024-05-01"],
            "amount": [10_000.0, 600_000.0, 250_000.0],
        }
    )
    opp = won_deals([("x", "2021-01-10", 1.0, "P1", "A")])
    ds = sa.read_dataset({"opportunities": opp, "orders": orders})
    before = sa.customer_tiers(ds, as_of="2023-12-31")
    assert before.set_index("account_id")["tier"].to_dict() == {"A": "VIP"}  # B unknown yet
    m = sa.tier_migration(ds, start="2023-12-31", end="2024-06-30")
    # A: 600k on 2023-12-01 falls out of the half year by 2024-06-30 -> normal; B new: normal
    # (250k but a relationship under a year)
    assert m[["from_tier", "to_tier", "customers", "move"]].values.tolist() == [
        ["VIP", "normal", 1, "down"],
        ["none", "normal", 1, "up"],
    ]
    assert m.attrs["scheme"] == "guide_003" and (m["scheme"] == "guide_003").all()


def test_underperformer_three_months_flagged_two_months_not():
    # Mar: a 100 b 100 c 50 d 100 (avg 87.5); Apr and May: a 100 b 100 c 50 d 50 (avg 75)
    rows = []
    for month, d in (("2024-03", 100.0), ("2024-04", 50.0), ("2024-05", 50.0)):
        for rep, amount in (("a", 100.0), ("b", 100.0), ("c", 50.0), ("d", d)):
            rows.append((rep, f"{month}-15", amount))
    ds = sa.read_dataset({"opportunities": won_deals(rows)})
    u = sa.underperformers(ds, as_of="2024-05-31").set_index("owner")
    assert u.loc["c", "months_below"] == 3 and u.loc["c", "flagged"]  # 4/7, 2/3, 2/3
    assert u.loc["d", "months_below"] == 2 and not u.loc["d", "flagged"]  # 8/7, 2/3, 2/3
    assert u.loc["c", "ratio_2024-03"] == pytest.approx(4 / 7)
    assert u.loc["c", "trend"] == pytest.approx(1 / 21)  # (2/3 - 4/7) / 2 per month
    assert u.index[0] == "c"
    # as of mid-June the window is still Mar-May (June is not finished)
    assert sa.underperformers(ds, as_of="2024-06-15").attrs["months"] == [
        "2024-03",
        "2024-04",
        "2024-05",
    ]


def test_sample_flags_the_reps_the_generator_made_weak(sample_ds):
    # The generator plants no weak rep in targets (each target is 110% of the rep's own
    # average). It does plant rep effects on the advance probability; the two most negative
    # (Fatima Khan -0.25, Chen Wei -0.15) sell least, and are the ones flagged.
    truth = json.loads((_paths.SAMPLE_DIR / "ground_truth.json").read_text())
    effects = pd.Series(truth["rep_advance_effects"])
    u = sa.underperformers(sample_ds, as_of="2026-06-30")
    flagged = set(u.loc[u["flagged"], "owner"])
    assert flagged == set(effects.nsmallest(2).index)
    assert all(effects[r] < 0 for r in flagged)


def test_target_sheet_counts_collection_and_reasons(pace_ds):
    t = pd.DataFrame(
        {
            "period": ["2024-01", "2024-01"],
            "owner": ["x", "y"],
            "target_amount": [400.0, 200.0],
            "target_new_customers": [2.0, None],
            "target_collection_rate": [0.9, None],
            "未达成原因": ["淡季", None],
            "调整计划": ["加拜访", None],
        }
    )
    ds = sa.read_dataset({"opportunities": PACE_DEALS, "targets": t})
    s = sa.target_sheet(ds, period="M", as_of="2024-01-31").set_index(["owner", "metric"])
    assert s.loc[("x", "revenue"), "actual"] == 200.0
    assert s.loc[("x", "revenue"), "attainment"] == 0.5
    assert s.loc[("x", "revenue"), "shortfall_reason"] == "淡季"
    assert s.loc[("x", "revenue"), "adjustment"] == "加拜访"
    assert s.loc[("x", "new_customers"), "actual"] == 1.0  # account of the Jan 20 deal
    assert pd.isna(s.loc[("x", "collection_rate"), "actual"])
    assert any("回款率" in n for n in s.attrs["notes"])
    # the revenue attainment ignores the count and rate rows
    a = sa.attainment(ds, period="M", as_of="2024-01-31").set_index(["period", "owner"])
    assert a.loc[("2024-01", "x"), "target"] == 400.0


def _review(path, ds, lang):
    a = sa.attainment(ds, period="Q", as_of="2024-02-15")
    u = sa.underperformers(ds, as_of="2024-02-15", months=1)
    return sa.write_review(
        path,
        attainment=a,
        underperformers=u,
        lang=lang,
        targets=sa.target_sheet(ds, period="Q", as_of="2024-02-15"),
    )


def test_workbook_read_back_and_identical_bytes(tmp_path):
    deals = PACE_DEALS.assign(owner=PACE_DEALS["owner"].replace({"z": "=HYPERLINK(1)"}))
    targets = PACE_TARGETS.assign(owner=PACE_TARGETS["owner"].replace({"z": "=HYPERLINK(1)"}))
    ds = sa.read_dataset({"opportunities": deals, "targets": targets})
    p1 = _review(tmp_path / "a.xlsx", ds, "en")
    p2 = _review(tmp_path / "b.xlsx", ds, "en")
    assert p1.read_bytes() == p2.read_bytes()
    assert all(i.date_time == (2000, 1, 1, 0, 0, 0) for i in zipfile.ZipFile(p1).infolist())
    wb = openpyxl.load_workbook(p1)
    assert wb.sheetnames == ["Summary", "Attainment", "Targets", "Underperformers"]
    ws = wb["Attainment"]
    assert ws.freeze_panes == "A2"
    head = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    rows = {
        ws.cell(r, col["owner"]).value: r
        for r in range(2, ws.max_row + 1)
        if ws.cell(r, col["period"]).value == "2024Q1"
    }
    assert set(rows) == {"x", "y", "'=HYPERLINK(1)"}  # formula-safe
    z = rows["'=HYPERLINK(1)"]
    assert ws.cell(z, col["lagging"]).value is True
    assert ws.cell(z, col["owner"]).fill.start_color.rgb == FILL_FLAG  # lagging row
    assert ws.cell(rows["x"], col["owner"]).fill.fill_type is None
    assert ws.cell(rows["x"], col["target"]).number_format == "#,##0"
    assert ws.cell(rows["x"], col["attainment"]).number_format == "0.0%"
    # completion coloured: x 340/650 = 52% (red); y 280/650 red too
    assert ws.cell(rows["x"], col["attainment"]).fill.start_color.rgb == FILL_BAD
    assert wb["Summary"]["A1"].value == "Report"
    assert wb.properties.created.year == 2000


def test_workbook_in_the_guides_layout(tmp_path):
    deals = PACE_DEALS.assign(
        amount=PACE_DEALS["amount"] * 1000, close_amount=PACE_DEALS["close_amount"] * 1000
    )
    targets = PACE_TARGETS.assign(target_amount=PACE_TARGETS["target_amount"] * 1000)
    ds = sa.read_dataset({"opportunities": deals, "targets": targets})
    p = _review(tmp_path / "zh.xlsx", ds, "zh")
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["汇总", "业绩分析", "目标追踪", "持续落后"]
    perf = wb["业绩分析"]
    assert [c.value for c in perf[1]] == [
        "周期",
        "产品线",
        "销售负责人",
        "销售额(万元)",
        "目标值(万元)",
        "完成率(%)",
        "同比增长(%)",
        "备注",
    ]
    last = [c.value for c in perf[perf.max_row]]  # 2024Q1, z: 26万 of 65万, lagging
    assert last[:5] == ["2024年Q1", "全部", "z", 26.0, 65.0]
    assert last[5] == pytest.approx(0.4) and "落后进度" in last[7]
    assert perf.cell(perf.max_row, 1).fill.start_color.rgb == FILL_FLAG
    assert [c.value for c in wb["目标追踪"][1]] == [
        "总目标维度",
        "分解目标项",
        "负责人",
        "量化指标",
        "目标值",
        "当前值",
        "完成率",
        "未达成原因",
        "调整计划",
    ]
    assert wb["目标追踪"].cell(2, 4).value == "销售额"
    done = [perf.cell(r, 6) for r in range(2, perf.max_row + 1)]
    assert all(c.fill.start_color.rgb == FILL_BAD for c in done if c.value and c.value < 0.8)
    assert not any(c.fill.start_color.rgb == FILL_GOOD for c in done)  # nobody at 100%
    assert not io.BytesIO(p.read_bytes()).read(2) != b"PK"


def test_collection_rate_from_paid_amounts():
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2"],
            "account_id": ["A", "B"],
            "ordered_at": ["2024-01-10", "2024-01-20"],
            "amount": [100.0, 300.0],
            "owner": ["x", "x"],
            "paid_amount": [100.0, 200.0],
        }
    )
    t = pd.DataFrame(
        {
            "period": ["2024-01"],
            "owner": ["x"],
            "target_amount": [500.0],
            "target_collection_rate": [0.9],
            "target_new_customers": [4.0],
        }
    )
    ds = sa.read_dataset(
        {"opportunities": won_deals([("x", "2024-01-10", 100.0)]), "orders": orders, "targets": t}
    )
    s = sa.target_sheet(ds, period="M", as_of="2024-01-31").set_index("metric")
    assert s.loc["collection_rate", "actual"] == pytest.approx(300 / 400)  # paid / ordered
    assert s.loc["collection_rate", "attainment"] == pytest.approx(0.75 / 0.9)
    assert s.loc["new_customers", "actual"] == 2.0  # A and B bought first in January
    assert s.attrs["notes"] == []


def test_full_review_workbook_and_plots(tmp_path, sample_ds):
    import matplotlib.pyplot as plt

    a = sa.attainment(sample_ds, period="Q", as_of="2026-05-15")
    g = sa.growth(sample_ds, period="Q", as_of="2026-05-15")
    m = sa.product_mix(sample_ds, period="Q", as_of="2026-05-15")
    c = sa.customer_activity(sample_ds, period="Q", as_of="2026-05-15")
    t = sa.tier_migration(sample_ds, start="2025-05-15", end="2026-05-15")
    u = sa.underperformers(sample_ds, as_of="2026-06-30")
    p = sa.write_review(
        tmp_path / "r.xlsx",
        attainment=a,
        underperformers=u,
        growth=g,
        product_mix=m,
        customers=c,
        tiers=t,
    )
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == [
        "Summary",
        "Attainment",
        "Underperformers",
        "Growth",
        "Product mix",
        "Customers",
        "Tiers",
    ]
    assert wb["Growth"].freeze_panes == "A2"
    ws = wb["Underperformers"]
    flag_col = [c.value for c in ws[1]].index("flagged") + 1
    for r in range(2, ws.max_row + 1):  # flagged reps (Fatima Khan, Chen Wei) filled orange
        filled = ws.cell(r, 1).fill.start_color.rgb == FILL_FLAG
        assert filled == bool(ws.cell(r, flag_col).value)
    assert sum(bool(ws.cell(r, flag_col).value) for r in range(2, ws.max_row + 1)) == 2
    assert wb["Customers"].cell(2, 5).number_format == "0.0%"  # new_customer_share
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows()}
    assert summary["Tier scheme"] == "guide_003" and summary["Period"] == "2026Q2"
    for draw, data in (
        (sa.plot_attainment, a),
        (sa.plot_growth, g),
        (sa.plot_product_share, m),
        (sa.plot_tier_migration, t),
    ):
        fig, ax = plt.subplots()
        assert draw(data, ax=ax) is ax
        plt.close(fig)
