"""Funnel, retention and reach-timing findings (growthlab.findings.funnel) on hand-made results."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from growthlab import funnel as F
from growthlab.findings import POINT_ESTIMATE_CONFIDENCE
from growthlab.findings import funnel as FF


def _drop(**kw) -> F.DropOff:
    base = dict(
        from_step="add_to_cart",
        to_step="purchase",
        drop_off=0.75,
        low=0.74,
        high=0.76,
        lost_users=750,
        from_users=1000,
        first_users=4000,
        runner_up_low=0.48,
        runner_up_high=0.52,
    )
    return F.DropOff(**{**base, **kw})


def test_largest_drop_names_the_step_and_its_share_of_the_funnel():
    [f] = FF.largest_drop(_drop(), window_days=30)
    assert f.section == "funnel" and f.kind == "funnel_largest_drop_off"
    assert "add to cart" in f.en and "75.0 %" in f.en and "750" in f.en and "30 days" in f.en
    assert "加购" in f.zh and "add to cart → purchase" in f.action_en
    assert f.effect == 0.75 and f.reach == pytest.approx(0.25) and f.confidence == 1.0


def test_largest_drop_confidence_when_it_is_not_measurably_the_largest():
    [f] = FF.largest_drop(_drop(runner_up_low=0.70, runner_up_high=0.745), window_days=7)
    assert f.confidence == POINT_ESTIMATE_CONFIDENCE
    [g] = FF.largest_drop(_drop(runner_up_low=math.nan, runner_up_high=math.nan), window_days=7)
    assert g.confidence == POINT_ESTIMATE_CONFIDENCE
    assert FF.largest_drop(_drop(drop_off=0.0), window_days=7) == []


def _groups(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=[
            "channel",
            "started",
            "completed",
            "completion",
            "low",
            "high",
            "weakest_from",
            "weakest_to",
            "weakest_drop_off",
        ],
    )


def test_segment_completion_best_and_worst_outside_the_overall_rate():
    table = _groups(
        [
            ("referral", 8000, 900, 0.113, 0.106, 0.120, "add_to_cart", "purchase", 0.74),
            ("search", 1000, 90, 0.09, 0.07, 0.11, "add_to_cart", "purchase", 0.72),
            ("ads", 1500, 110, 0.073, 0.065, 0.082, "visit", "add_to_cart", 0.6),
            ("xhs", 1100, 80, 0.072, 0.060, 0.090, "add_to_cart", "purchase", 0.79),
            ("(suppressed)", 30, None, None, None, None, "(suppressed)", "(suppressed)", None),
        ]
    )
    best, worst = FF.segment_completion(table, 0.096, by="channel")
    assert (best.kind, best.subject) == ("funnel_group_best", "referral")
    assert (worst.kind, worst.subject) == ("funnel_group_worst", "xhs")  # lowest of the "below"
    assert "channel Referral" in best.en and "渠道「邀请裂变」" in best.zh  # display names
    assert "xhs" in worst.en  # a name from the data (no display name) stays as it is
    assert (
        "add to cart → purchase (79.0 %)" in worst.en
        and "add to cart → purchase" in worst.action_en
    )
    assert best.effect == pytest.approx((0.113 - 0.096) / 0.096)
    assert best.reach == pytest.approx(8000 / 11630) and best.confidence == 1.0


def test_no_segment_finding_when_every_interval_includes_the_overall_rate():
    table = _groups(
        [
            ("a", 500, 50, 0.10, 0.08, 0.13, "visit", "purchase", 0.5),
            ("b", 500, 45, 0.09, 0.07, 0.12, "visit", "purchase", 0.5),
        ]
    )
    assert FF.segment_completion(table, 0.095, by="channel") == []


def _contrast(a, alo, ahi, b, blo, bhi) -> F.RetentionContrast:
    return F.RetentionContrast(
        4, "referral_channel", "other_channels", a, alo, ahi, 400, b, blo, bhi, 600
    )


def test_acquisition_retention_says_which_group_stays_longer():
    [f] = FF.acquisition_retention(_contrast(0.6, 0.55, 0.65, 0.7, 0.68, 0.72), unit="W")
    assert f.kind == "retention_referral_channel_lower" and "leave sooner" in f.en
    assert "week 4" in f.en and "第 4 周" in f.zh
    assert f.effect == pytest.approx(0.1 / 0.7) and f.reach == pytest.approx(0.4)
    [g] = FF.acquisition_retention(_contrast(0.8, 0.75, 0.85, 0.7, 0.68, 0.72), unit="M")
    assert g.kind == "retention_referral_channel_higher" and "month 4" in g.en


def test_no_retention_finding_when_the_intervals_overlap():
    assert (
        FF.acquisition_retention(_contrast(0.684, 0.670, 0.697, 0.682, 0.673, 0.691), unit="W")
        == []
    )


def _fatigue(rates) -> F.FatigueContrast:
    curve = pd.DataFrame(
        [
            {
                "contacts": k,
                "user_weeks": w,
                "responses_per_contact": r,
                "per_contact_low": lo,
                "per_contact_high": hi,
            }
            for k, w, r, lo, hi in rates
        ]
    )
    a, b = curve.iloc[0], curve.iloc[-1]
    return F.FatigueContrast(
        int(a["contacts"]), int(b["contacts"]),
        a["responses_per_contact"], a["per_contact_low"], a["per_contact_high"],
        b["responses_per_contact"], b["per_contact_low"], b["per_contact_high"],
        curve, curve.assign(channel="all"),
    )  # fmt: skip


def test_contact_fatigue_suggests_a_cap():
    fc = _fatigue(
        [
            (1, 600, 0.47, 0.46, 0.48),
            (2, 300, 0.46, 0.44, 0.475),  # still overlaps 1 contact
            (3, 80, 0.30, 0.27, 0.33),
            (4, 20, 0.11, 0.07, 0.16),
        ]
    )
    assert FF.fatigue_cap(fc) == 2
    [f] = FF.contact_fatigue(fc)
    assert f.kind == "contact_fatigue" and "once a week" in f.en and "4 or more" in f.en
    assert "Cap marketing contacts at 2" in f.action_en and "每人每周 2 次" in f.action_zh
    assert f.effect == pytest.approx(1 - 0.11 / 0.47) and f.reach == pytest.approx(0.1)


def test_no_fatigue_finding_when_the_intervals_overlap_or_rates_rise():
    overlap = _fatigue([(1, 100, 0.4, 0.3, 0.5), (3, 50, 0.35, 0.25, 0.45)])
    assert FF.contact_fatigue(overlap) == []
    rising = _fatigue([(1, 100, 0.2, 0.18, 0.22), (3, 50, 0.4, 0.35, 0.45)])
    assert FF.contact_fatigue(rising) == []


def test_peak_hour_only_when_the_hour_stands_out():
    peak = F.PeakTime(5, 21, 21, 3, 0.09, 0.088, 0.091, 250_000)
    [f] = FF.peak_hour(peak, timezone="Asia/Shanghai")
    assert f.subject == "21:00" and "Saturday 21:00" in f.en and "周六" in f.zh
    assert "20:00" in f.action_en and f.effect == 1.0 and f.reach == pytest.approx(0.09)
    flat = F.PeakTime(0, 9, 9, 3, 0.05, 0.03, 0.07, 100)  # interval includes 1/24
    assert FF.peak_hour(flat, timezone="UTC") == []


def test_names_fields_and_sentences():
    assert FF.step_name("add_to_cart", "zh") == "加购" and FF.step_name("custom") == "custom"
    assert FF.period_fields(4, "W") == {"period": "week 4", "period_zh": "第 4 周"}
    done = F.Completion("signup", "purchase", 100, 10, 0.1, 0.05, 0.17)
    say = FF.completion_text(done, "zh", window_days=30)
    assert say["first"] == "注册" and say["conv"] == "10.0 %" and "{conv}" in say["zh"]
    assert set(FF.skipped("no_events")) == {"en", "zh"}
