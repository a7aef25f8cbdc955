"""The guides' templates read as sales teams keep them.

Hooks :func:`salesanalytics.clean` calls around its own steps:

- :func:`derive_missing` (before the required-column check): a file keyed by the customer
  (``客户编号``, no deal id) takes the customer as the deal key; ``created_at`` of such a
  file is when the previous stage was left (else when the current one was entered); a
  follow-up log without ids numbers its rows; a lead assignment sheet without a channel
  gets ``(unknown)``; a target sheet without a period takes it from its goal columns.
- :func:`reject_rows` (before parsing): subtotal rows (``2024年Q1总计``, ``合计``, ``總計``,
  ``小计``) and targets that are not amounts (``新签客户数``) are rejected with their reason.
- :func:`apply_units` (after parsing): header units (``(万元)``) scale bare numbers,
  ``(%)`` columns become fractions (113 -> 1.13), grades become letters.
- :func:`split_customer_episodes`: one open opportunity per customer at a time; a customer
  who returns after a win or a loss starts a new one (``KH001#2``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..stages import StageConfig, normalise_grade, to_simplified
from . import values as V
from .headers import header_units
from .report import Issues

__all__ = [
    "derive_missing",
    "reject_rows",
    "apply_units",
    "split_customer_episodes",
    "episode_numbers",
    "period_from_text",
    "SUBTOTAL_REASON",
]

SUBTOTAL_REASON = "subtotal row"
_SUBTOTAL_ZH = re.compile(r"(?:总计|合计|小计|总和)\s*[:：]?\s*$")
_SUBTOTAL_EN = re.compile(r"^\s*(?:sub\s*-?\s*total|grand\s+total|total)\s*[:：]?\s*$", re.I)
_BARE = re.compile(r"^\s*[+-]?(?:\d[\d,]*\.?\d*|\.\d+)\s*(?:(?:-|~|–|—|至|到)\s*[\d,]*\.?\d+\s*)?$")
_PCT_CELL = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*[%％]\s*$")
_AMOUNT_METRIC = re.compile(r"(?:额|金额|收入|业绩|营收|revenue|sales|amount|booking)", re.I)
_YEAR = re.compile(r"(20\d{2}|19\d{2})\s*年?")
_QUARTER = re.compile(r"(?:Q|q|第)\s*([1-4一二三四])\s*(?:季度?)?")
_MONTH = re.compile(r"(?<!\d)(1[0-2]|0?[1-9])\s*月")
_CN_DIGIT = {"一": "1", "二": "2", "三": "3", "四": "4"}

#: Columns the customer-keyed reading adds to an opportunities frame.
CUSTOMER_KEY_NOTE = (
    "no deal id: the customer (account_id) is the deal key; one open opportunity per "
    "customer at a time, a customer returning after a win or a loss starts a new one "
    "(<account_id>#2, #3, ...)"
)


def period_from_text(text: pd.Series, fallback: pd.Series | None = None) -> pd.Series:
    """``YYYY-Qn``, ``YYYY-MM`` or ``YYYY`` read from free text such as ``2024年Q1 华东区``.

    The year may come from ``fallback`` (e.g. the goal column ``2024年销售额``).

    >>> period_from_text(pd.Series(["Q1 华东区", "3月 张伟", "全年"]),
    ...                  pd.Series(["2024年销售额"] * 3)).tolist()
    ['2024-Q1', '2024-03', '2024']
    """

    def one(v, fb) -> object:
        v = to_simplified(str(v)) if isinstance(v, str) else ""
        fb = to_simplified(str(fb)) if isinstance(fb, str) else ""
        year = _YEAR.search(v) or _YEAR.search(fb)
        if not year:
            return pd.NA
        y = year.group(1)
        for src in (v, fb):
            if q := _QUARTER.search(src):
                return f"{y}-Q{_CN_DIGIT.get(q.group(1), q.group(1))}"
            if m := _MONTH.search(src.replace(year.group(0), "")):
                return f"{y}-{int(m.group(1)):02d}"
        return y

    fb = fallback if fallback is not None else pd.Series(pd.NA, index=text.index)
    return pd.Series(
        [one(a, b) for a, b in zip(text.tolist(), fb.tolist())], index=text.index, dtype="string"
    )


def derive_missing(work: pd.DataFrame, table: str, issues: Issues, cfg: StageConfig) -> dict:
    """Fill required columns a template does not have, in place; returns flags for later hooks."""
    state: dict = {}
    cols = work.columns
    if table == "opportunities":
        if "closed_at" not in cols and {"stage", "stage_entered_at"} <= set(cols):
            closed = cfg.status(cfg.map(V.normalise_text(work["stage"]).values)).isin(
                ["won", "lost"]
            )
            work["closed_at"] = work["stage_entered_at"].where(closed.fillna(False).astype(bool))
            issues.add_table_note(
                "closed_at", "fallback", "closed_at: when a won/lost deal entered that stage"
            )
        if "opportunity_id" not in cols and "account_id" in cols:
            work["opportunity_id"] = work["account_id"]
            state["customer_keyed"] = True
            issues.add_table_note("opportunity_id", "customer_key", CUSTOMER_KEY_NOTE)
        if "created_at" not in cols and "engaged_at" not in cols:
            sources = [c for c in ("previous_stage_left_at", "stage_entered_at") if c in cols]
            if sources:
                start = work[sources[0]]
                for c in sources[1:]:
                    start = start.where(~V.blank_mask(start), work[c])
                work["created_at"] = start
                issues.add_table_note(
                    "created_at",
                    "fallback",
                    "created_at taken from " + ", else ".join(sources) + " (earliest per deal)",
                )
    elif table == "activities" and "activity_id" not in cols:
        work["activity_id"] = pd.array([f"row{i + 1}" for i in range(len(work))], dtype="string")
        issues.add_table_note(
            "activity_id", "derived_id", "no activity id: rows numbered row1, row2, ..."
        )
    elif table == "leads" and "channel" not in cols and "assigned_at" in cols:
        work["channel"] = "(unknown)"
        issues.add_table_note(
            "channel", "unknown_segment", "no channel column (assignment sheet): '(unknown)'"
        )
    elif table == "targets" and "period" not in cols:
        text = [c for c in ("sub_target", "goal") if c in cols]
        if text:
            other = work["goal"] if "goal" in cols and text[0] != "goal" else None
            work["period"] = period_from_text(work[text[0]], other)
            issues.add_table_note(
                "period", "derived_period", f"period read from {' / '.join(text)}"
            )
    return state


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _subtotal_mask(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    if getattr(text.dtype, "storage", None) == "pyarrow" and len(text):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(text.array)
        if pc.all(pc.string_is_ascii(arr)).as_py() in (True, None) and not (
            V.may_contain(arr, "total", ignore_case=True)
            and pc.any(pc.match_substring(arr, "total", ignore_case=True)).as_py()
        ):
            return pd.Series(False, index=values.index)
    # only a cell holding a non-ASCII character (总计, 合計, ...) or the word "total" can
    # be a subtotal: the rules below run on those cells alone, once per distinct value
    maybe = (~text.str.isascii() | text.str.contains("total", case=False, regex=False)).fillna(
        False
    )
    out = pd.Series(False, index=values.index)
    if maybe.any():
        uniq = pd.Series(text[maybe].unique(), dtype="string")
        simple = uniq.map(to_simplified, na_action="ignore").astype("string")
        hit = (simple.str.contains(_SUBTOTAL_ZH) | simple.str.match(_SUBTOTAL_EN)).fillna(False)
        out[maybe] = text[maybe].isin(uniq[hit.astype(bool)]).to_numpy()
    return out


def reject_rows(work: pd.DataFrame, table: str, issues: Issues, rej) -> None:
    """Subtotal rows and non-amount targets are rejected (``rej.add``) and blanked in ``work``.

    A subtotal is recognised by the period column or the first column ending in 总计, 合计,
    小计 (either script) or being ``Total``/``Subtotal``.
    """
    if not len(work):
        return
    from ..schema import TABLES

    for c in TABLES[table].columns:  # 萬/億 written in traditional script
        if c.kind == "number" and c.name in work.columns and not _is_numeric(work[c.name]):
            text = work[c.name].astype("string")
            for trad, simple in (("萬", "万"), ("億", "亿")):
                if text.str.contains(trad, regex=False).any():
                    text = text.str.replace(trad, simple, regex=False)
            work[c.name] = text
    cols = [c for c in ("period",) if c in work.columns] + [work.columns[0]]
    sub = pd.Series(False, index=work.index)
    for c in dict.fromkeys(cols):
        sub |= _subtotal_mask(work[c])
    if sub.any():
        issues.add(work.index[sub], "*", None, "subtotal_row", "rejected", SUBTOTAL_REASON)
        rej.add(sub, SUBTOTAL_REASON)
    if sub.any():
        for c in work.columns:
            work[c] = work[c].mask(sub)


def apply_units(
    work: pd.DataFrame,
    raw: pd.DataFrame,
    mapping: dict,
    extras: dict[str, pd.Series],
    issues: Issues,
    numeric: set[str],
) -> None:
    """Header units and percentages applied after the numeric parse; grades as letters.

    A unit (``(万元)``) multiplies the cells written as bare numbers (``1500`` -> 15,000,000);
    a cell with its own unit (``1500万``) is already in yuan and is left alone. A ``(%)``
    column is a fraction after cleaning (``113`` and ``113%`` -> 1.13).
    """
    inverse = {str(v): k for k, v in mapping.items()}
    for col, key in header_units(raw.columns, mapping).items():
        if col not in work.columns:
            continue
        src = raw[inverse.get(col, col)]
        bare = (
            pd.Series(True, index=raw.index)
            if pd.api.types.is_numeric_dtype(src)
            else src.astype("string").str.match(_BARE).fillna(False).astype(bool)
        )
        if col not in numeric:  # a kept column: read its numbers here
            text = src.astype("string")
            pct = text.str.extract(_PCT_CELL, expand=False)
            parsed = V.parse_number(src).values
            values = parsed.where(pct.isna(), pd.to_numeric(pct, errors="coerce"))
            if key.percent:
                bare = bare | pct.notna()
            work[col] = values.where(work[col].notna()).astype(float)
        factor = 0.01 if key.percent else key.scale
        targets = [col, *[k for k in extras if k.startswith(f"{col}_")]]
        for t in targets:
            series = extras[t] if t in extras else work[t]
            scaled = series.where(~bare, series * factor)
            if t in extras:
                extras[t] = scaled
            else:
                work[t] = scaled
        what = "percent: divided by 100" if key.percent else f"unit {key.suffix}: x{key.scale:g}"
        issues.add_table_note(
            col, "unit", f"{what} for {int(bare.sum())} bare number(s) (header suffix)"
        )
    for col in ("attainment", "yoy_growth"):
        if col in work.columns and col not in header_units(raw.columns, mapping):
            text = work[col].astype("string")
            pct = text.str.extract(_PCT_CELL, expand=False)
            if pct.notna().any() and (pct.notna() | V.blank_mask(text)).all():
                work[col] = pd.to_numeric(pct, errors="coerce") / 100
                issues.add_table_note(col, "unit", "percent cells as fractions (113% -> 1.13)")
    if "grade" in work.columns:
        before = work["grade"]
        after = normalise_grade(before)
        changed = int((before.notna() & (after != before.astype("string"))).sum())
        if changed:
            work["grade"] = after
            issues.add_table_note("grade", "grade_names", f"{changed} grades read as letters")


def episode_numbers(account: pd.Series, date: pd.Series, closed: pd.Series) -> pd.Series:
    """Per row, the number of the customer's deal it belongs to (1, 2, ...).

    Rows of one customer in date order (undated last, then file order); a row after a won
    or lost row starts the next deal.

    >>> episode_numbers(pd.Series(["K1", "K1", "K1", "K2"]),
    ...     pd.to_datetime(pd.Series(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-01"])),
    ...     pd.Series([False, True, False, False])).tolist()
    [1, 1, 2, 1]
    """
    d = pd.DataFrame(
        {
            "a": account.to_numpy(),
            "d": date.to_numpy(),
            "c": closed.to_numpy(),
            "i": np.arange(len(account)),
        }
    )
    d = d.sort_values(["a", "d", "i"], kind="mergesort", na_position="last")
    prev_closed = d.groupby("a", sort=False, dropna=False)["c"].shift(1, fill_value=False)
    ep = prev_closed.astype(int).groupby(d["a"], sort=False, dropna=False).cumsum() + 1
    return pd.Series(ep.sort_index().to_numpy(), index=account.index, dtype="int64")


def customer_deal_ids(account: pd.Series, episode: pd.Series) -> pd.Series:
    """``KH001`` for a customer's first deal, ``KH001#2`` for the next one."""
    suffix = episode.map(lambda n: "" if n == 1 else f"#{n}")
    return (account.astype("string") + suffix).astype("string")


def split_customer_episodes(
    work: pd.DataFrame, state: dict, cfg: StageConfig, issues: Issues, usable: pd.Series
) -> pd.Series:
    """Customer-keyed opportunities: one row per deal; earlier rows of a deal are merged.

    Returns the mask of merged rows (counted in ``merged``; their stages go to the stage
    history when read through :func:`read_dataset`).
    """
    merged = pd.Series(False, index=work.index)
    if not state.get("customer_keyed"):
        return merged
    account = work["opportunity_id"].astype("string")
    date = work["stage_entered_at"] if "stage_entered_at" in work.columns else work["created_at"]
    closed = work["status"].isin(["won", "lost"]).fillna(False).astype(bool)
    ok = account.notna() & work["status"].notna()
    ep = episode_numbers(account[ok], date[ok], closed[ok])
    ids = customer_deal_ids(account[ok], ep)
    work.loc[ok, "opportunity_id"] = ids
    use = ok & usable
    d = pd.DataFrame({"id": ids[use[ok]], "d": date[use], "i": np.arange(int(use.sum()))})
    d = d.sort_values(["id", "d", "i"], kind="mergesort", na_position="first")
    last = ~d["id"].duplicated(keep="last")
    earliest = work.loc[d.index, "created_at"].groupby(d["id"]).min()
    keep_rows = d.index[last.to_numpy()]
    work.loc[keep_rows, "created_at"] = d.loc[keep_rows, "id"].map(earliest).to_numpy()
    earlier = d.index[~last.to_numpy()]
    if len(earlier):
        merged[earlier] = True
        target = work.loc[earlier, "opportunity_id"].astype("string")
        for row in earlier:
            issues.add(
                [row],
                "opportunity_id",
                [target[row]],
                "same_customer_deal",
                "merged",
                f"earlier row of opportunity {target[row]} (kept as its stage history)",
            )
        work.loc[earlier, "opportunity_id"] = (
            target + "@row" + pd.Series(earlier.astype(str), index=earlier)
        )
    n_new = int((ep > 1).sum())
    issues.add_table_note(
        "opportunity_id",
        "customer_key",
        f"{int(ids.nunique())} deal(s) from {int(account[ok].nunique())} customer(s); "
        f"{n_new} row(s) belong to a customer's later deal",
    )
    return merged
