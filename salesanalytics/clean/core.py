"""``clean``: one table in; clean rows, rejected rows with reasons, and a report out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._grouping import arrow_chunks, positions_in
from ..schema import TABLES, DataContractError, TableSpec, pandera_schema
from ..stages import StageConfig, load_stages
from . import pii
from . import templates as T
from . import values as V
from .headers import header_key, map_headers, missing_columns_message
from .mapping import table_columns
from .report import Issues

__all__ = ["CleanResult", "clean", "COUNTS"]

#: The row accounting every report carries: rows_in = clean + rejected + dropped + merged.
COUNTS = ("rows_in", "clean", "rejected", "duplicates_dropped", "merged")

_PARSERS = {
    "id": lambda s, **_: V.normalise_id(s),
    "text": lambda s, **_: V.normalise_text(s),
    "category": lambda s, **_: V.normalise_category(s),
    "period": lambda s, **_: V.parse_period(s),
    "stage": lambda s, **_: V.normalise_text(s),
    "datetime": lambda s, dayfirst=None, date_range=V.DATE_RANGE: V.parse_datetime(
        s, dayfirst=dayfirst, date_range=date_range
    ),
    "number": lambda s, **_: V.parse_number(s),
    "percent": lambda s, **_: V.parse_number(s, percent=True),
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
        The original rows that could not be used, as they came in (personal data masked),
        plus ``row`` (0-based input position) and ``reason``.
    quality : DataFrame
        Every problem found: table, row, column, value, rule, action, detail.
    report : dict
        Counts (``rows_in``, ``clean``, ``rejected``, ``duplicates_dropped``, ``merged``),
        the header mapping, unknown columns and notes.
    source_rows : ndarray
        Input position of each row of ``data``.
    """

    table: str
    data: pd.DataFrame
    rejected: pd.DataFrame
    quality: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)
    source_rows: np.ndarray = field(default_factory=lambda: np.array([], dtype="int64"))

    def summary(self) -> pd.DataFrame:
        """One row of counts, handy for concatenating across tables."""
        return pd.DataFrame([{"table": self.table, **{k: self.report[k] for k in COUNTS}}])


class _Rejections:
    """Reasons per input row; a row with any reason is rejected."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series("", index=index, dtype="object")
        self._mask = pd.Series(False, index=index)

    def add(self, mask: pd.Series, text: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        text = text[mask] if isinstance(text, pd.Series) else text
        cur = self.reason[mask]
        self.reason[mask] = cur.where(cur == "", cur + "; ") + text
        self._mask = self.reason != ""

    @property
    def mask(self) -> pd.Series:
        return self._mask.copy()


def clean(
    df: pd.DataFrame,
    table: str,
    *,
    stages: StageConfig | str | None = None,
    dayfirst: bool | None = None,
    mask_pii: bool = True,
    relax: Sequence[str] = (),
    merge_contacts: bool = True,
    columns: Mapping[str, str] | str | Path | None = None,
    unknown: str = "keep",
    date_range: tuple[str, str] = V.DATE_RANGE,
    phone_region: str = "CN",
) -> CleanResult:
    """Validate and normalise one canonical table without losing a row.

    Parameters
    ----------
    df
        The table as read (any header language; see ``schema.TABLES`` for aliases).
    table
        Canonical table name: ``opportunities``, ``stage_history``, ``leads``,
        ``activities``, ``orders``, ``targets``, ``accounts``, ``products`` or ``reps``.
    stages
        Stage config (or preset name) used to map stage names; default seven-stage funnel.
    dayfirst
        Day/month order for slash dates when a column does not decide it (default month-first).
    mask_pii
        Mask personal data in every output (on by default): phone numbers and e-mail
        addresses found in any text cell (``138****5678``, ``j***@example.com``), contact
        columns by header (``联系方式``, ``Phone Number``, ``Work Email``, ``手机号``) whole,
        and contact-person names (``联系人``, ``Contact``: ``张**``, ``J*** S****``); rep
        names are kept. Clean data, rejected rows, quality values and error messages alike
        (see :mod:`salesanalytics.clean.pii`).
    relax
        Required columns to treat as optional for this export, e.g. ``("created_at",)`` for a
        lead list without dates (dated analyses then refuse it, the rest works).
    merge_contacts
        Leads only: rows for the same person (same phone or e-mail; a contact column such as
        ``联系方式`` counts as a phone) arriving through several channels are merged into the
        first one, keeping ``channels`` and ``merged_lead_ids``. When the file has a company
        column (``企业名称``, ``Company``), the key is company and contact together, the
        guides' dedupe rule [001]. Each merge is a ``same_contact`` row in the quality report.
    unknown
        Blank or unknown segment values (channel, region, team, industry, product, grade,
        ...; not the owner): ``"keep"`` (default) keeps the row with ``"(unknown)"`` and
        counts it (rule ``unknown_segment``); ``"reject"`` rejects rows whose *required*
        segment is blank, except rows carrying a win, which are always kept.
    date_range
        Dates outside this window (ISO, inclusive; default 1900-01-01..2200-12-31) are a
        per-cell problem (rule ``date_out_of_range``), never a table failure.
    phone_region
        Region for phone numbers written without a country code (default ``"CN"``).
    columns
        Column mapping for this table, ``{export header: canonical name}``, or a YAML file
        of the :func:`salesanalytics.clean.mapping.load_column_map` shape (its ``table``
        entry is used). Unmapped columns are matched through the aliases.

    Returns
    -------
    CleanResult
        ``rows_in == clean + rejected + duplicates_dropped + merged``, checked here.

    Raises
    ------
    DataContractError
        When a required column is missing, or two columns name the same canonical column
        (the table cannot be used at all). Messages quote no personal data.

    Notes
    -----
    Control characters (other than tab and newline) and zero-width characters are removed
    from every text cell first (rule ``invisible_characters``). Rows a CSV reader found
    with too few or too many fields (``df.attrs["malformed_rows"]``) are rejected with the
    reason ``truncated row`` or ``too many fields``.

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
    if unknown not in ("keep", "reject"):
        raise ValueError(f"unknown must be 'keep' or 'reject', got {unknown!r}")
    pii.set_region(phone_region)
    spec = TABLES[table]
    cfg = load_stages(stages)
    malformed = dict(df.attrs.get("malformed_rows", {}))
    issues = Issues(table)
    raw = df.reset_index(drop=True)
    if not df.attrs.get("invisible_checked"):
        raw = _strip_invisible(raw, issues)
    _check_duplicate_headers(raw, table)
    work, mapping, notes = map_headers(raw, spec, table_columns(columns, table))
    for note in _check_mapped_twice(raw, mapping, spec, table):
        issues.add_table_note("*", "headers", note)
    template_state = T.derive_missing(work, table, issues, cfg)
    for note in notes:
        issues.add_table_note("*", "headers", note)
    for col in spec.columns:
        if col.fallback and col.name not in work.columns and col.fallback in work.columns:
            work[col.name] = work[col.fallback]
            issues.add_table_note(col.name, "fallback", f"{col.name} taken from {col.fallback}")
    required = [c for c in spec.required if c not in relax]
    missing = [c for c in required if c not in work.columns]
    if missing:
        unused = [c for c in raw.columns if mapping.get(c) not in spec.names]
        raise DataContractError(pii.mask_message(missing_columns_message(table, missing, unused)))
    for name in relax:
        issues.add_table_note(name, "relaxed", f"{name} treated as optional for this table")
    rej = _Rejections(work.index)
    malformed_reason = _reject_malformed(malformed, work.index, issues, rej)
    T.reject_rows(work, table, issues, rej)
    present = [c for c in spec.columns if c.name in work.columns]
    extras = _parse_columns(work, present, required, dayfirst, issues, rej, date_range)
    numeric = {c.name for c in present if c.kind == "number"}
    T.apply_units(work, raw, mapping, extras, issues, numeric)

    if "stage" in work.columns:
        _map_stages(work, cfg, issues, rej)
    _unknown_segments(work, present, required, unknown, cfg, table, issues, rej)
    for name in required:
        miss = work[name].isna() & ~rej.mask  # unreadable cells are already explained
        if miss.any():
            fallback = spec.column(name).fallback
            why = f"{name} missing" + (
                f" (taken from {fallback}, which is empty)"
                if fallback and name not in mapping.values()
                else ""
            )
            issues.add(work.index[miss], name, None, "missing_required", "rejected", why)
            rej.add(miss, why)
    if table == "opportunities":
        codes, uniq = pd.factorize(work["stage"], use_na_sentinel=True)
        work["status"] = V.spread(
            list(cfg.status(pd.Series(uniq, dtype="string"))), codes, work.index
        )
        _check_opportunity_logic(work, issues)
    episodes = T.split_customer_episodes(work, template_state, cfg, issues, ~rej.mask)

    ordered = [c.name for c in present]
    extra_cols = [c for c in work.columns if c not in ordered and c != "status"]
    contact_src = _contact_source(work, extra_cols)
    if mask_pii:
        _mask_extras(work, extra_cols, issues)
    for c in extra_cols:
        work[c] = V.infer_extra(work[c])
    dropped = _duplicates(work, spec, ordered + extra_cols, issues, rej)
    merged = pd.Series(False, index=work.index)
    if table == "leads" and merge_contacts:
        merged = _merge_contacts(work, ~rej.mask & ~dropped, issues, contact_src)
    merged = merged | (episodes & ~rej.mask & ~dropped)
    for k, v in extras.items():
        work[k] = v
    provenance = [
        c for c in ("channels", "merged_lead_ids") if c in work.columns and c not in extra_cols
    ]
    columns = (
        ordered
        + (["status"] if table == "opportunities" else [])
        + list(extras)
        + provenance
        + extra_cols
    )
    if mask_pii:
        _mask(work, [c.name for c in present if c.pii])
        for c in present:
            if c.kind in ("text", "category") and not c.pii and c.name != "owner":
                masked = pii.mask_text(work[c.name]).astype(work[c.name].dtype)
                _note_masked(work[c.name], masked, c.name, issues)
                work[c.name] = masked

    keep = ~rej.mask & ~dropped & ~merged
    data = _kept(work, keep, columns)
    bad = _contract_check(table, data, issues)
    if bad is not None:
        rej.add(pd.Series(work.index.isin(bad), index=work.index), "fails the data contract")
        keep = keep & ~rej.mask
        data = _kept(work, keep, columns)
    source_rows = data.index.to_numpy(dtype="int64")
    data = data.reset_index(drop=True)
    if malformed_reason is not None:  # a cut row's other problems follow from the cut
        rej.reason[malformed_reason.index] = malformed_reason
    rejected = raw.loc[rej.mask].copy()
    if mask_pii:
        rejected = pii.mask_frame(
            rejected,
            contact=tuple(
                src
                for src, canon in mapping.items()
                if canon in spec.names
                and spec.column(canon).pii
                and pii.column_kind(canon) != "name"
            ),
            skip=tuple(src for src, canon in mapping.items() if canon == "owner"),
        )
    rejected.insert(0, "row", rejected.index.astype("int64"))
    rejected["reason"] = rej.reason[rej.mask].astype("string")
    if mask_pii:
        rejected["reason"] = pii.mask_text(rejected["reason"])
    rejected = rejected.reset_index(drop=True)
    report = {
        "table": table,
        "rows_in": len(raw),
        "clean": len(data),
        "rejected": len(rejected),
        "duplicates_dropped": int(dropped.sum()),
        "merged": int(merged.sum()),
        "columns": {str(k): v for k, v in mapping.items()},
        "unknown_columns": extra_cols,
        "stages": cfg.name,
    }
    if report["rows_in"] != sum(report[k] for k in COUNTS[1:]):
        raise RuntimeError(f"{table}: row reconciliation failed: {report}")
    quality = issues.frame()
    if mask_pii:
        quality = mask_quality(quality)
    report["problems"] = {
        str(k): int(v) for k, v in quality["rule"].value_counts().sort_index().items()
    }
    return CleanResult(table, data, rejected, quality, report, source_rows)


def _kept(work: pd.DataFrame, keep: pd.Series, columns: list[str]) -> pd.DataFrame:
    """The kept rows of ``columns``; when every row is kept, without copying them."""
    return work[columns] if bool(keep.all()) else work.loc[keep, columns]


def _parse_columns(
    work, present, required, dayfirst, issues: Issues, rej: _Rejections, date_range
) -> dict:
    """Parse every canonical column in place; return derived columns (e.g. amount_low/high)."""
    extras: dict[str, pd.Series] = {}
    for col in present:
        source = work[col.name]
        is_required = col.name in required
        if col.kind == "datetime":
            parsed = V.parse_datetime(source, dayfirst=dayfirst, date_range=tuple(date_range))
        else:
            parsed = _PARSERS[col.kind](source, dayfirst=dayfirst)
        bad = parsed.bad.fillna(False).astype(bool)
        oor = parsed.flags.get("out_of_range")
        if oor is not None and oor.any():
            oor = oor.fillna(False).astype(bool) & bad
            bad = bad & ~oor
            action = "rejected" if is_required else "set_missing"
            lo, hi = date_range
            issues.add(
                work.index[oor],
                col.name,
                source[oor],
                "date_out_of_range",
                action,
                f"outside {lo}..{hi}",
            )
            if is_required:
                rej.add(oor, f"{col.name} out of range: " + source.astype("string").map(repr))
        for flag, rule, detail in (
            ("range", "range_value", "a range: low and high kept, midpoint used"),
            ("open_ended", "open_ended", "open-ended value (e.g. 90天+): its bound used"),
        ):
            hit = parsed.flags.get(flag)
            if hit is not None and hit.any():
                hit = hit.fillna(False).astype(bool)
                issues.add(work.index[hit], col.name, source[hit], rule, "flagged", detail)
        if bad.any():
            action = "rejected" if is_required else "set_missing"
            issues.add(work.index[bad], col.name, source[bad], f"unreadable_{col.kind}", action)
            if is_required:
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
                    "rejected" if is_required else "set_missing",
                    f"must be >= {col.min_value:g}",
                )
                if is_required:
                    rej.add(low, f"{col.name} below {col.min_value:g}")
                val = val.mask(low)
        work[col.name] = val.astype(col.dtype)
        for k, v in parsed.extra.items():
            extras[f"{col.name}_{k}"] = v
    return extras


def _map_stages(work, cfg: StageConfig, issues: Issues, rej: _Rejections) -> None:
    text = work["stage"]
    if _all_keys(text, cfg):  # the usual export of this config: nothing to map
        work["stage"] = text.astype("string")
        return
    # each distinct name resolved once (as cfg.map does), then spread back by its codes
    codes, uniq = pd.factorize(text, use_na_sentinel=True)
    resolved = [cfg.resolve(u) for u in uniq]
    if all(str(u) == k for u, k in zip(uniq, resolved)) and pd.api.types.is_string_dtype(text):
        keys = text.astype("string")  # every name is already its key
    else:
        keys = V.spread(resolved, codes, text.index)
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
    fixed = text.notna() & keys.notna() & (text != keys)
    if fixed.any():
        issues.add_table_note(
            "stage",
            "stage_names",
            f"{int(fixed.sum())} stage names mapped through config {cfg.name!r}",
        )
    work["stage"] = keys


def _all_keys(text: pd.Series, cfg: StageConfig) -> bool:
    """Whether every stage name present is already one of the config's keys (one lookup in
    C over a pyarrow column; False for other columns, which take the general mapping)."""
    if arrow_chunks(text) is None or not all(cfg.resolve(k) == k for k in cfg.keys):
        return False
    return bool(((positions_in(text, cfg.keys) >= 0) | text.isna().to_numpy(dtype=bool)).all())


def _duplicates(work, spec: TableSpec, columns, issues: Issues, rej: _Rejections) -> pd.Series:
    """Exact copies are dropped (counted); rows sharing a key but differing are all rejected."""
    dropped = pd.Series(False, index=work.index)
    key = [k for k in spec.key if k in work.columns]
    if not key:
        return dropped
    # only rows sharing a key can be copies or clash: find them first through one integer
    # fingerprint of the key columns (collisions only add candidates), then compare those
    usable = work.loc[~rej.mask, key]
    candidates = _sorted_candidates(usable)
    if candidates is None:
        candidates = pd.Series(_fingerprint(usable), index=usable.index).duplicated(keep=False)
    if not candidates.any():
        return dropped
    comparable = work.loc[candidates[candidates].index, columns]
    mixed = [c for c in columns if pd.api.types.is_object_dtype(comparable[c])]
    if mixed:  # cells of mixed types compare as text, as they were written
        comparable = comparable.astype({c: "string" for c in mixed})
    exact = comparable.duplicated(keep="first")
    dropped[exact[exact].index] = True
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
        clashing = rest.loc[clash[clash].index]
        group_id = clashing.groupby(key, dropna=False, sort=False).ngroup()
        for g in group_id.unique():
            rows = group_id.index[group_id == g]
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
    return dropped


def _neighbour_equal(col: pd.Series) -> np.ndarray | None:
    """``col[i] == col[i - 1]`` for i >= 1 and whether ``col`` never decreases, or None when
    the column has missing cells or a type this shortcut does not handle."""
    if col.isna().any():
        return None
    if pd.api.types.is_datetime64_dtype(col) or pd.api.types.is_numeric_dtype(col):
        if pd.api.types.is_bool_dtype(col):
            return None
        v = col.to_numpy()
        return np.stack([v[1:] == v[:-1], v[1:] >= v[:-1]])
    if V._is_arrow(col):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(col.array)
        a, b = arr[1:], arr[:-1]
        return np.stack(
            [
                np.asarray(pc.equal(a, b).to_numpy(zero_copy_only=False), dtype=bool),
                np.asarray(pc.greater_equal(a, b).to_numpy(zero_copy_only=False), dtype=bool),
            ]
        )
    return None


def _sorted_candidates(usable: pd.DataFrame) -> pd.Series | None:
    """Rows that may share their key, when the file is sorted by (a prefix of) the key.

    The key columns are tried in the order first column, date columns, the others; when the
    rows are sorted by the first m of them, rows sharing the whole key lie in one run of
    rows equal in those m, so the runs longer than one row are the candidates. None when
    not even the first column is sorted (or has gaps); the caller then hashes.
    """
    n = len(usable)
    if n < 2:
        return pd.Series(False, index=usable.index)
    cols = list(usable.columns)
    order = cols[:1] + [c for c in cols[1:] if pd.api.types.is_datetime64_dtype(usable[c])]
    order += [c for c in cols if c not in order]
    same = np.ones(n - 1, dtype=bool)  # row i equal to row i-1 in the columns so far
    used = 0
    for c in order:
        cmp = _neighbour_equal(usable[c])
        if cmp is None:
            break
        eq, ge = cmp
        # sorted by the columns so far and this one: where the earlier columns tie, this
        # column must not decrease
        if not (~same | ge).all():
            break
        same = same & eq
        used += 1
    if used == 0:
        return None
    pair = np.r_[False, same]
    return pd.Series(pair | np.r_[same, False], index=usable.index)


def _fingerprint(frame: pd.DataFrame) -> np.ndarray:
    """One unsigned integer per row; rows equal in every column get equal fingerprints."""
    fp = np.zeros(len(frame), dtype="uint64")
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_object_dtype(col):  # mixed cells compare as text (see _duplicates)
            col = col.astype("string")
        codes, _ = pd.factorize(col, use_na_sentinel=True)
        fp = fp * np.uint64(1_000_003) + codes.astype("uint64")
    return fp


def _contact_key(work: pd.DataFrame, source: dict | None = None) -> pd.Series:
    source = source or {}
    key = pd.Series(pd.NA, index=work.index, dtype="string")
    contact = source.get("contact")
    emails = [work["email"]] if "email" in work.columns else []
    phones = [work["phone"]] if "phone" in work.columns else []
    if contact is not None:
        is_mail = contact.str.contains("@", regex=False).fillna(False).astype(bool)
        emails.append(contact.where(is_mail))
        phones.append(contact.where(~is_mail))
    for e in emails:
        email = e.astype("string").str.casefold().str.strip()
        key = key.fillna(email.where(email.str.contains("@", regex=False)))
    for ph in phones:
        digits = ph.astype("string").str.replace(r"\D", "", regex=True)
        national = digits.str[-10:]  # "+86 139..." and "139..." are one number
        key = ("tel:" + national.where(digits.str.len() >= 7)).fillna(key)
    company = source.get("company")
    if company is not None:
        name = company.str.casefold().str.replace(r"\s+", "", regex=True)
        key = (name + "|" + key).where(name.notna(), key)
    return key


def _merge_contacts(
    work: pd.DataFrame, usable: pd.Series, issues: Issues, source: dict | None = None
) -> pd.Series:
    """Leads of one customer (same phone, else same e-mail; with the company when the file
    has one) merge into their first lead."""
    merged = pd.Series(False, index=work.index)
    key = _contact_key(work, source)[usable].dropna()
    if key.empty or not key.duplicated().any():
        return merged
    d = work.loc[key.index, ["lead_id", "created_at", "channel"]].assign(_key=key)
    d = d.sort_values(["_key", "created_at"], kind="mergesort", na_position="last")
    first = d.groupby("_key", sort=False).head(1)
    rest = d[~d.index.isin(first.index)]
    multi = d[d["_key"].isin(rest["_key"])]
    channels = multi.groupby("_key", sort=False)["channel"].agg(
        lambda s: "|".join(dict.fromkeys(s.dropna().astype(str)))
    )
    ids = rest.groupby("_key", sort=False)["lead_id"].agg(lambda s: "|".join(s.astype(str)))
    work["channels"] = work["channel"].astype("string")
    work["merged_lead_ids"] = pd.Series(pd.NA, index=work.index, dtype="string")
    heads = first[first["_key"].isin(rest["_key"])]
    work.loc[heads.index, "channels"] = heads["_key"].map(channels).to_numpy()
    work.loc[heads.index, "merged_lead_ids"] = heads["_key"].map(ids).to_numpy()
    into = rest["_key"].map(first.set_index("_key")["lead_id"])
    for row, target in into.items():
        issues.add(
            [row],
            "lead_id",
            [work.at[row, "lead_id"]],
            "same_contact",
            "merged",
            f"merged into lead {target}",
        )
    merged[rest.index] = True
    return merged


def _mask(frame: pd.DataFrame, columns: list[str]) -> None:
    for c in columns:
        if c in frame.columns and pii.column_kind(c) == "name":
            frame[c] = pii.mask_name(frame[c]).astype("string")
        elif c in frame.columns:
            is_email = (
                frame[c].astype("string").str.contains("@", regex=False).fillna(False).astype(bool)
            )
            frame[c] = (
                V.mask_phone(frame[c]).where(~is_email, V.mask_email(frame[c])).astype("string")
            )


def _contract_check(table: str, data: pd.DataFrame, issues: Issues) -> pd.Index | None:
    """pandera, lazily: the rows failing the contract (a safety net behind the parsers)."""
    import pandera.errors

    try:
        pandera_schema(table).validate(data, lazy=True)
        return None
    except pandera.errors.SchemaErrors as err:
        fc = err.failure_cases.dropna(subset=["index"])
        for _, f in fc.iterrows():
            issues.add(
                [int(f["index"])],
                str(f["column"]),
                [f["failure_case"]],
                "contract",
                "rejected",
                str(f["check"]),
            )
        return pd.Index(fc["index"].astype(int).unique())


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
        is_open = (work["status"] == "open").fillna(False).astype(bool)
        open_with_close = is_open & work["closed_at"].notna()
        issues.add(
            work.index[open_with_close],
            "closed_at",
            work.loc[open_with_close, "closed_at"],
            "open_with_close_date",
            "flagged",
        )
        if "engaged_at" in work.columns:
            early = (work["closed_at"] < work["engaged_at"]).fillna(False).astype(bool)
            issues.add(
                work.index[early],
                "closed_at",
                work.loc[early, "closed_at"],
                "close_before_engagement",
                "flagged",
            )
    elif closed.any():
        issues.add_table_note("closed_at", "closed_without_date", "no close date column")
    if "amount" in work.columns and "close_amount" in work.columns:
        won = (work["status"] == "won").fillna(False).astype(bool)
        no_amount = won & work["close_amount"].isna() & work["amount"].isna()
        issues.add(work.index[no_amount], "close_amount", None, "won_without_amount", "flagged")


# ---------------------------------------------------------------- per-cell safety, segments, PII
#: Category columns that are segments (blank -> "(unknown)"); owner and currency are not.
_NOT_SEGMENTS = ("owner", "currency")
_COMPANY_HEADERS = (
    "company",
    "company name",
    "account name",
    "企业名称",
    "企業名稱",
    "公司名称",
    "公司名稱",
    "客户名称",
    "客戶名稱",
)


def _strip_invisible(raw: pd.DataFrame, issues: Issues) -> pd.DataFrame:
    """Control and zero-width characters removed from headers and text cells, counted."""
    out = raw
    names = [V.strip_invisible(pd.Series([str(c)]))[0].iloc[0] for c in raw.columns]
    if names != [str(c) for c in raw.columns] and any(
        n != c for n, c in zip(names, raw.columns) if isinstance(c, str)
    ):
        out = raw.copy()
        out.columns = [n if isinstance(c, str) else c for n, c in zip(names, raw.columns)]
        issues.add_table_note(
            "*", "invisible_characters", "invisible characters removed from headers"
        )
    for i, c in enumerate(list(out.columns)):
        cleaned, hit = V.strip_invisible(out.iloc[:, i])
        if hit.any():
            if out is raw:
                out = raw.copy()
            out.isetitem(i, cleaned)
            issues.add(
                out.index[hit],
                str(c),
                None,
                "invisible_characters",
                "fixed",
                "control or zero-width characters removed",
            )
    return out


def _check_duplicate_headers(raw: pd.DataFrame, table: str) -> None:
    cols = [str(c) for c in raw.columns]
    seen: dict[str, int] = {}
    for i, c in enumerate(cols):
        if c in seen:
            raise DataContractError(
                pii.mask_message(
                    f"{table}: duplicate header {c!r} (columns {seen[c] + 1} and {i + 1}); "
                    "rename or remove one of them"
                )
            )
        seen[c] = i


def _check_mapped_twice(raw: pd.DataFrame, mapping: dict, spec: TableSpec, table: str) -> list[str]:
    """Two source columns naming one canonical column.

    The same header twice (after normalising case, script and suffixes: ``金额`` and
    ``金額``, ``Amount`` and ``amount``) is an error naming both; two different headers that
    are both aliases (X Education's ``Prospect ID`` and ``Lead Number``) keep the first as the
    column and the other as an extra column, with a note returned for the quality report.
    """
    by_target = {canon: src for src, canon in mapping.items()}
    notes = []
    for col in raw.columns:
        if col in mapping:
            continue
        _, alone, _ = map_headers(raw[[col]].iloc[:0], spec)
        target = alone.get(col)
        if target is None or target not in by_target:
            continue
        first = by_target[target]
        if header_key(first).base == header_key(col).base:
            raise DataContractError(
                pii.mask_message(
                    f"{table}: columns {first!r} and {col!r} both name "
                    f"{target!r}; keep one, or map the other to a different name"
                )
            )
        notes.append(f"{col!r} also names {target!r}: {first!r} used, {col!r} kept as is")
    return notes


def _reject_malformed(
    malformed: dict, index: pd.Index, issues: Issues, rej: _Rejections
) -> pd.Series | None:
    """Rows the reader found with too few or too many fields: their reason, by row."""
    reasons = pd.Series(
        {int(r): str(why) for r, why in malformed.items() if int(r) in index}, dtype="object"
    ).sort_index()
    if reasons.empty:
        return None
    for why in sorted(set(reasons)):
        hit = reasons.index[reasons == why]
        rule = "truncated_row" if why.startswith("truncated") else "too_many_fields"
        issues.add(hit, "*", None, rule, "rejected", why)
        rej.add(pd.Series(index.isin(hit), index=index), why)
    return reasons


def _is_win(work: pd.DataFrame, cfg: StageConfig, table: str) -> pd.Series:
    if table in ("opportunities", "stage_history") and "stage" in work.columns:
        return (work["stage"] == cfg.won).fillna(False).astype(bool)
    if table == "leads" and "converted" in work.columns:
        return work["converted"].fillna(False).astype(bool)
    if table == "orders":
        return pd.Series(True, index=work.index)
    return pd.Series(False, index=work.index)


def _unknown_segments(work, present, required, unknown, cfg, table, issues, rej) -> None:
    """Blank segments kept as "(unknown)" (or rejected when required and asked, never a win)."""
    win = None
    for col in present:
        if col.kind != "category" or col.name in _NOT_SEGMENTS:
            continue
        blank = work[col.name].isna()
        if not blank.any():
            continue
        if unknown == "reject" and col.name in required:
            if win is None:
                win = _is_win(work, cfg, table)
            drop = blank & ~win
            issues.add(
                work.index[drop], col.name, None, "unknown_segment", "rejected", "blank or unknown"
            )
            rej.add(drop & ~rej.mask, f"{col.name} missing")
            blank = blank & win
        if blank.any():
            issues.add(
                work.index[blank],
                col.name,
                None,
                "unknown_segment",
                "kept_unknown",
                f"blank or unknown: kept as {V.UNKNOWN!r}",
            )
            work[col.name] = work[col.name].astype("string").mask(blank, V.UNKNOWN)


def _contact_source(work: pd.DataFrame, extra_cols: list) -> dict[str, pd.Series]:
    """Unmasked contact detail and company name of each row, for merging leads."""
    out: dict[str, pd.Series] = {}
    for c in extra_cols:
        if "contact" not in out and pii.column_kind(c) == "contact":
            out["contact"] = work[c].astype("string")
        if "company" not in out and pii._header(c) in _COMPANY_HEADERS:
            out["company"] = work[c].astype("string")
    if "account_name" in work.columns:
        out.setdefault("company", work["account_name"].astype("string"))
    return out


def _mask_extras(work: pd.DataFrame, extra_cols: list, issues: Issues | None = None) -> None:
    masked = pii.mask_frame(work[extra_cols])
    for c in extra_cols:
        if not masked[c].equals(work[c]):
            if issues is not None and pii.column_kind(c) is None:  # free text, not a contact
                _note_masked(work[c], masked[c], c, issues)
            work[c] = masked[c]


def _note_masked(before: pd.Series, after: pd.Series, column: str, issues: Issues) -> None:
    """A free-text column that held phone numbers or e-mails: say how many cells were masked."""
    changed = int((before.astype("string") != after.astype("string")).fillna(False).sum())
    if changed:
        issues.add_table_note(
            column,
            "personal_data_masked",
            f"{changed} cell(s) held a phone number or e-mail address, masked",
        )


def mask_quality(quality: pd.DataFrame) -> pd.DataFrame:
    """The quality report with phones and e-mails masked in ``value`` and ``detail``."""
    out = quality.copy()
    for c in ("value", "detail"):
        out[c] = pii.mask_text(out[c]).astype("string")
    return out
