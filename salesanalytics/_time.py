"""Time helpers shared by every analysis: ``as_of`` as an instant, periods.

``as_of`` is the only clock of the package: nothing here reads the wall clock.
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd

__all__ = ["FREQS", "as_of_ts", "parse_as_of", "period_freq", "period_label"]

#: Period codes understood everywhere: month, quarter, year.
FREQS = ("M", "Q", "Y")


def as_of_ts(as_of, *frames_and_cols) -> pd.Timestamp:
    """``as_of`` as the last moment it covers: a date means the end of that day.

    When None, the latest timestamp in the data (never the clock): give ``(frame, column)``
    pairs to look in.

    Examples
    --------
    >>> as_of_ts("2026-03-31")
    Timestamp('2026-03-31 23:59:59.999999')
    >>> as_of_ts("2026-03-31 12:00")
    Timestamp('2026-03-31 12:00:00')
    """
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        return (
            ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) if ts == ts.normalize() else ts
        )
    latest = [
        f[c].max() for f, c in frames_and_cols if f is not None and c in f and f[c].notna().any()
    ]
    if not latest:
        raise ValueError("as_of is needed: the data hold no dates")
    return max(latest)


def parse_as_of(as_of) -> pd.Timestamp:
    """Parse an ``as_of`` given by a user: ISO 8601 text, a date/datetime or a Timestamp.

    A bare date means the end of that day (see :func:`as_of_ts`). Anything else (``None``,
    ``"31/12/2025"``, ``"Dec 31"``) is a ValueError: a point in time is never guessed.

    Examples
    --------
    >>> parse_as_of("2025-12-31")
    Timestamp('2025-12-31 23:59:59.999999')
    >>> parse_as_of("31/12/2025")
    Traceback (most recent call last):
    ...
    ValueError: as_of must be an ISO date or datetime (YYYY-MM-DD[ HH:MM[:SS]]), got '31/12/2025'
    """
    if isinstance(as_of, str):
        try:
            value = _dt.datetime.fromisoformat(as_of.strip())
        except ValueError:
            value = None
        if value is None or not as_of.strip()[:4].isdigit():
            raise ValueError(
                f"as_of must be an ISO date or datetime (YYYY-MM-DD[ HH:MM[:SS]]), got {as_of!r}"
            )
        if value.tzinfo is not None:
            raise ValueError(f"as_of must be a local (naive) time like the data, got {as_of!r}")
        return as_of_ts(pd.Timestamp(value))
    if isinstance(as_of, (pd.Timestamp, _dt.datetime, _dt.date)) and not pd.isna(as_of):
        ts = pd.Timestamp(as_of)
        if ts.tzinfo is not None:
            raise ValueError(f"as_of must be a local (naive) time like the data, got {as_of!r}")
        return as_of_ts(ts)
    raise ValueError(f"as_of must be an ISO date or datetime, got {as_of!r}")


def period_freq(period: str) -> str:
    """``"M"``, ``"Q"`` or ``"Y"`` from a period name (``"month"``, ``"q"``, ...).

    >>> period_freq("quarter")
    'Q'
    """
    key = str(period).upper()[:1]
    if key not in FREQS:
        raise ValueError(f"period must be M, Q or Y, got {period!r}")
    return key


def period_label(values: pd.Series, period: str) -> pd.Series:
    """Timestamps as period labels (``"2026-03"``, ``"2026Q1"``, ``"2026"``).

    >>> period_label(pd.Series(pd.to_datetime(["2026-02-03"])), "Q").tolist()
    ['2026Q1']
    """
    return values.dt.to_period(period_freq(period)).astype(str)
