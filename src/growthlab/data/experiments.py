"""Engine-side aggregations of the experiments page (SPEC §4.5), written as Ibis expressions.

Everything the analysis (``growthlab.experiments``) needs comes back as small frames of
**sufficient statistics** — n, Σy, Σy² per experiment, variant and metric, plus Σd, Σd², Σyd for
ratio metrics and Σx, Σx², Σyx of the pre-exposure covariate for CUPED — so no per-user frame
leaves the engine, and the same code runs on DuckDB or Spark:

- :func:`user_metrics_expr` — one row per assigned user: the outcome window's ``converted``,
  ``revenue``, ``orders``, ``unsubscribed``, ``complained`` and the pre-period covariates
  ``pre_converted``, ``pre_revenue``, ``pre_orders``;
- :func:`variant_stats` — the sums per experiment, variant and metric (:data:`METRICS`);
- :func:`experiment_info` — first and last assignment per experiment (running or finished,
  days of traffic);
- :func:`daily_looks` — the cumulative conversion sums at the end of each local day, i.e.
  what an operator looking every day saw (sequential-testing chart).

Outcome window (as ``growthlab.data.daily.ab_outcomes``): paid orders and events at or after
``assigned_at`` and before ``assigned_at + window_days``; without ``assigned_at`` every row of
the user counts and there is no pre-period. Pre-period: ``[assigned_at − pre_days,
assigned_at)``. Orders and events after ``as_of`` are ignored.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from growthlab.data.features import paid_orders
from growthlab.data.localtime import data_span, local_day, to_local
from growthlab.errors import require_columns

#: Per-user columns of :func:`user_metrics_expr`.
USER_COLUMNS = [
    "experiment_id",
    "user_id",
    "variant",
    "assigned_at",
    "converted",
    "revenue",
    "orders",
    "unsubscribed",
    "complained",
    "pre_converted",
    "pre_revenue",
    "pre_orders",
    "has_pre",
]
#: metric -> (column, denominator, covariate): the same names as ``growthlab.experiments.
#: METRICS`` (a test holds them together; the data layer does not import the analysis).
METRICS: dict[str, tuple[str, str | None, str | None]] = {
    "conversion": ("converted", None, "pre_converted"),
    "revenue_per_user": ("revenue", None, "pre_revenue"),
    "revenue_per_order": ("revenue", "orders", None),
    "unsubscribe_rate": ("unsubscribed", None, None),
    "complaint_rate": ("complained", None, None),
}
#: Guardrail events (SPEC §3 canonical vocabulary) -> per-user column.
GUARDRAIL_EVENTS = {"unsubscribe": "unsubscribed", "complaint": "complained"}
STATS_COLUMNS = [
    "experiment_id",
    "variant",
    "metric",
    "n",
    "sum",
    "sum_sq",
    "den_sum",
    "den_sum_sq",
    "num_den_sum",
    "pre_sum",
    "pre_sum_sq",
    "post_pre_sum",
]


def _seconds(days: float) -> ir.IntervalScalar:
    return ibis.interval(seconds=int(round(float(days) * 86400)))


def _as_of_literal(as_of: Any):
    return None if as_of is None else ibis.literal(pd.Timestamp(as_of).to_pydatetime())


def _assignments(assignments: ir.Table) -> ir.Table:
    require_columns(
        assignments, name="assignments", columns=("user_id", "experiment_id", "variant")
    )
    a = assignments.select(
        experiment_id=assignments.experiment_id.cast("string"),
        user_id=assignments.user_id.cast("string"),
        variant=assignments.variant.cast("string"),
        assigned_at=(
            assignments.assigned_at.cast("timestamp")
            if "assigned_at" in assignments.columns
            else ibis.null().cast("timestamp")
        ),
    )
    # one row per user, experiment and variant (the earliest assignment time)
    return a.group_by(["experiment_id", "user_id", "variant"]).aggregate(
        assigned_at=a.assigned_at.min()
    )


def user_metrics_expr(
    assignments: ir.Table,
    orders: ir.Table | None,
    events: ir.Table | None,
    *,
    window_days: float | None = 14,
    pre_days: float | None = 28,
    as_of: Any = None,
) -> ir.Table:
    """One row per assigned user (:data:`USER_COLUMNS`); see the module docstring.

    ``converted``/``unsubscribed``/``complained``/``pre_converted`` are 0/1 integers,
    ``orders``/``pre_orders`` counts of paid orders, ``revenue``/``pre_revenue`` their amounts;
    ``has_pre`` is 1 when the user has an assignment time (so a pre-period exists).
    """
    a = _assignments(assignments)
    at = a.assigned_at
    keys = ["experiment_id", "user_id", "variant"]
    base = a.mutate(has_pre=at.notnull().cast("int64"))
    if orders is not None:
        od = paid_orders(orders, as_of)
        od = od.select(
            _uid=od.user_id.cast("string"),
            _ts=od.ts.cast("timestamp"),
            _amt=od.amount.cast("float64"),
        )
        j = a.left_join(od, a.user_id == od._uid)
        post = j._ts.notnull() & (j.assigned_at.isnull() | (j._ts >= j.assigned_at))
        if window_days is not None:
            post = post & (j.assigned_at.isnull() | (j._ts < j.assigned_at + _seconds(window_days)))
        pre = j._ts.notnull() & j.assigned_at.notnull() & (j._ts < j.assigned_at)
        if pre_days is not None:
            pre = pre & (j._ts >= j.assigned_at - _seconds(pre_days))
        agg = j.group_by(keys).aggregate(
            orders=post.ifelse(1, 0).sum(),
            revenue=post.ifelse(j._amt, 0.0).sum(),
            pre_orders=pre.ifelse(1, 0).sum(),
            pre_revenue=pre.ifelse(j._amt, 0.0).sum(),
        )
        base = base.left_join(agg, [base[k] == agg[k] for k in keys]).select(
            *[base[c] for c in [*keys, "assigned_at", "has_pre"]],
            *[agg[c] for c in ("orders", "revenue", "pre_orders", "pre_revenue")],
        )
    else:
        base = base.mutate(
            orders=ibis.literal(0), revenue=ibis.literal(0.0), pre_orders=ibis.literal(0),
            pre_revenue=ibis.literal(0.0),
        )  # fmt: skip
    if events is not None and {"user_id", "ts", "event"} <= set(events.columns):
        ev = events.filter(events.event.isin(list(GUARDRAIL_EVENTS)))
        if as_of is not None:
            ev = ev.filter(ev.ts <= _as_of_literal(as_of))
        ev = ev.select(_uid=ev.user_id.cast("string"), _ts=ev.ts.cast("timestamp"), _ev=ev.event)
        j = a.left_join(ev, a.user_id == ev._uid)
        post = j._ts.notnull() & (j.assigned_at.isnull() | (j._ts >= j.assigned_at))
        if window_days is not None:
            post = post & (j.assigned_at.isnull() | (j._ts < j.assigned_at + _seconds(window_days)))
        agg = j.group_by(keys).aggregate(
            **{
                col: (post & (j._ev == name)).ifelse(1, 0).max()
                for name, col in GUARDRAIL_EVENTS.items()
            }
        )
        base = base.left_join(agg, [base[k] == agg[k] for k in keys]).select(
            *[base[c] for c in base.columns], *[agg[c] for c in GUARDRAIL_EVENTS.values()]
        )
    else:
        base = base.mutate(**{c: ibis.literal(0) for c in GUARDRAIL_EVENTS.values()})
    b = base
    return b.select(
        "experiment_id",
        "user_id",
        "variant",
        "assigned_at",
        converted=(b.orders.fill_null(0) > 0).ifelse(1, 0),
        revenue=b.revenue.fill_null(0.0).cast("float64"),
        orders=b.orders.fill_null(0).cast("int64"),
        unsubscribed=b.unsubscribed.fill_null(0).cast("int64"),
        complained=b.complained.fill_null(0).cast("int64"),
        pre_converted=(b.pre_orders.fill_null(0) > 0).ifelse(1, 0),
        pre_revenue=b.pre_revenue.fill_null(0.0).cast("float64"),
        pre_orders=b.pre_orders.fill_null(0).cast("int64"),
        has_pre=b.has_pre,
    )


def _tables(ds: Any) -> tuple[ir.Table | None, ir.Table | None]:
    return (
        ds.table("orders") if ds.has("orders") else None,
        ds.table("events") if ds.has("events") else None,
    )


def user_metrics(
    ds: Any, *, window_days: float | None = 14, pre_days: float | None = 28
) -> pd.DataFrame:
    """:func:`user_metrics_expr` of a Dataset as pandas (for small sources and checks; the page
    uses :func:`variant_stats`). Empty when there is no ``assignments`` table."""
    if not ds.has("assignments"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in USER_COLUMNS})
    orders, events = _tables(ds)
    expr = user_metrics_expr(
        ds.table("assignments"), orders, events, window_days=window_days, pre_days=pre_days,
        as_of=ds.as_of,
    )  # fmt: skip
    df = expr.to_pandas()
    return df.sort_values(["experiment_id", "variant", "user_id"]).reset_index(drop=True)[
        USER_COLUMNS
    ]


def variant_stats_expr(
    users: ir.Table, metrics: dict[str, tuple[str, str | None, str | None]] | None = None
) -> ir.Table:
    """One row per experiment and variant with n and, per metric m, the sums ``m__sum``,
    ``m__sum_sq`` (and ``m__den_sum``, ``m__den_sum_sq``, ``m__num_den_sum`` for ratios,
    ``m__pre_sum``, ``m__pre_sum_sq``, ``m__post_pre_sum`` with a covariate; the covariate sums
    are NULL when some user lacks a pre-period)."""
    metrics = METRICS if metrics is None else metrics
    f = {
        c: users[c].cast("float64")
        for c in users.columns
        if c not in ("experiment_id", "variant", "user_id", "assigned_at")
    }
    agg: dict[str, ir.Value] = {"n": users.count(), "_pre_n": users.has_pre.sum()}
    for m, (col, den, cov) in metrics.items():
        y = f[col]
        agg[f"{m}__sum"], agg[f"{m}__sum_sq"] = y.sum(), (y * y).sum()
        if den is not None:
            d = f[den]
            agg[f"{m}__den_sum"], agg[f"{m}__den_sum_sq"] = d.sum(), (d * d).sum()
            agg[f"{m}__num_den_sum"] = (y * d).sum()
        if cov is not None:
            x = f[cov]
            agg[f"{m}__pre_sum"], agg[f"{m}__pre_sum_sq"] = x.sum(), (x * x).sum()
            agg[f"{m}__post_pre_sum"] = (y * x).sum()
    return users.group_by(["experiment_id", "variant"]).aggregate(**agg)


def _long(wide: pd.DataFrame, metrics, keys: list[str]) -> pd.DataFrame:
    """The wide sums of :func:`variant_stats_expr` as the long :data:`STATS_COLUMNS` frame."""
    parts = []
    for m in metrics:  # a handful of metrics
        d = wide[keys].copy()
        d["metric"] = m
        d["n"] = wide["n"].astype(float)
        for stat in STATS_COLUMNS[4:]:
            col = f"{m}__{stat}"
            d[stat] = wide[col].astype(float) if col in wide.columns else np.nan
        if f"{m}__pre_sum" in wide.columns:
            complete = wide["_pre_n"].astype(float) == wide["n"].astype(float)
            for stat in ("pre_sum", "pre_sum_sq", "post_pre_sum"):
                d[stat] = d[stat].where(complete)
        parts.append(d)
    out = pd.concat(parts, ignore_index=True)
    return out[[*keys, *[c for c in STATS_COLUMNS if c not in keys]]]


def variant_stats(
    ds: Any, *, window_days: float | None = 14, pre_days: float | None = 28
) -> pd.DataFrame:
    """Sufficient statistics (:data:`STATS_COLUMNS`) per experiment, variant and metric of a
    Dataset, aggregated in the engine; empty when there is no ``assignments`` table."""
    if not ds.has("assignments"):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in STATS_COLUMNS})
    orders, events = _tables(ds)
    users = user_metrics_expr(
        ds.table("assignments"), orders, events, window_days=window_days, pre_days=pre_days,
        as_of=ds.as_of,
    )  # fmt: skip
    wide = variant_stats_expr(users).to_pandas()
    out = _long(wide, METRICS, ["experiment_id", "variant"])
    return out.sort_values(["experiment_id", "metric", "variant"]).reset_index(drop=True)


def experiment_info(ds: Any) -> pd.DataFrame:
    """experiment_id, first_assigned, last_assigned (naive UTC; NaT without ``assigned_at``),
    users, variants — one row per experiment; empty without ``assignments``."""
    cols = ["experiment_id", "first_assigned", "last_assigned", "users", "variants"]
    if not ds.has("assignments"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    a = _assignments(ds.table("assignments"))
    expr = a.group_by("experiment_id").aggregate(
        first_assigned=a.assigned_at.min(),
        last_assigned=a.assigned_at.max(),
        users=a.count(),
        variants=a.variant.nunique(),
    )
    df = expr.to_pandas()
    for c in ("first_assigned", "last_assigned"):
        df[c] = pd.to_datetime(df[c])
    return df.sort_values("experiment_id").reset_index(drop=True)[cols]


def daily_looks(ds: Any, *, window_days: float | None = 14) -> pd.DataFrame:
    """Cumulative conversion sums at the end of each local day of each experiment:
    :data:`STATS_COLUMNS` (metric ``conversion``) plus ``day`` — n = users assigned by the end
    of the day, sum = those of them whose first paid order in their window came by then.

    Days run from the first assignment to the last assignment plus ``window_days`` (at most
    ``as_of``). Needs ``assigned_at``; empty otherwise.
    """
    cols = ["experiment_id", "variant", "day", *STATS_COLUMNS[2:]]
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    if not ds.has("assignments") or "assigned_at" not in ds.table("assignments").columns:
        return empty
    orders, _ = _tables(ds)
    local = (ds.timezone, *data_span(ds))
    a = _assignments(ds.table("assignments"))
    a = a.filter(a.assigned_at.notnull())
    first = a.select("experiment_id", "variant", day=local_day(a.assigned_at, *local))
    n_day = first.group_by(["experiment_id", "variant", "day"]).aggregate(new=first.count())
    frames = {"n": n_day.to_pandas()}
    if orders is not None:
        od = paid_orders(orders, ds.as_of)
        od = od.select(_uid=od.user_id.cast("string"), _ts=od.ts.cast("timestamp"))
        j = a.inner_join(od, (a.user_id == od._uid) & (od._ts >= a.assigned_at))
        if window_days is not None:
            j = j.filter(j._ts < j.assigned_at + _seconds(window_days))
        fc = j.group_by(["experiment_id", "user_id", "variant"]).aggregate(_first=j._ts.min())
        fc = fc.select("experiment_id", "variant", day=local_day(fc._first, *local))
        frames["conv"] = (
            fc.group_by(["experiment_id", "variant", "day"]).aggregate(new=fc.count()).to_pandas()
        )
    n = frames["n"]
    if n.empty:
        return empty
    conv = frames.get("conv", pd.DataFrame(columns=["experiment_id", "variant", "day", "new"]))
    for f in (n, conv):
        f["day"] = pd.to_datetime(f["day"])
    last_day = to_local(ds.as_of, ds.timezone).normalize() if ds.as_of is not None else None
    span = n.groupby("experiment_id")["day"].agg(["min", "max"])
    parts = []
    for (exp, var), g in n.groupby(["experiment_id", "variant"], sort=True):  # per arm: a few
        start, end = span.loc[exp, "min"], span.loc[exp, "max"]
        end = end + pd.Timedelta(days=int(np.ceil(window_days or 0)))
        if last_day is not None:
            end = min(end, max(last_day, span.loc[exp, "max"]))
        days = pd.date_range(start, end, freq="D")
        cum_n = g.groupby("day")["new"].sum().reindex(days, fill_value=0).cumsum()
        cg = conv.loc[(conv["experiment_id"] == exp) & (conv["variant"] == var)]
        cum_c = cg.groupby("day")["new"].sum().reindex(days, fill_value=0).cumsum()
        parts.append(
            pd.DataFrame(
                {
                    "experiment_id": exp,
                    "variant": var,
                    "day": days,
                    "n": cum_n.to_numpy(float),
                    "sum": cum_c.to_numpy(float),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    # every arm of an experiment on the same days (an arm without users yet has n = 0)
    out["metric"] = "conversion"
    out["sum_sq"] = out["sum"]
    for c in STATS_COLUMNS[6:]:
        out[c] = np.nan
    return out.sort_values(["experiment_id", "day", "variant"]).reset_index(drop=True)[cols]
