"""Forecast windows: the period an ``as_of`` date forecasts, and the history known then."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..funnel._common import as_of_ts as end_of

PERIODS = {"M": "month", "Q": "quarter"}


@dataclass(frozen=True)
class Window:
    """The period forecast on ``as_of``: ``start`` <= booked <= ``stop``; ``as_of`` inside."""

    label: str
    start: pd.Timestamp  # first moment of the period (bookings before as_of are already won)
    as_of: pd.Timestamp  # end of the as_of day
    stop: pd.Timestamp  # last moment of the period

    @property
    def days_left(self) -> float:
        return (self.stop - self.as_of).total_seconds() / 86400


def window(as_of, horizon) -> Window:
    """The period of ``horizon`` (``"M"``, ``"Q"`` or a number of days) forecast on ``as_of``.

    A calendar period is the one holding the day after ``as_of``: on the last day of March
    the month forecast is April's; on March 15 it is March's (with March 1-15 already booked).

    >>> w = window("2025-03-15", "M")
    >>> w.label, str(w.start.date()), round(w.days_left)
    ('2025-03', '2025-03-01', 16)
    >>> window("2025-03-31", "Q").label
    '2025Q2'
    """
    t = end_of(as_of)
    if isinstance(horizon, str):
        if horizon not in PERIODS:
            raise ValueError(f"horizon must be 'M', 'Q' or a number of days, got {horizon!r}")
        p = pd.Period(t.normalize() + pd.Timedelta(days=1), freq=horizon)
        stop = p.end_time.floor("us")
        return Window(str(p), p.start_time, t, stop)
    days = float(horizon)
    if not days > 0:
        raise ValueError(f"horizon in days must be positive, got {horizon!r}")
    return Window(f"{t.date()}+{days:g}d", t, t, t + pd.Timedelta(days=days))
