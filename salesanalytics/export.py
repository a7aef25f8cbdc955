"""Writing tables and figures safely and reproducibly.

Every CSV or Excel file the toolkit writes goes through :func:`spreadsheet_safe`, which
neutralises spreadsheet formula injection: a text cell starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return gets a leading apostrophe, so Excel shows it as text.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd

__all__ = ["spreadsheet_safe", "write_csv", "write_excel", "save_table", "save_figure"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot be run as spreadsheet formulas.

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"a": ["=1+1", "ok", "-x"], "n": [-1, 2, 3]}))["a"].tolist()
    ["'=1+1", 'ok', "'-x"]
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
            text = col.astype("string")
            risky = text.str.startswith(_DANGEROUS).fillna(False).astype(bool)
            if risky.any():
                out[c] = text.where(~risky, "'" + text)
    cols = pd.Index(out.columns.astype(str))
    risky_cols = cols.str.startswith(_DANGEROUS)
    if risky_cols.any():
        out.columns = ["'" + c if r else c for c, r in zip(cols, risky_cols)]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """UTF-8 CSV with LF line ends, formula-safe; the same frame always gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spreadsheet_safe(df).to_csv(path, index=index, lineterminator="\n", encoding="utf-8")
    return path


def write_excel(
    sheets: dict[str, pd.DataFrame] | pd.DataFrame,
    path: str | Path,
    *,
    lang: str | None = None,
) -> Path:
    """A formatted .xlsx workbook (one sheet per frame), formula-safe, deterministic bytes.

    Each sheet gets a bold frozen header row, an autofilter, column widths from the content
    and number formats (thousands separators, ``0.0%`` for proportions, ``yyyy-mm-dd`` for
    dates). Time zones are removed. Document properties and zip entry times are fixed, so
    the same frames always give the same bytes.

    Parameters
    ----------
    lang
        Label the headers and stage names in ``"en"``, ``"zh"`` or ``"zh_hant"``; None keeps
        the canonical column names.

    Examples
    --------
    >>> import tempfile, openpyxl
    >>> p = write_excel(pd.DataFrame({"conversion": [0.25]}), tempfile.mkdtemp() + "/t.xlsx")
    >>> ws = openpyxl.load_workbook(p)["data"]
    >>> ws.freeze_panes, ws["A2"].number_format
    ('A2', '0.0%')
    """
    from openpyxl.styles import Font

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(sheets, pd.DataFrame):
        sheets = {"data": sheets}
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            safe = spreadsheet_safe(df)
            for c in safe.columns:
                if isinstance(safe[c].dtype, pd.DatetimeTZDtype):
                    safe[c] = safe[c].dt.tz_localize(None)
            formats = [_number_format(str(c), safe[c]) for c in safe.columns]
            widths = [_width(c, safe[c]) for c in safe.columns]
            if lang is not None:
                from .report.labels import label_columns

                safe = label_columns(safe, lang)
            sheet = str(name)[:31]
            safe.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            if len(safe.columns):
                ws.auto_filter.ref = ws.dimensions
            for j, (fmt, width) in enumerate(zip(formats, widths), start=1):
                letter = ws.cell(row=1, column=j).column_letter
                ws.column_dimensions[letter].width = width
                ws.cell(row=1, column=j).font = Font(bold=True)
                if fmt:
                    for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        cell.number_format = fmt
        props = xw.book.properties
        props.creator = "salesanalytics"
        props.created = props.modified = _FIXED_TIME
        props.lastModifiedBy = None
    _normalise_zip(path)
    return path


_FIXED_TIME = datetime.datetime(2000, 1, 1)
_P_VALUES = ("p_value", "p_adjusted")


def _number_format(name: str, s: pd.Series) -> str | None:
    from .report.labels import is_percent_column

    if pd.api.types.is_bool_dtype(s):
        return None
    if pd.api.types.is_datetime64_any_dtype(s):
        return (
            "yyyy-mm-dd"
            if (s.dropna() == s.dropna().dt.normalize()).all()
            else ("yyyy-mm-dd hh:mm")
        )
    if not pd.api.types.is_numeric_dtype(s):
        return None
    if any(w in name for w in _P_VALUES):
        return "0.000"
    if pd.api.types.is_integer_dtype(s):
        return "#,##0"
    if is_percent_column(name):
        return "0.0%"
    return "#,##0.00"


def _width(name, s: pd.Series) -> float:
    sample = s.head(200).astype(str).str.len()
    longest = max([len(str(name)), *(sample.tolist() or [0])])
    return float(min(max(longest + 2, 8), 50))


def _normalise_zip(path: Path) -> None:
    """Rewrite an .xlsx with fixed entry times and fixed document dates (same bytes)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>2000-01-01T00:00:00Z\g<3>",
                    data,
                )
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    tmp.replace(path)


def save_table(
    df: pd.DataFrame, output_dir: str | Path | None, name: str, *, excel: bool = True
) -> list[Path]:
    """Save a result table as ``<name>.csv`` (and ``.xlsx``) in ``output_dir``.

    Does nothing when ``output_dir`` is empty, so notebooks can call it unconditionally.
    """
    if not output_dir:
        return []
    out = Path(output_dir) / "tables"
    paths = [write_csv(df, out / f"{name}.csv")]
    if excel:
        paths.append(write_excel({name: df}, out / f"{name}.xlsx"))
    return paths


def save_figure(fig, output_dir: str | Path | None, name: str, *, dpi: int = 110) -> Path | None:
    """Save a matplotlib figure as ``figures/<name>.png`` (no timestamp in the file)."""
    if not output_dir:
        return None
    path = Path(output_dir) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path
