"""Run configuration: which notebooks to execute, in which order, with which parameters.

A run config is a YAML file::

    name: default                  # used in the run id
    notebook_dir: ../notebooks     # relative to the config file
    source: ../data/sample         # relative to the config file (--source is relative to cwd)
    parameters:                    # defaults for every notebook
      as_of: null
      lang: en
    notebooks:                     # executed in this order (the summary last)
      - 01_data_quality
      - name: 02_referral
        parameters: {window_days: 30}
      - {name: extra, path: elsewhere/extra.ipynb}   # path relative to the config file
      - 00_summary
    cell_timeout: 600              # seconds per cell (optional)
    jobs: 2                        # notebooks executed at once (the summary always runs last,
                                   # alone); default min(2, CPUs); 1 = strictly sequential
    lock_timeout: 3600             # seconds to wait for another run on the same output folder

``extends: FILE`` (relative to the config file) starts from another config: keys set here replace
its keys, except ``parameters``, merged key by key, and ``name``, always this file's own (else its
file name). Relative paths stay relative to the file that sets them. ``extends: default`` is the
default run that ships with the package (:func:`packaged_default`: every notebook, no source), so
a config outside a checkout can run a subset of the packaged notebooks::

    extends: default
    notebooks: [01_data_quality, 00_summary]

Precedence of parameters: config ``parameters`` < notebook ``parameters`` < the source's
``growthlab.yaml`` (its ``timezone`` and ``currency``: the data's own) < ``-p key=value``
(``-p 02_referral.window_days=14`` targets one notebook) < ``--source``. ``as_of: null`` (the
default) leaves the analysis date to the data: growthlab.yaml's ``as_of``, else a synthetic
sample's truth.json date, else the latest timestamp in the data (``growthlab.data.load``).
A ``-p`` value takes the type of the notebook's declared default (``-p campaign=2025`` is the
text "2025" for a text parameter, ``-p ratio=1`` the float 1.0 for a float one); a value that
cannot have that type (``-p window_days=14.5`` for an integer) is a ConfigError naming the
parameter.
Everything is checked here, before anything runs; problems raise :class:`ConfigError`.
Every notebook's effective parameters (its own defaults, config, overrides) pass the same
checks (:func:`check_parameters`): ``lang`` is en/zh, ``min_group_size`` an integer of at least
:data:`MIN_GROUP_SIZE_FLOOR`, ``as_of`` a date/time. Dates in the YAML (``as_of: 2025-06-30``,
``-p as_of=2025-06-30``) stay the text written, since notebook parameters must be JSON values.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from growthlab.data.engine import is_engine_url, redact
from growthlab.errors import ConfigError
from growthlab.privacy import MIN_GROUP_SIZE_FLOOR

#: Languages the notebooks and pages are written in.
LANGUAGES = ("en", "zh")
#: Parameters the runner sets itself (never shown as user parameters).
RUNNER_PARAMETERS = ("metrics_file", "previous_metrics_file", "sections", "run_id")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_KNOWN_KEYS = {
    "name",
    "notebook_dir",
    "source",
    "parameters",
    "notebooks",
    "cell_timeout",
    "lock_timeout",
    "jobs",
    "description",
    "extends",
}
#: ``extends: default`` names the run configuration installed with the package.
PACKAGED = "default"


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of a run: its name (file stem), path and effective parameters."""

    name: str
    path: Path
    parameters: dict[str, Any]
    declared: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration with all parameters resolved."""

    name: str
    path: Path | None
    source: str
    parameters: dict[str, Any]
    notebooks: tuple[NotebookSpec, ...]
    cell_timeout: int | None = 600
    lock_timeout: float = 3600.0
    jobs: int = 1
    raw: dict[str, Any] = field(default_factory=dict)
    #: an engine source's full URL (credentials included): only the run's processes get it,
    #: through ``growthlab.data.engine.URL_ENV``; ``source`` is its redacted form
    engine_url: str | None = None


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, except that dates and times stay the ISO text written.

    PyYAML would make ``2025-06-30`` a ``datetime.date``, which papermill cannot serialise
    ("Object of type date is not JSON serializable") and which an impossible date such as
    ``2025-13-45`` turns into a ValueError. Explicit ``!!timestamp`` tags still construct
    dates; :func:`_plain` turns those into ISO strings.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: safe


def parse_override(item: str) -> tuple[str | None, str, Any]:
    """Split ``[notebook.]key=value``; the value is read as YAML (numbers, null, true, lists).

    Returns (notebook or None, key, value). Raises ConfigError when malformed.
    """
    if "=" not in item:
        raise ConfigError(f"parameter override {item!r} is not of the form key=value")
    key, _, text = item.partition("=")
    key = key.strip()
    nb = None
    if "." in key:
        nb, _, key = key.rpartition(".")
    if not key.isidentifier():
        raise ConfigError(f"parameter override {item!r}: {key!r} is not a valid parameter name")
    try:
        value = _yaml(text) if text.strip() else ""
    except (yaml.YAMLError, ValueError):  # ValueError: e.g. an impossible !!timestamp
        value = text
    if isinstance(value, dict | set):
        raise ConfigError(f"parameter override {item!r}: mappings are not supported")
    return nb, key, _plain(value)


def _plain(value: Any) -> Any:
    """YAML dates/times -> ISO strings (recursively): notebook parameters must be JSON values."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def check_parameters(params: dict[str, Any], where: str = "") -> None:
    """Refuse parameter values no notebook may run with; ``where`` prefixes the message.

    The one place for these rules, applied to the shared parameters and to every notebook's
    effective parameters: ``lang`` en/zh; ``min_group_size`` an integer >= the floor;
    ``as_of`` None or a date/time string; every value JSON-serialisable.
    """
    prefix = f"{where}: " if where else ""
    for key, value in params.items():
        try:
            json.dumps(value, allow_nan=True)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"{prefix}parameter {key}={value!r} cannot be passed to a notebook "
                f"(a {type(value).__name__}, not a JSON value)"
            ) from err
    if "lang" in params and params["lang"] not in LANGUAGES:
        raise ConfigError(f"{prefix}parameter lang must be 'en' or 'zh', not {params['lang']!r}")
    if "min_group_size" in params:
        m = params["min_group_size"]
        if not isinstance(m, int) or isinstance(m, bool):
            raise ConfigError(
                f"{prefix}parameter min_group_size={m!r} must be an integer "
                f"(at least {MIN_GROUP_SIZE_FLOOR})"
            )
        if m < MIN_GROUP_SIZE_FLOOR:
            raise ConfigError(
                f"{prefix}parameter min_group_size={m} is below its floor "
                f"{MIN_GROUP_SIZE_FLOOR} (small-group suppression cannot be switched off)"
            )
    if params.get("as_of") is not None:
        _check_as_of(params["as_of"], prefix)


def _check_as_of(value: Any, prefix: str) -> None:
    """``as_of`` must parse the way ``growthlab.data.load`` parses it (pandas.Timestamp)."""
    import pandas as pd

    bad = ConfigError(
        f"{prefix}parameter as_of={value!r} is not a date/time (use YYYY-MM-DD or ISO 8601)"
    )
    if not isinstance(value, str) or not value.strip():
        raise bad
    try:
        ts = pd.Timestamp(value.strip())
    except (TypeError, ValueError, OverflowError) as err:
        raise bad from err
    if pd.isna(ts):
        raise bad


def _described_parameters(source: Path) -> dict[str, Any]:
    """The run parameters a source folder's growthlab.yaml sets (timezone, currency)."""
    if not source.is_dir():
        return {}
    from growthlab.data.description import read

    desc = read(source)  # an invalid description is a ConfigError, before anything runs
    if desc is None:
        return {}
    return {k: getattr(desc, k) for k in ("timezone", "currency") if getattr(desc, k)}


#: parameters whose values check_parameters rules on (with its own messages)
_CHECKED = ("lang", "min_group_size", "as_of")


def _typed(spec: NotebookSpec, key: str, value: Any, text: str) -> Any:
    """A ``-p`` value with the type of the notebook's declared default (see module docstring)."""
    if key not in spec.defaults or key in _CHECKED:
        return value  # the checked names have their own rules (check_parameters)
    try:
        default = ast.literal_eval(spec.defaults[key])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value  # an expression: its type is known only when the notebook runs
    if default is None or value is None:
        return value

    def bad(kind: str) -> ConfigError:
        return ConfigError(
            f"parameter {key}={text!r}: notebook {spec.name} declares {kind} "
            f"(default {spec.defaults[key]})"
        )

    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad("an integer")
    if isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise bad("a number")
    if isinstance(default, str):
        if isinstance(value, list | dict):
            raise bad("text")
        return text if not isinstance(value, str) else value
    if isinstance(default, list | tuple):
        if isinstance(value, list):
            return value
        raise bad("a list")
    return value


def literal_defaults(spec: NotebookSpec, keys: Any = None) -> dict[str, Any]:
    """The notebook's ``parameters``-cell defaults (of ``keys``, default all) that are
    literals; an expression is known only when the notebook runs, so it is left out."""
    values: dict[str, Any] = {}
    for key, text in spec.defaults.items():
        if keys is not None and key not in keys:
            continue
        try:
            values[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return values


def passed_parameters(spec: NotebookSpec) -> dict[str, Any]:
    """What a run passes the notebook: the parameters it declares (all of them when it
    declares none), plus ``source``."""
    declared = set(spec.declared)
    return {
        k: v for k, v in spec.parameters.items() if not declared or k in declared or k == "source"
    }


def _effective(spec: NotebookSpec) -> dict[str, Any]:
    """What the notebook runs with: its literal defaults for the checked names, then ours."""
    checked = [k for k in ("lang", "min_group_size", "as_of") if k not in spec.parameters]
    return {**literal_defaults(spec, checked), **spec.parameters}


def _read_config(cpath: Path) -> Any:
    """The parsed YAML of a config file; unreadable, non-UTF-8 or invalid YAML -> ConfigError."""
    try:
        if not cpath.is_file():
            raise ConfigError(f"config file {cpath} not found")
        data = cpath.read_bytes()
    except (OSError, ValueError) as err:  # permissions, a folder, NUL in the name...
        raise ConfigError(f"cannot read config file {cpath}: {err}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {cpath} is not UTF-8 text: {err}") from err
    try:
        return _yaml(text)
    except (yaml.YAMLError, ValueError) as err:
        raise ConfigError(f"config file {cpath} is not valid YAML: {err}") from err


def _declared_parameters(path: Path) -> dict[str, str]:
    """Names assigned in the notebook's ``parameters`` cell -> their default (source text)."""
    import papermill as pm

    try:
        return {k: str(v.get("default")) for k, v in pm.inspect_notebook(str(path)).items()}
    except Exception as err:  # unreadable notebook: a config problem
        raise ConfigError(f"cannot read notebook {path}: {err}") from err


def packaged_default() -> Path:
    """The default run configuration installed with the package: every notebook, no source.

    ``growthlab/notebooks/default.yaml`` (the checkout's ``notebooks/`` folder, which
    pyproject.toml installs as the package ``growthlab.notebooks``), beside the notebooks.
    """
    from importlib import resources

    try:
        folder = resources.files("growthlab.notebooks")
    except ModuleNotFoundError as err:
        raise ConfigError(
            "this installation of growthlab has no notebooks (no module growthlab.notebooks): "
            "reinstall it (pip install . or pip install -e . in a checkout)"
        ) from err
    path = Path(str(folder / "default.yaml"))
    if not path.is_file():
        raise ConfigError(f"this installation of growthlab has no default run ({path} is missing)")
    return path


def _layer(
    raw: Any, base: Path, chain: tuple[Path, ...] = (), extended: bool = False
) -> tuple[dict[str, Any], dict[str, Path]]:
    """A config mapping with its ``extends`` chain merged in (see module docstring).

    ``base`` is the folder the mapping's relative paths start from; ``chain`` the files read so
    far (the last one is this mapping's); ``extended``: this mapping is another's base. Returns
    (mapping without ``extends``, the folder each key's relative paths start from). Every file's
    keys are checked; problems in an extended file name that file.
    """
    where = f"config file {chain[-1]}: " if extended else ""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}the run config must be a mapping")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}unknown config key(s): {', '.join(unknown)}")
    raw = dict(raw)
    parent = raw.pop("extends", None)
    bases = {k: base for k in raw}
    if parent is None:
        return raw, bases
    if not isinstance(parent, str) or not parent.strip():
        raise ConfigError(f"{where}'extends' must name a config file or {PACKAGED!r}")
    ppath = (packaged_default() if parent == PACKAGED else base / parent).resolve()
    if ppath in chain:
        loop = " -> ".join(str(p) for p in (*chain, ppath))
        raise ConfigError(f"{where}'extends' goes round in a circle: {loop}")
    try:
        parsed = _read_config(ppath)
    except ConfigError as err:
        raise ConfigError(f"{where}extends {parent}: {err}") from err
    praw, pbases = _layer(parsed, ppath.parent, (*chain, ppath), extended=True)
    praw.pop("name", None)  # the name is each file's own (load_config)
    merged, merged_bases = {**praw, **raw}, {**pbases, **bases}
    if "parameters" in praw and "parameters" in raw:
        mine, theirs = raw["parameters"] or {}, praw["parameters"] or {}
        if not isinstance(mine, dict) or not isinstance(theirs, dict):
            raise ConfigError(f"{where}config 'parameters' must be a mapping")
        merged["parameters"] = {**theirs, **mine}
    return merged, merged_bases


def _read_raw(config: str | Path | dict) -> tuple[dict[str, Any], Path | None, dict[str, Path]]:
    """(raw mapping, config path or None, folder each key's relative paths start from).

    A mapping's relative paths start from the working folder, a file's from its folder; an
    ``extends`` chain is merged in (:func:`_layer`).
    """
    if isinstance(config, dict):
        raw, bases = _layer(dict(config), Path.cwd())
        return raw, None, bases
    cpath = Path(config)
    raw, bases = _layer(_read_config(cpath), cpath.resolve().parent, (cpath.resolve(),))
    return raw, cpath, bases


def _notebook_spec(
    entry: Any, common: dict[str, Any], nb_dir: Path, base: Path, seen: set[str]
) -> NotebookSpec:
    """One ``notebooks:`` entry (a name, or a mapping with name/parameters/path) checked and
    resolved, its parameters the shared ones overlaid with its own."""
    if isinstance(entry, str):
        nb_name, nb_params = entry, {}
    elif isinstance(entry, dict) and "name" in entry:
        nb_name, nb_params = str(entry["name"]), entry.get("parameters") or {}
        extra = set(entry) - {"name", "parameters", "path"}
        if extra:
            raise ConfigError(f"notebook {nb_name}: unknown key(s) {sorted(extra)}")
    else:
        raise ConfigError(f"notebook entry {entry!r} must be a name or have a 'name'")
    if not isinstance(nb_params, dict):
        raise ConfigError(f"notebook {nb_name}: 'parameters' must be a mapping")
    nb_params = _plain(nb_params)
    stem = nb_name[:-6] if nb_name.endswith(".ipynb") else nb_name
    if not _NAME.match(stem):
        raise ConfigError(f"notebook name {nb_name!r} is not a plain file name")
    if stem in seen:
        raise ConfigError(f"notebook {stem} is listed twice")
    seen.add(stem)
    path = nb_dir / f"{stem}.ipynb"
    if isinstance(entry, dict) and entry.get("path"):
        path = (base / str(entry["path"])).resolve()
    if not path.is_file():
        raise ConfigError(f"notebook {path} not found")
    declared = _declared_parameters(path)
    return NotebookSpec(stem, path, {**common, **nb_params}, tuple(declared), declared)


def _check_overrides(parsed: list[tuple[str | None, str, Any]], specs: list[NotebookSpec]) -> None:
    """Every ``-p`` names a notebook of the run (when qualified) and a declared parameter."""
    names = {s.name for s in specs}
    for nb, key, _ in parsed:
        if nb is not None and nb not in names:
            raise ConfigError(f"override {nb}.{key}: no notebook {nb!r} in this run")
        targets = [s for s in specs if nb is None or s.name == nb]
        if key != "source" and not any(key in s.declared for s in targets):
            raise ConfigError(
                f"override {key!r}: no notebook of this run declares a parameter of that name"
            )


def _resolve_source(
    source: str | None,
    parsed: list[tuple[str | None, str, Any]],
    raw: dict,
    base: Path,
    cpath: Path | None = None,
) -> Path | str:
    """The source folder/file: ``--source`` > ``-p source=`` (both relative to the working
    folder) > the config's ``source`` (relative to the config file that sets it); an engine URL
    (:mod:`growthlab.data.engine`) as it is."""
    src, src_base = source, Path.cwd()
    if src is None:
        for nb, key, value in parsed:
            if key == "source" and nb is None:
                src = str(value)
    if src is None:
        if raw.get("source") is None:
            named = f" ({cpath})" if cpath else ""
            raise ConfigError(
                "no source: pass --source DIR (a folder of exported files or a DuckDB file); "
                f"the run configuration{named} names none"
            )
        src, src_base = str(raw["source"]), base
    if is_engine_url(src):  # an engine (sc://, pyspark://): no path to resolve
        return src
    path = Path(src)
    return path if path.is_absolute() else (src_base / path).resolve()


def _positive(raw: dict, key: str, default: float | None) -> float | None:
    v = raw.get(key, default)
    if v is None:
        return None
    if not isinstance(v, int | float) or v <= 0:
        raise ConfigError(f"config {key!r} must be a positive number")
    return v


def load_config(
    config: str | Path | dict,
    *,
    source: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> RunConfig:
    """Read and validate a run config, apply overrides, resolve paths (see module docstring).

    Steps: read the mapping (:func:`_read_raw`); resolve each notebook (:func:`_notebook_spec`);
    check the overrides (:func:`_check_overrides`); find the source (:func:`_resolve_source`)
    and its ``growthlab.yaml`` defaults; apply overrides with the notebook's declared types;
    check every notebook's effective parameters like the shared ones (:func:`check_parameters`).
    """
    raw, cpath, bases = _read_raw(config)
    top = cpath.resolve().parent if cpath else Path.cwd()
    name = str(raw.get("name") or (cpath.stem if cpath else "run"))
    if not _NAME.match(name):
        raise ConfigError(f"config name {name!r} may only contain letters, digits, _ . -")
    # notebook_dir (default ../notebooks) starts from the file that sets it, else from the one
    # that lists the notebooks
    list_base = bases.get("notebooks", top)
    nb_dir = bases.get("notebook_dir", list_base) / str(raw.get("notebook_dir", "../notebooks"))
    nb_dir = nb_dir.resolve()
    common = raw.get("parameters") or {}
    if not isinstance(common, dict):
        raise ConfigError("config 'parameters' must be a mapping")
    common = _plain(common)
    entries = raw.get("notebooks")
    if not entries or not isinstance(entries, list):
        raise ConfigError("config 'notebooks' must be a non-empty list")

    parsed = [parse_override(o) for o in overrides]
    texts = [o.partition("=")[2].strip() for o in overrides]
    seen: set[str] = set()
    specs = [_notebook_spec(entry, common, nb_dir, list_base, seen) for entry in entries]
    _check_overrides(parsed, specs)
    src_path = _resolve_source(source, parsed, raw, bases.get("source", top), cpath)
    engine_url = src_path if isinstance(src_path, str) else None
    # pages, manifests and notebook parameters name an engine without its credentials
    source_abs = redact(engine_url) if engine_url else str(src_path)

    given = {key for nb, key, _ in parsed if nb is None}
    described = {} if isinstance(src_path, str) else _described_parameters(src_path)
    for key, value in described.items():
        if key not in given:
            common[key] = value
    final: list[NotebookSpec] = []
    for s in specs:
        p = dict(s.parameters)
        for key, value in described.items():
            if key not in given and (key in s.declared or not s.declared):
                p[key] = value
        for (nb, key, value), text in zip(parsed, texts, strict=True):
            if (nb is None or nb == s.name) and key != "source":
                p[key] = _typed(s, key, value, text)
        p["source"] = source_abs
        final.append(NotebookSpec(s.name, s.path, p, s.declared, s.defaults))

    shared = {**common}
    for nb, key, value in parsed:
        if nb is None and key != "source":
            shared[key] = value
    shared["source"] = source_abs
    check_parameters(shared)
    for s in final:
        check_parameters(_effective(s), f"notebook {s.name}")

    cell_timeout = _positive(raw, "cell_timeout", 600)
    jobs = raw.get("jobs", min(2, os.cpu_count() or 1))
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError("config 'jobs' must be a positive integer")
    return RunConfig(
        name=name,
        path=cpath.resolve() if cpath else None,
        source=source_abs,
        engine_url=engine_url,
        parameters=shared,
        notebooks=tuple(final),
        cell_timeout=int(cell_timeout) if cell_timeout else None,
        lock_timeout=float(_positive(raw, "lock_timeout", 3600.0)),
        jobs=jobs,
        raw=raw,
    )
