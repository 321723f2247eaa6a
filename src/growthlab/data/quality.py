"""The QualityReport: what validation found, what was quarantined, what looks odd.

Built by the loader (``growthlab.data.load``) and shown by ``growthlab validate`` and the
data-quality notebook (SPEC §4.1). Frames are plain pandas so notebooks can display them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from growthlab import i18n
from growthlab.data.contract import (
    DATE,
    QUARANTINE_RULES,
    TABLES,
    TIME_COLUMNS,
    W_INVITED_AFTER_SIGNUP,
    W_ORDER_BEFORE_SIGNUP,
    W_STALE,
    W_UNKNOWN_CHANNEL,
    Problem,
)
from growthlab.metrics import format_value
from growthlab.privacy import pseudonymise, suppress_small_groups

#: Tables whose time axis is a calendar date (no time of day, no time zone): ``costs``.
DATE_TABLES: frozenset[str] = frozenset(
    t for t, cols in TABLES.items() if t not in TIME_COLUMNS and any(c.kind == DATE for c in cols)
)


#: Rules whose translated name says what the validator's (English) detail says: the detail is
#: left out of the display tables (unknown channels, consistency, freshness).
SELF_EXPLAINED_RULES = frozenset(
    {W_UNKNOWN_CHANNEL, W_ORDER_BEFORE_SIGNUP, W_INVITED_AFTER_SIGNUP, W_STALE}
)


def table_names(tables: pd.Series, lang: str = "en") -> pd.Series:
    """Contract table names in ``lang`` (i18n ``table.<name>``; other names unchanged)."""
    return tables.map(i18n.values("table", tables.dropna().unique(), lang))


def table_name(name: str | None, lang: str = "en") -> str | None:
    """One contract table name in ``lang`` (None stays None)."""
    return None if name is None else i18n.maybe(f"table.{name}", lang, str(name))


def field_names(columns: pd.Series, lang: str = "en") -> pd.Series:
    """Contract column names in ``lang`` (i18n ``field.<name>``: English keeps the contract
    name); lists "a, b" name each column; other names unchanged, missing stays missing."""
    join = i18n.t("field.join", lang)

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return join.join(i18n.name("field", c.strip(), lang) for c in str(v).split(","))

    return columns.map(one).astype(object)


#: Validator details (English) of the rules whose detail says more than the rule name, as
#: (pattern, i18n key); other details are English only (``lang="en"``).
_DETAILS = (
    (re.compile(r"^(?P<n>\d+) column\(s\) outside the data contract, not read: (?P<names>.*)$"),
     "detail.unused_columns"),
    (re.compile(r"^(?P<n>\d+) file\(s\) in the folder that no table reads: (?P<names>.*) "
                r"\(name them in growthlab\.yaml to read them\)$"), "detail.unused_files"),
    (re.compile(r"^all (?P<n>[\d,]+) row\(s\) were quarantined; .*$"), "detail.all_quarantined"),
    (re.compile(r"^(?P<name>.*): no data rows; .*$"), "detail.no_rows"),
    (re.compile(r"^(?P<name>.*) is empty; .*$"), "detail.empty_file"),
)  # fmt: skip


def detail_text(detail: Any, lang: str = "en") -> Any:
    """A validator detail in ``lang``: English as written; in Chinese the known details of
    :data:`_DETAILS` (names from the source kept), None for the others (the rule name, shown
    beside it, says what it is)."""
    if lang != "zh" or detail is None or (isinstance(detail, float) and math.isnan(detail)):
        return detail
    for pattern, key in _DETAILS:
        m = pattern.match(str(detail))
        if m:
            return i18n.t(key, lang, **m.groupdict())
    return None


def rule_names(rules: pd.Series, lang: str = "en") -> pd.Series:
    """Contract rule names (data/README.md) in ``lang`` (i18n ``rule.<name>``)."""
    return rules.map(i18n.values("rule", rules.dropna().unique(), lang))


def _counts(values: pd.Series) -> pd.Series:
    """Whole numbers as text with thousands separators; missing -> None."""
    v = pd.to_numeric(values, errors="coerce")
    return v.map(lambda x: None if pd.isna(x) else f"{x:,.0f}").astype(object)


def _numbers(values: pd.Series, digits: int) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    return v.map(lambda x: None if pd.isna(x) else f"{x:,.{digits}f}").astype(object)


def share_text(x: float) -> str:
    """A share as a percentage with two significant digits below 0.1 % ("0.0024 %")."""
    if x == 0 or abs(x) >= 0.001:
        return format_value(x, "fraction")
    digits = 1 - math.floor(math.log10(abs(100 * x)))
    return f"{100 * x:.{digits}f} %"


def _shares(values: pd.Series) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    return v.map(lambda x: None if pd.isna(x) else share_text(x)).astype(object)


def _examples(values: pd.Series) -> pd.Series:
    """Lists of row numbers as "3, 17, 52"; empty -> None."""
    return values.map(lambda rows: ", ".join(str(r) for r in rows) if rows else None).astype(object)


def _times(values: pd.Series, is_date: pd.Series) -> pd.Series:
    """Timestamps as "YYYY-MM-DD HH:MM" (dates where ``is_date``); NaT -> None."""
    ts = pd.to_datetime(values)
    text = ts.dt.strftime("%Y-%m-%d %H:%M").where(~is_date, ts.dt.strftime("%Y-%m-%d"))
    return text.where(ts.notna(), None).astype(object)


def uniqueness_table(unique: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``growthlab.data.profile.uniqueness`` for display: ``table, key_columns, rows,
    distinct_keys, duplicate_keys`` as text."""
    return pd.DataFrame(
        {
            "table": table_names(unique["table"], lang),
            "key_columns": field_names(unique["key"], lang),
            "rows": _counts(unique["rows"]),
            "distinct_keys": _counts(unique["distinct"]),
            "duplicate_keys": _counts(unique["duplicates"]),
        }
    ).reset_index(drop=True)


def volume_anomaly_table(volume: pd.DataFrame, lang: str = "en", top: int = 15) -> pd.DataFrame:
    """Unusual days of ``growthlab.monitor.volume_anomalies`` for display, largest |z|
    first, at most ``top``: ``table, date`` (local day), ``rows, expected_rows, robust_z``."""
    a = volume[volume["is_anomaly"].astype(bool)]
    a = a.loc[a["score"].abs().sort_values(ascending=False, kind="stable").index].head(top)
    return pd.DataFrame(
        {
            "table": table_names(a["table"], lang),
            "date": pd.to_datetime(a["date"]).dt.strftime("%Y-%m-%d"),
            "rows": _counts(a["rows"]),
            "expected_rows": _numbers(a["expected"], 1),
            "robust_z": _numbers(a["score"], 1),
        }
    ).reset_index(drop=True)


def _frame(problems: list[Problem]) -> pd.DataFrame:
    cols = ["table", "column", "rule", "rows", "examples", "detail"]
    return pd.DataFrame(
        [
            {
                "table": p.table,
                "column": p.column,
                "rule": p.rule,
                "rows": p.count,
                "examples": list(p.rows),
                "detail": p.detail,
            }
            for p in problems
        ],
        columns=cols,
    )


@dataclass
class QualityReport:
    """Result of validating and normalising a source.

    Attributes
    ----------
    problems: fatal contract violations (empty for a loaded Dataset: they raise instead).
    quarantined: rows excluded, one :class:`Problem` per (table, rule[, column]).
    warnings: problems reported but kept (unknown channels, consistency, freshness, and
        ``empty_table``: an optional table without valid rows, treated as absent).
    notes: information only, e.g. ``unused_columns``: source columns outside the contract, which
        are never read (their names, never their values).
    tables: per table ``rows_source, rows_quarantined, rows_kept, first, last, origin``.
    nulls: per table and column ``rows, nulls, null_rate`` (of the source rows).
    unknown_channels: ``table, column, raw, rows`` for raw channel names not in the mapping.
    identity: OneID counts (users, persons, merged_persons, merged_users).
    largest_persons: the largest merged identity groups (``person_id, users``).
    as_of, timezone: the analysis instant (naive UTC) and the source time zone.
    """

    problems: list[Problem] = field(default_factory=list)
    quarantined: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    tables: pd.DataFrame = field(default_factory=pd.DataFrame)
    nulls: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown_channels: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "column", "raw", "rows"])
    )
    identity: dict[str, int] = field(default_factory=dict)
    largest_persons: pd.DataFrame = field(default_factory=pd.DataFrame)
    as_of: pd.Timestamp | None = None
    timezone: str = "Asia/Shanghai"
    encodings: dict[str, str] = field(default_factory=dict)

    # --- frames for notebooks -------------------------------------------------------------
    @property
    def quarantine(self) -> pd.DataFrame:
        """Quarantined rows per table and rule: ``table, column, rule, rows, examples``."""
        return _frame(self.quarantined)

    @property
    def warning_frame(self) -> pd.DataFrame:
        """Warnings as a frame: ``table, column, rule, rows, examples, detail``."""
        return _frame(self.warnings)

    @property
    def note_frame(self) -> pd.DataFrame:
        """Notes as a frame: ``table, column, rule, rows, examples, detail``."""
        return _frame(self.notes)

    # --- the data-quality page: coverage in local time and display-ready tables -----------
    def local(self, ts: pd.Series | pd.Timestamp) -> pd.Series | pd.Timestamp:
        """Naive UTC -> naive wall-clock time in :attr:`timezone` (as ``Dataset.local``)."""
        from growthlab.data.localtime import to_local

        return to_local(ts, self.timezone)

    @property
    def coverage(self) -> pd.DataFrame:
        """Per table: ``table, rows_source, rows_quarantined, rows_kept, quarantine_share, first,
        last, days_covered, days_since_last``.

        - ``quarantine_share`` = rows_quarantined / rows_source (NaN for an empty table);
        - ``first``/``last``: the oldest and newest value of the table's time axis (kept rows) as
          wall-clock time in :attr:`timezone`; the dates of a date table (:data:`DATE_TABLES`) as
          they are; NaT for a table without a time axis (identities, paths);
        - ``days_covered`` = local calendar days from ``first`` to ``last``, both included;
        - ``days_since_last`` = (as_of − last) / 1 day; for a date table the newest date counts
          until its local end: max(0, (local(as_of) − (last + 1 day)) / 1 day).
        """
        cols = ["table", "rows_source", "rows_quarantined", "rows_kept", "quarantine_share"]
        cols += ["first", "last", "days_covered", "days_since_last"]
        t = self.tables
        if t is None or t.empty:
            return pd.DataFrame(columns=cols)
        is_date = t["table"].isin(DATE_TABLES)
        first_utc = pd.to_datetime(t["first"]).astype("datetime64[us]")
        last_utc = pd.to_datetime(t["last"]).astype("datetime64[us]")
        first = first_utc.where(is_date, self.local(first_utc))
        last = last_utc.where(is_date, self.local(last_utc))
        day = pd.Timedelta(days=1)
        if self.as_of is None:
            since = pd.Series(float("nan"), index=t.index)
        else:
            as_of = pd.Timestamp(self.as_of)
            by_date = ((self.local(as_of) - (last + day)) / day).clip(lower=0)
            since = by_date.where(is_date, (as_of - last_utc) / day)
        source = t["rows_source"].astype(float)
        return pd.DataFrame(
            {
                "table": t["table"],
                "rows_source": t["rows_source"].astype("int64"),
                "rows_quarantined": t["rows_quarantined"].astype("int64"),
                "rows_kept": t["rows_kept"].astype("int64"),
                "quarantine_share": t["rows_quarantined"] / source.where(source > 0),
                "first": first,
                "last": last,
                "days_covered": (last.dt.normalize() - first.dt.normalize()).dt.days + 1,
                "days_since_last": since.astype(float),
            },
            columns=cols,
        ).reset_index(drop=True)

    def coverage_table(self, lang: str = "en") -> pd.DataFrame:
        """:attr:`coverage` for display: ``table`` (name in ``lang``), ``rows_source,
        rows_quarantined, rows_kept, first_row, last_row, days_covered, days_since_last`` as
        text (local times "YYYY-MM-DD HH:MM", a date table's dates "YYYY-MM-DD"; None = none)."""
        c = self.coverage
        is_date = c["table"].isin(DATE_TABLES)
        return pd.DataFrame(
            {
                "table": table_names(c["table"], lang),
                "rows_source": _counts(c["rows_source"]),
                "rows_quarantined": _counts(c["rows_quarantined"]),
                "rows_kept": _counts(c["rows_kept"]),
                "first_row": _times(c["first"], is_date),
                "last_row": _times(c["last"], is_date),
                "days_covered": _counts(c["days_covered"]),
                "days_since_last": _numbers(c["days_since_last"], 1),
            }
        )

    def quarantine_table(self, lang: str = "en") -> pd.DataFrame:
        """Quarantined rows for display: ``table, column, rule, rows, quarantine_share`` (rows
        / rows_source of the table), ``example_rows`` (row numbers in the source, 1 = first
        data row), largest first; table and rule names in ``lang``."""
        q = self.quarantine
        source = dict(
            zip(self.tables.get("table", []), self.tables.get("rows_source", []), strict=False)
        )
        q = q.sort_values("rows", ascending=False, kind="stable")
        share = q["rows"] / q["table"].map(source).astype(float)
        return pd.DataFrame(
            {
                "table": table_names(q["table"], lang),
                "column": field_names(q["column"], lang),
                "rule": rule_names(q["rule"], lang),
                "rows": _counts(q["rows"]),
                "quarantine_share": _shares(share),
                "example_rows": _examples(q["examples"]),
            }
        ).reset_index(drop=True)

    def warning_table(self, lang: str = "en") -> pd.DataFrame:
        """Warnings for display: ``table, column, rule, rows, example_rows, detail`` (rows None
        when the rule counts no rows, e.g. freshness); names in ``lang``; ``detail`` as the
        validator wrote it (English), left out for :data:`SELF_EXPLAINED_RULES`."""
        return self._problem_table(self.warning_frame, lang, rows=True)

    def note_table(self, lang: str = "en") -> pd.DataFrame:
        """Notes for display: ``table, rule, detail`` (e.g. columns outside the contract that
        were not read: their names, never their values); names in ``lang``."""
        return self._problem_table(self.note_frame, lang, rows=False)

    @staticmethod
    def _problem_table(frame: pd.DataFrame, lang: str, *, rows: bool) -> pd.DataFrame:
        out = {"table": table_names(frame["table"], lang)}
        if rows:
            out["column"] = field_names(frame["column"], lang)
        out["rule"] = rule_names(frame["rule"], lang)
        if rows:
            out["rows"] = _counts(frame["rows"].where(frame["rows"] > 0))
            out["example_rows"] = _examples(frame["examples"])
        said = (frame["detail"] == "") | frame["rule"].isin(SELF_EXPLAINED_RULES)
        out["detail"] = frame["detail"].where(~said).map(lambda d: detail_text(d, lang))
        return pd.DataFrame(out).reset_index(drop=True)

    def unknown_channel_table(
        self, min_group_size: int, lang: str = "en", top: int = 20
    ) -> pd.DataFrame:
        """Unknown raw channel names for display: ``table, column, raw_channel, rows``, largest
        first, at most ``top``; names on fewer than ``min_group_size`` rows pooled into one
        suppressed row (dropped too when the pool is smaller; ``privacy.suppress_small_groups``)."""
        u = self.unknown_channels.sort_values("rows", ascending=False, kind="stable")
        u = u.assign(
            table=table_names(u["table"], lang), column=field_names(u["column"], lang)
        ).rename(columns={"raw": "raw_channel"})
        u = suppress_small_groups(
            u[["table", "column", "raw_channel", "rows"]],
            "rows",
            min_group_size,
            label=i18n.t("ui.suppressed", lang),
        )
        return u.head(top).assign(rows=lambda f: _counts(f["rows"])).reset_index(drop=True)

    def largest_person_table(self, top: int = 10) -> pd.DataFrame:
        """The ``top`` largest merged identities: ``person`` (pseudonym ``p_…``), ``user_ids``."""
        p = self.largest_persons.head(top)
        if p.empty:
            return pd.DataFrame(columns=["person", "user_ids"])
        return pd.DataFrame(
            {
                "person": pseudonymise(p["person_id"], prefix="p_").to_numpy(),
                "user_ids": _counts(p["users"]).to_numpy(),
            }
        )

    def counts(self) -> dict[str, int]:
        """Quarantined rows per rule over all tables (every rule present, zeros included)."""
        out = dict.fromkeys(QUARANTINE_RULES, 0)
        for p in self.quarantined:
            out[p.rule] = out.get(p.rule, 0) + p.count
        return out

    def count(self, table: str, rule: str) -> int:
        """Rows of ``table`` quarantined under ``rule``."""
        return sum(p.count for p in self.quarantined if p.table == table and p.rule == rule)

    @property
    def ok(self) -> bool:
        """True when there is no fatal problem."""
        return not self.problems

    # --- text ----------------------------------------------------------------------------
    def summary(self) -> str:
        """A readable multi-line summary (what ``growthlab validate`` prints)."""
        lines: list[str] = []
        status = "OK" if self.ok else f"INVALID ({len(self.problems)} problem(s))"
        lines.append(f"data contract: {status}")
        if self.as_of is not None:
            lines.append(f"as_of: {self.as_of} UTC (source time zone {self.timezone})")
        if len(self.tables):
            lines.append("")
            lines.append("tables:")
            for r in self.tables.itertuples(index=False):
                span = ""
                if pd.notna(r.first):
                    span = f"  {r.first} .. {r.last}"
                lines.append(
                    f"  {r.table:<12} {r.rows_source:>12,} rows, {r.rows_quarantined:>9,} "
                    f"quarantined, {r.rows_kept:>12,} kept{span}"
                )
        if self.problems:
            lines.append("")
            lines.append("problems (the source must be fixed):")
            lines += [f"  - {p}" for p in self.problems]
        lines.append("")
        if self.quarantined:
            total = sum(p.count for p in self.quarantined)
            lines.append(f"quarantined ({total:,} row(s) excluded):")
            lines += [f"  - {p}" for p in self.quarantined]
        else:
            lines.append("quarantined: none")
        if self.warnings:
            lines.append("")
            lines.append("warnings (rows kept):")
            lines += [f"  - {p}" for p in self.warnings]
        if self.notes:
            lines.append("")
            lines.append("notes:")
            lines += [f"  - {p}" for p in self.notes]
        if len(self.unknown_channels):
            lines.append("")
            lines.append("unknown channel names (kept as-is; add them to channels.yaml):")
            for r in self.unknown_channels.head(20).itertuples(index=False):
                lines.append(f"  - {r.table}.{r.column}: {r.raw!r} ({r.rows:,} rows)")
        if self.identity:
            i = self.identity
            lines.append("")
            lines.append(
                f"identity (OneID): {i.get('users', 0):,} users -> {i.get('persons', 0):,} "
                f"persons; {i.get('merged_users', 0):,} users in "
                f"{i.get('merged_persons', 0):,} merged groups"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (counts only, no row-level data)."""
        return {
            "ok": self.ok,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "timezone": self.timezone,
            "problems": [str(p) for p in self.problems],
            "quarantined": self.counts(),
            "warnings": [str(p) for p in self.warnings],
            "notes": [str(p) for p in self.notes],
            "identity": dict(self.identity),
        }

    def __str__(self) -> str:
        return self.summary()
