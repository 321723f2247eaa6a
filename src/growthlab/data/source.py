"""Open a source and copy its contract tables, untouched, into the working DuckDB engine.

Sources (SPEC §3, docs/DEVELOPING.md): a dict ``{table: pandas.DataFrame}``, a folder of
``<table>.csv`` / ``<table>.csv.gz`` / ``<table>.parquet`` files, a ``.duckdb`` file (attached
read-only), or any Ibis backend connection (streamed as Arrow batches). The source itself is
never modified: files are scanned by DuckDB with their 1-based row numbers (CSV ``WITH
ORDINALITY``, Parquet ``file_row_number``); other sources are copied into a private engine as
``_raw_<table>`` in source row order, so that ``rowid`` gives the row numbers.

CSV files are read with every column as text (types are checked by the validator, never
guessed) in UTF-8; GB18030/GBK files (common in Chinese exports) are detected and transcoded
to a private UTF-8 copy.

Only the contract columns are read (:func:`growthlab.data.contract.declared`); the names of the
other source columns are listed in ``RawTables.dropped`` (their values never enter the engine
for frames, DuckDB files and Ibis sources, and are never selected from CSV/Parquet scans).
File-level problems are found here, before any row is parsed: duplicate header names
(``duplicate_column``), and, when the CSV parser gives up or the columns it found do not match
the header, the ragged lines (``ragged_row``) with their field counts (:func:`csv_line_problems`).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from growthlab.data import contract as C
from growthlab.data.contract import TABLES, Problem
from growthlab.errors import ConfigError, DataContractError

_SNIFF_BYTES = 4 << 20  # bytes inspected when detecting the encoding
_CHUNK = 8 << 20
_HEADER_BYTES = 1 << 20  # bytes read to parse a CSV header
_DELIMITERS = (",", "\t", ";", "|")
_MAX_LINES_SHOWN = 5


@dataclass
class RawTables:
    """What :func:`copy_source` put into the engine."""

    tables: list[str] = field(default_factory=list)  # contract tables present, in TABLES order
    scans: dict[str, str] = field(default_factory=dict)  # table -> SQL FROM item to read it
    row_sql: dict[str, str] = field(default_factory=dict)  # table -> SQL of the 1-based row number
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> type
    utc_columns: dict[str, set[str]] = field(default_factory=dict)  # columns already in UTC
    origin: dict[str, str] = field(default_factory=dict)  # table -> where it came from
    encodings: dict[str, str] = field(default_factory=dict)  # CSV table -> detected encoding
    registered: list[str] = field(default_factory=list)  # Arrow views to unregister when done
    #: table -> source columns outside the contract (not read; names only, for the report)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    #: CSV table -> (UTF-8 file the engine reads, file name, delimiter, header field count)
    csv: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)
    #: table -> file name, for files with no header and no rows (0 bytes or blank)
    empty_files: dict[str, str] = field(default_factory=dict)
    #: file-level contract problems (duplicate_column, ragged_row); those tables are not read
    problems: list[Problem] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # tables with a file-level problem


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def read_header(path: Path) -> tuple[list[str], str] | None:
    """The header fields of a UTF-8 CSV file (plain or ``.gz``) and its delimiter.

    The delimiter is the one of ``, \\t ; |`` that splits the header into the most fields
    (ties: the first). Returns None for a file with no header (empty or blank).
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    if not text.strip():
        return None
    best: tuple[list[str], str] | None = None
    for delim in _DELIMITERS:
        try:
            fields = next(csv.reader(io.StringIO(text), delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        if best is None or len(fields) > len(best[0]):
            best = (fields, delim)
    return best


def duplicate_columns(table: str, where: str, names: list[str]) -> list[Problem]:
    """``duplicate_column`` problems for header names that repeat (ignoring case and blanks,
    as the engine does; it would silently rename the copies ``<name>_1``, ...)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for i, name in enumerate(names, start=1):
        key = str(name).strip().lower()
        if key:
            groups.setdefault(key, []).append((i, str(name)))
    out = []
    for spots in groups.values():
        if len(spots) > 1:
            shown = ", ".join(f"{pos} ({raw!r})" for pos, raw in spots)
            name = spots[0][1].strip()
            out.append(
                Problem(
                    table,
                    name,
                    C.R_DUP_COLUMN,
                    0,
                    detail=f"{where}: {len(spots)} columns are named {name!r}, at position(s) "
                    f"{shown}; rename or remove the copies",
                )
            )
    return out


_FOUND = re.compile(r"Found:\s*(\d+)")


def csv_line_problems(
    raw: duckdb.DuckDBPyConnection, table: str, readable: str, name: str, delim: str, n: int
) -> list[Problem]:
    """The lines of a CSV file the parser rejects, as ``ragged_row`` / ``csv_syntax`` problems.

    Re-reads the file with DuckDB's reject tables (only called once a read has failed or gave
    columns that do not match the header). ``n`` is the header's field count. Example rows are
    data-row numbers (line - 1; the engine's line numbers count records, header = line 1).
    Returns [] when nothing is rejected (the caller then reports the parser's own message).
    """
    rej, scans = f"_gl_rej_{table}", f"_gl_rejscan_{table}"
    try:
        raw.execute(
            f"SELECT count(*) FROM (SELECT * FROM read_csv({_lit(readable)}, header=true, "
            f"all_varchar=true, delim={_lit(delim)}, strict_mode=true, store_rejects=true, "
            f"rejects_table={_lit(rej)}, rejects_scan={_lit(scans)}))"
        ).fetchall()
        rows = raw.execute(
            f"SELECT line, error_type, string_agg(error_message, '|') FROM {_q(rej)} "
            "GROUP BY line, error_type ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return []
    finally:
        for t in (rej, scans):
            try:
                raw.execute(f"DROP TABLE IF EXISTS {_q(t)}")
            except duckdb.Error:
                pass
    ragged: list[tuple[int, int | None]] = []
    other: list[tuple[int, str]] = []
    for line, kind, messages in rows:
        kind = str(kind)
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            found = [int(x) for x in _FOUND.findall(messages or "")]
            fields = (max(found) if kind.startswith("TOO") else min(found)) if found else None
            ragged.append((int(line), fields))
        else:
            other.append((int(line), kind.lower()))
    out = []
    if ragged:
        lines = {}
        for line, fields in ragged:  # one line may be rejected once per extra field
            lines.setdefault(line, fields)
        shown = "; ".join(
            f"line {line} has {'?' if f is None else f} field(s)"
            for line, f in list(lines.items())[:_MAX_LINES_SHOWN]
        )
        out.append(
            Problem(
                table,
                None,
                C.R_RAGGED,
                len(lines),
                tuple(line - 1 for line in list(lines)[:_MAX_LINES_SHOWN]),
                f"{name}: {shown}; the header has {n} (delimiter {delim!r})",
            )
        )
    if other:
        lines2 = {}
        for line, kind in other:
            lines2.setdefault(line, kind)
        shown = "; ".join(f"line {ln}: {k}" for ln, k in list(lines2.items())[:_MAX_LINES_SHOWN])
        out.append(
            Problem(
                table,
                None,
                C.R_CSV,
                len(lines2),
                tuple(ln - 1 for ln in list(lines2)[:_MAX_LINES_SHOWN]),
                f"{name}: {shown}",
            )
        )
    return out


def _keep_declared(out: RawTables, table: str, names: list[str]) -> list[str]:
    """The contract columns among ``names``; the others are recorded in ``out.dropped``."""
    want = set(C.declared(table))
    keep = [c for c in names if c in want]
    drop = [c for c in names if c not in want and c != ROW_COLUMN]
    if drop:
        out.dropped[table] = drop
    return keep


def detect_encoding(path: Path) -> str:
    """Return ``"utf-8"`` if the file's first megabytes decode as UTF-8, else ``"gb18030"``.

    GB18030 is a superset of GBK/GB2312, so it reads all three. A file that is neither raises
    :class:`~growthlab.errors.ConfigError` naming the file.
    """
    opener = gzip.open if path.name.endswith(".gz") else open  # .csv.gz: the text inside
    with opener(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    final = len(head) < _SNIFF_BYTES
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=final)
        return "gb18030"
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path.name}: not UTF-8 nor GB18030/GBK text; pass encoding=... to load()"
        ) from err


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """Stream-convert ``path`` from ``encoding`` to a UTF-8 copy under ``workdir``."""
    out = workdir / (path.name.removesuffix(".gz") + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path.name}: cannot be decoded as {encoding} ({err.reason})") from err
    return out


def _find_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for table in TABLES:
        for suffix in (".parquet", ".csv", ".csv.gz"):
            candidate = folder / f"{table}{suffix}"
            if candidate.is_file():
                found[table] = candidate
                break
    return found


def _describe(raw: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    rows = raw.execute(f"DESCRIBE {_q(name)}").fetchall()
    return {r[0]: str(r[1]) for r in rows}


def _describe_sql(raw: duckdb.DuckDBPyConnection, query: str) -> dict[str, str]:
    rows = raw.execute(f"DESCRIBE {query}").fetchall()
    return {r[0]: str(r[1]) for r in rows}


ROW_COLUMN = "__growthlab_row"


def _register_frame(raw: duckdb.DuckDBPyConnection, view: str, df: pd.DataFrame) -> set[str]:
    """Register a pandas frame (as Arrow, plus its 1-based row numbers in ``ROW_COLUMN``).

    tz-aware datetime columns become naive UTC (their names are returned); object columns are
    read as text.
    """
    import numpy as np
    import pyarrow as pa

    df = df.reset_index(drop=True)
    utc: set[str] = set()
    fixed = {}
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            fixed[col] = s.dt.tz_convert("UTC").dt.tz_localize(None)
            utc.add(str(col))
        elif s.dtype == object:
            fixed[col] = s.map(lambda v: v if v is None or pd.isna(v) else str(v)).astype("string")
    if fixed:
        df = df.assign(**{str(k): v for k, v in fixed.items()})
    df.columns = [str(c) for c in df.columns]
    rows = pa.array(np.arange(1, len(df) + 1, dtype=np.int64))
    if len(df.columns):
        table = pa.Table.from_pandas(df, preserve_index=False).append_column(ROW_COLUMN, rows)
    else:  # no contract column: the row numbers alone (the validator reports what is missing)
        table = pa.table({ROW_COLUMN: rows})
    raw.register(view, table)
    return utc


def copy_source(
    source: Any,
    raw: duckdb.DuckDBPyConnection,
    workdir: Path,
    *,
    encoding: str | None = None,
) -> RawTables:
    """Make the contract columns of every contract table of ``source`` readable in ``raw``.

    Files are scanned lazily (``RawTables.scans``, read once by the validator); frames, DuckDB
    files and Ibis backends are copied into the engine as ``_raw_<table>``. Only contract
    columns are read; the other column names go to ``RawTables.dropped``.

    File-level problems (duplicate header names, ragged CSV lines) are collected in
    ``RawTables.problems`` (those tables are left out); empty files in ``empty_files``.
    Raises :class:`~growthlab.errors.ConfigError` for an unreadable source and
    :class:`~growthlab.errors.DataContractError` when a file cannot be parsed as a table.
    """
    out = RawTables()
    if isinstance(source, Mapping):
        for table in TABLES:
            if table in source and source[table] is not None:
                df = source[table]
                if not isinstance(df, pd.DataFrame):
                    raise ConfigError(f"source[{table!r}] must be a pandas DataFrame")
                names = [str(c) for c in df.columns]
                dups = duplicate_columns(table, f"source[{table!r}]", names)
                if dups:
                    out.problems += dups
                    out.broken.add(table)
                    continue
                keep = _keep_declared(out, table, names)
                df = df.set_axis(names, axis=1)[keep]
                view = f"_src_{table}"
                out.utc_columns[table] = _register_frame(raw, view, df)
                out.scans[table] = _q(view)
                out.row_sql[table] = ROW_COLUMN
                out.registered.append(view)
                types = _describe_sql(raw, f"SELECT * FROM {_q(view)}")
                types.pop(ROW_COLUMN, None)
                out.types[table] = types
                out.origin[table] = "pandas frame"
                out.tables.append(table)
        # extra tables in a dict are ignored like extra files in a folder
    elif isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            for table, file in _find_files(path).items():
                _scan_file(out, raw, table, file, workdir, encoding)
        elif path.is_file() and path.suffix in (".duckdb", ".db", ".ddb"):
            try:
                raw.execute(f"ATTACH {_lit(path)} AS _source (READ_ONLY)")
            except duckdb.Error as err:
                raise ConfigError(f"{path}: cannot open as a DuckDB file ({err})") from err
            names = {
                r[0]
                for r in raw.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_catalog = '_source'"
                ).fetchall()
            }
            for table in TABLES:
                if table in names:
                    src = f"_source.{_q(table)}"
                    keep = _keep_declared(out, table, list(_describe_sql(raw, src)))
                    raw.execute(
                        f"CREATE TABLE {_q('_raw_' + table)} AS SELECT {_select(keep)} FROM {src}"
                    )
                    out.origin[table] = f"{path}:{table}"
                    out.utc_columns[table] = set()
                    out.tables.append(table)
            raw.execute("DETACH _source")
        elif not path.exists():
            raise ConfigError(f"source {str(path)!r} does not exist")
        else:
            raise ConfigError(
                f"source {str(path)!r} is neither a folder of CSV/Parquet files nor a .duckdb file"
            )
    elif hasattr(source, "list_tables") and hasattr(source, "table"):
        names = set(source.list_tables())
        for table in TABLES:
            if table in names:
                expr = source.table(table)
                keep = _keep_declared(out, table, list(expr.columns))
                view = f"_src_{table}"
                if keep:
                    raw.register(view, expr.select(*keep).to_pyarrow_batches())
                    select = "*"
                else:  # no contract column: keep the row count only
                    raw.register(view, expr.to_pyarrow_batches())
                    select = f"NULL::BIGINT AS {_q(ROW_COLUMN)}"
                try:
                    raw.execute(
                        f"CREATE TABLE {_q('_raw_' + table)} AS SELECT {select} FROM {view}"
                    )
                finally:
                    raw.unregister(view)
                out.origin[table] = f"{type(source).__module__}:{table}"
                out.utc_columns[table] = set()
                out.tables.append(table)
    else:
        raise ConfigError(
            "source must be a folder, a .duckdb file, an Ibis connection or a dict of DataFrames; "
            f"got {type(source).__name__}"
        )
    for table in out.tables:
        if table not in out.scans:  # copied into the engine
            out.scans[table] = _q(f"_raw_{table}")
            out.row_sql[table] = "rowid + 1"
            types = _describe(raw, f"_raw_{table}")
            types.pop(ROW_COLUMN, None)
            out.types[table] = types
    return out


def _select(columns: list[str]) -> str:
    """SQL select list of ``columns`` (a placeholder when there is none: rows still count)."""
    return ", ".join(_q(c) for c in columns) if columns else f"NULL::BIGINT AS {_q(ROW_COLUMN)}"


def _scan_file(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    table: str,
    file: Path,
    workdir: Path,
    encoding: str | None,
) -> None:
    """Register the lazy scan of one CSV/Parquet file (or record why it cannot be read)."""
    header: tuple[list[str], str] | None = None
    readable = file
    if file.suffix == ".parquet":
        scan = f"read_parquet({_lit(file)}, file_row_number=true)"
        probe = f"read_parquet({_lit(file)})"
        row_sql = "file_row_number + 1"
        try:
            import pyarrow.parquet as pq

            names = list(pq.read_schema(file).names)
        except Exception:  # noqa: BLE001 - unreadable: the engine's probe below says why
            names = []
    else:
        enc = (encoding or detect_encoding(file)).lower().replace("_", "-")
        if enc not in ("utf-8", "utf8", "utf-8-sig"):
            readable = _transcode(file, enc, workdir)
        out.encodings[table] = enc
        header = read_header(readable)
        if header is None:
            out.empty_files[table] = file.name
            return
        names = header[0]
        probe = (
            f"read_csv({_lit(readable)}, header=true, all_varchar=true, "
            "auto_detect=true, strict_mode=true)"
        )
        scan = f"{probe} WITH ORDINALITY"
        row_sql = "ordinality"
    dups = duplicate_columns(table, file.name, names)
    if dups:
        out.problems += dups
        out.broken.add(table)
        return
    try:
        types = _describe_sql(raw, f"SELECT * FROM {probe}")
    except duckdb.Error as err:
        if header is not None:
            found = csv_line_problems(raw, table, str(readable), file.name, header[1], len(names))
            if found:
                out.problems += found
                out.broken.add(table)
                return
        msg = str(err).splitlines()[0]
        raise DataContractError([], f"{file.name}: cannot be read as a table: {msg}") from err
    if header is not None:
        out.csv[table] = (str(readable), file.name, header[1], len(names))
        if len(types) != len(names):  # the dialect sniffer gave up on the header's layout
            found = csv_line_problems(raw, table, str(readable), file.name, header[1], len(names))
            if found:
                out.problems += found
                out.broken.add(table)
                return
    keep = _keep_declared(out, table, list(types))
    out.types[table] = {c: types[c] for c in keep}
    out.scans[table] = scan
    out.row_sql[table] = row_sql
    out.origin[table] = str(file)
    out.utc_columns[table] = set()
    out.tables.append(table)


def source_size(source: Any) -> int:
    """Approximate size in bytes of a path source (0 for in-memory sources)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        if path.is_file():
            return path.stat().st_size
    return 0


def new_workdir() -> tempfile.TemporaryDirectory:
    """A private temporary folder for the engine's spill files and transcoded CSV copies."""
    return tempfile.TemporaryDirectory(prefix="growthlab-")
