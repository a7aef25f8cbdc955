"""Connections, URLs and the engine-backed dataset.

``read_dataset(source, tables=..., engine=...)`` lands here when the source is a URL
(``duckdb:///crm.duckdb``, ``postgres://...``), an Ibis backend, a DuckDB connection or a
Spark session, or when ``engine`` asks for one. The tables stay in the engine; the
stage-history aggregations of :mod:`salesanalytics.engine.expressions` run there.

Credentials never come from a file: a URL may name environment variables
(``postgres://${PGUSER}:${PGPASSWORD}@db/crm``), a literal password is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from ..schema import TABLES
from ..stages import StageConfig, load_stages

__all__ = [
    "ENGINE_THRESHOLD_BYTES",
    "EngineDataset",
    "choose_engine",
    "connect",
    "is_engine",
    "read_engine_dataset",
    "resolve_url",
]

#: Above this many bytes of input (files or DataFrames), ``engine="auto"`` picks DuckDB.
ENGINE_THRESHOLD_BYTES = 2 * 2**30
#: Tables the engine layer computes from; the others are left to pandas.
ENGINE_TABLES = ("opportunities", "stage_history", "leads")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)


def is_engine(obj: object) -> bool:
    """True for an engine-backed dataset or transitions (cheap: imports nothing)."""
    return getattr(obj, "_sa_engine", False) is True


def is_url(obj: object) -> bool:
    return isinstance(obj, str) and bool(_URL.match(obj))


def is_source(obj: object) -> bool:
    """True for a URL or a connection (the data live in an engine)."""
    return is_url(obj) or _is_connection(obj)


def absolute_url(url: str) -> str:
    """A ``duckdb:///relative.duckdb`` URL made absolute (from the working directory);
    other URLs unchanged, ``${VARIABLES}`` left unexpanded (they never reach a report).

    >>> absolute_url("postgres://${PGUSER}:${PGPASSWORD}@db/crm")
    'postgres://${PGUSER}:${PGPASSWORD}@db/crm'
    """
    if not url.lower().startswith("duckdb://"):
        return url
    rest = url[len("duckdb://") :]
    path, _, query = rest.partition("?")
    path = path[1:] if path.startswith("/") else path
    if path in ("", ":memory:") or path.startswith("/") or "$" in path:
        return url
    absolute = Path(path).expanduser().resolve()
    return f"duckdb:///{absolute}" + (f"?{query}" if query else "")


def resolve_url(url: str) -> str:
    """Expand ``${VAR}`` from the environment; refuse a password written in the URL itself.

    >>> import os
    >>> os.environ["SA_DOC_PW"] = "s3cret"
    >>> resolve_url("postgres://ana:${SA_DOC_PW}@db:5432/crm")
    'postgres://ana:s3cret@db:5432/crm'
    >>> resolve_url("postgres://ana:s3cret@db/crm")
    Traceback (most recent call last):
    ...
    ValueError: connection URL holds a literal password; give it as ${VARIABLE} and set it in the environment
    """
    netloc = urlsplit(url).netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            if password and not _ENV.fullmatch(password):
                raise ValueError(
                    "connection URL holds a literal password; give it as ${VARIABLE} and set "
                    "it in the environment"
                )

    def env(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in os.environ:
            raise ValueError(
                f"connection URL names ${{{name}}}, which is not set in the environment"
            )
        return os.environ[name]

    return _ENV.sub(env, url)


def connect(source, *, read_only: bool | None = None):
    """An Ibis backend from a URL, an Ibis backend, a DuckDB connection or a Spark session.

    ``duckdb://`` is an in-memory database, ``duckdb:///crm.duckdb`` a file relative to the
    working directory, ``duckdb:////srv/crm.duckdb`` an absolute one (opened
    read-only when it exists, unless ``read_only=False``); query parameters become DuckDB
    settings (``?threads=2&memory_limit=2GB``). Other URLs go to ``ibis.connect``.
    """
    import ibis

    if isinstance(source, ibis.BaseBackend):
        return source
    kind = type(source).__module__
    if kind.startswith("duckdb"):
        return ibis.duckdb.from_connection(source)
    if kind.startswith("pyspark"):
        return ibis.pyspark.connect(source)
    if not is_url(source):
        raise TypeError(f"not a connection or URL: {type(source).__name__}")
    url = resolve_url(source)
    parts = urlsplit(url)
    if parts.scheme.lower() == "duckdb":
        import duckdb

        # SQLAlchemy convention: duckdb:///crm.duckdb is relative, duckdb:////srv/crm.duckdb
        # absolute; duckdb://crm.duckdb is accepted too
        path = url[len("duckdb://") :].split("?", 1)[0]
        path = path[1:] if path.startswith("/") else path
        config = dict(parse_qsl(parts.query))
        if path in ("", ":memory:"):
            con = duckdb.connect(":memory:", config=config)
        else:
            if not Path(path).exists() and read_only:
                raise FileNotFoundError(f"no such DuckDB file: {path}")
            ro = Path(path).exists() if read_only is None else read_only
            con = duckdb.connect(path, read_only=ro, config=config)
        try:  # no bars in logs (in Jupyter DuckDB refuses the setting without ipywidgets)
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            pass
        return ibis.duckdb.from_connection(con)
    return ibis.connect(url)


def choose_engine(source, *, engine: str | object = "auto") -> str:
    """``"pandas"`` or ``"ibis"`` for a source; ``"auto"`` decides by where the data are and size.

    A URL or connection stays in its engine; files and DataFrames go to pandas unless they
    total more than ``ENGINE_THRESHOLD_BYTES`` (then DuckDB).

    >>> choose_engine("duckdb:///crm.duckdb")
    'ibis'
    >>> choose_engine({"opportunities": pd.DataFrame({"a": [1]})})
    'pandas'
    """
    if engine not in ("auto", None):
        if engine == "pandas":
            return "pandas"
        if isinstance(engine, str) and engine not in ("duckdb", "pyspark", "spark", "ibis"):
            raise ValueError("engine must be 'auto', 'pandas', 'duckdb', 'pyspark' or a backend")
        return "ibis"
    if is_url(source) or _is_connection(source):
        return "ibis"
    size = 0
    items = source.values() if isinstance(source, Mapping) else []
    if isinstance(source, str | Path) and Path(source).is_dir():
        items = list(Path(source).iterdir())
    for obj in items:
        if isinstance(obj, pd.DataFrame):
            size += int(obj.memory_usage(deep=False).sum())
        elif isinstance(obj, str | Path) and Path(obj).is_file():
            size += Path(obj).stat().st_size
    return "ibis" if size > ENGINE_THRESHOLD_BYTES and _has("duckdb") else "pandas"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _is_connection(obj: object) -> bool:
    mod = type(obj).__module__
    return mod.startswith(("ibis", "duckdb", "pyspark"))


@dataclass
class EngineDataset:
    """A dataset whose tables stay in an engine (DuckDB, Spark, a warehouse) as Ibis tables.

    The funnel, dwell, conversion and calibration entry points accept it like a
    :class:`~salesanalytics.Dataset`; they run as Ibis expressions and bring back only
    aggregates. ``quality`` counts the rows the in-engine cleaning rejected, per rule.
    """

    backend: object
    stages: StageConfig
    opportunities: object | None = None
    stage_history: object | None = None
    leads: object | None = None
    sources: dict[str, str] = field(default_factory=dict)
    rejections: dict[str, list] = field(default_factory=dict, repr=False)
    notes: dict[str, list[str]] = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False)
    _sa_engine = True

    @property
    def engine(self) -> str:
        return getattr(self.backend, "name", type(self.backend).__name__)

    @property
    def tables(self) -> dict[str, object]:
        return {t: getattr(self, t) for t in ENGINE_TABLES if getattr(self, t) is not None}

    @property
    def history_is_coarse(self) -> bool:
        return self.stage_history is None

    @property
    def quality(self) -> pd.DataFrame:
        """Rows rejected by the in-engine cleaning: table, column, rule, rows (counted there)."""
        from .clean import rejection_counts

        return rejection_counts(self)

    def rows(self) -> dict[str, int]:
        """Clean rows per table, counted in the engine."""
        return {t: int(tab.count().execute()) for t, tab in self.tables.items()}

    def to_pandas(self, *, dayfirst: bool | None = None, mask_pii: bool = True):
        """The raw tables brought into pandas and cleaned there (the full rules)."""
        from ..dataset import read_dataset

        raw = {t: self.backend.table(n).to_pandas() for t, n in self.sources.items()}
        return read_dataset(raw, stages=self.stages, dayfirst=dayfirst, mask_pii=mask_pii)

    def __repr__(self) -> str:
        return (
            f"EngineDataset({self.engine}: {', '.join(self.tables)}; stages={self.stages.name!r})"
        )


def _register(backend, name: str, df: pd.DataFrame):
    """Put a DataFrame into the backend as table ``name`` (a copy) and return it."""
    df = df.copy()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(df[c]):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
        elif str(df[c].dtype) == "boolean":
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    if backend.name == "duckdb":
        con = backend.con
        con.register(f"__sa_{name}", df)
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "__sa_{name}"')
        con.unregister(f"__sa_{name}")
        return backend.table(name)
    if backend.name == "pyspark":
        session = backend._session
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                df[c] = df[c].astype("datetime64[us]")
        sdf = session.createDataFrame(df)
        floats = {c for c in df.columns if pd.api.types.is_float_dtype(df[c])}
        if floats:  # pandas' missing float is NaN, which Spark keeps as a number: make it null
            from pyspark.sql import functions as F

            sdf = sdf.select(
                *(
                    F.when(F.isnan(c), None).otherwise(F.col(c)).alias(c) if c in floats else c
                    for c in sdf.columns
                )
            )
        sdf.createOrReplaceTempView(name)
        return backend.table(name)
    return backend.create_table(name, df, overwrite=True)


def _backend_for(engine) -> object:
    import ibis

    if engine in ("duckdb", "auto", "ibis", None):
        return connect("duckdb://")
    if engine in ("pyspark", "spark"):
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[2]")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate()
        )
        return ibis.pyspark.connect(session)
    return connect(engine)


def read_engine_dataset(
    source,
    *,
    tables: Mapping[str, str] | None = None,
    engine="auto",
    stages=None,
) -> EngineDataset | None:
    """An :class:`EngineDataset`, or None when pandas is the engine chosen.

    ``source``: a URL, an Ibis backend, a DuckDB connection or Spark session (tables named
    by ``tables``, canonical name -> table name in the engine; default the canonical names
    present), or a folder / mapping of files or DataFrames loaded into ``engine``.
    """
    from .clean import clean_table

    if choose_engine(source, engine=engine) == "pandas":
        return None
    cfg = load_stages(stages)
    unknown = set(tables or {}) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table name(s) {sorted(unknown)}; tables: {list(TABLES)}")
    if is_url(source) or _is_connection(source):
        backend = connect(source)
        present = _list_tables(backend)
        names = dict(tables) if tables else {t: t for t in ENGINE_TABLES if t in present}
        missing = {t: n for t, n in names.items() if n not in present}
        if missing:
            raise ValueError(
                f"table(s) not found in the {backend.name} database: "
                f"{', '.join(f'{t} -> {n!r}' for t, n in missing.items())}"
            )
    else:
        backend = _backend_for(engine if not _is_connection(engine) else engine)
        if isinstance(engine, str) is False and engine is not None:
            backend = connect(engine)
        items = _items(source)
        names = {}
        for table, obj in items.items():
            if table not in ENGINE_TABLES:
                continue
            names[table] = _load_into(backend, table, obj)
    ds = EngineDataset(backend=backend, stages=cfg)
    for table, name in names.items():
        if table not in ENGINE_TABLES:
            continue
        clean_tab, rejections, notes = clean_table(backend.table(name), table, cfg)
        setattr(ds, table, clean_tab)
        ds.rejections[table] = rejections
        ds.notes[table] = notes
        ds.sources[table] = name
    if ds.opportunities is None:
        raise ValueError("the engine dataset needs an opportunities table")
    # opportunities and leads are cleaned once and kept in the engine (with an integer key
    # on DuckDB, so that joins and windows over the history compare numbers, not text);
    # the (large) stage history stays a lazy expression: its only heavy reader, the
    # transitions, projects the three columns it needs and is itself kept
    keyed = _keyed(ds.opportunities, backend)
    ds.cache["keyed_opportunities"] = keyed
    ds.opportunities = keyed.drop("_oid")
    if ds.leads is not None:
        ds.leads = _materialise(ds.leads, backend)
    if ds.stage_history is not None:
        from .clean import history_core, known_opportunities, mapped

        ds.cache["history_core"] = history_core(
            mapped(backend.table(ds.sources["stage_history"]), "stage_history")[0], cfg
        )
        ds.stage_history, rej = known_opportunities(ds.stage_history, ds.opportunities)
        ds.rejections["stage_history"].append(rej)
        if getattr(backend, "name", "") != "duckdb":
            ds.stage_history = _materialise(ds.stage_history, backend)
    return ds


def _keyed(o, backend):
    """Opportunities kept in the engine with ``_oid`` (see :func:`_with_key`)."""
    if getattr(backend, "name", "") == "duckdb":  # the kept table's row ids: no sort
        name = _materialise(o, backend).get_name().rsplit(".", 1)[-1]
        backend.con.execute(
            f'CREATE TEMP VIEW "{name}_keyed" AS SELECT *, CAST(rowid AS BIGINT) AS _oid '
            f'FROM "{name}"'
        )
        return backend.table(f"{name}_keyed")
    return _materialise(_with_key(o, backend), backend)


def _with_key(o, backend):
    """Opportunities with ``_oid``: a row number on DuckDB, the id itself elsewhere (a
    global row number would move a distributed table onto one worker)."""
    import ibis

    if getattr(backend, "name", "") == "duckdb":
        return o.mutate(_oid=ibis.row_number().cast("int64"))
    return o.mutate(_oid=o["opportunity_id"])


def _list_tables(backend) -> set[str]:
    if getattr(backend, "name", "") == "duckdb":  # ibis 12's list_tables fails on duckdb 2
        rows = backend.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return {r[0] for r in rows}
    return set(backend.list_tables())


def _materialise(t, backend):
    """Computed once: DuckDB and Spark keep the table (temporary, in the engine)."""
    name = getattr(backend, "name", "")
    if name == "duckdb":
        return backend.create_table(f"_sa_clean_{next(_SEQ)}", t, temp=True)
    if name == "pyspark":
        return t.cache()
    return t


def _release(t, backend) -> None:
    """Drop a temporary table made by :func:`_materialise` (DuckDB; a no-op elsewhere)."""
    if getattr(backend, "name", "") == "duckdb":
        name = t.get_name().rsplit(".", 1)[-1]
        if name.startswith("_sa_clean_"):
            backend.con.execute(f'DROP TABLE IF EXISTS "{name}"')


_SEQ = __import__("itertools").count()


def _items(source) -> dict:
    from .. import _paths
    from ..dataset import find_table_files

    if source is None or source == "":
        source = _paths.SAMPLE_DIR
    if isinstance(source, Mapping):
        return dict(source)
    return find_table_files(source)


def _load_into(backend, table: str, obj) -> str:
    if isinstance(obj, pd.DataFrame):
        _register(backend, table, obj)
        return table
    path = Path(str(obj))
    if backend.name != "duckdb":
        from ..io import read_table

        _register(backend, table, read_table(path))
        return table
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv"
    opts = "" if reader == "read_parquet" else ", all_varchar=true, header=true"
    quoted = str(path).replace("'", "''")
    backend.con.execute(
        f"CREATE OR REPLACE VIEW \"{table}\" AS SELECT * FROM {reader}('{quoted}'{opts})"
    )
    return table
