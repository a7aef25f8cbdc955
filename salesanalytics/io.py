"""Reading table files: CSV (encoding and delimiter detected), Excel, Parquet, SQL.

Everything is read as text where the format allows it (CSV), so that cleaning, not the
reader, decides how a cell is interpreted.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

__all__ = ["read_table", "detect_encoding", "sniff_format", "read_sql", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".pq")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_PARQUET_MAGIC = b"PAR1"


def sniff_format(path: str | Path) -> str:
    """``"excel"``, ``"parquet"`` or ``"text"`` from the file's first bytes, whatever its name."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
        return "excel"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    return "text"


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), then GB18030 (a superset of GBK), else latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if any("\u4e00" <= ch <= "\u9fff" for ch in text):
            return "gb18030"
    except UnicodeDecodeError:
        pass
    return "latin-1"


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_table(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read one table file into a DataFrame (CSV cells as text).

    The format is decided by content, so an ``.xlsx`` workbook saved under a ``.csv``
    name is read as Excel. CSV encoding (UTF-8, UTF-8 BOM, GBK/GB18030, latin-1) and
    delimiter (``, ; tab |``) are detected.

    Raises
    ------
    FileNotFoundError, ValueError
        With the path and what could not be read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such table file: {path}")
    kind = sniff_format(path)
    try:
        if kind == "excel":
            return pd.read_excel(path, sheet_name=sheet)
        if kind == "parquet":
            return pd.read_parquet(path)
        data = path.read_bytes()
        enc = detect_encoding(data)
        text = data.decode(enc)
        if not text.strip():
            raise ValueError("the file is empty")
        sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text[:65536])
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            index_col=False,
            skipinitialspace=False,
        )
        df.attrs["encoding"] = enc
        df.attrs["delimiter"] = sep
        return df
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc


def read_sql(query: str, con) -> pd.DataFrame:
    """Run a SQL query through SQLAlchemy (``con``: URL string or engine)."""
    try:
        import sqlalchemy
    except ImportError as exc:
        raise ValueError(
            "SQL sources need the sql extra (SQLAlchemy): pip install 'salesanalytics[sql]'"
        ) from exc

    engine = sqlalchemy.create_engine(con) if isinstance(con, str) else con
    with engine.connect() as conn:
        return pd.read_sql(sqlalchemy.text(query), conn)
