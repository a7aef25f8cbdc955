"""Column mapping: a user's export headers onto canonical column names, in one place.

Three faces share :func:`load_column_map`: ``read_dataset(source, columns=...)`` /
``clean(df, table, columns=...)``, the ``columns:`` section of a params file and
``--map FILE`` on the command line. The shape is ``{table: {export header: canonical name}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from ..schema import TABLES, DataContractError

__all__ = ["load_column_map", "table_columns", "ColumnMap"]

ColumnMap = dict[str, dict[str, str]]


def _check_table(table: object, where: str) -> str:
    if table not in TABLES:
        raise DataContractError(f"{where}: unknown table {table!r} (tables: {', '.join(TABLES)})")
    return str(table)


def _check_entries(table: str, entries: object, where: str) -> dict[str, str]:
    if not isinstance(entries, Mapping):
        raise DataContractError(
            f"{where}: {table} must map export headers to column names, got {entries!r}"
        )
    names = TABLES[table].names
    out: dict[str, str] = {}
    for header, canonical in entries.items():
        if not isinstance(canonical, str) or canonical not in names:
            raise DataContractError(
                f"{where}: {table}.{header}: {canonical!r} is not a column of {table} "
                f"(columns: {', '.join(names)})"
            )
        if canonical in out.values():
            first = next(h for h, c in out.items() if c == canonical)
            raise DataContractError(
                f"{where}: {table}: both {first!r} and {header!r} map onto {canonical!r}"
            )
        out[str(header)] = canonical
    return out


def load_column_map(spec: Mapping | str | Path | None, *, where: str | None = None) -> ColumnMap:
    """Read and check a column map.

    Parameters
    ----------
    spec
        ``{table: {export header: canonical name}}``, the same under a top-level
        ``columns:`` key (a params file), or a path to a YAML file of either shape.
        ``None``: no mapping.
    where
        Name used in error messages (default: the file's path, else ``columns``).

    Returns
    -------
    dict
        The checked map, tables in contract order.

    Raises
    ------
    DataContractError
        One line naming the file and the key: an unknown table, a canonical name that is
        not a column of its table, two headers mapped onto one column, a file that is not
        a mapping.

    Examples
    --------
    >>> load_column_map({"opportunities": {"客户编号": "account_id", "Deal": "opportunity_id"}})
    {'opportunities': {'客户编号': 'account_id', 'Deal': 'opportunity_id'}}
    >>> load_column_map({"opportunity": {"x": "owner"}})
    Traceback (most recent call last):
    ...
    salesanalytics.schema.DataContractError: columns: unknown table 'opportunity' (tables: opportunities, stage_history, leads, activities, orders, targets, accounts, products, reps)
    """
    if spec is None:
        return {}
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        where = where or str(path)
        if not path.is_file():
            raise DataContractError(f"{where}: column map file not found")
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataContractError(f"{where}: not a readable YAML file ({first})") from exc
    where = where or "columns"
    if not isinstance(spec, Mapping):
        raise DataContractError(f"{where}: a column map is {{table: {{header: column}}}}")
    if set(spec) == {"columns"} and isinstance(spec["columns"], Mapping):
        spec = spec["columns"]
    checked = {_check_table(t, where): _check_entries(str(t), e, where) for t, e in spec.items()}
    return {t: checked[t] for t in TABLES if t in checked}


def table_columns(columns: Mapping | str | Path | None, table: str) -> dict[str, str]:
    """The mapping for one table from a full map, a path, or a flat ``{header: column}``."""
    if columns is None:
        return {}
    if (
        isinstance(columns, Mapping)
        and columns
        and all(isinstance(v, str) for v in columns.values())
    ):
        return _check_entries(table, columns, "columns")
    return load_column_map(columns).get(table, {})
