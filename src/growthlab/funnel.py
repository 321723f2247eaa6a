"""Funnels, cohort retention and reach timing (SPEC §4.4). Pure functions on small frames.

The engine-side aggregations live in :mod:`growthlab.data.funnel` (Ibis): the notebook runs them
on the Dataset and passes the small frames in (``step_times``, ``cohort_activity``,
``hourly_counts``, ``contact_response``; ``step_times_frame``/``cohort_activity_frames`` run the
same expressions on pandas frames). Results are frames with documented columns or frozen
dataclasses; nothing travels in ``DataFrame.attrs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from growthlab.errors import AnalysisInputError, require_columns
from growthlab.stats import wilson_interval

#: Retention period codes: ISO weeks from Monday, or calendar months (and their long names).
PERIODS = {"W": "W", "M": "M", "week": "W", "month": "M"}

# ------------------------------------------------------------------ funnel


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


@dataclass(frozen=True)
class Completion:
    """First step to last step of one funnel (:func:`overall_completion`): ``rate`` = completed /
    started with its Wilson interval ``low``/``high``."""

    first_step: str
    last_step: str
    started: int
    completed: int
    rate: float
    low: float
    high: float


def overall_completion(result: pd.DataFrame) -> Completion:
    """The last step's overall conversion of one :func:`funnel` (no ``by``)."""
    r = result.sort_values("step_index")
    if r.empty:
        raise AnalysisInputError("result: empty funnel")
    first, last = r.iloc[0], r.iloc[-1]
    return Completion(
        first_step=str(first["step"]),
        last_step=str(last["step"]),
        started=int(first["users"]),
        completed=int(last["users"]),
        rate=float(last["overall_conversion"]),
        low=float(last["overall_low"]),
        high=float(last["overall_high"]),
    )


@dataclass(frozen=True)
class DropOff:
    """The step transition that loses the largest share of users (:func:`largest_drop_off`).

    ``drop_off`` = 1 − users_k / users_{k−1} with its 95 % interval ``low``/``high`` (1 − the
    Wilson bounds of the step conversion); ``lost_users`` = users_{k−1} − users_k;
    ``from_users`` = users_{k−1}; ``first_users`` = users at the first step; ``runner_up_low``/
    ``runner_up_high``: interval of the second largest drop-off (nan with a single transition).
    """

    from_step: str
    to_step: str
    drop_off: float
    low: float
    high: float
    lost_users: int
    from_users: int
    first_users: int
    runner_up_low: float = float("nan")
    runner_up_high: float = float("nan")


def largest_drop_off(result: pd.DataFrame) -> DropOff:
    """The step transition (k-1 -> k, k >= 1) with the largest drop-off 1 - users_k/users_{k-1}.

    ``result`` is one funnel from :func:`funnel` (no ``by``); ties go to the earlier step.
    """
    r = result.sort_values("step_index").reset_index(drop=True)
    if len(r) < 2 or r["users"].iloc[0] == 0:
        raise AnalysisInputError("result: need a funnel with >= 2 steps and users at step 1")
    d = r["drop_off"].iloc[1:].fillna(-np.inf).to_numpy()
    order = np.argsort(-d, kind="stable") + 1
    k = int(order[0])
    nxt = int(order[1]) if order.size > 1 else None
    return DropOff(
        from_step=str(r["step"].iloc[k - 1]),
        to_step=str(r["step"].iloc[k]),
        drop_off=float(r["drop_off"].iloc[k]),
        low=float(1 - r["step_high"].iloc[k]),
        high=float(1 - r["step_low"].iloc[k]),
        lost_users=int(r["users"].iloc[k - 1] - r["users"].iloc[k]),
        from_users=int(r["users"].iloc[k - 1]),
        first_users=int(r["users"].iloc[0]),
        runner_up_low=float(1 - r["step_high"].iloc[nxt]) if nxt else float("nan"),
        runner_up_high=float(1 - r["step_low"].iloc[nxt]) if nxt else float("nan"),
    )


def completion_by(
    times: pd.DataFrame,
    users: pd.DataFrame,
    steps: Sequence[str],
    by: str,
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Funnel completion per group of ``users[by]`` (e.g. acquisition channel).

    ``times`` from ``growthlab.data.funnel.step_times``; ``users``: user_id and ``by`` (users
    without a row, or with a missing value, form the group ``(none)``). Per group: started =
    users at the first step, completed = users at the last step, completion = completed /
    started with its Wilson interval ``low``/``high`` (:func:`funnel` with ``by``), and the
    group's weakest step: ``weakest_from`` -> ``weakest_to`` with drop-off ``weakest_drop_off``
    (:func:`largest_drop_off`). Sorted by completion (descending), then group.
    """
    require_columns(users, ["user_id", by], "users", kind=pd.DataFrame)
    steps = [str(s) for s in steps]
    joined = times.merge(users[["user_id", by]], on="user_id", how="left")
    per = funnel(joined, steps, by=by, alpha=alpha)
    rows = []
    for group, g in per.groupby(by, sort=False):
        drop = largest_drop_off(g) if g["users"].iloc[0] > 0 else None
        last = g.sort_values("step_index").iloc[-1]
        rows.append(
            {
                by: group,
                "started": int(g["users"].iloc[0]),
                "completed": int(last["users"]),
                "completion": float(last["overall_conversion"]),
                "low": float(last["overall_low"]),
                "high": float(last["overall_high"]),
                "weakest_from": drop.from_step if drop else None,
                "weakest_to": drop.to_step if drop else None,
                "weakest_drop_off": drop.drop_off if drop else float("nan"),
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values(["completion", by], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


# ------------------------------------------------------------------ retention


def _period_index(start: pd.Series, cohort: pd.Series, period: str) -> np.ndarray:
    s, c = pd.to_datetime(start), pd.to_datetime(cohort)
    if period == "W":
        return ((s - c).dt.days // 7).to_numpy()
    return ((s.dt.year - c.dt.year) * 12 + (s.dt.month - c.dt.month)).to_numpy()


def _check_period(period: str) -> str:
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
    :func:`growthlab.data.funnel.cohort_activity_expr` (no ``by``); ``as_of`` is in the same
    frame as their periods (local periods of ``cohort_activity(ds)``: ``ds.local(ds.as_of)``).
    Index: cohort start; columns: 0..P (cohort sizes: :func:`cohort_sizes`).
    Reference: standard cohort analysis (e.g. Fader & Hardie, "cohort retention curves").
    """
    return _retention(sizes, activity, period, as_of, max_periods)[0]


def cohort_sizes(
    sizes: pd.DataFrame, period: str = "W", as_of: pd.Timestamp | str | None = None
) -> pd.Series:
    """Users per cohort (index cohort start) of the cohorts :func:`retention_matrix` keeps."""
    _check_period(period)
    return _retention(sizes, None, period, as_of, None)[1]


def _retention(
    sizes: pd.DataFrame,
    activity: pd.DataFrame | None,
    period: str,
    as_of: pd.Timestamp | str | None,
    max_periods: int | None,
) -> tuple[pd.DataFrame, pd.Series]:
    """(rate matrix, cohort sizes) of :func:`retention_matrix`."""
    period = _check_period(period)
    if activity is None:
        activity = pd.DataFrame({"cohort": [], "period_start": [], "active_users": []})
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
    size.name = "users"
    return rate, size


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
        m, sizes_kept = _retention(s, a, period, as_of, max_periods)
        size = sizes_kept.reindex(m.index).to_numpy(dtype=float)
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


#: Groups of :func:`acquisition_retention`.
ACQUISITION_GROUPS = ("referral_channel", "other_channels")


def acquisition_retention(
    sizes: pd.DataFrame,
    activity: pd.DataFrame,
    period: str = "W",
    as_of: pd.Timestamp | str | None = None,
    *,
    channel: str = "referral",
    by: str = "channel",
    max_periods: int | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Retention curves of users acquired through ``channel`` against all other channels.

    ``sizes``/``activity`` from ``growthlab.data.funnel.cohort_activity(ds, period, by="channel")``
    (acquisition channel of the user, ``users.channel``). Users whose ``by`` equals ``channel``
    form ``referral_channel``, every other user (missing channel included) ``other_channels``;
    then :func:`retention_curve` with ``by="acquisition"``. This is *acquisition channel*, not
    "has an accepted inviter" (``users.referred``, used by the referral page).
    """
    for name, frame in (("sizes", sizes), ("activity", activity)):
        require_columns(frame, [by], name, kind=pd.DataFrame)

    def group(frame: pd.DataFrame) -> pd.DataFrame:
        is_channel = frame[by].astype("string").fillna("") == channel
        acq = np.where(is_channel.to_numpy(dtype=bool), *ACQUISITION_GROUPS)
        return frame.drop(columns=[by]).assign(acquisition=acq)

    return retention_curve(
        group(sizes),
        group(activity),
        period,
        as_of,
        by="acquisition",
        max_periods=max_periods,
        alpha=alpha,
    )


@dataclass(frozen=True)
class RetentionContrast:
    """Retention of two groups in one period (:func:`retention_contrast`).

    For each group: ``retention`` = active / users at risk in ``period`` with its Wilson
    interval ``low``/``high``; ``users`` at risk (cohorts that reached the period).
    """

    period: int
    group: str
    other: str
    retention: float
    low: float
    high: float
    users: int
    other_retention: float
    other_low: float
    other_high: float
    other_users: int


def retention_contrast(
    curves: pd.DataFrame,
    period: int = 4,
    *,
    by: str = "acquisition",
    groups: tuple[str, str] = ACQUISITION_GROUPS,
) -> RetentionContrast | None:
    """The two ``groups`` of :func:`retention_curve`/:func:`acquisition_retention` output in
    ``period`` (the last observed period when ``period`` is beyond the curves). None when a group
    is missing or has no user at risk there."""
    require_columns(curves, [by, "period", "users", "active", "retention", "low", "high"], "curves")
    observed = curves[curves["users"] > 0]
    if observed.empty:
        return None
    p = int(min(period, observed["period"].max()))
    at = observed[observed["period"] == p].set_index(by)
    if any(g not in at.index for g in groups):
        return None
    a, b = at.loc[groups[0]], at.loc[groups[1]]
    return RetentionContrast(
        period=p,
        group=groups[0],
        other=groups[1],
        retention=float(a["retention"]),
        low=float(a["low"]),
        high=float(a["high"]),
        users=int(a["users"]),
        other_retention=float(b["retention"]),
        other_low=float(b["low"]),
        other_high=float(b["high"]),
        other_users=int(b["users"]),
    )


# ------------------------------------------------------------------ reach timing


def weekday_hour(
    hourly: pd.DataFrame, value: str = "events", timezone: str | None = None
) -> pd.DataFrame:
    """Weekday (0 = Monday .. 6) x hour-of-day (0..23) totals of ``value`` in local time.

    ``hourly`` holds an ``hour`` column and the ``value`` column
    (``growthlab.data.funnel.hourly_counts``). With ``timezone`` the hours are naive UTC and are
    converted to that zone's wall-clock time first; without it they are already local. Missing
    cells are 0.
    """
    for col in ("hour", value):
        if col not in hourly.columns:
            raise AnalysisInputError(f"hourly: required column '{col}' missing")
    h = pd.to_datetime(hourly["hour"])
    if timezone is not None:
        h = h.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
    grid = (
        pd.DataFrame(
            {"weekday": h.dt.day_of_week, "hour": h.dt.hour, "v": hourly[value].to_numpy()}
        )
        .pivot_table(index="weekday", columns="hour", values="v", aggfunc="sum")
        .reindex(index=range(7), columns=range(24))
        .fillna(0)
    )
    grid.index.name = "weekday"
    grid.columns.name = "hour"
    return grid


@dataclass(frozen=True)
class PeakTime:
    """When engagement peaks (:func:`peak_time`).

    ``weekday`` (0 = Monday) and ``hour`` of the busiest cell of the grid; ``busiest_hour`` /
    ``quietest_hour``: hours of day with most / fewest events over the week; ``share`` = events
    in the busiest hour / all events, with its Wilson interval ``low``/``high``; ``events``: total.
    """

    weekday: int
    hour: int
    busiest_hour: int
    quietest_hour: int
    share: float
    low: float
    high: float
    events: float


def peak_time(grid: pd.DataFrame, alpha: float = 0.05) -> PeakTime | None:
    """Peak weekday/hour and busiest hour of a :func:`weekday_hour` grid (None without events)."""
    total = float(grid.to_numpy().sum())
    if total <= 0:
        return None
    weekday, hour = grid.stack().idxmax()
    by_hour = grid.sum(axis=0)
    lo, hi = wilson_interval(float(by_hour.max()), total, alpha)
    return PeakTime(
        weekday=int(weekday),
        hour=int(hour),
        busiest_hour=int(by_hour.idxmax()),
        quietest_hour=int(by_hour.idxmin()),
        share=float(by_hour.max() / total),
        low=float(lo),
        high=float(hi),
        events=total,
    )


def rate_interval(
    events: np.ndarray | float, exposure: np.ndarray | float, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson interval of the rate events / exposure.

    low = χ²(α/2; 2x)/2 / n, high = χ²(1−α/2; 2x+2)/2 / n (low = 0 when x = 0; nan when n = 0).
    Reference: Garwood (1936), Biometrika 28.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(exposure, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, chi2.ppf(alpha / 2, 2 * x) / 2, 0.0) / n
        hi = chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2 / n
    bad = ~(n > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def fatigue_curve(
    counts: pd.DataFrame,
    max_contacts: int = 10,
    alpha: float = 0.05,
    by: str | None = "channel",
    min_user_weeks: int = 0,
) -> pd.DataFrame:
    """Response rate vs contacts per week, per channel (fatigue curve).

    ``counts`` from :func:`growthlab.data.funnel.contact_response_expr`. Contacts above
    ``max_contacts`` are pooled into the last bucket. response_rate = responders / user_weeks
    (share of user-weeks with >= 1 response, Wilson interval ``low``/``high``);
    responses_per_contact = responses / contacts_sent, contacts_sent = Σ contacts over the
    bucket's user-weeks, with an exact Poisson interval ``per_contact_low``/``per_contact_high``
    (:func:`rate_interval`; responses of one user-week are treated as independent).
    ``by=None`` pools all channels before computing the rates (one curve overall). Buckets with
    fewer than ``min_user_weeks`` user-weeks are dropped (after pooling).
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
    g["per_contact_low"], g["per_contact_high"] = rate_interval(
        g["responses"], g["contacts_sent"], alpha
    )
    g = g[g["user_weeks"] >= min_user_weeks].reset_index(drop=True)
    return g.rename(columns={"bucket": "contacts"})


@dataclass(frozen=True)
class FatigueContrast:
    """Responses per contact at the lowest and the highest weekly contact frequency.

    From the pooled :func:`fatigue_curve` (``by=None``): ``low_contacts``/``high_contacts`` are
    its first and last buckets (the last pools ``max_contacts`` and more), ``*_rate`` their
    responses per contact with Poisson intervals; ``curve`` is the pooled curve itself and
    ``by_channel`` the same curve per channel (for the chart).
    """

    low_contacts: int
    high_contacts: int
    low_rate: float
    low_low: float
    low_high: float
    high_rate: float
    high_low: float
    high_high: float
    curve: pd.DataFrame
    by_channel: pd.DataFrame


def fatigue_contrast(
    counts: pd.DataFrame | None,
    max_contacts: int = 10,
    *,
    min_user_weeks: int = 0,
    alpha: float = 0.05,
) -> FatigueContrast | None:
    """Lowest vs highest contact bucket of the pooled :func:`fatigue_curve` of ``counts``
    (``by=None``, same ``max_contacts``/``min_user_weeks``). None when there are no counts
    (``counts`` None or empty) or fewer than two buckets remain."""
    if counts is None or len(counts) == 0:
        return None
    c = fatigue_curve(
        counts, max_contacts, alpha=alpha, by=None, min_user_weeks=min_user_weeks
    ).sort_values("contacts")
    c = c.reset_index(drop=True)
    if len(c) < 2:
        return None
    a, b = c.iloc[0], c.iloc[-1]
    return FatigueContrast(
        low_contacts=int(a["contacts"]),
        high_contacts=int(b["contacts"]),
        low_rate=float(a["responses_per_contact"]),
        low_low=float(a["per_contact_low"]),
        low_high=float(a["per_contact_high"]),
        high_rate=float(b["responses_per_contact"]),
        high_low=float(b["per_contact_low"]),
        high_high=float(b["per_contact_high"]),
        curve=c,
        by_channel=fatigue_curve(
            counts, max_contacts, alpha=alpha, by="channel", min_user_weeks=min_user_weeks
        )
        if "channel" in counts.columns
        else c.assign(channel="all"),
    )
