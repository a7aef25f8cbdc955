"""``clean``: one table in; clean rows, rejected rows with reasons, and a report out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.errors

from ..schema import TABLES, DataContractError, pandera_schema
from ..stages import StageConfig, load_stages
from . import values as V
from .headers import map_headers
from .report import Issues

__all__ = ["CleanResult", "clean"]

_PARSERS = {
    "id": lambda s, **_: V.normalise_id(s),
    "text": lambda s, **_: V.normalise_text(s),
    "category": lambda s, **_: V.normalise_category(s),
    "period": lambda s, **_: V.normalise_text(s),
    "stage": lambda s, **_: V.normalise_text(s),
    "datetime": lambda s, dayfirst=None: V.parse_datetime(s, dayfirst=dayfirst),
    "number": lambda s, **_: V.parse_number(s),
    "bool": lambda s, **_: V.parse_bool(s),
}


@dataclass
class CleanResult:
    """What :func:`clean` returns.

    Attributes
    ----------
    data : DataFrame
        Clean rows: canonical column names and dtypes, unknown columns kept after them.
    rejected : DataFrame
        The original rows that could not be used, as they came in, plus ``row`` (0-based
        input position) and ``reason``.
    quality : DataFrame
        Every problem found: table, row, column, value, rule, action, detail.
    report : dict
        Counts (``rows_in``, ``clean``, ``rejected``, ``duplicates_dropped``), the header
        mapping, unknown columns and notes. ``rows_in == clean + rejected + duplicates_dropped``.
    """

    table: str
    data: pd.DataFrame
    rejected: pd.DataFrame
    quality: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row of counts, handy for concatenating across tables."""
        keys = ("rows_in", "clean", "rejected", "duplicates_dropped")
        return pd.DataFrame([{"table": self.table, **{k: self.report[k] for k in keys}}])


class _Rejections:
    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series("", index=index, dtype="object")

    def add(self, mask: pd.Series, text: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        text = text[mask] if isinstance(text, pd.Series) else text
        cur = self.reason[mask]
        self.reason[mask] = cur.where(cur == "", cur + "; ") + text

    @property
    def mask(self) -> pd.Series:
        return self.reason != ""


def clean(
    df: pd.DataFrame,
    table: str,
    *,
    stages: StageConfig | str | None = None,
    dayfirst: bool | None = None,
    mask_pii: bool = True,
) -> CleanResult:
    """Validate and normalise one canonical table without losing a row.

    Parameters
    ----------
    df
        The table as read (any header language; see ``schema.TABLES`` for aliases).
    table
        Canonical table name: ``opportunities``, ``stage_history``, ``leads``,
        ``activities``, ``orders``, ``targets`` or ``accounts``.
    stages
        Stage config (or preset name) used to map stage names; default seven-stage funnel.
    dayfirst
        Day/month order for slash dates when a column does not decide it (default month-first).
    mask_pii
        Mask phone numbers and e-mail addresses (``138****5678``); on by default.

    Returns
    -------
    CleanResult
        ``len(data) + len(rejected) + report["duplicates_dropped"] == len(df)``.

    Raises
    ------
    DataContractError
        When a required column is missing (the table cannot be used at all).

    Examples
    --------
    >>> raw = pd.DataFrame({"商机编号": ["A1", "A2"], "负责人": ["Li", "Wang"],
    ...                     "创建时间": ["2024-01-05", "soon"], "当前阶段": ["需求分析", "谈判"]})
    >>> res = clean(raw, "opportunities")
    >>> res.data[["opportunity_id", "stage", "status"]].values.tolist()
    [['A1', 'needs_confirmed', 'open']]
    >>> res.rejected["reason"].tolist()
    ["created_at unreadable: 'soon'"]
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; tables: {list(TABLES)}")
    spec = TABLES[table]
    cfg = load_stages(stages)
    raw = df.reset_index(drop=True)
    work, mapping, notes = map_headers(raw, spec)
    missing = [c for c in spec.required if c not in work.columns]
    if missing:
        raise DataContractError(
            f"{table}: required column(s) {missing} not found. Columns seen: {list(map(str, raw.columns))}. "
            "Rename them, or use one of the aliases listed in salesanalytics.schema.TABLES."
        )
    issues = Issues(table)
    rej = _Rejections(work.index)
    for note in notes:
        issues.add_table_note("*", "headers", note)

    present = [c for c in spec.columns if c.name in work.columns]
    extras: dict[str, pd.Series] = {}
    for col in present:
        source = work[col.name]
        parsed = _PARSERS[col.kind](source, dayfirst=dayfirst)
        bad = parsed.bad.fillna(False).astype(bool)
        if bad.any():
            action = "rejected" if col.required else "set_missing"
            issues.add(work.index[bad], col.name, source[bad], f"unreadable_{col.kind}", action)
            if col.required:
                rej.add(bad, f"{col.name} unreadable: " + source.astype("string").map(repr))
        for note in parsed.notes:
            issues.add_table_note(col.name, "format", note)
        val = parsed.values
        if col.min_value is not None:
            low = (val < col.min_value).fillna(False).astype(bool)
            if low.any():
                issues.add(
                    work.index[low],
                    col.name,
                    source[low],
                    "below_minimum",
                    "rejected" if col.required else "set_missing",
                    f"must be >= {col.min_value:g}",
                )
                if col.required:
                    rej.add(low, f"{col.name} below {col.min_value:g}")
                val = val.mask(low)
        if col.pii and mask_pii:
            val = V.mask_phone(val) if col.name == "phone" else V.mask_email(val)
        work[col.name] = val.astype(col.dtype)
        for k, v in parsed.extra.items():
            extras[f"{col.name}_{k}"] = v

    if "stage" in work.columns:
        text = work["stage"]
        keys = cfg.map(text)
        unknown = text.notna() & keys.isna()
        if unknown.any():
            issues.add(
                work.index[unknown],
                "stage",
                text[unknown],
                "unknown_stage",
                "rejected",
                f"not a stage of config {cfg.name!r}",
            )
            rej.add(unknown, "unknown stage " + text.astype("string").map(repr))
        work["stage"] = keys

    for name in spec.required:
        miss = work[name].isna() & ~rej.mask
        # a required cell that was unreadable is already explained; only plain blanks here
        if miss.any():
            issues.add(work.index[miss], name, None, "missing_required", "rejected")
            rej.add(miss, f"{name} missing")

    if table == "opportunities":
        work["status"] = cfg.status(work["stage"])
        _check_opportunity_logic(work, issues)

    # ---- duplicates among usable rows: exact copies dropped, conflicting ids rejected
    ordered = [c.name for c in present]
    extra_cols = [c for c in work.columns if c not in ordered and c != "status" and c not in extras]
    for c in extra_cols:
        work[c] = V.infer_extra(work[c])
    dup_dropped = pd.Series(False, index=work.index)
    key = [k for k in spec.key if k in work.columns]
    usable = ~rej.mask
    if key:
        comparable = work.loc[usable, ordered + extra_cols].astype("string")
        exact = comparable.duplicated(keep="first")
        dup_dropped[exact[exact].index] = True
        if exact.any():
            issues.add(
                exact[exact].index,
                ",".join(key),
                None,
                "exact_duplicate",
                "dropped_duplicate",
                "identical to an earlier row",
            )
        rest = comparable[~exact]
        clash = rest.duplicated(subset=key, keep=False)
        if clash.any():
            idx = clash[clash].index
            groups = rest.loc[idx].groupby(key, dropna=False, sort=False).groups
            for rows in groups.values():
                rows = pd.Index(rows)
                detail = "conflicting rows " + ", ".join(str(r) for r in rows)
                issues.add(
                    rows,
                    ",".join(key),
                    work.loc[rows, key[0]],
                    "conflicting_duplicate",
                    "rejected",
                    detail,
                )
                rej.add(
                    pd.Series(work.index.isin(rows), index=work.index),
                    f"conflicting duplicate {'/'.join(key)} ({detail})",
                )

    keep = ~rej.mask & ~dup_dropped
    derived = (["status"] if "status" in work.columns else []) + list(extras)
    for k, v in extras.items():
        work[k] = v
    data = work.loc[keep, ordered + derived + extra_cols]

    # ---- the contract check (pandera, lazy): anything failing here is routed to rejected
    try:
        pandera_schema(table).validate(data, lazy=True)
    except pandera.errors.SchemaErrors as err:
        fc = err.failure_cases
        rows = pd.Index(fc["index"].dropna().astype(int).unique())
        for _, f in fc.dropna(subset=["index"]).iterrows():
            issues.add(
                [int(f["index"])],
                str(f["column"]),
                [f["failure_case"]],
                "contract",
                "rejected",
                str(f["check"]),
            )
        bad = pd.Series(work.index.isin(rows), index=work.index)
        rej.add(bad, "fails the data contract")
        keep = keep & ~bad
        data = work.loc[keep, ordered + derived + extra_cols]

    data = data.reset_index(drop=True)
    rejected = raw.loc[rej.mask].copy()
    rejected.insert(0, "row", rejected.index.astype("int64"))
    rejected["reason"] = rej.reason[rej.mask].astype("string")
    rejected = rejected.reset_index(drop=True)
    report = {
        "table": table,
        "rows_in": len(raw),
        "clean": len(data),
        "rejected": len(rejected),
        "duplicates_dropped": int(dup_dropped.sum()),
        "columns": {str(k): v for k, v in mapping.items()},
        "unknown_columns": [c for c in extra_cols],
        "stages": cfg.name,
    }
    if report["rows_in"] != report["clean"] + report["rejected"] + report["duplicates_dropped"]:
        raise RuntimeError(f"{table}: row reconciliation failed: {report}")
    quality = issues.frame()
    report["problems"] = quality["rule"].value_counts().sort_index().to_dict()
    return CleanResult(table, data, rejected, quality, report)


def _check_opportunity_logic(work: pd.DataFrame, issues: Issues) -> None:
    """Flag (keep) rows whose dates or terminal state do not add up."""
    closed = work["status"].isin(["won", "lost"]).fillna(False).astype(bool)
    if "closed_at" in work.columns:
        no_close = closed & work["closed_at"].isna()
        issues.add(
            work.index[no_close],
            "closed_at",
            work.loc[no_close, "stage"],
            "closed_without_date",
            "flagged",
            "won/lost without a close date",
        )
        before = (work["closed_at"] < work["created_at"]).fillna(False).astype(bool)
        issues.add(
            work.index[before],
            "closed_at",
            work.loc[before, "closed_at"],
            "close_before_creation",
            "flagged",
        )
        open_with_close = (work["status"] == "open").fillna(False).astype(bool) & work[
            "closed_at"
        ].notna()
        issues.add(
            work.index[open_with_close],
            "closed_at",
            work.loc[open_with_close, "closed_at"],
            "open_with_close_date",
            "flagged",
        )
    elif closed.any():
        issues.add_table_note("closed_at", "closed_without_date", "no close date column")
    if "engaged_at" in work.columns and "closed_at" in work.columns:
        early = (work["closed_at"] < work["engaged_at"]).fillna(False).astype(bool)
        issues.add(
            work.index[early],
            "closed_at",
            work.loc[early, "closed_at"],
            "close_before_engagement",
            "flagged",
        )
