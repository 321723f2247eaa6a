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
from growthlab.data.description import (
    EXCEL_SUFFIXES,
    SourceDescription,
    TableSpec,
    closest,
    data_files,
    resolve_files,
)
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
    #: CSV table -> [(UTF-8 file the engine reads, file name, delimiter, header field count)]
    csv: dict[str, list[tuple[str, str, str, int]]] = field(default_factory=dict)
    #: table -> {file name: its header names as written} (for messages about missing columns)
    headers: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: table read from several files -> [(file name, rows before it, its row count)]
    parts: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    #: table -> contract column -> formats / value map, from the source description
    formats: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str | None]]] = field(default_factory=dict)
    #: tables read from text (CSV, Excel): their ids and labels are trimmed
    text: set[str] = field(default_factory=set)
    #: files of a folder source that no table reads (names only, for a note)
    unused_files: list[str] = field(default_factory=list)
    #: the folder's growthlab.yaml, when it has one
    description: SourceDescription | None = None
    #: table -> file name, for files with no header and no rows (0 bytes or blank)
    empty_files: dict[str, str] = field(default_factory=dict)
    #: file-level contract problems (duplicate_column, ragged_row); those tables are not read
    problems: list[Problem] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)  # tables with a file-level problem

    def locate(self, table: str, row: int) -> str:
        """``row N`` of a table, with its file and row there when read from several files."""
        for name, before, n in self.parts.get(table, []):
            if before < row <= before + n:
                return f"row {row} ({name} row {row - before})"
        return f"row {row}"

    def where(self, table: str) -> str:
        """The file name(s) a table was read from (for messages)."""
        names = list(self.headers.get(table, {}))
        return ", ".join(names) if names else Path(self.origin.get(table, table)).name


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def read_header(path: Path, skip: int = 0) -> tuple[list[str], str] | None:
    """The header fields of a UTF-8 CSV file (plain or ``.gz``) and its delimiter.

    The delimiter is the one of ``, \\t ; |`` that splits the header into the most fields
    (ties: the first). ``skip`` lines above the header are ignored. Returns None for a file
    with no header (empty or blank).
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    for _ in range(skip):
        text = text.split("\n", 1)[1] if "\n" in text else ""
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
        for suffix in (".parquet", ".csv", ".csv.gz", *EXCEL_SUFFIXES):
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
    description: SourceDescription | None = None,
) -> RawTables:
    """Make the contract columns of every contract table of ``source`` readable in ``raw``.

    Files are scanned lazily (``RawTables.scans``, read once by the validator); frames, DuckDB
    files and Ibis backends are copied into the engine as ``_raw_<table>``. Only contract
    columns are read; the other column names go to ``RawTables.dropped``.

    File-level problems (duplicate header names, ragged CSV lines) are collected in
    ``RawTables.problems`` (those tables are left out); empty files in ``empty_files``.
    A folder's ``description`` (its growthlab.yaml, :mod:`growthlab.data.description`) says
    which files hold a table and how their columns are named; the table's scan then exposes
    the contract names (files concatenated, row numbers counted across them).

    Raises :class:`~growthlab.errors.ConfigError` for an unreadable source and
    :class:`~growthlab.errors.DataContractError` when a file cannot be parsed as a table.
    """
    out = RawTables(description=description)
    if isinstance(source, Mapping):
        _copy_frames(out, raw, source)
    elif isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            _scan_folder(out, raw, path, workdir, encoding, description)
        elif path.is_file() and path.suffix in (".duckdb", ".db", ".ddb"):
            _copy_duckdb_file(out, raw, path)
        elif not path.exists():
            raise ConfigError(f"source {str(path)!r} does not exist")
        else:
            raise ConfigError(
                f"source {str(path)!r} is neither a folder of CSV/Parquet files nor a .duckdb file"
            )
    elif hasattr(source, "list_tables") and hasattr(source, "table"):
        _copy_backend(out, raw, source)
    else:
        raise ConfigError(
            "source must be a folder, a .duckdb file, an Ibis connection or a dict of DataFrames; "
            f"got {type(source).__name__}"
        )
    _describe_copies(out, raw)
    return out


def _copy_frames(out: RawTables, raw: duckdb.DuckDBPyConnection, source: Mapping) -> None:
    """A dict of pandas frames: register each contract table's contract columns as the Arrow
    view ``_src_<table>`` (with its row numbers). A frame with repeated column names is a
    ``duplicate_column`` problem; extra tables in a dict are ignored like extra files in a
    folder."""
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


def _copy_duckdb_file(out: RawTables, raw: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A DuckDB file, attached read-only: copy the contract columns of each contract table
    into ``_raw_<table>``."""
    try:
        raw.execute(f"ATTACH {_lit(path)} AS _source (READ_ONLY)")
    except duckdb.Error as err:
        raise ConfigError(f"{path}: cannot open as a DuckDB file ({err})") from err
    names = {
        r[0]
        for r in raw.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = '_source'"
        ).fetchall()
    }
    for table in TABLES:
        if table in names:
            src = f"_source.{_q(table)}"
            keep = _keep_declared(out, table, list(_describe_sql(raw, src)))
            raw.execute(f"CREATE TABLE {_q('_raw_' + table)} AS SELECT {_select(keep)} FROM {src}")
            out.origin[table] = f"{path}:{table}"
            out.utc_columns[table] = set()
            out.tables.append(table)
    raw.execute("DETACH _source")


def _copy_backend(out: RawTables, raw: duckdb.DuckDBPyConnection, source: Any) -> None:
    """An Ibis backend: stream the contract columns of each contract table as Arrow batches
    into ``_raw_<table>`` (the row count alone when it has no contract column)."""
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
                raw.execute(f"CREATE TABLE {_q('_raw_' + table)} AS SELECT {select} FROM {view}")
            finally:
                raw.unregister(view)
            out.origin[table] = f"{type(source).__module__}:{table}"
            out.utc_columns[table] = set()
            out.tables.append(table)


def _describe_copies(out: RawTables, raw: duckdb.DuckDBPyConnection) -> None:
    """Scan, row numbers (``rowid + 1``: copies keep the source row order) and column types
    of the tables copied into the engine as ``_raw_<table>``."""
    for table in out.tables:
        if table not in out.scans:  # copied into the engine
            out.scans[table] = _q(f"_raw_{table}")
            out.row_sql[table] = "rowid + 1"
            types = _describe(raw, f"_raw_{table}")
            types.pop(ROW_COLUMN, None)
            out.types[table] = types


def _select(columns: list[str]) -> str:
    """SQL select list of ``columns`` (a placeholder when there is none: rows still count)."""
    return ", ".join(_q(c) for c in columns) if columns else f"NULL::BIGINT AS {_q(ROW_COLUMN)}"


@dataclass
class _Part:
    """One file of a table, opened: how to read it and what its header holds."""

    name: str  # file name (for messages)
    from_sql: str  # SQL FROM item
    row_sql: str  # SQL of the 1-based data row number within the file
    names: list[str]  # header names as written
    types: dict[str, str]  # header name -> engine type
    csv: tuple[str, str, str, int] | None = None  # for ragged-line diagnosis
    view: str | None = None  # registered Arrow view (Excel)


def _lower_key(name: str) -> str:
    return str(name).strip().lower()


def _read_excel(
    raw: duckdb.DuckDBPyConnection, file: Path, sheet: str | int | None, skip: int, view: str
) -> tuple[list[str], bool]:
    """Register the sheet of an Excel workbook as the Arrow view ``view`` (every cell as text,
    plus the 1-based row numbers in ``ROW_COLUMN``). Returns (header names, has_header).

    Read by fastexcel (Rust calamine) straight into Arrow: no pandas detour. Dates come as
    ``YYYY-MM-DD HH:MM:SS`` text (local wall-clock time, like a CSV export).
    """
    import numpy as np
    import pyarrow as pa

    try:
        import fastexcel
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ConfigError(f"{file.name}: reading Excel files needs the fastexcel package") from err
    try:
        book = fastexcel.read_excel(str(file))
        sheets = list(book.sheet_names)
    except Exception as err:  # noqa: BLE001 - corrupt or not a workbook
        raise ConfigError(f"{file.name}: cannot be read as an Excel workbook ({err})") from err
    if sheet is None:
        sheet = 0
    if isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise ConfigError(
                f"{file.name}: has no sheet {sheet} (sheets, from 0: {', '.join(sheets)})"
            )
    elif sheet not in sheets:
        near = closest(sheet, sheets)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ConfigError(
            f"{file.name}: has no sheet {sheet!r}{hint} (sheets: {', '.join(sheets)})"
        )
    try:
        sh = book.load_sheet(sheet, header_row=skip, dtypes="string")
        batch = sh.to_arrow()
    except Exception as err:  # noqa: BLE001 - e.g. an empty sheet
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        if _sheet_empty(book, sheet):
            return [], False
        raise ConfigError(f"{file.name}: sheet {sheet!r} cannot be read ({msg})") from err
    names = [str(n) for n in batch.schema.names]
    if not names:
        return [], False
    rows = pa.array(np.arange(1, batch.num_rows + 1, dtype=np.int64))
    cols = [c.cast(pa.string()) for c in batch.columns]
    # header names may repeat here only as fastexcel's de-duplicated "x_1": checked by caller
    table = pa.Table.from_arrays([*cols, rows], names=[*names, ROW_COLUMN])
    raw.register(view, table)
    return names, True


def _sheet_empty(book: Any, sheet: str | int) -> bool:
    """Whether a sheet has no cell at all."""
    try:
        return book.load_sheet(sheet, header_row=None).height == 0
    except Exception:  # noqa: BLE001
        return True


def _open_part(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    table: str,
    file: Path,
    workdir: Path,
    encoding: str | None,
    sheet: str | int | None = None,
    skip: int = 0,
    view: str = "",
) -> _Part | None:
    """Open one file of ``table``; None when it is empty (recorded) or broken (problems)."""
    header: tuple[list[str], str] | None = None
    readable = file
    lname = file.name.lower()
    name = file.name
    if lname.endswith(".parquet"):
        from_sql = f"read_parquet({_lit(file)}, file_row_number=true)"
        probe = f"read_parquet({_lit(file)})"
        row_sql = "file_row_number + 1"
        try:
            import pyarrow.parquet as pq

            names = list(pq.read_schema(file).names)
        except Exception:  # noqa: BLE001 - unreadable: the engine's probe below says why
            names = []
    elif lname.endswith(EXCEL_SUFFIXES):
        return _open_excel_part(out, raw, table, file, sheet, skip, view)
    else:
        enc = (encoding or detect_encoding(file)).lower().replace("_", "-")
        if enc not in ("utf-8", "utf8", "utf-8-sig"):
            readable = _transcode(file, enc, workdir)
        out.encodings[table] = enc
        header = read_header(readable, skip)
        if header is None:
            out.empty_files.setdefault(table, file.name)
            return None
        names = header[0]
        extra = f", skip={int(skip)}" if skip else ""
        probe = (
            f"read_csv({_lit(readable)}, header=true, all_varchar=true, "
            f"auto_detect=true, strict_mode=true{extra})"
        )
        from_sql = f"{probe} WITH ORDINALITY"
        row_sql = "ordinality"
    dups = duplicate_columns(table, file.name, names)
    if dups:
        out.problems += dups
        out.broken.add(table)
        return None
    try:
        types = _describe_sql(raw, f"SELECT * FROM {probe}")
    except duckdb.Error as err:
        if header is not None:
            found = csv_line_problems(raw, table, str(readable), file.name, header[1], len(names))
            if found:
                out.problems += found
                out.broken.add(table)
                return None
        msg = str(err).splitlines()[0]
        raise DataContractError([], f"{file.name}: cannot be read as a table: {msg}") from err
    csv_info = None
    if header is not None:
        csv_info = (str(readable), file.name, header[1], len(names))
        if len(types) != len(names):  # the dialect sniffer gave up on the header's layout
            found = csv_line_problems(raw, table, str(readable), file.name, header[1], len(names))
            if found:
                out.problems += found
                out.broken.add(table)
                return None
    return _Part(name, from_sql, row_sql, list(types), types, csv_info)


def _open_excel_part(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    table: str,
    file: Path,
    sheet: str | int | None,
    skip: int,
    view: str,
) -> _Part | None:
    """Open one sheet of an Excel workbook as the Arrow view ``view``; None when it is empty
    (recorded in ``empty_files``) or has repeated header names (``duplicate_column``)."""
    name = file.name
    if sheet not in (None, 0):
        name = f"{file.name}[{sheet}]"
    names, has_header = _read_excel(raw, file, sheet, skip, view)
    if not has_header:
        out.empty_files.setdefault(table, name)
        return None
    out.registered.append(view)
    dups = duplicate_columns(table, name, names)
    if dups:
        out.problems += dups
        out.broken.add(table)
        return None
    types = _describe_sql(raw, f"SELECT * FROM {_q(view)}")
    types.pop(ROW_COLUMN, None)
    return _Part(name, _q(view), _q(ROW_COLUMN), names, types, view=view)


def _match_header(wanted: tuple[str, ...], names: list[str]) -> str | None:
    """The first of ``wanted`` present in ``names`` (exact, else ignoring case and blanks)."""
    for w in wanted:
        if w in names:
            return w
    low = {_lower_key(n): n for n in names}
    for w in wanted:
        if _lower_key(w) in low:
            return low[_lower_key(w)]
    return None


def _scan_table(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    table: str,
    files: list[Path],
    workdir: Path,
    encoding: str | None,
    spec: TableSpec | None,
) -> None:
    """Register the scan of ``table`` from ``files`` (described by ``spec``, or by its
    contract column names when there is no description)."""
    parts = _open_parts(out, raw, table, files, workdir, encoding, spec)
    if not parts:
        return  # every file empty (recorded in empty_files), or a file is broken
    _record_parts(out, table, files, parts, spec)
    if spec is None and len(parts) == 1:  # a contract-named file: scanned as it is
        p = parts[0]
        keep = _keep_declared(out, table, list(p.types))
        out.types[table] = {c: p.types[c] for c in keep}
        out.scans[table] = p.from_sql
        out.row_sql[table] = p.row_sql
        out.tables.append(table)
        return
    # Described (renamed) and/or several files: one SELECT per file exposing contract names,
    # concatenated, with row numbers counted across the files.
    chosen = _map_columns(out, table, parts, spec)
    if table in out.broken:
        return
    scan = _union_scan(out, raw, table, parts, chosen)
    if scan is None:
        return
    types = _describe_sql(raw, f"SELECT * FROM {scan}")
    types.pop(ROW_COLUMN, None)
    out.types[table] = types
    out.scans[table] = scan
    out.row_sql[table] = _q(ROW_COLUMN)
    out.tables.append(table)


def _open_parts(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    table: str,
    files: list[Path],
    workdir: Path,
    encoding: str | None,
    spec: TableSpec | None,
) -> list[_Part]:
    """Open every file of ``table`` (:func:`_open_part`) with the encoding in force (the
    argument, else the table's, else the description's). Returns the non-empty files; []
    as soon as one file is broken (the table is then in ``out.broken``, and not in
    ``out.empty_files`` even when an earlier file was empty)."""
    enc = encoding or (spec.encoding if spec else None)
    if enc is None and out.description is not None:
        enc = out.description.encoding
    parts: list[_Part] = []
    for i, file in enumerate(files):
        part = _open_part(
            out,
            raw,
            table,
            file,
            workdir,
            enc,
            spec.sheet if spec else None,
            spec.skip_rows if spec else 0,
            f"_xl_{table}_{i}",
        )
        if table in out.broken:
            out.empty_files.pop(table, None)  # an empty file among others is just no rows
            return []
        if part is not None:
            parts.append(part)
    return parts


def _record_parts(
    out: RawTables, table: str, files: list[Path], parts: list[_Part], spec: TableSpec | None
) -> None:
    """What the validator and its messages need to know of a table's opened files: headers,
    whether it was read from text, CSV details for ragged-line diagnosis, origin, and the
    description's formats and value maps. An empty file among others is just no rows."""
    out.empty_files.pop(table, None)  # an empty month among others is just no rows
    out.headers[table] = {p.name: p.names for p in parts}
    if any(p.csv is not None or p.view is not None for p in parts):
        out.text.add(table)
    out.csv[table] = [p.csv for p in parts if p.csv is not None]
    out.origin[table] = ", ".join(str(f) for f in files) if len(files) > 1 else str(files[0])
    out.utc_columns[table] = set()
    if spec is not None:
        if spec.formats:
            out.formats[table] = dict(spec.formats)
        if spec.values:
            out.values[table] = dict(spec.values)


def _map_columns(
    out: RawTables, table: str, parts: list[_Part], spec: TableSpec | None
) -> list[dict[str, str]]:
    """For each file, contract column -> its header name (the description's names, else the
    contract name). A described column a file lacks is a ``column_required`` problem naming
    the closest headers (the table is then broken); the other headers go to
    ``out.dropped``."""
    declared = C.declared(table)
    chosen: list[dict[str, str]] = []
    dropped: list[str] = []
    for p in parts:
        mapping: dict[str, str] = {}
        for col in declared:
            alts = spec.columns.get(col) if spec else None
            if alts:
                h = _match_header(alts, p.names)
                if h is None:
                    out.problems.append(_described_column_missing(table, col, alts, p))
                    out.broken.add(table)
                    continue
                mapping[col] = h
            elif col in p.names:
                mapping[col] = col
        chosen.append(mapping)
        for n in p.names:
            if n not in mapping.values() and n not in dropped:
                dropped.append(n)
    if table not in out.broken and dropped:
        out.dropped[table] = dropped
    return chosen


def _described_column_missing(table: str, col: str, alts: tuple[str, ...], p: _Part) -> Problem:
    """``column_required``: none of the header names growthlab.yaml gives for ``col`` is in
    the file ``p`` (with its columns and the closest names)."""
    near = [n for a in alts for n in closest(a, p.names)]
    hint = f"; closest: {', '.join(repr(n) for n in near[:3])}" if near else ""
    return Problem(
        table,
        col,
        C.R_COLUMN,
        0,
        detail=f"{p.name} has no column "
        + " or ".join(repr(a) for a in alts)
        + f" (growthlab.yaml tables.{table}.columns.{col}); its columns: "
        + ", ".join(p.names)
        + hint,
    )


def _union_scan(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    table: str,
    parts: list[_Part],
    chosen: list[dict[str, str]],
) -> str | None:
    """SQL FROM item of the files concatenated: one SELECT per file exposing the contract
    names (a column whose type differs between files as text; an optional column a file
    lacks as NULL) and ``ROW_COLUMN`` counted across the files (``out.parts`` records each
    file's offset). None when a file turns out broken while counting its rows."""
    present = [c for c in C.declared(table) if any(c in m for m in chosen)]
    col_types: dict[str, set[str]] = {c: set() for c in present}
    for p, m in zip(parts, chosen, strict=True):
        for c, h in m.items():
            col_types[c].add(p.types[h])
    mixed = {c for c, ts in col_types.items() if len(ts) > 1}
    before = 0
    selects = []
    out.parts[table] = []
    for i, (p, m) in enumerate(zip(parts, chosen, strict=True)):
        cols = []
        for c in present:
            if c in m:
                expr = _q(m[c])
                if c in mixed:
                    expr = f"CAST({expr} AS VARCHAR)"
            else:  # an optional column this file lacks
                ty = "VARCHAR" if c in mixed else next(iter(col_types[c]))
                expr = f"CAST(NULL AS {ty})"
            cols.append(f"{expr} AS {_q(c)}")
        cols.append(f"CAST({p.row_sql} AS BIGINT) + {before} AS {_q(ROW_COLUMN)}")
        selects.append(f"SELECT {', '.join(cols)} FROM {p.from_sql}")
        if len(parts) > 1:
            n = _count_part(out, raw, table, p) if i < len(parts) - 1 else 0
            if n is None:
                return None
            out.parts[table].append((p.name, before, n if i < len(parts) - 1 else 1 << 62))
            before += n
    if len(parts) == 1:
        out.parts.pop(table, None)
    return "(" + " UNION ALL ".join(selects) + ")"


def _count_part(out: RawTables, raw: duckdb.DuckDBPyConnection, table: str, p: _Part) -> int | None:
    """Data rows of one file (for the row offsets of the next); None when it is broken."""
    try:
        return int(raw.execute(f"SELECT count(*) FROM {p.from_sql}").fetchone()[0])
    except duckdb.Error as err:
        found = csv_line_problems(raw, table, *p.csv) if p.csv else []
        if found:
            out.problems += found
            out.broken.add(table)
            return None
        msg = str(err).splitlines()[0]
        raise DataContractError([], f"{p.name}: cannot be read as a table: {msg}") from err


def _scan_folder(
    out: RawTables,
    raw: duckdb.DuckDBPyConnection,
    folder: Path,
    workdir: Path,
    encoding: str | None,
    description: SourceDescription | None,
) -> None:
    """Open every table of a folder: described tables from their files, the others from
    ``<table>.<suffix>``; the files no table reads are listed in ``out.unused_files``."""
    plan: dict[str, tuple[list[Path], TableSpec | None]] = {}
    if description is not None:
        for table, spec in description.tables.items():
            plan[table] = (resolve_files(folder, table, spec), spec)
    for table, file in _find_files(folder).items():
        if table not in plan:
            plan[table] = ([file], None)
    used: set[str] = set()
    for table in TABLES:
        if table in plan:
            files, spec = plan[table]
            used.update(f.name for f in files)
            _scan_table(out, raw, table, files, workdir, encoding, spec)
    out.unused_files = [f.name for f in data_files(folder) if f.name not in used]


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
