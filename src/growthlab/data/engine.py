"""Sources that live in another engine (Spark): validated and normalised *in* that engine.

A source may be a URL naming an engine instead of a folder (SPEC §6, issue #15):

- ``sc://HOST:PORT?database=DB`` — a Spark Connect server (Spark 3.4+, Databricks Connect
  style); the notebooks of a run each open their own session to it;
- ``pyspark://?database=DB&spark.master=local[2]`` — a classic PySpark session in this process
  (one notebook, or ``data.load`` in your own code; other query keys are Spark settings);
- or an open Ibis backend (``ibis.pyspark.connect(spark)``) passed to :func:`growthlab.data.load`.

Query keys: ``database`` (where the contract tables are; default the session's current one)
and ``scratch`` (the database the validated tables are written to; default
``growthlab_scratch``). Nothing is copied to the driver: :class:`EngineValidator` runs the
contract of :mod:`growthlab.data.validate` as Ibis expressions in the engine and materialises
the normalised tables once, as ``gl_<key>_<table>`` in the scratch database, where every later
load with the same key (same tables, row counts, latest times, parameters and code) reuses
them. Only aggregates, rule examples, the referral edges (graph rules) and the OneID inputs
(identity keys shared by two or more users) come back. docs/SPARK.md has the details.

Time zones: a Spark ``TIMESTAMP`` is an instant and is taken as such, whatever the session
time zone (the Ibis connection sets the session to UTC); ``TIMESTAMP_NTZ``, ``DATE`` and ISO
text without an offset are local wall-clock time in the run's ``timezone``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

from growthlab.data import cache as _cache
from growthlab.data import contract as C
from growthlab.data.contract import Problem
from growthlab.data.identity import stitch
from growthlab.data.source import RawTables
from growthlab.data.validate import Validator, _Col
from growthlab.errors import ConfigError
from growthlab.privacy import PERSONAL_DATA, _edge_pattern

#: database the validated tables are written to, unless the source names another
DEFAULT_SCRATCH = "growthlab_scratch"
#: format of the local metadata file of an engine entry
_META_FORMAT = 1
_SCHEMES = ("sc", "pyspark")
_ISO_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TRUE = ("true", "t", "1", "yes", "y", "是", "1.0")
_FALSE = ("false", "f", "0", "no", "n", "否", "0.0")


@dataclass(frozen=True)
class EngineSource:
    """A source named by URL: which engine, where its tables are, where scratch tables go."""

    url: str
    backend: str  # "spark"
    remote: str | None  # Spark Connect address (sc://host:port), None = in-process session
    database: str | None
    scratch: str
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What the manifest and page headers show (no credentials: query keys dropped)."""
        # host and port only: Spark Connect parameters (/;token=...) may hold secrets
        where = (
            f"sc://{urlsplit(self.remote).netloc.split('/')[0]}" if self.remote else "local session"
        )
        return f"{self.backend} {where} database={self.database or '(current)'}"


def is_engine_url(source: Any) -> bool:
    """Whether ``source`` is a string naming an engine (``sc://``, ``pyspark://``)."""
    return isinstance(source, str) and source.split("://", 1)[0].lower() in _SCHEMES


def parse(url: str) -> EngineSource:
    """The :class:`EngineSource` of an engine URL; ConfigError naming what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    database = query.pop("database", None) or None
    scratch = query.pop("scratch", None) or DEFAULT_SCRATCH
    for name, value in (("database", database), ("scratch", scratch)):
        if value is not None and not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_]\w*)?", value
        ):
            raise ConfigError(f"source {url!r}: {name}={value!r} is not a database name")
    if scheme == "sc":
        if not parts.hostname:
            raise ConfigError(f"source {url!r}: a Spark Connect URL needs sc://HOST:PORT")
        remote = f"sc://{parts.netloc}{parts.path}"
        return EngineSource(url, "spark", remote, database, scratch, query)
    if scheme == "pyspark":
        return EngineSource(url, "spark", None, database, scratch, query)
    raise ConfigError(f"source {url!r}: unknown engine (expected sc:// or pyspark://)")


def label(url: str) -> str:
    """:attr:`EngineSource.label` of an engine URL (what manifests record)."""
    return parse(url).label


def _reachable(spec: EngineSource, timeout: float = 10.0) -> None:
    """ConfigError unless the Spark Connect server accepts a TCP connection (the client itself
    retries an unreachable server for minutes before it says so)."""
    import socket

    parts = urlsplit(spec.remote or "")
    host, port = parts.hostname, parts.port or 15002
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise ConfigError(
            f"source {spec.label}: no Spark Connect server answers at {host}:{port} ({err}); "
            "is it running (start-connect-server.sh) and is the address right?"
        ) from err


def list_tables(con: Any, database: str | None) -> set[str]:
    """The tables of ``database`` (the session's current one when None); ConfigError naming
    the databases there are when it does not exist."""
    try:
        return set(con.list_tables(database=database) if database else con.list_tables())
    except Exception as err:  # noqa: BLE001 - each engine raises its own kind
        try:
            known = ", ".join(sorted(con.list_databases())[:30]) or "none"
        except Exception:  # noqa: BLE001
            known = "unknown"
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"database {database!r}: cannot list its tables ({first}); databases: {known}"
        ) from err


def connect(spec: EngineSource) -> ibis.BaseBackend:
    """An Ibis connection to the engine of ``spec`` (a new Spark Connect session, or the
    in-process Spark session)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:  # pragma: no cover - pyspark is a dependency
        raise ConfigError("Spark sources need pyspark (pip install pyspark)") from err
    builder = SparkSession.builder
    if spec.remote:
        _reachable(spec)
        builder = builder.remote(spec.remote)
    for key, value in spec.conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as err:  # noqa: BLE001 - connection failures of any kind
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"source {spec.url!r}: cannot open the Spark session: {first}") from err
    return ibis.pyspark.connect(session)


# -- the contract as Ibis expressions ----------------------------------------------------
def _spark_timestamp_kinds(con: Any, table: str, database: str | None) -> dict[str, str]:
    """Spark's own type of each timestamp column (``timestamp`` = an instant, ``timestamp_ntz``
    = wall-clock time); Ibis maps both to a naive timestamp, so it cannot tell them apart."""
    session = getattr(con, "_session", None)
    if session is None:
        return {}
    name = f"{database}.{table}" if database else table
    return {
        f.name: f.dataType.typeName()
        for f in session.table(name).schema.fields
        if "timestamp" in f.dataType.typeName()
    }


def _is_spark(con: Any) -> bool:
    return getattr(con, "name", "") == "pyspark"


@ibis.udf.scalar.builtin(name="monotonically_increasing_id")
def _spark_row_id() -> dt.int64:  # pragma: no cover - runs in Spark
    """Spark's unique (not contiguous) 64-bit row id."""


@ibis.udf.scalar.builtin(name="to_utc_timestamp")
def _to_utc(ts: dt.timestamp, tz: str) -> dt.timestamp:  # pragma: no cover - runs in Spark
    """Spark: wall-clock time in zone ``tz`` -> UTC."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _from_utc(ts: dt.timestamp, tz: str) -> dt.timestamp:  # pragma: no cover - runs in Spark
    """Spark: UTC -> wall-clock time in zone ``tz``."""


class _Expr:
    """Per-backend spellings of the few things Ibis does not translate alike."""

    def __init__(self, con: Any, timezone: str, offset: int | None):
        self.spark = _is_spark(con)
        self.timezone = timezone
        self.offset = offset
        if offset is None and not self.spark:
            raise ConfigError(
                f"timezone: {timezone!r} has daylight saving time; on this engine only "
                "fixed-offset zones are supported (Spark supports any zone)"
            )

    def row_id(self, t: ibis.Table):
        """A unique 1-based row id (Spark: no row order exists, so ids are not contiguous)."""
        if self.spark:
            return _spark_row_id() + 1
        return (ibis.row_number() + 1).cast("int64")

    def local_to_utc(self, x):
        """Naive local wall-clock time -> naive UTC."""
        if self.offset is not None:
            return x - ibis.interval(seconds=self.offset)
        return _to_utc(x, self.timezone)

    def utc_to_local_date(self, x):
        """The local calendar day of a naive UTC instant."""
        if self.offset is not None:
            return (x + ibis.interval(seconds=self.offset)).date()
        return _from_utc(x, self.timezone).date()

    def mask(self, x):
        """:func:`growthlab.privacy.mask_personal` in the engine (same regexes and passes)."""
        for kind in PERSONAL_DATA:
            rx, passes = _edge_pattern(kind)
            repl = f"$1[{kind}]$3" if self.spark else f"\\1[{kind}]\\3"
            for _ in range(passes):
                x = x.re_replace(rx, repl)
        return x


def _text(x, ty: dt.DataType):
    """The column as text, empty -> NULL (integral floats without '.0'), as
    :func:`growthlab.data.validate._text` does for typed sources."""
    if ty.is_floating():
        whole = (x == x.floor()) & (x.abs() < 1e15)
        return ibis.ifelse(whole, x.cast("int64").cast("string"), x.cast("string"))
    if ty.is_string():
        return x.nullif("")
    return x.cast("string").strip().nullif("")


def _column(
    e: _Expr, col: C.Column, x, ty: dt.DataType, instant: bool, lookup: dict[str, str]
) -> tuple[Any, Any, bool]:
    """(source, parsed, typed) Ibis expressions of one contract column; the rules of
    :func:`growthlab.data.validate._column_sql` for engine types and ISO text."""
    k = col.kind
    txt = _text(x, ty)
    if k in (C.ID, C.TEXT):
        parsed = e.mask(txt) if (k == C.TEXT or col.name in C.LABEL_IDS) else txt
        return parsed, parsed, False
    if k == C.TIMESTAMP:
        if ty.is_timestamp():
            parsed = x.cast(dt.Timestamp()) if (instant or ty.timezone) else e.local_to_utc(x)
            return x, parsed, False
        if ty.is_date():
            return x, e.local_to_utc(x.cast(dt.Timestamp())), False
        ok = txt.re_search(_ISO_TS)
        parsed = ibis.ifelse(ok, e.local_to_utc(txt.try_cast(dt.Timestamp())), ibis.null())
        return txt, parsed.cast(dt.Timestamp()), True
    if k == C.DATE:
        if ty.is_date():
            return x, x, False
        if ty.is_timestamp():
            return x, (e.utc_to_local_date(x) if (instant or ty.timezone) else x.date()), False
        ok = txt.re_search(_ISO_DATE)
        return txt, ibis.ifelse(ok, txt.try_cast(dt.Date()), ibis.null()).cast(dt.Date()), True
    if k == C.FLOAT:
        if ty.is_numeric():
            return x, x.cast("float64"), False
        return txt, txt.try_cast("float64"), True
    if k == C.BOOL:
        if ty.is_boolean():
            return x, x, False
        if ty.is_numeric():
            return x, x != 0, False
        low = txt.lower()
        parsed = ibis.cases((low.isin(_TRUE), True), (low.isin(_FALSE), False), else_=None)
        return txt, parsed.cast("boolean"), True
    if k == C.CHANNEL:
        clean = e.mask(txt.replace(C.PATH_SEPARATOR, "›"))
        parsed = clean.lower().substitute(lookup, else_=clean) if lookup else clean
        return clean, parsed, False
    if k == C.STATUS:
        low = txt.lower()
        parsed = ibis.ifelse(txt.isnull(), "paid", low.substitute(C.STATUS_SYNONYMS, else_=low))
        return txt, parsed, False
    raise ValueError(k)  # pragma: no cover - contract kinds are closed


class EngineValidator(Validator):
    """:class:`~growthlab.data.validate.Validator` over tables of another Ibis backend.

    The rules, their order, messages and the QualityReport are the base class's; this class
    replaces the engine operations (parsing views, duplicates, materialising, OneID) by Ibis
    expressions written to ``scratch`` as ``<prefix><name>``.
    """

    def __init__(
        self,
        con: Any,
        database: str | None,
        scratch: str,
        prefix: str,
        lookup: dict[str, str],
        timezone: str,
        min_date=C.DEFAULT_MIN_DATE,
    ):
        self.raw = None
        self.con = con
        self.database = database
        self.scratch = scratch
        self.prefix = prefix
        found = list_tables(con, database)
        info = RawTables()
        for t in C.TABLES:
            if t in found:
                info.tables.append(t)
                info.origin[t] = f"{database}.{t}" if database else t
        self._init_state(info, lookup, timezone, min_date)
        self.e = _Expr(con, timezone, self.offset)
        self._written: list[str] = []

    # -- names in the scratch database -------------------------------------------------------
    def _name(self, name: str) -> str:
        return self.prefix + name.lstrip("_")

    def tbl(self, name: str) -> ibis.Table:
        if name not in self._cache:
            self._cache[name] = self.con.table(self._name(name), database=self.scratch)
        return self._cache[name]

    def _store(self, name: str, expr: ibis.Table) -> None:
        self.con.create_table(self._name(name), expr, database=self.scratch, overwrite=True)
        self._cache.pop(name, None)
        if name not in self._written:
            self._written.append(name)

    def _final_table(self, t: str) -> ibis.Table:
        return self.tbl(t)

    def _drop(self, name: str) -> None:
        try:
            self.con.drop_table(self._name(name), database=self.scratch, force=True)
        except Exception:  # noqa: BLE001 - best effort: a left-over scratch table costs space only
            pass
        self._cache.pop(name, None)

    def _drop_final(self, t: str) -> None:
        self._drop(t)

    # -- step 1: parse -----------------------------------------------------------------------
    def _views(self) -> None:
        for t in list(self.info.tables):
            src = self.con.table(t, database=self.database)
            schema = src.schema()
            spec = C.TABLES[t]
            kinds = _spark_timestamp_kinds(self.con, t, self.database)
            names = set(schema.names)
            self.info.types[t] = {c: str(schema[c]) for c in schema.names if c in spec_names(t)}
            dropped = [c for c in schema.names if c not in spec_names(t)]
            if dropped:  # never read: named in a note
                self.info.dropped[t] = dropped
            cols: dict[str, _Col] = {}
            select: dict[str, Any] = {"_row": self.e.row_id(src)}
            out: list[str] = []
            for c in spec:
                if c.name not in names:
                    continue
                x = src[c.name]
                instant = kinds.get(c.name) == "timestamp"
                source, parsed, typed = _column(self.e, c, x, schema[c.name], instant, self.lookup)
                cols[c.name] = _Col(c.name, c.kind, c.required, "", "", typed)
                select[c.name] = parsed
                out.append(c.name)
                if c.kind == C.CHANNEL:
                    select[c.name + "_raw"] = source
                    out.append(c.name + "_raw")
                if c.required:
                    select["_nul_" + c.name] = source.isnull()
                if typed:
                    select["_bad_" + c.name] = source.notnull() & parsed.isnull()
            self.cols[t] = cols
            self.extra[t] = []
            self.output[t] = out
            self._store(f"_n_{t}", src.select(**select))
            self.n_rows[t] = int(self.view(t).count().to_pyarrow().as_py())
            for c in spec:
                if c.required and c.name not in names:
                    detail = (
                        f"required column is missing; {self.info.origin[t]} has the column(s) "
                        + ", ".join(repr(n) for n in schema.names[:30])
                    )
                    self.problems.append(Problem(t, c.name, C.R_COLUMN, 0, detail=detail))

    def _release_scans(self) -> None:
        """Nothing to release: the engine's tables are read where they are."""

    def _source_values(self, t: str, column: str, rows: tuple[int, ...]) -> list[tuple[int, str]]:
        """None: an engine table has no row order to find the offending rows again by."""
        return []

    # -- step 2/3: duplicates, quarantine, final tables ---------------------------------------
    def _duplicates(self) -> None:
        for t in self.info.tables:
            v = self.view(t)
            data = self.output[t]
            if not data:
                self._store(f"_dup_{t}", v.filter(ibis.literal(False)).select("_row"))
                continue
            w = ibis.window(group_by=[v[c] for c in data], order_by=v._row)
            ranked = v.select("_row", _rn=ibis.row_number().over(w))
            self._store(f"_dup_{t}", ranked.filter(ranked._rn > 0).select("_row"))

    def _quarantine_problems(self, t: str) -> list[Problem]:
        q = self.tbl(f"_q_{t}")
        counts = q.group_by(["rule", "column"]).aggregate(n=q.count()).to_pandas()
        w = ibis.window(group_by=[q.rule, q.column], order_by=q._row)
        ex = q.mutate(_rn=ibis.row_number().over(w))
        ex = ex.filter(ex._rn < 5).select("rule", "column", "_row").to_pandas()
        out = []
        for r in counts.itertuples(index=False):
            rows = ex.loc[(ex["rule"] == r.rule) & (ex["column"] == r.column), "_row"]
            out.append(
                Problem(
                    t,
                    r.column or None,
                    r.rule,
                    int(r.n),
                    tuple(sorted(int(x) for x in rows)),
                    self._details.get(r.rule, ""),
                )
            )
        order = {rule: i for i, rule in enumerate(C.QUARANTINE_RULES)}
        return sorted(out, key=lambda p: (order.get(p.rule, 99), p.column or ""))

    def _final(self, t: str) -> None:
        v = self.view(t).anti_join(self.tbl(f"_q_{t}"), "_row")
        self._store(t, v.select(*self.output[t]))

    def _count(self, t: str) -> int:
        return int(self._final_table(t).count().to_pyarrow().as_py())

    def _coverage(self, t: str) -> tuple:
        tcol = C.TIME_COLUMNS.get(t) or ("date" if t == "costs" else None)
        if tcol and tcol in self.cols[t] and t in self.present:
            f = self._final_table(t)
            row = f.aggregate(lo=f[tcol].min(), hi=f[tcol].max()).to_pyarrow().to_pylist()[0]
            return row["lo"], row["hi"]
        return None, None

    # -- step 4: OneID and the users table --------------------------------------------------
    def _persons_table(self) -> None:
        if "identities" in self.present:
            i = self._final_table("identities")
            keys = i.filter(i.id_value.notnull())
            shared = (
                keys.group_by(["id_type", "id_value"])
                .aggregate(_n=keys.user_id.nunique())
                .filter(lambda s: s._n > 1)
            )
            ident = (
                i.semi_join(
                    shared,
                    [i.id_type.identical_to(shared.id_type), i.id_value == shared.id_value],
                )
                .select("user_id", "id_type", "id_value")
                .to_pandas()
            )
        else:
            ident = pd.DataFrame(columns=["user_id", "id_type", "id_value"])
        merged = stitch(ident["user_id"].drop_duplicates(), ident)
        self._mark("identity")
        persons = pd.DataFrame(
            {
                "user_id": pd.array(merged["user_id"].tolist(), dtype="string"),
                "person_id": pd.array(merged["person_id"].tolist(), dtype="string"),
            }
        )
        schema = ibis.schema({"user_id": "string", "person_id": "string"})
        self._store("_persons", ibis.memtable(persons, schema=schema))

    def _users_table(self) -> pd.DataFrame:
        v = self.view("users").anti_join(self.tbl("_q_users"), "_row")
        p = self.tbl("_persons")
        j = v.left_join(p, v.user_id == p.user_id)
        cols = {c: j[c] for c in self.output["users"]}
        cols["person_id"] = ibis.coalesce(j.person_id, j.user_id)
        if "referrals" in self.present:
            r = self._final_table("referrals").select(_invitee=lambda r: r.invitee_id).distinct()
            j = j.left_join(r, j.user_id == r._invitee)
            cols = {c: j[c] for c in self.output["users"]}
            cols["person_id"] = ibis.coalesce(j.person_id, j.user_id)
            cols["referred"] = j._invitee.notnull()
        else:
            cols["referred"] = ibis.literal(False)
        self._store("users", j.select(**cols))
        return self._final_table("users").select("user_id", "person_id").to_pandas()

    def _cleanup(self) -> None:
        for name in list(self._written):
            if name.startswith("_"):
                self._drop(name)
        self._written = [n for n in self._written if not n.startswith("_")]


def spec_names(t: str) -> set[str]:
    """The contract column names of table ``t``."""
    return {c.name for c in C.TABLES[t]}


# -- the engine's entry: key, reuse, load --------------------------------------------------
def fingerprint(con: Any, database: str | None) -> dict[str, Any]:
    """What identifies the engine's tables for the cache key: per contract table its columns
    and types, row count and latest main time (one aggregate query per table)."""
    found = list_tables(con, database)
    out: dict[str, Any] = {}
    for t in C.TABLES:
        if t not in found:
            continue
        src = con.table(t, database=database)
        metrics: dict[str, Any] = {"n": src.count()}
        tcol = C.TIME_COLUMNS.get(t)
        if tcol in src.columns:
            metrics["latest"] = src[tcol].max().cast("string")
        row = src.aggregate(**metrics).to_pyarrow().to_pylist()[0]
        out[t] = {"schema": [[c, str(ty)] for c, ty in src.schema().items()], **row}
    return out


def entry_key(spec_label: str, tables: dict[str, Any], params: dict[str, Any]) -> str:
    """The key of an engine entry: code, engine, table fingerprints and load parameters."""
    blob = json.dumps(
        [_cache.code_fingerprint(), spec_label, tables, params], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _meta_path(cdir: Path, key: str) -> Path:
    return cdir / f"engine-{key}.pkl"


def read_meta(cdir: Path | None, key: str) -> dict[str, Any] | None:
    """The local metadata of engine entry ``key`` (QualityReport, persons, ...), if any."""
    if cdir is None:
        return None
    path = _meta_path(cdir, key)
    try:
        with open(path, "rb") as fh:
            meta = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError):
        return None
    return meta if meta.get("format") == _META_FORMAT and meta.get("key") == key else None


def write_meta(cdir: Path | None, key: str, meta: dict[str, Any]) -> None:
    """Write the local metadata of engine entry ``key`` privately (best effort)."""
    if cdir is None:
        return
    try:
        _cache.ensure_dir(cdir)
        tmp = cdir / f".engine-{key}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({**meta, "format": _META_FORMAT, "key": key}, fh)
        os.replace(tmp, _meta_path(cdir, key))
    except OSError:
        pass


def tables_exist(con: Any, scratch: str, prefix: str, tables: list[str]) -> bool:
    """Whether the scratch database still holds the entry's tables."""
    try:
        have = set(con.list_tables(database=scratch))
    except Exception:  # noqa: BLE001 - no scratch database yet
        return False
    return all(prefix + t in have for t in tables)


def ensure_scratch(con: Any, scratch: str) -> None:
    """Create the scratch database when missing."""
    try:
        con.create_database(scratch, force=True)
    except Exception as err:  # noqa: BLE001 - permissions, catalogs
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"scratch database {scratch!r}: cannot be created ({first}); name a writable one "
            "with ?scratch=NAME in the source URL"
        ) from err


__all__ = [
    "DEFAULT_SCRATCH",
    "EngineSource",
    "EngineValidator",
    "connect",
    "entry_key",
    "fingerprint",
    "is_engine_url",
    "parse",
]
