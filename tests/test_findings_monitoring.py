"""Findings of the monitoring section (growthlab.findings.monitoring), on hand-made inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from growthlab import i18n, monitor
from growthlab.findings import monitoring

START = pd.Timestamp("2025-06-24")


def _cmp(rows: list[tuple]) -> pd.DataFrame:
    """metric, last, previous, diff_low, diff_high -> a period_comparison-like frame."""
    f = pd.DataFrame(rows, columns=["metric", "last", "previous", "diff_low", "diff_high"])
    f["segment"] = "all"
    f["change"] = f["last"] / f["previous"] - 1
    f["diff"] = f["last"] - f["previous"]
    f["change_low"] = f["diff_low"] / f["previous"]
    f["change_high"] = f["diff_high"] / f["previous"]
    return f


def test_kpi_move_picks_the_largest_clear_move_with_its_direction():
    c = _cmp(
        [
            ("new_users", 1300.0, 1000.0, -50.0, 600.0),  # +30 %, interval includes 0: ignored
            ("revenue", 1200.0, 1000.0, 50.0, 350.0),  # +20 %, clear
            ("unsubscribes", 140.0, 63.0, 33.0, 121.0),  # +122 %, clear, lower is better
        ]
    )
    (f,) = monitoring.kpi_move_findings(c, days=7)
    assert f.section == "monitoring" and f.kind == "kpi_move" and f.subject == "unsubscribes"
    assert f.effect == 1.0 and f.reach == 1.0 and f.confidence == 1.0
    assert "Unsubscribes rose by 122.2 %" in f.en and "bad news" in f.en
    assert "退订上升" in f.zh and "需要警惕" in f.zh
    assert f.action_en == i18n.t("action.kpi_move.fatigue", "en")
    # without the unsubscribes row, revenue's rise is good news
    (g,) = monitoring.kpi_move_findings(c.iloc[:2], days=7)
    assert g.subject == "revenue" and "good news" in g.en and g.effect == pytest.approx(0.2)
    assert g.action_en == i18n.t("action.kpi_move.good", "en")
    # revenue carries the Dataset's currency, as the front page's tiles write it
    (cny,) = monitoring.kpi_move_findings(c.iloc[:2], days=7, currency="CNY")
    assert "1,200.00 CNY against 1,000.00 CNY" in cny.en and "1,200.00 CNY" in cny.zh
    # a clear fall of a KPI where up is better: bad news, with the generic action
    fall = _cmp([("conversions", 800.0, 1000.0, -350.0, -50.0)])
    (h,) = monitoring.kpi_move_findings(fall, days=7)
    assert "fell" in h.en and "bad news" in h.en and "7 days" in h.action_en


def test_no_kpi_move_when_every_interval_includes_zero():
    c = _cmp([("new_users", 1300.0, 1000.0, -50.0, 600.0), ("revenue", 900.0, 1000.0, -300.0, 0.0)])
    assert monitoring.kpi_move_findings(c, days=7) == []
    c2 = _cmp([("revenue", 900.0, 1000.0, float("nan"), float("nan"))])
    assert monitoring.kpi_move_findings(c2, days=7) == []
    assert monitoring.kpi_move_findings(c.iloc[:0], days=7) == []


def _alerts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2025-06-10", "2025-06-28", "2025-06-29", "2025-06-27", "2025-06-30"]
            ),
            "metric": ["revenue", "complaints", "complaints", "new_users", "revenue"],
            "segment": ["all", "sms", "sms", "all", "wecom"],
            "observed": [300.0, 12.0, 9.0, 50.0, 10.0],
            "expected": [100.0, 4.0, 4.0, 100.0, 40.0],
            "low": [60.0, 0.0, 0.0, 70.0, 20.0],
            "high": [160.0, 8.0, 8.0, 140.0, 60.0],
            "score": [14.0, 5.0, 3.8, -4.0, -3.6],
            "direction": ["up", "up", "up", "down", "down"],
        }
    )


def test_alert_findings_only_recent_one_per_series_strongest_first():
    shares = pd.DataFrame(
        {"metric": ["complaints", "revenue"], "segment": ["sms", "wecom"], "share": [0.4, 0.1]}
    )
    found = monitoring.alert_findings(_alerts(), recent_start=START, shares=shares)
    # the June 10 spike is old: not a finding; the sms series appears once (its strongest day)
    assert [(f.subject, f.kind) for f in found] == [
        ("sms", "kpi_alert"),
        ("new_users", "kpi_alert"),
        ("wecom", "kpi_alert"),
    ]
    sms, new_users, wecom = found
    assert "2025-06-28" in sms.en and sms.reach == pytest.approx(0.4)
    assert sms.effect == 1.0  # 12 vs 4 expected: capped
    assert new_users.reach == 1.0 and new_users.effect == pytest.approx(0.5)
    assert wecom.reach == pytest.approx(0.1)
    # complaints up is bad news; new users down is bad news too
    assert sms.action_en == i18n.t("action.kpi_alert.bad", "en")
    assert new_users.action_en == i18n.t("action.kpi_alert.bad", "en")
    assert sms.confidence == pytest.approx(1 - 2 * norm.sf(5.0))  # the score as a normal deviate
    assert len(monitoring.alert_findings(_alerts(), recent_start=START, n=1)) == 1
    assert monitoring.alert_findings(_alerts(), recent_start=pd.Timestamp("2025-07-01")) == []


def test_alert_sentence_in_both_languages():
    row = _alerts().iloc[0].to_dict()
    en, zh = monitoring.alert_sentence(row, "en"), monitoring.alert_sentence(row, "zh")
    assert en.startswith("Revenue (all) on 2025-06-10: 300.00 against an expected 100.00")
    assert "above" in en and "+14.0" in en
    assert zh.startswith("收入（全部）在 2025-06-10") and "高于" in zh


def _channels(rows: list[tuple]) -> pd.DataFrame:
    f = pd.DataFrame(
        rows, columns=["metric", "segment", "last", "previous", "diff_low", "diff_high"]
    )
    f["diff"] = f["last"] - f["previous"]
    return f


def test_contact_fatigue_names_channels_whose_interval_is_above_zero():
    c = _channels(
        [
            ("unsubscribes", "all", 140.0, 63.0, 33.0, 121.0),
            ("unsubscribes", "sms", 55.0, 21.0, 13.0, 54.0),
            ("unsubscribes", "app_push", 45.0, 18.0, 3.0, 51.0),
            ("unsubscribes", "wecom", 40.0, 24.0, -7.0, 39.0),  # includes 0: not named
            ("complaints", "sms", 17.0, 9.0, -2.8, 18.8),  # includes 0
        ]
    )
    (f,) = monitoring.contact_fatigue_findings(c, days=7)
    assert f.kind == "contact_fatigue" and f.subject == "sms, app_push"
    # channels by their display names (i18n channel.*), in both languages
    assert "SMS" in f.en and "App push" in f.en and "WeCom" not in f.en
    assert "短信" in f.zh and "App 推送" in f.zh and "app_push" not in f.zh
    assert f.reach == pytest.approx(100 / 140)
    assert f.effect == 1.0  # 100 vs 39: more than doubled, capped
    assert "SMS" in f.action_en and f.confidence == 1.0
    assert [e.metric for e in f.evidence] == ["unsubscribes:sms", "unsubscribes:app_push"]


def test_no_contact_fatigue_when_intervals_include_zero():
    c = _channels(
        [
            ("unsubscribes", "sms", 25.0, 21.0, -3.0, 11.0),
            ("complaints", "wecom", 3.0, 9.0, -10.0, -1.0),  # a fall is no fatigue
        ]
    )
    assert monitoring.contact_fatigue_findings(c, days=7) == []
    assert monitoring.contact_fatigue_findings(c.drop(columns="segment"), days=7) == []


def test_tables_and_recorded_numbers():
    c = _cmp([("new_users", 1300.0, 1000.0, -50.0, 600.0), ("revenue", 1200.0, 0.0, 1.0, 2.0)])
    t = monitoring.comparison_table(c, "zh")
    assert list(t["metric"]) == ["新增用户", "收入"]
    assert t["kpi_change"].iloc[0] == "+30.0 %" and t["kpi_change"].iloc[1] == "–"
    assert t["kpi_change_interval"].iloc[0] == "-5.0 % … +60.0 %"
    assert list(t["kpi_move"]) == [i18n.t("verdict.move.includes", "zh")] + [
        i18n.t("verdict.move.above", "zh")
    ]
    assert monitoring.recent_metrics(c) == {"new_users_recent": 1300.0, "revenue_recent": 1200.0}
    a = monitoring.alerts_table(_alerts(), "en", n=2)
    assert list(a.columns) == [
        "date",
        "metric",
        "channel",
        "alert_observed",
        "alert_expected",
        "alert_band",
        "alert_score",
        "alert_direction",
    ]
    assert list(a["channel"]) == ["all", "SMS"] and a["alert_band"].iloc[0] == "60.0 – 160.0"
    assert not a.isna().any().any()


def test_findings_from_a_real_detection_run():
    """End to end on a planted recent spike: the alert becomes a finding, the old one does not."""
    rng = np.random.default_rng(2)
    dates = pd.date_range("2025-01-01", periods=150, freq="D")
    y = rng.poisson(200, len(dates)).astype(float)
    y[60] *= 3  # old
    y[147] *= 3  # recent
    s = pd.DataFrame({"date": dates, "metric": "new_users", "segment": "all", "value": y})
    res = monitor.detect_anomalies(s)
    alerts = monitor.alert_table(res)
    counts = monitor.summarise_alerts(res, alerts, recent_days=7, threshold=3.5)
    found = monitoring.alert_findings(alerts, recent_start=counts.recent_start)
    assert len(found) == 1 and str(dates[147].date()) in found[0].en
    assert math.isclose(found[0].reach, 1.0) and found[0].effect > 0.5


def test_a_handful_of_opt_outs_is_no_fatigue():
    # a week of 1,1,1,1,1,0,0 complaints against none: the paired t interval lies above 0,
    # but five events against none is p = 1/32 one-sided (exact test of two Poisson counts)
    c = _channels(
        [
            ("complaints", "app_push", 5.0, 0.0, 1.8, 8.2),
            ("complaints", "sms", 9.0, 0.0, 4.0, 14.0),  # p = 1/512: named
            ("unsubscribes", "wecom", 20.0, 10.0, 2.0, 18.0),  # p = .049: not named
        ]
    )
    (f,) = monitoring.contact_fatigue_findings(c, days=7)
    assert f.subject == "sms" and "App push" not in f.en
    loose = monitoring.contact_fatigue_findings(c, days=7, alpha=0.2)  # one-sided level .1
    assert [f.subject for f in loose] == ["wecom", "sms, app_push"]
    # no events in either window is no rise, whatever interval a caller passes
    zero = _channels([("complaints", "sms", 0.0, 0.0, 0.5, 1.0)])
    assert monitoring.contact_fatigue_findings(zero, days=7) == []
