"""Engine-side journeys: touchpoints before each conversion, aggregated to ``paths`` (SPEC §3, §4.4).

One definition, written as Ibis expressions, so it runs unchanged on DuckDB, Spark or any Ibis
backend. ``growthlab.attribution.journeys`` runs the very same expression on pandas frames through
an in-memory table.

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

from growthlab.errors import AnalysisInputError

_EVENT_COLS = ("user_id", "ts", "channel")
_ORDER_COLS = ("user_id", "ts", "amount")


def _require(table: ir.Table, name: str, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise AnalysisInputError(f"{name}: required column(s) {missing} missing")


def conversions_expr(orders: ir.Table) -> ir.Table:
    """Paid orders as conversions: user_id, conversion_ts, value, conv_seq (1, 2, ... per user)."""
    _require(orders, "orders", _ORDER_COLS)
    od = orders
    if "status" in od.columns:
        od = od.filter(od.status.isnull() | (od.status == "paid"))
    tie = od.order_id.cast("string") if "order_id" in od.columns else od.amount
    od = od.select(
        user_id=od.user_id.cast("string"),
        conversion_ts=od.ts.cast("timestamp"),
        value=od.amount.cast("float64"),
        _tie=tie,
    )
    seq = ibis.row_number().over(group_by="user_id", order_by=["conversion_ts", "_tie"]) + 1
    return od.mutate(conv_seq=seq.cast("int64")).drop("_tie")


def touchpoints_expr(
    events: ir.Table,
    orders: ir.Table,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
) -> ir.Table:
    """One row per touchpoint in a journey.

    Columns: user_id, conv_seq (null for the null journey), channel, ts, conversion_ts (null for
    the null journey), value (order amount; 0 for null journeys), converted (bool).
    ``touch_events`` restricts which ``events.event`` values count as touchpoints (None = all).
    """
    if lookback_days <= 0:
        raise AnalysisInputError("lookback_days: must be > 0")
    _require(events, "events", _EVENT_COLS)
    ev = events
    if touch_events is not None:
        _require(events, "events", ["event"])
        ev = ev.filter(ev.event.isin(list(touch_events)))
    ev = ev.filter(ev.channel.notnull() & ev.ts.notnull())
    conv = conversions_expr(orders)
    lookback = ibis.interval(seconds=int(round(lookback_days * 86400)))

    stream = ev.select(
        user_id=ev.user_id.cast("string"),
        ts=ev.ts.cast("timestamp"),
        channel=ev.channel.cast("string"),
        kind=ibis.literal(0, type="int8"),
        conv_seq=ibis.null("int64"),
    ).union(
        conv.select(
            user_id=conv.user_id,
            ts=conv.conversion_ts,
            channel=ibis.null("string"),
            kind=ibis.literal(1, type="int8"),
            conv_seq=conv.conv_seq,
        )
    )
    # next conversion at or after each row: min over CURRENT ROW .. UNBOUNDED FOLLOWING
    w = ibis.window(group_by="user_id", order_by=["ts", "kind"], rows=(0, None))
    stream = stream.mutate(next_seq=stream.conv_seq.min().over(w))
    touch = stream.filter(stream.kind == 0)

    conv_touch = touch.filter(touch.next_seq.notnull()).drop("conv_seq", "kind")
    conv_touch = conv_touch.join(
        conv,
        [conv_touch.user_id == conv.user_id, conv_touch.next_seq == conv.conv_seq],
    )
    conv_touch = conv_touch.filter(conv_touch.ts >= conv_touch.conversion_ts - lookback)
    conv_touch = conv_touch.select(
        user_id=conv_touch.user_id,
        conv_seq=conv_touch.conv_seq,
        channel=conv_touch.channel,
        ts=conv_touch.ts,
        conversion_ts=conv_touch.conversion_ts,
        value=conv_touch.value,
        converted=ibis.literal(True),
    )

    null_touch = touch.filter(touch.next_seq.isnull())
    null_touch = null_touch.mutate(_anchor=null_touch.ts.max().over(group_by="user_id"))
    null_touch = null_touch.filter(null_touch.ts >= null_touch._anchor - lookback)
    null_touch = null_touch.select(
        user_id=null_touch.user_id,
        conv_seq=ibis.null("int64"),
        channel=null_touch.channel,
        ts=null_touch.ts,
        conversion_ts=ibis.null("timestamp"),
        value=ibis.literal(0.0),
        converted=ibis.literal(False),
    )
    return conv_touch.union(null_touch)


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
    tp = touchpoints_expr(events, orders, lookback_days, touch_events)
    journeys = tp.group_by(["user_id", "conv_seq"]).aggregate(
        path=tp.channel.group_concat(">", order_by=[tp.ts, tp.channel]),
        converted=tp.converted.max(),
        value=tp.value.max(),
    )
    conv = conversions_expr(orders)
    touched = journeys.filter(journeys.converted).select("user_id", "conv_seq")
    bare = conv.anti_join(
        touched, [conv.user_id == touched.user_id, conv.conv_seq == touched.conv_seq]
    )
    bare = bare.select(
        user_id=bare.user_id,
        conv_seq=bare.conv_seq,
        path=ibis.literal(""),
        converted=ibis.literal(True),
        value=bare.value,
    )
    allj = journeys.select("user_id", "conv_seq", "path", "converted", "value").union(bare)
    conv_i = allj.converted.cast("int64")
    out = allj.group_by("path").aggregate(
        conversions=conv_i.sum(),
        nulls=(1 - conv_i).sum(),
        value=allj.value.sum(),
    )
    return out.order_by([ibis.desc("conversions"), ibis.desc("nulls"), "path"])


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
    events, orders = _tables(ds)
    df = paths_expr(events, orders, lookback_days, touch_events).to_pandas()
    return _clean(df)


def touchpoints(
    ds: Any, lookback_days: float = 30, touch_events: Sequence[str] | None = None
) -> pd.DataFrame:
    """Touchpoint rows of every journey (see :func:`touchpoints_expr`), for time-decay attribution.

    Meant for modest sizes (one row per touch); at scale aggregate with :func:`paths` instead.
    """
    events, orders = _tables(ds)
    tp = touchpoints_expr(events, orders, lookback_days, touch_events)
    return _clean_tp(tp.to_pandas())


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df["path"] = df["path"].fillna("").astype(str)
    df["conversions"] = df["conversions"].astype("int64")
    df["nulls"] = df["nulls"].astype("int64")
    df["value"] = df["value"].astype(float).fillna(0.0)
    return df


def _clean_tp(df: pd.DataFrame) -> pd.DataFrame:
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
    """Run :func:`paths_expr` on pandas frames (in-memory DuckDB); used by ``attribution.journeys``."""
    con = ibis.duckdb.connect()
    ev = con.create_table("events", _prep(events, "events", _EVENT_COLS))
    od = con.create_table("orders", _prep(orders, "orders", _ORDER_COLS))
    return _clean(paths_expr(ev, od, lookback_days, touch_events).to_pandas())


def memtable_touchpoints(
    events: pd.DataFrame,
    orders: pd.DataFrame,
    lookback_days: float = 30,
    touch_events: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run :func:`touchpoints_expr` on pandas frames (in-memory DuckDB)."""
    con = ibis.duckdb.connect()
    ev = con.create_table("events", _prep(events, "events", _EVENT_COLS))
    od = con.create_table("orders", _prep(orders, "orders", _ORDER_COLS))
    return _clean_tp(touchpoints_expr(ev, od, lookback_days, touch_events).to_pandas())


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
