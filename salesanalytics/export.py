"""Writing tables and figures safely and reproducibly.

Every CSV or Excel file the toolkit writes goes through :func:`spreadsheet_safe`, which
neutralises spreadsheet formula injection: a text cell starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return gets a leading apostrophe, so Excel shows it as text.
"""

from __future__ import annotations

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


def write_excel(sheets: dict[str, pd.DataFrame] | pd.DataFrame, path: str | Path) -> Path:
    """An .xlsx workbook (one sheet per frame), formula-safe, time zones removed."""
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
            safe.to_excel(xw, sheet_name=str(name)[:31], index=False)
    return path


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
