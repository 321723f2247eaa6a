"""Data-quality findings (growthlab.findings.quality) and the page's frames (data.quality)."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pandas as pd
import pytest

from growthlab import metrics, monitor
from growthlab.data import profile
from growthlab.data.contract import Problem
from growthlab.data.quality import (
    DATE_TABLES,
    QualityReport,
    share_text,
    uniqueness_table,
    volume_anomaly_table,
)
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE
from growthlab.findings import quality as fq
from growthlab.plots import quality as qplots

AS_OF = pd.Timestamp("2025-06-30 16:00")  # = 2025-07-01 00:00 in Asia/Shanghai


def _tables(**quarantined: int) -> pd.DataFrame:
    rows = [
        # table, rows_source, first (naive UTC), last (naive UTC)
        ("users", 1000, "2024-12-31 16:30", "2025-06-30 15:00"),
        ("events", 10000, "2025-01-01 00:00", "2025-06-20 04:00"),
        ("identities", 500, None, None),
        ("costs", 200, "2025-01-01", "2025-06-28"),
        ("assignments", 300, "2025-05-01 00:00", "2025-05-30 16:00"),
    ]
    return pd.DataFrame(
        [
            {
                "table": t,
                "rows_source": n,
                "rows_quarantined": quarantined.get(t, 0),
                "rows_kept": n - quarantined.get(t, 0),
                "first": pd.Timestamp(first) if first else pd.NaT,
                "last": pd.Timestamp(last) if last else pd.NaT,
                "origin": f"{t}.csv",
            }
            for t, n, first, last in rows
        ]
    )


def _report(
    quarantined: list[Problem] | None = None,
    warnings: list[Problem] | None = None,
    unknown: list[tuple[str, str, str, int]] | None = None,
    notes: list[Problem] | None = None,
) -> QualityReport:
    quarantined = quarantined or []
    per_table: dict[str, int] = {}
    for p in quarantined:
        per_table[p.table] = per_table.get(p.table, 0) + p.count
    return QualityReport(
        quarantined=quarantined,
        warnings=warnings or [],
        notes=notes or [],
        tables=_tables(**per_table),
        unknown_channels=pd.DataFrame(
            unknown or [], columns=["table", "column", "raw", "rows"]
        ).astype({"rows": "int64"}),
        identity={"users": 1000, "persons": 990, "merged_users": 15, "merged_persons": 5},
        largest_persons=pd.DataFrame({"person_id": ["U1", "U2"], "users": [4, 3]}),
        as_of=AS_OF,
        timezone="Asia/Shanghai",
    )


def _volume(table: str = "events", days: int = 28, spikes=(), drops=()) -> pd.DataFrame:
    """A flat daily series (100 rows a day) with spike/drop days, scored by volume_anomalies."""
    dates = pd.date_range("2025-06-01", periods=days, freq="D")
    rows = np.full(days, 100, dtype="int64") + np.tile([0, 3, -2, 1, -1, 2, -3], days)[:days]
    for i in spikes:
        rows[i] = 400
    for i in drops:
        rows[i] = 0
    daily = pd.DataFrame({"table": table, "date": dates, "rows": rows})
    return monitor.volume_anomalies(daily, threshold=3.5)


def _nulls() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": ["users", "users", "events"],
            "column": ["user_id", "city", "cost"],
            "rows": [1000, 1000, 10000],
            "nulls": [0, 100, 9000],
            "null_rate": [0.0, 0.1, 0.9],
        }
    )


def _unique(duplicates: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": ["users", "orders"],
            "key": ["user_id", "order_id"],
            "rows": [1000, 50],
            "distinct": [1000, 50 - duplicates],
            "duplicates": [0, duplicates],
            "unique": [True, duplicates == 0],
        }
    )


# --- coverage in local time -----------------------------------------------------------------
def test_coverage_is_local_time_and_date_tables_keep_their_dates():
    cov = _report().coverage.set_index("table")
    # 2024-12-31 16:30 UTC was 1 January 00:30 in Shanghai
    assert cov.at["users", "first"] == pd.Timestamp("2025-01-01 00:30")
    assert cov.at["users", "days_covered"] == 181  # local 1 Jan .. 30 Jun
    assert cov.at["costs", "first"] == pd.Timestamp("2025-01-01")  # a date: not shifted
    assert "costs" in DATE_TABLES
    # a date table's newest day counts to its local end: 28 June ends 29 June 00:00 local
    assert cov.at["costs", "days_since_last"] == pytest.approx(2.0)
    assert cov.at["events", "days_since_last"] == pytest.approx(10.5)
    assert pd.isna(cov.at["identities", "first"]) and pd.isna(cov.at["identities", "days_covered"])


def test_coverage_of_a_date_table_updated_today_is_not_stale():
    r = _report()
    r.tables.loc[r.tables["table"] == "costs", "last"] = pd.Timestamp("2025-06-30")
    assert r.coverage.set_index("table").at["costs", "days_since_last"] == 0.0


def test_coverage_table_is_display_ready():
    t = _report(quarantined=[Problem("events", None, "duplicate", 25, (3, 9))]).coverage_table("zh")
    assert list(t.columns) == [
        "table",
        "rows_source",
        "rows_quarantined",
        "rows_kept",
        "first_row",
        "last_row",
        "days_covered",
        "days_since_last",
    ]
    row = t.set_index("table").loc["行为事件"]
    assert (row["rows_source"], row["rows_quarantined"], row["rows_kept"]) == (
        "10,000",
        "25",
        "9,975",
    )
    assert t.set_index("table").loc["用户", "first_row"] == "2025-01-01 00:30"
    assert t.set_index("table").loc["投放成本", "first_row"] == "2025-01-01"
    assert pd.isna(t.set_index("table").loc["身份标识", "first_row"])  # shown as "–"


def test_problem_tables_translate_names_and_keep_example_rows():
    r = _report(
        quarantined=[Problem("events", "user_id", "orphan", 4, (7, 8))],
        warnings=[Problem("events", "ts", "freshness", 0, detail="latest row is 10.5 days")],
        notes=[Problem("users", None, "unused_columns", 0, detail="1 column(s) ...: nickname")],
    )
    q = r.quarantine_table("zh")
    assert q.iloc[0].to_dict() == {
        "table": "行为事件",
        "column": "用户 ID",  # contract columns by their Chinese names
        "rule": "用户不存在",
        "rows": "4",
        "quarantine_share": "0.040 %",
        "example_rows": "7, 8",
    }
    w = r.warning_table("en")
    assert w.iloc[0]["rule"] == "no recent rows" and w.iloc[0]["rows"] is None
    assert pd.isna(w.iloc[0]["detail"])  # the rule's name says it, in the page's language
    n = r.note_table("en")
    assert (
        list(n.columns) == ["table", "rule", "detail"] and n.iloc[0]["rule"] == "columns not read"
    )
    assert r.quarantine_table("en").iloc[0]["column"] == "user_id"  # English: the contract name


def test_validator_details_in_chinese_keep_the_names_from_the_source():
    notes = [
        Problem("users", None, "unused_columns", 0, detail="2 column(s) outside the data "
                "contract, not read: 手机, nickname"),
        Problem("costs", None, "empty_table", 0, detail="all 1,204 row(s) were quarantined; "
                "treated as absent: sections that need it are skipped"),
        Problem("events", None, "odd_rule", 0, detail="some English the table cannot say"),
    ]  # fmt: skip
    n = _report(notes=notes).note_table("zh")
    assert list(n["detail"][:2]) == [
        "2 列不在数据约定中，未读取：手机, nickname",
        "全部 1,204 行均被剔除，视为缺失：需要它的分析会跳过",
    ]
    assert pd.isna(n["detail"].iloc[2])  # no English on a Chinese page
    assert _report(notes=notes).note_table("en")["detail"].iloc[2].startswith("some English")
    assert fq.column_name("events.cost", "zh") == "行为事件·成本"
    assert fq.column_name("events.cost", "en") == "events.cost"


def test_unknown_channel_table_suppresses_small_names():
    r = _report(unknown=[("events", "channel", "big_app", 50), ("events", "channel", "tiny", 3)])
    t = r.unknown_channel_table(min_group_size=10)
    assert list(t["raw_channel"]) == ["big_app"] and "tiny" not in t.to_string()
    pooled = _report(
        unknown=[("events", "channel", "a", 6), ("events", "channel", "b", 7)]
    ).unknown_channel_table(min_group_size=10, lang="zh")
    assert list(pooled["raw_channel"]) == ["（已合并小组）"] and list(pooled["rows"]) == ["13"]


def test_largest_person_table_pseudonymises():
    t = _report().largest_person_table(5)
    assert list(t.columns) == ["person", "user_ids"]
    assert all(p.startswith("p_") for p in t["person"]) and "U1" not in t.to_string()


def test_uniqueness_and_anomaly_tables_have_no_raw_booleans_or_nan():
    u = uniqueness_table(_unique(2), "en")
    assert "unique" not in u.columns and list(u["duplicate_keys"]) == ["0", "2"]
    a = volume_anomaly_table(_volume(spikes=[20], drops=[10]), "zh")
    assert list(a["date"]) == ["2025-06-21", "2025-06-11"]  # largest |z| first (+300, -100)
    assert set(a["table"]) == {"行为事件"} and not a.isna().any().any()


def test_share_text_keeps_two_significant_digits_for_small_shares():
    assert share_text(0.0) == "0.0 %"
    assert share_text(0.000024) == "0.0024 %"
    assert share_text(0.25) == "25.0 %"


# --- summary --------------------------------------------------------------------------------
def test_summary_numbers_and_recorded_ids():
    r = _report(
        quarantined=[
            Problem("events", None, "duplicate", 30),
            Problem("users", "user_id", "orphan", 5),
        ],
        warnings=[Problem("events", "ts", "freshness", 0)],
        unknown=[("events", "channel", "x", 40)],
    )
    s = fq.summarise(r, _nulls(), _unique(1), _volume(spikes=[20], drops=[10]))
    assert (s.rows, s.quarantined_rows) == (12000, 35)
    assert s.quarantine_rate == pytest.approx(35 / 12000)
    assert s.users == 995 and (s.first_signup, s.last_signup) == ("2025-01-01", "2025-06-30")
    assert s.as_of == "2025-07-01 00:00"
    assert (s.stalest_table, s.max_stale_days) == ("assignments", pytest.approx(31.0))
    assert s.stale_tables == ("events",)
    assert (s.columns, s.columns_with_nulls, s.emptiest_column) == (3, 2, "events.cost")
    assert (s.keys, s.key_duplicates) == (2, 1)
    assert s.unknown_channel_share == pytest.approx(40 / 9970)
    assert (s.volume_anomaly_days, s.volume_drop_days) == (2, 1)
    assert (s.persons, s.merged_persons) == (990, 5)
    for metric_id in s.metrics:
        metrics.get(metric_id)  # every recorded id is catalogued


# --- findings -------------------------------------------------------------------------------
def test_no_quarantine_no_finding():
    assert fq.quarantine_findings(_report()) == []


def test_small_quarantine_results_stand():
    (f,) = fq.quarantine_findings(
        _report(
            quarantined=[
                Problem("events", None, "duplicate", 30),
                Problem("users", "user_id", "orphan", 5),
            ]
        )
    )
    assert f.kind == "quarantined_rows" and f.subject == "events"
    assert f.effect == pytest.approx(35 / 12000) and f.confidence == 1.0
    assert "duplicate row" in f.en and "重复行" in f.zh
    assert f.action_en.startswith("Results stand")


def test_large_quarantine_says_fix_the_export_first():
    (f,) = fq.quarantine_findings(_report(quarantined=[Problem("events", None, "duplicate", 500)]))
    assert f.effect == pytest.approx(500 / 12000)
    assert f.action_en.startswith("Fix the events export") and "修复" in f.action_zh


def test_freshness_follows_the_validator_warning_only():
    # assignments are 31 days old, events 10.5, but only a validator warning makes a finding
    assert fq.freshness_findings(_report()) == []
    (f,) = fq.freshness_findings(_report(warnings=[Problem("events", "ts", "freshness", 0)]))
    assert f.kind == "stale_table" and f.subject == "events"
    assert f.effect == pytest.approx(10.5 / fq.RECENT_WINDOW_DAYS)
    assert "10.5 days" in f.en and "2025-06-20 12:00" in f.en  # newest row in local time
    assert "Check the events export" in f.action_en


def test_unknown_channels_name_only_groups_large_enough():
    r = _report(unknown=[("events", "channel", "big_app", 50), ("events", "channel", "tiny", 3)])
    (f,) = fq.unknown_channel_findings(r, min_group_size=10)
    assert f.effect == pytest.approx(53 / 10000)
    assert "big_app" in f.action_en and "big_app" in f.action_zh
    assert all("tiny" not in text for text in (f.en, f.zh, f.action_en, f.action_zh))
    assert "1 rarer name" in f.action_en
    assert fq.unknown_channel_findings(_report(), min_group_size=10) == []


def test_volume_drops_are_findings_surges_are_not():
    assert fq.volume_findings(_volume(spikes=[20])) == []
    assert fq.volume_findings(_volume()) == []
    (f,) = fq.volume_findings(_volume(drops=[10, 11]))
    assert f.kind == "volume_drop" and f.subject == "events"
    assert f.effect == pytest.approx(1.0)  # 0 rows against ~100 expected
    assert f.reach == pytest.approx(2 / 28)
    assert f.confidence == POINT_ESTIMATE_CONFIDENCE
    assert "2025-06-11" in f.en and "2025-06-11, 2025-06-12" in f.action_en


def test_an_empty_day_in_a_busy_table_is_a_gap_even_when_not_flagged():
    dates = pd.date_range("2025-01-01", periods=60, freq="D")
    rows = np.linspace(50, 600, 60).round().astype("int64")  # a steep trend widens the spread
    rows[30] = 0
    v = monitor.volume_anomalies(pd.DataFrame({"table": "events", "date": dates, "rows": rows}))
    assert not v.loc[30, "is_anomaly"]  # the score alone misses it
    (f,) = fq.volume_findings(v)
    assert "2025-01-31" in f.action_en
    sparse = pd.DataFrame({"table": "costs", "date": dates, "rows": np.tile([0, 5, 6], 20)})
    assert fq.volume_findings(monitor.volume_anomalies(sparse)) == []  # median < 20: no gap
    ramp = np.r_[[0, 1, 0, 0, 2, 0, 3, 2, 4, 3, 5, 4, 6, 5], np.linspace(8, 300, 46).round()]
    ramp_up = pd.DataFrame({"table": "orders", "date": dates, "rows": ramp.astype("int64")})
    assert fq.volume_findings(monitor.volume_anomalies(ramp_up)) == []  # a slow start: no gap


def _summary(**changes) -> fq.QualitySummary:
    s = fq.summarise(_report(), _nulls(), _unique(), _volume())
    return fq.QualitySummary(**{**s.__dict__, **changes})


def test_trust_verdict_passes_within_the_limits():
    f = fq.trust_verdict(
        _summary(
            quarantine_rate=fq.QUARANTINE_RATE_LIMIT,  # at the limit: no claim of a problem
            unknown_channel_share=fq.UNKNOWN_CHANNEL_SHARE_LIMIT,
        )
    )
    assert f.kind == "data_trustworthy" and f.importance == 0.0


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"quarantine_rate": 0.02}, "of source rows are excluded"),
        ({"stale_tables": ("events",)}, "no recent rows in events"),
        ({"unknown_channel_share": 0.05}, "unknown channel"),
        ({"volume_drop_days": 3}, "3 table-day(s)"),
    ],
)
def test_trust_verdict_names_each_failed_check(changes, words):
    f = fq.trust_verdict(_summary(**changes))
    assert f.kind == "data_needs_attention" and words in f.en
    assert f.zh.startswith("请先核查数据") and f.importance == 0.0  # details carry importance


def test_findings_collects_every_rule_verdict_first():
    r = _report(
        quarantined=[Problem("events", None, "duplicate", 30)],
        warnings=[Problem("events", "ts", "freshness", 0)],
        unknown=[("events", "channel", "x", 40)],
    )
    volume = _volume(drops=[10])
    found = fq.findings(r, fq.summarise(r, _nulls(), _unique(), volume), volume, min_group_size=10)
    kinds = [f.kind for f in found.all]
    assert kinds == [
        "data_needs_attention",
        "quarantined_rows",
        "stale_table",
        "unknown_channels",
        "volume_drop",
    ]
    assert {f.section for f in found.all} == {"quality"}


# --- layers ---------------------------------------------------------------------------------
def test_quality_plots_import_neither_report_nor_data():
    tree = ast.parse(inspect.getsource(qplots))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not any(m.startswith(("growthlab.report", "growthlab.data")) for m in imported)


# --- end to end on a synthetic source with a broken export ----------------------------------
def test_stale_feed_and_export_gap_on_a_synthetic_source():
    from growthlab import data
    from growthlab.data import synth

    frames, _ = synth.generate_frames(1500, seed=1)
    ts = pd.to_datetime(frames["events"]["ts"])  # naive local times
    gap = (ts >= pd.Timestamp("2025-04-10")) & (ts < pd.Timestamp("2025-04-13"))
    frames["events"] = frames["events"][~gap]
    frames["orders"] = frames["orders"][pd.to_datetime(frames["orders"]["ts"]) < "2025-06-15"]
    ds = data.load(frames, as_of="2025-06-30")
    volume = monitor.volume_anomalies(profile.daily_volume(ds))
    s = fq.summarise(ds.quality, profile.null_rates(ds), profile.uniqueness(ds), volume)
    found = fq.findings(ds.quality, s, volume, min_group_size=10)
    assert found.trust[0].kind == "data_needs_attention"
    assert [f.subject for f in found.freshness] == ["orders"]
    assert found.freshness[0].effect == pytest.approx(16 / fq.RECENT_WINDOW_DAYS, abs=0.01)
    (drop,) = found.volume
    assert drop.subject == "events" and "2025-04-10, 2025-04-11, 2025-04-12" in drop.action_en
    assert s.quarantined_rows == sum(ds.quality.counts().values())
