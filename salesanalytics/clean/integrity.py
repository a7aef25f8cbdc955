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

from .._grouping import arrow_chunks, ascending_runs, positions, positions_in
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


def _codes(ids: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each id as an integer code (-1: missing) and the distinct ids in code order.

    Ids already in ascending order (the cleaned history) are coded in one pass, without a
    hash; either way the codes number the ids in order of first appearance.
    """
    runs = ascending_runs(ids)
    if runs is not None:
        codes, starts = runs
        return codes, ids.iloc[starts].reset_index(drop=True)
    codes, uniq = pd.factorize(ids)
    return codes, pd.Series(uniq, dtype=ids.dtype)


def _isin(values: pd.Series, reference: pd.Series) -> pd.Series:
    """``values.isin(reference)`` as text, hashed in pyarrow (fast on long id columns).

    Sorted text ids against a reference without repeats (the usual history against its
    opportunities) are matched once per distinct id, by position when both list the same ids
    in the same order.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if arrow_chunks(values) is not None and arrow_chunks(reference) is not None:
        runs = ascending_runs(values)
        if runs is not None:
            codes, starts = runs
            pos = positions(values.iloc[starts], reference)
            if pos is not None:
                return pd.Series((pos >= 0)[codes], index=values.index)
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
    reference = pd.Series(reference).dropna()
    ref = reference.astype(str)
    known = _isin(values, reference) | values.eq("(unknown)").fillna(False).astype(bool)
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


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values begins in a sorted key array."""
    if len(keys) == 0:
        return np.array([], dtype="int64")
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _run_ends(keys: np.ndarray) -> np.ndarray:
    """Positions where a run of equal values ends in a sorted key array."""
    if len(keys) == 0:
        return np.array([], dtype="int64")
    return np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])


def _stage_codes(stage: pd.Series, cfg: StageConfig) -> tuple[np.ndarray, list[str]]:
    """Each stage as an integer code (-1: missing) and the stage names in code order: the
    config's keys, looked up in one pass, when every stage is one of them (clean data)."""
    if arrow_chunks(stage) is not None:
        codes = positions_in(stage, cfg.keys)
        if ((codes >= 0) | stage.isna().to_numpy(dtype=bool)).all():
            return codes, list(cfg.keys)
    codes, names = pd.factorize(stage)
    return codes.astype(np.int64), [str(n) for n in names]


def chronology_findings(tables: dict[str, pd.DataFrame], cfg: StageConfig) -> list[Finding]:
    """Stage history that does not add up against itself or the opportunities."""
    hist, opps = tables.get("stage_history"), tables.get("opportunities")
    if hist is None:
        return []
    out: list[Finding] = []
    if len(hist) == 0:  # an empty history has no chronology to check
        return out
    # opportunity ids as integer codes shared with the opportunities; the history sorted by
    # (id, entered_at, file position), missing times last, as arrays: runs of one id are
    # contiguous, so per-deal first/last are the ends of the runs
    hist_ids = hist["opportunity_id"].reset_index(drop=True)
    opp_ids = opps["opportunity_id"] if opps is not None else hist_ids.iloc[:0]
    hist_codes, uniq = _codes(hist_ids)
    n_codes = len(uniq) + 2  # slot -2: ids of deals without history; -1: a missing id
    opp_codes = positions(opp_ids, uniq)
    opp_codes = np.where(opp_codes >= 0, opp_codes, n_codes - 2)
    opp_codes[pd.isna(opp_ids).to_numpy(dtype=bool)] = -1
    if n_codes < 2**31:  # half the memory for the per-row codes
        hist_codes = hist_codes.astype(np.int32)
    entered = hist["entered_at"].to_numpy(dtype="datetime64[ns]")
    t = entered.view("int64")
    nat = np.isnat(entered)
    key_t = np.where(nat, np.iinfo("int64").max, t) if nat.any() else t
    rising = hist_codes[1:] >= hist_codes[:-1]
    if (
        rising.all() and ((hist_codes[1:] != hist_codes[:-1]) | (key_t[1:] >= key_t[:-1])).all()
    ):  # already in order (the usual export): no reordered copies
        order = None
        sc, st, snat = hist_codes, t, nat
    else:
        order = np.lexsort((key_t, hist_codes))
        sc, st, snat = hist_codes[order], t[order], nat[order]
    del rising, key_t
    ordered = order is None

    def in_order(a: np.ndarray) -> np.ndarray:
        return a if ordered else a[order]

    def rows_of(mask: np.ndarray) -> np.ndarray:
        """File positions of the (sorted) rows in ``mask``."""
        return np.flatnonzero(mask) if ordered else order[mask]

    stage_codes, stage_names = _stage_codes(hist["stage"].reset_index(drop=True), cfg)
    won_lost = [stage_names.index(k) if k in stage_names else -2 for k in (cfg.won, cfg.lost)]
    won = in_order(stage_codes == won_lost[0])
    terminal = in_order((stage_codes == won_lost[0]) | (stage_codes == won_lost[1]))

    pair = np.r_[False, (sc[1:] == sc[:-1]) & (st[1:] == st[:-1])]
    same = (pair | np.r_[pair[1:], False]) & ~snat
    if same.any():
        out.append(
            Finding(
                "stage_history",
                np.sort(rows_of(same)),
                "entered_at",
                None,
                "simultaneous_entries",
                "flagged",
                "two stages entered at the same moment; order taken from the file",
            )
        )
    # first open-stage entry per deal: the first dated non-terminal row of its run
    open_rows = np.flatnonzero(~terminal & ~snat)
    first = open_rows[_run_starts(sc[open_rows])]
    first_open = np.full(n_codes, np.iinfo("int64").min)
    first_open[sc[first]] = st[first]
    del open_rows, first
    t_first = first_open[sc]
    has_first = t_first != np.iinfo("int64").min
    early_win = won & has_first & ~snat & (st < t_first)
    no_open = won & ~has_first
    del t_first, has_first, terminal
    if early_win.any():
        out.append(
            Finding(
                "stage_history",
                np.sort(rows_of(early_win)),
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
                np.sort(rows_of(no_open)),
                "stage",
                None,
                "won_without_history",
                "flagged",
                "won with no open stage recorded",
            )
        )
    if opps is not None and len(opps):
        # created_at of each id: its first opportunity row
        created_at = opps["created_at"].to_numpy(dtype="datetime64[ns]")
        # each id's first opportunity row: assigned last to first, the first row stays
        first_opp = np.full(n_codes, -1, dtype=np.int64)
        first_opp[opp_codes[::-1]] = np.arange(len(opp_codes) - 1, -1, -1)
        first_opp = first_opp[first_opp >= 0]
        created = np.full(n_codes, np.datetime64("NaT"), dtype="datetime64[ns]")
        created[opp_codes[first_opp]] = created_at[first_opp]
        limit = created[sc] - np.timedelta64(1, "D")
        sentered = in_order(entered)
        before = ~snat & ~np.isnat(limit) & (sentered < limit)
        del limit
        if before.any():
            values = pd.Series(
                sentered[before], index=rows_of(before), name="entered_at"
            ).sort_index()  # in file order, as the rows are listed
            out.append(
                Finding(
                    "stage_history",
                    np.sort(rows_of(before)),
                    "entered_at",
                    values,
                    "entry_before_creation",
                    "flagged",
                    "stage entered more than a day before the opportunity was created",
                )
            )
        del before, sentered
        # the last recorded stage of each deal against the opportunity's current stage
        ssc = in_order(stage_codes.astype(np.int32))
        if (ssc >= 0).all():
            last = _run_ends(sc)
        else:
            staged = np.flatnonzero(ssc >= 0)
            last = staged[_run_ends(sc[staged])]
        last_stage = np.full(n_codes, -1)
        last_stage[sc[last]] = ssc[last]
        cur_code = last_stage[opp_codes]
        opp_stage = positions_in(opps["stage"], stage_names)
        differs_np = (
            (cur_code >= 0) & opps["stage"].notna().to_numpy(dtype=bool) & (opp_stage != cur_code)
        )
        differs = pd.Series(differs_np, index=opps.index)
        if differs.any():
            out.append(
                Finding(
                    "opportunities",
                    np.flatnonzero(differs.to_numpy()),
                    "stage",
                    opps.loc[differs, "stage"],
                    "history_disagrees",
                    "flagged",
                    "last stage in stage_history is "
                    + pd.Series(
                        np.asarray(stage_names, dtype=object)[cur_code[differs_np]],
                        index=opps.index[differs_np],
                        dtype="string",
                    ),
                )
            )
    return out
