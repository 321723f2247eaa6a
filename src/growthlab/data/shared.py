"""Intermediate tables that several questions share: within a Dataset, and beside its cache entry.

Several questions need the same intermediate table: the distinct user-weeks behind both
retention breakdowns, the per-user day statistics behind lifecycle stages and the clustering
features, the per-user activity that the referral page and ``growthlab lists`` read.
:func:`shared_table` gives each such table a key holding every input it depends on (the as_of
instant, the event types, ...) and builds it once per Dataset.

Per-user tables (``persist=True``) are also kept beside the Dataset's validated-load cache entry
(:func:`growthlab.data.cache.write_side`: one private Parquet file per table, removed with the
entry), so every later process that opens the same entry (the next run on the same data, a run
in the other language, ``growthlab lists`` after a report) reads them instead of scanning the
events again. They are derived where they are first needed, never ahead of time: building them
when the entry is written made a first run on new data slower (measured in issue #13), because
each is needed by one page of a report.
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

from growthlab.data import cache as _cache
from growthlab.data import localtime

__all__ = ["shared_table"]

#: Intermediate tables materialised once per Dataset (see :func:`shared_table`).
_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _materialise(con: Any, table: ir.Table) -> ir.Table:
    """``table`` computed once into a temporary table of the engine ``con``."""
    if getattr(con, "name", "") == "duckdb":
        # a temporary table of the connection, gone with it: Ibis's cache() drops its table
        # when the expression is collected, which may be after the Dataset closed the engine
        # (an ignored exception printed on stderr)
        return con.create_table(f"_gl_tmp_{secrets.token_hex(8)}", obj=table, temp=True)
    return table.cache()


def _kept(source: Any, key: Hashable) -> tuple[Path, str, str] | None:
    """(cache folder, entry key, file name) of ``key``'s table beside ``source``'s cache entry
    (the name also holds the UTC offsets of the source's time zone over its data's span);
    None unless the source is a DuckDB Dataset loaded through the local cache (an engine
    source's tables stay in its engine: its ``cache`` names scratch tables, not a file)."""
    entry = getattr(source, "cache", None)
    if not isinstance(entry, dict) or not entry.get("path") or not entry.get("key"):
        return None
    if getattr(source.con, "name", "") != "duckdb":
        return None
    path = Path(entry["path"])
    if path.name != f"{entry['key']}{_cache.SUFFIX}" or not path.is_file():
        return None
    # the zone's offsets over the data's span, as this machine's time-zone database has them:
    # a kept table counted in local days is not reused after a tzdata rule change
    zone, span = localtime.local_of(source)
    rules = localtime.offset_changes(zone, *span) if zone else None
    name = hashlib.sha256(repr((key, rules)).encode()).hexdigest()[:32]
    return path.parent, entry["key"], name


def shared_table(
    source: Any, key: Hashable, build: Callable[[], ir.Table], *, persist: bool = False
) -> ir.Table:
    """``build()`` materialised in the engine once per Dataset and ``key``, then reused.

    Built as a temporary table of the Dataset's own engine (DuckDB: a temporary table; other
    engines: Ibis ``Table.cache()``, e.g. a Spark cached view) and freed with the Dataset.
    With ``persist`` (small, per-user tables only) it is also read from, or else written to,
    the side folder of the Dataset's validated-load cache entry; a kept file is copied into
    the engine when read (a file that ``cache.prune`` removes later cannot break a query), and
    its column types are Parquet's (an engine's 128-bit integer comes back as a double: cast
    sums to int64/float64 before keeping them). ``key`` must hold every input of the table
    and have a stable ``repr``. Sources that are not Dataset-like (Ibis tables, frames) or
    engines without temporary tables just get ``build()``.
    """
    try:
        store = _SHARED.setdefault(source, {})
    except TypeError:  # not weak-referenceable (a dict of tables, ...): no sharing
        return build()
    if key in store:
        return store[key]
    kept = _kept(source, key) if persist else None
    if kept is not None:
        path = _cache.side_path(*kept)
        if path.is_file():
            try:
                store[key] = _materialise(source.con, source.con.read_parquet(path))
                return store[key]
            except Exception:  # noqa: BLE001 - unreadable (a partial copy?): derive it again
                pass
    table = build()
    try:
        store[key] = _materialise(source.con, table)
    except Exception:  # noqa: BLE001 - a backend without temporary tables
        return table
    if kept is not None:
        _cache.write_side(*kept, lambda tmp: source.con.to_parquet(store[key], tmp))
    return store[key]
