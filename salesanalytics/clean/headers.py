"""Header mapping: source column names onto canonical ones, unknown columns kept.

Every header goes through :func:`header_key` before it is compared with anything: invisible
characters removed, traditional script converted to simplified (OpenCC), a trailing ``*``
dropped, case, width and separators folded, and a parenthesised suffix split off. The
suffix is understood, not matched: a unit (``(万元)``, ``(萬元)``, ``(元)``) gives the
column's multiplier, ``(%)`` marks a percentage, anything else (an example list such as
``(电话/拜访/邮件/线上会议)``) is ignored.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from ..schema import TableSpec
from ..stages import normalise_label, to_simplified

__all__ = ["map_headers", "header_key", "HeaderKey", "header_units", "missing_columns_message"]

_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\x00-\x1f\x7f]")
_SUFFIX = re.compile(r"^(?P<base>.*?)\s*[(（](?P<inner>[^()（）]*)[)）]\s*$")
_STAR = "*＊ "

#: Units a header suffix can name, as the number one cell unit stands for.
UNIT_SCALES = {
    "元": 1.0,
    "人民币": 1.0,
    "rmb": 1.0,
    "cny": 1.0,
    "万元": 1e4,
    "万": 1e4,
    "10k": 1e4,
    "10kcny": 1e4,
    "10krmb": 1e4,
    "千元": 1e3,
    "千": 1e3,
    "百万元": 1e6,
    "百万": 1e6,
    "亿元": 1e8,
    "亿": 1e8,
    "k": 1e3,
    "000": 1e3,
    "'000": 1e3,
    "thousands": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "millions": 1e6,
}
_PERCENT = {"%", "％", "percent", "pct", "百分比"}

#: Columns of the guides' templates that have no canonical column: kept under these names,
#: so a file in either script gives the same frame.
TEMPLATE_EXTRAS = {
    "备注": "notes",
    "未达成原因": "shortfall_reason",
    "调整计划": "adjustment_plan",
    "完成率": "attainment",
    "同比增长": "yoy_growth",
    "总目标维度": "goal",
    "分解目标项": "sub_target",
    "客户类型": "customer_type",
    "跟进内容摘要": "summary",
    "沟通内容摘要": "summary",
    "客户反馈与需求变化": "feedback",
    "需求/反馈变化": "feedback",
    "当前状态": "follow_up_status",
    "客户状态更新": "follow_up_status",
    "待办事项": "todo",
    "需求关键词": "need_keywords",
    "信息完整度": "completeness",
    "职位": "contact_title",
    "序号": "row_number",
    "打分明细": "score_detail",
    "核心标签": "tags",
    "分配方式": "assignment_mode",
    "预计转化周期": "expected_cycle",
    "客户关键信息": "key_info",
    "阶段转化耗时": "transition_days",
    "跟进频率": "cadence",
    "维护内容": "maintenance",
    "客户满意度": "satisfaction",
    "下一步计划": "next_step",
    "客户名称": "account_name",
    "所属行业": "industry",
    "客户层级": "tier",
    "行业": "industry",
    "当前阶段": "stage",
}


@dataclass(frozen=True)
class HeaderKey:
    """A header as matched: ``full`` (with its suffix), ``base`` (without), what the suffix says."""

    full: str
    base: str
    suffix: str | None = None
    scale: float | None = None
    percent: bool = False


@lru_cache(maxsize=4096)
def header_key(name: object) -> HeaderKey:
    """The matching form of a header.

    Examples
    --------
    >>> k = header_key("預計成交金額(萬元)")
    >>> k.base, k.scale
    ('预计成交金额', 10000.0)
    >>> header_key("销售负责人*").base, header_key("完成率(%)").percent
    ('销售负责人', True)
    >>> header_key("跟进方式(电话/拜访/邮件/线上会议)").base
    '跟进方式'
    """
    text = to_simplified(_INVISIBLE.sub("", str(name))).strip().rstrip(_STAR)
    m = _SUFFIX.match(text)
    if not m:
        norm = normalise_label(text)
        return HeaderKey(norm, norm)
    inner = normalise_label(m.group("inner")).replace(" ", "")
    base = normalise_label(m.group("base").rstrip(_STAR))
    scale = UNIT_SCALES.get(inner)
    return HeaderKey(f"{base}({inner})", base, inner, scale, inner in _PERCENT)


def _lookups(spec: TableSpec) -> tuple[dict[str, str], dict[str, str]]:
    exact = {header_key(c.name).full: c.name for c in spec.columns}
    alias: dict[str, str] = {}
    for c in spec.columns:
        for a in c.aliases:
            alias.setdefault(header_key(a).full, c.name)
    return exact, alias


def map_headers(
    df: pd.DataFrame, spec: TableSpec, columns: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Rename columns to canonical names.

    ``columns`` (export header -> canonical name, for this table) wins over everything;
    then a column named exactly like a canonical column wins over an alias; then aliases;
    then the same without the header's parenthesised suffix. When two source columns map
    onto one canonical name, the first is used and the other keeps its name. Columns of the
    guides' templates with no canonical column get a fixed English name (``备注`` ->
    ``notes``). Columns that are entirely empty and unnamed (trailing separators) are dropped.

    Returns
    -------
    (renamed frame, {source name: canonical name}, notes)
    """
    notes: list[str] = []
    empty_unnamed = [
        c
        for c in df.columns
        if (str(c).startswith("Unnamed:") or str(c).strip() == "") and df[c].isna().all()
    ]
    if empty_unnamed:
        notes.append(f"dropped {len(empty_unnamed)} empty unnamed column(s): {empty_unnamed}")
        df = df.drop(columns=empty_unnamed)

    exact, alias = _lookups(spec)
    keys = {col: header_key(col) for col in df.columns}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    if columns:
        user = {header_key(k).full: v for k, v in columns.items()}
        for col in df.columns:
            target = columns.get(str(col)) or user.get(keys[col].full)
            if target and target not in taken:
                mapping[col] = target
                taken.add(target)
    passes = (
        (exact, "full"),
        (alias, "full"),
        (exact, "base"),
        (alias, "base"),
    )
    for lookup, part in passes:
        for col in df.columns:
            if col in mapping:
                continue
            target = lookup.get(getattr(keys[col], part))
            if target and target not in taken:
                mapping[col] = target
                taken.add(target)
    for col in df.columns:
        if col in mapping:
            continue
        k = keys[col]
        also = exact.get(k.full) or alias.get(k.full) or exact.get(k.base) or alias.get(k.base)
        if also:
            notes.append(f"column {col!r} also names {also!r}; kept as is")
            continue
        extra = TEMPLATE_EXTRAS.get(k.base)
        if extra and extra not in taken and extra not in map(str, df.columns):
            mapping[col] = extra
            taken.add(extra)
    renames = {k: v for k, v in mapping.items() if k != v}
    if renames:
        notes.append("renamed " + ", ".join(f"{k!r}->{v}" for k, v in renames.items()))
    out = df.rename(columns=mapping)
    out.columns = [str(c) for c in out.columns]
    return out, mapping, notes


def header_units(columns: Iterable[object], mapping: Mapping[object, str]) -> dict[str, HeaderKey]:
    """Output column -> its header's unit or percent suffix, for columns that have one."""
    out = {}
    for src in columns:
        k = header_key(src)
        if (k.scale is not None and k.scale != 1.0) or k.percent:
            out[str(mapping.get(src, src))] = k
    return out


def missing_columns_message(table: str, missing: list[str], headers: Iterable[object]) -> str:
    """One line: the missing required columns, each with close matches among ``headers``."""
    from ..schema import TABLES

    spec = TABLES[table]
    seen = [str(h) for h in headers]
    parts = []
    for name in missing:
        col = spec.column(name)
        wanted = [header_key(n).base for n in (col.name, *col.aliases)]
        scored = []
        for h in seen:
            base = header_key(h).base
            score = max(difflib.SequenceMatcher(None, base, w).ratio() for w in wanted)
            if score >= 0.6:
                scored.append((-score, h))
        close = [h for _, h in sorted(scored)[:3]]
        if close:
            parts.append(f"{name} ~ {', '.join(map(repr, close))}")
    hint = (
        f"; close matches in the file: {'; '.join(parts)}"
        if parts
        else f"; headers seen: {seen[:12]}"
    )
    return (
        f"{table}: required column(s) {missing} not found among {len(seen)} unmapped "
        f"header(s){hint}; map them with columns={{{table!r}: {{'<header>': {missing[0]!r}}}}} "
        "or --map FILE"
    )
