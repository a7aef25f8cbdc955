"""``Dataset`` and ``read_dataset``: every table of a CRM export, cleaned and validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import _paths
from .clean import CleanResult, clean
from .clean.report import empty_quality
from .io import TABLE_SUFFIXES, read_sql, read_table
from .schema import TABLES, DataContractError
from .stages import StageConfig, load_stages, normalise_label

__all__ = ["Dataset", "read_dataset", "find_table_files"]

_SQL = re.compile(r"^\s*(select|with)\s", re.I)


@dataclass
class Dataset:
    """Clean canonical tables of one CRM export.

    One attribute per table (``None`` when absent), the stage config in ``stages``, every
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
    quality: pd.DataFrame = field(default_factory=empty_quality)
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by canonical name, in contract order."""
        return {t: getattr(self, t) for t in TABLES if getattr(self, t) is not None}

    @property
    def history_is_coarse(self) -> bool:
        """True when no stage_history table was given (history derived from dates only)."""
        return self.stage_history is None

    def summary(self) -> pd.DataFrame:
        """Row accounting per table: rows in, clean, rejected, duplicates dropped."""
        rows = [
            {
                "table": t,
                "source": self.sources.get(t, ""),
                **{k: r[k] for k in ("rows_in", "clean", "rejected", "duplicates_dropped")},
            }
            for t, r in self.reports.items()
        ]
        return pd.DataFrame(
            rows, columns=["table", "source", "rows_in", "clean", "rejected", "duplicates_dropped"]
        )

    def __repr__(self) -> str:
        parts = ", ".join(f"{t}={len(df):,}" for t, df in self.tables.items())
        return f"Dataset({parts}; stages={self.stages.name!r}; problems={len(self.quality):,})"


def find_table_files(folder: str | Path) -> dict[str, Path]:
    """Map canonical table names to the files in ``folder`` that hold them (by file name)."""
    folder = Path(folder)
    names = {}
    for spec in TABLES.values():
        for alias in (spec.name, *spec.file_aliases):
            names.setdefault(normalise_label(alias), spec.name)
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() not in TABLE_SUFFIXES:
            continue
        table = names.get(normalise_label(p.stem))
        if table and table not in found:
            found[table] = p
    return found


def read_dataset(
    source: str | Path | Mapping[str, object] | None = None,
    *,
    stages: StageConfig | str | Path | None = None,
    con=None,
    dayfirst: bool | None = None,
    mask_pii: bool = True,
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

    Returns
    -------
    Dataset

    Examples
    --------
    >>> ds = read_dataset()            # the bundled sample
    >>> sorted(ds.tables)[:3]
    ['accounts', 'activities', 'leads']
    """
    cfg = load_stages(stages)
    if source is None or source == "":
        source = _paths.SAMPLE_DIR
    if isinstance(source, Mapping):
        items = dict(source)
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"data folder not found: {folder}")
        items = find_table_files(folder)
        if not items:
            raise DataContractError(
                f"no table files in {folder}: expected files named like opportunities.csv, "
                f"stage_history.csv, leads.xlsx (tables: {', '.join(TABLES)})"
            )
    unknown = set(items) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table name(s) {sorted(unknown)}; tables: {list(TABLES)}")

    ds = Dataset(stages=cfg)
    qualities = []
    for table in TABLES:
        if table not in items:
            continue
        obj = items[table]
        if isinstance(obj, pd.DataFrame):
            raw, where = obj, "<DataFrame>"
        elif isinstance(obj, str) and _SQL.match(obj):
            if con is None:
                raise ValueError(f"{table}: a SQL query needs con= (a SQLAlchemy URL or engine)")
            raw, where = read_sql(obj, con), "<sql>"
        else:
            raw, where = read_table(obj), str(obj)
        try:
            res: CleanResult = clean(raw, table, stages=cfg, dayfirst=dayfirst, mask_pii=mask_pii)
        except DataContractError as exc:
            raise DataContractError(f"{where}: {exc}") from exc
        setattr(ds, table, res.data)
        ds.rejected[table] = res.rejected
        ds.reports[table] = res.report
        ds.sources[table] = Path(where).name if where[0] != "<" else where
        qualities.append(res.quality)
    if qualities:
        ds.quality = pd.concat(qualities, ignore_index=True)
    return ds
