"""Headline figures of a run: computed by the package, stored as data, shown on one page.

Notebooks compute their headlines with the functions here and save them with
:func:`save_headlines` (``headlines.json`` beside their tables). After a successful run,
:func:`write_summary` gathers them (and reads the headlines of notebooks that do not save
their own from their tables) into ``summary.json``, ``index.html`` and ``summary.xlsx``, so
the page, the workbook and the tests read the same numbers.
"""

from __future__ import annotations

import html as _html
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_of_ts, wilson
from .labels import _check

__all__ = [
    "headline",
    "format_value",
    "headlines_frame",
    "save_headlines",
    "dataset_as_of",
    "deal_conversion",
    "overview_headlines",
    "quality_headlines",
    "funnel_headlines",
    "lead_headlines",
    "write_summary",
    "WON_ONLY_TEXT",
]

WON_ONLY_TEXT = "conversion cannot be measured from this export"
WON_ONLY_TEXT_ZH = "此导出数据无法计算转化率"
KINDS = ("count", "percent", "amount", "days", "text")


def headline(
    key: str,
    value: Any,
    *,
    label: str,
    label_zh: str,
    kind: str = "count",
    low: float | None = None,
    high: float | None = None,
    source: Mapping[str, Any] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One headline figure as data.

    Parameters
    ----------
    kind
        ``count``, ``percent`` (a proportion), ``amount``, ``days`` or ``text``.
    source
        Where the number is in the notebook's tables: ``{"table": name, "column": col,
        "where": {col: value}, "agg": None | "sum" | "count" | "nunique"}``.

    Examples
    --------
    >>> headline("won", 3, label="Won deals", label_zh="成交数")["value"]
    3
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return {
        "key": key,
        "label": label,
        "label_zh": label_zh,
        "kind": kind,
        "value": _plain(value),
        "low": _plain(low),
        "high": _plain(high),
        "source": dict(source) if source else None,
        "note": note,
    }


def _plain(v):
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if v != v else round(float(v), 6)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return v


def format_value(value: Any, kind: str) -> str:
    """A headline value as the page shows it.

    Examples
    --------
    >>> format_value(0.375, "percent"), format_value(1234567.8, "amount"), format_value(12, "count")
    ('37.5%', '1,234,568', '12')
    """
    if value is None:
        return "–"
    if kind == "percent" and isinstance(value, (int, float)):
        return f"{value:.1%}"
    if kind == "amount" and isinstance(value, (int, float)):
        return f"{value:,.0f}"
    if kind == "count" and isinstance(value, (int, float)):
        return f"{value:,.0f}"
    if kind == "days" and isinstance(value, (int, float)):
        return f"{value:,.1f}"
    return str(value)


def _range(h: Mapping[str, Any]) -> str:
    if h.get("low") is None or h.get("high") is None:
        return ""
    return f"{format_value(h['low'], h['kind'])} – {format_value(h['high'], h['kind'])}"


def headlines_frame(items: Iterable[Mapping[str, Any]], lang: str = "en") -> pd.DataFrame:
    """The headlines as a display table: figure, value, range (strings, as on the page)."""
    _check(lang)
    rows = [
        {
            ("Figure" if lang == "en" else "指标"): h["label"] if lang == "en" else h["label_zh"],
            ("Value" if lang == "en" else "数值"): format_value(h["value"], h["kind"]),
            ("Range (95%)" if lang == "en" else "区间(95%)"): _range(h),
        }
        for h in items
    ]
    return pd.DataFrame(rows, dtype=object)


def save_headlines(
    items: Iterable[Mapping[str, Any]],
    output_dir: str | Path | None,
    *,
    warnings: Iterable[str] = (),
    lang: str = "en",
) -> pd.DataFrame:
    """Write ``headlines.json`` in ``output_dir`` (nothing when empty); return the display table.

    Notebooks end with ``sa.save_headlines(items, output_dir)`` so the run's summary page
    shows the numbers the notebook shows.
    """
    items = list(items)
    if output_dir:
        path = Path(output_dir) / "headlines.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"headlines": items, "warnings": list(warnings)}
        path.write_text(
            json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
        )
    return headlines_frame(items, lang)


# ---------------------------------------------------------------- computing headlines


def dataset_as_of(ds: Dataset, as_of):
    """The dataset as it was known at ``as_of``: ``ds.at(as_of)``, the point-in-time view.

    Opportunities created after ``as_of`` are dropped; a deal closed later is open again,
    at its stage on ``as_of``; leads, activities and orders after ``as_of`` are dropped, and
    lead fields filled later (conversion, first response) are blanked. Kept as a name for
    the report notebooks; the leakage rule itself lives in :mod:`salesanalytics.view`.
    """
    return ds.at(as_of)


def deal_conversion(ds: Dataset, *, as_of=None, alpha: float = 0.05) -> pd.DataFrame:
    """Won / (won + lost) of the deals known at ``as_of``, with a Wilson interval.

    When the export holds won deals only (nothing lost, nothing open), conversion cannot be
    measured: ``measurable`` is False and ``win_rate`` empty, never 100%.

    Returns
    -------
    DataFrame
        One row: opportunities, won, lost, open, win_rate, win_rate_low, win_rate_high,
        measurable, note.
    """
    o = ds.opportunities
    if o is None:
        raise ValueError("deal_conversion needs an opportunities table")
    if as_of is not None:
        o = dataset_as_of(ds, as_of).opportunities
    status = ds.stages.status(o["stage"])
    won, lost, open_ = (int((status == s).sum()) for s in ("won", "lost", "open"))
    measurable = lost > 0
    lo, hi = wilson(np.array([won]), np.array([won + lost]), alpha)
    out = pd.DataFrame(
        {
            "opportunities": [len(o)],
            "won": [won],
            "lost": [lost],
            "open": [open_],
            "win_rate": [won / (won + lost) if measurable else np.nan],
            "win_rate_low": [lo[0] if measurable else np.nan],
            "win_rate_high": [hi[0] if measurable else np.nan],
            "measurable": [measurable],
            "note": [
                ""
                if measurable
                else WON_ONLY_TEXT
                + (": it holds won deals only" if won else ": no deal has closed yet")
            ],
        }
    )
    out.attrs = {"as_of": str(as_of_ts(as_of).date()) if as_of else None, "alpha": alpha}
    return out


def overview_headlines(
    ds: Dataset, *, as_of, conversion: pd.DataFrame
) -> tuple[list[dict], list[str]]:
    """Headlines and warnings of the data overview: as_of, data period, deals, conversion."""
    t = as_of_ts(as_of)
    o = ds.opportunities
    items, warns = [], []
    first, last = o["created_at"].min(), o["created_at"].max()
    latest = max(
        d[c].max()
        for d, c in ((o, "created_at"), (o, "closed_at"), (ds.stage_history, "entered_at"))
        if d is not None and c in d
    )
    items.append(headline("as_of", str(t.date()), label="As of", label_zh="截至", kind="text"))
    items.append(
        headline(
            "data_period",
            f"{first.date()} – {min(last, t).date()}",
            label="Data period (opportunities created)",
            label_zh="数据期间(商机创建)",
            kind="text",
        )
    )
    if t > latest + pd.Timedelta(days=1):
        warns.append(f"as_of {t.date()} is after the last date in the data ({latest.date()})")
    if t < first:
        warns.append(f"as_of {t.date()} is before the first opportunity ({first.date()})")
    if ds.history_is_coarse:
        warns.append(
            "coarse history: no stage_history table, stage dwell and conversion between "
            "open stages are not observed"
        )
    absent = [
        n for n in ("stage_history", "leads", "activities", "targets") if getattr(ds, n) is None
    ]
    for n in absent:
        warns.append(f"table {n} absent: sections that need it are skipped")
    c = conversion.iloc[0]
    src = {"table": "deal_conversion"}
    items.append(
        headline(
            "opportunities",
            int(c["opportunities"]),
            label="Opportunities known at as_of",
            label_zh="截至日商机数",
            source={**src, "column": "opportunities"},
        )
    )
    items.append(
        headline(
            "won",
            int(c["won"]),
            label="Won deals",
            label_zh="成交数",
            source={**src, "column": "won"},
        )
    )
    if bool(c["measurable"]):
        items.append(
            headline(
                "deal_win_rate",
                c["win_rate"],
                label="Deal win rate (won / closed)",
                label_zh="商机赢单率(成交/已结束)",
                kind="percent",
                low=c["win_rate_low"],
                high=c["win_rate_high"],
                source={**src, "column": "win_rate"},
            )
        )
    else:
        items.append(
            headline(
                "deal_win_rate",
                WON_ONLY_TEXT,
                label="Deal win rate (won / closed)",
                label_zh="商机赢单率(成交/已结束)",
                kind="text",
            )
        )
        warns.append(
            f"won-only data: {WON_ONLY_TEXT} (no lost deals)"
            if c["won"]
            else f"{WON_ONLY_TEXT}: no deal has closed yet"
        )
    return items, warns


def quality_headlines(
    ds: Dataset, *, accounting: pd.DataFrame, problems: pd.DataFrame
) -> list[dict]:
    """Rows read, clean, rejected, and problems found (from the tables notebook 01 shows)."""
    src = {"table": "row_accounting", "agg": "sum"}
    out = [
        headline(
            k,
            int(accounting[k].sum()),
            label=en,
            label_zh=zh,
            source={**src, "column": k},
        )
        for k, en, zh in (
            ("rows_in", "Rows read", "读入行数"),
            ("clean", "Clean rows", "有效行数"),
            ("rejected", "Rejected rows", "拒收行数"),
        )
    ]
    out.append(
        headline(
            "problem_rows",
            int(problems["rows"].sum()) if len(problems) else 0,
            label="Data problems (rows affected)",
            label_zh="数据问题(涉及行数)",
            source={"table": "problems", "column": "rows", "agg": "sum"},
        )
    )
    return out


def funnel_headlines(
    funnel: pd.DataFrame, stale: pd.DataFrame, bottlenecks: pd.DataFrame, *, segment: str
) -> list[dict]:
    """Lowest-converting stage, flagged bottlenecks and overdue deals (notebook 02)."""
    f = funnel.dropna(subset=["conversion"])
    worst = f.loc[f["conversion"].idxmin()]
    from .labels import label

    out = [
        headline(
            "bottleneck_stage",
            float(worst["conversion"]),
            label=f"Bottleneck: lowest-converting stage, {label(worst['stage'])}",
            label_zh=f"瓶颈:转化率最低的阶段,{label(worst['stage'], 'zh')}",
            kind="percent",
            low=worst["conversion_low"],
            high=worst["conversion_high"],
            source={
                "table": "funnel_cohort",
                "column": "conversion",
                "where": {"stage": worst["stage"]},
            },
        ),
        headline(
            "bottlenecks_flagged",
            int(bottlenecks["flagged"].sum()),
            label=f"Bottlenecks flagged (stage x {segment})",
            label_zh=f"显著瓶颈数(阶段 x {segment})",
            source={"table": f"bottlenecks_by_{segment}", "column": "flagged", "agg": "sum"},
        ),
        headline(
            "stale_deals",
            len(stale),
            label="Overdue open deals",
            label_zh="超时在途商机",
            source={"table": "overdue_deals", "agg": "count"},
        ),
    ]
    return out


def lead_headlines(
    lead_total: pd.DataFrame, reps: pd.DataFrame | None, sla: pd.DataFrame
) -> list[dict]:
    """Lead conversion with intervals, SLA breaches, reps flagged for coaching (notebook 03).

    ``reps`` is None when the export has no opportunities: no coaching headline then.
    """
    r = lead_total.iloc[0]
    src = {"table": "lead_funnel"}
    out = [
        headline(
            "leads",
            int(r["leads"]),
            label="Leads",
            label_zh="线索数",
            source={**src, "column": "leads"},
        )
    ]
    for k, en, zh in (
        ("lead_to_opportunity", "Lead to opportunity", "线索转商机率"),
        ("lead_to_won", "Lead to won (every lead counts)", "线索成交率(全部线索)"),
    ):
        out.append(
            headline(
                k,
                r[k],
                label=en,
                label_zh=zh,
                kind="percent",
                low=r[f"{k}_low"],
                high=r[f"{k}_high"],
                source={**src, "column": k},
            )
        )
    breaches = int((sla["leads"] - sla["pending"] - sla["within_sla"]).sum())
    out.append(
        headline(
            "sla_breaches",
            breaches,
            label="Leads answered late or not at all (SLA breaches)",
            label_zh="超时响应线索数",
            source={"table": "response_sla", "column": "leads-pending-within_sla", "agg": "sum"},
        )
    )
    if reps is None:
        return out
    coached = reps.loc[reps["coaching"].astype(bool), "owner"].nunique()
    out.append(
        headline(
            "reps_flagged",
            int(coached),
            label="Reps flagged for coaching",
            label_zh="需辅导的销售",
            source={
                "table": "rep_dwell",
                "column": "owner",
                "agg": "nunique",
                "where": {"coaching": True},
            },
        )
    )
    return out


# ------------------------------------------------- notebooks that keep no headlines.json


def _stage_probability_headlines(tables: Path) -> list[dict]:
    t = pd.read_csv(tables / "stage_probabilities.csv").drop_duplicates("stage")
    outside = t[(t["configured"] < t["low"]) | (t["configured"] > t["high"])]
    gap = (t["configured"] - t["stage_estimate"]).abs()
    worst = t.loc[gap.idxmax()]
    from .labels import label

    return [
        headline(
            "stages_miscalibrated",
            len(outside),
            label=f"Stages whose configured probability is outside the calibrated interval "
            f"(of {len(t)})",
            label_zh=f"配置概率落在校准区间外的阶段(共{len(t)}个)",
        ),
        headline(
            "largest_probability_gap",
            float(worst["configured"] - worst["stage_estimate"]),
            label=f"Largest gap, configured minus calibrated: {label(worst['stage'])}",
            label_zh=f"配置与校准概率最大差距:{label(worst['stage'], 'zh')}",
            kind="percent",
        ),
    ]


def _forecast_headlines(tables: Path) -> list[dict]:
    f = pd.read_csv(tables / "forecast.csv")
    row = f.iloc[0]
    return [
        headline(
            "forecast_expected",
            float(row["expected"]),
            label=f"Forecast bookings ({row.get('method', '')})",
            label_zh="预测成交金额",
            kind="amount",
            low=float(row["low"]),
            high=float(row["high"]),
            source={"table": "forecast", "column": "expected", "row": 0},
        )
    ]


def _attainment_headlines(tables: Path) -> list[dict]:
    p = pd.read_csv(tables / "pacing.csv")
    by = p.columns[0]
    total = p[p[by] == "(total)"]
    reps = p[p[by] != "(total)"]
    out = []
    if len(total):
        r = total.iloc[0]
        out.append(
            headline(
                "projected_attainment",
                float(r["projected"] / r["target"]) if r["target"] else None,
                label="Projected attainment of the current period",
                label_zh="本期预计目标完成率",
                kind="percent",
                low=float(r["low"] / r["target"]) if r["target"] else None,
                high=float(r["high"] / r["target"]) if r["target"] else None,
            )
        )
    out.append(
        headline(
            "reps_behind",
            int((reps["status"] == "behind").sum()),
            label="Reps behind target",
            label_zh="落后于目标的销售",
            source={
                "table": "pacing",
                "column": "status",
                "agg": "count",
                "where": {"status": "behind"},
            },
        )
    )
    return out


DERIVED: dict[str, Callable[[Path], list[dict]]] = {
    "04-stage-probabilities": _stage_probability_headlines,
    "06-forecast": _forecast_headlines,
    "07-targets-performance": _attainment_headlines,
}

# ------------------------------------------------------------------- the summary page

_TEXT = {
    "en": {
        "title": "Sales analytics report",
        "as_of": "As of",
        "warnings": "Warnings",
        "tables": "Tables",
        "report": "full report",
        "failed": "failed: section skipped",
        "not_run": "not run",
        "figure": "Figure",
        "value": "Value",
        "range": "Range (95%)",
    },
    "zh": {
        "title": "销售分析报告",
        "as_of": "截至",
        "warnings": "注意",
        "tables": "数据表",
        "report": "完整报告",
        "failed": "运行失败:本节跳过",
        "not_run": "未运行",
        "figure": "指标",
        "value": "数值",
        "range": "区间(95%)",
    },
}


def _run_parameter(manifest: Mapping[str, Any], name: str, default: Any) -> Any:
    for nb in manifest.get("notebooks", []):
        if name in (nb.get("parameters") or {}):
            return nb["parameters"][name]
    return default


def write_summary(
    folder: str | Path,
    *,
    lang: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write ``summary.json``, ``index.html`` and ``summary.xlsx`` in a run folder.

    Reads ``manifest.json`` (as_of, language, status per notebook) and each notebook's
    ``headlines.json``; notebooks without one get headlines read from their tables.
    Failed or skipped notebooks and the notebooks' own warnings go in a box at the top.
    The files hold no clock time, so the same run gives the same bytes.

    Returns
    -------
    dict
        The content of ``summary.json``.
    """
    from ..export import write_excel

    folder = Path(folder)
    mpath = folder / "manifest.json"
    manifest = json.loads(mpath.read_text(encoding="utf-8")) if mpath.is_file() else {}
    lang = lang or _run_parameter(manifest, "lang", "en")
    lang = "zh" if str(lang).startswith("zh") else "en"
    status = {nb["name"]: nb.get("status", "ok") for nb in manifest.get("notebooks", [])}
    names = sorted(
        set(status) | {p.name for p in folder.iterdir() if p.is_dir() and p.name[:2].isdigit()}
    )
    warnings: list[str] = []
    sections = []
    for name in names:
        nb_dir = folder / name
        sec: dict[str, Any] = {
            "notebook": name,
            "status": status.get(name, "ok"),
            "html": f"{name}/{name}.html" if (nb_dir / f"{name}.html").is_file() else None,
            "tables": sorted(f"{name}/tables/{p.name}" for p in (nb_dir / "tables").glob("*.csv"))
            if (nb_dir / "tables").is_dir()
            else [],
            "headlines": [],
        }
        if sec["status"] != "ok":
            warnings.append(f"{name}: {_TEXT['en']['failed']}")
        elif (nb_dir / "headlines.json").is_file():
            doc = json.loads((nb_dir / "headlines.json").read_text(encoding="utf-8"))
            sec["headlines"] = doc.get("headlines", [])
            warnings.extend(f"{name}: {w}" for w in doc.get("warnings", []))
        elif name in DERIVED:
            try:
                sec["headlines"] = DERIVED[name](nb_dir / "tables")
            except (OSError, KeyError, ValueError, IndexError) as exc:
                warnings.append(f"{name}: headlines not available ({type(exc).__name__}: {exc})")
        sections.append(sec)
    summary = {
        "run_date": manifest.get("run_date"),
        "status": manifest.get("status"),
        "as_of": _run_parameter(manifest, "as_of", None),
        "lang": lang,
        "warnings": warnings,
        "sections": sections,
    }
    (folder / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    (folder / "index.html").write_text(_page(summary, lang), encoding="utf-8")
    rows = [
        {
            "notebook": s["notebook"],
            "key": h["key"],
            "figure": h["label"] if lang == "en" else h["label_zh"],
            "value": h["value"] if h["kind"] != "text" else None,
            "text": format_value(h["value"], h["kind"]),
            "low": h.get("low"),
            "high": h.get("high"),
            "kind": h["kind"],
        }
        for s in sections
        for h in s["headlines"]
    ]
    headlines = pd.DataFrame(
        rows, columns=["notebook", "key", "figure", "value", "text", "low", "high", "kind"]
    )
    for c in ("value", "low", "high"):
        headlines[c] = pd.to_numeric(headlines[c], errors="coerce")
    write_excel(
        {"headlines": headlines, "warnings": pd.DataFrame({"warning": warnings}, dtype=object)},
        folder / "summary.xlsx",
    )
    if log:
        log(f"summary: {folder / 'index.html'}")
    return summary


def _page(summary: Mapping[str, Any], lang: str) -> str:
    tx = _TEXT[lang]
    e = _html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{e(tx['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        ".warn{border:2px solid #d62728;background:#fff3f3;padding:0.5em 1em;margin:1em 0}"
        "table{border-collapse:collapse;margin:0.5em 0}th{text-align:left;border-bottom:"
        "1px solid #999;padding:2px 10px}td{padding:2px 10px}td.num{text-align:right}"
        "</style></head><body>",
        f"<h1>{e(tx['title'])}</h1>",
        f"<p>{e(tx['as_of'])}: <b>{e(str(summary.get('as_of')))}</b>"
        + (f" · run {e(str(summary['run_date']))}" if summary.get("run_date") else "")
        + "</p>",
    ]
    if summary["warnings"]:
        items = "".join(f"<li>{e(w)}</li>" for w in summary["warnings"])
        parts.append(f'<div class="warn"><b>{e(tx["warnings"])}</b><ul>{items}</ul></div>')
    for s in summary["sections"]:
        link = f' <a href="{e(s["html"])}">{e(tx["report"])}</a>' if s["html"] else ""
        parts.append(f"<h2>{e(s['notebook'])}{link}</h2>")
        if s["status"] != "ok":
            parts.append(f"<p>{e(tx['failed'])}</p>")
            continue
        if s["headlines"]:
            rows = "".join(
                '<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>'.format(
                    e(h["label"] if lang == "en" else h["label_zh"]),
                    e(format_value(h["value"], h["kind"])),
                    e(_range(h)),
                )
                for h in s["headlines"]
            )
            parts.append(
                f"<table><thead><tr><th>{e(tx['figure'])}</th><th>{e(tx['value'])}</th>"
                f"<th>{e(tx['range'])}</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        if s["tables"]:
            links = " · ".join(f'<a href="{e(t)}">{e(Path(t).stem)}</a>' for t in s["tables"])
            parts.append(f"<p>{e(tx['tables'])}: {links}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
