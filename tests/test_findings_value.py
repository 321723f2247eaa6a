"""Findings and sentences of the segments and value section, on hand-made inputs."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from growthlab import segments
from growthlab.findings import Finding
from growthlab.findings import value as fv
from growthlab.report import sentence_html
from growthlab.value import GroupDifference, HoldoutCheck


def holdout(error, low, high) -> HoldoutCheck:
    return HoldoutCheck(
        customers=1000,
        predicted=1000 * (1 + error),
        actual=1000.0,
        error=error,
        error_low=low,
        error_high=high,
        holdout=60.0,
    )


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    f = findings[0]
    assert f.section == "value" and f.en and f.zh and f.action_en and f.action_zh
    assert re.search("[\u4e00-\u9fff]", f.zh) and not re.search("[\u4e00-\u9fff]", f.en)
    return f


# ------------------------------------------------------------------------ model calibration
def test_model_calibration_verdicts():
    ok = only(fv.model_calibration(holdout(-0.003, -0.03, 0.027), 60, tolerance=0.10))
    assert ok.kind == "clv_model_calibrated" and ok.subject == "BG/NBD"
    assert ok.effect == fv.CONFIRMATION_EFFECT and ok.confidence == 1.0
    assert "60" in ok.en and "−0.3 %" in ok.en and "10.0 %" in ok.en
    assert ok.evidence[0].metric == "holdout_error" and ok.evidence[0].low == -0.03
    over = only(fv.model_calibration(holdout(0.25, 0.18, 0.32), 60))
    assert over.kind == "clv_model_overpredicts" and over.effect == pytest.approx(0.25)
    assert "over-predicts" in over.en and "高估" in over.zh
    under = only(fv.model_calibration(holdout(-0.3, -0.4, -0.2), 60))
    assert under.kind == "clv_model_underpredicts"
    assert over.importance > ok.importance and under.importance > ok.importance


def test_model_calibration_no_finding_when_interval_includes_the_tolerance():
    assert fv.model_calibration(holdout(0.08, 0.02, 0.14), 60, tolerance=0.10) == []
    assert fv.model_calibration(holdout(-0.09, -0.15, -0.03), 60, tolerance=0.10) == []
    assert fv.model_calibration(holdout(0.0, -0.2, 0.2), 60, tolerance=0.10) == []
    assert fv.model_calibration(holdout(np.nan, np.nan, np.nan), 60) == []
    assert fv.model_calibration(None, 60) == []


# ------------------------------------------------------------------------ cluster stability
def clusters(mean, low, high, k=4):
    return SimpleNamespace(k=k, stability=mean, stability_min=low, stability_max=high)


def test_cluster_stability_verdicts():
    stable = only(fv.cluster_stability(clusters(0.97, 0.95, 1.0), threshold=0.8))
    assert stable.kind == "clusters_stable" and stable.effect == fv.CONFIRMATION_EFFECT
    assert "0.95 to 1.00" in stable.en
    unstable = only(fv.cluster_stability(clusters(0.4, 0.3, 0.5), threshold=0.8))
    assert unstable.kind == "clusters_unstable" and unstable.effect == pytest.approx(0.6)
    assert unstable.confidence == 1.0 and "不稳定" in unstable.zh


def test_cluster_stability_no_finding_when_range_includes_the_threshold():
    assert fv.cluster_stability(clusters(0.85, 0.7, 1.0), threshold=0.8) == []
    assert fv.cluster_stability(clusters(np.nan, np.nan, np.nan)) == []  # no re-runs
    assert fv.cluster_stability(None) == []


# ------------------------------------------------------------------- referred vs organic
def difference(d, low, high, mean_ref=1000.0, n=300, n_ref=700) -> GroupDifference:
    return GroupDifference(
        group="referred",
        reference="organic",
        n=n,
        n_reference=n_ref,
        mean=mean_ref + d,
        mean_reference=mean_ref,
        difference=d,
        low=low,
        high=high,
        p_value=0.01,
    )


def test_referred_vs_organic_verdicts():
    more = only(fv.referred_vs_organic(difference(200, 100, 300), 365, "CNY"))
    assert more.kind == "referred_worth_more" and more.subject == "referred"
    assert more.effect == pytest.approx(0.2) and more.reach == pytest.approx(0.3)
    assert "1,200.00 CNY" in more.en and "200.00 CNY more" in more.en and "365" in more.en
    less = only(fv.referred_vs_organic(difference(-150, -250, -50), 365, "CNY"))
    assert less.kind == "referred_worth_less" and "150.00 CNY less" in less.en
    assert less.evidence[0].metric == "clv_referred_minus_organic"


def test_referred_vs_organic_no_finding_when_interval_includes_zero():
    assert fv.referred_vs_organic(difference(14.5, -54.3, 83.3), 365) == []
    assert fv.referred_vs_organic(difference(np.nan, np.nan, np.nan), 365) == []
    assert fv.referred_vs_organic(None, 365) == []


# ------------------------------------------------------------------------------- channels
def test_channel_value_names_the_channels_that_differ():
    table = pd.DataFrame(
        {
            "group": ["wecom", "sms", "douyin", "unknown", segments.SUPPRESSED],
            "users": [200, 300, 500, 100, 50],
            "mean": [1500.0, 1000.0, 800.0, 2000.0, np.nan],
            "rest_mean": [1000.0, 1000.0, 1100.0, 900.0, np.nan],
            "difference": [500.0, 0.0, -300.0, 1100.0, np.nan],
            "low": [100.0, -50.0, -400.0, 500.0, np.nan],
            "high": [900.0, 50.0, -200.0, 1700.0, np.nan],
            "p_value": [0.001, 1.0, 0.001, 0.001, np.nan],
        }
    )
    found = fv.channel_value(table, 365, "CNY")
    assert [(f.kind, f.subject) for f in found] == [
        ("channel_worth_more", "wecom"),
        ("channel_worth_less", "douyin"),
    ]  # sms includes 0; unknown and the pooled row are not named
    assert found[0].effect == pytest.approx(0.5) and found[0].reach == pytest.approx(200 / 1150)
    assert "WeCom 1:1" in found[0].en and "budget toward WeCom 1:1" in found[0].action_en
    assert "企业微信" in found[0].zh and "wecom" not in found[0].zh  # display names
    assert fv.channel_value(table.iloc[[1]], 365) == []
    assert fv.channel_value(pd.DataFrame(columns=table.columns), 365) == []


# ------------------------------------------------------------------ value concentration
def tiers(high_users, high_value):
    return pd.DataFrame(
        {
            "group": ["high", "medium", "potential", "low"],
            "users": [300, 300, 100, 300],
            "user_share": [high_users, 0.3, 0.1, 0.6 - high_users],
            "value_share": [high_value, 0.1, 0.05, 0.85 - high_value],
        }
    )


def test_value_concentration():
    f = only(fv.value_concentration(tiers(0.3, 0.72)))
    assert f.kind == "value_concentrated" and f.subject == "high"
    assert f.effect == pytest.approx(0.42) and f.reach == pytest.approx(0.72)
    assert f.confidence == 0.5
    assert "30.0 %" in f.en and "72.0 %" in f.en and "2.4 times" in f.en
    assert "高价值用户" in f.zh
    assert fv.value_concentration(tiers(0.3, 0.4)) == []  # 1.33 × its share: below 1.5
    assert fv.value_concentration(tiers(0.0, 0.0)) == []


# ---------------------------------------------------------------------- at-risk buyers
def test_high_value_at_risk_asks_for_a_win_back():
    table = pd.DataFrame(
        {
            "tier": ["high", "medium", "potential", "low"],
            "buyers": [1000, 800, 500, 700],
            "at_risk": [120, 8, 60, 90],
            "at_risk_share": [0.12, 0.01, 0.12, 0.13],
            "at_risk_revenue": [5000.0, 100.0, 300.0, 200.0],
            "at_risk_revenue_share": [0.05, 0.001, 0.003, 0.002],
        }
    )
    found = fv.high_value_at_risk(table, 60, 90, min_group_size=10)
    f = only(found)  # medium has 8 < 10 at risk; potential and low are not asked for
    assert f.kind == "valuable_buyers_at_risk" and f.subject == "high"
    assert "120 high value buyers" in f.en and "60 to 90 days" in f.en
    assert "Win these 120 buyers back" in f.action_en and "召回" in f.action_zh
    assert f.effect == 1.0 and f.reach == pytest.approx(0.05) and f.confidence == 0.5
    assert fv.high_value_at_risk(table, 60, 90, min_group_size=200) == []
    assert len(fv.high_value_at_risk(table, 60, 90, 5, tiers=("high", "medium"))) == 2


# ------------------------------------------------------------------------------ sentences
def _rfm_summary():
    rng = np.random.default_rng(3)
    rfm = pd.DataFrame(
        {
            "recency_days": rng.exponential(40, 300),
            "frequency": rng.geometric(0.4, 300),
            "monetary": rng.gamma(2, 100, 300),
        }
    )
    return segments.rfm_summary(rfm, users=1000)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sentences_fill_every_placeholder(lang):
    rfm = _rfm_summary()
    act = pd.DataFrame(
        {
            "signup_at": [pd.Timestamp("2024-01-01")] * 3,
            "last_active": pd.to_datetime(["2024-06-29", "2024-04-20", "2024-01-02"]),
            "previous_active": [pd.NaT] * 3,
        }
    )
    life = segments.lifecycle_summary(act, pd.Timestamp("2024-06-30"))
    ltv = SimpleNamespace(
        holdout=holdout(-0.003, -0.03, 0.027),
        calibration_customers=5269,
        calibration_end=pd.Timestamp("2025-05-01"),
        holdout_days=60.0,
        buyers=9402,
        total=10_660_907.3,
        horizon_days=365.0,
        mean=1133.9,
        top10_share=0.41,
        p_alive_mean=0.756,
    )
    sentences = [
        fv.data_sentence(pd.Timestamp("2025-06-30"), "Asia/Shanghai", "CNY"),
        fv.rfm_sentence(rfm, lang),
        fv.tier_sentence(rfm, lang),
        fv.lifecycle_sentence(life, lang),
        fv.cluster_sentence(
            SimpleNamespace(
                k=4, silhouette=0.34, silhouette_users=5000, stability=1.0, stability_min=1.0
            ),
            lang,
        ),
        fv.holdout_sentence(ltv, lang),
        fv.clv_sentence(ltv, "CNY", lang),
        fv.referral_sentence(difference(14.5, -54.3, 83.3), "CNY", lang),
        *(fv.note(k) for k in fv.NOTES),
    ]
    for s in sentences:
        html = sentence_html(lang, **s)
        assert "{" not in html and "GLVALUE" not in html, html
    text = sentence_html(lang, **fv.clv_sentence(ltv, "CNY", lang))
    assert "10,660,907 CNY" in text and "1,133.90 CNY" in text and "41.0 %" in text
    holdout_text = sentence_html(lang, **fv.holdout_sentence(ltv, lang))
    assert "5,269" in holdout_text and "−0.3 %" in holdout_text and "+2.7 %" in holdout_text
    nobody = difference(np.nan, np.nan, np.nan, n=0)
    assert fv.referral_sentence(nobody, "CNY", lang) == fv.note("no_referral_comparison")
    largest = segments.group_label(rfm.largest_segment, lang, "rfm")
    assert largest in sentence_html(lang, **fv.rfm_sentence(rfm, lang))


def test_bgnbd_numbers_use_the_catalogue_ids():
    from types import SimpleNamespace

    from growthlab import metrics
    from growthlab.findings.value import bgnbd_numbers

    ltv = SimpleNamespace(bgnbd={"r": 0.2, "rate_scale": 4.4, "a": 0.8, "b": 2.4})
    numbers = bgnbd_numbers(ltv)
    assert numbers == {"bgnbd_r": 0.2, "bgnbd_alpha": 4.4, "bgnbd_a": 0.8, "bgnbd_b": 2.4}
    assert all(metrics.get(k) for k in numbers)
