"""Checks across tables: orphan references, unknown reference values, chronology.

Each check returns a :class:`Finding` list; ``dataset.read_dataset`` applies them (orphan
stage-history rows are rejected, everything else is flagged and kept).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stages import StageConfig

__all__ = ["Finding", "suggest_matches", "reference_findings", "chronology_findings"]


@dataclass
class Finding:
    """Rows (positions in the clean table) of ``table`` breaking ``rule``."""

    table: str
    positions: np.ndarray
    column: str
    values: pd.Series | None
    rule: str
    action: str  # "rejected" or "flagged"
    detail: str | pd.Series = ""


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", str(text).casefold())


def suggest_matches(
    unknown: pd.Series | list, reference: pd.Series | list
) -> dict[str, str | None]:
    """Closest reference value for each unknown value (spacing/case first, then spelling).

    >>> suggest_matches(["GTXPro", "Zeta"], ["GTX Pro", "GTX Basic"])
    {'GTXPro': 'GTX Pro', 'Zeta': None}
    """
    refs = [str(r) for r in pd.Series(reference).dropna().unique()]
    by_key = {}
    for r in refs:
        by_key.setdefault(_key(r), r)
    out: dict[str, str | None] = {}
    for u in pd.Series(unknown).dropna().unique():
        u = str(u)
        hit = by_key.get(_key(u))
        if hit is None:
            close = difflib.get_close_matches(u, refs, n=1, cutoff=0.8)
            hit = close[0] if close else None
        out[u] = hit
    return out


def _isin(values: pd.Series, reference: pd.Series) -> pd.Series:
    """``values.isin(reference)`` as text, hashed in pyarrow (fast on long id columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    v = pa.array(values.astype("string[pyarrow]").array)
    r = pa.array(reference.astype("string[pyarrow]").dropna().unique())
    hit = pc.fill_null(pc.is_in(v, value_set=r), False)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def _unknown_values(
    table: str,
    df: pd.DataFrame,
    column: str,
    reference: pd.Series,
    what: str,
    action: str = "flagged",
) -> list[Finding]:
    if column not in df.columns:
        return []
    values = df[column]
    ref = pd.Series(reference).dropna().astype(str)
    known = _isin(values, pd.concat([ref, pd.Series(["(unknown)"])]))
    unknown = values.notna() & ~known
    if not unknown.any():
        return []
    hints = suggest_matches(values[unknown], ref)
    detail = (
        values[unknown]
        .astype(str)
        .map(lambda v: f"not in {what}" + (f"; did you mean {hints[v]!r}?" if hints.get(v) else ""))
    )
    rule = "orphan_reference" if action == "rejected" else "unknown_reference"
    return [
        Finding(
            table, np.flatnonzero(unknown.to_numpy()), column, values[unknown], rule, action, detail
        )
    ]


def reference_findings(tables: dict[str, pd.DataFrame]) -> list[Finding]:
    """Values that should come from another table but do not."""
    out: list[Finding] = []
    opps = tables.get("opportunities")
    if opps is not None:
        ids = opps["opportunity_id"]
        if "stage_history" in tables:
            out += _unknown_values(
                "stage_history",
                tables["stage_history"],
                "opportunity_id",
                ids,
                "opportunities",
                action="rejected",
            )
        for t in ("activities", "leads"):
            if t in tables:
                out += _unknown_values(t, tables[t], "opportunity_id", ids, "opportunities")
    if "products" in tables:
        for t in ("opportunities", "orders"):
            if t in tables:
                out += _unknown_values(
                    t, tables[t], "product", tables["products"]["product"], "products"
                )
    if "reps" in tables:
        for t in ("opportunities", "leads", "activities", "orders", "targets"):
            if t in tables:
                out += _unknown_values(t, tables[t], "owner", tables["reps"]["owner"], "reps")
    if "accounts" in tables:
        acc = tables["accounts"]
        for t in ("opportunities", "orders", "activities", "leads"):
            if t not in tables:
                continue
            if "account_id" in tables[t].columns:
                out += _unknown_values(t, tables[t], "account_id", acc["account_id"], "accounts")
            elif "account_name" in tables[t].columns:
                names = pd.concat([acc["account_id"], acc.get("name", pd.Series(dtype="string"))])
                out += _unknown_values(t, tables[t], "account_name", names, "accounts")
    return out


def chronology_findings(tables: dict[str, pd.DataFrame], cfg: StageConfig) -> list[Finding]:
    """Stage history that does not add up against itself or the opportunities."""
    hist, opps = tables.get("stage_history"), tables.get("opportunities")
    if hist is None:
        return []
    out: list[Finding] = []
    if len(hist) == 0:  # an empty history has no chronology to check
        return out
    # opportunity ids as integer codes shared with the opportunities: sorting and grouping
    # on them is what it was on the text, only faster
    hist_ids = hist["opportunity_id"].reset_index(drop=True)
    opp_ids = opps["opportunity_id"] if opps is not None else hist_ids.iloc[:0]
    codes, _ = pd.factorize(pd.concat([hist_ids, opp_ids], ignore_index=True))
    h = pd.DataFrame(
        {
            "opportunity_id": codes[: len(hist_ids)],
            "stage": hist["stage"].to_numpy(),
            "entered_at": hist["entered_at"].to_numpy(),
            "_pos": np.arange(len(hist_ids)),
        }
    )
    opp_codes = codes[len(hist_ids) :]
    h = h.sort_values(["opportunity_id", "entered_at", "_pos"], kind="mergesort")
    same = h.duplicated(["opportunity_id", "entered_at"], keep=False) & h["entered_at"].notna()
    if same.any():
        rows = h.loc[same, "_pos"].to_numpy()
        out.append(
            Finding(
                "stage_history",
                np.sort(rows),
                "entered_at",
                None,
                "simultaneous_entries",
                "flagged",
                "two stages entered at the same moment; order taken from the file",
            )
        )
    terminal = h["stage"].isin([cfg.won, cfg.lost])
    first_open = h[~terminal].groupby("opportunity_id")["entered_at"].min()
    t_first = pd.Series(
        first_open.reindex(h["opportunity_id"].to_numpy()).to_numpy(), index=h.index
    )
    early_win = (h["stage"] == cfg.won) & (h["entered_at"] < t_first).fillna(False)
    no_open = (h["stage"] == cfg.won) & t_first.isna()
    if early_win.any():
        out.append(
            Finding(
                "stage_history",
                np.sort(h.loc[early_win, "_pos"].to_numpy()),
                "entered_at",
                None,
                "won_before_first_contact",
                "flagged",
                "won entered before any open stage",
            )
        )
    if no_open.any():
        out.append(
            Finding(
                "stage_history",
                np.sort(h.loc[no_open, "_pos"].to_numpy()),
                "stage",
                None,
                "won_without_history",
                "flagged",
                "won with no open stage recorded",
            )
        )
    if opps is not None and len(opps):
        by_code = pd.Series(opps["created_at"].to_numpy(), index=opp_codes)
        by_code = by_code[~by_code.index.duplicated()]
        created = pd.Series(
            by_code.reindex(h["opportunity_id"].to_numpy()).to_numpy(), index=h.index
        )
        before = (h["entered_at"] < created - pd.Timedelta(days=1)).fillna(False)
        if before.any():
            out.append(
                Finding(
                    "stage_history",
                    np.sort(h.loc[before, "_pos"].to_numpy()),
                    "entered_at",
                    h.loc[before, "entered_at"],
                    "entry_before_creation",
                    "flagged",
                    "stage entered more than a day before the opportunity was created",
                )
            )
        last = h.groupby("opportunity_id")["stage"].last()
        cur = pd.Series(last.reindex(opp_codes).to_numpy(), index=opps.index)
        differs = cur.notna() & (cur != opps["stage"]).fillna(False)
        if differs.any():
            out.append(
                Finding(
                    "opportunities",
                    np.flatnonzero(differs.to_numpy()),
                    "stage",
                    opps.loc[differs, "stage"],
                    "history_disagrees",
                    "flagged",
                    "last stage in stage_history is " + cur[differs].astype(str),
                )
            )
    return out
