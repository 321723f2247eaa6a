"""Validate a copied source against the contract, quarantine bad rows, build normalised tables.

Runs inside the working DuckDB engine; every check over the (possibly huge) tables is an Ibis
expression, so the whole source is scanned a handful of times, never pulled into Python. Only
the referral graph (one row per invitation) is brought to numpy for the graph rules.

Steps (SPEC §3):
1. a view per table parses and normalises every contract column (ids trimmed, timestamps ISO
   8601 -> naive UTC via the source time zone, numbers, booleans, canonical channels with the raw
   name kept in ``<column>_raw``, order status);
2. fatal rules, all tables in one go: required table/columns, not-null, type, uniqueness,
   vocabulary, non-negative counts, one variant per user and experiment. Any of them -> one
   :class:`~growthlab.errors.DataContractError` listing every problem;
3. quarantine (rows excluded and counted; a row is counted under the first rule it breaks, in
   the order duplicate, non_finite, before_min_date, future_timestamp, negative_amount, orphan,
   self_referral, inviter_conflict, cycle);
4. the normalised tables (source row order kept), with ``users.person_id`` (OneID) and
   ``users.referred``; an optional table left without any valid row is dropped (treated as
   absent, with an ``empty_table`` warning); warnings (unknown channels, consistency,
   freshness) and notes (source columns outside the contract, which are never read).

File-level problems found while opening the source (duplicate header names, ragged CSV lines)
are reported with the row-level ones, in the same DataContractError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from growthlab.data import contract as C
from growthlab.data.channels import sql_case
from growthlab.data.contract import Problem
from growthlab.data.identity import stitch
from growthlab.data.identity import summarise as summarise_identity
from growthlab.data.localtime import to_local
from growthlab.data.quality import QualityReport
from growthlab.data.source import RawTables, csv_line_problems
from growthlab.errors import ConfigError, DataContractError
from growthlab.privacy import mask_personal_sql
from growthlab.referral_rules import CYCLE, INVITER_CONFLICT, SELF_REFERRAL
from growthlab.referral_rules import graph_rules as referral_graph

_SKIPPED = "treated as absent: sections that need it are skipped"
_TEXT_TYPES = ("VARCHAR",)
_TS_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE")
_NUM_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _text(col: str, ty: str, trim: bool = True) -> str:
    """SQL: the column as (trimmed) text, empty -> NULL (integral floats without '.0')."""
    c = _q(col)
    if ty in ("FLOAT", "DOUBLE"):
        return (
            f"(CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 "
            f"THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END)"
        )
    if ty.startswith("DECIMAL"):
        return f"CAST({c} AS VARCHAR)"
    if not trim and ty == "VARCHAR":
        return f"NULLIF({c}, '')"
    return f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"


@dataclass
class _Col:
    name: str
    kind: str
    required: bool
    source: str  # SQL of the trimmed source value (NULL when missing)
    parsed: str  # SQL of the normalised value
    typed: bool  # whether a parse failure is possible
    raw: str = ""  # SQL of the source text before any value map (channels keep it as _raw)


def fixed_offset(timezone: str) -> int | None:
    """The zone's UTC offset in seconds if it has been constant since 1992 (e.g. Asia/Shanghai),
    else None (daylight saving: the engine converts with ICU, slower)."""
    days = pd.date_range("1992-01-01", "2100-01-01", freq="D", tz=timezone)
    offsets = (days.tz_localize(None) - days.tz_convert("UTC").tz_localize(None)).unique()
    if len(offsets) != 1:
        return None
    return int(offsets[0] / pd.Timedelta(seconds=1))


def _local_to_utc(expr: str, offset: int | None) -> str:
    """SQL: a naive local timestamp -> naive UTC (fast path for fixed-offset zones)."""
    if offset is not None:
        return f"(CAST({expr} AS TIMESTAMP) - INTERVAL {offset} SECOND)"
    return f"make_timestamp(epoch_us(CAST({expr} AS TIMESTAMPTZ)))"


def _mapped(text_sql: str, vmap: dict[str, str | None]) -> str:
    """SQL: ``text_sql`` through a value map (keys lower-cased; unmapped values unchanged)."""
    whens = " ".join(
        f"WHEN {_lit(k)} THEN {'NULL' if v is None or v == '' else _lit(v)}"
        for k, v in sorted(vmap.items())
    )
    return f"(CASE lower({text_sql}) {whens} ELSE {text_sql} END)"


#: currency signs and codes that ``formats: money`` strips (with blanks)
MONEY_NOISE = r"(?i)\s+|[¥￥$€£]|元|cny|rmb|usd"
_MONEY_NUMBER = r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?"


def _money_sql(src: str) -> str:
    """SQL: money text -> DOUBLE. Signs/codes and blanks are dropped; commas are accepted
    only as thousands separators (``1,299.00``), so ``12,5`` is a type error, never 125."""
    clean = f"regexp_replace({src}, {_lit(MONEY_NOISE)}, '', 'g')"
    return (
        f"(CASE WHEN regexp_full_match({clean}, {_lit(_MONEY_NUMBER)}) "
        f"THEN CAST(replace({clean}, ',', '') AS DOUBLE) END)"
    )


def _time_formats_sql(src: str, fmts: tuple[str, ...], offset: int | None, date: bool) -> list:
    """SQL expressions parsing ``src`` with the description's formats (each NULL on failure):
    naive results are local time (converted to UTC unless ``date``); ``%z`` patterns and the
    epoch formats give UTC instants."""
    out = []
    naive = [f for f in fmts if "%" in f and "%z" not in f and "%Z" not in f]
    aware = [f for f in fmts if "%" in f and ("%z" in f or "%Z" in f)]
    num = f"TRY_CAST({src} AS DOUBLE)"
    if naive:
        e = f"try_strptime({src}, [{', '.join(_lit(f) for f in naive)}])"
        out.append(f"CAST({e} AS DATE)" if date else _local_to_utc(e, offset))
    if aware:
        e = f"make_timestamp(epoch_us(try_strptime({src}, [{', '.join(_lit(f) for f in aware)}])))"
        out.append(f"CAST({e} AS DATE)" if date else e)
    for f in fmts:
        if f == "excel":  # serial days since 1899-12-30 (local wall-clock time)
            ok = f"{num} BETWEEN 1 AND 2958465"
            e = (
                f"(CASE WHEN {ok} THEN TIMESTAMP '1899-12-30' + "
                f"to_microseconds(CAST(round({num} * 86400000000) AS BIGINT)) END)"
            )
            out.append(f"CAST({e} AS DATE)" if date else _local_to_utc(e, offset))
        elif f in ("epoch_s", "epoch_ms"):  # Unix time: a UTC instant
            scale = 1_000_000 if f == "epoch_s" else 1_000
            ok = f"abs({num}) < 4.1e{10 if f == 'epoch_s' else 13}"
            e = f"(CASE WHEN {ok} THEN make_timestamp(CAST(round({num} * {scale}) AS BIGINT)) END)"
            out.append(f"CAST({e} AS DATE)" if date else e)
    return out


def _column_sql(
    col: C.Column,
    ty: str,
    utc: bool,
    lookup: dict[str, str],
    offset: int | None,
    trim: bool = True,
    fmts: tuple[str, ...] | None = None,
    vmap: dict[str, str | None] | None = None,
) -> _Col:
    """SQL of one column: its source text, its parsed value, whether parsing can fail.

    ``fmts`` / ``vmap`` come from the source description (growthlab.yaml): a value map is
    applied to the trimmed text first (unmapped values unchanged), then the column is parsed
    as text with the given formats (ISO 8601 / plain numbers still accepted for timestamps).
    The parsing of each column kind is one function below (``_<kind>_sql``).
    """
    c = _q(col.name)
    custom = bool(fmts or vmap)
    raw_text = _text(col.name, ty)
    txt = _mapped(raw_text, vmap) if vmap else raw_text
    if custom:
        ty = "VARCHAR"  # parse the (mapped) text
    src = txt if ty in _TEXT_TYPES else c
    k = col.kind
    typed = False
    raw_sql = None
    if k in (C.ID, C.TEXT):
        src = parsed = _id_text_sql(col, ty, txt, custom, trim)
    elif k == C.TIMESTAMP:
        src, parsed, typed = _timestamp_sql(c, ty, src, txt, utc, offset, fmts)
    elif k == C.DATE:
        src, parsed, typed = _date_sql(c, ty, src, txt, offset, fmts)
    elif k == C.FLOAT:
        src, parsed, typed = _float_sql(c, ty, src, txt, fmts)
    elif k == C.BOOL:
        src, parsed, typed = _bool_sql(c, ty, src, txt)
    elif k == C.CHANNEL:
        src, parsed, raw_sql = _channel_sql(txt, raw_text if vmap else None, lookup)
    elif k == C.STATUS:
        src, parsed = txt, _status_sql(txt)
    else:  # pragma: no cover - contract kinds are closed
        raise ValueError(k)
    return _Col(col.name, k, col.required, src, parsed, typed, raw_sql or src)


def _id_text_sql(col: C.Column, ty: str, txt: str, custom: bool, trim: bool) -> str:
    """SQL of an id or text column: the (trimmed) text, empty -> NULL; free text and label
    ids (campaigns, experiments) with personal data masked."""
    parsed = txt if custom else _text(col.name, ty, trim)
    if col.kind == C.TEXT or col.name in C.LABEL_IDS:
        parsed = mask_personal_sql(parsed)
    return parsed


def _timestamp_sql(
    c: str,
    ty: str,
    src: str,
    txt: str,
    utc: bool,
    offset: int | None,
    fmts: tuple[str, ...] | None,
) -> tuple[str, str, bool]:
    """(source, parsed, typed) SQL of a timestamp column -> naive UTC. Engine timestamps are
    converted from local time (unless already UTC); text is ISO 8601 (with an offset or
    ``Z``: that instant; naive: local time) or one of the description's ``fmts``."""
    if ty.startswith("TIMESTAMP WITH TIME ZONE"):
        return src, f"make_timestamp(epoch_us({c}))", False
    if ty in _TS_TYPES:
        return src, f"CAST({c} AS TIMESTAMP)" if utc else _local_to_utc(c, offset), False
    has_offset = (
        f"(length({txt}) > 10 AND (right({txt}, 1) IN ('Z', 'z') OR "
        f"regexp_matches(substr({txt}, 11), '[+-][0-9]{{2}}(:?[0-9]{{2}})?$')))"
    )
    parsed = (
        f"(CASE WHEN {has_offset} THEN make_timestamp(epoch_us(TRY_CAST({txt} AS "
        f"TIMESTAMPTZ))) ELSE {_local_to_utc(f'TRY_CAST({txt} AS TIMESTAMP)', offset)} END)"
    )
    if fmts:
        parsed = f"COALESCE({', '.join(_time_formats_sql(txt, fmts, offset, False))}, {parsed})"
    return txt, parsed, True


def _date_sql(
    c: str, ty: str, src: str, txt: str, offset: int | None, fmts: tuple[str, ...] | None
) -> tuple[str, str, bool]:
    """(source, parsed, typed) SQL of a date column: engine dates/timestamps cast, text as
    ISO 8601 or one of the description's ``fmts``."""
    if ty in _TS_TYPES or ty.startswith("TIMESTAMP"):
        return src, f"CAST({c} AS DATE)", False
    parsed = f"TRY_CAST({txt} AS DATE)"
    if fmts:
        parsed = f"COALESCE({', '.join(_time_formats_sql(txt, fmts, offset, True))}, {parsed})"
    return txt, parsed, True


def _float_sql(
    c: str, ty: str, src: str, txt: str, fmts: tuple[str, ...] | None
) -> tuple[str, str, bool]:
    """(source, parsed, typed) SQL of a numeric column -> DOUBLE: engine numbers cast, text
    as a plain decimal number (or money text with ``formats: money``)."""
    if ty in _NUM_TYPES or ty.startswith("DECIMAL"):
        return src, f"CAST({c} AS DOUBLE)", False
    parsed = _money_sql(txt) if fmts and "money" in fmts else f"TRY_CAST({txt} AS DOUBLE)"
    return txt, parsed, True


def _bool_sql(c: str, ty: str, src: str, txt: str) -> tuple[str, str, bool]:
    """(source, parsed, typed) SQL of a boolean column: engine booleans as they are, numbers
    non-zero = true, text true/false/1/0/yes/no/是/否 (anything else is a type error)."""
    if ty == "BOOLEAN":
        return src, c, False
    if ty in _NUM_TYPES:
        return src, f"({c} <> 0)", False
    parsed = (
        f"(CASE WHEN lower({txt}) IN ('true','t','1','yes','y','是','1.0') THEN TRUE "
        f"WHEN lower({txt}) IN ('false','f','0','no','n','否','0.0') THEN FALSE END)"
    )
    return txt, parsed, True


def _channel_sql(
    txt: str, raw_text: str | None, lookup: dict[str, str]
) -> tuple[str, str, str | None]:
    """(source, canonical key, raw name) SQL of a channel column. The raw name is kept
    (``<column>_raw``; the unmapped ``raw_text`` when a value map applies, else None = the
    source) masked too, and a path separator inside a name becomes "›" so it cannot split a
    journey path."""

    def clean(text: str) -> str:
        return mask_personal_sql(f"replace({text}, {_lit(C.PATH_SEPARATOR)}, '›')")

    src = clean(txt)
    return src, sql_case(src, lookup), clean(raw_text) if raw_text is not None else None


def _status_sql(txt: str) -> str:
    """SQL of an order status: missing -> paid, known spellings -> paid/refunded, others
    lower-cased (the ``vocabulary`` rule reports them)."""
    whens = " ".join(f"WHEN {_lit(a)} THEN {_lit(b)}" for a, b in sorted(C.STATUS_SYNONYMS.items()))
    return (
        f"(CASE WHEN {txt} IS NULL THEN 'paid' "
        f"ELSE (CASE lower({txt}) {whens} ELSE lower({txt}) END) END)"
    )


def _shown(value, quote: bool = True, width: int = 40) -> str:
    """A source value for a message: personal data masked, long text cut."""
    from growthlab.privacy import mask_personal

    if value is None:
        return "(missing)"
    text = mask_personal(str(value))
    if len(text) > width:
        text = text[: width - 1] + "…"
    return repr(text) if quote else text


def _examples(expr: ibis.Table, n: int = 5) -> tuple[int, ...]:
    rows = expr.select("_row").order_by("_row").limit(n).to_pyarrow().column("_row")
    return tuple(int(r) for r in rows.to_pylist())


def _parse_as_of(as_of, timezone: str) -> pd.Timestamp:
    """``as_of`` -> naive UTC. Naive values are local (``timezone``); a bare date means the end
    of that local day."""
    if isinstance(as_of, str):
        text = as_of.strip()
        try:
            ts = pd.Timestamp(text)
        except ValueError as err:
            raise ConfigError(f"as_of: {as_of!r} is not an ISO 8601 date/time") from err
        date_only = len(text) <= 10 and ":" not in text
    else:
        try:
            ts = pd.Timestamp(as_of)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"as_of: {as_of!r} is not a date/time") from err
        date_only = not isinstance(as_of, pd.Timestamp | np.datetime64) and not hasattr(
            as_of, "hour"
        )
    if pd.isna(ts):
        raise ConfigError(f"as_of: {as_of!r} is not a date/time")
    if date_only:
        ts = ts.normalize() + pd.Timedelta(days=1)
    if ts.tzinfo is None:
        try:
            ts = ts.tz_localize(timezone)
        except Exception as err:  # noqa: BLE001 - bad zone names
            raise ConfigError(f"timezone: {timezone!r} is not a known time zone") from err
    return ts.tz_convert("UTC").tz_localize(None).as_unit("us")


_EARLIEST_MIN_DATE = pd.Timestamp("1900-01-01")


def _parse_min_date(min_date, timezone: str) -> pd.Timestamp:
    """``min_date`` -> naive UTC. Naive values are local (``timezone``); a bare date means the
    *start* of that local day. It cannot be before 1900-01-01: nothing in the contract is that
    old, and much older values (year 1, 1 BC in UTC) are outside what pandas can hold."""
    if min_date is None:
        raise ConfigError(
            "min_date: required (default 2000-01-01); pass an earlier date such as "
            "'1900-01-01' to keep older rows"
        )
    try:
        ts = pd.Timestamp(min_date.strip() if isinstance(min_date, str) else min_date)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"min_date: {min_date!r} is not an ISO 8601 date/time") from err
    if pd.isna(ts):
        raise ConfigError(f"min_date: {min_date!r} is not a date/time")
    if ts.tz_localize(None) < _EARLIEST_MIN_DATE:
        raise ConfigError(f"min_date: {min_date!r} is before 1900-01-01")
    if ts.tzinfo is None:
        try:
            ts = ts.tz_localize(timezone)
        except Exception as err:  # noqa: BLE001 - bad zone names
            raise ConfigError(f"timezone: {timezone!r} is not a known time zone") from err
    return ts.tz_convert("UTC").tz_localize(None).as_unit("us")


class Validator:
    """One validation/normalisation run over the ``_raw_<table>`` copies in ``raw``."""

    def __init__(
        self,
        raw: duckdb.DuckDBPyConnection,
        info: RawTables,
        lookup: dict[str, str],
        timezone: str,
        min_date=C.DEFAULT_MIN_DATE,
    ):
        self.raw = raw
        self.con = ibis.duckdb.from_connection(raw)
        self._init_state(info, lookup, timezone, min_date)
        try:
            raw.execute(f"SET TimeZone = {_lit(timezone)}")
        except duckdb.Error as err:
            raise ConfigError(f"timezone: {timezone!r} is not a known time zone") from err

    def _init_state(self, info: RawTables, lookup: dict[str, str], timezone: str, min_date) -> None:
        """The run's state (everything but the engine connection)."""
        self.info = info
        self.lookup = lookup
        self.timezone = timezone
        self.min_date = min_date
        self.min_ts: pd.Timestamp | None = None  # min_date as naive UTC (set by run)
        self._details: dict[str, str] = {}  # quarantine rule -> what it means in this run
        self.cols: dict[str, dict[str, _Col]] = {}
        self.extra: dict[str, list[str]] = {}
        self.output: dict[str, list[str]] = {}  # final column names per table
        self.problems: list[Problem] = []
        self.n_rows: dict[str, int] = {}
        self.null_rows: list[dict] = []
        self.latest: dict[str, pd.Timestamp] = {}
        self._cache: dict[str, ibis.Table] = {}
        self.timings: dict[str, float] = {}
        #: the tables of the Dataset: read, and left with at least one valid row (users always)
        self.present: list[str] = []
        #: how as_of was chosen (set by run)
        self.as_of_source = ""
        self._t = time.perf_counter()
        #: the run's clock (naive UTC): the default as_of is the latest timestamp not after it
        self.now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s").as_unit("us")
        try:
            self.offset = fixed_offset(timezone)
        except Exception as err:  # noqa: BLE001 - unknown zone names
            raise ConfigError(f"timezone: {timezone!r} is not a known time zone") from err

    # -- step 1: views ---------------------------------------------------------------------
    def _views(self) -> None:
        for t in list(self.info.tables):
            types = self.info.types[t]
            utc = self.info.utc_columns.get(t, set())
            spec = C.TABLES[t]
            missing = [c.name for c in spec if c.required and c.name not in types]
            # text files may pad values with blanks; typed sources (Parquet, frames) are
            # taken as they are (trimming every id of a large table costs a full copy)
            trim = t in self.info.encodings or t in self.info.text
            fmts = self.info.formats.get(t, {})
            vmaps = self.info.values.get(t, {})
            cols = {
                c.name: _column_sql(
                    c,
                    types[c.name],
                    c.name in utc,
                    self.lookup,
                    self.offset,
                    trim,
                    fmts.get(c.name),
                    vmaps.get(c.name),
                )
                for c in spec
                if c.name in types
            }
            self.cols[t] = cols
            # only contract columns reach the engine (source.py drops the others)
            self.extra[t] = []
            select = [f"CAST({self.info.row_sql[t]} AS BIGINT) AS _row"]
            out: list[str] = []
            for col in cols.values():
                select.append(f"{col.parsed} AS {_q(col.name)}")
                out.append(col.name)
                if col.kind == C.CHANNEL:
                    select.append(f"{col.raw} AS {_q(col.name + '_raw')}")
                    out.append(col.name + "_raw")
                if col.required:
                    select.append(f"({col.source} IS NULL) AS {_q('_nul_' + col.name)}")
                if col.typed:
                    select.append(
                        f"({col.source} IS NOT NULL AND {col.parsed} IS NULL) "
                        f"AS {_q('_bad_' + col.name)}"
                    )
            select.append("FALSE AS _q")
            self.output[t] = out
            if types:  # hash of the contract columns: exact copies collide (duplicate candidates)
                select.append(f"hash({', '.join(_q(c) for c in types)}) AS _h")
            try:
                self.raw.execute(
                    f"CREATE OR REPLACE TABLE {_q('_n_' + t)} AS SELECT {', '.join(select)} "
                    f"FROM {self.info.scans[t]}"
                )
            except duckdb.Error as err:
                found = []
                for csv_file in self.info.csv.get(t, []):  # a line beyond the sniffer's sample
                    found += csv_line_problems(self.raw, t, *csv_file)
                if found:
                    self.problems += found
                    self.info.broken.add(t)
                    self.info.tables.remove(t)
                    continue
                msg = str(err).splitlines()[0]
                origin = self.info.origin.get(t, t)
                raise DataContractError([], f"{origin}: cannot be read as a table: {msg}") from err
            n = self.raw.execute(f"SELECT count(*) FROM {_q('_n_' + t)}").fetchone()[0]
            self.n_rows[t] = int(n)
            dropped = self.info.dropped.get(t, [])
            for name in missing:
                self.problems.append(
                    Problem(t, name, C.R_COLUMN, 0, detail=self._missing_detail(t, name, dropped))
                )

    def _missing_detail(self, t: str, name: str, dropped: list[str]) -> str:
        """What a missing column's message says: the columns found, the likely one, the fix."""
        detail = "required column is missing"
        alike = [c for c in dropped if c.strip().lower() == name]
        if alike:  # names are exact: 'User_ID' is not 'user_id'
            detail += f" (the source has {', '.join(repr(c) for c in alike)})"
        found = [*self.info.types.get(t, {}), *dropped]
        where = self.info.where(t)
        shown = ", ".join(repr(c) for c in found[:30]) + (" ..." if len(found) > 30 else "")
        detail += f"; {where} has the column(s) {shown or 'none'}"
        from growthlab.data import infer

        likely = [h for h in infer.header_candidates(t, name, dropped) if h not in alike]
        if likely:
            h = likely[0]
            detail += (
                f"; {h!r} looks like {t}.{name}: map it in the folder's growthlab.yaml "
                f"(tables.{t}.columns.{name}: {h})"
            )
        else:
            detail += (
                f"; map the right one in the folder's growthlab.yaml (tables.{t}.columns.{name})"
            )
        if self.info.description is None:
            detail += " — `growthlab init DIR` writes a draft"
        return detail

    def _table_required_detail(self) -> str:
        """Why there is no users table: the files that were found and how to name them."""
        detail = "the users table is required"
        files = self.info.unused_files
        if self.info.description is not None:
            detail += f"; {self.info.description.path.name} has no tables.users entry"
        elif files or self.info.tables:
            detail += ": no users.csv, users.csv.gz, users.parquet or users.xlsx"
        if files:
            shown = ", ".join(files[:20]) + (" ..." if len(files) > 20 else "")
            detail += f"; files found: {shown}"
        if self.info.description is None and files:
            detail += (
                "; name the files of each table in a growthlab.yaml: `growthlab init DIR` "
                "writes a draft"
            )
        return detail

    def _release_scans(self) -> None:
        """Drop the source copies and views once the fatal rules (which may re-read source
        values for their messages) are done: only the normalised tables are needed now."""
        for t in C.TABLES:
            self.raw.execute(f"DROP TABLE IF EXISTS {_q('_raw_' + t)}")
        for view in self.info.registered:
            try:
                self.raw.unregister(view)
            except duckdb.Error:  # pragma: no cover - already gone
                pass
        self.info.registered = []

    def view(self, t: str) -> ibis.Table:
        """The normalised table ``_n_<t>`` (all source rows, with flags) as Ibis."""
        return self.tbl(f"_n_{t}")

    def tbl(self, name: str) -> ibis.Table:
        if name not in self._cache:
            self._cache[name] = self.con.table(name)
        return self._cache[name]

    # -- step 2: fatal rules ---------------------------------------------------------------
    def _fatal_row_rules(self) -> None:
        for t in self.info.tables:
            v = self.view(t)
            cols = self.cols[t]
            preds: list[tuple[str, str, ibis.BooleanValue]] = []
            for col in cols.values():
                if col.required:
                    preds.append((col.name, C.R_NOT_NULL, v[f"_nul_{col.name}"]))
                if col.typed:
                    preds.append((col.name, C.R_TYPE, v[f"_bad_{col.name}"]))
            if t == "orders" and "status" in cols:
                preds.append(("status", C.R_VOCAB, ~v.status.isin(C.ORDER_STATUSES)))
            for name in C.NON_NEGATIVE.get(t, ()):
                if name in cols:  # -inf is quarantined as non_finite
                    preds.append((name, C.R_RANGE, (v[name] < 0) & ~v[name].isinf()))
            metrics = {f"p{i}": p.sum() for i, (_, _, p) in enumerate(preds)}
            names = self.output[t]
            for i, name in enumerate(names):
                metrics[f"n{i}"] = v[name].isnull().sum()
            tcol = C.TIME_COLUMNS.get(t)
            if tcol in cols:
                metrics["latest"] = v[tcol].max(where=v[tcol] <= self.now)
            if not metrics:
                continue
            agg = v.aggregate(**metrics).to_pyarrow().to_pylist()[0]
            for i, (column, rule, pred) in enumerate(preds):
                count = int(agg[f"p{i}"] or 0)
                if count:
                    detail = ""
                    rows = _examples(v.filter(pred))
                    if rule == C.R_VOCAB:
                        detail = self._vocabulary_detail(t, column, v.filter(pred))
                    elif rule == C.R_TYPE:
                        detail = self._type_detail(t, column, cols[column].kind, rows)
                    self.problems.append(Problem(t, column, rule, count, rows, detail))
            for i, name in enumerate(names):
                nulls = int(agg[f"n{i}"] or 0)
                rows = self.n_rows[t]
                self.null_rows.append(
                    {
                        "table": t,
                        "column": name,
                        "rows": rows,
                        "nulls": nulls,
                        "null_rate": nulls / rows if rows else 0.0,
                    }
                )
            if agg.get("latest") is not None:
                self.latest[t] = pd.Timestamp(agg["latest"])

    def _source_values(self, t: str, column: str, rows: tuple[int, ...]) -> list[tuple[int, str]]:
        """(row, source text) of ``column`` at ``rows``, read again from the source (only for
        messages); [] when the source cannot be re-read."""
        if not rows or t not in self.info.scans:
            return []
        sql = (
            f"SELECT _r, _v FROM (SELECT CAST({self.info.row_sql[t]} AS BIGINT) AS _r, "
            f"CAST({_q(column)} AS VARCHAR) AS _v FROM {self.info.scans[t]}) "
            f"WHERE _r IN ({', '.join(str(int(r)) for r in rows)}) ORDER BY _r"
        )
        try:
            return [(int(r), v) for r, v in self.raw.execute(sql).fetchall()]
        except duckdb.Error:
            return []

    def _fix_key(self, t: str, kind: str, column: str) -> str:
        return f"tables.{t}.{kind}.{column}"

    def _fix_where(self) -> str:
        if self.info.description is not None:
            return f"in {self.info.description.path.name}"
        return "in the folder's growthlab.yaml (`growthlab init DIR` writes a draft)"

    def _type_detail(self, t: str, column: str, kind: str, rows: tuple[int, ...]) -> str:
        """``expected <kind>``, up to 5 offending values with their rows, and the
        growthlab.yaml key that would read them."""
        from growthlab.data import infer

        values = self._source_values(t, column, rows)
        label = {C.TIMESTAMP: "timestamp", C.DATE: "date", C.FLOAT: "float", C.BOOL: "bool"}
        detail = f"expected {label.get(kind, kind)}"
        if values:
            detail += "; values: " + ", ".join(
                f"{self.info.locate(t, r)} {_shown(v)}" for r, v in values
            )
        texts = [v for _, v in values if v is not None]
        where = self._fix_where()
        if kind == C.FLOAT:
            key = self._fix_key(t, "formats", column)
            if any(infer.looks_like_money(v) for v in texts):
                detail += f"; currency signs or thousands separators: set {key}: money {where}"
            else:
                detail += f"; plain decimal numbers are expected (1299.00), or set {key}: money"
        elif kind in (C.TIMESTAMP, C.DATE):
            key = self._fix_key(t, "formats", column)
            guess = infer.guess_time_format(texts)
            if guess:
                detail += f"; to read this layout set {key}: '{guess}' {where}"
            else:
                detail += (
                    "; ISO 8601 is expected (2025-06-30 10:05:00); for another layout set "
                    f"{key}: '<strptime pattern>' such as '%Y/%m/%d %H:%M' {where}"
                )
        elif kind == C.BOOL:
            key = self._fix_key(t, "values", column)
            raw = sorted({str(v).strip() for v in texts})[:5]
            pairs = ", ".join(f"{_shown(v, quote=False)}: true|false" for v in raw)
            detail += f"; map them: {key}: {{{pairs}}} {where}"
        return detail

    def _vocabulary_detail(self, t: str, column: str, bad: ibis.Table) -> str:
        """The allowed values, the most frequent others and the value map that would fix them."""
        top = (
            (bad.group_by(value=bad[column]).aggregate(n=bad.count()).order_by(ibis.desc("n")))
            .limit(5)
            .to_pyarrow()
            .to_pylist()
        )
        detail = f"allowed: {', '.join(C.ORDER_STATUSES)}"
        if top:
            detail += "; found: " + ", ".join(f"{_shown(r['value'])} ({r['n']:,})" for r in top)
            key = self._fix_key(t, "values", column)
            pairs = ", ".join(
                f"{_shown(r['value'], quote=False)}: {'|'.join(C.ORDER_STATUSES)}" for r in top
            )
            detail += f"; map them: {key}: {{{pairs}}} {self._fix_where()}"
        return detail

    def _duplicates(self) -> None:
        """Materialise ``_dup_<t>(_row)``: exact duplicate rows after the first occurrence."""
        for t in self.info.tables:
            v = self.view(t)
            data = self.output[t]
            if not data:
                self.raw.execute(f"CREATE OR REPLACE TABLE {_q('_dup_' + t)} (_row BIGINT)")
                continue
            parts = ", ".join(_q(c) for c in data)
            n = _q("_n_" + t)
            # candidates by the row hash computed while parsing, exact comparison only among them
            self.raw.execute(
                f"CREATE OR REPLACE TABLE {_q('_dup_' + t)} AS "
                f"SELECT _row FROM (SELECT _row, row_number() OVER "
                f"(PARTITION BY {parts} ORDER BY _row) AS _rn FROM {n} "
                f"WHERE _h IN (SELECT _h FROM {n} GROUP BY _h HAVING count(*) > 1)) "
                "WHERE _rn > 1"
            )
            del v

    def _key_rules(self) -> None:
        for t, key in C.UNIQUE.items():
            if t not in self.info.tables or not set(key) <= set(self.cols[t]):
                continue
            v = self.view(t).anti_join(self.tbl(f"_dup_{t}"), "_row")
            v = v.filter(*[v[k].notnull() for k in key])
            dup_keys = v.group_by(list(key)).aggregate(_n=v.count()).filter(lambda x: x._n > 1)
            bad = v.semi_join(dup_keys, list(key))
            count = int(bad.count().to_pyarrow().as_py())
            if count:
                self.problems.append(
                    Problem(
                        t,
                        ",".join(key),
                        C.R_UNIQUE,
                        count,
                        _examples(bad),
                        "the same key on rows that differ",
                    )
                )
        t = "assignments"
        if t in self.info.tables and {"user_id", "experiment_id", "variant"} <= set(self.cols[t]):
            v = self.view(t).anti_join(self.tbl(f"_dup_{t}"), "_row")
            key = ["user_id", "experiment_id"]
            multi = (
                v.group_by(key)
                .aggregate(_k=v.variant.nunique())
                .filter(lambda x: x._k > 1)
                .select(*key)
            )
            bad = v.semi_join(multi, key)
            count = int(bad.count().to_pyarrow().as_py())
            if count:
                self.problems.append(
                    Problem(
                        t,
                        "variant",
                        C.R_ONE_VARIANT,
                        count,
                        _examples(bad),
                        "a user has several variants in one experiment",
                    )
                )

    # -- step 3: quarantine ----------------------------------------------------------------
    def _quarantine(self, t: str, as_of: pd.Timestamp, extra: pd.DataFrame | None = None) -> None:
        """Materialise ``_q_<t>(_row, rule, column)``, one row per excluded source row."""
        v = self.view(t)
        cols = self.cols[t]
        parts: list[ibis.Table] = []

        def part(expr: ibis.Table, rule: str, column: str | None) -> None:
            prio = C.QUARANTINE_RULES.index(rule)
            parts.append(
                expr.select(
                    _row=expr._row,
                    rule=ibis.literal(rule),
                    column=ibis.literal(column or "", type="string"),
                    prio=ibis.literal(prio, type="int16"),
                )
            )

        part(self.tbl(f"_dup_{t}"), C.Q_DUPLICATE, None)
        for col in C.number_columns(t):
            if col.name in cols:
                x = v[col.name]
                part(v.filter(x.isnan() | x.isinf()), C.Q_NON_FINITE, col.name)
        floor = self.min_ts
        for col in C.time_columns(t):
            if col.name not in cols:
                continue
            x = v[col.name]
            if col.kind == C.DATE:  # a calendar day (local): compare with local dates
                if floor is not None:
                    part(v.filter(x < self._local_day(floor)), C.Q_BEFORE_MIN, col.name)
                # the day starts after as_of, i.e. after the local day holding as_of's last
                # instant (as_of = 2025-06-30 00:00 local keeps 2025-06-29, not 2025-06-30)
                last_day = self._local_day(as_of - pd.Timedelta(microseconds=1))
                part(v.filter(x > last_day), C.Q_FUTURE, col.name)
            else:
                if floor is not None:
                    part(v.filter(x < floor), C.Q_BEFORE_MIN, col.name)
                part(v.filter(x > as_of), C.Q_FUTURE, col.name)
        amount = C.AMOUNTS.get(t)
        if amount in cols:
            part(v.filter(v[amount] < 0), C.Q_NEGATIVE, amount)
        if t != "users":
            ids = self.tbl("_ids")
            for ref in C.REFERENCES.get(t, ()):
                if ref in cols:
                    part(v.anti_join(ids, v[ref] == ids.user_id), C.Q_ORPHAN, ref)
        if extra is not None and len(extra):
            mem = ibis.memtable(extra)
            for (rule, column), grp in extra.groupby(["rule", "column"], sort=False):
                del grp
                part(mem.filter((mem.rule == rule) & (mem.column == column)), rule, column)
        union = ibis.union(*parts, distinct=False)
        first = union.group_by("_row").aggregate(
            rule=union.rule.argmin(union.prio), column=union.column.argmin(union.prio)
        )
        self._store(f"_q_{t}", first)

    def _local_day(self, ts: pd.Timestamp):
        """The local calendar date (``timezone``) of a naive UTC instant."""
        return to_local(ts, self.timezone).date()

    def _graph_rules(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """Self-referrals, two-inviter conflicts (earliest invitation wins) and cycles."""
        self._quarantine("referrals", as_of)
        v = self.view("referrals")
        kept = (
            v.anti_join(self.tbl("_q_referrals"), "_row")
            .select("_row", "inviter_id", "invitee_id", "invited_at")
            .to_pandas()
        )
        rows, rules = referral_graph_rules(kept)
        return pd.DataFrame(
            {
                "_row": pd.array(rows, dtype="int64"),
                "rule": pd.array(rules, dtype="string"),
                "column": pd.array(
                    np.where(np.asarray(rules) == C.Q_CYCLE, "inviter_id", "invitee_id")
                    if len(rules)
                    else [],
                    dtype="string",
                ),
            }
        )

    def _quarantine_problems(self, t: str) -> list[Problem]:
        rows = self.raw.execute(
            f'SELECT rule, "column", count(*), min(_row, 5) FROM {_q("_q_" + t)} GROUP BY ALL'
        ).fetchall()
        out = [
            Problem(
                t,
                column or None,
                rule,
                int(n),
                tuple(sorted(int(x) for x in ex)),
                self._details.get(rule, ""),
            )
            for rule, column, n, ex in rows
        ]
        order = {rule: i for i, rule in enumerate(C.QUARANTINE_RULES)}
        return sorted(out, key=lambda p: (order.get(p.rule, 99), p.column or ""))

    # -- step 4: final tables --------------------------------------------------------------
    def _final(self, t: str) -> None:
        """Mark quarantined rows and expose the kept rows as the view ``<t>`` (source order)."""
        n = _q("_n_" + t)
        self.raw.execute(
            f"UPDATE {n} SET _q = TRUE WHERE _row IN (SELECT _row FROM {_q('_q_' + t)})"
        )
        cols = ", ".join(_q(c) for c in self.output[t])
        self.raw.execute(f"CREATE OR REPLACE VIEW {_q(t)} AS SELECT {cols} FROM {n} WHERE NOT _q")

    def _warnings(self, as_of: pd.Timestamp) -> tuple[list[Problem], pd.DataFrame]:
        warnings: list[Problem] = []
        canon = sorted(set(self.lookup.values()))
        unknown = []
        for t in self.present:
            for col in self.cols[t].values():
                if col.kind != C.CHANNEL:
                    continue
                f = self._final_table(t)
                f = f.filter(f[col.name].notnull() & ~f[col.name].isin(canon))
                grp = f.group_by(raw=f[col.name]).aggregate(rows=f.count()).to_pandas()
                if len(grp):
                    grp.insert(0, "column", col.name)
                    grp.insert(0, "table", t)
                    unknown.append(grp)
                    warnings.append(
                        Problem(
                            t,
                            col.name,
                            C.W_UNKNOWN_CHANNEL,
                            int(grp["rows"].sum()),
                            detail=f"{len(grp)} raw name(s) not in the channel mapping",
                        )
                    )
        unknown_df = (
            pd.concat(unknown, ignore_index=True).sort_values(
                ["rows", "table", "column", "raw"], ascending=[False, True, True, True]
            )
            if unknown
            else pd.DataFrame(columns=["table", "column", "raw", "rows"])
        ).reset_index(drop=True)

        users = self._final_table("users")
        if "orders" in self.present:
            o = self._final_table("orders")
            j = o.inner_join(users.select("user_id", "signup_at"), "user_id")
            n = int(j.filter(j.ts < j.signup_at).count().to_pyarrow().as_py())
            if n:
                warnings.append(
                    Problem(
                        "orders",
                        "ts",
                        C.W_ORDER_BEFORE_SIGNUP,
                        n,
                        detail="order placed before the user's signup_at",
                    )
                )
        if "referrals" in self.present:
            r = self._final_table("referrals")
            j = r.inner_join(users.select("user_id", "signup_at"), r.invitee_id == users.user_id)
            n = int(j.filter(j.invited_at > j.signup_at).count().to_pyarrow().as_py())
            if n:
                warnings.append(
                    Problem(
                        "referrals",
                        "invited_at",
                        C.W_INVITED_AFTER_SIGNUP,
                        n,
                        detail="invitation later than the invitee's signup_at",
                    )
                )
        return warnings, unknown_df

    # -- the run ---------------------------------------------------------------------------
    def run(
        self, as_of=None, as_of_source: str | None = None
    ) -> tuple[QualityReport, pd.DataFrame]:
        """Validate and normalise; returns the QualityReport and the persons frame.

        ``as_of_source`` says where a given ``as_of`` came from (kept in ``self.as_of_source``;
        without ``as_of`` it names the table whose latest timestamp was taken).
        """
        self.min_ts = _parse_min_date(self.min_date, self.timezone)
        self._check_contract()
        as_of_ts = self._choose_as_of(as_of, as_of_source)
        quarantined, kept = self._quarantine_tables(as_of_ts)
        empty_notes = self._drop_empty_tables(kept)
        self._persons_table()
        persons = self._users_table()
        self._mark("users")
        warnings, unknown = self._warnings(as_of_ts)
        warnings = empty_notes + warnings
        ident_counts, largest = summarise_identity(persons)
        notes = self._notes()
        tables = self._table_summary(quarantined, kept)
        warnings += self._freshness_warnings(tables, as_of_ts)
        self._cleanup()
        self._mark("report")
        report = QualityReport(
            problems=[],
            quarantined=quarantined,
            warnings=warnings,
            notes=notes,
            tables=tables,
            nulls=pd.DataFrame(
                self.null_rows, columns=["table", "column", "rows", "nulls", "null_rate"]
            ),
            unknown_channels=unknown,
            identity=ident_counts,
            largest_persons=largest,
            as_of=as_of_ts,
            timezone=self.timezone,
            encodings=dict(self.info.encodings),
        )
        return report, persons

    # -- run, steps 1-2: the contract ------------------------------------------------------
    def _check_contract(self) -> None:
        """Parse every table (step 1) and apply the fatal rules (step 2).

        Checks the file-level rules found while opening the source (``duplicate_column``,
        ``ragged_row``, ``csv_syntax``), ``table_required`` and ``not_empty`` for users,
        ``column_required``, ``not_null``, ``type``, ``vocabulary``, ``non_negative`` and,
        when every required column is there, ``unique`` and ``one_variant_per_user``.
        Raises one DataContractError listing every problem found.
        """
        self.problems += self.info.problems
        self._users_file_rules()
        self._mark(None)
        self._views()
        self._mark("parse")
        self._users_rows_rule()
        self._fatal_row_rules()
        self._release_scans()
        self._mark("row_rules")
        if not any(p.rule == C.R_COLUMN for p in self.problems):
            self._duplicates()
            self._mark("duplicates")
            self._key_rules()
            self._mark("key_rules")
        if self.problems:
            raise DataContractError(self.problems)

    def _users_file_rules(self) -> None:
        """``not_empty`` (a users file without header or rows) and ``table_required`` (no
        users table at all, and none broken by a file-level problem)."""
        if "users" in self.info.empty_files:
            name = self.info.empty_files["users"]
            self.problems.append(
                Problem("users", None, C.R_EMPTY, 0, detail=f"{name} is empty (no header, no rows)")
            )
        elif "users" not in self.info.tables and "users" not in self.info.broken:
            self.problems.append(
                Problem("users", None, C.R_TABLE, 0, detail=self._table_required_detail())
            )

    def _users_rows_rule(self) -> None:
        """``not_empty``: a users table with a header but no data rows."""
        if "users" in self.info.tables and self.n_rows["users"] == 0:
            where = self.info.origin.get("users", "users")
            self.problems.append(
                Problem("users", None, C.R_EMPTY, 0, detail=f"no data rows in {where}")
            )

    def _choose_as_of(self, as_of, as_of_source: str | None) -> pd.Timestamp:
        """The run's ``as_of`` as naive UTC: the given one, else the latest timestamp in the
        data not after the clock (``self.as_of_source`` says which). Checks that ``min_date``
        is before it and words the ``future_timestamp``/``before_min_date`` details."""
        if as_of is None:
            if not self.latest:
                raise ConfigError("as_of: the source has no timestamps; pass as_of=...")
            newest = max(self.latest, key=lambda t: self.latest[t])
            as_of_ts = self.latest[newest].as_unit("us")
            self.as_of_source = (
                f"latest timestamp in the data ({newest}.{C.TIME_COLUMNS[newest]}), "
                "not after the clock"
            )
        else:
            as_of_ts = _parse_as_of(as_of, self.timezone)
            self.as_of_source = as_of_source or "given"
        if self.min_ts is not None and self.min_ts >= as_of_ts:
            raise ConfigError(
                f"min_date: {self.min_date!r} is not before as_of ({as_of_ts} UTC); every row "
                "would be quarantined"
            )
        self._details = {
            C.Q_NON_FINITE: "NaN, inf or -inf",
            C.Q_FUTURE: f"later than as_of {as_of_ts} UTC",
        }
        if self.min_ts is not None:
            self._details[C.Q_BEFORE_MIN] = f"earlier than min_date {self.min_ts} UTC"
        return as_of_ts

    # -- run, step 3: quarantine -----------------------------------------------------------
    def _quarantine_tables(self, as_of: pd.Timestamp) -> tuple[list[Problem], dict[str, int]]:
        """Quarantine every table, users first (the ``orphan`` rule of the others refers to
        the kept users; the referral graph rules run on the referrals left after the row
        rules). Returns the quarantine problems and the kept row count of every table.

        Raises DataContractError (``not_empty``) when no user is left.
        """
        self._quarantine("users", as_of)
        self._final("users")
        quarantined = self._quarantine_problems("users")
        kept = {"users": self._count("users")}
        if kept["users"] == 0:  # nothing left to analyse: every other row would be an orphan
            raise self._no_users_left(quarantined)
        users = self._final_table("users")
        self._store("_ids", users.select("user_id").distinct())
        for t in self.info.tables:
            if t == "users":
                continue
            extra = self._graph_rules(as_of) if t == "referrals" else None
            self._quarantine(t, as_of, extra)
            quarantined += self._quarantine_problems(t)
            self._final(t)
            kept[t] = self._count(t)
            self._mark(f"quarantine_{t}")
        return quarantined, kept

    def _no_users_left(self, quarantined: list[Problem]) -> DataContractError:
        """``not_empty``: every users row was quarantined (the rules and their counts)."""
        rules = ", ".join(f"{p.rule} {p.count:,}" for p in quarantined)
        rows = tuple(sorted(r for p in quarantined for r in p.rows))[:5]
        return DataContractError(
            [
                Problem(
                    "users",
                    None,
                    C.R_EMPTY,
                    self.n_rows["users"],
                    rows,
                    f"every row was quarantined ({rules})",
                )
            ]
        )

    def _drop_empty_tables(self, kept: dict[str, int]) -> list[Problem]:
        """Fill ``self.present``; an optional table without any valid row (an empty file, no
        data rows, every row quarantined) is absent: its view is dropped and an
        ``empty_table`` warning says why (analyses that need it skip)."""
        empty_notes: list[Problem] = []
        for t, name in self.info.empty_files.items():
            empty_notes.append(
                Problem(t, None, C.W_EMPTY_TABLE, 0, detail=f"{name} is empty; {_SKIPPED}")
            )
        for t in self.info.tables:
            if kept[t]:
                self.present.append(t)
                continue
            if self.n_rows[t] == 0:
                why = f"{Path(self.info.origin.get(t, t)).name}: no data rows"
            else:
                why = f"all {self.n_rows[t]:,} row(s) were quarantined"
            empty_notes.append(Problem(t, None, C.W_EMPTY_TABLE, 0, detail=f"{why}; {_SKIPPED}"))
            self._drop_final(t)
        return empty_notes

    # -- run, step 4: final users table and the report -------------------------------------
    def _persons_table(self) -> None:
        """OneID: the table ``_persons(user_id, person_id)`` of the users merged with others.

        Only identity keys shared by two or more users can merge anyone, so just those rows
        come to scipy (:func:`growthlab.data.identity.stitch`); every other user is their own
        person.
        """
        if "identities" in self.present:
            ident = self.raw.execute(
                "SELECT i.user_id, i.id_type, i.id_value FROM identities i SEMI JOIN "
                "(SELECT id_type, id_value FROM identities WHERE id_value IS NOT NULL "
                "GROUP BY id_type, id_value HAVING count(DISTINCT user_id) > 1) s "
                "ON i.id_type IS NOT DISTINCT FROM s.id_type AND i.id_value = s.id_value"
            ).df()
        else:
            ident = pd.DataFrame(columns=["user_id", "id_type", "id_value"])
        merged = stitch(ident["user_id"].drop_duplicates(), ident)
        self._mark("identity")
        self.raw.register(
            "_persons_df",
            pa.table(
                {
                    "user_id": pa.array(merged["user_id"].tolist(), pa.string()),
                    "person_id": pa.array(merged["person_id"].tolist(), pa.string()),
                }
            ),
        )
        self.raw.execute("CREATE OR REPLACE TABLE _persons AS SELECT * FROM _persons_df")
        self.raw.unregister("_persons_df")

    def _users_table(self) -> pd.DataFrame:
        """The final ``users`` table (kept rows in source order) with ``person_id`` (OneID;
        the user's own id when not merged) and ``referred`` (has an accepted inviter).
        Returns the persons frame ``user_id, person_id``."""
        referred = (
            "LEFT JOIN (SELECT DISTINCT invitee_id FROM referrals) r ON r.invitee_id = v.user_id"
            if "referrals" in self.present
            else ""
        )
        ref_col = "(r.invitee_id IS NOT NULL)" if "referrals" in self.present else "FALSE"
        cols = ", ".join(f"v.{_q(c)}" for c in self.output["users"])
        self.raw.execute("DROP VIEW users")
        self.raw.execute(
            f"CREATE TABLE users AS SELECT {cols}, COALESCE(p.person_id, v.user_id) AS person_id, "
            f"{ref_col} AS referred "
            f"FROM _n_users v LEFT JOIN _persons p ON p.user_id = v.user_id {referred} "
            "WHERE NOT v._q ORDER BY v._row"
        )
        return self.con.table("users").select("user_id", "person_id").to_pandas()

    def _notes(self) -> list[Problem]:
        """``unused_columns`` (source columns outside the contract, never read) and
        ``unused_files`` (files of a folder that no table reads)."""
        notes = [
            Problem(
                t,
                None,
                C.N_UNUSED_COLUMNS,
                0,
                detail=f"{len(names)} column(s) outside the data contract, not read: "
                + ", ".join(names),
            )
            for t, names in self.info.dropped.items()
            if t in self.info.tables
        ]
        if self.info.unused_files:
            files = self.info.unused_files
            notes.append(
                Problem(
                    "source",
                    None,
                    C.N_UNUSED_FILES,
                    0,
                    detail=f"{len(files)} file(s) in the folder that no table reads: "
                    + ", ".join(files[:20])
                    + (" ..." if len(files) > 20 else "")
                    + " (name them in growthlab.yaml to read them)",
                )
            )
        return notes

    def _table_summary(self, quarantined: list[Problem], kept: dict[str, int]) -> pd.DataFrame:
        """One row per table read or found empty (contract order): rows in the source,
        quarantined and kept, the first/last time of its main time column, its origin."""
        table_rows = []
        qcount = {}
        for p in quarantined:
            qcount[p.table] = qcount.get(p.table, 0) + p.count
        for t in self.info.tables:
            first, last = self._coverage(t)
            table_rows.append(
                {
                    "table": t,
                    "rows_source": self.n_rows[t],
                    "rows_quarantined": qcount.get(t, 0),
                    "rows_kept": kept[t],
                    "first": pd.Timestamp(first) if first is not None else pd.NaT,
                    "last": pd.Timestamp(last) if last is not None else pd.NaT,
                    "origin": self.info.origin.get(t, ""),
                }
            )
        for t, name in self.info.empty_files.items():
            table_rows.append(
                {
                    "table": t,
                    "rows_source": 0,
                    "rows_quarantined": 0,
                    "rows_kept": 0,
                    "first": pd.NaT,
                    "last": pd.NaT,
                    "origin": name,
                }
            )
        order = {t: i for i, t in enumerate(C.TABLES)}
        return pd.DataFrame(
            sorted(table_rows, key=lambda r: order[r["table"]]),
            columns=["table", "rows_source", "rows_quarantined", "rows_kept", "first", "last"]
            + ["origin"],
        )

    def _coverage(self, t: str) -> tuple:
        """(min, max) of the main time column of a present table (costs: ``date``), else
        (None, None)."""
        tcol = C.TIME_COLUMNS.get(t) or ("date" if t == "costs" else None)
        if tcol and tcol in self.cols[t] and t in self.present:
            return self.raw.execute(
                f"SELECT min({_q(tcol)}), max({_q(tcol)}) FROM {_q(t)}"
            ).fetchone()
        return None, None

    @staticmethod
    def _freshness_warnings(tables: pd.DataFrame, as_of: pd.Timestamp) -> list[Problem]:
        """``freshness``: users, events, orders or referrals whose latest row is more than 7
        days before as_of."""
        warnings = []
        for r in tables.itertuples(index=False):
            if r.table in ("users", "events", "orders", "referrals") and pd.notna(r.last):
                lag = (as_of - r.last) / pd.Timedelta(days=1)
                if lag > 7:
                    warnings.append(
                        Problem(
                            r.table,
                            C.TIME_COLUMNS[r.table],
                            C.W_STALE,
                            0,
                            detail=f"latest row is {lag:.1f} days before as_of",
                        )
                    )
        return warnings

    def _count(self, t: str) -> int:
        return int(self.raw.execute(f"SELECT count(*) FROM {_q(t)}").fetchone()[0])

    # -- engine operations (overridden by growthlab.data.engine for other Ibis backends) -----
    def _store(self, name: str, expr: ibis.Table) -> None:
        """Materialise ``expr`` as the working table ``name`` (replacing it)."""
        self.con.create_table(name, expr, overwrite=True)
        self._cache.pop(name, None)

    def _final_table(self, t: str) -> ibis.Table:
        """The kept rows of table ``t`` (after :meth:`_final`)."""
        return self.con.table(t)

    def _drop_final(self, t: str) -> None:
        """Forget the kept rows of an optional table left empty."""
        self.raw.execute(f"DROP VIEW IF EXISTS {_q(t)}")

    def _mark(self, stage: str | None) -> None:
        """Record the seconds spent since the previous mark under ``stage``."""
        now = time.perf_counter()
        if stage is not None:
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self._t
        self._t = now

    def _cleanup(self) -> None:
        self.raw.execute("DROP TABLE IF EXISTS _n_users")
        for t in self.info.tables:
            if t not in self.present:  # absent: its view is gone, keep nothing of it
                self.raw.execute(f"DROP TABLE IF EXISTS {_q('_n_' + t)}")
            for prefix in ("_q_", "_dup_", "_raw_"):
                self.raw.execute(f"DROP TABLE IF EXISTS {_q(prefix + t)}")
        self.raw.execute("DROP TABLE IF EXISTS _ids")
        self.raw.execute("DROP TABLE IF EXISTS _persons")


def referral_graph_rules(referrals: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Row numbers to quarantine for the referral graph rules, and the rule of each.

    Input columns ``_row, inviter_id, invitee_id, invited_at``. The rules (``self_referral``,
    ``inviter_conflict`` — earliest ``invited_at`` wins, then the smallest ``inviter_id``, then
    the lowest row number — and ``cycle``) are :func:`growthlab.referral_rules.graph_rules`,
    the one implementation the referral analysis uses too.
    """
    if referrals.empty:
        return np.array([], dtype=np.int64), []
    rows = referrals["_row"].to_numpy(dtype=np.int64)
    res = referral_graph(
        referrals["inviter_id"], referrals["invitee_id"], referrals["invited_at"], row=rows
    )
    bad = np.flatnonzero(res.reason != 0)
    names = {SELF_REFERRAL: C.Q_SELF, INVITER_CONFLICT: C.Q_CONFLICT, CYCLE: C.Q_CYCLE}
    return rows[bad], [names[int(r)] for r in res.reason[bad]]
