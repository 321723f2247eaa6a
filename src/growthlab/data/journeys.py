"""Engine-side journeys: touchpoints before each conversion, aggregated to ``paths`` (SPEC §3, §4.4).

One definition, written as Ibis expressions, so it runs unchanged on DuckDB, Spark or any Ibis
backend. :func:`memtable_paths` / :func:`memtable_touchpoints` run the very same expressions on
pandas frames through an in-memory table; ``growthlab.attribution`` takes the resulting frames.

Definition (SPEC §4.4). A *conversion* is a paid order. Each event of a user is assigned to the
user's next conversion at or after it (ties: the event counts before the order); it belongs to
that conversion's journey when ``conversion_ts - lookback_days <= ts``. Because an event is only
ever assigned to the *first* conversion after it, a journey automatically starts after the
previous conversion. Events with no later conversion form the user's *null journey* (a
non-converting path), limited to ``lookback_days`` before the last of them. Conversions with no
touchpoint in the window give the empty path ``""`` (counted, not attributable).

Reference: Anderson (2013) / Kakalejčík et al. (2018) for the path format used by public
attribution data sets (``path, total_conversions, total_null, total_conversion_value``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from growthlab.data.features import paid_orders
from growthlab.data.shared import shared_table
from growthlab.errors import AnalysisInputError, require_columns

_EVENT_COLS = ("user_id", "ts", "channel")
_ORDER_COLS = ("user_id", "ts", "amount")


def conversions_expr(orders: ir.Table) -> ir.Table:
    """Paid orders as conversions: user_id, conversion_ts, value, conv_seq (1, 2, ... per user)."""
    require_columns(orders, name="orders", columns=_ORDER_COLS)
    od = paid_orders(orders)
    tie = od.order_id.cast("string") if "order_id" in od.columns else od.amount
    od = od.select(
        user_id=od.user_id.cast("string"),
        conversion_ts=od.ts.cast("timestamp"),
        value=od.amount.cast("float64"),
        _tie=tie,
    )
    seq = ibis.row_number().over(group_by="user_id", order_by=["conversion_ts", "_tie"]) + 1
    return od.mutate(conv_seq=seq.cast("int64")).drop("_tie")


def _journey_rows(
    events: ir.Table,
    orders: ir.Table,
    lookback_days: float,
    touch_events: Sequence[str] | None,
) -> ir.Table:
    """Touch rows (kind 0) inside their journey's window plus one marker row per conversion
    (kind 1, channel null), each with its journey key (user_id, conv_seq; null = null journey)."""
    if lookback_days <= 0:
        raise AnalysisInputError("lookback_days: must be > 0")
    require_columns(events, name="events", columns=_EVENT_COLS)
    ev = events
    if touch_events is not None:
        require_columns(events, name="events", columns=["event"])
        ev = ev.filter(ev.event.isin(list(touch_events)))
    ev = ev.filter(ev.channel.notnull() & ev.ts.notnull())
    conv = conversions_expr(orders)
    lookback = ibis.interval(seconds=int(round(lookback_days * 86400)))

    # the conversion rows of the stream straight from the paid orders: taking them from
    # ``conv`` made engines compute its numbering window a second time
    paid = paid_orders(orders)
    stream = ev.select(
        user_id=ev.user_id.cast("string"),
        ts=ev.ts.cast("timestamp"),
        channel=ev.channel.cast("string"),
        kind=ibis.literal(0, type="int64"),
    ).union(
        paid.select(
            user_id=paid.user_id.cast("string"),
            ts=paid.ts.cast("timestamp"),
            channel=ibis.null("string"),
            kind=ibis.literal(1, type="int64"),
        )
    )
    # One sorted pass per user. Running count of conversions up to each row (events sort
    # before conversions at equal ts): an event belongs to conversion number count + 1, a
    # conversion row is number count. Past the user's last conversion an event is in the null
    # journey, anchored at the user's last event. Running sums stream in every engine.
    w_run = ibis.window(group_by="user_id", order_by=["ts", "kind"], rows=(None, 0))
    w_all = ibis.window(group_by="user_id")
    stream = stream.mutate(
        _count=stream.kind.sum().over(w_run),
        _n_conv=stream.kind.sum().over(w_all),
        _last=ibis.ifelse(stream.kind == 0, stream.ts, None).max().over(w_all),
    )
    seq = stream._count + 1 - stream.kind
    stream = stream.mutate(conv_seq=ibis.ifelse(seq <= stream._n_conv, seq, None).cast("int64"))
    j = stream.left_join(conv, [stream.user_id == conv.user_id, stream.conv_seq == conv.conv_seq])
    converted = j.conv_seq.notnull()
    j = j.filter(
        (j.kind == 1)
        | ibis.ifelse(converted, j.ts >= j.conversion_ts - lookback, j.ts >= j._last - lookback)
    )
    return j.select(
        user_id=j.user_id,
        conv_seq=j.conv_seq,
        kind=j.kind,
        channel=j.channel,
        ts=j.ts,
        conversion_ts=j.conversion_ts,
        value=j.value.fill_null(0.0),
        converted=converted,
    )


def touchpoints_expr(
    events: ir.Table,
    orders: ir.Table,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
    *,
    converted_only: bool = False,
) -> ir.Table:
    """One row per touchpoint in a journey.

    Columns: user_id, conv_seq (null for the null journey), channel, ts, conversion_ts (null for
    the null journey), value (order amount; 0 for null journeys), converted (bool).
    ``touch_events`` restricts which ``events.event`` values count as touchpoints (None = all).
    ``converted_only``: only the touchpoints of converting journeys (all that time-decay
    attribution reads; about half the rows).
    """
    rows = _journey_rows(events, orders, lookback_days, touch_events)
    keep = rows.kind == 0
    if converted_only:
        keep = keep & rows.converted
    return rows.filter(keep).drop("kind")


def paths_expr(
    events: ir.Table,
    orders: ir.Table,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
) -> ir.Table:
    """Journeys aggregated to the ``paths`` shape: path, conversions, nulls, value.

    ``path`` = the journey's channels in time order (ties by channel name) joined by ``>``;
    conversions = number of converting journeys with that path, nulls = number of null
    journeys, value = Σ order amount of the converting journeys. Conversions without a
    touchpoint in the window appear under the empty path ``""``.
    """
    return _paths_from_rows(_journey_rows(events, orders, lookback_days, touch_events))


def _paths_from_rows(rows: ir.Table) -> ir.Table:
    """:func:`paths_expr` from the rows of :func:`_journey_rows`."""
    # collect (ts, channel) pairs, sort the small per-journey lists, join: much faster than an
    # ordered string aggregate (which sorts inside the hash aggregation)
    pair = ibis.struct({"ts": rows.ts, "channel": rows.channel})
    journeys = rows.group_by(["user_id", "conv_seq"]).aggregate(
        _touches=pair.collect(where=rows.kind == 0),
        converted=rows.converted.max(),
        value=rows.value.max(),
    )
    path = journeys._touches.sort().map(lambda t: t.channel).join(">")
    journeys = journeys.select(
        path=path.fill_null(""), converted=journeys.converted, value=journeys.value
    )
    conv_i = journeys.converted.cast("int64")
    out = journeys.group_by("path").aggregate(
        conversions=conv_i.sum(),
        nulls=(1 - conv_i).sum(),
        value=journeys.value.sum(),
    )
    return out.order_by([ibis.desc("conversions"), ibis.desc("nulls"), "path"])


def _shared_rows(ds: Any, lookback_days: float, touch_events: Sequence[str] | None) -> ir.Table:
    """:func:`_journey_rows` of a Dataset, materialised once per Dataset and parameters
    (:func:`growthlab.data.shared.shared_table`): :func:`paths` and :func:`time_decay` read
    the same rows, and the per-user windowed pass over the events behind them is the cost."""
    events, orders = _tables(ds)
    key = (
        "journey_rows",
        float(lookback_days),
        None if touch_events is None else tuple(touch_events),
    )
    return shared_table(ds, key, lambda: _journey_rows(events, orders, lookback_days, touch_events))


def _tables(ds: Any) -> tuple[ir.Table, ir.Table]:
    for name in ("events", "orders"):
        if not ds.has(name):
            raise AnalysisInputError(f"{name}: table required for journeys but absent")
    return ds.table("events"), ds.table("orders")


def paths(
    ds: Any,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
    *,
    use_source_paths: bool = True,
) -> pd.DataFrame:
    """The ``paths`` frame of a Dataset: its own ``paths`` table if present, else built in the engine.

    See :func:`paths_expr` for the definition.
    """
    if use_source_paths and ds.has("paths"):
        return ds.frame("paths")
    df = _paths_from_rows(_shared_rows(ds, lookback_days, touch_events)).to_pandas()
    return _clean(df)


def touchpoints(
    ds: Any,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
    *,
    converted_only: bool = False,
) -> pd.DataFrame:
    """Touchpoint rows of every journey (see :func:`touchpoints_expr`), for time-decay attribution.

    One row per touch: at scale pass ``converted_only=True`` when only converting journeys are
    needed (``attribution.time_decay`` reads no other rows), or aggregate with :func:`paths`.
    """
    events, orders = _tables(ds)
    tp = touchpoints_expr(
        events, orders, lookback_days, touch_events, converted_only=converted_only
    )
    return _ordered_touchpoints(tp)


def decay_touchpoints(
    ds: Any, lookback_days: float = 30, touch_events: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """Touch times of converting journeys for time-decay attribution, or None when the source
    brings its own ``paths`` table (pre-aggregated journeys have no touch times).

    One row per touch: for small sources and tests. Notebooks use :func:`time_decay`, which
    computes the same credits in the engine and brings back one row per channel."""
    if ds.has("paths"):
        return None
    return touchpoints(ds, lookback_days, touch_events, converted_only=True)


def time_decay_expr(
    events: ir.Table,
    orders: ir.Table,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
    half_life_days: float = 7.0,
) -> ir.Table:
    """Time-decay attribution credits per channel, computed in the engine: channel,
    conversions, value.

    Over the touchpoints of converting journeys (:func:`touchpoints_expr` with
    ``converted_only``), touch j of a journey gets w_j = 2^(-(t_conv - t_j)/h) / Σ_k
    2^(-(t_conv - t_k)/h) (h = ``half_life_days``; ages to the microsecond); channel c receives
    Σ w_j (conversions) and Σ w_j · order value (value) over its touches. The formula of
    :func:`growthlab.attribution.time_decay` (which reads the touch rows in pandas; tests hold
    the two equal); touches with a missing or blank channel are left out, names are stripped.
    Reference: Google Analytics "time decay" model (7-day half-life default).
    """
    if not half_life_days > 0:
        raise AnalysisInputError("half_life_days: must be > 0")
    rows = _journey_rows(events, orders, lookback_days, touch_events)
    return _time_decay_from_rows(rows, half_life_days)


def _time_decay_from_rows(rows: ir.Table, half_life_days: float) -> ir.Table:
    """:func:`time_decay_expr` from the rows of :func:`_journey_rows`."""
    if not half_life_days > 0:
        raise AnalysisInputError("half_life_days: must be > 0")
    tp = rows.filter((rows.kind == 0) & rows.converted).drop("kind")
    tp = tp.mutate(channel=tp.channel.strip())
    tp = tp.filter(tp.channel.notnull() & (tp.channel != ""))
    age_days = tp.conversion_ts.delta(tp.ts, unit="microsecond").cast("float64") / 86400e6
    tp = tp.mutate(_raw=ibis.literal(2.0) ** (-age_days / float(half_life_days)))
    journey = ibis.window(group_by=["user_id", "conv_seq"])
    tp = tp.mutate(_w=tp._raw / tp._raw.sum().over(journey))
    out = tp.group_by("channel").aggregate(
        conversions=tp._w.sum(), value=(tp._w * tp.value.cast("float64")).sum()
    )
    return out.order_by("channel")


def time_decay(
    ds: Any,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
    half_life_days: float = 7.0,
) -> pd.DataFrame | None:
    """Time-decay credits per channel (:func:`time_decay_expr`: channel, conversions, value),
    one row per channel from the engine, for ``attribution.compare(decay_credits=...)``; None
    when the source brings its own ``paths`` table (pre-aggregated journeys have no touch
    times)."""
    if ds.has("paths"):
        return None
    if not half_life_days > 0:
        raise AnalysisInputError("half_life_days: must be > 0")
    rows = _shared_rows(ds, lookback_days, touch_events)
    df = _time_decay_from_rows(rows, half_life_days).to_pandas()
    df = df.reset_index(drop=True)
    df["channel"] = df["channel"].astype(str)
    df["conversions"] = df["conversions"].astype(float)
    df["value"] = df["value"].astype(float).fillna(0.0)
    return df[["channel", "conversions", "value"]]


def channel_spend(ds: Any) -> pd.DataFrame | None:
    """``costs.spend`` summed per channel in the engine: ``channel, spend`` (one row per
    channel, what ``attribution.channel_economics`` divides by), or None without ``costs``."""
    if not ds.has("costs"):
        return None
    costs = ds.table("costs")
    require_columns(costs, name="costs", columns=["channel", "spend"])
    df = costs.group_by("channel").aggregate(spend=costs.spend.cast("float64").sum()).to_pandas()
    df["spend"] = df["spend"].astype(float)
    return df.sort_values("channel", na_position="last", ignore_index=True)


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df["path"] = df["path"].fillna("").astype(str)
    df["conversions"] = df["conversions"].astype("int64")
    df["nulls"] = df["nulls"].astype("int64")
    df["value"] = df["value"].astype(float).fillna(0.0)
    return df


def _ordered_touchpoints(tp: ir.Table) -> pd.DataFrame:
    """Touchpoint rows sorted by user_id, conv_seq (null journey last), ts, channel.

    Sorted by the engine, not pandas: sorting millions of rows by text columns in pandas cost
    more than the query itself. NULLS LAST is explicit (Spark's default is NULLS FIRST).
    """
    keys = [ibis.asc(tp[c], nulls_first=False) for c in ("user_id", "conv_seq", "ts", "channel")]
    return _clean_tp(tp.order_by(keys).to_pandas(), ordered=True)


def _clean_tp(df: pd.DataFrame, ordered: bool = False) -> pd.DataFrame:
    if not ordered:
        df = df.sort_values(["user_id", "conv_seq", "ts", "channel"], na_position="last")
    df = df.reset_index(drop=True)
    df["conv_seq"] = df["conv_seq"].astype("Int64")
    df["converted"] = df["converted"].astype(bool)
    df["value"] = df["value"].astype(float)
    return df


def memtable_paths(
    events: pd.DataFrame,
    orders: pd.DataFrame,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run :func:`paths_expr` on pandas frames (in-memory DuckDB)."""
    ev, od = _in_memory(events, orders)
    return _clean(paths_expr(ev, od, lookback_days, touch_events).to_pandas())


def memtable_touchpoints(
    events: pd.DataFrame,
    orders: pd.DataFrame,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run :func:`touchpoints_expr` on pandas frames (in-memory DuckDB)."""
    ev, od = _in_memory(events, orders)
    return _ordered_touchpoints(touchpoints_expr(ev, od, lookback_days, touch_events))


def _in_memory(events: pd.DataFrame, orders: pd.DataFrame) -> tuple[ir.Table, ir.Table]:
    """Events and orders frames as tables of a private in-memory DuckDB engine."""
    con = ibis.duckdb.connect()
    ev = con.create_table("events", _prep(events, "events", _EVENT_COLS))
    od = con.create_table("orders", _prep(orders, "orders", _ORDER_COLS))
    return ev, od


def _prep(df: pd.DataFrame, name: str, cols: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalysisInputError(f"{name}: required column(s) {missing} missing")
    keep = [c for c in df.columns if c in {*cols, "event", "status", "order_id"}]
    out = df[keep].copy()
    out["ts"] = pd.to_datetime(out["ts"])
    if getattr(out["ts"].dt, "tz", None) is not None:
        out["ts"] = out["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    for c in ("user_id", "channel", "order_id", "event", "status"):
        if c in out.columns:
            out[c] = out[c].astype("string")
    return out
