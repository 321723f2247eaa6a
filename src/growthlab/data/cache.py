"""Validated-load cache: reuse the result of ``growthlab.data.load`` across processes.

Loading a source means reading, validating and normalising every table (seconds to minutes).
A report runs several notebooks on the same source, each in its own kernel, so the first load
writes its validated tables to ``<cache_dir>/<key>.duckdb`` (one DuckDB file holding the tables
plus a ``_growthlab_meta`` row with the pickled metadata: quality report, persons, as_of, ...)
and later loads with the same key attach that file read-only. Beside an entry, the folder
``<key>.shared`` keeps intermediate tables derived from it (:func:`write_side`, one Parquet file
per table; :mod:`growthlab.data.shared` decides which), so a later process reads them instead of
deriving them again; they go with the entry.

The key (:func:`cache_key`) is a SHA-256 over everything the result depends on: the source
files (path, size, mtime), every load parameter (``as_of=None`` also adds the UTC date, since
the default as_of depends on the clock), the merged channel mapping, the growthlab and DuckDB
versions and the text of ``growthlab/data/*.py`` + ``channels.yaml``. Dict and connection sources
are not cached. Entries are written under a temporary name and renamed (atomic); a per-key file
lock makes concurrent first loads wait for one writer instead of all validating. An unreadable
entry is ignored and rebuilt. The cache directory is ``cache_dir=`` or ``$GROWTHLAB_CACHE_DIR``.

Entries hold validated personal data, so they are private to the user (:func:`ensure_dir`): the
folder is created with mode 0700 (an existing folder that holds nothing but cache files is
tightened to it), and entries, temporary files and lock files are 0600 whatever the umask. A
folder that also holds other files is treated as shared: its mode is left alone, but the cache's
own files are still 0600.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import pickle
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from growthlab.privacy import make_private, private_dir

ENV = "GROWTHLAB_CACHE_DIR"
#: bump when the layout of a cache entry changes
FORMAT = 1
SUFFIX = ".duckdb"
META_TABLE = "_growthlab_meta"
_LOCK_TIMEOUT = 1800.0
_KEY = re.compile(r"[0-9a-f]{32}")
_ENTRY = re.compile(r"[0-9a-f]{32}" + re.escape(SUFFIX))
#: every name this module writes: entries, ``.<key>.lock``, ``.<key>.<pid>.<hex>.tmp[.wal]``
#: the folder of the tables derived from an entry: ``<key>.shared``
SIDE_SUFFIX = ".shared"
_SIDE = re.compile(r"[0-9a-f]{32}" + re.escape(SIDE_SUFFIX))
_OWN = re.compile(r"[0-9a-f]{32}" + re.escape(SUFFIX) + r"|\.[0-9a-f]{32}\..+|" + _SIDE.pattern)
_DIR_MODE = 0o700
_FILE_MODE = 0o600


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def resolve_dir(cache_dir: str | Path | None) -> Path | None:
    """``cache_dir`` if given, else ``$GROWTHLAB_CACHE_DIR``, else None (no caching)."""
    if cache_dir is None:
        cache_dir = os.environ.get(ENV) or None
    return None if cache_dir is None else Path(cache_dir)


def ensure_dir(cache_dir: str | Path) -> Path:
    """Create ``cache_dir`` private (0700, and any missing parents too) and secure what is there.

    An existing folder that this user owns and that holds only cache files (or nothing) belongs
    to the cache and is tightened to 0700; a folder with other files in it is shared and keeps
    its mode. Either way the cache's own files in it are made 0600 (entries written by older
    versions were world-readable). Raises OSError when the folder cannot be created.
    """
    cache_dir = Path(cache_dir)
    private_dir(cache_dir, tighten=False)  # an existing folder: tightened below if it is ours
    if os.name != "posix":
        return cache_dir
    names = os.listdir(cache_dir)
    for name in names:
        if _OWN.fullmatch(name):
            make_private(cache_dir / name, _DIR_MODE if _SIDE.fullmatch(name) else _FILE_MODE)
    if all(_OWN.fullmatch(n) for n in names):
        make_private(cache_dir, _DIR_MODE)
    return cache_dir


@contextlib.contextmanager
def _private_umask() -> Iterator[None]:
    """Files created inside get no group/other permissions (the umask is per process)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the growthlab, DuckDB and Ibis versions and the data layer's source text
    (Ibis compiles the queries behind the tables kept beside an entry)."""
    import ibis

    import growthlab

    h = hashlib.sha256()
    version = getattr(growthlab, "__version__", "?")
    h.update(f"growthlab={version};duckdb={duckdb.__version__};ibis={ibis.__version__}".encode())
    here = Path(__file__).parent
    for f in sorted([*here.glob("*.py"), here / "channels.yaml"]):
        h.update(f.name.encode() + b"\0")
        with contextlib.suppress(OSError):
            h.update(f.read_bytes())
    return h.hexdigest()


def _files(source: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime_ns) of every file the source consists of."""
    if source.is_file():
        st = source.stat()
        return [(source.name, st.st_size, st.st_mtime_ns)]
    out = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = Path(root) / name
            with contextlib.suppress(OSError):
                st = p.stat()
                out.append((str(p.relative_to(source)), st.st_size, st.st_mtime_ns))
    return out


def cache_key(
    source: Any,
    *,
    timezone: str,
    as_of: Any,
    currency: str,
    lookup: Mapping[str, str],
    encoding: str | None,
    today: dt.date | None = None,
) -> str | None:
    """The cache key of a load, or None when the source cannot be cached.

    Only folders and database files (``str``/``Path``) are cached. ``lookup`` is the merged
    channel mapping (shipped ``channels.yaml`` + ``channel_map``), so edits to either change it.
    ``today`` (default: the current UTC date) enters the key only when ``as_of`` is None.
    """
    if not isinstance(source, str | Path):
        return None
    path = Path(source)
    if not path.exists():
        return None
    path = path.resolve()
    if as_of is None:
        today = today or dt.datetime.now(dt.UTC).date()
        as_of_key: Any = ["default", today.isoformat()]
    else:
        as_of_key = [type(as_of).__name__, repr(as_of)]
    material = {
        "format": FORMAT,
        "code": code_fingerprint(),
        "source": str(path),
        "files": _files(path),
        "timezone": timezone,
        "as_of": as_of_key,
        "currency": currency,
        "channels": sorted(lookup.items()),
        "encoding": encoding,
    }
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def entry_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}{SUFFIX}"


@contextlib.contextmanager
def key_lock(cache_dir: Path, key: str) -> Iterator[bool]:
    """Hold the per-key lock (yields False when it could not be had: proceed without it)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(cache_dir / f".{key}.lock"), mode=_FILE_MODE)
    try:
        ensure_dir(cache_dir)
        lock.acquire(timeout=_LOCK_TIMEOUT)
    except (Timeout, OSError):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def write(
    raw: duckdb.DuckDBPyConnection,
    cache_dir: Path,
    key: str,
    tables: Sequence[str],
    meta: dict[str, Any],
) -> Path | None:
    """Copy ``tables`` of the engine ``raw`` and ``meta`` into the entry for ``key``.

    Written to a temporary file in ``cache_dir`` (created under a 0077 umask and set to 0600
    before the rename, so the entry is never readable by others) and renamed into place;
    returns the entry's path, or None when it could not be written (the cache is best effort,
    never an error).
    """
    tmp = cache_dir / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    alias = f"_gl_cache_{secrets.token_hex(4)}"
    attached = False
    try:
        ensure_dir(cache_dir)
        with _private_umask():  # the temporary file and its WAL
            raw.execute(f"ATTACH {_lit(str(tmp))} AS {alias}")
            attached = True
            for t in tables:
                raw.execute(f"CREATE TABLE {alias}.main.{_q(t)} AS SELECT * FROM main.{_q(t)}")
            raw.execute(
                f"CREATE TABLE {alias}.main.{META_TABLE} (format INTEGER, key VARCHAR, meta BLOB)"
            )
            raw.execute(
                f"INSERT INTO {alias}.main.{META_TABLE} VALUES (?, ?, ?)",
                [FORMAT, key, pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL)],
            )
            raw.execute(f"DETACH {alias}")
            attached = False
        os.chmod(tmp, _FILE_MODE)  # whatever the umask did: private before it becomes visible
        final = entry_path(cache_dir, key)
        # tables derived from an earlier entry of this key (a damaged or deleted entry written
        # again, e.g. after the data files were edited in place) must not answer for this one
        shutil.rmtree(cache_dir / f"{key}{SIDE_SUFFIX}", ignore_errors=True)
        os.replace(tmp, final)
        return final
    except Exception:  # noqa: BLE001 - a full disk or read-only folder only costs the speed-up
        if attached:
            with contextlib.suppress(Exception):
                raw.execute(f"DETACH {alias}")
        for f in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(OSError):
                f.unlink()
        return None


def attach(raw: duckdb.DuckDBPyConnection, cache_dir: Path, key: str) -> dict[str, Any] | None:
    """Attach the entry for ``key`` read-only to ``raw`` and expose its tables as views.

    Returns the stored metadata, or None (nothing attached) when the entry is missing,
    unreadable, from another format or for another key.
    """
    path = entry_path(cache_dir, key)
    if not path.is_file():
        return None
    alias = "_gl_cache"
    try:
        raw.execute(f"ATTACH {_lit(str(path))} AS {alias} (READ_ONLY)")
    except Exception:  # noqa: BLE001 - corrupt or truncated file: rebuild
        return None
    try:
        row = raw.execute(f"SELECT format, key, meta FROM {alias}.main.{META_TABLE}").fetchone()
        if row is None or row[0] != FORMAT or row[1] != key:
            raise ValueError("stale cache entry")
        meta = pickle.loads(row[2])  # noqa: S301 - our own file in the user's cache folder
        present = {
            r[0]
            for r in raw.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]
            ).fetchall()
        }
        tables = list(meta["tables"])
        if not set(tables) <= present:
            raise ValueError("cache entry lacks tables")
        for t in tables:
            raw.execute(
                f"CREATE OR REPLACE VIEW main.{_q(t)} AS SELECT * FROM {alias}.main.{_q(t)}"
            )
    except Exception:  # noqa: BLE001
        with contextlib.suppress(Exception):
            raw.execute(f"DETACH {alias}")
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used, for prune()
    return meta


def side_path(cache_dir: Path, key: str, name: str) -> Path:
    """The file of the derived table ``name`` (``[0-9a-z_]+``) of entry ``key``."""
    if not re.fullmatch(r"[0-9a-z_]+", name):
        raise ValueError(f"derived table name {name!r}")
    return cache_dir / f"{key}{SIDE_SUFFIX}" / f"{name}.parquet"


def write_side(cache_dir: Path, key: str, name: str, writer: Callable[[Path], Any]) -> Path | None:
    """Keep a table derived from entry ``key`` beside it: ``writer(path)`` writes it to a
    temporary file in the entry's private ``<key>.shared`` folder (0700; the file 0600), which
    is then renamed into place (atomic: concurrent writers of the same table each leave a
    whole file). Returns the path, or None when it could not be written (best effort)."""
    final = side_path(cache_dir, key, name)
    tmp = final.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        private_dir(final.parent, tighten=True)
        with _private_umask():
            writer(tmp)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, final)
        return final
    except Exception:  # noqa: BLE001 - a full disk or read-only folder only costs the speed-up
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None


def prune(cache_dir: str | Path, keep: int = 4, *, older_than_s: float = 3600.0) -> list[Path]:
    """Delete all but the ``keep`` most recently used entries; returns the deleted paths.

    Also removes temporary files and lock files left by writers that died (older than
    ``older_than_s``), and makes the folder and its files private (:func:`ensure_dir`). Readers
    that still have a deleted entry open keep reading it (POSIX).
    """
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    with contextlib.suppress(OSError):
        ensure_dir(cache_dir)  # also tightens entries written by older versions
    entries = []
    for f in cache_dir.glob(f"*{SUFFIX}"):
        if not _ENTRY.fullmatch(f.name):  # only files this module wrote
            continue
        with contextlib.suppress(OSError):
            entries.append((f.stat().st_mtime, f))
    entries.sort(reverse=True)
    removed = []
    now = time.time()
    for _, f in entries[keep:]:
        with contextlib.suppress(OSError):
            f.unlink()
            removed.append(f)
    live = {f.name.removesuffix(SUFFIX) for _, f in entries[:keep]}
    for d in cache_dir.glob(f"*{SIDE_SUFFIX}"):  # derived tables go with their entry
        if _SIDE.fullmatch(d.name) and d.name.removesuffix(SIDE_SUFFIX) not in live:
            shutil.rmtree(d, ignore_errors=True)
            if not d.exists():
                removed.append(d)
    for f in [*cache_dir.glob(".*.tmp"), *cache_dir.glob(".*.tmp.wal"), *cache_dir.glob(".*.lock")]:
        key = f.name[1:].split(".", 1)[0]
        if not _KEY.fullmatch(key):
            continue
        with contextlib.suppress(OSError):
            if key not in live and now - f.stat().st_mtime > older_than_s:
                f.unlink()
                removed.append(f)
    return removed
