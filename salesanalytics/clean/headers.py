"""Header mapping: source column names onto canonical ones, unknown columns kept."""

from __future__ import annotations

import pandas as pd

from ..schema import TableSpec
from ..stages import normalise_label

__all__ = ["map_headers"]


def _norm(name: object) -> str:
    return normalise_label(str(name).lstrip("\ufeff"))


def map_headers(
    df: pd.DataFrame, spec: TableSpec
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Rename columns to canonical names.

    A column named exactly like a canonical column wins over an alias; when two source
    columns map onto one canonical name, the first is used and the other keeps its name.
    Columns that are entirely empty and unnamed (trailing separators) are dropped.

    Returns
    -------
    (renamed frame, {source name: canonical name}, notes)
    """
    notes: list[str] = []
    empty_unnamed = [
        c
        for c in df.columns
        if (str(c).startswith("Unnamed:") or str(c).strip() == "") and df[c].isna().all()
    ]
    if empty_unnamed:
        notes.append(f"dropped {len(empty_unnamed)} empty unnamed column(s): {empty_unnamed}")
        df = df.drop(columns=empty_unnamed)

    exact = {_norm(c.name): c.name for c in spec.columns}
    alias = {}
    for c in spec.columns:
        for a in c.aliases:
            alias.setdefault(_norm(a), c.name)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    # exact canonical names first, then aliases, each in source order
    for lookup in (exact, alias):
        for col in df.columns:
            if col in mapping:
                continue
            target = lookup.get(_norm(col))
            if target and target not in taken:
                mapping[col] = target
                taken.add(target)
    for col in df.columns:
        if col not in mapping and (alias.get(_norm(col)) or exact.get(_norm(col))):
            notes.append(
                f"column {col!r} also names {alias.get(_norm(col)) or exact.get(_norm(col))!r}; kept as is"
            )
    renames = {k: v for k, v in mapping.items() if k != v}
    if renames:
        notes.append("renamed " + ", ".join(f"{k!r}->{v}" for k, v in renames.items()))
    out = df.rename(columns=mapping)
    out.columns = [str(c) for c in out.columns]
    return out, mapping, notes
