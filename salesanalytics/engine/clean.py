"""The cleaning rules that run inside the engine, and the ones that need pandas.

In the engine (as Ibis expressions, nothing brought back):

- headers: English/Chinese/CRM-export aliases mapped onto canonical names (names only);
- types: text columns trimmed; dates and numbers cast (``TRY_CAST``: ISO dates,
  plain numbers with ``,`` thousands separators); yes/no/是/否 booleans;
- placeholders (``N/A``, ``Select``, ``-``, ``未知``, ...) become missing;
- stage names and aliases resolved through the stage config, ``status`` derived;
- rows missing a required value, with an unknown stage, or stage-history rows of an
  unknown opportunity are rejected (counted per rule in ``EngineDataset.quality``).

Needing pandas (``EngineDataset.to_pandas()`` applies them): day-first and Excel-serial
dates, Chinese number units (万) and currency symbols, category spelling variants,
duplicate detection and contact merging, chronology checks, per-cell rejection detail
and the masking of phones and e-mails (the engine never returns those columns).
"""

from __future__ import annotations

import string

import pandas as pd

from ..clean.headers import map_headers
from ..clean.values import _FALSE, _TRUE, PLACEHOLDERS
from ..schema import TABLES
from ..stages import StageConfig

__all__ = ["clean_table", "known_opportunities", "rejection_counts", "ENGINE_RULES"]

ENGINE_RULES = {
    "headers": "aliases mapped to canonical names",
    "types": "text trimmed; dates and numbers cast (ISO dates, plain numbers); booleans",
    "placeholders": "N/A, Select, -, 未知 ... become missing",
    "stages": "stage names and aliases resolved through the stage config; status derived",
    "required": "rows missing a required value rejected (counted)",
    "unknown_stage": "rows with a stage outside the config rejected (counted)",
    "unknown_opportunity": "stage-history rows of unknown opportunities rejected (counted)",
}
PANDAS_ONLY = (
    "day-first and Excel-serial dates",
    "number units (万, k) and currency symbols",
    "category spelling variants",
    "duplicates and contact merging",
    "chronology checks",
    "per-cell rejection detail",
    "masking of phones and e-mails (never returned by the engine)",
)


def _text(col):
    import ibis

    s = col.cast("string").strip()
    placeholder = s.lower().isin(sorted(PLACEHOLDERS))
    return ibis.ifelse(placeholder, ibis.null("string"), s)


def _datetime(col):
    import ibis

    if col.type().is_timestamp():
        return col.cast("timestamp")
    if col.type().is_date():
        return col.cast("timestamp")
    s = _text(col)
    return ibis.ifelse(s.isnull(), ibis.null("timestamp"), s.try_cast("timestamp"))


def _number(col):
    if col.type().is_numeric():
        return col.cast("float64")
    return _text(col).replace(",", "").try_cast("float64")


def _bool(col):
    import ibis

    if col.type().is_boolean():
        return col
    s = _text(col).lower()
    return ibis.cases(
        (s.isin(sorted(_TRUE)), True), (s.isin(sorted(_FALSE)), False), else_=ibis.null("boolean")
    )


def _stage(col, cfg: StageConfig):
    """Stage keys through the config: the few distinct raw values are resolved in Python
    (aliases, labels, case and separators) and mapped back in the engine by equality."""
    import ibis

    raw = col.cast("string")
    values = raw.name("v").as_table().distinct().to_pyarrow()["v"].to_pylist()
    lookup = {v: cfg.resolve(v.replace("\u3000", " ")) for v in values if v is not None}
    lookup = {k: v for k, v in lookup.items() if v is not None}
    if not lookup:
        return ibis.null("string")
    if all(k == v for k, v in lookup.items()) and len(lookup) == sum(
        v is not None for v in values
    ):  # every value is already a stage key: nothing to map, row by row
        return raw
    return raw.substitute(lookup, else_=ibis.null("string"))


#: A category column with more distinct values than this is cleaned row by row.
FEW_VALUES = 1000


def _category(t, name: str):
    """A category column cleaned like :func:`_text`, but the cleaning runs on its distinct
    values only (computed in the engine, so trimming and case rules are the engine's own)
    and is mapped back only where it changes a value: an already clean column costs
    nothing per row. Columns with many distinct values are cleaned row by row."""
    import ibis

    col = t[name]
    values = t.select(_v=col.cast("string")).distinct().limit(FEW_VALUES + 1)
    pairs = values.mutate(_c=_text(values["_v"])).to_pyarrow()
    if pairs.num_rows > FEW_VALUES:
        return _text(col)
    raw, clean = pairs["_v"].to_pylist(), pairs["_c"].to_pylist()
    changed = {r: c for r, c in zip(raw, clean) if r is not None and r != c}
    s = col.cast("string")
    if not changed:
        return s
    return ibis.cases(
        *[
            (s == r, ibis.null("string") if c is None else ibis.literal(c, type="string"))
            for r, c in changed.items()
        ],
        else_=s,
    )


def mapped(t, table: str) -> tuple[object, list[str]]:
    """The raw table with its headers renamed to the canonical names; notes."""
    spec = TABLES[table]
    _, mapping, notes = map_headers(pd.DataFrame(columns=list(t.columns)), spec)
    t = t.rename({v: k for k, v in mapping.items() if k != v}) if mapping else t
    return t, notes


def history_core(t, cfg: StageConfig):
    """The clean stage history's three columns straight from the (renamed) raw table, for
    the transitions: ``opportunity_id`` as text (trimmed only when some id is padded; the
    join to the clean opportunities drops the rest), ``order`` the stage's position in
    the config, ``entered_at``; the rows the cleaning rejects (missing or unknown stage,
    missing date) are left out, exactly as :func:`clean_table` leaves them."""
    import ibis

    raw = t["stage"].cast("string")
    values = raw.name("v").as_table().distinct().to_pyarrow()["v"].to_pylist()
    order = {k: i for i, k in enumerate(cfg.keys)}
    lookup = {v: cfg.resolve(v.replace("\u3000", " ")) for v in values if v is not None}
    lookup = {k: order[v] for k, v in lookup.items() if v is not None}
    if lookup:
        pos = raw.substitute(lookup, else_=ibis.null("int64")).cast("int64")
    else:
        pos = ibis.null("int64")
    ident = t["opportunity_id"].cast("string")
    ws = list(string.whitespace)
    padded = (ident.left(1).isin(ws) | ident.right(1).isin(ws)).any().execute()
    # an unpadded raw id either is its clean self or a placeholder, which matches no clean
    # opportunity id: the join needs no per-row cleaning unless some id is padded
    h = t.select(
        opportunity_id=_text(t["opportunity_id"]) if padded else ident,
        order=pos,
        entered_at=_datetime(t["entered_at"]),
    )
    return h.filter(h["order"].notnull() & h["entered_at"].notnull())


def clean_table(t, table: str, cfg: StageConfig) -> tuple[object, list, list[str]]:
    """(clean Ibis table, [(rule, column, predicate on the mapped table)], notes)."""
    import ibis

    spec = TABLES[table]
    t, notes = mapped(t, table)
    present = [c for c in spec.names if c in t.columns]
    missing = [c for c in spec.required if c not in t.columns]
    if missing:
        raise ValueError(f"{table}: required column(s) missing in the engine table: {missing}")
    casts = {}
    for name in present:
        kind = spec.column(name).kind
        col = t[name]
        if kind == "datetime":
            casts[name] = _datetime(col)
        elif kind == "number":
            casts[name] = _number(col)
        elif kind == "bool":
            casts[name] = _bool(col)
        elif kind == "stage":
            casts[name] = _stage(col, cfg)
            casts["_stage_raw"] = _category(t, name)
        elif kind == "category":
            casts[name] = _category(t, name)
        else:
            casts[name] = _text(col)
    t = t.mutate(**casts)
    rejections = []
    for name in spec.required:
        rejections.append(("required", name, t[name].isnull()))
    if "_stage_raw" in t.columns:
        rejections.append(
            ("unknown_stage", "stage", t["_stage_raw"].notnull() & t["stage"].isnull())
        )
    typed = t
    bad = ibis.or_(*[p for _, _, p in rejections]) if rejections else ibis.literal(False)
    t = t.filter(~bad)
    keep = [c for c in spec.names if c in t.columns]
    t = t.select(*keep)
    if table == "opportunities":
        kinds = {s.key: s.kind for s in cfg.stages}
        closed = {k: v for k, v in kinds.items() if v != "open"}
        status = (
            t["stage"].substitute(closed, else_="open")  # stage is never missing here
            if set(kinds.values()) <= {"open", "won", "lost"}
            else t["stage"].substitute(kinds, else_=ibis.null("string"))
        )
        t = t.mutate(status=status)
    counts = [(table, rule, col, typed.filter(p).count()) for rule, col, p in rejections]
    return t, counts, notes


def known_opportunities(history, opportunities) -> tuple[object, tuple]:
    """Stage-history rows of known opportunities; the rule for the others."""
    ids = opportunities.select("opportunity_id").distinct()
    kept = history.semi_join(ids, "opportunity_id")
    dropped = history.anti_join(ids, "opportunity_id").count()
    return kept, ("stage_history", "unknown_opportunity", "opportunity_id", dropped)


def rejection_counts(ds) -> pd.DataFrame:
    """Per table and rule, how many rows the in-engine cleaning rejected (counted there)."""
    rows = [
        {"table": table, "column": col, "rule": rule, "rows": int(count.execute())}
        for table, rules in ds.rejections.items()
        for _, rule, col, count in rules
    ]
    out = pd.DataFrame(rows, columns=["table", "column", "rule", "rows"])
    out.attrs = {"engine_rules": ENGINE_RULES, "pandas_only": PANDAS_ONLY}
    return out
