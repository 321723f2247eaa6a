"""Engine-side daily KPI series and A/B outcomes (SPEC §4.5), written as Ibis expressions.

The heavy part (grouping users, referrals, orders and events by local calendar day and
channel) runs in the engine, so it is the same code on DuckDB, Spark or any Ibis backend; only
the small daily frame comes back to pandas, where missing days are filled with zeros and the
rolling K-factor is derived.

Metrics (``metric`` column of :func:`kpi_series`), each per local calendar day:

- ``new_users``      users by ``signup_at``;
- ``invitees``       accepted referrals by ``invited_at``;
- ``k_factor``       rolling K-factor: invitees / new users over the trailing ``k_window`` days
  (an operational proxy of the viral coefficient; the cohort K-factor with right-censoring is
  ``growthlab.referral.k_factor``);
- ``conversions``    paid orders by ``ts``;
- ``revenue``        sum of paid order amounts by ``ts``;
- ``unsubscribes``   ``unsubscribe`` events; ``complaints`` ``complaint`` events.

``segment`` is ``"all"`` plus one value per channel: the acquisition channel (``users.channel``)
of the user concerned — the new user, the inviter (for invitees and K), the buyer — and, for
the event metrics, the channel the event happened on. Missing channels count as ``"unknown"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from growthlab.data.features import paid_orders
from growthlab.data.localtime import data_span, local_day, to_local
from growthlab.errors import AnalysisInputError, require_columns

ALL = "all"
UNKNOWN = "unknown"
METRICS = (
    "new_users",
    "invitees",
    "k_factor",
    "conversions",
    "revenue",
    "unsubscribes",
    "complaints",
)
# Display names of the metrics are in growthlab.i18n (kpi.<metric>); which of them are
# alerted on, and which channel series are monitored, is growthlab.monitor's choice
# (ALERT_METRICS, select_segments); whether a rise is good news is the metric catalogue's
# ``better`` (growthlab.metrics, <metric>_recent).
#: Event names (SPEC §3 canonical vocabulary) counted by the event metrics.
EVENT_METRICS = {"unsubscribes": "unsubscribe", "complaints": "complaint"}


#: (time zone, start, end) of :func:`growthlab.data.localtime.local_day`
_Days = tuple[str | None, Any, Any]


def _channel(col: ir.Value) -> ir.StringValue:
    return col.cast("string").fill_null(UNKNOWN)


def _count_by_day(
    t: ir.Table, metric: str, ts: str, channel: str | None, days: _Days, value: ir.Value | None
) -> ir.Table:
    """Long rows metric, date, segment, value for one table (per channel and overall)."""
    day = local_day(t[ts], *days)
    seg = _channel(t[channel]) if channel is not None else ibis.literal(UNKNOWN)
    v = value if value is not None else ibis.literal(1.0)
    base = t.select(date=day, segment=seg, _v=v.cast("float64"))
    per = base.group_by(["date", "segment"]).aggregate(value=base._v.sum())
    tot = base.group_by("date").aggregate(value=base._v.sum()).mutate(segment=ibis.literal(ALL))
    out = per.union(tot.select("date", "segment", "value"))
    return out.mutate(metric=ibis.literal(metric)).select("metric", "date", "segment", "value")


def kpi_expr(
    tables: Mapping[str, ir.Table],
    timezone: str | None = None,
    span: tuple[Any, Any] | None = None,
    *,
    by_channel: bool = True,
) -> ir.Table:
    """Ibis expression of the daily counts: metric, date, segment, value (non-zero days only).

    ``tables`` maps contract names to Ibis tables (``users`` required; ``referrals``,
    ``orders``, ``events`` used when present). Days are local calendar days in ``timezone``
    (None: UTC days), each row shifted by the offset in force at its own instant
    (:func:`growthlab.data.localtime.local_day`; ``span`` = the range of the data, default
    :func:`growthlab.data.localtime.data_span`'s). ``k_factor`` is not included (it is derived
    from the filled series by :func:`kpi_series`).
    """
    days: _Days = (timezone, *(span or data_span(None)))
    if "users" not in tables:
        raise AnalysisInputError("users: table required for the daily KPI series but absent")
    users = tables["users"]
    require_columns(users, name="users", columns=("user_id", "signup_at"))
    has_ch = by_channel and "channel" in users.columns
    ucol = "channel" if has_ch else None
    parts = [_count_by_day(users, "new_users", "signup_at", ucol, days, None)]
    uch = (
        users.select(_uid=users.user_id.cast("string"), _uch=_channel(users.channel))
        if has_ch
        else None
    )

    if "referrals" in tables:
        ref = tables["referrals"]
        require_columns(ref, name="referrals", columns=("inviter_id", "invitee_id", "invited_at"))
        ref = ref.select(_inviter=ref.inviter_id.cast("string"), invited_at=ref.invited_at)
        if uch is not None:
            ref = ref.left_join(uch, ref._inviter == uch._uid)
        parts.append(
            _count_by_day(ref, "invitees", "invited_at", "_uch" if has_ch else None, days, None)
        )
    if "orders" in tables:
        od = tables["orders"]
        od = paid_orders(od)
        od = od.select(_buyer=od.user_id.cast("string"), ts=od.ts, amount=od.amount.cast("float64"))
        if uch is not None:
            od = od.left_join(uch, od._buyer == uch._uid)
        seg = "_uch" if has_ch else None
        parts.append(_count_by_day(od, "conversions", "ts", seg, days, None))
        parts.append(_count_by_day(od, "revenue", "ts", seg, days, od.amount))
    if "events" in tables:
        ev = tables["events"]
        require_columns(ev, name="events", columns=("user_id", "ts", "channel", "event"))
        for metric, name in EVENT_METRICS.items():
            sub = ev.filter(ev.event == name)
            parts.append(
                _count_by_day(sub, metric, "ts", "channel" if by_channel else None, days, None)
            )
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    if not by_channel:
        out = out.filter(out.segment == ALL)
    return out


def complete_series(
    counts: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    metrics: Sequence[str],
    *,
    k_window: int = 28,
) -> pd.DataFrame:
    """Fill every metric x segment with all days of [start, end] (missing -> 0) and add K.

    ``counts`` has metric, date, segment, value (days with activity). Every metric gets the
    ``all`` segment even with no activity at all. The rolling K-factor per segment is
    K_t = Σ_{s=t-k_window+1..t} invitees_s / Σ_{same days} new_users_s (NaN with no new users).
    """
    days = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")
    c = counts.copy()
    c["date"] = pd.to_datetime(c["date"]).astype("datetime64[ns]")
    c = c.loc[(c["date"] >= days[0]) & (c["date"] <= days[-1])] if len(days) else c.iloc[:0]
    base = [m for m in metrics if m != "k_factor"]
    segs = c[["metric", "segment"]].drop_duplicates()
    segs = pd.concat([segs, pd.DataFrame({"metric": base, "segment": ALL})]).drop_duplicates()
    segs = segs.loc[segs["metric"].isin(base)]
    grid = segs.merge(pd.DataFrame({"date": days}), how="cross")
    full = grid.merge(c, on=["metric", "segment", "date"], how="left")
    full["value"] = full["value"].fillna(0.0).astype(float)
    if "k_factor" in metrics and {"invitees", "new_users"} <= set(base):
        w = full.loc[full["metric"].isin(["invitees", "new_users"])]
        wide = w.pivot_table(
            index="date", columns=["metric", "segment"], values="value", aggfunc="sum"
        ).sort_index()
        inv = wide["invitees"] if "invitees" in wide.columns.get_level_values(0) else None
        new = wide["new_users"]
        if inv is not None:
            inv = inv.reindex(columns=new.columns, fill_value=0.0).fillna(0.0)
            num = inv.rolling(k_window, min_periods=1).sum()
            den = new.fillna(0.0).rolling(k_window, min_periods=1).sum()
            k = (num / den.where(den > 0)).stack(future_stack=True).rename("value").reset_index()
            k["metric"] = "k_factor"
            full = pd.concat([full, k[["metric", "segment", "date", "value"]]], ignore_index=True)
    order = {m: i for i, m in enumerate(METRICS)}
    full["_o"] = full["metric"].map(order).fillna(len(order))
    full["_a"] = full["segment"] != ALL
    full = full.sort_values(["_o", "_a", "segment", "date"]).drop(columns=["_o", "_a"])
    return full[["date", "metric", "segment", "value"]].reset_index(drop=True)


def last_complete_day(local: pd.Timestamp) -> pd.Timestamp:
    """The last local day that is complete at the local time ``local`` (a day ending at 23:59
    counts): the last day of the daily KPI series, and so of their alerts. Purchase histories
    count a partial last day (``growthlab.value.last_full_day``)."""
    day = local.normalize()
    return day if local - day >= pd.Timedelta(hours=23, minutes=59) else day - pd.Timedelta(days=1)


def kpi_series(
    ds: Any,
    *,
    by_channel: bool = True,
    k_window: int = 28,
    start: Any = None,
    end: Any = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Daily KPI series of a Dataset: long frame date, metric, segment, value (see module doc).

    Days are local calendar days in ``ds.timezone``. The range runs from the first day with any
    activity (or ``start``) to the last complete day before ``ds.as_of`` (or ``end``), but not
    past the last day with any activity in any table (a trailing gap is data not yet arrived,
    which the data-quality section reports as staleness); days without activity are 0. ``metrics`` restricts the output (default: all of :data:`METRICS`
    whose tables exist). Feed it to ``growthlab.monitor.detect_anomalies`` as
    ``series.rename(columns=...)`` — it already has the date/value/metric/segment columns.
    """
    # reject unknown metrics before running the query
    if metrics is not None:
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise AnalysisInputError(f"metrics: unknown metric(s) {unknown}; known {METRICS}")
    tables = {n: ds.table(n) for n in ("users", "referrals", "orders", "events") if ds.has(n)}
    tz = getattr(ds, "timezone", None) or "Asia/Shanghai"
    as_of = getattr(ds, "as_of", None)
    counts = kpi_expr(tables, tz, data_span(ds), by_channel=by_channel).to_pandas()
    available = ["new_users"]
    if "referrals" in tables:
        available += ["invitees", "k_factor"]
    if "orders" in tables:
        available += ["conversions", "revenue"]
    if "events" in tables:
        available += list(EVENT_METRICS)
    wanted = [m for m in METRICS if m in available and (metrics is None or m in metrics)]
    need = set(wanted) | ({"invitees", "new_users"} if "k_factor" in wanted else set())
    any_last = pd.to_datetime(counts["date"]).max()  # the last day with any activity at all
    counts = counts.loc[counts["metric"].isin(need)]
    dates = pd.to_datetime(counts["date"])
    first = pd.Timestamp(start) if start is not None else dates.min()
    if end is not None:
        last = pd.Timestamp(end)
    elif as_of is not None:
        # a trailing stretch without any activity at all is data not yet arrived (freshness is
        # reported by the data-quality section), not a collapse of every KPI
        last = min(last_complete_day(to_local(as_of, tz)), any_last)
    else:
        last = dates.max()
    if pd.isna(first) or pd.isna(last) or first > last:
        return pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "metric": pd.Series(dtype=object),
                "segment": pd.Series(dtype=object),
                "value": pd.Series(dtype=float),
            }
        )
    full = complete_series(counts, first, last, sorted(need), k_window=k_window)
    return full.loc[full["metric"].isin(wanted)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# A/B outcomes


def ab_outcomes_expr(
    assignments: ir.Table, orders: ir.Table | None, window_days: float | None = 14
) -> ir.Table:
    """Per assigned user: experiment_id, user_id, variant, converted, revenue, orders.

    An outcome is a paid order at or after the assignment (``assigned_at``, when present) and
    before ``assigned_at + window_days`` (``window_days=None``: no end). Without ``assigned_at``
    every paid order of the user counts. Users without such an order get converted = False,
    revenue = 0.
    """
    require_columns(
        assignments, name="assignments", columns=("user_id", "experiment_id", "variant")
    )
    a = assignments.select(
        experiment_id=assignments.experiment_id.cast("string"),
        user_id=assignments.user_id.cast("string"),
        variant=assignments.variant.cast("string"),
        _at=(
            assignments.assigned_at.cast("timestamp")
            if "assigned_at" in assignments.columns
            else ibis.null().cast("timestamp")
        ),
    )
    if orders is None:
        return a.select(
            "experiment_id",
            "user_id",
            "variant",
            converted=ibis.literal(False),
            revenue=ibis.literal(0.0),
            orders=ibis.literal(0).cast("int64"),
        )
    od = paid_orders(orders)
    od = od.select(
        _uid=od.user_id.cast("string"), _ts=od.ts.cast("timestamp"), _amt=od.amount.cast("float64")
    )
    # An equi-join on the user (hash join) with the window as a filter, then one group-by over
    # the assignments (zero rows) and the matched orders (one row each). Putting the window
    # into the outer join's condition made engines fall back to a nested-loop join
    # (assignments x orders: DuckDB's BLOCKWISE_NL_JOIN), quadratic in the data size.
    j = a.join(od, a.user_id == od._uid)
    keep = j._at.isnull() | (j._ts >= j._at)
    if window_days is not None:
        end = j._at + ibis.interval(seconds=int(round(window_days * 86400)))
        keep = keep & (j._at.isnull() | (j._ts < end))
    j = j.filter(keep)
    keys = ["experiment_id", "user_id", "variant"]
    base = a.select(*keys, _n=ibis.literal(0, type="int64"), _amt=ibis.literal(0.0))
    hits = j.select(*keys, _n=ibis.literal(1, type="int64"), _amt=j._amt)
    rows = base.union(hits, distinct=False)
    out = rows.group_by(keys).aggregate(orders=rows._n.sum(), revenue=rows._amt.sum())
    return out.mutate(converted=out.orders > 0, revenue=out.revenue.fill_null(0.0)).select(
        "experiment_id", "user_id", "variant", "converted", "revenue", "orders"
    )


def ab_outcomes(ds: Any, *, window_days: float | None = 14) -> pd.DataFrame:
    """A/B outcomes of a Dataset (see :func:`ab_outcomes_expr`); empty when no assignments."""
    cols = ["experiment_id", "user_id", "variant", "converted", "revenue", "orders"]
    if not ds.has("assignments"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    orders = ds.table("orders") if ds.has("orders") else None
    df = ab_outcomes_expr(ds.table("assignments"), orders, window_days).to_pandas()
    df["converted"] = df["converted"].astype(bool)
    df["revenue"] = df["revenue"].astype(float)
    df["orders"] = df["orders"].astype(np.int64)
    return df.sort_values(["experiment_id", "variant", "user_id"]).reset_index(drop=True)[cols]
