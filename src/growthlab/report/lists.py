"""``growthlab lists``: the people behind the report's numbers, as files to act on (人群包).

Lists (one CSV and one XLSX file each, plus ``lists.json`` describing them):

- ``top_spreaders`` — spreaders to reward (:func:`growthlab.audiences.top_spreaders`);
- ``suspicious_inviters`` — inviters to review (:func:`growthlab.audiences.inviters_to_review`);
- ``high_value_at_risk`` — valuable buyers to win back (:func:`growthlab.audiences.valuable_at_risk`);
- ``segment_<key>`` — the buyers of each RFM segment (:func:`growthlab.audiences.segment_members`).

Same definitions and thresholds as the report: the run configuration is resolved exactly as
``growthlab run`` resolves it (:func:`growthlab.report.config.load_config`: config, the source's
``growthlab.yaml``, ``-p`` overrides), each list takes the effective parameters of the notebook
whose numbers it details (``02_referral``, ``03_segments_value``: their ``parameters`` cell
overlaid with what the run would pass them), loads the source as those notebooks do and calls
the same analysis functions with them. Each list names the metric ids it corresponds to.

The files hold raw user ids (and each user's pseudonym, to match a report row): personal data.
They go to a folder outside the reports (default ``lists/<config>-<as_of>/`` beside the reports
folder; a folder inside the reports or a run folder is refused), created 0700 with files 0600,
and no page links to them. CSV files are UTF-8 with a BOM (Excel reads Chinese) and keep values
as they are, except that a text cell Excel would run as a formula (starting with ``=``, ``+``,
``-`` or ``@`` and not a number) gets a leading ``'``; XLSX files store every text as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from growthlab import audiences, i18n, privacy, referral, referral_abuse, segments, value
from growthlab.data import engine
from growthlab.errors import ConfigError
from growthlab.metrics import format_value
from growthlab.report.config import (
    RunConfig,
    literal_defaults,
    load_config,
    passed_parameters,
)
from growthlab.report.downloads import csv_bytes, xlsx_bytes
from growthlab.stats import top_count

#: name of the folder of lists beside the reports folder
LISTS_DIR = "lists"
#: the description of a folder of lists
MANIFEST = "lists.json"
REFERRAL_NOTEBOOK = "02_referral"
VALUE_NOTEBOOK = "03_segments_value"
#: the file formats written (``--format``)
FORMATS = ("csv", "xlsx")
#: XLSX holds at most this many rows below the header (Excel's limit); longer lists are CSV only
XLSX_MAX_ROWS = 1_048_575
#: the files this module writes (a folder holding anything else is not a folder of lists)
_OWN = re.compile(
    r"lists\.json|(?:top_spreaders|suspicious_inviters|high_value_at_risk|segment_[a-z_]+)"
    r"\.(?:csv|xlsx)|\..+\.tmp"
)
#: display precision of the number columns (the same in CSV and XLSX)
_DIGITS = {
    "recency_days": 1,
    "inactive_days": 1,
    "monetary": 2,
    "clv": 2,
    "p_alive": 4,
    "expected_purchases": 3,
}
#: key columns that get a display-name column after them: column -> group kind
_NAMED = {"tier": "tier", "segment": "rfm", "stage": "stage"}


@dataclass(frozen=True)
class UserList:
    """One list: ``name`` (file stem), the notebook whose numbers it details, the metric ids it
    corresponds to, the thresholds used, the definition (en/zh, thresholds filled in), the
    rows (raw ``user_id`` first) and extra counts for the manifest."""

    name: str
    notebook: str
    metrics: tuple[str, ...]
    parameters: dict[str, Any]
    title: dict[str, str]
    definition: dict[str, str]
    frame: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# parameters: what the run gives each notebook
# --------------------------------------------------------------------------------------------
def notebook_parameters(cfg: RunConfig, notebook: str) -> dict[str, Any] | None:
    """The parameters ``notebook`` runs with in ``cfg``, or None when the run has no such notebook.

    Its ``parameters`` cell (literal defaults), overlaid with what ``growthlab run`` passes it:
    the notebook's effective parameters of :func:`load_config` that it declares (all of them
    when it declares none), and ``source``.
    """
    spec = next((s for s in cfg.notebooks if s.name == notebook), None)
    if spec is None:
        return None
    return {**literal_defaults(spec), **passed_parameters(spec)}


def _need(params: dict[str, Any], notebook: str, keys: Sequence[str]) -> dict[str, Any]:
    missing = [k for k in keys if k not in params]
    if missing:
        raise ConfigError(
            f"notebook {notebook}: parameter(s) {', '.join(missing)} have no literal default "
            "to build the lists with; pass them with -p"
        )
    return {k: params[k] for k in keys}


# --------------------------------------------------------------------------------------------
# building the lists (the notebooks' calls, with their parameters)
# --------------------------------------------------------------------------------------------
_REFERRAL_KEYS = ("lang", "burst_minutes", "burst_size", "inactive_share")
_VALUE_KEYS = (
    "lang",
    "min_group_size",
    "rfm_bins",
    "high_score",
    "medium_score",
    "potential_recency_score",
    "new_days",
    "active_days",
    "silent_days",
    "churn_days",
    "holdout_days",
    "time_unit",
    "horizon_days",
    "period_days",
    "discount_rate",
    "max_frequency",
)


def _fraction(v: float) -> dict[str, str]:
    return {lang: format_value(v, "fraction", lang=lang) for lang in i18n.LANGUAGES}


def _by_lang(template: str, **fields: dict[str, str] | Any) -> dict[str, str]:
    """``template`` in every language; a field given as {en:, zh:} differs by language."""
    return {
        lang: i18n.t(
            template,
            lang,
            **{k: v[lang] if isinstance(v, dict) else v for k, v in fields.items()},
        )
        for lang in i18n.LANGUAGES
    }


def referral_lists(ds: Any, params: dict[str, Any]) -> list[UserList]:
    """``top_spreaders`` and ``suspicious_inviters`` from ``ds`` with the parameters of
    ``02_referral`` (its forest, activity and abuse table, built with the same calls)."""
    from growthlab.data import referral as dref

    p = _need(params, REFERRAL_NOTEBOOK, _REFERRAL_KEYS)
    users = dref.users(ds)
    fo = referral.forest(dref.edges(ds), users)
    activity = dref.user_activity(ds) if ds.has("events") or ds.has("orders") else None
    sus = referral_abuse.suspicious_inviters(
        fo,
        ds.persons,
        activity,
        p["burst_minutes"],
        p["burst_size"],
        p["inactive_share"],
        lang=p["lang"],
    )
    sp = referral.spreaders(fo)
    top = audiences.top_spreaders(sp, sus)
    k = top_count(len(sp), audiences.TOP_SPREADER_FRACTION)
    share = referral.concentration(sp["direct_invitees"])["top_10pct"]
    review = audiences.inviters_to_review(sus)
    abuse = {
        "burst_minutes": p["burst_minutes"],
        "burst_size": p["burst_size"],
        "inactive_share": p["inactive_share"],
        "min_shared": referral_abuse.MIN_SHARED,
        "min_invitees": referral_abuse.MIN_INVITEES,
        "min_signals": referral_abuse.MIN_SIGNALS,
    }
    fraction = audiences.TOP_SPREADER_FRACTION
    return [
        UserList(
            name="top_spreaders",
            notebook=REFERRAL_NOTEBOOK,
            metrics=("top10_share", "fraud_like_inviters"),
            parameters={"fraction": fraction, **abuse},
            title=_by_lang("lists.top_spreaders"),
            definition=_by_lang(
                "lists.top_spreaders.definition",
                fraction=_fraction(fraction),
                k=f"{k:,}",
                n=f"{len(sp):,}",
                share=_fraction(share),
                excluded=f"{k - len(top):,}",
            ),
            frame=top,
            extra={"spreaders": len(sp), "top": k, "excluded_fraud_like": k - len(top)},
        ),
        UserList(
            name="suspicious_inviters",
            notebook=REFERRAL_NOTEBOOK,
            metrics=("suspicious_inviters", "fraud_like_inviters"),
            parameters=abuse,
            title=_by_lang("lists.suspicious_inviters"),
            definition=_by_lang(
                "lists.suspicious_inviters.definition",
                **{k: f"{v:g}" for k, v in abuse.items() if k != "inactive_share"},
                inactive_share=_fraction(abuse["inactive_share"]),
            ),
            frame=review,
            extra={"fraud_like": int(review["fraud_like"].sum())},
        ),
    ]


def value_lists(ds: Any, params: dict[str, Any]) -> list[UserList]:
    """``high_value_at_risk`` and one ``segment_<key>`` per RFM segment from ``ds`` with the
    parameters of ``03_segments_value`` (its RFM summary, lifecycle stages and CLV model, built
    with the same calls)."""
    from growthlab.data import features

    p = _need(params, VALUE_NOTEBOOK, _VALUE_KEYS)
    activity = features.activity(ds)
    rin = features.rfm_inputs(ds)
    rfm = segments.rfm_summary(
        rin,
        len(activity),
        p["rfm_bins"],
        p["high_score"],
        p["medium_score"],
        p["potential_recency_score"],
        p["min_group_size"],
    )
    local_as_of = ds.local(ds.as_of)  # activity days are local days
    life = segments.lifecycle_summary(
        activity,
        local_as_of,
        p["new_days"],
        p["active_days"],
        p["silent_days"],
        p["churn_days"],
        p["min_group_size"],
    )
    end = value.last_full_day(local_as_of)
    ltv = value.analyse_clv(
        features.purchase_stats(ds, end, p["holdout_days"]),
        end,
        p["holdout_days"],
        p["time_unit"],
        p["horizon_days"],
        p["period_days"],
        p["discount_rate"],
        p["max_frequency"],
    )
    last_order = ds.local(pd.to_datetime(rin["last_order_at"]))
    risk = audiences.valuable_at_risk(
        life.stages,
        rfm.scored,
        last_order_at=last_order,
        last_active=activity["last_active"],
        as_of=local_as_of,
        clv=ltv.clv if ltv is not None else None,
    )
    tier_names = {
        lang: i18n.t("lists.and", lang).join(
            segments.group_label(t, lang, "tier") for t in segments.VALUABLE_TIERS
        )
        for lang in i18n.LANGUAGES
    }
    risk_params = {
        k: p[k] for k in ("high_score", "medium_score", "silent_days", "churn_days", "horizon_days")
    }
    out = [
        UserList(
            name="high_value_at_risk",
            notebook=VALUE_NOTEBOOK,
            metrics=("valuable_buyers_at_risk", "at_risk_users", "clv_mean", "p_alive_mean"),
            parameters={"tiers": list(segments.VALUABLE_TIERS), **risk_params},
            title=_by_lang("lists.high_value_at_risk"),
            definition=_by_lang(
                "lists.high_value_at_risk.definition",
                tiers=tier_names,
                **{k: f"{v:g}" for k, v in risk_params.items()},
            ),
            frame=risk,
            extra={"clv_model": ltv is not None},
        )
    ]
    members = audiences.segment_members(rfm.scored, life.stages, last_order)
    for key, frame in members.items():
        names = {lang: segments.group_label(key, lang, "rfm") for lang in i18n.LANGUAGES}
        out.append(
            UserList(
                name=f"segment_{key}",
                notebook=VALUE_NOTEBOOK,
                metrics=("buyers", "champions_share") if key == "champions" else ("buyers",),
                parameters={"segment": key, "rfm_bins": p["rfm_bins"]},
                title=_by_lang("lists.segment", segment=names),
                definition=_by_lang(
                    "lists.segment.definition", segment=names, rfm_bins=p["rfm_bins"]
                ),
                frame=frame,
            )
        )
    return out


def _load(params: dict[str, Any]) -> Any:
    """The source loaded as the notebooks load it (``data.load(source, timezone, as_of)``),
    sharing ``growthlab run``'s validated-load cache."""
    from growthlab.report import runner

    cache_dir = os.environ.get(runner.CACHE_ENV) or str(runner.default_cache_dir())
    return runner.load_source(
        params["source"],
        timezone=params.get("timezone"),
        as_of=params.get("as_of"),
        cache_dir=cache_dir,
    )


def build(cfg: RunConfig) -> tuple[list[UserList], list[dict[str, str]], dict[str, Any]]:
    """Every list of the run ``cfg``: (lists, skipped lists with the reason, facts about the
    data: ``as_of`` (local date, as in the page headers), ``as_of_source``, ``timezone``).

    A list is skipped when the run has no notebook for it or the source lacks its table
    (referrals; orders), as the page skips its section.
    """
    wanted = (
        (REFERRAL_NOTEBOOK, "referrals", referral_lists, ("top_spreaders", "suspicious_inviters")),
        (VALUE_NOTEBOOK, "orders", value_lists, ("high_value_at_risk", "segment_*")),
    )
    lists: list[UserList] = []
    skipped: list[dict[str, str]] = []
    loaded: dict[tuple, Any] = {}
    info: dict[str, Any] = {}
    for notebook, table, make_lists, names in wanted:
        params = notebook_parameters(cfg, notebook)
        if params is None:
            skipped += [{"list": n, "reason": f"the run has no notebook {notebook}"} for n in names]
            continue
        key = (params["source"], params.get("timezone"), params.get("as_of"))
        if key not in loaded:
            loaded[key] = _load(params)
        ds = loaded[key]
        if not info:
            info = {
                "as_of": str(value.last_full_day(ds.local(ds.as_of)).date()),
                "as_of_utc": str(ds.as_of),
                "as_of_source": getattr(ds, "as_of_source", None),
                "timezone": ds.timezone,
                # an engine source is fingerprinted by its tables, as in the run's manifest
                "engine": getattr(ds, "engine", None),
            }
        if not ds.has(table):
            skipped += [{"list": n, "reason": f"the source has no {table} table"} for n in names]
            continue
        lists += make_lists(ds, params)
    if not info:
        raise ConfigError(
            f"the run has neither {REFERRAL_NOTEBOOK} nor {VALUE_NOTEBOOK}: no list to make"
        )
    return lists, skipped, info


# --------------------------------------------------------------------------------------------
# what the files hold
# --------------------------------------------------------------------------------------------
def table(lst: UserList, lang: str = "en") -> pd.DataFrame:
    """The rows written for ``lst``: ``user_id``, ``pseudonym`` (the one the report shows,
    :func:`growthlab.privacy.pseudonymise`), then its columns, each key column of a tier,
    segment or stage followed by its display name in ``lang``; numbers rounded for reading."""
    f = lst.frame.copy()
    f.insert(1, "pseudonym", privacy.pseudonymise(f["user_id"]).to_numpy())
    for col, kind in _NAMED.items():
        if col in f.columns:
            uniq = pd.unique(f[col].dropna())
            names = {k: segments.group_label(k, lang, kind) for k in uniq}
            f.insert(f.columns.get_loc(col) + 1, f"{col}_name", f[col].map(names))
    for col, digits in _DIGITS.items():
        if col in f.columns:
            f[col] = f[col].astype(float).round(digits)
    return f


def column_labels(columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """en/zh meaning of each column (``lists.column.<name>``, else the report's
    ``column.<name>``)."""
    out = {}
    for c in columns:
        key = f"lists.column.{c}" if f"lists.column.{c}" in i18n.TEXT else f"column.{c}"
        out[c] = {lang: i18n.maybe(key, lang, c) for lang in i18n.LANGUAGES}
    return out


# --------------------------------------------------------------------------------------------
# where the files go
# --------------------------------------------------------------------------------------------
def default_out(reports: str | Path, config_name: str, as_of: str) -> Path:
    """``<folder holding the reports folder>/lists/<config>-<as_of>``: beside the reports,
    never inside."""
    return Path(reports).resolve().parent / LISTS_DIR / f"{config_name}-{as_of}"


def _looks_like_reports(d: Path) -> str | None:
    """Why ``d`` is a reports folder or a run folder, or None."""
    if (d / ".lock").exists() and (d / "index.html").is_file():
        return "a reports folder (it holds index.html and a run lock)"
    m = d / "manifest.json"
    if m.is_file():
        with contextlib.suppress(OSError, ValueError):
            if "run_id" in json.loads(m.read_text(encoding="utf-8")):
                return "a run folder (it holds a run's manifest.json)"
    return None


def check_out(out: str | Path, reports: str | Path) -> Path:
    """``out`` resolved, or ConfigError when it is the reports folder ``reports``, inside it, or
    inside any folder that looks like a reports or run folder, or when it is an existing folder
    holding files that are not lists (it is made owner-only)."""
    o, r = Path(out).resolve(), Path(reports).resolve()
    hint = "lists hold raw user ids and never go into the reports: choose another --out"
    if o == r or r in o.parents:
        raise ConfigError(f"lists folder {out} is inside the reports folder {reports}; {hint}")
    for d in (o, *o.parents):
        why = _looks_like_reports(d)
        if why:
            raise ConfigError(f"lists folder {out} is inside {d}, {why}; {hint}")
    if o.exists() and not o.is_dir():
        raise ConfigError(f"lists folder {out} is not a folder")
    if o.is_dir():
        other = sorted(n for n in os.listdir(o) if not _OWN.fullmatch(n))
        if other:
            shown = ", ".join(other[:5]) + (" …" if len(other) > 5 else "")
            raise ConfigError(
                f"lists folder {out} holds other files ({shown}); lists are written to a new "
                "folder or a folder of lists only (it is made owner-only)"
            )
    return o


def _fingerprint(source: str, engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The source's fingerprint: its files, or an engine's tables (schema, rows, latest time,
    checksum: what :mod:`growthlab.data.engine` keys on, as the run's manifest records)."""
    from growthlab.report import manifest as rman

    if engine:
        source, files = engine["source"], engine["tables"]
    else:
        files = rman.source_fingerprint(source)
    digest = hashlib.sha256(json.dumps(files, sort_keys=True, default=str).encode()).hexdigest()
    return {"path": source, "sha256": digest, "files": files}


def write(
    lists: Sequence[UserList],
    out: Path,
    *,
    lang: str = "en",
    context: dict[str, Any] | None = None,
    formats: Sequence[str] = FORMATS,
) -> dict[str, Any]:
    """Write each list as ``<name>.csv`` and ``<name>.xlsx`` (``formats``) and the manifest
    ``lists.json`` (every file 0600) into ``out`` (0700, checked with :func:`check_out` by the
    caller); files of lists no longer made are removed. Returns the manifest.

    XLSX costs about 50 µs a cell (openpyxl): on a large source ``formats=("csv",)`` writes
    the CSV files only; lists longer than :data:`XLSX_MAX_ROWS` are CSV only anyway."""
    try:
        privacy.private_dir(out, tighten=True)  # it holds nothing but lists (check_out)
        st = out.stat()
    except OSError as err:
        raise ConfigError(f"cannot create lists folder {out}: {err}") from err
    if os.name == "posix" and (st.st_uid != os.getuid() or st.st_mode & 0o077):
        raise ConfigError(
            f"lists folder {out}: not owner-only and not ours to make so; choose another --out"
        )
    entries, written = [], {MANIFEST}
    for lst in lists:
        rows = table(lst, lang)
        cols = column_labels(list(rows.columns))
        files, escaped = [], 0
        if "csv" in formats:
            data, escaped = csv_bytes(rows)
            privacy.write_private(out / f"{lst.name}.csv", data)
            files.append(f"{lst.name}.csv")
        if "xlsx" in formats and len(rows) <= XLSX_MAX_ROWS:
            notes = [
                [i18n.t("lists.sheet.definition", lang), lst.definition[lang]],
                [],
                [i18n.t("lists.sheet.column", lang), i18n.t("lists.sheet.meaning", lang)],
                *[[c, label[lang]] for c, label in cols.items()],
            ]
            about = i18n.t("lists.sheet.about", lang)
            privacy.write_private(
                out / f"{lst.name}.xlsx", xlsx_bytes(rows, lst.name, notes, about)
            )
            files.append(f"{lst.name}.xlsx")
        written.update(files)
        entries.append(
            {
                "name": lst.name,
                "title": lst.title,
                "definition": lst.definition,
                "notebook": lst.notebook,
                "metrics": list(lst.metrics),
                "parameters": lst.parameters,
                "rows": int(len(rows)),
                "files": files,
                "columns": cols,
                "csv_cells_quoted": escaped,
                **lst.extra,
            }
        )
    manifest = {
        "what": "lists of people to act on (growthlab lists): raw user ids, owner-only; "
        "do not forward",
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        **(context or {}),
        "lang": lang,
        "lists": entries,
    }
    privacy.write_private(
        out / MANIFEST,
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
    )
    for name in os.listdir(out):
        if name not in written and _OWN.fullmatch(name) and not name.startswith("."):
            with contextlib.suppress(OSError):
                os.unlink(out / name)
    return manifest


def make(
    config: str | Path | dict,
    *,
    source: str | None = None,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    reports: str | Path = "reports",
    lang: str | None = None,
    formats: Sequence[str] = FORMATS,
) -> tuple[Path, dict[str, Any]]:
    """``growthlab lists``: resolve the run (:func:`load_config`, as ``growthlab run`` does),
    build every list (:func:`build`) and write them (:func:`write`) into ``out`` (default
    :func:`default_out`); returns (folder, manifest). Problems raise ConfigError or
    DataContractError (exit 2) before anything is written.
    """
    extra = [f"lang={lang}"] if lang else []
    cfg = load_config(config, source=source, overrides=[*overrides, *extra])
    if out is not None:
        check_out(out, reports)  # refuse early, before the data is read
    from growthlab.report import runner

    # an engine source's credentials reach data.load through the environment only
    engine_env = {engine.URL_ENV: cfg.engine_url} if cfg.engine_url else {}
    with runner.environment(**engine_env):
        lists, skipped, info = build(cfg)
    folder = Path(out) if out is not None else default_out(reports, cfg.name, info["as_of"])
    folder = check_out(folder, reports)
    run_lang = str(cfg.parameters.get("lang", "en"))
    command = ["growthlab", "lists", "--source", cfg.source]
    if cfg.path:
        command += ["--config", str(cfg.path)]
    for o in [*overrides, *extra]:
        command += ["-p", o]
    if tuple(formats) != FORMATS:
        command += ["--format", ",".join(formats)]
    engine_tables = info.pop("engine", None)  # recorded once, as the source's fingerprint
    context = {
        **info,
        "source": _fingerprint(cfg.source, engine_tables),
        "config": {"path": str(cfg.path) if cfg.path else None, "name": cfg.name},
        "overrides": [*overrides, *extra],
        "command": shlex.join(command),
        "pseudonymisation": privacy.key_info(),
        "skipped": skipped,
    }
    return folder, write(lists, folder, lang=run_lang, context=context, formats=formats)
