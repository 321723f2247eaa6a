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

import base64
import hashlib
import json
import os
import pickle
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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
#: format of an entry's metadata (its marker table)
_META_FORMAT = 2
#: the full engine URL of a run (credentials included) for the run's own processes; pages,
#: manifests and notebook parameters carry only its :func:`redact`-ed form
URL_ENV = "GROWTHLAB_ENGINE_URL"
#: the runner's fingerprint of the engine's tables ({label: fingerprint}): every notebook of a
#: run analyses the snapshot the run validated, even while new rows arrive
SNAPSHOT_ENV = "GROWTHLAB_ENGINE_SNAPSHOT"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SCHEMES = ("sc", "pyspark")
_D = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
_ISO_TS = rf"^{_D}([ T][0-9]{{1,2}}:[0-9]{{2}}(:[0-9]{{2}}(\.[0-9]{{1,9}})?)?)?$"
#: ISO 8601 with an offset or Z: an instant (the engine's cast honours the offset)
_ISO_INSTANT = rf"^{_D}[ T][0-9]{{1,2}}:[0-9]{{2}}(:[0-9]{{2}}(\.[0-9]{{1,9}})?)?(Z|z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$"
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
        """What manifests show: engine, host:port and database (never credentials)."""
        where = _host_port(self.remote) if self.remote else "local session"
        return f"{self.backend} {where} database={self.database or '(current)'}"


def _host_port(url: str) -> str:
    """``scheme://host:port`` of a URL: no user, password, path parameters or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def redact(url: str) -> str:
    """The engine URL without anything that may be a secret: ``scheme://host:port`` and the
    ``database``/``scratch`` keys only (Spark Connect ``/;token=...``, ``user:password@`` and
    Spark settings dropped). What pages, manifests and notebook parameters show; the run's
    processes find the full URL in :data:`URL_ENV`.

    >>> redact("sc://alice:pw@spark.internal:15002/;token=T?database=crm")
    'sc://spark.internal:15002?database=crm'
    """
    keep = [(k, v) for k, v in parse_qsl(urlsplit(url).query) if k in ("database", "scratch")]
    return _host_port(url) + ("?" + urlencode(keep) if keep else "")


def is_engine_url(source: Any) -> bool:
    """Whether ``source`` is a string naming an engine (``sc://``, ``pyspark://``)."""
    return isinstance(source, str) and source.split("://", 1)[0].lower() in _SCHEMES


def parse(url: str) -> EngineSource:
    """The :class:`EngineSource` of an engine URL; ConfigError naming what is wrong. A
    :func:`redact`-ed URL of the run's own source is completed from :data:`URL_ENV`."""
    full = os.environ.get(URL_ENV)
    if full and full != url and is_engine_url(full) and redact(full) == url:
        url = full
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    database = query.pop("database", None) or None
    scratch = query.pop("scratch", None) or DEFAULT_SCRATCH
    for name, value in (("database", database), ("scratch", scratch)):
        if value is not None and not re.fullmatch(_NAME, value):
            raise ConfigError(
                f"source {redact(url)!r}: {name}={value!r} is not a database name (letters, "
                "digits and _, in the session's catalog)"
            )
    if scheme == "sc":
        if not parts.hostname:
            raise ConfigError(f"source {redact(url)!r}: a Spark Connect URL needs sc://HOST:PORT")
        remote = f"sc://{parts.netloc}{parts.path}"
        return EngineSource(url, "spark", remote, database, scratch, query)
    if scheme == "pyspark":
        return EngineSource(url, "spark", None, database, scratch, query)
    raise ConfigError(f"source {redact(url)!r}: unknown engine (expected sc:// or pyspark://)")


def label(url: str) -> str:
    """:attr:`EngineSource.label` of an engine URL (what manifests record)."""
    return parse(url).label


def _first_line(err: BaseException, width: int = 300) -> str:
    """An engine error's first line (Spark appends a JVM stack trace), or its type."""
    text = str(err).strip()
    return text.splitlines()[0][:width] if text else type(err).__name__


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
        first = _first_line(err, 200)
        raise ConfigError(
            f"database {database!r}: cannot list its tables ({first}); databases: {known}"
        ) from err


def connect(spec: EngineSource) -> ibis.BaseBackend:
    """An Ibis connection to the engine of ``spec`` (a new Spark Connect session, or the
    in-process Spark session)."""
    try:
        if spec.remote:
            # the Connect builder itself: pyspark's generic builder would switch the whole
            # process to Connect mode (SPARK_CONNECT_MODE_ENABLED), breaking classic sessions
            from pyspark.sql.connect.session import SparkSession
        else:
            from pyspark.sql import SparkSession
    except ImportError as err:  # pragma: no cover - pyspark is a dependency
        raise ConfigError(
            "Spark sources need pyspark and the Spark Connect client: "
            "pip install 'growthlab[spark]'"
        ) from err
    builder = SparkSession.builder
    if spec.remote:
        _reachable(spec)
        builder = builder.remote(spec.remote)
    for key, value in spec.conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as err:  # noqa: BLE001 - connection failures of any kind
        first = _first_line(err)
        raise ConfigError(f"source {spec.label}: cannot open the Spark session: {first}") from err
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
        # Java resolves the repeated hour when daylight saving ends to the earlier offset,
        # DuckDB (ICU) to the later one: take the later, as the file path does
        u = _to_utc(x, self.timezone)
        alt = u + ibis.interval(hours=1)
        return ibis.ifelse(_from_utc(alt, self.timezone) == x, alt, u)

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


def _text(x, ty: dt.DataType, trim: bool = True):
    """The column as text, empty -> NULL (integral floats without '.0'; strings trimmed unless
    ``trim`` is False), as :func:`growthlab.data.validate._text` does."""
    if ty.is_floating():
        whole = (x == x.floor()) & (x.abs() < 1e15)
        # NaN/inf never reach the integer cast (DuckDB refuses to cast them)
        as_int = ibis.ifelse(whole, x, 0).cast("int64").cast("string")
        return ibis.ifelse(whole, as_int, x.cast("string"))
    if ty.is_decimal():
        return x.cast("string")
    if ty.is_string() and not trim:
        return x.nullif("")
    return x.cast("string").strip().nullif("")


def _column(
    e: _Expr, col: C.Column, x, ty: dt.DataType, instant: bool, lookup: dict[str, str]
) -> tuple[Any, Any, bool]:
    """(source, parsed, typed) Ibis expressions of one contract column; the rules of
    :func:`growthlab.data.validate._column_sql` for engine types and ISO text."""
    k = col.kind
    txt = _text(x, ty)
    if k in (C.ID, C.TEXT):  # typed sources: ids and free text as they are
        raw = _text(x, ty, trim=False)
        parsed = e.mask(raw) if (k == C.TEXT or col.name in C.LABEL_IDS) else raw
        return parsed, parsed, False
    if k == C.TIMESTAMP:
        if ty.is_timestamp():
            parsed = x.cast(dt.Timestamp()) if (instant or ty.timezone) else e.local_to_utc(x)
            return x, parsed, False
        if ty.is_date():
            return x, e.local_to_utc(x.cast(dt.Timestamp())), False
        local = e.local_to_utc(txt.try_cast(dt.Timestamp()))
        instant = txt.try_cast(dt.Timestamp(timezone="UTC")).cast(dt.Timestamp())
        parsed = ibis.cases(
            (txt.re_search(_ISO_TS), local), (txt.re_search(_ISO_INSTANT), instant), else_=None
        )
        return txt, parsed.cast(dt.Timestamp()), True
    if k == C.DATE:
        if ty.is_date():
            return x, x, False
        if ty.is_timestamp():
            return x, (e.utc_to_local_date(x) if (instant or ty.timezone) else x.date()), False
        ok = txt.re_search(_ISO_TS)  # a date, or a date with a time of day
        parsed = ibis.ifelse(ok, txt.try_cast(dt.Timestamp()).date(), ibis.null())
        return txt, parsed.cast(dt.Date()), True
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

    def _fix_where(self) -> str:
        return "in a view over the engine's table (growthlab.yaml is for folders of files)"

    def _type_detail(self, t: str, column: str, kind: str, rows: tuple[int, ...]) -> str:
        label = {C.TIMESTAMP: "timestamp", C.DATE: "date", C.FLOAT: "float", C.BOOL: "bool"}
        want = {
            C.TIMESTAMP: "a TIMESTAMP/TIMESTAMP_NTZ column or ISO 8601 text",
            C.DATE: "a DATE column or ISO 8601 text",
            C.FLOAT: "a numeric column or plain decimal text",
            C.BOOL: "a BOOLEAN or numeric column, or true/false/1/0/yes/no/是/否",
        }
        ty = self.info.types.get(t, {}).get(column, "?")
        return (
            f"expected {label.get(kind, kind)} ({want.get(kind, kind)}); the engine's column "
            f"is {ty}: convert it {self._fix_where()}"
        )

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

    def drop_written(self) -> None:
        """Drop every table this validation wrote (after a failure, or when another
        validation published the same entry first)."""
        for name in list(self._written):
            self._drop(name)
        self._written = []

    def _cleanup(self) -> None:
        for name in list(self._written):
            if name.startswith("_"):
                self._drop(name)
        self._written = [n for n in self._written if not n.startswith("_")]


def spec_names(t: str) -> set[str]:
    """The contract column names of table ``t``."""
    return {c.name for c in C.TABLES[t]}


# -- the engine's entry: key, publication, reuse ---------------------------------------------
def fingerprint(con: Any, database: str | None) -> dict[str, Any]:
    """What identifies the engine's tables for the cache key: per contract table its columns
    and types, row count, latest main time and a checksum of its contract columns (the sum of
    a hash of each row's values, so an in-place update such as paid -> refunded changes it);
    one aggregate query per table."""
    found = list_tables(con, database)
    out: dict[str, Any] = {}
    for t in C.TABLES:
        if t not in found:
            continue
        src = con.table(t, database=database)
        cols = [c for c in src.columns if c in spec_names(t)]
        metrics: dict[str, Any] = {"n": src.count()}
        tcol = C.TIME_COLUMNS.get(t)
        if tcol in src.columns:
            metrics["latest"] = src[tcol].max().cast("string")
        if cols:
            row = src[cols[0]].cast("string").fill_null("<null>")
            for c in cols[1:]:
                row = row + "|" + src[c].cast("string").fill_null("<null>")
            metrics["checksum"] = row.hash().sum().cast("string")
        got = src.aggregate(**metrics).to_pyarrow().to_pylist()[0]
        out[t] = {"schema": [[c, str(ty)] for c, ty in src.schema().items()], **got}
    return out


def snapshot(label_: str) -> dict[str, Any] | None:
    """The runner's fingerprint of source ``label_`` (:data:`SNAPSHOT_ENV`), if this process
    is one of its run's: every notebook then analyses the tables the run validated."""
    try:
        return json.loads(os.environ.get(SNAPSHOT_ENV) or "{}").get(label_)
    except ValueError:
        return None


def entry_key(spec_label: str, tables: dict[str, Any], params: dict[str, Any]) -> str:
    """The key of an engine entry: code, engine, table fingerprints and load parameters."""
    blob = json.dumps(
        [_cache.code_fingerprint(), spec_label, tables, params], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def marker_name(key: str) -> str:
    """The table that publishes entry ``key``: one row naming its tables' prefix and holding
    its metadata (quality report, as_of); written once, after every table is complete."""
    return f"gl_{key[:16]}"


def attempt_prefix(key: str) -> str:
    """A fresh prefix for one validation of ``key``: concurrent validations never write the
    same tables, and published tables are never overwritten."""
    return f"gl_{key[:16]}_{secrets.token_hex(4)}_"


def read_entry(con: Any, scratch: str, key: str) -> dict[str, Any] | None:
    """The published entry ``key`` (``prefix`` and metadata), or None when there is none or
    its tables are gone."""
    name = marker_name(key)
    try:
        if name not in set(con.list_tables(database=scratch)):
            return None
        row = con.table(name, database=scratch).to_pyarrow().to_pylist()[0]
        meta = pickle.loads(base64.b64decode(row["meta"]))
    except Exception:  # noqa: BLE001 - no scratch database yet, a broken marker: validate again
        return None
    if meta.get("format") != _META_FORMAT or meta.get("key") != key:
        return None
    if not tables_exist(con, scratch, row["prefix"], meta["tables"]):
        return None
    return {**meta, "prefix": row["prefix"], "created": row["created"]}


def publish(con: Any, scratch: str, key: str, prefix: str, meta: dict[str, Any]) -> bool:
    """Publish the tables of ``prefix`` as entry ``key``; False when another validation
    published it first (the caller then drops its own tables and reads that one)."""
    blob = base64.b64encode(
        pickle.dumps({**meta, "format": _META_FORMAT, "key": key}, protocol=4)
    ).decode()
    row = pd.DataFrame(
        {
            "prefix": [prefix],
            "meta": [blob],
            "created": [pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")],
        }
    )
    try:
        con.create_table(marker_name(key), ibis.memtable(row), database=scratch)
    except Exception:  # noqa: BLE001 - the marker exists: someone else published first
        return False
    return True


def drop_tables(con: Any, scratch: str, names: list[str]) -> None:
    """Drop tables of the scratch database (best effort)."""
    for name in names:
        try:
            con.drop_table(name, database=scratch, force=True)
        except Exception:  # noqa: BLE001 - a left-over scratch table costs space only
            pass


def prune(con: Any, scratch: str, keep: int = 4, older_than_s: float = 3600.0) -> list[str]:
    """Drop published entries beyond the ``keep`` newest that are older than ``older_than_s``
    (a run still reading one is younger), and the tables of their keys. Returns the dropped
    markers."""
    try:
        names = set(con.list_tables(database=scratch))
    except Exception:  # noqa: BLE001
        return []
    markers = sorted(n for n in names if re.fullmatch(r"gl_[0-9a-f]{16}", n))
    created = {}
    for m in markers:
        try:
            created[m] = con.table(m, database=scratch).to_pyarrow().column("created")[0].as_py()
        except Exception:  # noqa: BLE001 - unreadable marker: leave it
            continue
    newest = sorted(created, key=created.get, reverse=True)
    cutoff = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=older_than_s)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    dropped = [m for m in newest[keep:] if created[m] < cutoff]
    for m in dropped:
        drop_tables(con, scratch, [m])  # unpublish first: no reader attaches to a half-drop
        drop_tables(con, scratch, sorted(n for n in names if n.startswith(m + "_")))
    return dropped


def tables_exist(con: Any, scratch: str, prefix: str, tables: list[str]) -> bool:
    """Whether the scratch database still holds the entry's tables."""
    try:
        have = set(con.list_tables(database=scratch))
    except Exception:  # noqa: BLE001 - no scratch database yet
        return False
    return all(prefix + t in have for t in tables)


def ensure_scratch(con: Any, scratch: str) -> None:
    """Create the scratch database when missing (never replaces an existing one)."""
    try:
        if scratch in set(con.list_databases()):
            return
        con.create_database(scratch, force=False)
    except Exception as err:  # noqa: BLE001 - permissions, catalogs, a concurrent create
        try:
            if scratch in set(con.list_databases()):
                return
        except Exception:  # noqa: BLE001
            pass
        first = _first_line(err)
        raise ConfigError(
            f"scratch database {scratch!r}: cannot be created ({first}); name a writable one "
            "with ?scratch=NAME in the source URL"
        ) from err


def engine_error(what: str, err: BaseException) -> ConfigError:
    """A message (not a traceback) for an engine failure while doing ``what``."""
    first = _first_line(err, 300)
    return ConfigError(f"{what}: the engine failed: {type(err).__name__}: {first}")


__all__ = [
    "DEFAULT_SCRATCH",
    "EngineSource",
    "EngineValidator",
    "connect",
    "entry_key",
    "fingerprint",
    "is_engine_url",
    "parse",
    "redact",
]
