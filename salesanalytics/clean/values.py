"""Value parsers: messy cells in, typed Series out, with a mask of cells that failed.

Every parser takes a Series and returns a :class:`Parsed` (new values, ``bad`` mask of
non-empty cells that could not be read, and notes); none mutates its input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "PLACEHOLDERS",
    "Parsed",
    "blank_mask",
    "parse_datetime",
    "parse_number",
    "parse_bool",
    "normalise_category",
    "normalise_text",
    "normalise_id",
    "infer_extra",
    "mask_phone",
    "mask_email",
]

#: Cell values that mean "not answered" (compared case-insensitively after stripping).
PLACEHOLDERS = frozenset(
    {
        "",
        "select",
        "n/a",
        "na",
        "nan",
        "null",
        "none",
        "nil",
        "-",
        "--",
        "—",
        "?",
        "unknown",
        "#n/a",
        "not available",
        "not specified",
        "未知",
        "无",
        "空",
        "不详",
        "暂无",
        "未填写",
        "请选择",
    }
)


@dataclass
class Parsed:
    values: pd.Series
    bad: pd.Series
    notes: list[str] = field(default_factory=list)
    extra: dict[str, pd.Series] = field(default_factory=dict)


def _as_text(s: pd.Series) -> pd.Series:
    """Strings with full-width spaces folded and edges stripped; missing stays missing."""
    out = s.astype("string").str.replace("\u3000", " ", regex=False).str.strip()
    return out


def blank_mask(s: pd.Series) -> pd.Series:
    """True where a cell is missing or a placeholder such as ``Select`` or ``N/A``."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s.isna()
    text = _as_text(s)
    return text.isna() | text.str.casefold().isin(PLACEHOLDERS).fillna(False).astype(bool)


def _clean_text(s: pd.Series) -> pd.Series:
    text = _as_text(s)
    return text.mask(blank_mask(s))


# ---------------------------------------------------------------- dates
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?$")
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(.*)$")
_CN = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?(.*)$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]+(.*))?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _iso_parse(text: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _serial_to_datetime(num: pd.Series) -> pd.Series:
    ok = num.between(20_000, 80_000)  # 1954..2119: anything else is not a plausible date
    days = num.where(ok)
    return (_EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")


def _one_date(value: str, dayfirst: bool):
    try:
        return pd.Timestamp(pd.to_datetime(value, dayfirst=dayfirst)).tz_localize(None)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return pd.NaT


def parse_datetime(s: pd.Series, *, dayfirst: bool | None = None) -> Parsed:
    """Parse dates and timestamps; the day/month order is decided per column.

    Accepts ISO 8601 (with or without time and offset; offsets are converted to UTC),
    ``YYYY/MM/DD``, ``2024年3月5日``, ``M/D/Y`` or ``D/M/Y`` and Excel serial numbers.
    For slash dates the column decides: a first field above 12 means day-first, a second
    field above 12 means month-first; when nothing decides, ``dayfirst`` (default
    month-first) applies and a note says the column was ambiguous. Cells that contradict
    the column's order are marked bad rather than guessed.

    Examples
    --------
    >>> p = parse_datetime(pd.Series(["31/01/2024", "02/03/2024", None]))
    >>> p.values.dt.strftime("%Y-%m-%d").tolist()[:2], p.notes
    (['2024-01-31', '2024-03-02'], ['day-first dates (D/M/Y) detected'])
    """
    idx = s.index
    if pd.api.types.is_datetime64_any_dtype(s):
        v = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
        return Parsed(v.astype("datetime64[ns]"), pd.Series(False, index=idx))
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = _serial_to_datetime(s.astype(float))
        return Parsed(v, s.notna() & v.isna(), ["Excel serial dates"] if v.notna().any() else [])

    text = _clean_text(s)
    out = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    notes: list[str] = []
    present = text.notna()

    cn = text.str.extract(_CN)
    ymd = text.str.extract(_YMD_SLASH)
    for parts in (cn, ymd):
        hit = parts[0].notna()
        if hit.any():
            text = text.where(
                ~hit,
                parts[0] + "-" + parts[1] + "-" + parts[2] + " " + parts[3].fillna("").str.strip(),
            ).str.strip()

    iso = text.str.match(_ISO).fillna(False).astype(bool)
    if iso.any():
        out[iso] = _iso_parse(text[iso])

    dmy = text.str.extract(_DMY)
    slash = dmy[0].notna() & ~iso
    if slash.any():
        a = dmy.loc[slash, 0].astype(int)
        b = dmy.loc[slash, 1].astype(int)
        day_first_evidence = (a > 12) & (b <= 12)  # both above 12: invalid, not evidence
        month_first_evidence = (b > 12) & (a <= 12)
        if day_first_evidence.any() and month_first_evidence.any():
            use_dayfirst = bool(day_first_evidence.sum() >= month_first_evidence.sum())
            notes.append("mixed day/month order; cells contradicting the majority were rejected")
        elif day_first_evidence.any():
            use_dayfirst = True
            notes.append("day-first dates (D/M/Y) detected")
        elif month_first_evidence.any():
            use_dayfirst = False
        else:
            use_dayfirst = bool(dayfirst)
            if ((a <= 12) & (b <= 12)).any():
                notes.append(
                    "ambiguous slash dates (no day above 12): read as "
                    + ("D/M/Y" if use_dayfirst else "M/D/Y")
                )
        day, month = (a, b) if use_dayfirst else (b, a)
        year = dmy.loc[slash, 2].astype(int)
        year = year.where(year >= 100, year + 2000)
        iso_text = (
            year.astype(str)
            + "-"
            + month.astype(str).str.zfill(2)
            + "-"
            + day.astype(str).str.zfill(2)
            + " "
            + dmy.loc[slash, 3].fillna("")
        ).str.strip()
        out[slash] = _iso_parse(iso_text)

    serial = text.str.match(_SERIAL).fillna(False).astype(bool) & out.isna()
    if serial.any():
        out[serial] = _serial_to_datetime(text[serial].astype(float))
        notes.append("Excel serial dates")

    # last resort, for month names only ("Mar 5, 2024", "5 March 2024"): one value at a time
    rest = (
        present
        & out.isna()
        & ~iso
        & ~slash
        & ~serial
        & text.str.contains(r"[A-Za-z]{3}").fillna(False)
    )
    if rest.any():
        out[rest] = [_one_date(v, bool(dayfirst)) for v in text[rest]]
    out = out.where((out.dt.year >= 1900) & (out.dt.year <= 2200))
    bad = present & out.isna()
    return Parsed(out, bad, notes)


# ---------------------------------------------------------------- numbers
_CURRENCY = re.compile(r"(?i)(rmb|cny|usd|eur|gbp|hkd|jpy|us\$|hk\$|[¥￥$€£]|元|人民币|美元)")
_MULT = {
    "万": 1e4,
    "千": 1e3,
    "百万": 1e6,
    "亿": 1e8,
    "k": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "w": 1e4,
    "b": 1e9,
    "bn": 1e9,
}
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_AMOUNT = re.compile(rf"^({_NUM})\s*(百万|万|千|亿|k|mn|m|w|bn|b)?$", re.I)
_RANGE = re.compile(
    rf"^({_NUM})\s*(百万|万|千|亿|k|mn|m|w|bn|b)?\s*(?:-|~|–|—|to|至|到)\s*({_NUM})\s*(百万|万|千|亿|k|mn|m|w|bn|b)?$",
    re.I,
)
_EURO = re.compile(r"^\d{1,3}(?:\.\d{3})+,\d{1,2}$")


def _mult(unit: pd.Series) -> pd.Series:
    return unit.fillna("").str.lower().map(lambda u: _MULT.get(u, 1.0)).astype(float)


def parse_number(s: pd.Series) -> Parsed:
    """Parse amounts: currency symbols, thousands separators, 万/千/亿/k/M, ranges.

    A range such as ``"50-80万"`` gives its midpoint as the value and keeps ``low`` and
    ``high`` in ``extra``; ``(1,200)`` is negative (accounting style).

    Examples
    --------
    >>> parse_number(pd.Series(["¥50万", "1,200.5", "50-80万", "3k"])).values.tolist()
    [500000.0, 1200.5, 650000.0, 3000.0]
    """
    idx = s.index
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.astype(float)
        return Parsed(v, pd.Series(False, index=idx), extra={})
    text = _clean_text(s)
    present = text.notna()
    t = text.str.replace(_CURRENCY, "", regex=True).str.replace(r"\s+", "", regex=True)
    neg = t.str.match(r"^\(.*\)$").fillna(False).astype(bool)
    t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    euro = t.str.match(_EURO).fillna(False).astype(bool)
    t = t.where(~euro, t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    t = t.str.replace(",", "", regex=False).str.replace("，", "", regex=False)

    single = t.str.extract(_AMOUNT)
    value = pd.to_numeric(single[0], errors="coerce") * _mult(single[1])
    rng = t.str.extract(_RANGE)
    is_range = rng[0].notna() & value.isna()
    low = pd.Series(np.nan, index=idx)
    high = pd.Series(np.nan, index=idx)
    if is_range.any():
        unit_hi = rng[3].fillna(rng[1])
        unit_lo = rng[1].fillna(rng[3])
        lo = pd.to_numeric(rng[0], errors="coerce") * _mult(unit_lo)
        hi = pd.to_numeric(rng[2], errors="coerce") * _mult(unit_hi)
        low = lo.where(is_range)
        high = hi.where(is_range)
        value = value.where(~is_range, (low + high) / 2)
    value = value.where(~neg, -value)
    bad = present & value.isna()
    notes = ["ranges kept as low/high with midpoint"] if is_range.any() else []
    extra = {"low": low, "high": high} if is_range.any() else {}
    return Parsed(value.astype(float), bad, notes, extra)


# ---------------------------------------------------------------- booleans, text, ids
_TRUE = {"1", "1.0", "true", "t", "yes", "y", "是", "对", "已转化", "converted", "won"}
_FALSE = {"0", "0.0", "false", "f", "no", "n", "否", "不是", "未转化", "not converted"}


def parse_bool(s: pd.Series) -> Parsed:
    """Yes/No, True/False, 1/0, 是/否 into a nullable boolean."""
    if pd.api.types.is_bool_dtype(s):
        return Parsed(s.astype("boolean"), pd.Series(False, index=s.index))
    text = _clean_text(s).str.casefold()
    v = pd.Series(pd.NA, index=s.index, dtype="boolean")
    v[text.isin(_TRUE).fillna(False).astype(bool)] = True
    v[text.isin(_FALSE).fillna(False).astype(bool)] = False
    return Parsed(v, text.notna() & v.isna())


def normalise_text(s: pd.Series) -> Parsed:
    """Strip edges, fold runs of spaces, turn placeholders into missing."""
    t = _clean_text(s).str.replace(r"\s+", " ", regex=True)
    return Parsed(t, pd.Series(False, index=s.index))


def normalise_id(s: pd.Series) -> Parsed:
    """Identifiers as text; ``123.0`` (a number that went through Excel) becomes ``123``."""
    if pd.api.types.is_float_dtype(s):
        whole = s.dropna().eq(s.dropna().round()).all()
        if whole:
            s = s.astype("Int64")
    t = _clean_text(s.astype("string"))
    t = t.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return Parsed(t, pd.Series(False, index=s.index))


def normalise_category(s: pd.Series) -> Parsed:
    """Fold case and spacing drift onto the most frequent spelling of each value.

    ``Google``, ``google`` and ``GOOGLE `` become whichever spelling is most common
    (ties: the alphabetically first), so categories group correctly.
    """
    t = normalise_text(s).values
    folded = t.str.casefold()
    counts = pd.DataFrame({"v": t, "k": folded}).dropna().value_counts().reset_index(name="n")
    counts = counts.sort_values(["k", "n", "v"], ascending=[True, False, True], kind="mergesort")
    canon = counts.drop_duplicates("k").set_index("k")["v"]
    out = folded.map(canon).astype("string")
    changed = int((t.notna() & (out != t)).sum())
    notes = [f"{changed} cells folded onto a common spelling"] if changed else []
    return Parsed(out, pd.Series(False, index=s.index), notes)


def infer_extra(s: pd.Series) -> pd.Series:
    """An unknown column: placeholders become missing; all-numeric columns become numbers.

    Whole numbers become nullable ``Int64`` and others ``float64``, whether the file gave
    text (CSV) or typed cells (Excel), so both give the same frame.
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return s
    if pd.api.types.is_numeric_dtype(s):
        nums = s.astype(float)
    else:
        t = normalise_text(s).values
        nums = pd.to_numeric(t, errors="coerce")
        if not (t.notna().any() and nums[t.notna()].notna().all()):
            return t
    whole = nums.dropna().eq(nums.dropna().round()).all()
    return nums.astype("Int64") if whole else nums.astype(float)


# ---------------------------------------------------------------- privacy
def mask_phone(s: pd.Series) -> pd.Series:
    """``13812345678`` -> ``138****5678``; keeps the first 3 and last 4 digits."""
    digits = s.astype("string").str.replace(r"\D", "", regex=True)
    long = digits.str.len() >= 8
    masked = digits.str[:3] + "****" + digits.str[-4:]
    return masked.where(long, "****").where(s.notna())


def mask_email(s: pd.Series) -> pd.Series:
    """``john.doe@example.com`` -> ``j***@example.com``."""
    t = s.astype("string")
    return (
        t.str.replace(r"^(.)[^@]*@", r"\1***@", regex=True)
        .where(t.str.contains("@"), "***")
        .where(s.notna())
    )
