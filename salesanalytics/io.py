"""Reading table files: CSV (encoding and delimiter detected), Excel, Parquet, SQL.

Everything is read as text where the format allows it (CSV), so that cleaning, not the
reader, decides how a cell is interpreted.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from .clean.pii import mask_message
from .schema import DataContractError

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


_DETECTABLE = ["gb18030", "big5", "cp1252", "latin_1"]


def detect_encoding(data: bytes) -> str:
    """The text encoding of a file's bytes.

    A byte-order mark decides first (UTF-8 ``utf-8-sig``, UTF-16 LE/BE ``utf-16``); then
    strict UTF-8; then UTF-16 without a BOM (every other byte zero); otherwise
    charset-normalizer chooses among GB18030 (a superset of GBK and GB2312), Big5, cp1252
    and latin-1 (cp1252 is reported as ``latin-1`` when no byte 0x80-0x9F occurs, where
    the two agree).

    Examples
    --------
    >>> detect_encoding("客户编号,负责人".encode("gbk")), detect_encoding("客戶編號".encode("big5"))
    ('gb18030', 'big5')
    >>> detect_encoding("\ufeffid".encode("utf-16"))
    'utf-16'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    head = data[:4096]
    if len(head) >= 4:
        half = len(head) // 2
        if head[1::2].count(0) > 0.4 * half and head[0::2].count(0) < 0.1 * half:
            return "utf-16-le"
        if head[0::2].count(0) > 0.4 * half and head[1::2].count(0) < 0.1 * half:
            return "utf-16-be"
    import charset_normalizer

    sample = _non_ascii_lines(data)
    found = [m.encoding for m in charset_normalizer.from_bytes(sample, cp_isolation=_DETECTABLE)]
    for enc in [*found, *_DETECTABLE]:
        try:
            data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if enc == "cp1252" and not any(0x80 <= b <= 0x9F for b in data):
            return "latin-1"
        return {"latin_1": "latin-1"}.get(enc, enc)
    return "latin-1"


def _non_ascii_lines(data: bytes, size: int = 200_000) -> bytes:
    """The first lines holding a non-ASCII byte, about ``size`` bytes of them: what tells
    encodings apart (a mostly ASCII export may hold its first Chinese name megabytes in)."""
    import numpy as np

    high = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80)
    parts: list[bytes] = []
    total, i = 0, 0
    while i < len(high) and total < size:
        at = int(high[i])
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end + 1
        parts.append(data[start:end])
        total += end - start
        i = int(np.searchsorted(high, end))
    return b"".join(parts) if parts else data[:size]


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _field_counts(text: str, sep: str) -> list[int]:
    """Fields per non-blank record (the header first)."""
    if '"' not in text:
        return [line.count(sep) + 1 for line in text.splitlines() if line.strip()]
    return [len(rec) for rec in csv.reader(io.StringIO(text), delimiter=sep) if rec]


def _check_header(header: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff")
        if not key:
            continue
        if key in seen:
            raise DataContractError(
                mask_message(
                    f"{path}: duplicate header {key!r} (columns {seen[key] + 1} and {i + 1}); "
                    "rename or remove one of them"
                )
            )
        seen[key] = i


def _repair_rows(text: str, sep: str, width: int) -> tuple[str, dict[int, str]]:
    """Rows with too few or too many fields padded/cut to the header, and named."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    malformed: dict[int, str] = {}
    records = (rec for rec in csv.reader(io.StringIO(text), delimiter=sep) if rec)
    writer.writerow(next(records))
    for pos, rec in enumerate(records):
        n = len(rec)
        if n < width:
            malformed[pos] = f"truncated row ({n} of {width} fields)"
            rec = rec + [""] * (width - n)
        elif n > width:
            if any(f.strip() for f in rec[width:]):
                malformed[pos] = f"too many fields ({n} for {width} columns)"
            rec = rec[:width]
        writer.writerow(rec)
    return out.getvalue(), malformed


_ZERO_WIDTH_UTF8 = (b"\xe2\x80\x8b", b"\xe2\x80\x8c", b"\xe2\x80\x8d", b"\xe2\x81\xa0")


_CONTROL_BYTES = bytes([*(b for b in range(32) if b not in (9, 10, 13)), 127])


def _has_invisible_bytes(data: bytes) -> bool:
    """Whether UTF-8 bytes hold a control or zero-width character (BOM at the start aside)."""
    return _invisible_in(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)


def _invisible_in(body: bytes) -> bool:
    if len(body.translate(None, _CONTROL_BYTES)) != len(body):  # a control byte was deleted
        return True
    if b"\xe2" not in body and b"\xef" not in body:  # no lead byte of a zero-width character
        return False
    return any(z in body for z in (*_ZERO_WIDTH_UTF8, b"\xef\xbb\xbf"))


def _first_lines(text: str):
    """The lines of ``text`` one at a time (a csv reader takes only what its record needs)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


_CHUNK = 1 << 20


def _scan_plain_utf8(path: Path) -> str | None:
    """One streamed pass over a UTF-8 file without BOM or quotes: its first megabyte as
    text. None when the file is anything else (another encoding, a BOM, a quote, blank): it
    is then read whole, the careful way.

    The file is never held in memory whole, so pyarrow can read it from disk. Chunks of
    plain ASCII (most of an export) are valid UTF-8 as they are and are not decoded."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    head = None
    blank = True
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                if head is None and chunk.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
                    return None
                if b'"' in chunk:
                    return None
                if head is None:
                    head = decoder.decode(chunk)
                elif not chunk.isascii() or decoder.getstate()[0]:
                    decoder.decode(chunk)
                blank = blank and chunk.isspace()
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if head is None or blank or "\n" not in head.rstrip("\n"):
        return None
    return head


def _cells_hold_invisible(df: pd.DataFrame) -> bool:
    """Whether a header or a cell of a frame read by pyarrow holds a control or zero-width
    character: each column's bytes are tested whole (no byte below 32 and none from 127 up
    means plain ASCII text), only a column that fails is searched."""
    import pyarrow as pa

    from .clean.values import cell_bytes

    if any(_invisible_in(str(c).encode("utf-8")) for c in df.columns):
        return True
    for c in range(df.shape[1]):
        col = df.iloc[:, c]
        if getattr(col.dtype, "storage", None) != "pyarrow":
            return True
        for cells in cell_bytes(pa.array(col.array)):
            if cells is None:
                return True
            if len(cells) and (cells.min() < 32 or cells.max() >= 127):
                if _invisible_in(cells.tobytes()):
                    return True
    return False


def _read_path(path: Path, sep: str, width: int) -> pd.DataFrame | None:
    """pyarrow's strict reader straight from the file (see :func:`_read_fast`)."""
    try:
        df = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_values=[""], engine="pyarrow"
        )
    except Exception:  # any refusal means: read it the careful way
        return None
    if df.shape[1] != width or any(str(c).strip() == "" for c in df.columns):
        return None
    return df


def _read_fast(text: str, sep: str, width: int, utf8: bytes | None) -> pd.DataFrame | None:
    """pyarrow's strict reader for well-formed files; None sends the file the careful way."""
    # quoted cells may hold line breaks, which the fast reader does not take
    if width == 0:
        return None
    if '"' in text and any(line.count('"') % 2 for line in text.split("\n") if '"' in line):
        return None
    try:
        df = pd.read_csv(
            io.BytesIO(utf8 if utf8 is not None else text.lstrip("\ufeff").encode("utf-8")),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            engine="pyarrow",
        )
    except Exception:  # any refusal means: read it the careful way
        return None
    if df.shape[1] != width or any(str(c).strip() == "" for c in df.columns):
        return None
    return df


def read_table(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read one table file into a DataFrame (CSV cells as text).

    The format is decided by content, so an ``.xlsx`` workbook saved under a ``.csv``
    name is read as Excel. CSV encoding (see :func:`detect_encoding`: UTF-8 with or
    without BOM, UTF-16, GB18030/GBK, Big5, cp1252, latin-1) and delimiter
    (``, ; tab |``) are detected.

    A CSV row with fewer fields than the header (typically a truncated last line) or
    with more (non-empty) fields is kept, padded or cut, and listed in
    ``attrs["malformed_rows"]`` (row position -> reason) so that :func:`clean` rejects
    it with the reason ``truncated row`` or ``too many fields``.

    Raises
    ------
    FileNotFoundError, ValueError
        With the path and what could not be read.
    DataContractError
        When two columns carry the same header (both are named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such table file: {path}")
    kind = sniff_format(path)
    try:
        if kind == "excel":
            df = pd.read_excel(path, sheet_name=sheet)
            if any(re.search(r"\.\d+$", str(c)) for c in df.columns):
                head = pd.read_excel(path, sheet_name=sheet, header=None, nrows=1)
                _check_header([str(v) for v in head.iloc[0] if pd.notna(v)], path)
            return df
        if kind == "parquet":
            return pd.read_parquet(path)
        plain = _scan_plain_utf8(path)
        if plain is not None:  # the usual export: read by pyarrow from disk
            head = plain
            sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(head[:65536])
            header = next(csv.reader(_first_lines(head), delimiter=sep), [])
            _check_header(header, path)
            df = _read_path(path, sep, len(header)) if header else None
            if df is not None:
                if not _cells_hold_invisible(df):
                    df.attrs["invisible_checked"] = True
                df.attrs["encoding"] = "utf-8"
                df.attrs["delimiter"] = sep
                return df
        data = path.read_bytes()
        enc = detect_encoding(data)
        text = data.decode(enc)
        if not text or text.isspace():
            raise ValueError("the file is empty")
        sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text[:65536])
        header = next(csv.reader(_first_lines(text.lstrip("\ufeff")), delimiter=sep), [])
        _check_header(header, path)
        malformed: dict[int, str] = {}
        df = _read_fast(text, sep, len(header), data if enc == "utf-8" else None)
        if df is None:
            counts = _field_counts(text, sep)
            if any(c != counts[0] for c in counts[1:]):
                text, malformed = _repair_rows(text, sep, counts[0])
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                index_col=False,
                skipinitialspace=False,
            )
        if not _has_invisible_bytes(text.encode("utf-8") if enc != "utf-8" else data):
            df.attrs["invisible_checked"] = True  # clean() need not search every cell
        df.attrs["encoding"] = enc
        df.attrs["delimiter"] = sep
        if malformed:
            df.attrs["malformed_rows"] = malformed
        return df
    except DataContractError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise ValueError(mask_message(f"cannot read {path}: {exc}")) from exc


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
