"""Engine-side profile of a loaded source for the data-quality section (SPEC §4.1).

Everything heavy is one Ibis aggregation per table (row counts, null counts, distinct keys,
daily counts), so it runs unchanged on DuckDB, Spark or any Ibis backend; only small frames
come back to pandas. The profile describes the *normalised* tables (quarantined rows removed);
the counts of the raw source are in ``ds.quality.tables`` / ``ds.quality.nulls``.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from growthlab.data.localtime import data_span, local_day

#: The timestamp (or date) column giving each table's time axis.
TIME_AXIS: dict[str, str] = {
    "users": "signup_at",
    "referrals": "invited_at",
    "events": "ts",
    "orders": "ts",
    "costs": "date",
    "assignments": "assigned_at",
}

#: The key that should identify a row of each table (uniqueness check).
KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user_id",),
    "referrals": ("invitee_id",),
    "orders": ("order_id",),
    "identities": ("user_id", "id_type", "id_value"),
    "assignments": ("user_id", "experiment_id"),
    "costs": ("date", "channel", "campaign_id"),
    "paths": ("path",),
}


def _tables(ds) -> dict[str, ir.Table]:
    if isinstance(ds, Mapping):
        return dict(ds)
    return {name: ds.table(name) for name in ds.tables}


def table_overview(ds, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per table: ``table, rows, columns, first, last, days, stale_days``.

    ``first``/``last`` are the min/max of the table's time axis (:data:`TIME_AXIS`, naive UTC),
    ``days`` = (last − first) in days + 1, ``stale_days`` = (as_of − last) in days: how far the
    newest row lags the analysis instant (freshness). Tables without a time axis get NaT/NaN.
    ``ds`` is a Dataset or a mapping ``{name: ibis.Table}``.
    """
    as_of = pd.Timestamp(as_of if as_of is not None else getattr(ds, "as_of", None) or "NaT")
    rows = []
    for name, t in _tables(ds).items():
        axis = TIME_AXIS.get(name)
        aggs = [t.count().name("rows")]
        if axis and axis in t.columns:
            aggs += [t[axis].min().name("first"), t[axis].max().name("last")]
        r = t.aggregate(aggs).to_pandas().iloc[0].to_dict()
        first = pd.Timestamp(r["first"]) if r.get("first") is not None else pd.NaT
        last = pd.Timestamp(r["last"]) if r.get("last") is not None else pd.NaT
        rows.append(
            {
                "table": name,
                "rows": int(r["rows"]),
                "columns": len(t.columns),
                "first": first,
                "last": last,
                "days": (last.normalize() - first.normalize()).days + 1
                if pd.notna(first) and pd.notna(last)
                else np.nan,
                "stale_days": (as_of - last) / pd.Timedelta(days=1)
                if pd.notna(last) and pd.notna(as_of)
                else np.nan,
            }
        )
    return pd.DataFrame(
        rows, columns=["table", "rows", "columns", "first", "last", "days", "stale_days"]
    )


def null_rates(ds) -> pd.DataFrame:
    """Per table and column: ``table, column, rows, nulls, null_rate`` (= nulls / rows).

    One aggregation per table; empty strings count as present (the loader turns blank CSV
    cells into nulls).
    """
    rows = []
    for name, t in _tables(ds).items():
        cols = [c for c in t.columns]
        if not cols:
            continue
        aggs = [t.count().name("__rows")]
        aggs += [t[c].isnull().sum().name(f"n{i}") for i, c in enumerate(cols)]
        r = t.aggregate(aggs).to_pandas().iloc[0]
        n = int(r["__rows"])
        for i, c in enumerate(cols):
            nulls = int(r[f"n{i}"] or 0)
            rows.append(
                {
                    "table": name,
                    "column": c,
                    "rows": n,
                    "nulls": nulls,
                    "null_rate": nulls / n if n else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=["table", "column", "rows", "nulls", "null_rate"])


def uniqueness(ds, keys: Mapping[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """Per table key: ``table, key, rows, distinct, duplicates, unique``.

    ``distinct`` = number of distinct key tuples, ``duplicates`` = rows − distinct (rows that
    repeat an earlier key), ``unique`` = duplicates == 0. Keys default to :data:`KEYS`; a key
    whose columns are absent is skipped.
    """
    keys = dict(KEYS if keys is None else keys)
    rows = []
    for name, t in _tables(ds).items():
        key = keys.get(name)
        if not key or any(k not in t.columns for k in key):
            continue
        n = int(t.count().to_pandas())
        distinct = int(t.select(*key).distinct().count().to_pandas())
        rows.append(
            {
                "table": name,
                "key": ", ".join(key),
                "rows": n,
                "distinct": distinct,
                "duplicates": n - distinct,
                "unique": n == distinct,
            }
        )
    return pd.DataFrame(rows, columns=["table", "key", "rows", "distinct", "duplicates", "unique"])


def daily_volume(ds, timezone: str | None = None) -> pd.DataFrame:
    """Rows per local calendar day and table: ``table, date, rows`` (days without rows = 0).

    The day of a naive-UTC timestamp is its local calendar day in ``timezone`` (default
    ``ds.timezone``; none: UTC), each row shifted by the UTC offset in force at its own instant
    (:func:`growthlab.data.localtime.local_day`), computed in the engine as a group-by. Each
    table's series spans its own first..last day with missing days filled with 0.
    """
    tz = timezone or getattr(ds, "timezone", None)
    span = data_span(ds)
    parts = []
    for name, t in _tables(ds).items():
        axis = TIME_AXIS.get(name)
        if not axis or axis not in t.columns:
            continue
        col = t[axis]
        if col.type().is_timestamp():
            day = local_day(col, tz, *span)
        elif col.type().is_date():
            day = col
        else:
            day = col.cast("timestamp").date()
        g = (
            t.filter(t[axis].notnull())
            .mutate(date=day)
            .group_by("date")
            .aggregate(rows=ibis._.count())
            .to_pandas()
        )
        if g.empty:
            continue
        g["date"] = pd.to_datetime(g["date"])
        full = pd.date_range(g["date"].min(), g["date"].max(), freq="D")
        s = g.set_index("date")["rows"].reindex(full, fill_value=0)
        parts.append(pd.DataFrame({"table": name, "date": full, "rows": s.to_numpy(dtype="int64")}))
    if not parts:
        return pd.DataFrame(
            {
                "table": pd.Series(dtype=str),
                "date": pd.Series(dtype="datetime64[us]"),
                "rows": pd.Series(dtype="int64"),
            }
        )
    return pd.concat(parts, ignore_index=True)
