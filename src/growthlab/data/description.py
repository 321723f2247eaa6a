"""The source description: ``growthlab.yaml`` in a source folder maps its files onto the contract.

Exports rarely arrive in the contract's shape (SPEC §3): file names carry dates, headers are in
Chinese, amounts carry currency signs, statuses are words. A folder source may hold a
``growthlab.yaml`` saying, per contract table, which file(s) hold it and how to read them;
``growthlab.data.load`` (and so ``growthlab validate`` and ``growthlab run``) applies it
automatically. ``growthlab init DIR`` writes a commented draft (:mod:`growthlab.data.infer`).
Without the file, a folder is read as before (``<table>.csv|.csv.gz|.parquet|.xlsx``).

Format (every key optional except ``tables``; see data/README.md)::

    version: 1
    timezone: Asia/Shanghai       # zone of naive timestamps (load(timezone=...) wins)
    currency: CNY
    as_of: null                   # analysis date; null = the latest timestamp in the data
    min_date: 2000-01-01          # floor of plausible timestamps
    encoding: auto                # CSV text encoding: auto (UTF-8 or GB18030/GBK) or a codec
    channels:                     # raw channel name -> canonical key, over channels.yaml
      朋友圈广告: paid_ads
    tables:
      users:
        files: 用户导出_*.csv      # names or globs in this folder; several files = one table
        encoding: gb18030         # overrides the top-level encoding for this table
        columns:                  # contract column: source header (or a list of alternatives)
          user_id: 用户ID
          signup_at: 注册时间
        formats:                  # how to parse a column
          signup_at: "%Y/%m/%d %H:%M"   # strptime format(s); or excel | epoch_s | epoch_ms
        values:                   # raw value -> contract value, per column
          consent_marketing: {是: true, 否: false}
      orders:
        files: [订单_2025-05.xlsx, 订单_2025-06.xlsx]
        sheet: 订单                # Excel sheet name or 0-based index (default: the first)
        skip_rows: 0              # lines/rows above the header row
        columns: {order_id: 订单号, user_id: 用户ID, ts: 下单时间, amount: 实付金额, status: 订单状态}
        formats: {amount: money}  # strips ¥ ￥ $ 元 CNY RMB USD and thousands separators
        values: {status: {已支付: paid, 已退款: refunded}}

Everything is checked when the file is read; a mistake is a :class:`~growthlab.errors.ConfigError`
naming the key (``growthlab.yaml: tables.orders.columns.amout: ...``) and what would be valid.
"""

from __future__ import annotations

import difflib
import glob as _glob
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from growthlab.data import contract as C
from growthlab.errors import ConfigError

DESCRIPTION_FILE = "growthlab.yaml"
#: Files in a source folder that are never data (the description, the synthetic truth).
NOT_DATA = (DESCRIPTION_FILE, "truth.json")

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
PARQUET_SUFFIXES = (".parquet",)
DATA_SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES

#: Number formats: ``money`` strips currency signs/codes and thousands separators.
NUMBER_FORMATS = ("money",)
#: Timestamp formats besides strptime patterns: Excel serial days, Unix seconds/milliseconds.
TIME_FORMATS = ("excel", "epoch_s", "epoch_ms")

_TOP_KEYS = ("version", "timezone", "currency", "as_of", "min_date", "encoding", "channels")
_TOP_KEYS += ("tables",)
_TABLE_KEYS = ("files", "sheet", "encoding", "skip_rows", "columns", "formats", "values")


@dataclass(frozen=True)
class TableSpec:
    """How one contract table is read from the folder's files."""

    files: tuple[str, ...]
    sheet: str | int | None = None
    encoding: str | None = None
    skip_rows: int = 0
    #: contract column -> source header names (alternatives, first present wins)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: contract column -> formats (strptime patterns, excel/epoch_s/epoch_ms, or money)
    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: contract column -> {lower-cased trimmed raw value: contract value as text, or None}
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceDescription:
    """A parsed ``growthlab.yaml`` (see the module docstring)."""

    path: Path
    tables: dict[str, TableSpec]
    timezone: str | None = None
    currency: str | None = None
    as_of: str | None = None
    min_date: str | None = None
    encoding: str | None = None
    #: raw channel name -> canonical key (merged over channels.yaml)
    channels: dict[str, str] = field(default_factory=dict)
    #: SHA-256 of the parsed content (part of the validated-load cache key)
    digest: str = ""

    @property
    def folder(self) -> Path:
        return self.path.parent

    def key(self, table: str, kind: str, column: str) -> str:
        """The dotted key of a setting, as the user would write it (for messages)."""
        return f"tables.{table}.{kind}.{column}"


# -- YAML ------------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """Safe YAML, except that dates stay text and only true/false are booleans.

    ``2025-06-30`` stays the text written (as in run configs), and ``是``/``否``/``yes``/``no``
    keys of a value map stay the words written (YAML 1.1 would make ``yes``/``no`` booleans).
    """


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))


def load_yaml(text: str) -> Any:
    """Parse description YAML (see :class:`_Loader`)."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe


# -- helpers ---------------------------------------------------------------------------------
def closest(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Up to ``n`` of ``choices`` spelled most like ``word`` (case-insensitive)."""
    low = {c.lower(): c for c in choices}
    return [low[m] for m in difflib.get_close_matches(str(word).lower(), list(low), n, 0.6)]


def _did_you_mean(word: str, choices) -> str:
    near = closest(word, list(choices))
    return f"; did you mean {near[0]!r}?" if near else ""


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise ConfigError(f"{where}: expected a text value, got {value!r}")
    return str(value).strip()


def _texts(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = tuple(_text(v, where) for v in items)
    if not out or not all(out):
        raise ConfigError(f"{where}: expected a name or a list of names")
    return out


def value_text(value: Any) -> str | None:
    """A mapped value as the text the engine parses (True -> 'true'; None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _kind_label(kind: str) -> str:
    return {
        C.TIMESTAMP: "a timestamp",
        C.DATE: "a date",
        C.FLOAT: "a number",
        C.BOOL: "a boolean",
        C.ID: "an id",
        C.TEXT: "text",
        C.CHANNEL: "a channel",
        C.STATUS: "an order status",
    }.get(kind, kind)


def _check_format(fmt: str, kind: str, where: str) -> None:
    if kind in (C.TIMESTAMP, C.DATE):
        if fmt in TIME_FORMATS or "%" in fmt:
            return
        raise ConfigError(
            f"{where}: {fmt!r} is not a timestamp format: use a strptime pattern such as "
            f"'%Y/%m/%d %H:%M:%S', or one of {', '.join(TIME_FORMATS)}"
        )
    if kind == C.FLOAT:
        if fmt in NUMBER_FORMATS:
            return
        raise ConfigError(f"{where}: {fmt!r} is not a number format (use: money)")
    raise ConfigError(
        f"{where}: formats apply to timestamp, date and number columns; this column is "
        f"{_kind_label(kind)} (map its values with 'values' instead)"
    )


def _table(name: str, spec: Any, where: str) -> TableSpec:
    if isinstance(spec, str | list):  # shorthand: just the files
        spec = {"files": spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'files', 'columns', ...")
    unknown = [k for k in spec if k not in _TABLE_KEYS]
    if unknown:
        k = str(unknown[0])
        raise ConfigError(
            f"{where}.{k}: unknown key{_did_you_mean(k, _TABLE_KEYS)} "
            f"(allowed: {', '.join(_TABLE_KEYS)})"
        )
    if "files" not in spec:
        raise ConfigError(f"{where}.files: required (a file name, a glob or a list of them)")
    files = _texts(spec["files"], f"{where}.files")
    for f in files:
        p = Path(f)
        if p.is_absolute() or ".." in p.parts:
            raise ConfigError(
                f"{where}.files: {f!r} must be a name or glob inside the source folder"
            )
    sheet = spec.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise ConfigError(f"{where}.sheet: expected a sheet name or a 0-based index")
    encoding = spec.get("encoding")
    if encoding is not None:
        encoding = _encoding(encoding, f"{where}.encoding")
    skip = spec.get("skip_rows", 0) or 0
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ConfigError(f"{where}.skip_rows: expected a whole number >= 0, got {skip!r}")
    contract = {c.name: c for c in C.TABLES[name]}

    def column(col: Any, part: str) -> C.Column:
        col = str(col)
        if col not in contract:
            raise ConfigError(
                f"{where}.{part}.{col}: {name} has no column {col!r}"
                f"{_did_you_mean(col, list(contract))} (its columns: {', '.join(contract)})"
            )
        return contract[col]

    columns: dict[str, tuple[str, ...]] = {}
    raw_cols = spec.get("columns") or {}
    if not isinstance(raw_cols, Mapping):
        raise ConfigError(f"{where}.columns: expected a mapping contract column: source header")
    for col, header in raw_cols.items():
        c = column(col, "columns")
        columns[c.name] = _texts(header, f"{where}.columns.{c.name}")
    formats: dict[str, tuple[str, ...]] = {}
    raw_fmt = spec.get("formats") or {}
    if not isinstance(raw_fmt, Mapping):
        raise ConfigError(f"{where}.formats: expected a mapping contract column: format")
    for col, fmt in raw_fmt.items():
        c = column(col, "formats")
        fmts = _texts(fmt, f"{where}.formats.{c.name}")
        for f in fmts:
            _check_format(f, c.kind, f"{where}.formats.{c.name}")
        if c.kind == C.FLOAT and len(fmts) > 1:
            raise ConfigError(f"{where}.formats.{c.name}: one number format only")
        formats[c.name] = fmts
    values: dict[str, dict[str, str | None]] = {}
    raw_val = spec.get("values") or {}
    if not isinstance(raw_val, Mapping):
        raise ConfigError(f"{where}.values: expected a mapping contract column: {{raw: value}}")
    for col, mapping in raw_val.items():
        c = column(col, "values")
        if not isinstance(mapping, Mapping) or not mapping:
            raise ConfigError(
                f"{where}.values.{c.name}: expected a mapping raw value: contract value "
                "(e.g. {已支付: paid})"
            )
        vm: dict[str, str | None] = {}
        for raw, val in mapping.items():
            if isinstance(val, dict | list):
                raise ConfigError(f"{where}.values.{c.name}.{raw}: expected a single value")
            vm[str(value_text(raw) or "").lower()] = value_text(val)
        if c.kind == C.STATUS:
            bad = sorted({v for v in vm.values() if v is not None} - set(C.ORDER_STATUSES))
            if bad:
                raise ConfigError(
                    f"{where}.values.{c.name}: {bad[0]!r} is not an order status "
                    f"(allowed: {', '.join(C.ORDER_STATUSES)})"
                )
        if c.kind == C.BOOL:
            bad = sorted({v for v in vm.values() if v is not None} - {"true", "false"})
            if bad:
                raise ConfigError(f"{where}.values.{c.name}: {bad[0]!r} is not true or false")
        values[c.name] = vm
    return TableSpec(files, sheet, encoding, int(skip), columns, formats, values)


def _encoding(value: Any, where: str) -> str | None:
    import codecs

    text = _text(value, where)
    if text.lower() == "auto":
        return None
    try:
        codecs.lookup(text)
    except LookupError as err:
        raise ConfigError(
            f"{where}: unknown encoding {text!r} (use auto, utf-8, gb18030, ...)"
        ) from err
    return text.lower().replace("_", "-")


def parse(data: Any, path: Path) -> SourceDescription:
    """Check a loaded description (``data``, from ``path``) and return it parsed."""
    where = path.name
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'tables'")
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        k = str(unknown[0])
        raise ConfigError(
            f"{where}: unknown key {k!r}{_did_you_mean(k, _TOP_KEYS)} "
            f"(allowed: {', '.join(_TOP_KEYS)})"
        )
    version = data.get("version", 1)
    if version != 1:
        raise ConfigError(f"{where}: version {version!r} is not supported (use 1)")
    tables_raw = data.get("tables") or {}
    if not isinstance(tables_raw, Mapping):
        raise ConfigError(f"{where}: 'tables' must map contract tables to their files")
    tables: dict[str, TableSpec] = {}
    for name, spec in tables_raw.items():
        name = str(name)
        if name not in C.TABLES:
            raise ConfigError(
                f"{where}: tables.{name}: not a contract table{_did_you_mean(name, C.TABLES)} "
                f"(tables: {', '.join(C.TABLES)})"
            )
        tables[name] = _table(name, spec, f"{where}: tables.{name}")
    opt: dict[str, Any] = {}
    for key in ("timezone", "currency", "as_of", "min_date"):
        if data.get(key) is not None:
            opt[key] = _text(data[key], f"{where}: {key}")
    if opt.get("timezone"):
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(opt["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigError(
                f"{where}: timezone {opt['timezone']!r} is not a known time zone "
                "(e.g. Asia/Shanghai)"
            ) from err
    encoding = None
    if data.get("encoding") is not None:
        encoding = _encoding(data["encoding"], f"{where}: encoding")
    channels: dict[str, str] = {}
    raw_ch = data.get("channels") or {}
    if not isinstance(raw_ch, Mapping):
        raise ConfigError(f"{where}: channels: expected a mapping raw name: canonical key")
    for raw, canon in raw_ch.items():
        if isinstance(canon, list | tuple):  # canonical: [raw, ...] as in channels.yaml
            for r in canon:
                channels[_text(r, f"{where}: channels.{raw}")] = str(raw).strip()
        else:
            channels[str(raw).strip()] = _text(canon, f"{where}: channels.{raw}")
    blob = json.dumps(
        {
            "tables": {k: v.__dict__ for k, v in sorted(tables.items())},
            "opt": opt,
            "encoding": encoding,
            "channels": sorted(channels.items()),
        },
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return SourceDescription(
        path=path,
        tables=tables,
        encoding=encoding,
        channels=channels,
        digest=hashlib.sha256(blob.encode()).hexdigest()[:32],
        **opt,
    )


def read(folder: str | Path) -> SourceDescription | None:
    """The description of a source folder, or None when it has no ``growthlab.yaml``."""
    path = Path(folder) / DESCRIPTION_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not UTF-8 text: {err}") from err
    try:
        data = load_yaml(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    return parse(data, path)


def data_files(folder: Path) -> list[Path]:
    """Every file of a source folder that could hold a table (not hidden, not NOT_DATA)."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith((".", "~$")) and p.name not in NOT_DATA:
            out.append(p)
    return out


def resolve_files(folder: Path, table: str, spec: TableSpec) -> list[Path]:
    """The files of ``table`` (globs expanded, sorted by name, each once), or ConfigError."""
    found: list[Path] = []
    for pattern in spec.files:
        if _glob.has_magic(pattern):
            hits = sorted(p for p in folder.glob(pattern) if p.is_file())
        else:
            p = folder / pattern
            hits = [p] if p.is_file() else []
        hits = [h for h in hits if h.name not in NOT_DATA and not h.name.startswith((".", "~$"))]
        if not hits:
            names = [p.name for p in data_files(folder)]
            near = closest(pattern, names)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise ConfigError(
                f"{DESCRIPTION_FILE}: tables.{table}.files: no file matches {pattern!r} in "
                f"{folder}{hint} (files there: {shown or 'none'})"
            )
        for h in hits:
            if h not in found:
                found.append(h)
    for f in found:
        if not f.name.lower().endswith(DATA_SUFFIXES):
            raise ConfigError(
                f"{DESCRIPTION_FILE}: tables.{table}.files: {f.name} is not a file growthlab "
                f"reads (CSV {'/'.join(CSV_SUFFIXES)}, Excel {'/'.join(EXCEL_SUFFIXES)}, Parquet)"
            )
    return found
