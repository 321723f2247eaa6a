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
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from growthlab.data.contract import TABLES
from growthlab.errors import ConfigError, DataContractError

_SNIFF_BYTES = 4 << 20  # bytes inspected when detecting the encoding
_CHUNK = 8 << 20


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def detect_encoding(path: Path) -> str:
    """Return ``"utf-8"`` if the file's first megabytes decode as UTF-8, else ``"gb18030"``.

    GB18030 is a superset of GBK/GB2312, so it reads all three. A file that is neither raises
    :class:`~growthlab.errors.ConfigError` naming the file.
    """
    with open(path, "rb") as fh:
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
    opener = open
    if path.suffix == ".gz":
        import gzip

        opener = gzip.open  # type: ignore[assignment]
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
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column(ROW_COLUMN, pa.array(np.arange(1, len(df) + 1, dtype=np.int64)))
    raw.register(view, table)
    return utc


def copy_source(
    source: Any,
    raw: duckdb.DuckDBPyConnection,
    workdir: Path,
    *,
    encoding: str | None = None,
) -> RawTables:
    """Make every contract table of ``source`` readable in ``raw``.

    Files are scanned lazily (``RawTables.scans``, read once by the validator); frames, DuckDB
    files and Ibis backends are copied into the engine as ``_raw_<table>``.

    Raises :class:`~growthlab.errors.ConfigError` for an unreadable source and
    :class:`~growthlab.errors.DataContractError` when a file cannot be parsed as a table.
    """
    out = RawTables()
    if isinstance(source, Mapping):
        unknown = [k for k in source if k not in TABLES]
        for table in TABLES:
            if table in source and source[table] is not None:
                df = source[table]
                if not isinstance(df, pd.DataFrame):
                    raise ConfigError(f"source[{table!r}] must be a pandas DataFrame")
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
        del unknown  # extra tables in a dict are ignored like extra files in a folder
    elif isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            files = _find_files(path)
            for table, file in files.items():
                if file.suffix == ".parquet":
                    scan = f"read_parquet({_lit(file)}, file_row_number=true)"
                    probe = f"read_parquet({_lit(file)})"
                    out.row_sql[table] = "file_row_number + 1"
                else:
                    enc = (encoding or detect_encoding(file)).lower().replace("_", "-")
                    readable = file
                    if enc not in ("utf-8", "utf8", "utf-8-sig"):
                        readable = _transcode(file, enc, workdir)
                    out.encodings[table] = enc
                    probe = (
                        f"read_csv({_lit(readable)}, header=true, all_varchar=true, "
                        "auto_detect=true, strict_mode=true)"
                    )
                    scan = f"{probe} WITH ORDINALITY"
                    out.row_sql[table] = "ordinality"
                try:
                    out.types[table] = _describe_sql(raw, f"SELECT * FROM {probe}")
                except duckdb.Error as err:
                    msg = str(err).splitlines()[0]
                    raise DataContractError(
                        [], f"{file.name}: cannot be read as a table: {msg}"
                    ) from err
                out.scans[table] = scan
                out.origin[table] = str(file)
                out.utc_columns[table] = set()
                out.tables.append(table)
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
                    raw.execute(
                        f"CREATE TABLE {_q('_raw_' + table)} AS SELECT * FROM _source.{_q(table)}"
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
                reader = source.table(table).to_pyarrow_batches()
                view = f"_src_{table}"
                raw.register(view, reader)
                try:
                    raw.execute(f"CREATE TABLE {_q('_raw_' + table)} AS SELECT * FROM {view}")
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
            out.types[table] = _describe(raw, f"_raw_{table}")
    return out


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
