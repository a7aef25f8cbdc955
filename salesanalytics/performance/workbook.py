"""The monthly review workbook: a summary sheet, one formatted sheet per view, fixed bytes."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..export import spreadsheet_safe

__all__ = ["write_review", "FILL_GOOD", "FILL_WARN", "FILL_BAD", "FILL_FLAG"]

FILL_GOOD, FILL_WARN, FILL_BAD = "FFC6EFCE", "FFFFEB9C", "FFFFC7CE"  # completion colours
FILL_FLAG = "FFF4B084"  # lagging rows and under-performers
MONEY, PCT, INT, RATIO = "#,##0", "0.0%", "0", "0.00"
FIXED_TIME = datetime(2000, 1, 1)

_ZH_METRIC = {
    "revenue": "销售额",
    "new_customers": "新签客户数",
    "deals": "成交数",
    "collection_rate": "回款率",
}


def write_review(
    path: str | Path,
    *,
    attainment: pd.DataFrame,
    targets: pd.DataFrame | None = None,
    underperformers: pd.DataFrame | None = None,
    growth: pd.DataFrame | None = None,
    product_mix: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    tiers: pd.DataFrame | None = None,
    lang: str = "en",
    wan: bool | None = None,
    title: str | None = None,
) -> Path:
    """Write the review workbook: summary first, then one sheet per view given.

    Every sheet has its header row frozen, amounts as ``#,##0``, rates as ``0.0%``;
    completion cells are coloured (green >= 100%, amber >= 80%, red below); lagging rows
    and flagged under-performers are filled orange. Text cells pass through
    :func:`~salesanalytics.spreadsheet_safe`. Workbook properties and zip entry times are
    fixed, so the same inputs always give the same bytes.

    With ``lang="zh"`` the performance sheet (业绩分析) and the target sheet (目标追踪)
    use the guides' layouts ([003] 销售业绩分析表: 周期, 产品线, 销售负责人, 销售额(万元),
    目标值(万元), 完成率(%), 同比增长(%), 备注; [002] 销售目标分解与追踪表: 总目标维度,
    分解目标项, 负责人, 量化指标, 目标值, 当前值, 完成率, 未达成原因, 调整计划); amounts are in
    万元 when ``wan`` (default: when ``lang="zh"``).

    Parameters
    ----------
    attainment : from :func:`~salesanalytics.attainment` (by one rep column).
    targets, underperformers, growth, product_mix, customers, tiers : optional views from
        :func:`target_sheet`, :func:`underperformers`, :func:`growth`, :func:`product_mix`,
        :func:`customer_activity` and :func:`customer_tiers` (or :func:`tier_migration`).

    Examples
    --------
    >>> import salesanalytics as sa, tempfile, os
    >>> a = sa.attainment(sa.read_dataset(), period="Q", as_of="2026-05-15")
    >>> p = sa.write_review(os.path.join(tempfile.mkdtemp(), "r.xlsx"), attainment=a)
    >>> p.suffix
    '.xlsx'
    """
    from openpyxl import Workbook

    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    zh = lang == "zh"
    title = title or ("销售业绩回顾" if zh else "Sales review")
    wan = zh if wan is None else wan
    scale = 1e4 if wan else 1.0
    by = [c for c in attainment.attrs.get("by", [attainment.columns[1]])]
    wb = Workbook()
    summary = wb.active
    summary.title = "汇总" if zh else "Summary"
    sheets: list[tuple[str, pd.DataFrame, dict]] = []
    perf = _perf_zh(attainment, by, scale) if zh else attainment
    sheets.append(("业绩分析" if zh else "Attainment", perf, _att_style(zh, wan)))
    if targets is not None:
        t = _targets_zh(targets, scale) if zh else targets
        sheets.append(("目标追踪" if zh else "Targets", t, {"pct": ["完成率", "attainment"]}))
    if underperformers is not None:
        sheets.append(
            (
                "持续落后" if zh else "Underperformers",
                underperformers,
                {"flag": "flagged", "ratio_prefix": "ratio_"},
            )
        )
    if growth is not None:
        sheets.append(("趋势" if zh else "Growth", growth, {"pct": ["mom", "yoy"]}))
    if product_mix is not None:
        sheets.append(
            (
                "产品结构" if zh else "Product mix",
                product_mix,
                {"pct": ["share", "growth", "contribution", "margin_share"]},
            )
        )
    if customers is not None:
        sheets.append(
            (
                "客户" if zh else "Customers",
                customers,
                {
                    "pct": ["new_customer_share", "repeat_rate", "churn_rate", "returns_rate"],
                    "flag": "churn_over_ceiling",
                },
            )
        )
    if tiers is not None:
        sheets.append(("客户分层" if zh else "Tiers", tiers, {"pct": ["share_of_from"]}))
    _summary(summary, attainment, underperformers, tiers, sheets, zh, title, scale)
    for name, df, style in sheets:
        _sheet(wb.create_sheet(name), df, style)
    wb.properties.creator = "salesanalytics"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = "salesanalytics"
    buf = io.BytesIO()
    wb.save(buf)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_fixed_zip(buf.getvalue()))
    return path


def _att_style(zh: bool, wan: bool) -> dict:
    if zh:
        return {
            "pct": ["完成率(%)", "同比增长(%)"],
            "completion": "完成率(%)",
            "flag": "_lagging",
            "money_wan": ["销售额(万元)", "目标值(万元)"],
        }
    return {
        "completion": "attainment",
        "flag": "lagging",
        "pct": ["attainment", "pace_ratio", "yoy", "mom"],
    }


def _period_zh(p: str) -> str:
    per = pd.Period(p)
    f = per.freqstr[0]
    if f == "M":
        return f"{per.year}年{per.month}月"
    if f == "Q":
        return f"{per.year}年Q{per.quarter}"
    return f"{per.year}年"


def _perf_zh(a: pd.DataFrame, by: list[str], scale: float) -> pd.DataFrame:
    rep = next((c for c in by if c in ("owner", "rep")), by[0] if by else None)
    notes = np.where(a["lagging"], "落后进度", "")
    notes = np.where(
        ~a["complete"],
        np.char.add(notes.astype(str), np.where(notes != "", "；本期未结束", "本期未结束")),
        notes,
    )
    out = pd.DataFrame(
        {
            "周期": [_period_zh(p) for p in a["period"]],
            "产品线": a["product"].astype(str) if "product" in a else "全部",
            "销售负责人": a[rep].astype(str) if rep else "全部",
            "销售额(万元)": a["bookings"] / scale,
            "目标值(万元)": a["target"] / scale,
            "完成率(%)": a["attainment"],
            "同比增长(%)": a["yoy"],
            "备注": notes,
            "_lagging": a["lagging"].to_numpy(),
        }
    )
    return out


def _targets_zh(t: pd.DataFrame, scale: float) -> pd.DataFrame:
    by = t.columns[3]
    money = t["metric"].eq("revenue")
    return pd.DataFrame(
        {
            "总目标维度": t["dimension"].fillna(t["period"].map(_period_zh)),
            "分解目标项": t["item"].fillna(t[by].astype(str)),
            "负责人": t[by].astype(str),
            "量化指标": t["metric"].map(lambda m: _ZH_METRIC.get(m, m)),
            "目标值": np.where(money, t["target"] / scale, t["target"]),
            "当前值": np.where(money, t["actual"] / scale, t["actual"]),
            "完成率": t["attainment"],
            "未达成原因": t["shortfall_reason"],
            "调整计划": t["adjustment"],
        }
    )


def _summary(ws, att, under, tiers, sheets, zh, title, scale):
    from openpyxl.styles import Font

    cur = (
        att[~att["complete"]]
        if (~att["complete"]).any()
        else att[att["period"] == att["period"].max()]
    )
    rows = [
        ("报告" if zh else "Report", title),
        ("截至" if zh else "As of", att.attrs.get("as_of", "")),
        (
            "周期" if zh else "Period",
            (_period_zh(cur["period"].iloc[0]) if zh else str(cur["period"].iloc[0]))
            if len(cur)
            else "",
        ),
        ("目标" if zh else "Target", float(cur["target"].sum()) / scale),
        ("销售额" if zh else "Booked", float(cur["bookings"].sum()) / scale),
        (
            "完成率" if zh else "Attainment",
            float(cur["bookings"].sum() / cur["target"].sum()) if cur["target"].sum() > 0 else None,
        ),
        ("落后进度人数" if zh else "Lagging rows", int(cur["lagging"].sum())),
        ("进度规则" if zh else "Pace rule", att.attrs.get("rule", "")),
    ]
    if under is not None:
        rows.append(
            (
                "持续落后" if zh else "Under-performers",
                ", ".join(map(str, under.loc[under["flagged"], under.columns[0]])),
            )
        )
    if tiers is not None:
        rows.append(("分层方案" if zh else "Tier scheme", tiers.attrs.get("scheme", "")))
    if scale != 1:
        rows.append(("金额单位", "万元"))
    rows.append(("工作表" if zh else "Sheets", ", ".join(n for n, _, _ in sheets)))
    for i, (k, v) in enumerate(rows, start=1):
        ws.cell(i, 1, k).font = Font(bold=True)
        v = _safe_text(v)
        c = ws.cell(i, 2, v)
        if k in ("目标", "销售额", "Target", "Booked"):
            c.number_format = MONEY if scale == 1 else "#,##0.00"
        if k in ("完成率", "Attainment"):
            c.number_format = PCT
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 60


def _safe_text(v):
    if isinstance(v, str):
        return spreadsheet_safe(pd.DataFrame({"v": [v]}))["v"].iloc[0]
    return v


def _sheet(ws, df: pd.DataFrame, style: Mapping) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    flag_col = style.get("flag")
    flags = df[flag_col].fillna(False).astype(bool).to_numpy() if flag_col in df else None
    show = df.drop(columns=[c for c in df.columns if str(c).startswith("_")])
    show = spreadsheet_safe(show)
    pct = set(style.get("pct", ())) | {
        c
        for c in show.columns
        if style.get("ratio_prefix") and str(c).startswith(style["ratio_prefix"])
    }
    for j, col in enumerate(show.columns, start=1):
        ws.cell(1, j, str(col)).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(28, len(str(col)) + 4))
    ws.freeze_panes = "A2"
    kinds = {}
    for col in show.columns:
        s = show[col]
        if col in pct:
            kinds[col] = PCT
        elif pd.api.types.is_bool_dtype(s):
            kinds[col] = None
        elif pd.api.types.is_integer_dtype(s):
            kinds[col] = INT
        elif pd.api.types.is_float_dtype(s):
            kinds[col] = "#,##0.00" if col in style.get("money_wan", ()) else MONEY
        else:
            kinds[col] = None
    flag_fill = PatternFill("solid", start_color=FILL_FLAG, end_color=FILL_FLAG)
    done = style.get("completion")
    values = show.to_numpy(dtype=object)
    for i in range(len(show)):
        for j, col in enumerate(show.columns):
            v = values[i, j]
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                v = None
            elif isinstance(v, (np.bool_, bool)):
                v = bool(v)
            elif isinstance(v, np.integer):
                v = int(v)
            elif isinstance(v, np.floating):
                v = float(v)
            elif isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            elif not isinstance(v, (int, float, str, datetime)):
                v = str(v)
            c = ws.cell(i + 2, j + 1, v)
            if kinds[col] and isinstance(v, (int, float)) and not isinstance(v, bool):
                c.number_format = kinds[col]
            if flags is not None and flags[i]:
                c.fill = flag_fill
            if col == done and isinstance(v, float):
                color = FILL_GOOD if v >= 1 else FILL_WARN if v >= 0.8 else FILL_BAD
                c.fill = PatternFill("solid", start_color=color, end_color=color)


def _fixed_zip(data: bytes) -> bytes:
    """Re-pack the xlsx with fixed entry times and fixed document dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = "2000-01-01T00:00:00Z"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = src.read(name)
            if name == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rf"\g<1>{stamp}\g<3>",
                    text,
                )
                body = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, body)
    return out.getvalue()
