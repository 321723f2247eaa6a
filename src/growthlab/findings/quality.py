"""Findings of the data-quality section (SPEC §4.1): can the data be trusted, and what to fix.

Inputs are what the loader and the engine-side profile produce: the
:class:`~growthlab.data.quality.QualityReport` of a Dataset (``ds.quality``) and the frames of
:mod:`growthlab.data.profile` (``null_rates``, ``uniqueness``, ``daily_volume`` scored by
:func:`growthlab.monitor.volume_anomalies`). The rules:

- **quarantine** (:func:`quarantine_findings`): rows excluded by a quarantine rule. One finding
  when any row was excluded; effect = quarantine rate (share of source rows excluded); the
  action depends on the rate against :data:`QUARANTINE_RATE_LIMIT`.
- **freshness** (:func:`freshness_findings`): a table the validator flags ``freshness`` (a feed
  whose newest row is too far before ``as_of``; the one rule lives in ``data.validate``). One
  finding per such table; effect = share of the last :data:`RECENT_WINDOW_DAYS` days without
  its rows.
- **unknown channels** (:func:`unknown_channel_findings`): raw channel names missing from
  channels.yaml. One finding per table; effect = share of the table's rows. Names on fewer than
  ``min_group_size`` rows are counted, never named (small-group suppression).
- **volume drops** (:func:`volume_findings`): days with rows possibly missing: far fewer rows
  than usual for their weekday (robust z < −threshold, ``monitor.volume_anomalies``), or
  no row at all on a day whose neighbourhood (the :data:`GAP_WINDOW_DAYS` days centred on it)
  has a median of at least :data:`GAP_MIN_MEDIAN_ROWS` rows: an export gap, whatever the score
  (a trend can widen the spread enough to hide it), but not the empty days of a ramp-up. One
  finding per table; effect = relative shortfall on those days, reach = share of
  the table's days. Unusually *high* days are shown on the page but are no quality finding:
  exact duplicates are already quarantined, and a surge is the monitoring section's subject.
- **trust** (:func:`trust_verdict`): the data can be trusted when the quarantine rate and the
  largest unknown-channel share are within their limits, no feed is stale and no table has a
  volume drop. The verdict summarises the other findings, which carry the importance, so its
  effect is 0 (it never outranks them in the summary).

Counts are exact, so confidence is 1, except for volume drops, which are a statistical flag
without an interval (:data:`growthlab.findings.POINT_ESTIMATE_CONFIDENCE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from growthlab import i18n
from growthlab.data.quality import QualityReport, share_text
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE, Evidence, Finding
from growthlab.metrics import format_value

SECTION = "quality"
#: Above this share of source rows excluded by quarantine, the data is not trusted as is.
QUARANTINE_RATE_LIMIT = 0.01
#: Above this share of a table's rows with an unknown channel name, channel results are off.
UNKNOWN_CHANNEL_SHARE_LIMIT = 0.01
#: The recent window (days) whose missing share is the effect of a stale feed.
RECENT_WINDOW_DAYS = 28
#: A day without rows whose neighbourhood has a median of at least this many rows is a gap.
GAP_MIN_MEDIAN_ROWS = 20
#: The neighbourhood of a day for the gap rule: this many days centred on it.
GAP_WINDOW_DAYS = 15
#: Unusual days listed in a volume-drop action.
LISTED_DAYS = 5


@dataclass(frozen=True)
class QualitySummary:
    """The numbers the data-quality page states (each computed once, here).

    ``first_signup``/``last_signup`` are local dates ("YYYY-MM-DD") in ``timezone`` and
    ``as_of`` the analysis instant as local time ("YYYY-MM-DD HH:MM");
    ``stale_tables`` are the tables with a validator ``freshness`` warning;
    ``unknown_channel_share`` is the largest share of one table's rows with an unknown channel
    name; ``volume_drop_days`` are the table-days with rows possibly missing
    (:func:`volume_findings`).
    """

    timezone: str
    as_of: str | None
    users: int
    first_signup: str | None
    last_signup: str | None
    tables: int
    rows: int
    quarantined_rows: int
    quarantine_rate: float
    quarantine_rules: int
    warnings: int
    notes: int
    stalest_table: str | None
    max_stale_days: float | None
    stale_tables: tuple[str, ...]
    columns: int
    columns_with_nulls: int
    emptiest_column: str | None
    emptiest_null_rate: float | None
    keys: int
    key_duplicates: int
    unknown_channel_names: int
    unknown_channel_rows: int
    unknown_channel_share: float
    volume_anomaly_days: int
    volume_drop_days: int
    identity_users: int
    persons: int
    merged_users: int
    merged_persons: int

    @property
    def metrics(self) -> dict[str, float | int | None]:
        """The recorded key numbers: catalogue id (``growthlab.metrics``, data quality) -> value."""
        return {
            "users": self.users,
            "rows": self.rows,
            "quarantined_rows": self.quarantined_rows,
            "quarantine_rate": self.quarantine_rate,
            "warnings": self.warnings,
            "max_stale_days": self.max_stale_days,
            "unknown_channel_rows": self.unknown_channel_rows,
            "unknown_channel_share": self.unknown_channel_share,
            "volume_anomaly_days": self.volume_anomaly_days,
            "volume_drop_days": self.volume_drop_days,
            "persons": self.persons,
            "merged_users": self.merged_users,
        }


def _when(ts: pd.Timestamp | None, pattern: str) -> str | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime(pattern)


def _unknown_shares(report: QualityReport) -> pd.DataFrame:
    """Per table: ``table, names, rows, share`` (share = unknown rows / rows kept)."""
    u = report.unknown_channels
    kept = report.coverage.set_index("table")["rows_kept"]
    g = u.groupby("table", sort=False).agg(names=("raw", "size"), rows=("rows", "sum"))
    g = g.reset_index()
    g["share"] = g["rows"] / g["table"].map(kept).astype(float)
    return g


def _drops(volume: pd.DataFrame) -> pd.DataFrame:
    """Days with rows possibly missing (module docstring): flagged low, or empty in a busy table."""
    v = volume.sort_values(["table", "date"], kind="stable")
    low = v["is_anomaly"].astype(bool) & (v["score"] < 0)
    level = v.groupby("table")["rows"].transform(
        lambda x: x.rolling(GAP_WINDOW_DAYS, center=True, min_periods=1).median()
    )
    return v[low | ((v["rows"] == 0) & (level >= GAP_MIN_MEDIAN_ROWS))]


def summarise(
    report: QualityReport,
    nulls: pd.DataFrame,
    uniqueness: pd.DataFrame,
    volume: pd.DataFrame,
) -> QualitySummary:
    """The page's numbers from the quality report and the profile frames.

    ``nulls``: ``table, column, rows, nulls, null_rate``; ``uniqueness``: ``table, key, rows,
    distinct, duplicates``; ``volume``: ``table, date, rows, expected, score, is_anomaly``.
    quarantine_rate = Σ rows_quarantined / Σ rows_source (0 without rows).
    """
    cov = report.coverage
    users = cov[cov["table"] == "users"]
    rows = int(cov["rows_source"].sum())
    quarantined = int(cov["rows_quarantined"].sum())
    stale = cov.dropna(subset=["days_since_last"]).sort_values(
        "days_since_last", ascending=False, kind="stable"
    )
    warn = report.warning_frame
    with_nulls = nulls[nulls["nulls"] > 0].sort_values("null_rate", ascending=False, kind="stable")
    unknown = _unknown_shares(report)
    anomalies = volume[volume["is_anomaly"].astype(bool)]
    ident = report.identity
    return QualitySummary(
        timezone=report.timezone,
        as_of=_when(report.local(report.as_of), "%Y-%m-%d %H:%M")
        if report.as_of is not None
        else None,
        users=int(users["rows_kept"].sum()),
        first_signup=_when(users["first"].min(), "%Y-%m-%d"),
        last_signup=_when(users["last"].max(), "%Y-%m-%d"),
        tables=len(cov),
        rows=rows,
        quarantined_rows=quarantined,
        quarantine_rate=quarantined / rows if rows else 0.0,
        quarantine_rules=len(report.quarantined),
        warnings=len(report.warnings),
        notes=len(report.notes),
        stalest_table=stale["table"].iloc[0] if len(stale) else None,
        max_stale_days=float(stale["days_since_last"].iloc[0]) if len(stale) else None,
        stale_tables=tuple(dict.fromkeys(warn.loc[warn["rule"] == "freshness", "table"])),
        columns=len(nulls),
        columns_with_nulls=len(with_nulls),
        emptiest_column=(
            f"{with_nulls['table'].iloc[0]}.{with_nulls['column'].iloc[0]}"
            if len(with_nulls)
            else None
        ),
        emptiest_null_rate=float(with_nulls["null_rate"].iloc[0]) if len(with_nulls) else None,
        keys=len(uniqueness),
        key_duplicates=int(uniqueness["duplicates"].sum()),
        unknown_channel_names=int(unknown["names"].sum()),
        unknown_channel_rows=int(unknown["rows"].sum()),
        unknown_channel_share=float(unknown["share"].max()) if len(unknown) else 0.0,
        volume_anomaly_days=len(anomalies),
        volume_drop_days=len(_drops(volume)),
        identity_users=int(ident.get("users", 0)),
        persons=int(ident.get("persons", 0)),
        merged_users=int(ident.get("merged_users", 0)),
        merged_persons=int(ident.get("merged_persons", 0)),
    )


def _name(kind: str, value: str, lang: str) -> str:
    return i18n.maybe(f"{kind}.{value}", lang, str(value))


def column_name(qualified: str | None, lang: str = "en") -> str | None:
    """A "table.column" name (e.g. :attr:`QualitySummary.emptiest_column`) in ``lang``:
    "events.cost" / "行为事件·成本" (``table.*``, ``field.*`` in :mod:`growthlab.i18n`)."""
    if qualified is None:
        return None
    table, _, column = str(qualified).partition(".")
    if not column:
        return _name("field", table, lang)
    return i18n.t(
        "field.qualified",
        lang,
        table=_name("table", table, lang),
        column=_name("field", column, lang),
    )


def quarantine_findings(report: QualityReport) -> list[Finding]:
    """One finding when rows were quarantined: how many, the largest rule, what to do.

    Rule: rate = Σ quarantined / Σ source rows; above :data:`QUARANTINE_RATE_LIMIT` the action
    is to fix the export before relying on the report, else the results stand and the export
    can be fixed to recover the rows. effect = rate, reach = 1, confidence = 1 (exact counts).
    """
    q = report.quarantine
    if q.empty or int(q["rows"].sum()) == 0:
        return []
    cov = report.coverage
    rows, excluded = int(cov["rows_source"].sum()), int(q["rows"].sum())
    rate = excluded / rows if rows else 0.0
    top = q.sort_values("rows", ascending=False, kind="stable").iloc[0]
    table, rule, n = str(top["table"]), str(top["rule"]), int(top["rows"])
    values = {
        "excluded": format_value(excluded, "count"),
        "share": share_text(rate),
        "rules": len(q),
        "n": format_value(n, "count"),
        "limit": format_value(QUARANTINE_RATE_LIMIT, "fraction"),
    }
    en = (
        "{excluded} source rows ({share}) are excluded by {rules} quarantine rule(s); the "
        "largest is “{rule}” in {table} ({n} rows)."
    ).format(rule=_name("rule", rule, "en"), table=_name("table", table, "en"), **values)
    zh = "共 {excluded} 行源数据（{share}）被 {rules} 条剔除规则排除；最多的是{table}表的“{rule}”（{n} 行）。"
    zh = zh.format(rule=_name("rule", rule, "zh"), table=_name("table", table, "zh"), **values)
    if rate > QUARANTINE_RATE_LIMIT:
        action_en = (
            "Fix the {table} export (“{rule}”) before relying on this report: more than {limit} "
            "of the source rows are excluded."
        )
        action_zh = "请先修复{table}导出数据（“{rule}”）再使用本报告：被剔除的源数据超过 {limit}。"
    else:
        action_en = (
            "Results stand (at most {limit} of rows excluded); fix “{rule}” in the {table} "
            "export to recover these rows."
        )
        action_zh = (
            "结论不受影响（剔除不超过 {limit}）；修复{table}导出中的“{rule}”即可找回这些行。"
        )
    return [
        Finding(
            SECTION,
            "quarantined_rows",
            en,
            zh,
            subject=table,
            action_en=action_en.format(
                table=_name("table", table, "en"), rule=_name("rule", rule, "en"), **values
            ),
            action_zh=action_zh.format(
                table=_name("table", table, "zh"), rule=_name("rule", rule, "zh"), **values
            ),
            evidence=(
                Evidence("quarantined_rows", excluded),
                Evidence("quarantine_rate", rate),
            ),
            effect=rate,
            reach=1.0,
            confidence=1.0,
        )
    ]


def freshness_findings(
    report: QualityReport, window_days: int = RECENT_WINDOW_DAYS
) -> list[Finding]:
    """One finding per table the validator flags ``freshness`` (its feed stopped early).

    Rule: the validator's freshness warning decides (one rule, in ``data.validate``); the days
    are ``coverage.days_since_last``. effect = min(days, window_days) / window_days (the share
    of the recent window without the table's rows), reach = 1, confidence = 1.
    """
    warn = report.warning_frame
    stale = list(dict.fromkeys(warn.loc[warn["rule"] == "freshness", "table"]))
    cov = report.coverage.set_index("table")
    out = []
    for table in stale:
        if table not in cov.index or pd.isna(cov.at[table, "days_since_last"]):
            continue
        days = float(cov.at[table, "days_since_last"])
        last = pd.Timestamp(cov.at[table, "last"])
        values = {
            "days": f"{days:,.1f}",
            "last": last.strftime("%Y-%m-%d %H:%M"),
            "date": last.strftime("%Y-%m-%d"),
            "zone": report.timezone,
        }
        en_t, zh_t = _name("table", table, "en"), _name("table", table, "zh")
        out.append(
            Finding(
                SECTION,
                "stale_table",
                (
                    "The {table} feed stops {days} days before the analysis date (newest row "
                    "{last}, {zone}): analyses that use it miss those days."
                ).format(table=en_t, **values),
                "{table}数据在分析时点前 {days} 天就中断了（最新一行 {last}，{zone}）：使用该表的分析缺少这几天的数据。".format(
                    table=zh_t, **values
                ),
                subject=table,
                action_en=(
                    "Check the {table} export: it stopped {days} days before the analysis date. "
                    "Re-export it, or set as_of to {date}."
                ).format(table=en_t, **values),
                action_zh="请检查{table}的导出：它在分析时点前 {days} 天停止。请重新导出，或把分析日期设为 {date}（运行参数 as_of）。".format(
                    table=zh_t, **values
                ),
                evidence=(Evidence("max_stale_days", days),),
                effect=min(days, window_days) / window_days,
                reach=1.0,
                confidence=1.0,
            )
        )
    return out


def unknown_channel_findings(report: QualityReport, min_group_size: int) -> list[Finding]:
    """One finding per table with raw channel names missing from channels.yaml.

    Rule: any unknown name is a finding; the action names the raw names on at least
    ``min_group_size`` rows and only counts the rarer ones (small-group suppression).
    effect = share of the table's rows with an unknown name, reach = 1, confidence = 1.
    """
    u = report.unknown_channels
    if u.empty:
        return []
    shares = _unknown_shares(report).set_index("table")
    out = []
    order = shares.sort_values("share", ascending=False, kind="stable").index  # largest first
    for table in order:
        names = u[u["table"] == table]
        rows, share = int(names["rows"].sum()), float(shares.at[table, "share"])
        named = names[names["rows"] >= min_group_size].sort_values("rows", ascending=False)
        listed = ", ".join(str(r) for r in named["raw"])
        rare = len(names) - len(named)
        values = {
            "names": len(names),
            "rows": format_value(rows, "count"),
            "share": share_text(share) if math.isfinite(share) else "n/a",
            "listed": listed,
            "rare": rare,
            "min": min_group_size,
        }
        en_t, zh_t = _name("table", table, "en"), _name("table", table, "zh")
        action_en, action_zh = [], []
        if listed:
            action_en.append("Add these channel names to channels.yaml: {listed}.")
            action_zh.append("请把这些渠道名称加入 channels.yaml：{listed}。")
        if rare:
            action_en.append(
                (
                    "Add the {rare} rarer name(s) too"
                    if listed
                    else "Add these {rare} name(s) to channels.yaml"
                )
                + " (fewer than {min} rows each, so not shown here; `growthlab validate SOURCE` "
                "lists them)."
            )
            action_zh.append(
                (
                    "另有 {rare} 个较少见的名称也请加入"
                    if listed
                    else "请把这 {rare} 个名称加入 channels.yaml"
                )
                + "（各少于 {min} 行，此处不显示；对数据目录运行 growthlab validate 命令可列出）。"
            )
        out.append(
            Finding(
                SECTION,
                "unknown_channels",
                (
                    "{names} raw channel name(s) on {rows} {table} rows ({share}) are not in "
                    "channels.yaml: they are analysed as channels of their own."
                ).format(table=en_t, **values),
                "{table}表中有 {names} 个原始渠道名称（{rows} 行，{share}）不在 channels.yaml 中：它们被当作独立渠道分析。".format(
                    table=zh_t, **values
                ),
                subject=table,
                action_en=" ".join(action_en).format(**values),
                action_zh="".join(action_zh).format(**values),
                evidence=(
                    Evidence("unknown_channel_rows", rows),
                    Evidence("unknown_channel_share", share),
                ),
                effect=share if math.isfinite(share) else 0.0,
                reach=1.0,
                confidence=1.0,
            )
        )
    return out


def volume_findings(volume: pd.DataFrame) -> list[Finding]:
    """One finding per table with days of far fewer rows than usual (rows possibly missing).

    Rule: days flagged by ``volume_anomalies`` with a negative score, and empty days whose
    :data:`GAP_WINDOW_DAYS`-day neighbourhood has a median of at least
    :data:`GAP_MIN_MEDIAN_ROWS` rows. effect = Σ(expected −
    rows) / Σ expected over those days (relative shortfall), reach = those days / the table's
    days, confidence = :data:`POINT_ESTIMATE_CONFIDENCE` (a flag without an interval). High
    days give no finding (module docstring).
    """
    drops = _drops(volume)
    out = []
    days_per_table = volume.groupby("table")["date"].size()
    for table, d in drops.groupby("table", sort=False):
        d = d.assign(_short=d["expected"] - d["rows"])
        worst = d.sort_values("_short", ascending=False, kind="stable").iloc[0]
        expected = float(d["expected"].sum())
        shortfall = (expected - float(d["rows"].sum())) / expected if expected > 0 else 0.0
        dates = pd.to_datetime(d["date"]).sort_values().dt.strftime("%Y-%m-%d")
        values = {
            "n": len(d),
            "date": pd.Timestamp(worst["date"]).strftime("%Y-%m-%d"),
            "rows": format_value(worst["rows"], "count"),
            "expected": format_value(worst["expected"], "count"),
            "dates": ", ".join(dates.head(LISTED_DAYS)) + (", …" if len(d) > LISTED_DAYS else ""),
        }
        en_t, zh_t = _name("table", table, "en"), _name("table", table, "zh")
        out.append(
            Finding(
                SECTION,
                "volume_drop",
                (
                    "{table}: {n} day(s) with far fewer rows than usual for their weekday, e.g. "
                    "{date}: {rows} rows against {expected} expected; rows may be missing."
                ).format(table=en_t, **values),
                "{table}：有 {n} 天的行数远低于同星期几的常态，例如 {date}：{rows} 行，预期 {expected} 行；可能缺数。".format(
                    table=zh_t, **values
                ),
                subject=table,
                action_en=(
                    "Check the {table} export for these days ({dates}) and re-export them if rows "
                    "are missing."
                ).format(table=en_t, **values),
                action_zh="请检查{table}在这些日期（{dates}）的导出，缺数则重新导出。".format(
                    table=zh_t, **values
                ),
                evidence=(Evidence("volume_drop_days", len(d)),),
                effect=max(shortfall, 0.0),
                reach=len(d) / int(days_per_table[table]),
                confidence=POINT_ESTIMATE_CONFIDENCE,
            )
        )
    return out


def trust_verdict(summary: QualitySummary) -> Finding:
    """Whether the data can be trusted for this report (module docstring), and why not.

    Trusted when quarantine_rate ≤ :data:`QUARANTINE_RATE_LIMIT`, no stale feed,
    unknown_channel_share ≤ :data:`UNKNOWN_CHANNEL_SHARE_LIMIT` and no volume-drop day.
    effect = 0: the other findings carry the importance.
    """
    values = {
        "q": share_text(summary.quarantine_rate),
        "ql": format_value(QUARANTINE_RATE_LIMIT, "fraction"),
        "u": share_text(summary.unknown_channel_share),
        "ul": format_value(UNKNOWN_CHANNEL_SHARE_LIMIT, "fraction"),
        "drops": summary.volume_drop_days,
        "stale_en": ", ".join(_name("table", t, "en") for t in summary.stale_tables),
        "stale_zh": "、".join(_name("table", t, "zh") for t in summary.stale_tables),
    }
    failed_en, failed_zh = [], []
    if summary.quarantine_rate > QUARANTINE_RATE_LIMIT:
        failed_en.append("{q} of source rows are excluded (limit {ql})")
        failed_zh.append("{q} 的源数据被剔除（上限 {ql}）")
    if summary.stale_tables:
        failed_en.append("no recent rows in {stale_en}")
        failed_zh.append("{stale_zh}近期没有数据")
    if summary.unknown_channel_share > UNKNOWN_CHANNEL_SHARE_LIMIT:
        failed_en.append("up to {u} of a table's rows have an unknown channel (limit {ul})")
        failed_zh.append("单表最多 {u} 的行渠道未知（上限 {ul}）")
    if summary.volume_drop_days:
        failed_en.append("{drops} table-day(s) with far fewer rows than usual")
        failed_zh.append("{drops} 个表-日的行数远低于常态")
    evidence = (
        Evidence("quarantine_rate", summary.quarantine_rate),
        Evidence("unknown_channel_share", summary.unknown_channel_share),
        Evidence("volume_drop_days", summary.volume_drop_days),
    )
    if not failed_en:
        return Finding(
            SECTION,
            "data_trustworthy",
            (
                "The data can be trusted for this report: {q} of source rows excluded (limit "
                "{ql}), every feed has recent rows, at most {u} of a table's rows with an unknown "
                "channel (limit {ul}), no day with far fewer rows than usual."
            ).format(**values),
            "数据可信，可用于本报告：剔除的源数据占 {q}（上限 {ql}），各数据表近期均有数据，单表渠道未知的行最多占 {u}（上限 {ul}），没有行数远低于常态的日期。".format(
                **values
            ),
            evidence=evidence,
            effect=0.0,
            reach=1.0,
            confidence=1.0,
        )
    return Finding(
        SECTION,
        "data_needs_attention",
        ("Check the data before acting on this report: " + "; ".join(failed_en) + ".").format(
            **values
        ),
        ("请先核查数据再依据本报告行动：" + "；".join(failed_zh) + "。").format(**values),
        action_en="Fix the problems listed in this section first (their actions follow).",
        action_zh="请先解决本节列出的问题（各自的建议见下文）。",
        evidence=evidence,
        effect=0.0,
        reach=1.0,
        confidence=1.0,
    )


@dataclass(frozen=True)
class QualityFindings:
    """The section's findings by subsection; :attr:`all` for ``report.record_findings``."""

    trust: list[Finding]
    quarantine: list[Finding]
    freshness: list[Finding]
    unknown_channels: list[Finding]
    volume: list[Finding]

    @property
    def all(self) -> list[Finding]:
        """Every finding of the section, verdict first."""
        return [
            *self.trust,
            *self.quarantine,
            *self.freshness,
            *self.unknown_channels,
            *self.volume,
        ]


def findings(
    report: QualityReport,
    summary: QualitySummary,
    volume: pd.DataFrame,
    *,
    min_group_size: int,
) -> QualityFindings:
    """Every finding of the data-quality section (the rules of the module docstring)."""
    return QualityFindings(
        trust=[trust_verdict(summary)],
        quarantine=quarantine_findings(report),
        freshness=freshness_findings(report),
        unknown_channels=unknown_channel_findings(report, min_group_size),
        volume=volume_findings(volume),
    )
