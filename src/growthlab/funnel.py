"""Funnels, cohort retention and reach timing (SPEC §4.4). Pure functions on small frames.

The engine-side aggregations live in :mod:`growthlab.data.funnel` (Ibis); the ``*_from_frames``
helpers here run those same expressions on pandas frames through in-memory tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import wilson_interval

# ------------------------------------------------------------------ funnel


def step_times(events: pd.DataFrame, steps: Sequence[str], window_days: float = 7) -> pd.DataFrame:
    """Per-user step times from pandas events (user_id, ts, event); see
    :func:`growthlab.data.funnel.step_times_expr` for the definition (ordered, first entry,
    conversion window measured from the first step)."""
    from growthlab.data import funnel as dfun

    t = dfun.memtables(events=events[[c for c in ("user_id", "ts", "event") if c in events]])
    expr = dfun.step_times_expr(t["events"], steps, window_days)
    return dfun._name_steps(expr.to_pandas(), steps)


def funnel(
    times: pd.DataFrame,
    steps: Sequence[str],
    *,
    by: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Ordered funnel from per-user step times (user_id, one timestamp column per step).

    For step k: users_k = users with a time for step k (the engine already enforced order and
    window); step conversion p_k = users_k / users_{k-1}, overall conversion users_k / users_1,
    each with a Wilson interval (``growthlab.stats.wilson_interval``); drop_off = 1 - p_k;
    median_hours = median of t_k - t_{k-1} in hours over users reaching k. With ``by`` one
    funnel per group (the column must be in ``times``).
    Reference: Wilson (1927); Brown, Cai & DasGupta (2001).
    """
    steps = [str(s) for s in steps]
    missing = [s for s in [*steps, *([by] if by else [])] if s not in times.columns]
    if missing:
        raise AnalysisInputError(f"times: column(s) {missing} missing (one per step)")
    t = times.copy()
    for s in steps:
        t[s] = pd.to_datetime(t[s])
    reached = np.column_stack([t[s].notna().to_numpy() for s in steps])
    # a later step without the earlier ones cannot count (defensive for hand-made inputs)
    reached = np.logical_and.accumulate(reached, axis=1)
    hours = np.full(reached.shape, np.nan)
    for k in range(1, len(steps)):
        dt = (t[steps[k]] - t[steps[k - 1]]).dt.total_seconds().to_numpy() / 3600.0
        hours[:, k] = np.where(reached[:, k], dt, np.nan)
    groups = t[by].astype("string").fillna("(none)").to_numpy() if by else np.zeros(len(t), int)
    rows = []
    for g in pd.unique(groups):
        sel = groups == g
        n = reached[sel].sum(axis=0).astype(float)
        prev = np.concatenate([[n[0]], n[:-1]])
        first = np.full_like(n, n[0])
        s_lo, s_hi = wilson_interval(n, prev, alpha)
        o_lo, o_hi = wilson_interval(n, first, alpha)
        with np.errstate(invalid="ignore", divide="ignore"):
            step_conv = np.where(prev > 0, n / prev, np.nan)
            overall = np.where(first > 0, n / first, np.nan)
        med = [
            float(np.nanmedian(hours[sel, k])) if k and reached[sel, k].any() else np.nan
            for k in range(len(steps))
        ]
        part = pd.DataFrame(
            {
                "step_index": np.arange(len(steps)),
                "step": steps,
                "users": n.astype(int),
                "step_conversion": step_conv,
                "step_low": s_lo,
                "step_high": s_hi,
                "overall_conversion": overall,
                "overall_low": o_lo,
                "overall_high": o_hi,
                "drop_off": 1 - step_conv,
                "median_hours_from_previous": med,
            }
        )
        if by:
            part.insert(0, by, g)
        rows.append(part)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if not by and len(out) == 0:
        raise AnalysisInputError("times: no user reached the first step")
    return out


def largest_drop_off(result: pd.DataFrame) -> dict:
    """The step transition (k-1 -> k, k >= 1) with the largest drop-off 1 - users_k/users_{k-1}.

    ``result`` is one funnel from :func:`funnel` (no ``by``). Returns from_step, to_step,
    drop_off, lost_users (users_{k-1} - users_k).
    """
    r = result.sort_values("step_index").reset_index(drop=True)
    if len(r) < 2 or r["users"].iloc[0] == 0:
        raise AnalysisInputError("result: need a funnel with >= 2 steps and users at step 1")
    d = r["drop_off"].iloc[1:].fillna(-np.inf).to_numpy()
    k = int(np.argmax(d)) + 1
    return {
        "from_step": r["step"].iloc[k - 1],
        "to_step": r["step"].iloc[k],
        "drop_off": float(r["drop_off"].iloc[k]),
        "lost_users": int(r["users"].iloc[k - 1] - r["users"].iloc[k]),
    }


# ------------------------------------------------------------------ retention


def _period_index(start: pd.Series, cohort: pd.Series, period: str) -> np.ndarray:
    s, c = pd.to_datetime(start), pd.to_datetime(cohort)
    if period == "W":
        return ((s - c).dt.days // 7).to_numpy()
    return ((s.dt.year - c.dt.year) * 12 + (s.dt.month - c.dt.month)).to_numpy()


def _check_period(period: str) -> str:
    from growthlab.data.funnel import PERIODS

    if period not in PERIODS:
        raise AnalysisInputError(f"period: must be 'W' or 'M', got {period!r}")
    return PERIODS[period]


def retention_matrix(
    sizes: pd.DataFrame,
    activity: pd.DataFrame,
    period: str = "W",
    as_of: pd.Timestamp | str | None = None,
    max_periods: int | None = None,
) -> pd.DataFrame:
    """Cohort x period retention: share of a cohort's users active in period p after signup.

    R[c, p] = |{u in cohort c : u has an event in period start(c) + p}| / |cohort c|,
    p = 0 the signup period (ISO weeks from Monday, or calendar months). Only complete periods
    are observed: cells whose period ends after ``as_of`` (including the period containing
    ``as_of``) are NaN — right-censoring, not zero — and cohorts without a complete period are
    dropped. ``sizes`` and ``activity`` come from
    :func:`growthlab.data.funnel.cohort_activity_expr` (no ``by``).
    Index: cohort start; columns: 0..P; ``attrs["sizes"]`` holds cohort sizes.
    Reference: standard cohort analysis (e.g. Fader & Hardie, "cohort retention curves").
    """
    period = _check_period(period)
    for col in ("cohort", "users"):
        if col not in sizes.columns:
            raise AnalysisInputError(f"sizes: required column '{col}' missing")
    for col in ("cohort", "period_start", "active_users"):
        if col not in activity.columns:
            raise AnalysisInputError(f"activity: required column '{col}' missing")
    act = activity.copy()
    act["p"] = _period_index(act["period_start"], act["cohort"], period)
    size = sizes.groupby("cohort")["users"].sum().sort_index()
    counts = act.pivot_table(index="cohort", columns="p", values="active_users", aggfunc="sum")
    last = int(act["p"].max()) if len(act) else 0
    if as_of is not None:
        cohorts = pd.Series(size.index, index=size.index)
        stamp = pd.Series(pd.Timestamp(as_of), index=size.index)
        horizon = pd.Series(_period_index(stamp, cohorts, period) - 1, index=size.index)
        keep = horizon >= 0
        size, horizon = size[keep], horizon[keep]
        last = int(horizon.max()) if len(horizon) else -1
    else:
        horizon = pd.Series(last, index=size.index)
    if max_periods is not None:
        last = min(last, int(max_periods))
    cols = np.arange(last + 1)
    counts = counts.reindex(index=size.index, columns=cols).fillna(0.0)
    rate = counts.div(size, axis=0)
    mask = cols[None, :] > horizon.to_numpy()[:, None]
    rate = rate.mask(mask)
    rate.index.name = "cohort"
    rate.columns.name = "period"
    rate.attrs["sizes"] = size.to_dict()
    return rate


def retention_curve(
    sizes: pd.DataFrame,
    activity: pd.DataFrame,
    period: str = "W",
    as_of: pd.Timestamp | str | None = None,
    by: str | None = None,
    max_periods: int | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Pooled retention curve per group: Σ_c active(c, p) / Σ_c size(c) over cohorts that have
    reached period p (censored cohorts excluded from both), with a Wilson interval.

    Columns: [by,] period, users (at risk), active, retention, low, high.
    """
    frames = []
    groups = sizes[by].astype("string").unique() if by else [None]
    for g in groups:
        s = sizes if g is None else sizes[sizes[by].astype("string") == g]
        a = activity if g is None else activity[activity[by].astype("string") == g]
        m = retention_matrix(s, a, period, as_of, max_periods)
        size = pd.Series(m.attrs["sizes"]).reindex(m.index).to_numpy(dtype=float)
        observed = m.notna().to_numpy()
        active = (m.fillna(0).to_numpy() * size[:, None]).round()
        at_risk = (observed * size[:, None]).sum(axis=0)
        act = (active * observed).sum(axis=0)
        lo, hi = wilson_interval(act, at_risk, alpha)
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = np.where(at_risk > 0, act / at_risk, np.nan)
        part = pd.DataFrame(
            {
                "period": m.columns.to_numpy(),
                "users": at_risk.astype(int),
                "active": act.astype(int),
                "retention": ret,
                "low": lo,
                "high": hi,
            }
        )
        if by:
            part.insert(0, by, g)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def cohort_activity(
    users: pd.DataFrame, events: pd.DataFrame, period: str = "W", by: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sizes, activity) from pandas users/events via the engine expression (one definition)."""
    from growthlab.data import funnel as dfun

    ucols = [c for c in ("user_id", "signup_at", by) if c and c in users.columns]
    t = dfun.memtables(users=users[ucols], events=events[["user_id", "ts"]])
    sizes, act = dfun.cohort_activity_expr(t["users"], t["events"], period, by)
    return sizes.to_pandas(), act.to_pandas()


# ------------------------------------------------------------------ reach timing


def weekday_hour(hourly: pd.DataFrame, value: str = "events") -> pd.DataFrame:
    """Weekday (0 = Monday .. 6) x hour-of-day (0..23) totals of ``value``.

    ``hourly`` holds a **local-time** ``hour`` column (convert the engine's UTC hours with
    ``Dataset.local``) and the ``value`` column. Also returns ``attrs["share"]``-free counts;
    the caller normalises if needed. Missing cells are 0.
    """
    for col in ("hour", value):
        if col not in hourly.columns:
            raise AnalysisInputError(f"hourly: required column '{col}' missing")
    h = pd.to_datetime(hourly["hour"])
    grid = (
        pd.DataFrame({"weekday": h.dt.weekday, "hour": h.dt.hour, "v": hourly[value].to_numpy()})
        .pivot_table(index="weekday", columns="hour", values="v", aggfunc="sum")
        .reindex(index=range(7), columns=range(24))
        .fillna(0)
    )
    grid.index.name = "weekday"
    grid.columns.name = "hour"
    return grid


def fatigue_curve(
    counts: pd.DataFrame,
    max_contacts: int = 10,
    alpha: float = 0.05,
    by: str | None = "channel",
) -> pd.DataFrame:
    """Response rate vs contacts per week, per channel (fatigue curve).

    ``counts`` from :func:`growthlab.data.funnel.contact_response_expr`. Contacts above
    ``max_contacts`` are pooled into the last bucket. response_rate = responders / user_weeks
    (share of user-weeks with >= 1 response, Wilson interval); responses_per_contact =
    responses / contacts_sent, contacts_sent = Σ contacts over the bucket's user-weeks.
    ``by=None`` pools all channels before computing the rates (one curve overall).
    """
    require_columns(
        counts,
        ["contacts", "user_weeks", "responders", "responses"] + ([by] if by else []),
        "counts",
        kind=pd.DataFrame,
    )
    c = counts.copy()
    c["bucket"] = np.minimum(c["contacts"].astype(int), int(max_contacts))
    c["contacts_sent"] = c["contacts"] * c["user_weeks"]
    g = c.groupby(([by] if by else []) + ["bucket"], as_index=False)[
        ["user_weeks", "responders", "responses", "contacts_sent"]
    ].sum()
    lo, hi = wilson_interval(g["responders"], g["user_weeks"], alpha)
    g["response_rate"] = g["responders"] / g["user_weeks"]
    g["low"], g["high"] = lo, hi
    g["responses_per_contact"] = g["responses"] / g["contacts_sent"]
    return g.rename(columns={"bucket": "contacts"})
