"""Engine-side aggregations for funnels, retention and reach timing (SPEC §4.4), as Ibis expressions.

Each ``*_expr`` function takes Ibis tables and returns an Ibis expression, so it runs unchanged on
DuckDB, Spark or another backend; the ``Dataset`` wrappers execute it and return small pandas
frames, and :func:`step_times_frame` / :func:`cohort_activity_frames` run the same expressions on
pandas frames through in-memory tables (one definition). The analysis (``growthlab.funnel``)
takes these frames and imports nothing from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from growthlab.data.features import activity_events
from growthlab.data.localtime import Local, in_local, local_of
from growthlab.data.shared import shared_table
from growthlab.errors import AnalysisInputError, require_columns

PERIODS = {"W": "W", "M": "M", "week": "W", "month": "M"}


def _check_steps(steps: Sequence[str]) -> list[str]:
    steps = [str(s) for s in steps]
    if len(steps) < 2:
        raise AnalysisInputError("steps: a funnel needs at least two steps")
    if len(set(steps)) != len(steps):
        raise AnalysisInputError("steps: each event may appear only once in the funnel")
    return steps


def step_times_expr(events: ir.Table, steps: Sequence[str], window_days: float = 7) -> ir.Table:
    """Per user the time each ordered funnel step was reached (null = not reached).

    t_1 = the user's first ``steps[0]`` event; t_k = the first ``steps[k-1]`` event with
    t_{k-1} <= ts <= t_1 + window (so out-of-order events and events after the window do not
    count). Columns: user_id, step_0, step_1, ... (index into ``steps``).
    Reference: the "ordered funnel with conversion window" of product analytics tools
    (e.g. Mixpanel/Amplitude funnels, first-entry variant).
    """
    steps = _check_steps(steps)
    if not window_days > 0:
        raise AnalysisInputError("window_days: must be > 0")
    require_columns(events, name="events", columns=["user_id", "ts", "event"])
    window = ibis.interval(seconds=int(round(window_days * 86400)))
    ev = events.select(
        user_id=events.user_id.cast("string"), ts=events.ts.cast("timestamp"), event=events.event
    )
    ev = ev.filter(ev.ts.notnull() & ev.event.isin(steps))
    first = ev.filter(ev.event == steps[0])
    out = first.group_by("user_id").aggregate(step_0=first.ts.min())
    prev = out.select("user_id", _start=out.step_0, _prev=out.step_0)
    for k, name in enumerate(steps[1:], start=1):
        cand = ev.filter(ev.event == name)
        j = cand.join(prev, cand.user_id == prev.user_id)
        j = j.filter((j.ts >= j._prev) & (j.ts <= j._start + window))
        # _start is one value per user: carried through the group-by (no join back to out)
        reached = j.group_by("user_id").aggregate(
            **{f"step_{k}": j.ts.min()}, _start=j._start.max()
        )
        out = out.left_join(reached.drop("_start"), out.user_id == reached.user_id).drop(
            "user_id_right"
        )
        prev = reached.select("user_id", "_start", _prev=f"step_{k}")
    return out


def _unit(period: str) -> str:
    unit = PERIODS.get(period)
    if unit is None:
        raise AnalysisInputError(f"period: must be 'W' or 'M', got {period!r}")
    return unit


def active_periods_expr(
    events: ir.Table, period: str = "W", local: Local | None = None
) -> ir.Table:
    """Distinct (user_id, period_start): the periods in which each user has an activity event
    (:func:`growthlab.data.features.activity_events`: a delivered message or an opt-out does
    not retain a user).

    Periods are local calendar periods with ``local`` = (time zone, (start, end) of the data),
    else UTC periods; ``period_start`` is the local (or UTC) wall-clock start."""
    unit = _unit(period)
    require_columns(events, name="events", columns=["user_id", "ts"])
    ev = activity_events(events)
    ev = ev.filter(ev.ts.notnull())
    ev = ev.select(
        user_id=ev.user_id.cast("string"), period_start=in_local(ev.ts, local).truncate(unit)
    )
    return ev.distinct()


def cohort_activity_expr(
    users: ir.Table,
    events: ir.Table,
    period: str = "W",
    by: str | None = None,
    *,
    active: ir.Table | None = None,
    local: Local | None = None,
) -> tuple[ir.Table, ir.Table]:
    """Cohort sizes and active users per (cohort, activity period).

    cohort = signup_at truncated to the period (ISO week starting Monday, or calendar month),
    in local wall-clock time with ``local`` = (time zone, span; see :func:`active_periods_expr`);
    a user is active in a period when they have at least one activity event in it
    (:func:`active_periods_expr`). Returns
    (sizes: [by,] cohort, users) and (activity: [by,] cohort, period_start, active_users).
    ``active``: :func:`active_periods_expr` of ``events`` when already at hand (it is the
    expensive part: one pass over the events), built with the same ``period`` and ``local``.
    Compare the periods with an as_of in the same frame (``growthlab.funnel.retention_matrix``:
    ``ds.local(ds.as_of)`` with ``local``, the naive-UTC as_of without).
    """
    unit = _unit(period)
    require_columns(users, name="users", columns=["user_id", "signup_at"] + ([by] if by else []))
    require_columns(events, name="events", columns=["user_id", "ts"])
    keys = [by] if by else []
    u = users.filter(users.signup_at.notnull())
    u = u.select(
        user_id=u.user_id.cast("string"),
        cohort=in_local(u.signup_at, local).truncate(unit),
        **({by: u[by]} if by else {}),
    )
    sizes = u.group_by([*keys, "cohort"]).aggregate(users=u.user_id.nunique())
    ev = active if active is not None else active_periods_expr(events, period, local)
    # (user, period) rows are distinct and so are (user, cohort[, by]) rows, so within a group
    # (by, cohort, period) every row is another user: COUNT(*) = COUNT(DISTINCT user_id)
    j = ev.join(u.distinct(), "user_id")
    j = j.filter(j.period_start >= j.cohort)
    act = j.group_by([*keys, "cohort", "period_start"]).aggregate(active_users=j.count())
    return sizes, act


def hourly_counts_expr(
    events: ir.Table, event_types: Sequence[str] | None = None, local: Local | None = None
) -> ir.Table:
    """Events per hour: hour, events (what the weekday x hour grid sums; distinct users per
    hour, which nothing read, cost three quarters of the query).

    ``hour`` = ts truncated to the hour of local wall-clock time with ``local`` = (time zone,
    span), else of UTC (exact for zones whose offset is not a whole number of hours, e.g.
    Asia/Kolkata, which converting UTC hours afterwards is not). Weekday x hour is derived
    afterwards on this small frame (``growthlab.funnel.weekday_hour``).
    """
    require_columns(events, name="events", columns=["user_id", "ts"])
    ev = events.filter(events.ts.notnull())
    if event_types is not None:
        require_columns(events, name="events", columns=["event"])
        ev = ev.filter(ev.event.isin(list(event_types)))
    ev = ev.mutate(hour=in_local(ev.ts, local).truncate("h"))
    return ev.group_by("hour").aggregate(events=ev.count())


def contact_response_expr(
    events: ir.Table,
    contact_events: Sequence[str] = ("reach",),
    response_events: Sequence[str] = ("click",),
    same_channel: bool = True,
    local: Local | None = None,
) -> ir.Table:
    """Contacts and responses per (user, channel, ISO week), aggregated by contact count.

    Weeks are local weeks with ``local`` = (time zone, span), else UTC weeks.

    Columns: channel, contacts (contacts the user got in that week on that channel),
    user_weeks, responders (user-weeks with >= 1 response), responses (Σ response events).
    A response counts for the contact channel when it is on the same channel
    (``same_channel=True``) or, with ``same_channel=False``, on any channel in the same week
    (for sources whose responses happen in owned channels, e.g. a purchase in the mini program).
    Only user-weeks with at least one contact are counted.
    """
    require_columns(events, name="events", columns=["user_id", "ts", "channel", "event"])
    ev = events.filter(events.ts.notnull() & events.channel.notnull())
    ev = ev.mutate(week=in_local(ev.ts, local).truncate("W"))
    contacts = ev.filter(ev.event.isin(list(contact_events)))
    responses = ev.filter(ev.event.isin(list(response_events)))
    keys = ["user_id", "channel", "week"] if same_channel else ["user_id", "week"]
    uc = contacts.group_by(["user_id", "channel", "week"]).aggregate(contacts=contacts.count())
    ur = responses.group_by(keys).aggregate(responses=responses.count())
    uw = uc.left_join(ur, keys)
    uw = uw.select(
        channel=uw.channel,
        contacts=uw.contacts,
        responses=uw.responses.fill_null(0),
    )
    return uw.group_by(["channel", "contacts"]).aggregate(
        user_weeks=uw.count(),
        responders=(uw.responses > 0).cast("int64").sum(),
        responses=uw.responses.sum(),
    )


# ------------------------------------------------------------------ Dataset wrappers


def _need(ds: Any, *names: str) -> None:
    for name in names:
        if not ds.has(name):
            raise AnalysisInputError(f"{name}: table required but absent")


def step_times(ds: Any, steps: Sequence[str], window_days: float = 7) -> pd.DataFrame:
    """:func:`step_times_expr` on a Dataset's events; columns user_id and one per step name."""
    _need(ds, "events")
    return _name_steps(step_times_expr(ds.table("events"), steps, window_days).to_pandas(), steps)


def cohort_activity(
    ds: Any, period: str = "W", by: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`cohort_activity_expr` on a Dataset (users, events) -> (sizes, activity) frames,
    in the Dataset's local periods (compare with ``ds.local(ds.as_of)``)."""
    _need(ds, "users", "events")
    events = ds.table("events")
    local = local_of(ds)
    # the distinct user-periods are shared by every breakdown asked of this Dataset
    active = shared_table(
        ds, ("active_periods", _unit(period)), lambda: active_periods_expr(events, period, local)
    )
    sizes, act = cohort_activity_expr(
        ds.table("users"), events, period, by, active=active, local=local
    )
    return sizes.to_pandas(), act.to_pandas()


def hourly_counts(ds: Any, event_types: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`hourly_counts_expr` on a Dataset; ``hour`` is in the Dataset's local time."""
    _need(ds, "events")
    return hourly_counts_expr(ds.table("events"), event_types, local_of(ds)).to_pandas()


def contact_response(
    ds: Any,
    contact_events: Sequence[str] = ("reach",),
    response_events: Sequence[str] = ("click",),
    same_channel: bool = True,
) -> pd.DataFrame:
    """:func:`contact_response_expr` on a Dataset's events, in its local weeks."""
    _need(ds, "events")
    expr = contact_response_expr(
        ds.table("events"), contact_events, response_events, same_channel, local_of(ds)
    )
    return expr.to_pandas()


def _name_steps(df: pd.DataFrame, steps: Sequence[str]) -> pd.DataFrame:
    df = df.rename(columns={f"step_{i}": s for i, s in enumerate(steps)})
    cols = ["user_id", *steps]
    for s in steps:
        df[s] = pd.to_datetime(df[s])
    return df[cols].sort_values("user_id").reset_index(drop=True)


def memtables(**frames: pd.DataFrame) -> dict[str, ir.Table]:
    """Register pandas frames in a fresh in-memory DuckDB (ts columns as naive UTC)."""
    con = ibis.duckdb.connect()
    out = {}
    for name, df in frames.items():
        df = df.copy()
        for c in ("ts", "signup_at"):
            if c in df.columns:
                s = pd.to_datetime(df[c])
                if getattr(s.dt, "tz", None) is not None:
                    s = s.dt.tz_convert("UTC").dt.tz_localize(None)
                df[c] = s
        for c in ("user_id", "event", "channel"):
            if c in df.columns:
                df[c] = df[c].astype("string")
        out[name] = con.create_table(name, df)
    return out


def step_times_frame(
    events: pd.DataFrame, steps: Sequence[str], window_days: float = 7
) -> pd.DataFrame:
    """:func:`step_times_expr` on pandas events (user_id, ts, event), in an in-memory engine."""
    t = memtables(events=events[[c for c in ("user_id", "ts", "event") if c in events]])
    return _name_steps(step_times_expr(t["events"], steps, window_days).to_pandas(), steps)


def cohort_activity_frames(
    users: pd.DataFrame, events: pd.DataFrame, period: str = "W", by: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`cohort_activity_expr` on pandas users/events -> (sizes, activity) frames."""
    ucols = [c for c in ("user_id", "signup_at", by) if c and c in users.columns]
    ecols = [c for c in ("user_id", "ts", "event") if c in events.columns]
    t = memtables(users=users[ucols], events=events[ecols])
    sizes, act = cohort_activity_expr(t["users"], t["events"], period, by)
    return sizes.to_pandas(), act.to_pandas()
