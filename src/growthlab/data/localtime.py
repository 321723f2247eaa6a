"""Local wall-clock time in the engine: one mechanism for the data layer's local days.

Timestamps are held as naive UTC (SPEC §3); pages count by the source's local calendar days
(``Dataset.timezone``). A zone with daylight saving has two UTC offsets a year, so shifting
every row by the offset at one instant (as_of) put an hour of rows into the wrong day for half
of the year. :func:`local_time` shifts each row by the offset in force at its own instant.

- :func:`to_local` — the same in pandas, for small frames and single instants (as_of, the
  newest row);
- :func:`offset_changes` — the offset at the start of a range and each change inside it;
- :func:`local_time` / :func:`local_day` — naive UTC -> local wall-clock time / calendar day,
  as engine expressions (DuckDB, Spark, any Ibis backend);
- :func:`data_span` — the range a Dataset's timestamps cover (the range the two above need);
- :func:`source_zone` / :func:`local_of` / :func:`in_local` / :func:`source_time` — a source's
  zone (a Dataset's ``timezone``; plain tables carry none), with its span; a column in the
  local time of such a (zone, span), or of a source's tables.

Per-user and per-period counts (active days, purchase days, retention weeks and months,
contact weeks, signup weeks) are all in local calendar periods, and the instants they are
compared with (``as_of``) are converted with :func:`to_local` (``Dataset.local``).
"""

from __future__ import annotations

import functools
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from growthlab.errors import AnalysisInputError

__all__ = [
    "to_local",
    "offset_changes",
    "local_time",
    "local_day",
    "data_span",
    "source_zone",
    "local_of",
    "in_local",
    "source_time",
]


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except Exception as exc:  # zoneinfo raises several types for bad keys
        raise AnalysisInputError(f"timezone: unknown time zone {timezone!r}") from exc


def to_local(ts: Any, timezone: str) -> Any:
    """Naive UTC ``ts`` (a Series or one instant) as naive local wall-clock time in
    ``timezone`` (pandas' zone conversion, exact to the second): the Python-side twin of
    :func:`local_time`, for frames that are already small and for single instants."""
    _zone(timezone)
    if isinstance(ts, pd.Series):
        ts = pd.to_datetime(ts)
        return ts.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
    return pd.Timestamp(ts).tz_localize("UTC").tz_convert(timezone).tz_localize(None)


def _seconds(grid: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """The zone's UTC offset in seconds at each naive-UTC instant of ``grid``."""
    local = grid.tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    return ((local - grid) // pd.Timedelta(seconds=1)).to_numpy().astype(np.int64)


def _bisect(timezone: str, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Timestamp:
    """The first second in (lo, hi] whose offset differs from lo's (one change inside)."""
    before = _seconds(pd.DatetimeIndex([lo]), timezone)[0]
    while hi - lo > pd.Timedelta(seconds=1):
        mid = lo + ((hi - lo) // 2).floor("s")
        if _seconds(pd.DatetimeIndex([mid]), timezone)[0] == before:
            lo = mid
        else:
            hi = mid
    return hi


def offset_changes(timezone: str, start: Any, end: Any) -> list[tuple[pd.Timestamp, int]]:
    """``[(instant, seconds), ...]``: the UTC offset of ``timezone`` in force from a day before
    ``start``, then each change (daylight saving, zone history) up to a day after ``end``;
    instants naive UTC, exact to the second (some zones changed at 00:01 local, or had offsets
    such as -0:44:30). Changes are found day by day, then within the day (a 5-minute grid,
    each change bisected to the second), so a range of decades costs a few thousand points.

    >>> offset_changes("America/New_York", "2025-03-01", "2025-03-31")[1]
    (Timestamp('2025-03-09 07:00:00'), -14400)
    """
    _zone(timezone)
    lo = pd.Timestamp(start).floor("D") - pd.Timedelta(days=1)
    hi = pd.Timestamp(end).ceil("D") + pd.Timedelta(days=1)
    return list(_changes(timezone, lo, hi))


@functools.lru_cache(maxsize=64)
def _changes(timezone: str, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple:
    """:func:`offset_changes` between whole days ``lo`` and ``hi`` (asked once per column of a
    page's queries: computed once)."""
    days = pd.date_range(lo, hi, freq="D")
    per_day = _seconds(days, timezone)
    out = [(days[0], int(per_day[0]))]
    for i in np.flatnonzero(per_day[1:] != per_day[:-1]) + 1:
        grid = pd.date_range(days[i - 1], days[i], freq="5min")
        secs = _seconds(grid, timezone)
        for j in np.flatnonzero(secs[1:] != secs[:-1]) + 1:
            at = _bisect(timezone, grid[j - 1], grid[j])
            out.append((at, int(_seconds(pd.DatetimeIndex([at]), timezone)[0])))
    return tuple(out)


def local_time(
    ts: ir.TimestampValue, timezone: str | None, start: Any, end: Any
) -> ir.TimestampValue:
    """Naive UTC ``ts`` as naive local wall-clock time in ``timezone``, computed in the engine.

    ``ts + offset`` where the offset is the zone's UTC offset at that instant: a chain of
    conditions over :func:`offset_changes` between ``start`` and ``end`` (the data's range).
    Equal to ``Dataset.local`` for every instant in that range, on any engine (no engine
    time-zone function, so the engine's session time zone plays no part).
    """
    if not timezone:
        return ts
    changes = offset_changes(timezone, start, end)
    first = changes[0][1]
    out = ts + ibis.interval(seconds=first) if first else ts
    for at, seconds in changes[1:]:
        lit = ibis.literal(at.to_pydatetime(), type="timestamp")
        out = ibis.ifelse(ts >= lit, ts + ibis.interval(seconds=seconds), out)
    return out


def local_day(ts: ir.Value, timezone: str | None, start: Any, end: Any) -> ir.DateValue:
    """The local calendar day of naive UTC ``ts`` in ``timezone`` (:func:`local_time`)."""
    return local_time(ts.cast("timestamp"), timezone, start, end).date()


def data_span(source: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(earliest, latest) naive-UTC instant a Dataset's tables hold (its quality report's
    ``first``/``last``) and its ``as_of``: the range :func:`local_time` needs. A source without
    that report (a dict of tables) gets 1970-01-01 .. now + 1 day."""
    quality = getattr(source, "quality", None)
    tables = getattr(quality, "tables", None)
    stamps = [getattr(source, "as_of", None)]
    if isinstance(tables, pd.DataFrame) and {"first", "last"} <= set(tables.columns):
        stamps += list(pd.to_datetime(tables["first"])) + list(pd.to_datetime(tables["last"]))
    stamps = [pd.Timestamp(s) for s in stamps if s is not None and not pd.isna(s)]
    if len(stamps) < 2:
        now = pd.Timestamp.now("UTC").tz_localize(None)
        return pd.Timestamp("1970-01-01"), now + pd.Timedelta(days=1)
    return min(stamps), max(stamps)


def source_zone(source: Any) -> str | None:
    """The time zone of a Dataset-like ``source`` (its ``timezone``), else None: Ibis tables
    and pandas frames carry no zone (a ``timezone`` column of theirs is data, not the zone)."""
    if isinstance(source, ir.Table | pd.DataFrame):
        return None
    zone = getattr(source, "timezone", None)
    return zone if isinstance(zone, str) and zone else None


#: (time zone, (start, end) of the data): what :func:`local_time` needs for a source's
#: columns (:func:`local_of`); no zone keeps naive UTC
Local = tuple[str | None, tuple[Any, Any] | None]


def local_of(source: Any) -> Local:
    """(time zone, span of the data) of ``source`` (:func:`source_zone`, :func:`data_span`)."""
    return source_zone(source), data_span(source)


def in_local(ts: ir.Value, local: Local | None) -> ir.TimestampValue:
    """Naive UTC ``ts`` as local wall-clock time of ``local`` = (time zone, span)
    (:func:`local_time`); unchanged without a zone (``local`` None or zone None)."""
    zone, span = local or (None, None)
    return local_time(ts.cast("timestamp"), zone, *(span or data_span(None)))


def source_time(source: Any, ts: ir.Value) -> ir.TimestampValue:
    """``ts`` (a naive-UTC column of one of ``source``'s tables) as local wall-clock time in
    the zone of ``source`` (:func:`local_of`); a source without one (Ibis tables) keeps UTC,
    so its periods are UTC periods."""
    return in_local(ts, local_of(source))
