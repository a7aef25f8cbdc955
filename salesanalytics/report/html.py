"""Tables as a manager reads them: no index, labels, separators, percentages, p-values."""

from __future__ import annotations

import html as _html

import pandas as pd

from .labels import _check, is_percent_column, label_columns

__all__ = ["show", "Table", "format_frame"]

_P_VALUES = ("p_value", "p_adjusted", "p_raw", "pvalue")
_AMOUNTS = ("amount", "spend", "cost", "target", "booked", "forecast", "expected", "revenue")
_YES_NO = {"en": ("yes", "no"), "zh": ("是", "否"), "zh_hant": ("是", "否")}


def _fmt_p(v: float) -> str:
    if v != v:
        return ""
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _column_formatter(name: str, s: pd.Series, lang: str):
    n = str(name)
    if pd.api.types.is_bool_dtype(s):
        yes, no = _YES_NO[lang]
        return lambda v: "" if v is pd.NA or v is None else (yes if v else no)
    if pd.api.types.is_datetime64_any_dtype(s):
        return lambda v: "" if pd.isna(v) else v.strftime("%Y-%m-%d")
    if not pd.api.types.is_numeric_dtype(s):
        return lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)
    if any(w in n for w in _P_VALUES) or n in ("p", "p_adj"):
        return _fmt_p
    if pd.api.types.is_integer_dtype(s):
        return lambda v: "" if pd.isna(v) else f"{int(v):,}"
    if is_percent_column(n):
        return lambda v: "" if pd.isna(v) else f"{v:.1%}"
    if any(w in n for w in _AMOUNTS):
        return lambda v: "" if pd.isna(v) else f"{v:,.0f}"
    return lambda v: "" if pd.isna(v) else (f"{v:.3f}" if abs(v) < 1 else f"{v:,.1f}")


def format_frame(df: pd.DataFrame, lang: str = "en", *, stages=None) -> pd.DataFrame:
    """A frame of display strings: labels in ``lang``, thousands separators, percentages.

    Proportions (conversion, rates, shares, compliance) become ``12.3%``; p-values below
    0.001 become ``< 0.001``; amounts get thousands separators; dates ``YYYY-MM-DD``.

    Examples
    --------
    >>> f = format_frame(pd.DataFrame({"stage": ["won"], "leads": [1234], "p_value": [1e-5]}))
    >>> f.iloc[0].tolist()
    ['Won', '1,234', '< 0.001']
    """
    _check(lang)
    d = df.reset_index(drop=True) if not isinstance(df.index, pd.RangeIndex) else df
    out = pd.DataFrame(index=d.index)
    for c in d.columns:
        fmt = _column_formatter(c, d[c], lang)
        out[c] = [fmt(v) for v in d[c].tolist()]
    out = label_columns(out, lang, stages=stages)
    return out


class Table:
    """A formatted table: renders as HTML in notebooks and as plain text elsewhere.

    ``data`` holds the display strings; ``source`` the frame it came from.
    """

    def __init__(self, data: pd.DataFrame, source: pd.DataFrame, note: str, name: str):
        self.data = data
        self.source = source
        self.note = note
        self.name = name
        self._shown = False

    def _ipython_display_(self) -> None:
        """Publish once: :func:`show` displays at once (inside ``if`` blocks too), so the
        same table returned as a cell's last expression is not shown twice."""
        if self._shown:
            return
        self._shown = True
        from IPython.display import publish_display_data

        publish_display_data({"text/plain": repr(self), "text/html": self._repr_html_()})

    def to_html(self) -> str:
        right = [
            c
            for c, s in zip(self.data.columns, self.source.columns)
            if pd.api.types.is_numeric_dtype(self.source[s])
            and not pd.api.types.is_bool_dtype(self.source[s])
        ]
        head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in self.data.columns)
        rows = []
        for r in self.data.itertuples(index=False):
            cells = "".join(
                f'<td class="num">{_html.escape(v)}</td>'
                if c in right
                else f"<td>{_html.escape(v)}</td>"
                for c, v in zip(self.data.columns, r)
            )
            rows.append(f"<tr>{cells}</tr>")
        note = f'<p class="sa-note">{self.note}</p>' if self.note else ""
        return (
            '<table class="sa-table"><thead><tr>'
            + head
            + "</tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
            + note
        )

    def _repr_html_(self) -> str:
        style = (
            "<style>.sa-table{border-collapse:collapse;font-size:0.9em}"
            ".sa-table th{text-align:left;border-bottom:1px solid #999;padding:2px 8px}"
            ".sa-table td{padding:2px 8px}.sa-table td.num{text-align:right}"
            ".sa-note{font-size:0.85em;color:#555}</style>"
        )
        return style + self.to_html()

    def __repr__(self) -> str:
        text = self.data.to_string(index=False) if len(self.data) else "(no rows)"
        return text + (f"\n{_strip_tags(self.note)}" if self.note else "")


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", text)


def show(
    df: pd.DataFrame,
    lang: str = "en",
    *,
    stages=None,
    max_rows: int = 30,
    name: str | None = None,
    empty: str | None = None,
) -> Table:
    """Display a result table the way a manager reads it.

    No index column, column labels and stage names in ``lang`` (``"en"``, ``"zh"``,
    ``"zh_hant"``), thousands separators, percentages, p-values as ``< 0.001``. A table
    longer than ``max_rows`` is cut, with a link to the full CSV ``tables/<name>.csv``
    (where :func:`save_table` writes it). In a notebook the table is displayed at once,
    also inside an ``if`` block, and only once.

    Parameters
    ----------
    empty
        Text shown instead of an empty table.

    Examples
    --------
    >>> t = show(pd.DataFrame({"stage": ["prospect"], "conversion": [0.25]}))
    >>> print(t)
       Stage Conversion
    Prospect      25.0%
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"show() takes a DataFrame, got {type(df).__name__}")
    src = df.reset_index() if _meaningful_index(df) else df.reset_index(drop=True)
    n = len(src)
    note = ""
    if n == 0 and empty:
        note = _html.escape(empty)
    if n > max_rows:
        src_cut = src.head(max_rows)
        link = (
            f' <a href="tables/{_html.escape(name)}.csv">full table: {_html.escape(name)}.csv</a>'
            if name
            else ""
        )
        shown = "shown" if lang == "en" else "显示"
        note = f"{max_rows:,} of {n:,} rows {shown}.{link}"
    else:
        src_cut = src
    table = Table(format_frame(src_cut, lang, stages=stages), src_cut, note, name or "")
    if _in_kernel():  # displayed now: a notebook section guarded by ``if`` shows it too
        table._ipython_display_()
    return table


def _in_kernel() -> bool:
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _meaningful_index(df: pd.DataFrame) -> bool:
    """A named index (a segment left there by groupby) is data; an unnamed one is not."""
    names = [n for n in df.index.names if n is not None]
    return bool(names) and not any(n in df.columns for n in names)
