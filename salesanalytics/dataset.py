"""``Dataset`` and ``read_dataset``: every table of a CRM export, cleaned and validated."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import _paths
from .clean import CleanResult, clean
from .clean.core import COUNTS
from .clean.headers import header_key
from .clean.integrity import Finding, chronology_findings, reference_findings
from .clean.mapping import load_column_map
from .clean.report import QUALITY_COLUMNS, empty_quality
from .clean.sources import stage_history_from_customer_rows, stage_history_from_date_columns
from .io import TABLE_SUFFIXES, read_sql, read_table
from .schema import TABLES, DataContractError
from .stages import StageConfig, load_stages

if TYPE_CHECKING:  # pragma: no cover
    from .view import View

__all__ = ["Dataset", "read_dataset", "find_table_files"]

_SQL = re.compile(r"^\s*(select|with)\s", re.I)


@dataclass
class Dataset:
    """Clean canonical tables of one CRM export.

    One attribute per table, the reference tables ``products`` and ``reps`` included
    (``None`` when absent: ``print(ds)`` and :meth:`summary` work on any subset), the stage
    config in ``stages``, every
    problem found in ``quality``, the rejected rows per table in ``rejected`` and the
    cleaning report per table in ``reports``.
    """

    stages: StageConfig
    opportunities: pd.DataFrame | None = None
    stage_history: pd.DataFrame | None = None
    leads: pd.DataFrame | None = None
    activities: pd.DataFrame | None = None
    orders: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    accounts: pd.DataFrame | None = None
    products: pd.DataFrame | None = None
    reps: pd.DataFrame | None = None
    quality: pd.DataFrame = field(default_factory=empty_quality)
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    source_rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by canonical name, in contract order."""
        return {t: getattr(self, t) for t in TABLES if getattr(self, t) is not None}

    @property
    def history_is_coarse(self) -> bool:
        """True when no stage_history table was given (history derived from dates only)."""
        return self.stage_history is None

    def summary(self) -> pd.DataFrame:
        """Row accounting per table: rows in = clean + rejected + duplicates dropped + merged."""
        rows = [
            {"table": t, "source": self.sources.get(t, ""), **{k: r[k] for k in COUNTS}}
            for t, r in self.reports.items()
        ]
        return pd.DataFrame(rows, columns=["table", "source", *COUNTS]).astype(
            {k: "int64" for k in COUNTS}
        )

    def at(self, as_of) -> View:
        """The history as known at ``as_of``: a :class:`~salesanalytics.view.View`.

        ``as_of`` is an ISO date or datetime (a bare date means the end of that day). Every
        analysis accepts the view in place of the dataset and uses its ``as_of``.

        Examples
        --------
        >>> v = read_dataset().at("2025-12-31")
        >>> str(v.as_of)
        '2025-12-31 23:59:59.999999'
        """
        from .view import View

        return View(self, as_of)

    def __repr__(self) -> str:
        parts = ", ".join(f"{t}={len(df):,}" for t, df in self.tables.items()) or "no tables"
        return f"Dataset({parts}; stages={self.stages.name!r}; problems={len(self.quality):,})"


def find_table_files(folder: str | Path) -> dict[str, Path]:
    """Map canonical table names to the files in ``folder`` that hold them (by file name).

    Names are matched in either Chinese script, case- and separator-insensitively; the
    guides' template names are known (``客户阶段转化跟踪表.xlsx`` holds opportunities,
    ``線索獲取與篩選表.csv`` leads, ``销售业绩分析表.csv`` targets, ...). The first file
    (by name) found for a table is used.
    """
    return {t: paths[0] for t, paths in _files_by_table(folder).items()}


def _files_by_table(folder: str | Path) -> dict[str, list[Path]]:
    folder = Path(folder)
    names = {}
    for spec in TABLES.values():
        for alias in (spec.name, *spec.file_aliases):
            names.setdefault(header_key(alias).full, spec.name)
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() not in TABLE_SUFFIXES:
            continue
        key = header_key(p.stem)
        table = names.get(key.full) or names.get(key.base)
        if table:
            found.setdefault(table, []).append(p)
    return found


#: The guide's lead intake sheet comes first; the assignment sheet is joined onto it.
_LEAD_SHEETS = ("线索获取与筛选表", "线索分级与分配表")


def _lead_sheet_order(path: Path) -> int:
    base = header_key(path.stem).base
    return _LEAD_SHEETS.index(base) if base in _LEAD_SHEETS else -1


def join_lead_sheets(frames: Sequence[pd.DataFrame], columns=None) -> pd.DataFrame:
    """Join lead sheets of one export on the lead id (the guide's intake + assignment sheets).

    Columns of a later sheet that an earlier one already has fill its blanks; its other
    columns are added. Leads found in one sheet only are kept (an outer join).
    """
    from .clean.headers import map_headers

    out = frames[0]
    for other in frames[1:]:
        keys, maps = [], []
        for f in (out, other):
            _, mapping, _ = map_headers(f, TABLES["leads"], columns)
            src = [k for k, v in mapping.items() if v == "lead_id"]
            if not src:
                raise DataContractError("leads: a lead sheet without a lead id cannot be joined")
            keys.append(src[0])
            maps.append(mapping)
        left = out.assign(_k=out[keys[0]].astype("string").str.strip())
        right = other.assign(_k=other[keys[1]].astype("string").str.strip())
        mine = {maps[0].get(c, header_key(c).base): c for c in out.columns}
        same = {
            c: mine[maps[1].get(c, header_key(c).base)]
            for c in other.columns
            if maps[1].get(c, header_key(c).base) in mine
        }
        right = right.rename(columns={c: f"{c}\x00" for c in same})
        m = left.merge(right, on="_k", how="outer", sort=False)
        for c, target in same.items():
            m[target] = m[target].where(m[target].notna(), m[f"{c}\x00"])
        out = m.drop(columns=["_k", *[f"{c}\x00" for c in same]])
    return out.reset_index(drop=True)


def read_dataset(
    source: str | Path | Mapping[str, object] | None = None,
    *,
    stages: StageConfig | str | Path | None = None,
    con=None,
    dayfirst: bool | None = None,
    mask_pii: bool = True,
    relax: Mapping[str, Sequence[str]] | None = None,
    columns: Mapping[str, Mapping[str, str]] | str | Path | None = None,
    unknown: str = "keep",
    tables: Mapping[str, str] | None = None,
    engine="auto",
) -> Dataset:
    """Read, clean and validate every table of a CRM export.

    Parameters
    ----------
    source
        A folder of table files named after the tables (``opportunities.csv``,
        ``stage_history.xlsx``, ``leads.parquet``, ...), or a mapping of table name to a
        path, a DataFrame or a SQL query (with ``con``). ``None`` or ``""``: the bundled
        sample in ``data/sample``.
    stages
        Stage config or preset name (``"default"``, ``"salesforce"``, ``"maven"``, ...).
    con
        SQLAlchemy URL or engine for SQL queries in ``source``.
    dayfirst, mask_pii
        Passed to :func:`salesanalytics.clean`.
    relax
        Per table, required columns to treat as optional, e.g. ``{"leads": ["created_at"]}``
        for a lead list without dates.
    columns
        Column mapping ``{table: {export header: canonical name}}``, or a YAML file of that
        shape (see :func:`salesanalytics.clean.mapping.load_column_map`). Headers not
        mapped are matched through the aliases.
    unknown
        Blank or unknown segment values (channel, region, ...): ``"keep"`` as
        ``"(unknown)"`` (default) or ``"reject"``; see :func:`salesanalytics.clean`.
    tables, engine
        Keep the data in an engine (see :mod:`salesanalytics.engine`): ``source`` may be a
        URL (``duckdb:///crm.duckdb``, ``postgres://${PGUSER}:${PGPASSWORD}@host/db``), an
        Ibis backend, a DuckDB connection or a Spark session, with ``tables`` mapping
        canonical names to its table names. ``engine``: ``"auto"`` (by where the data are
        and their size), ``"pandas"``, ``"duckdb"``, ``"pyspark"`` or an Ibis backend.
        An engine gives an ``EngineDataset``: funnel, dwell, conversion and calibration
        run there and only aggregates come back.

    Returns
    -------
    Dataset
        After each table is cleaned, tables are checked against each other: stage-history
        rows of unknown opportunities are rejected; unknown products, reps and accounts
        (with the closest known value as a hint) and impossible chronology are flagged.
        A HubSpot deal export's ``Date entered <stage>`` columns become the stage history.

    Examples
    --------
    >>> ds = read_dataset()            # the bundled sample
    >>> sorted(ds.tables)[:3]
    ['accounts', 'activities', 'leads']
    """
    from .engine.connect import is_source, read_engine_dataset

    if engine != "pandas" or is_source(source):  # None back: pandas is the engine
        eds = read_engine_dataset(
            source, tables=tables, engine="ibis" if engine == "pandas" else engine, stages=stages
        )
        if eds is not None:
            return (
                eds.to_pandas(dayfirst=dayfirst, mask_pii=mask_pii) if engine == "pandas" else eds
            )
    cfg = load_stages(stages)
    relax = dict(relax or {})
    colmap = load_column_map(columns)
    if source is None or source == "":
        source = _paths.SAMPLE_DIR
    if isinstance(source, Mapping):
        items = dict(source)
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"data folder not found: {folder}")
        by_table = _files_by_table(folder)
        items = {t: paths[0] for t, paths in by_table.items()}
        lead_sheets = sorted(by_table.get("leads", []), key=_lead_sheet_order)
        if len(lead_sheets) > 1 and _lead_sheet_order(lead_sheets[-1]) >= 0:
            items["leads"] = lead_sheets
        if not items:
            raise DataContractError(
                f"no table files in {folder}: expected files named like opportunities.csv, "
                f"stage_history.csv, leads.xlsx (tables: {', '.join(TABLES)})"
            )
    unknown_tables = set(items) - set(TABLES)
    if unknown_tables:
        raise ValueError(f"unknown table name(s) {sorted(unknown_tables)}; tables: {list(TABLES)}")

    raws: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for table in TABLES:
        if table in items:
            raws[table], sources[table] = _load(items[table], table, con, colmap.get(table))
    if "opportunities" in raws and "stage_history" not in raws:
        derived = stage_history_from_date_columns(raws["opportunities"])
        if derived is not None:
            raws["stage_history"] = derived
            sources["stage_history"] = f"{sources['opportunities']} (Date entered columns)"
        else:
            derived = stage_history_from_customer_rows(
                raws["opportunities"], cfg, colmap.get("opportunities")
            )
            if derived is not None:
                raws["stage_history"] = derived
                sources["stage_history"] = f"{sources['opportunities']} (stage columns)"

    large = sum(len(r) for r in raws.values()) >= _LARGE
    if large:
        _release_memory()
    results: dict[str, CleanResult] = {}
    for table in list(raws):
        raw = raws[table]
        try:
            results[table] = clean(
                raw,
                table,
                stages=cfg,
                dayfirst=dayfirst,
                mask_pii=mask_pii,
                relax=relax.get(table, ()),
                columns=colmap.get(table),
                unknown=unknown,
            )
        except DataContractError as exc:
            raise DataContractError(f"{sources[table]}: {exc}") from exc
        if table not in _MAY_REJECT:  # its input is needed no more: let it go
            del raws[table], raw
        if large:
            _release_memory()
    data = {t: r.data for t, r in results.items()}
    findings = reference_findings(data) + chronology_findings(data, cfg)
    # a finding's positions are in the table as cleaned: its file rows are looked up there,
    # before an earlier finding moved any row out
    file_rows = {t: r.source_rows for t, r in results.items()}
    for f in findings:
        results[f.table] = _apply(
            results[f.table],
            raws.get(f.table),
            f,
            rows=file_rows[f.table][f.positions],
            mask_pii=mask_pii,
        )

    ds = Dataset(stages=cfg)
    for table, res in results.items():
        setattr(ds, table, res.data)
        ds.rejected[table] = res.rejected
        ds.reports[table] = res.report
        ds.source_rows[table] = res.source_rows
    ds.sources = sources
    if results:
        ds.quality = pd.concat([r.quality for r in results.values()], ignore_index=True)
    return ds


#: Tables whose rows a cross-table check may reject (orphan stage history): their input
#: rows are kept until the checks have run, to be reported as they came in.
_MAY_REJECT = frozenset({"stage_history"})

#: Rows (all tables) from which freed memory is handed back between the steps of a read.
_LARGE = 200_000


def _release_memory() -> None:
    """Give memory freed by the previous step back to the system (pyarrow's pool, glibc's
    heap), so that the next step's peak does not stack on it. A no-op where unsupported."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # pragma: no cover - old pyarrow
        pass
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _load(obj: object, table: str, con, columns=None) -> tuple[pd.DataFrame, str]:
    if isinstance(obj, list):
        frames = [read_table(p) for p in obj]
        return join_lead_sheets(frames, columns), " + ".join(Path(p).name for p in obj)
    if isinstance(obj, pd.DataFrame):
        return obj, "<DataFrame>"
    if isinstance(obj, str) and _SQL.match(obj):
        if con is None:
            raise ValueError(f"{table}: a SQL query needs con= (a SQLAlchemy URL or engine)")
        return read_sql(obj, con), "<sql>"
    try:
        return read_table(obj), Path(str(obj)).name
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:  # a truncated or broken workbook
        raise DataContractError(f"{Path(str(obj)).name}: cannot be read ({exc})") from None
    except (csv.Error, pd.errors.ParserError, UnicodeError) as exc:  # not a table at all
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataContractError(
            f"{Path(str(obj)).name}: not a readable table ({first[:200]})"
        ) from None


def _apply(
    res: CleanResult,
    raw: pd.DataFrame | None,
    f: Finding,
    *,
    rows: np.ndarray,
    mask_pii: bool = True,
) -> CleanResult:
    """Record a cross-table finding on a table's result (``rows``: the file rows it is
    about); rejected rows still in ``data`` move out of it."""
    detail = f.detail.to_numpy() if isinstance(f.detail, pd.Series) else f.detail
    quality = pd.DataFrame(
        {
            "table": f.table,
            "row": pd.array(rows, dtype="Int64"),
            "column": f.column,
            "value": (
                f.values.astype("string").to_numpy()
                if f.values is not None
                else pd.array([pd.NA] * len(rows), dtype="string")
            ),
            "rule": f.rule,
            "action": f.action,
            "detail": detail,
        }
    ).astype({c: "string" for c in QUALITY_COLUMNS if c != "row"})
    quality = pd.concat([res.quality, quality], ignore_index=True)
    report = dict(res.report)
    report["problems"] = {
        **report.get("problems", {}),
        f.rule: report.get("problems", {}).get(f.rule, 0) + len(rows),
    }
    if f.action != "rejected":
        return CleanResult(res.table, res.data, res.rejected, quality, report, res.source_rows)
    if raw is None:  # pragma: no cover - a rejecting check on a table not in _MAY_REJECT
        raise RuntimeError(f"{f.table}: rows rejected by {f.rule} but its input was released")
    still = np.isin(rows, res.source_rows)  # rows an earlier finding did not move out
    rows = rows[still]
    if isinstance(detail, np.ndarray):
        detail = detail[still]
    keep = ~np.isin(res.source_rows, rows)
    moved = raw.loc[rows].copy()
    if mask_pii:
        from .clean.pii import mask_frame

        moved = mask_frame(moved)
    moved.insert(0, "row", rows)
    moved["reason"] = pd.array(
        detail if not isinstance(detail, str) else [detail] * len(rows), dtype="string"
    )
    moved["reason"] = f"{f.column} " + moved["reason"]
    rejected = (
        pd.concat([res.rejected, moved], ignore_index=True)
        .sort_values("row", kind="mergesort")
        .reset_index(drop=True)
    )
    report["clean"] -= len(rows)
    report["rejected"] += len(rows)
    return CleanResult(
        res.table,
        res.data[keep].reset_index(drop=True),
        rejected,
        quality,
        report,
        res.source_rows[keep],
    )
