"""Findings as data (growthlab.findings) and the one interval-verdict rule (growthlab.stats)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from growthlab import report, stats
from growthlab.findings import Evidence, Finding, confidence, from_records, rank
from growthlab.report import html as rhtml
from growthlab.report import summary


def _f(kind="k", effect=0.5, reach=0.5, conf=1.0, en=None, zh=None, **kw) -> Finding:
    en, zh = en or f"{kind} en", zh or f"{kind} 中"
    return Finding("referral", kind, en, zh, effect=effect, reach=reach, confidence=conf, **kw)


def test_importance_is_effect_times_reach_times_confidence():
    assert _f(effect=0.4, reach=0.5, conf=1.0).importance == pytest.approx(0.2)
    assert _f(effect=3.0, reach=2.0, conf=0.5).importance == pytest.approx(0.5)  # capped at 1
    # A large effect on few users ranks below a moderate effect on everyone.
    niche, broad = _f("niche", effect=1.0, reach=0.02), _f("broad", effect=0.2, reach=1.0)
    assert [f.kind for f in rank([niche, broad])] == ["broad", "niche"]


@pytest.mark.parametrize("bad", [{"effect": -1}, {"reach": math.nan}, {"conf": 1.5}])
def test_invalid_scores_are_refused(bad):
    with pytest.raises(ValueError):
        _f(**bad)


def test_confidence_rule():
    assert confidence(low=1.1, high=1.4, threshold=1.0) == 1.0
    assert confidence(low=0.1, high=0.4, threshold=1.0) == 1.0
    assert confidence(low=0.9, high=1.4, threshold=1.0) == 0.0  # interval includes threshold
    assert confidence(p_value=0.03) == pytest.approx(0.97)
    assert confidence() == 0.5
    assert confidence(low=math.nan, high=1.0, threshold=0.0) == 0.5


@pytest.mark.parametrize(
    ("low", "high", "threshold", "verdict"),
    [
        (1.05, 1.3, 1.0, "above"),
        (0.2, 0.9, 1.0, "below"),
        (0.9, 1.1, 1.0, "includes"),
        (1.0, 1.2, 1.0, "includes"),  # touching the threshold supports no claim
        (-0.02, 0.03, 0.0, "includes"),
        (math.nan, 0.3, 0.0, "includes"),
    ],
)
def test_interval_verdict(low, high, threshold, verdict):
    assert stats.interval_verdict(low, high, threshold) == verdict


def test_intervals_overlap():
    assert stats.intervals_overlap(0, 1, 0.5, 2)
    assert not stats.intervals_overlap(0, 1, 1.5, 2)
    assert stats.intervals_overlap(0, 1, math.nan, 2)


def test_records_round_trip_through_json():
    f = _f(
        subject="<b>camp</b>",
        evidence=(Evidence("k_factor", 1.2, 1.1, 1.3),),
        action_en="do",
        action_zh="做",
    )
    back = from_records(json.loads(json.dumps([f.to_record(), {"junk": 1}])))
    assert back == [f]


def test_findings_html_escapes_and_picks_the_language():
    f = _f(
        en="Campaign <script>x</script> is viral",
        zh="活动 <b>x</b> 具备病毒式传播",
        action_en="Fund it",
        action_zh="加大投入",
    )
    page = report.findings_html([f], "zh")
    assert (
        rhtml.active_content(page) == [] and "&lt;b&gt;x&lt;/b&gt;" in page and "加大投入" in page
    )
    assert "&lt;script&gt;" in report.findings_html([f], "en")
    assert report.findings_html([], "en") == ""


def test_summary_ranks_findings_across_sections(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    monkeypatch.setenv(report.notebook.METRICS_ENV, str(path))
    report.record_findings([_f("small", effect=0.1)], namespace="02_referral")
    report.record_findings([_f("big", effect=0.9)], namespace="05_monitoring")
    current = summary.load_metrics(path)
    ranked = summary.front_findings(current)
    assert [(section, f.kind) for section, f in ranked] == [
        ("05_monitoring", "big"),
        ("02_referral", "small"),
    ]
    assert [f.kind for _, f in summary.front_findings(current, n=1)] == ["big"]
    # Findings are records, not numbers: the headline comparison leaves them out.
    assert "findings" not in set(summary.compare(current)["name"])


def test_recent_alerts_are_the_last_n_complete_local_days():
    from growthlab.report import summary

    days = pd.date_range("2025-06-20", "2025-06-30", freq="D")
    table = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "metric": "new_users"})
    # as_of at local midnight: 06-30 is the last complete day, so 7 days = 06-24 .. 06-30
    got = summary.recent_alerts(table, pd.Timestamp("2025-07-01 00:00"), days=7)
    assert got["date"].tolist() == [f"2025-06-{d}" for d in range(24, 31)]
    # mid-day: that day is not complete (the monitoring series end the day before)
    got = summary.recent_alerts(table, pd.Timestamp("2025-06-30 15:00"), days=7)
    assert got["date"].tolist() == [f"2025-06-{d}" for d in range(23, 30)]
    assert summary.recent_alerts(table, None).equals(table)
