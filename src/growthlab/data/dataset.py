"""The Dataset: a validated, normalised source living in a private DuckDB engine (via Ibis).

See docs/DEVELOPING.md ("The Dataset") for the contract every analysis relies on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from growthlab.data import cache as _cache
from growthlab.data import description as _description
from growthlab.data import engine as _engine
from growthlab.data import localtime as _localtime
from growthlab.data.channels import load_map
from growthlab.data.contract import DEFAULT_MIN_DATE, TABLES
from growthlab.data.quality import QualityReport
from growthlab.data.source import copy_source, new_workdir, source_size
from growthlab.data.validate import Validator
from growthlab.errors import ConfigError, GrowthlabError

#: Sources larger than this are processed in an on-disk engine file (compressed; ~3x the CPU
#: of the in-memory engine, which spills to the temporary folder under memory pressure).
_IN_MEMORY_BYTES = 2 << 30


class Dataset:
    """A validated source: normalised Ibis tables (quarantined rows removed) plus metadata.

    Built by :func:`load`; see docs/DEVELOPING.md for the column guarantees.
    """

    def __init__(
        self,
        con: ibis.BaseBackend,
        tables: Sequence[str],
        quality: QualityReport,
        persons: pd.DataFrame,
        *,
        as_of: pd.Timestamp,
        timezone: str,
        currency: str,
        truth: dict | None = None,
        source: Any = None,
        _resources: Any = None,
        location: tuple[str | None, str] = (None, ""),
    ):
        self.con = con
        #: (database, name prefix) of the tables in the engine (engine sources: the scratch
        #: database and the entry's prefix; DuckDB: the private engine's own tables)
        self.location = location
        self._tables = [t for t in TABLES if t in set(tables)]
        self.quality = quality
        self.persons = persons
        self.as_of = as_of
        self.timezone = timezone
        self.currency = currency
        #: planted truth (synthetic sources): the ``truth`` given, else the source folder's
        #: truth.json, read on first use of :attr:`truth` (at a million users it is tens of MB
        #: that no page reads, and every kernel opens the Dataset)
        self._truth = truth if truth is not None else _UNREAD
        self.source = source
        self._resources = _resources
        #: seconds per loading stage (open, parse, row_rules, ...), for benchmarks
        self.timings: dict[str, float] = {}
        #: cache use (``key``, ``path``, ``hit``) when loaded with a cache folder, else None
        self.cache: dict[str, Any] | None = None
        #: how ``as_of`` was chosen ("given", "growthlab.yaml", "truth.json ...", or the latest
        #: timestamp of which table)
        self.as_of_source: str = ""
        #: the folder's growthlab.yaml (:mod:`growthlab.data.description`), when it has one
        self.description: _description.SourceDescription | None = None
        #: engine sources: ``source`` (what it is), ``tables`` (row counts, latest times,
        #: schemas) and ``key`` of the validated tables; None for DuckDB
        self.engine: dict[str, Any] | None = None

    @property
    def truth(self) -> dict | None:
        """The planted truth of a synthetic source (its ``truth.json``), else None."""
        if self._truth is _UNREAD:
            self._truth = _read_truth(self.source)
        return self._truth

    @truth.setter
    def truth(self, value: dict | None) -> None:
        self._truth = value

    # -- tables ----------------------------------------------------------------------------
    @property
    def tables(self) -> list[str]:
        """Names of the contract tables present (in contract order)."""
        return list(self._tables)

    def has(self, name: str) -> bool:
        """Whether table ``name`` is present (an empty table, or one whose rows were all
        quarantined, is absent; ``quality.warnings`` says so under ``empty_table``)."""
        return name in self._tables

    def table(self, name: str) -> ibis.Table:
        """The validated, normalised table ``name`` as an Ibis expression."""
        if name not in self._tables:
            raise ConfigError(
                f"table {name!r} is not in this source (present: {', '.join(self._tables)})"
            )
        database, prefix = self.location
        if database is None:
            return self.con.table(prefix + name)
        return self.con.table(prefix + name, database=database)

    def frame(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """``table(name)`` as pandas (optionally only ``columns``); for small tables only."""
        t = self.table(name)
        if columns is not None:
            t = t.select(*columns)
        return t.to_pandas()

    # -- time ------------------------------------------------------------------------------
    def local(self, ts: pd.Series | pd.Timestamp) -> pd.Series | pd.Timestamp:
        """Naive UTC timestamps -> naive local wall-clock time in ``self.timezone``."""
        return _localtime.to_local(ts, self.timezone)

    def close(self) -> None:
        """Release the engine and its temporary files (also done automatically)."""
        if self._resources is not None:
            self._resources()
            self._resources = None

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{r.table}={r.rows_kept:,}" for r in self.quality.tables.itertuples(index=False)
        )
        return f"<Dataset as_of={self.as_of} tz={self.timezone} {sizes}>"


def _release(raw: duckdb.DuckDBPyConnection, workdir) -> None:
    try:
        raw.close()
    finally:
        workdir.cleanup()


def _connect(db: str, wd: Path, memory_limit: str | None, threads: int | None):
    config: dict[str, Any] = {"temp_directory": str(wd / "spill")}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = int(threads)
    raw = duckdb.connect(db, config=config)
    try:
        # Keep terminal output clean. Inside a Jupyter kernel without ipywidgets DuckDB already
        # keeps the bar off and refuses to change the setting (duckdb/duckdb#7590): ignore that.
        raw.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass
    return raw


def _truth_file(source: Any) -> Path | None:
    if isinstance(source, str | Path) and Path(source).is_dir():
        truth_file = Path(source) / "truth.json"
        if truth_file.is_file():
            return truth_file
    return None


def _read_truth(source: Any) -> dict | None:
    """The source folder's truth.json (a synthetic source's planted truth), else None."""
    truth_file = _truth_file(source)
    if truth_file is None:
        return None
    try:
        return json.loads(truth_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise ConfigError(f"{truth_file}: not valid JSON ({err})") from None


def _planted_as_of(truth: Any) -> str | None:
    """The ``as_of`` a truth dict plants (a missing or empty value plants none)."""
    value = truth.get("as_of") if isinstance(truth, dict) else None
    return str(value) if value else None


_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's own whitespace (RFC 8259)
_NOT_FOUND: Any = object()


def _scan_as_of(text: str) -> Any:
    """The ``as_of`` member of the JSON object ``text``, decoding its members one at a time
    (``raw_decode``) and stopping there; :data:`_NOT_FOUND` when the text is not an object,
    breaks off before ``as_of`` or has none."""
    dec = json.JSONDecoder()

    def skip(i: int) -> int:
        return _WHITESPACE.match(text, i).end()

    try:
        i = skip(0)
        if text[i : i + 1] != "{":
            return _NOT_FOUND
        i = skip(i + 1)
        while text[i : i + 1] == '"':
            key, i = dec.raw_decode(text, i)
            i = skip(i)
            if text[i : i + 1] != ":":
                return _NOT_FOUND
            value, i = dec.raw_decode(text, skip(i + 1))
            if key == "as_of":
                return _planted_as_of({"as_of": value})
            i = skip(i)
            if text[i : i + 1] != ",":
                return _NOT_FOUND
            i = skip(i + 1)
    except ValueError:
        return _NOT_FOUND
    return _NOT_FOUND


def _truth_as_of(source: Any) -> str | None:
    """``as_of`` of the source folder's truth.json, parsing only the members before it.

    At a million users the file holds tens of MB of per-user truth that loading a Dataset
    does not need (:attr:`Dataset.truth` reads it on first use). When the members up to
    ``as_of`` do not decode cleanly (not an object, a malformed member) or there is no
    ``as_of``, the whole file is parsed (:func:`_read_truth`: the same answer as a full
    parse, and a ConfigError naming the file when it is broken). Duplicate ``as_of`` members
    are not looked for: the first one answers.
    """
    truth_file = _truth_file(source)
    if truth_file is None:
        return None
    try:
        found = _scan_as_of(truth_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        found = _NOT_FOUND
    return _planted_as_of(_read_truth(source)) if found is _NOT_FOUND else found


def _extend_key(key: str, **params: Any) -> str:
    """``key`` extended with load parameters that :func:`cache.cache_key` does not take."""
    blob = json.dumps(
        [key, {k: [type(v).__name__, repr(v)] for k, v in sorted(params.items())}]
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


#: defaults of the load parameters a source description may set
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_CURRENCY = "CNY"
_UNSET: Any = object()
_UNREAD: Any = object()


def resolve_options(
    source: Any,
    *,
    timezone: str | None = None,
    as_of: Any = None,
    min_date: Any = _UNSET,
    currency: str | None = None,
    truth: dict | None = None,
) -> dict[str, Any]:
    """The load parameters in force for ``source``: explicit arguments, else the folder's
    growthlab.yaml, else the defaults. ``as_of`` (when not given): growthlab.yaml's, else a
    synthetic sample's ``truth.json`` date, else None (the latest timestamp in the data).

    Returns ``timezone, as_of, min_date, currency, as_of_source, description``.
    """
    desc = None
    if isinstance(source, str | Path) and Path(source).is_dir():
        desc = _description.read(source)
    as_of_source = "given"
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        as_of = None
        if desc is not None and desc.as_of:
            as_of, as_of_source = desc.as_of, f"{_description.DESCRIPTION_FILE} of the source"
        else:
            planted = _planted_as_of(truth) if truth is not None else _truth_as_of(source)
            if planted:
                as_of, as_of_source = str(planted), "truth.json (the synthetic sample's date)"
    return {
        "timezone": timezone or (desc.timezone if desc and desc.timezone else DEFAULT_TIMEZONE),
        "as_of": as_of,
        "min_date": (
            min_date
            if min_date is not _UNSET
            else (desc.min_date if desc and desc.min_date else DEFAULT_MIN_DATE)
        ),
        "currency": currency or (desc.currency if desc and desc.currency else DEFAULT_CURRENCY),
        "as_of_source": as_of_source if as_of is not None else None,
        "description": desc,
    }


def load(
    source: Any,
    *,
    timezone: str | None = None,
    as_of: Any = None,
    min_date: Any = _UNSET,
    currency: str | None = None,
    channel_map: str | Path | Mapping[str, Any] | None = None,
    con: Any = None,
    encoding: str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    truth: dict | None = None,
    cache_dir: str | Path | None = None,
) -> Dataset:
    """Open, validate and normalise ``source`` (SPEC §3); raise DataContractError when invalid.

    Parameters
    ----------
    source: folder of ``<table>.csv|.csv.gz|.parquet|.xlsx``, a ``.duckdb`` file, an Ibis
        backend connection, or a dict ``{table: pandas.DataFrame}``. Never modified. A folder
        with a ``growthlab.yaml`` is read as it describes (:mod:`growthlab.data.description`:
        files, column names, value maps, formats); its timezone, currency, as_of, min_date,
        encoding and channels are the defaults of the parameters below.
    timezone: zone of naive timestamps in the source; all timestamps are held as naive UTC
        (default: growthlab.yaml's, else Asia/Shanghai).
    as_of: analysis instant (naive values are local, a bare date means the end of that local
        day); default: growthlab.yaml's, else a synthetic sample's truth.json date, else the
        latest timestamp in the data not after the clock. ``ds.as_of_source`` says which.
    min_date: floor of plausible timestamps (naive = local; a bare date is the start of that
        local day); rows dated earlier in any timestamp/date column are quarantined as
        ``before_min_date``. Any date from 1900-01-01 on.
    currency: the source's single currency (kept as metadata).
    channel_map: YAML path or dict merged over the shipped ``channels.yaml``.
    con: an Ibis backend holding the tables (same as passing it as ``source``).
    encoding: CSV encoding; default detects UTF-8 or GB18030/GBK.
    memory_limit, threads: DuckDB engine settings (default: DuckDB's own).
    truth: planted truth dict (set by the synthetic generator); also read from a
        ``truth.json`` next to the source files.
    cache_dir: folder of the validated-load cache (default ``$GROWTHLAB_CACHE_DIR``; unset =
        no cache). Folder and database-file sources are then validated once and later loads
        with the same files and parameters attach the cached tables read-only (see
        :mod:`growthlab.data.cache`); ``ds.cache`` tells which happened.
    """
    if con is not None and source is None:
        source = con
    resolved = resolve_options(
        source, timezone=timezone, as_of=as_of, min_date=min_date, currency=currency, truth=truth
    )
    desc = resolved["description"]
    opts = _engine_options(
        resolved, encoding=encoding, memory_limit=memory_limit, threads=threads, truth=truth
    )
    lookup = load_map(channel_map, described=desc.channels if desc else None)
    if _engine.is_engine_url(source) or _is_other_backend(source):
        ds = _load_engine(source, lookup, resolved["as_of_source"], cache_dir=cache_dir, **opts)
        return ds
    cdir, key = _cache_entry(source, cache_dir, lookup, desc, opts)
    if key is None:
        ds = _load_fresh(source, lookup, desc, resolved["as_of_source"], **opts)
    else:
        ds = _load_through_cache(source, cdir, key, lookup, desc, resolved["as_of_source"], opts)
    ds.description = desc
    return ds


def _is_other_backend(source: Any) -> bool:
    """An open Ibis connection to an engine other than DuckDB (validated in that engine)."""
    return isinstance(source, ibis.BaseBackend) and getattr(source, "name", "") != "duckdb"


def _load_engine(
    source: Any,
    lookup: dict[str, str],
    as_of_source: str | None,
    *,
    cache_dir: str | Path | None,
    timezone: str,
    as_of: Any,
    min_date: Any,
    currency: str,
    truth: dict | None,
    **_duckdb_only: Any,
) -> Dataset:
    """Validate an engine source in its engine (:mod:`growthlab.data.engine`), or reuse the
    validated tables an earlier load published under the same key in the scratch database.

    The key covers the code, the engine, each table's schema, row count, latest time and
    checksum (or the run's snapshot of them, :data:`engine.SNAPSHOT_ENV`), and the load
    parameters (with today's date when ``as_of`` is chosen from the data, as the DuckDB cache
    does). Each validation writes under a fresh prefix and publishes with a marker table, so
    published tables are never overwritten; a failed validation drops what it wrote.
    """
    t0 = time.perf_counter()
    opened_here = isinstance(source, str)
    if opened_here:
        spec = _engine.parse(source)
        con = _engine.connect(spec)
        database, scratch, label = spec.database, spec.scratch, spec.label
    else:
        con, database, scratch = source, None, _engine.DEFAULT_SCRATCH
        label = f"{getattr(con, 'name', 'ibis')} (open connection)"
    try:
        fp = _engine.snapshot(label) or _engine.fingerprint(con, database)
    except GrowthlabError:
        raise
    except Exception as err:  # noqa: BLE001 - engine errors are messages
        raise _engine.engine_error(f"source {label}", err) from err
    params = {
        "timezone": timezone,
        "as_of": (
            ["latest not after the clock", pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")]
            if as_of is None
            else str(as_of)
        ),
        "min_date": str(min_date),
        "currency": currency,
        "lookup": sorted(lookup.items()),
    }
    key = _engine.entry_key(label, fp, params)
    opened = time.perf_counter() - t0

    def dataset(entry: dict[str, Any], persons: pd.DataFrame | None, hit: bool) -> Dataset:
        location = (scratch, entry["prefix"])
        if persons is None:  # every user's OneID person, from the published users table
            users = con.table(entry["prefix"] + "users", database=scratch)
            persons = users.select("user_id", "person_id").to_pandas()
        ds = Dataset(
            con,
            entry["tables"],
            entry["quality"],
            persons,
            as_of=entry["as_of"],
            timezone=timezone,
            currency=currency,
            truth=truth,
            source=source if opened_here else None,
            location=location,
        )
        ds.as_of_source = entry["as_of_source"]
        ds.cache = {"key": key, "path": f"{scratch}.{entry['prefix']}*", "hit": hit}
        ds.engine = {"source": label, "tables": fp, "key": key}
        if opened_here and spec.remote:  # a Spark Connect session of ours: close it with ds
            ds._resources = weakref.finalize(ds, _disconnect, con)
        return ds

    entry = _engine.read_entry(con, scratch, key)
    if entry is not None:
        ds = dataset(entry, None, True)
        ds.timings = {"engine_open": opened, "cache_open": time.perf_counter() - t0 - opened}
        return ds
    cdir = _cache.resolve_dir(cache_dir)
    # on one machine, concurrent loads of one key validate once (other machines may race:
    # the first to publish wins, see engine.publish)
    lock = _cache.key_lock(cdir, key) if cdir is not None else contextlib.nullcontext()
    with lock:
        entry = _engine.read_entry(con, scratch, key)
        if entry is not None:
            return dataset(entry, None, True)
        _engine.ensure_scratch(con, scratch)
        prefix = _engine.attempt_prefix(key)
        validator = _engine.EngineValidator(
            con, database, scratch, prefix, lookup, timezone, min_date=min_date
        )
        validator.timings["open"] = opened
        try:
            report, persons = validator.run(as_of, as_of_source)
        except BaseException as err:
            validator.drop_written()
            if isinstance(err, GrowthlabError | KeyboardInterrupt | SystemExit):
                raise
            raise _engine.engine_error(f"source {label}: validation", err) from err
        meta = {
            "tables": list(validator.present),
            "quality": report,
            "as_of": report.as_of,
            "as_of_source": validator.as_of_source,
        }
        if not _engine.publish(con, scratch, key, prefix, meta):
            validator.drop_written()
            entry = _engine.read_entry(con, scratch, key)
            if entry is None:  # pragma: no cover - a marker without its tables
                raise ConfigError(f"source {label}: another validation's entry is incomplete")
            return dataset(entry, None, True)
        _engine.prune(con, scratch)
    ds = dataset({"prefix": prefix, **meta}, persons, False)
    ds.timings = dict(validator.timings)
    return ds


def _disconnect(con: Any) -> None:
    with contextlib.suppress(Exception):
        con.disconnect()


def _engine_options(
    resolved: dict[str, Any],
    *,
    encoding: str | None,
    memory_limit: str | None,
    threads: int | None,
    truth: dict | None,
) -> dict[str, Any]:
    """The keyword arguments of :func:`_load_fresh`/:func:`_load_cached` from the resolved
    load parameters (:func:`resolve_options`); the currency must be a non-empty code."""
    currency = resolved["currency"]
    if not isinstance(currency, str) or not currency.strip():
        raise ConfigError("currency: must be a non-empty code such as 'CNY'")
    return {
        "timezone": resolved["timezone"],
        "as_of": resolved["as_of"],
        "min_date": resolved["min_date"],
        "currency": currency.strip(),
        "encoding": encoding,
        "memory_limit": memory_limit,
        "threads": threads,
        "truth": truth,
    }


def _cache_entry(
    source: Any,
    cache_dir: str | Path | None,
    lookup: dict[str, str],
    desc: _description.SourceDescription | None,
    opts: dict[str, Any],
) -> tuple[Path | None, str | None]:
    """The cache folder and the key of ``source``'s entry there (the folder is created); key
    None when there is no cache, the source is not cacheable (frames, connections) or the
    folder cannot be used. The key covers :func:`cache.cache_key`'s inputs, a non-default
    ``min_date`` and the source description."""
    cdir = _cache.resolve_dir(cache_dir)
    key = None
    if cdir is not None:
        try:
            key = _cache.cache_key(
                source,
                timezone=opts["timezone"],
                as_of=opts["as_of"],
                currency=opts["currency"],
                lookup=lookup,
                encoding=opts["encoding"],
            )
            if key is not None and opts["min_date"] != DEFAULT_MIN_DATE:
                # cache.cache_key has no min_date parameter: a non-default floor extends the key
                key = _extend_key(key, min_date=opts["min_date"])
            if key is not None and desc is not None:
                key = _extend_key(key, description=desc.digest)
            if key is not None:
                cdir.mkdir(parents=True, exist_ok=True)
        except OSError:
            key = None
    return cdir, key


def _load_through_cache(
    source: Any,
    cdir: Path,
    key: str,
    lookup: dict[str, str],
    desc: _description.SourceDescription | None,
    as_of_source: str | None,
    opts: dict[str, Any],
) -> Dataset:
    """The cached Dataset of ``key``, else a fresh validation that writes the entry (under
    the key's lock, so concurrent loads validate once)."""
    ds = _load_cached(source, cdir, key, **opts)
    if ds is None:
        with _cache.key_lock(cdir, key):
            # another process may have written the entry while this one waited for the lock
            ds = _load_cached(source, cdir, key, **opts)
            if ds is None:
                ds = _load_fresh(source, lookup, desc, as_of_source, store=(cdir, key), **opts)
    return ds


def _load_cached(
    source: Any,
    cdir: Path,
    key: str,
    *,
    timezone: str,
    as_of: Any,
    min_date: Any,
    currency: str,
    encoding: str | None,
    memory_limit: str | None,
    threads: int | None,
    truth: dict | None,
) -> Dataset | None:
    """The Dataset of the cache entry ``key``, or None when there is no usable entry."""
    t0 = time.perf_counter()
    workdir = new_workdir()
    try:
        raw = _connect(":memory:", Path(workdir.name), memory_limit, threads)
        # the same session time zone as the engine that validated the source
        raw.execute(f"SET TimeZone = '{timezone.replace(chr(39), chr(39) * 2)}'")
    except Exception:  # noqa: BLE001 - e.g. an unknown zone: the fresh load says why
        workdir.cleanup()
        return None
    meta = _cache.attach(raw, cdir, key)
    if meta is None:
        _release(raw, workdir)
        return None
    ds = Dataset(
        ibis.duckdb.from_connection(raw),
        meta["tables"],
        meta["quality"],
        meta["persons"],
        as_of=meta["as_of"],
        timezone=meta["timezone"],
        currency=meta["currency"],
        truth=truth,
        source=source if isinstance(source, str | Path) else None,
    )
    ds.timings = {"cache_open": time.perf_counter() - t0}
    ds.as_of_source = meta.get("as_of_source", "")
    ds.cache = {
        "key": key,
        "path": str(_cache.entry_path(cdir, key)),
        "hit": True,
        "build_timings": dict(meta.get("timings", {})),
    }
    ds._resources = weakref.finalize(ds, _release, raw, workdir)
    return ds


def _load_fresh(
    source: Any,
    lookup: dict[str, str],
    desc: _description.SourceDescription | None = None,
    as_of_source: str | None = None,
    *,
    timezone: str,
    as_of: Any,
    min_date: Any,
    currency: str,
    encoding: str | None,
    memory_limit: str | None,
    threads: int | None,
    truth: dict | None,
    store: tuple[Path, str] | None = None,
) -> Dataset:
    """Validate ``source`` in a new private engine (and write the cache entry ``store``)."""
    workdir = new_workdir()
    wd = Path(workdir.name)
    db = str(wd / "engine.duckdb") if source_size(source) > _IN_MEMORY_BYTES else ":memory:"
    raw = _connect(db, wd, memory_limit, threads)
    try:
        t0 = time.perf_counter()
        info = copy_source(source, raw, wd, encoding=encoding, description=desc)
        validator = Validator(raw, info, lookup, timezone, min_date=min_date)
        validator.timings["open"] = time.perf_counter() - t0
        report, persons = validator.run(as_of, as_of_source)
    except BaseException:
        _release(raw, workdir)
        raise
    ibis_con = ibis.duckdb.from_connection(raw)
    ds = Dataset(
        ibis_con,
        validator.present,
        report,
        persons,
        as_of=report.as_of,
        timezone=timezone,
        currency=currency,
        truth=truth,
        source=source if isinstance(source, str | Path) else None,
    )
    ds.timings = dict(validator.timings)
    ds.as_of_source = validator.as_of_source
    ds._resources = weakref.finalize(ds, _release, raw, workdir)
    if store is not None:
        cdir, key = store
        t1 = time.perf_counter()
        meta = {
            "tables": ds.tables,
            "quality": report,
            "persons": persons,
            "as_of": report.as_of,
            "timezone": timezone,
            "currency": currency,
            "timings": dict(validator.timings),
            "as_of_source": validator.as_of_source,
        }
        path = _cache.write(raw, cdir, key, ds.tables, meta)
        ds.timings["cache_write"] = time.perf_counter() - t1
        ds.cache = {"key": key, "path": str(path) if path else None, "hit": False}
    return ds
