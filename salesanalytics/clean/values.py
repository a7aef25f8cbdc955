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
    "parse_period",
    "strip_invisible",
    "DATE_RANGE",
    "UNKNOWN",
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


#: The value a blank or unknown segment (channel, region, team ...) is kept as.
UNKNOWN = "(unknown)"

#: Dates outside this window are out of range (a per-cell problem), whatever their form.
DATE_RANGE = ("1900-01-01", "2200-12-31")


_PLACEHOLDER_LEN = max(len(p) for p in PLACEHOLDERS)
#: The lengths placeholders come in: a cell of any other length is none (lower-casing keeps
#: the length of every character a placeholder holds).
_PLACEHOLDER_LENGTHS = sorted({len(p) for p in PLACEHOLDERS})


@dataclass
class Parsed:
    """A parsed column.

    ``flags`` holds per-cell masks a caller may report without rejecting: ``out_of_range``
    (dates outside the window: also in ``bad``), ``range`` (a ``50-80万`` range, midpoint
    used), ``open_ended`` (``90天+``).
    """

    values: pd.Series
    bad: pd.Series
    notes: list[str] = field(default_factory=list)
    extra: dict[str, pd.Series] = field(default_factory=dict)
    flags: dict[str, pd.Series] = field(default_factory=dict)


# control characters except tab, newline and carriage return; zero-width characters
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")


# the same class in RE2 syntax, so that pyarrow-backed strings are searched in C
_INVISIBLE_RE2 = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{7f}\x{200b}-\x{200d}\x{2060}\x{feff}]"


def has_invisible(text: str) -> bool:
    """Whether a text holds any character :func:`strip_invisible` removes."""
    return _INVISIBLE.search(text) is not None


def _is_arrow(s: pd.Series) -> bool:
    return getattr(s.dtype, "storage", None) == "pyarrow"


def cell_bytes(arr):
    """The bytes behind the cells of a pyarrow string array, one uint8 numpy view per chunk
    (no copy; a chunk of another type gives None). Bytes under a missing cell may be there."""
    import pyarrow as pa

    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            yield None
            continue
        if not len(chunk):
            continue
        _, offsets, data = chunk.buffers()
        if data is None:
            continue
        wide = pa.types.is_large_string(chunk.type)
        off = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)
        lo, hi = int(off[chunk.offset]), int(off[chunk.offset + len(chunk)])
        yield np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=lo)


def may_contain(arr, needle: str, *, ignore_case: bool = False) -> bool:
    """False only when no cell of the pyarrow string array ``arr`` contains ``needle``.

    Searches the bytes behind the cells in one pass (a single byte through numpy), which
    is several times faster than a per-cell search. True may be a false alarm (a match
    across two cells, or bytes under a missing cell): callers confirm it per cell.
    ``ignore_case`` folds ASCII letters only.
    """
    pattern = needle.lower().encode() if ignore_case else needle.encode()
    for cells in cell_bytes(arr):
        if cells is None:
            return True
        if len(pattern) == 1 and not ignore_case:
            if (cells == pattern[0]).any():
                return True
            continue
        text = cells.tobytes()
        if pattern in (text.lower() if ignore_case else text):
            return True
    return False


def strip_invisible(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Remove control and zero-width characters from text cells.

    Tab, newline and carriage return are kept (cleaning folds them as spacing);
    ``\\x00``-``\\x1f`` otherwise, ``\\x7f``, U+200B..U+200D, U+2060 and U+FEFF go. A
    zero-width *space* between a lower-case and an upper-case Latin letter stood for a
    word break (``Ethan\\u200bBrooks``) and becomes a space, so no phantom rep appears.

    Returns
    -------
    (cleaned Series, mask of the cells that changed)

    Examples
    --------
    >>> out, changed = strip_invisible(pd.Series(["Ethan\u200bBrooks", "ok\x01", "fine"]))
    >>> out.tolist(), changed.tolist()
    (['Ethan Brooks', 'ok', 'fine'], [True, True, False])
    """
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s, pd.Series(False, index=s.index)
    text = s.astype("string") if pd.api.types.is_object_dtype(s) else s
    pattern = _INVISIBLE_RE2 if _is_arrow(text) else _INVISIBLE
    hit = text.str.contains(pattern, regex=True).fillna(False).astype(bool)
    if not hit.any():
        return s, hit
    out = s.copy()
    out[hit] = (
        text[hit]
        .str.replace(r"(?<=[a-z])\u200b(?=[A-Z])", " ", regex=True)
        .str.replace(_INVISIBLE, "", regex=True)
    )
    return out, hit


def _on_unique(s: pd.Series, fn) -> pd.Series:
    """Apply a vectorised Series -> Series ``fn`` once per distinct value.

    Columns of mostly distinct values (ids, timestamps; judged on a sample) skip the
    look-up and go straight through ``fn``.
    """
    if len(s) > 4000 and s.iloc[:2000].nunique() > 1000:
        return fn(s)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) == 0 or len(uniq) * 2 > len(s):
        return fn(s)
    res = fn(pd.Series(uniq, dtype=s.dtype))
    if res.dtype == "string" and pd.api.types.is_string_dtype(s):
        same = res.reset_index(drop=True) == pd.Series(uniq, dtype="string")
        if bool(same.fillna(False).all()):  # every distinct value already as fn gives it
            return s.astype("string")
        return spread(res.array, codes, s.index)
    out = res.iloc[np.maximum(codes, 0)]
    out.index = s.index
    return out.where(codes >= 0)


def spread(lut, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Values of ``lut`` (one per distinct value) spread back to the rows by their codes.

    ``codes`` are :func:`pandas.factorize` codes (-1: missing, which stays missing). A list of
    strings or ``None`` becomes a ``string`` column, taken in C (no per-row Python objects).
    """
    if isinstance(lut, list):
        lut = pd.array(lut, dtype="string")
    return pd.Series(lut.take(codes, allow_fill=True), index=index)


def _as_text(s: pd.Series) -> pd.Series:
    """Strings with full-width spaces folded and edges stripped; missing stays missing."""
    return s.astype("string").str.replace("\u3000", " ", regex=False).str.strip()


def _placeholder(text: pd.Series) -> pd.Series:
    """Placeholder cells (compared in lower case; short cells only, so long columns are cheap)."""
    short = text.str.len() <= _PLACEHOLDER_LEN
    out = pd.Series(False, index=text.index)
    if short.any():
        out[short.fillna(False).astype(bool)] = (
            text[short.fillna(False).astype(bool)].str.lower().isin(PLACEHOLDERS).to_numpy()
        )
    return out


def blank_mask(s: pd.Series) -> pd.Series:
    """True where a cell is missing or a placeholder such as ``Select`` or ``N/A``."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s.isna()
    text = _as_text(s)
    return text.isna() | _placeholder(text)


def _clean_text(s: pd.Series) -> pd.Series:
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return _as_text(s)

    return _on_unique(s.astype("string"), _clean_direct)


def _already_clean(x: pd.Series, *, no: str | None = None) -> bool:
    """Whether :func:`_clean_direct` would return ``x`` unchanged (pyarrow strings only):
    no ideographic space, nothing to strip, no placeholder; and no cell holding ``no``.
    A few passes in C, so clean id and date columns skip the per-cell work."""
    if not _is_arrow(x) or not len(x):
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(x.array)
    subs = () if pc.all(pc.string_is_ascii(arr)).as_py() in (True, None) else ("\u3000",)
    for sub in subs + ((no,) if no else ()):
        if may_contain(arr, sub) and pc.any(pc.match_substring(arr, sub)).as_py():
            return False
    size = pc.sum(pc.binary_length(arr)).as_py()
    if pc.sum(pc.binary_length(pc.utf8_trim_whitespace(arr))).as_py() != size:
        return False
    lengths = pc.utf8_length(arr)
    short = pc.fill_null(
        pc.is_in(lengths, value_set=pa.array(_PLACEHOLDER_LENGTHS, type=lengths.type)), False
    )
    n_short = pc.sum(short).as_py() or 0
    if n_short == 0:  # no cell has the length of a placeholder (ids, timestamps)
        return True
    cells = arr if n_short == len(arr) else pc.filter(arr, short)
    return not pc.any(
        pc.is_in(pc.utf8_lower(cells), value_set=pa.array(sorted(PLACEHOLDERS)))
    ).as_py()


def _clean_direct(x: pd.Series) -> pd.Series:
    if _already_clean(x):
        return x.astype("string")
    text = _as_text(x)
    return text.mask(text.isna() | _placeholder(text))


def _text_direct(x: pd.Series) -> pd.Series:
    if not (pd.api.types.is_object_dtype(x) or pd.api.types.is_string_dtype(x)):
        return _as_text(x).str.replace(r"\s+", " ", regex=True)
    return _clean_direct(x.astype("string")).str.replace(r"\s+", " ", regex=True)


# ---------------------------------------------------------------- dates
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?$")
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(.*)$")
_CN = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?(.*)$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]+(.*))?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


_WINDOW = {"value": DATE_RANGE}


def _in_window(parsed: pd.Series) -> pd.Series:
    """Naive timestamps with anything outside the date window set to NaT, as ns."""
    lo, hi = (pd.Timestamp(x) for x in _WINDOW["value"])
    hi = hi + pd.Timedelta(days=1) if hi == hi.normalize() else hi
    if pd.api.types.is_datetime64_dtype(parsed) and lo.year > 1677 and hi.year < 2262:
        v = parsed.to_numpy()  # in numpy: NaT compares False, so it stays NaT
        ok = (v >= lo.to_datetime64()) & (v < hi.to_datetime64())
        if not ok.all():
            v = np.where(ok, v, np.datetime64("NaT"))
        return pd.Series(v.astype("datetime64[ns]"), index=parsed.index, name=parsed.name)
    ok = (parsed >= lo) & (parsed < hi)
    return parsed.where(ok).astype("datetime64[ns]")


def _iso_parse(text: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    return _in_window(parsed.dt.tz_localize(None))


def _serial_to_datetime(num: pd.Series) -> pd.Series:
    ok = num.between(20_000, 80_000)  # 1954..2119: anything else is not a plausible date
    days = num.where(ok)
    return (_EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")


_MONTH_NAME = re.compile(
    r"(?i)(?<![a-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?(?![a-z])"
)
_FAST_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def _one_date(value: str, dayfirst: bool):
    """One date with a month name; relative words ("now", "today") are never read."""
    if not _MONTH_NAME.search(value) or not re.search(r"\d", value):
        return pd.NaT
    try:
        ts = pd.Timestamp(pd.to_datetime(value, dayfirst=dayfirst))
        return ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return pd.NaT


def _has_digit(text: pd.Series) -> pd.Series:
    """Cells holding a digit (missing: False). Cells starting with one are found without a
    regular expression; only the others are searched."""
    if not _is_arrow(text) or not len(text):
        return text.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    import functools

    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.array)
    first = pc.fill_null(
        functools.reduce(pc.or_, (pc.starts_with(arr, d) for d in "0123456789")), False
    )
    out = np.asarray(first.to_numpy(zero_copy_only=False), dtype=bool).copy()
    rest = ~out & text.notna().to_numpy(dtype=bool)
    if rest.any():
        out[rest] = text[rest].str.contains(r"\d", regex=True).fillna(False).to_numpy(bool)
    return pd.Series(out, index=text.index)


def _fast_dates(text: pd.Series) -> pd.Series | None:
    """The whole column through one strict format (decided on its first value), or None."""
    first = text.dropna()
    if first.empty:
        return None
    sample = first.iloc[:50]
    for fmt in _FAST_FORMATS:
        probe = pd.to_datetime(sample, format=fmt, errors="coerce")
        if probe.notna().all():
            return _strict_dates(text, fmt)
    return None


#: Length and date/time separator of the cells each fast format writes in full (zero-padded).
_CANONICAL = {
    "%Y-%m-%d": (10, None),
    "%Y-%m-%d %H:%M:%S": (19, " "),
    "%Y-%m-%dT%H:%M:%S": (19, "T"),
    "%Y-%m-%d %H:%M": (16, " "),
}


def _canonical_column(s: pd.Series) -> pd.Series | None:
    """A text column whose every present cell is written in the same layout of
    :data:`_CANONICAL` (``2024-03-05``, ``2024-03-05 14:30:00``, ...), read in one cast;
    None for any other column (it takes the general path, which gives the same instants).

    Such cells hold nothing to strip or blank and are no placeholder, so the text checks of
    the general path have nothing to do on them.
    """
    if not _is_arrow(s) or not len(s):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    head = s.iloc[:64].dropna()
    if head.empty:
        return None
    first = str(head.iloc[0])
    fmt = next(
        (
            f
            for f, (length, sep) in _CANONICAL.items()
            if len(first) == length and (sep is None or first[10] == sep)
        ),
        None,
    )
    if fmt is None:
        return None
    length, sep = _CANONICAL[fmt]
    arr = pa.array(s.array)
    if pc.all(pc.equal(pc.binary_length(arr), length)).as_py() not in (True, None):
        return None  # some cell of another length (or not ASCII)
    other = "T" if sep == " " else " "
    if (
        sep is not None
        and may_contain(arr, other)
        and pc.any(pc.match_substring(arr, other)).as_py()
    ):
        return None
    try:
        parsed = pc.cast(arr, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    values = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype="datetime64[us]")
    if (values < np.datetime64("1000-01-01")).any():  # a year below 1000: pandas decides
        return None
    return pd.Series(values, index=s.index, name=s.name)


def _strict_dates(text: pd.Series, fmt: str) -> pd.Series:
    """``pd.to_datetime(text, format=fmt, errors="coerce")``, canonical cells in C.

    Cells written exactly in the format's zero-padded layout (year 1000-9999) are read by
    pyarrow's ISO 8601 cast, which gives the same instants (it refuses impossible dates and
    zone offsets: then the whole column goes through pandas); every other cell goes through
    pandas with the format, as before.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _is_arrow(text) or fmt not in _CANONICAL:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    length, sep = _CANONICAL[fmt]
    arr = pa.array(text.array)
    canon = pc.equal(pc.utf8_length(arr), length)
    if sep is not None:  # the cast also takes the other of " " and "T"
        has_t = pc.match_substring(arr, "T")
        canon = pc.and_(canon, has_t if sep == "T" else pc.invert(has_t))
    canon = pc.fill_null(canon, False)
    try:
        parsed = pc.cast(pc.filter(arr, canon), pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_datetime(text, format=fmt, errors="coerce")
    mask = np.asarray(canon.to_numpy(zero_copy_only=False), dtype=bool)
    values = np.asarray(parsed.to_numpy(), dtype="datetime64[us]")
    early = values < np.datetime64("1000-01-01")  # a year below 1000: pandas decides
    if mask.all() and not early.any():  # the usual column: every cell canonical
        return pd.Series(values, index=text.index, name=text.name)
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[us]")
    out[mask] = np.where(early, np.datetime64("NaT"), values)
    if early.any():
        mask = mask.copy()
        mask[np.flatnonzero(mask)[early]] = False
    rest = ~mask & text.notna().to_numpy(dtype=bool)
    if rest.any():
        other = pd.to_datetime(text[rest], format=fmt, errors="coerce")
        out[rest] = other.to_numpy(dtype="datetime64[us]")
    return pd.Series(out, index=text.index, name=text.name)


def parse_datetime(
    s: pd.Series,
    *,
    dayfirst: bool | None = None,
    date_range: tuple[str, str] = DATE_RANGE,
) -> Parsed:
    """Parse dates and timestamps; the day/month order is decided per column.

    Accepts ISO 8601 (with or without time and offset; offsets are converted to UTC),
    ``YYYY/MM/DD``, ``2024年3月5日``, ``M/D/Y`` or ``D/M/Y`` and Excel serial numbers.
    For slash dates the column decides: a first field above 12 means day-first, a second
    field above 12 means month-first; when nothing decides, ``dayfirst`` (default
    month-first) applies and a note says the column was ambiguous. Cells that contradict
    the column's order are marked bad rather than guessed.

    Dates outside ``date_range`` (default 1900-01-01 to 2200-12-31), e.g. ``2300-01-01``,
    are bad and flagged ``out_of_range``. Relative words (``now``, ``today``, ``昨天``)
    are never read as the wall-clock time: they are bad cells.

    A column whose cells all follow one ISO layout is parsed in one vectorised call; only
    the leftovers go through the per-form rules.

    Examples
    --------
    >>> p = parse_datetime(pd.Series(["31/01/2024", "02/03/2024", None]))
    >>> p.values.dt.strftime("%Y-%m-%d").tolist()[:2], p.notes
    (['2024-01-31', '2024-03-02'], ['day-first dates (D/M/Y) detected'])
    """
    _WINDOW["value"] = tuple(date_range)
    try:
        return _parse_datetime(s, dayfirst=dayfirst)
    finally:
        _WINDOW["value"] = DATE_RANGE


def _parse_datetime(s: pd.Series, *, dayfirst: bool | None) -> Parsed:
    idx = s.index
    if pd.api.types.is_datetime64_any_dtype(s):
        v = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
        v2 = _in_window(v)
        oor = v.notna() & v2.isna()
        return Parsed(v2, oor, flags={"out_of_range": oor})
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = _serial_to_datetime(s.astype(float))
        return Parsed(v, s.notna() & v.isna(), ["Excel serial dates"] if v.notna().any() else [])

    whole = _canonical_column(s)
    if whole is not None:  # the usual export: every cell in one zero-padded ISO layout
        windowed = _in_window(whole)
        oor = whole.notna() & windowed.isna()
        return Parsed(windowed, oor, flags={"out_of_range": oor})
    text = _clean_text(s)
    present = text.notna()
    # no digit, no date: "now", "today", "昨天" must never reach pandas (wall clock)
    text = text.where(_has_digit(text))
    fast = _fast_dates(text)
    if fast is not None:
        done = fast.notna()
        windowed = _in_window(fast)
        if (done | ~present).all():
            oor = done & windowed.isna()
            return Parsed(windowed, oor, flags={"out_of_range": oor})
        if done.any():
            rest = _parse_datetime(s.where(~done), dayfirst=dayfirst)
            out = windowed.where(done, rest.values)
            oor = (done & windowed.isna()) | rest.flags.get("out_of_range", False)
            return Parsed(
                out, (done & windowed.isna()) | rest.bad, rest.notes, flags={"out_of_range": oor}
            )
    out = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    notes: list[str] = []
    raw_year = text.str.extract(r"^(\d{4})\s*[-/.年]")[0]

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
        & text.str.contains(_MONTH_NAME).fillna(False)
    )
    if rest.any():
        one = pd.Series([_one_date(v, bool(dayfirst)) for v in text[rest]], index=text[rest].index)
        out[rest] = _in_window(pd.to_datetime(one))
    bad = present & out.isna()
    lo, hi = (int(str(x)[:4]) for x in _WINDOW["value"])
    year = pd.to_numeric(raw_year, errors="coerce")
    oor = bad & ((year < lo) | (year > hi)).fillna(False).astype(bool)
    return Parsed(out, bad, notes, flags={"out_of_range": oor})


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


_PLAIN = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
# counted things and days written with their unit: 20家, 5个, 30天, 12 days
_COUNT_UNIT = re.compile(r"(?i)^(.*?\d)\s*(家|个|個|人|次|单|單|位|件|笔|筆|天|日|days?|d)?(\+?)$")


def parse_number(s: pd.Series, *, percent: bool = False) -> Parsed:
    """Parse amounts: currency symbols, thousands separators, 万/千/亿/k/M, ranges.

    A range such as ``"50-80万元"`` gives its midpoint as the value, keeps ``low`` and
    ``high`` in ``extra`` and is flagged ``range``; ``(1,200)`` is negative (accounting
    style). Counts and durations written with their unit read as the number: ``20家`` is
    20, ``30天`` is 30 (days); ``90天+`` is 90, flagged ``open_ended``.

    With ``percent=True`` (a percentage column) ``113%`` is 1.13 and ``+8%`` is 0.08:
    percentages become fractions, bare numbers are kept as they are. Without it a cell
    with ``%`` is unreadable (an amount is never a percentage).

    Examples
    --------
    >>> parse_number(pd.Series(["¥50万", "1,200.5", "50-80万", "3k"])).values.tolist()
    [500000.0, 1200.5, 650000.0, 3000.0]
    >>> parse_number(pd.Series(["113%", "+8%"]), percent=True).values.round(2).tolist()
    [1.13, 0.08]
    >>> p = parse_number(pd.Series(["20家", "30天", "90天+"]))
    >>> p.values.tolist(), p.flags["open_ended"].tolist()
    ([20.0, 30.0, 90.0], [False, False, True])
    """
    idx = s.index
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.astype(float)
        return Parsed(v, pd.Series(False, index=idx), extra={})
    if len(s) > 4000 and (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)):
        # every cell is read on its own: read each distinct cell once, spread the results
        codes, uniq = pd.factorize(s.astype("string"), use_na_sentinel=True)
        if len(uniq) * 4 < len(s):
            one = parse_number(pd.Series(uniq, dtype="string"), percent=percent)
            return _spread_parsed(one, codes, idx)
    text = _clean_text(s)
    present = text.notna()
    plain = text.str.fullmatch(_PLAIN).fillna(False).astype(bool)
    value = pd.Series(np.nan, index=idx)
    if plain.any():
        value[plain] = _floats(pd.to_numeric(text[plain], errors="coerce"))
    rest = present & ~plain
    low = pd.Series(np.nan, index=idx)
    high = pd.Series(np.nan, index=idx)
    no = pd.Series(False, index=idx)
    flags = {"range": no, "open_ended": no}
    if not rest.any():
        return Parsed(value, present & value.isna(), [], {}, flags)
    r = _parse_messy(text[rest], percent)
    value[rest] = r["value"].to_numpy()
    is_range = pd.Series(False, index=idx)
    is_range[rest] = r["is_range"].to_numpy()
    open_ended = pd.Series(False, index=idx)
    open_ended[rest] = r["open"].to_numpy()
    notes, extra = [], {}
    if is_range.any():
        low[rest] = r["low"].to_numpy()
        high[rest] = r["high"].to_numpy()
        notes.append("ranges kept as low/high with midpoint")
        extra = {"low": low, "high": high}
    if open_ended.any():
        notes.append("open-ended values (e.g. 90天+) read as their bound")
    bad = present & value.isna()
    return Parsed(
        value.astype(float), bad, notes, extra, {"range": is_range, "open_ended": open_ended}
    )


def _spread_parsed(one: Parsed, codes: np.ndarray, index: pd.Index) -> Parsed:
    """A :class:`Parsed` of distinct values spread back to the rows (missing: as parsed)."""
    pos = np.maximum(codes, 0)
    missing = codes < 0

    def back(x: pd.Series, fill) -> pd.Series:
        arr = x.to_numpy()[pos] if len(x) else np.full(len(codes), fill)
        out = pd.Series(arr, index=index, dtype=x.dtype)
        return out.mask(missing, fill) if missing.any() else out

    return Parsed(
        back(one.values, np.nan),
        back(one.bad, False),
        list(one.notes),
        {k: back(v, np.nan) for k, v in one.extra.items()},
        {k: back(v, False) for k, v in one.flags.items()},
    )


def _floats(x: pd.Series) -> np.ndarray:
    return pd.Series(x).to_numpy(dtype=float, na_value=np.nan)


def _parse_messy(text: pd.Series, percent: bool) -> pd.DataFrame:
    """The regex route, for cells that are not plain numbers."""
    t = text.str.replace(_CURRENCY, "", regex=True).str.replace(r"\s+", "", regex=True)
    pct = t.str.endswith("%").fillna(False).astype(bool)
    t = t.str.replace(r"%$", "", regex=True)
    neg = t.str.match(r"^\(.*\)$").fillna(False).astype(bool)
    t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    euro = t.str.match(_EURO).fillna(False).astype(bool)
    t = t.where(~euro, t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    t = t.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    unit = t.str.extract(_COUNT_UNIT)
    counted = unit[0].notna() & (unit[1].notna() | (unit[2] == "+"))
    t = t.where(~counted, unit[0])
    open_ended = counted & (unit[2] == "+")

    single = t.str.extract(_AMOUNT)
    value = pd.to_numeric(single[0], errors="coerce") * _mult(single[1])
    rng = t.str.extract(_RANGE)
    is_range = (rng[0].notna() & value.isna()).fillna(False).astype(bool)
    low = pd.Series(np.nan, index=text.index)
    high = pd.Series(np.nan, index=text.index)
    if is_range.any():
        unit_hi = rng[3].fillna(rng[1])
        unit_lo = rng[1].fillna(rng[3])
        lo = pd.to_numeric(rng[0], errors="coerce") * _mult(unit_lo)
        hi = pd.to_numeric(rng[2], errors="coerce") * _mult(unit_hi)
        low = lo.where(is_range)
        high = hi.where(is_range)
        value = value.where(~is_range, (low + high) / 2)
    value = value.where(~neg, -value)
    if percent:
        value = value.where(~pct, value / 100)
        low, high = low.where(~pct, low / 100), high.where(~pct, high / 100)
    else:
        value = value.where(~pct)
    return pd.DataFrame(
        {
            "value": _floats(value),
            "is_range": is_range,
            "open": open_ended.fillna(False).astype(bool),
            "low": _floats(low),
            "high": _floats(high),
        },
        index=text.index,
    )


# ---------------------------------------------------------------- periods
_P_MONTH = re.compile(r"^(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*月?$")
_P_QUARTER = re.compile(r"(?i)^(\d{4})\s*(?:年|-|/)?\s*(?:第)?\s*q?([1-4])\s*(?:季度?|q)?$")
_P_QUARTER_CN = re.compile(r"^(\d{4})\s*年?\s*第?([一二三四1-4])季度$")
_P_YEAR = re.compile(r"^(\d{4})\s*(?:年|fy)?$", re.I)
_CN_DIGIT = {"一": "1", "二": "2", "三": "3", "四": "4"}


def _one_period(v: str) -> str | None:
    v = v.strip()
    if m := _P_MONTH.match(v):
        month = int(m.group(2))
        return f"{m.group(1)}-{month:02d}" if 1 <= month <= 12 else None
    if m := _P_QUARTER_CN.match(v):
        return f"{m.group(1)}-Q{_CN_DIGIT.get(m.group(2), m.group(2))}"
    if (m := _P_QUARTER.match(v)) and re.search(r"(?i)q|季", v):
        return f"{m.group(1)}-Q{m.group(2)}"
    if m := _P_YEAR.match(v):
        return m.group(1)
    return None


def parse_period(s: pd.Series) -> Parsed:
    """Periods as pandas reads them: ``2024-01`` (month), ``2024-Q1`` (quarter), ``2024``.

    ``2024年1月``, ``2024/1``, ``2024年Q1``, ``2024-Q1``, ``2024Q1``, ``2024年第一季度``,
    ``2024年`` are all understood; a cell that is none of them is bad.

    Examples
    --------
    >>> parse_period(pd.Series(["2024年1月", "2024年Q1", "2024Q2", "2024年", "soon"])).values.tolist()
    ['2024-01', '2024-Q1', '2024-Q2', '2024', <NA>]
    """
    text = _clean_text(s)
    present = text.notna()

    def conv(t: pd.Series) -> pd.Series:
        return pd.Series(
            [None if v is pd.NA or v is None else _one_period(str(v)) for v in t],
            index=t.index,
            dtype="string",
        )

    out = _on_unique(text, conv).astype("string")
    return Parsed(out, present & out.isna())


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
    t = _on_unique(s.astype("string"), _text_direct)
    return Parsed(t, pd.Series(False, index=s.index))


def normalise_id(s: pd.Series) -> Parsed:
    """Identifiers as text; ``123.0`` (a number that went through Excel) becomes ``123``."""
    if pd.api.types.is_float_dtype(s):
        whole = s.dropna().eq(s.dropna().round()).all()
        if whole:
            s = s.astype("Int64")
    if _already_clean(s, no="."):  # nothing to strip, blank or turn from 123.0 into 123
        return Parsed(s.astype("string"), pd.Series(False, index=s.index))
    t = _on_unique(
        s.astype("string"),
        lambda x: _clean_direct(x).str.replace(r"^(\d+)\.0+$", r"\1", regex=True),
    )
    return Parsed(t, pd.Series(False, index=s.index))


def normalise_category(s: pd.Series) -> Parsed:
    """Fold case, spacing and script drift onto the most frequent spelling of each value.

    ``Google``, ``google`` and ``GOOGLE `` become whichever spelling is most common
    (ties: the alphabetically first), so categories group correctly. Chinese categories are
    written in simplified script (``展會`` -> ``展会``), so files kept in either script give
    the same segments.
    """
    from ..stages import to_simplified

    # one pass over the distinct raw values, weighted by how often each occurs
    codes, uniq = pd.factorize(s.astype("string"), use_na_sentinel=True)
    t = _text_direct(pd.Series(uniq, dtype="string")).reset_index(drop=True)
    t = t.map(to_simplified, na_action="ignore").astype("string")
    weight = np.bincount(codes[codes >= 0], minlength=len(uniq))
    folded = t.str.casefold()
    pairs = pd.DataFrame({"v": t, "k": folded, "n": weight}).dropna()
    counts = pairs.groupby(["v", "k"], sort=False)["n"].sum().reset_index()
    counts = counts.sort_values(["k", "n", "v"], ascending=[True, False, True], kind="mergesort")
    canon = counts.drop_duplicates("k").set_index("k")["v"]
    out_u = folded.map(canon).astype("string")
    differs = (t.notna() & (out_u != t)).fillna(False).to_numpy(dtype=bool)
    changed = int(weight[differs].sum())
    out = spread(out_u.array, codes, s.index)
    notes = [f"{changed} cells folded onto a common spelling"] if changed else []
    return Parsed(out, pd.Series(False, index=s.index), notes)


def infer_extra(s: pd.Series) -> pd.Series:
    """An unknown column: placeholders become missing; all-numeric columns become numbers.

    Whole numbers become nullable ``Int64`` and others ``float64``, whether the file gave
    text (CSV) or typed cells (Excel), so both give the same frame. A column whose every
    cell is a percentage (``110%``, ``+8%``) becomes fractions (1.1, 0.08).
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return s
    if pd.api.types.is_numeric_dtype(s):
        nums = s.astype(float)
    else:
        t = normalise_text(s).values
        nums = pd.to_numeric(t, errors="coerce")
        if not (t.notna().any() and nums[t.notna()].notna().all()):
            filled = t.dropna()
            if len(filled) and filled.str.fullmatch(r"[+-]?\d+(?:\.\d+)?\s*%").all():
                return parse_number(t, percent=True).values
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
