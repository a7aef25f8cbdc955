"""Collecting data-quality problems as one tidy table."""

from __future__ import annotations

import pandas as pd

__all__ = ["QUALITY_COLUMNS", "Issues"]

QUALITY_COLUMNS = ["table", "row", "column", "value", "rule", "action", "detail"]


class Issues:
    """Accumulates problems: one row per (input row, column, rule).

    ``row`` is the 0-based position in the input frame (in a CSV with a header, file
    line = row + 2). ``action`` is one of ``rejected``, ``set_missing``, ``fixed``,
    ``dropped_duplicate``, ``flagged``, ``column``.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self._parts: list[pd.DataFrame] = []

    def add(self, rows, column: str, values, rule: str, action: str, detail: str = "") -> None:
        rows = pd.Index(rows)
        if len(rows) == 0:
            return
        vals = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
        self._parts.append(
            pd.DataFrame(
                {
                    "table": self.table,
                    "row": pd.array(rows, dtype="Int64"),
                    "column": column,
                    "value": vals.astype("string").to_numpy() if len(vals) == len(rows) else pd.NA,
                    "rule": rule,
                    "action": action,
                    "detail": detail,
                }
            )
        )

    def add_table_note(self, column: str, rule: str, detail: str) -> None:
        self._parts.append(
            pd.DataFrame(
                {
                    "table": [self.table],
                    "row": pd.array([pd.NA], dtype="Int64"),
                    "column": [column],
                    "value": [pd.NA],
                    "rule": [rule],
                    "action": ["column"],
                    "detail": [detail],
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return empty_quality()
        out = pd.concat(self._parts, ignore_index=True)
        out = out.astype({c: "string" for c in QUALITY_COLUMNS if c != "row"})
        return out.sort_values(
            ["row", "column", "rule"], kind="mergesort", na_position="first"
        ).reset_index(drop=True)


def empty_quality() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="Int64" if c == "row" else "string") for c in QUALITY_COLUMNS}
    )
