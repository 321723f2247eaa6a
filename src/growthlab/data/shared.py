"""Intermediate tables that several questions share: within a Dataset, and across a run.

Several questions need the same intermediate table: the distinct user-weeks behind both
retention breakdowns, the per-user day statistics behind lifecycle stages and the clustering
features, the per-user activity that 02 and ``growthlab lists`` read. :func:`shared_table`
gives each such table a key and builds it once per Dataset.

A report runs each notebook in its own kernel on the same validated-load cache entry
(:mod:`growthlab.data.cache`), so a table kept per Dataset would still be built once per
kernel. The per-user aggregates that several notebooks read (:func:`growthlab.data.rollups.build`)
are therefore built once, when the entry is written, and stored in it under their key
(:func:`persist`); a Dataset opened from the entry (``Dataset.stored``) answers those keys from
the stored tables instead of scanning events again. The key holds every input of the table
(the as_of instant, the event types, ...), so a question asked with other parameters misses
and builds its own table, exactly as before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any

import ibis.expr.types as ir

__all__ = ["shared_table", "persist", "STORED_PREFIX"]

#: Intermediate tables materialised once per Dataset (see :func:`shared_table`).
_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: names of the stored tables in a cache entry: ``_gl_shared_<n>``
STORED_PREFIX = "_gl_shared_"


def shared_table(source: Any, key: Hashable, build: Callable[[], ir.Table]) -> ir.Table:
    """``build()`` materialised in the engine once per Dataset and ``key``, then reused.

    Looked up first among the tables stored with the Dataset's cache entry
    (``source.stored``: key -> table name, see :func:`persist`), then among those built for
    this Dataset; else built as a temporary table of the Dataset's own engine (Ibis
    ``Table.cache()``: DuckDB temp table, Spark cached view) and freed with the Dataset.
    Sources that are not Dataset-like (Ibis tables, frames) or engines without temporary
    tables just get ``build()``.
    """
    stored = getattr(source, "stored", None) or {}
    if key in stored:
        return source.con.table(stored[key])
    try:
        store = _SHARED.setdefault(source, {})
    except TypeError:  # not weak-referenceable (a dict of tables, ...): no sharing
        return build()
    if key not in store:
        table = build()
        try:
            store[key] = table.cache()
        except Exception:  # noqa: BLE001 - a backend without temporary tables
            return table
    return store[key]


def persist(source: Any) -> dict[Hashable, str]:
    """Copy every table :func:`shared_table` built for ``source`` into a named table of its
    engine (``_gl_shared_<n>``), for the cache writer to store with the entry; returns
    ``{key: table name}`` (the entry's metadata keeps it)."""
    names: dict[Hashable, str] = {}
    store = _SHARED.get(source, {})
    for i, (key, table) in enumerate(list(store.items())):
        name = f"{STORED_PREFIX}{i}"
        store[key] = source.con.create_table(name, obj=table, overwrite=True)
        names[key] = name
        # the temporary copy now, while the engine is open: Ibis would drop it when the
        # expression is collected, possibly after the engine closed (a warning on stderr)
        table.release()
    return names
