"""Referral findings (growthlab.findings.referral): every verdict on hand-made inputs, including
"no finding when the interval includes the threshold", and the page's sections on a small
synthetic source (catalogued numbers, readable tables, sentences that fill)."""

from __future__ import annotations

import re
import string

import numpy as np
import pandas as pd
import pytest

from growthlab import i18n, metrics, privacy, referral, referral_abuse, referral_outcomes
from growthlab.data import referral as dref
from growthlab.findings import referral as rf
from growthlab.referral import ForestSummary


def _fs(users=1000, referred=400) -> ForestSummary:
    return ForestSummary(users, referred, 50, 5, {"self_referral": 0})


# ------------------------------------------------------------------ campaigns (K vs 1)
def _k(rows):
    return pd.DataFrame(rows, columns=["campaign_id", "users", "invitees", "k", "k_low", "k_high"])


def test_campaign_verdicts_follow_the_interval_against_one():
    k = _k(
        [
            ("viral", 200, 260, 1.3, 1.1, 1.5),
            ("near", 100, 95, 0.95, 0.7, 1.2),
            ("touching", 100, 110, 1.1, 1.0, 1.2),  # low == 1: includes 1, no claim
            ("slow", 300, 120, 0.4, 0.3, 0.5),
        ]
    )
    found = rf.campaign_findings(k, eligible_users=1000, window_days=30)
    assert [(f.subject, f.kind) for f in found] == [
        ("viral", "campaign_self_sustaining"),
        ("slow", "campaign_sub_critical"),
    ]
    viral, slow = found
    assert viral.effect == pytest.approx(0.3) and viral.reach == pytest.approx(0.2)
    assert slow.effect == pytest.approx(0.6) and slow.reach == pytest.approx(0.3)
    assert viral.confidence == slow.confidence == 1.0
    assert "1.30 [1.10, 1.50]" in viral.en and "1.30" in viral.zh
    assert viral.action_en and slow.action_zh
    assert viral.evidence[0].metric == "k_factor"


def test_no_campaign_finding_when_every_interval_includes_one():
    k = _k([("a", 50, 50, 1.0, 0.6, 1.4), ("b", 50, 40, 0.8, np.nan, np.nan)])
    assert rf.campaign_findings(k, 100) == []


def test_campaign_section_counts_self_sustaining_campaigns():
    k = _k([("viral", 200, 260, 1.3, 1.1, 1.5), ("near", 100, 95, 0.95, 0.7, 1.2)])
    k["verdict"] = ["above", "includes"]
    k_all = pd.DataFrame({"users": [1000], "invitees": [500], "k": [0.5]})
    sec = rf.campaign_section(k, k_all, 30, "zh")
    assert sec.numbers["campaigns_viral"] == 1
    assert sec.numbers["k_by_campaign"] == {"viral": 1.3, "near": 0.95}
    assert list(sec.tables["k"]["k_verdict"]) == [
        i18n.t("verdict.k.above", "zh"),
        i18n.t("verdict.k.includes", "zh"),
    ]


# ------------------------------------------------------------------ share channels
def _share(rows):
    return pd.DataFrame(
        rows, columns=["share_channel", "users", "invitees", "k", "k_low", "k_high"]
    )


def test_best_share_channel_needs_an_interval_above_the_runner_up():
    k = _share(
        [
            ("wechat_group", 1000, 200, 0.20, 0.18, 0.22),
            ("moments", 1000, 100, 0.10, 0.08, 0.12),
            ("sms", 1000, 20, 0.02, 0.01, 0.03),
        ]
    )
    (f,) = rf.share_channel_findings(k, k_overall=0.32)
    assert f.kind == "best_share_channel" and f.subject == "wechat_group"
    assert f.effect == pytest.approx(0.5) and f.reach == pytest.approx(0.2 / 0.32)
    assert i18n.maybe("channel.moments", "en", "moments") in f.en and f.confidence == 1.0
    assert f.en.startswith("The most productive share channel is ")


def test_no_best_share_channel_when_intervals_overlap_or_one_channel():
    overlap = _share(
        [("wechat_group", 1000, 200, 0.20, 0.15, 0.25), ("moments", 1000, 180, 0.18, 0.14, 0.22)]
    )
    assert rf.share_channel_findings(overlap, 0.4) == []
    assert rf.share_channel_findings(overlap.head(1), 0.4) == []
    pooled = _share([("(suppressed)", 1000, 30, np.nan, np.nan, np.nan)])
    assert rf.share_channel_findings(pd.concat([overlap.head(1), pooled]), 0.4) == []


# ------------------------------------------------------------------ spreaders
def test_concentration_verdict_and_caution():
    conc = {"n": 100, "total": 300, "top_1pct": 0.2, "top_10pct": 0.6, "gini": 0.7}
    (f,) = rf.concentration_findings(conc, 0.4)
    assert f.kind == "spreaders_concentrated"
    assert f.effect == pytest.approx((0.6 - 0.1) / 0.9) and f.reach == 0.4
    assert f.confidence == 0.5  # point estimates
    spread = dict(conc, top_10pct=0.2, top_1pct=0.03, gini=0.2)
    (g,) = rf.concentration_findings(
        spread, 0.4, flagged_in_top=3, top_n=15, top10_without_flagged=0.18
    )
    assert g.kind == "spreaders_spread_out"
    assert "3 of the top 15 spreaders look fraud-like" in g.en and "18.0 %" in g.en
    assert "疑似作弊" in g.zh
    assert rf.concentration_findings({"n": 0}, 0.4) == []


# ------------------------------------------------------------------ abuse
def test_fraud_finding_holds_rewards_only_when_someone_is_fraud_like():
    none = {
        "suspicious": 2,
        "fraud_like": 0,
        "fraud_like_invitees": 0,
        "fraud_like_invitees_share": 0.0,
    }
    assert rf.fraud_findings(none) == []
    some = dict(none, fraud_like=3, fraud_like_invitees=40, fraud_like_invitees_share=0.04)
    (f,) = rf.fraud_findings(some)
    assert f.kind == "fraud_like_inviters" and f.reach == 0.04 and f.effect == 1.0
    assert "Hold their rewards" in f.action_en and "暂停发放" in f.action_zh
    assert "3 inviters" in f.en and "40 invitees" in f.en


# ------------------------------------------------------------------ referred vs not referred
def _rvo(conv_diff, value_diff):
    rows = []
    for metric, (ref, org), (d, lo, hi) in (
        ("conversion", (0.40, 0.50), conv_diff),
        ("value_per_user", (150.0, 200.0), value_diff),
    ):
        rows += [
            (metric, "referred", 500, ref, ref - 0.01, ref + 0.01, np.nan),
            (metric, "organic", 500, org, org - 0.01, org + 0.01, np.nan),
            (metric, "difference", 1000, d, lo, hi, 0.001),
        ]
    return pd.DataFrame(
        rows, columns=["metric", "group", "users", "value", "low", "high", "p_value"]
    )


def test_outcome_verdicts_higher_lower_and_none_when_the_interval_includes_zero():
    found = rf.outcome_findings(_rvo((-0.1, -0.15, -0.05), (-50.0, -70.0, -30.0)), 0.4, "CNY")
    assert [f.kind for f in found] == ["referred_converts_less", "referred_value_lower"]
    conv, value = found
    assert conv.effect == pytest.approx(0.2) and conv.reach == 0.4 and conv.confidence == 1.0
    assert "-10.0 pp [-15.0, -5.0]" in conv.en
    assert value.effect == pytest.approx(0.25) and "CNY" in value.en
    higher = rf.outcome_findings(_rvo((0.1, 0.05, 0.15), (20.0, -5.0, 45.0)), 0.4)
    assert [f.kind for f in higher] == ["referred_converts_more"]  # value interval includes 0


def test_outcome_table_is_readable_and_suppresses_small_groups():
    rvo = _rvo((-0.1, -0.15, -0.05), (-50.0, -70.0, -30.0))
    rvo.loc[(rvo["metric"] == "conversion") & (rvo["group"] == "referred"), "users"] = 3
    t = rf.outcome_table(rvo, min_group_size=10, currency="CNY", lang="en")
    conv = t.iloc[0]
    assert conv["referred_value"] == "—" and conv["referred_minus_not"] == "—"
    assert t.iloc[1]["difference_p_value"] == "0.001"
    assert t.iloc[1]["outcome"] == "Paid revenue per user (CNY)"


# ------------------------------------------------------------------ invite funnel
def _funnel(rates, notes=None):
    steps = ["invite_sent", "invite_click", "signup", "first_paid_order"][: len(rates)]
    d = pd.DataFrame({"step": steps, "count": 100, "step_rate": rates})
    d["step_low"] = d["step_rate"] - 0.02
    d["step_high"] = d["step_rate"] + 0.02
    d["overall_rate"] = 1.0
    d["note"] = notes or [""] * len(rates)
    return d


def test_largest_drop_is_the_lowest_measured_step_clear_of_the_others():
    (f,) = rf.funnel_findings(_funnel([np.nan, 0.3, np.nan, 0.5], ["", "", "x", ""]), 0.4)
    assert f.kind == "invite_funnel_drop" and f.subject == "invite_click"
    assert f.effect == pytest.approx(0.7) and f.confidence == 1.0
    assert "invitations sent" in f.en and "never clicked" in f.action_en


def test_no_largest_drop_when_intervals_overlap_or_one_step_is_measured():
    assert rf.funnel_findings(_funnel([np.nan, 0.30, 0.32, 0.5]), 0.4) == []
    assert rf.funnel_findings(_funnel([np.nan, 0.3, np.nan]), 0.4) == []


def test_funnel_section_records_invite_to_paid_only_from_invitations_sent():
    counts = pd.DataFrame({"step": ["signup", "first_paid_order"], "count": [100, 40]})
    sec = rf.funnel_section(referral_outcomes.invite_funnel(counts), _fs(), "en")
    assert "invite_to_paid" not in sec.numbers
    counts = {"invite_sent": 400, "invite_click": 100, "signup": 100, "first_paid_order": 40}
    sec = rf.funnel_section(referral_outcomes.invite_funnel(counts), _fs(), "en")
    assert sec.numbers["invite_to_paid"] == pytest.approx(0.1)


# ------------------------------------------------------------------ the page on a synthetic source
@pytest.fixture(scope="module")
def page():
    from growthlab.data import synth

    ds = synth.generate(1500, seed=3)
    users = ds.frame("users")
    fo = referral.forest(ds.frame("referrals"), users)
    fs = referral.forest_summary(fo, users, ds.quality.quarantine)
    activity = dref.user_activity(ds)
    as_of, w, mg = ds.as_of, 30, 10
    k_all = referral.k_factor(users, fo, window_days=w, as_of=as_of)
    cas = referral.cascades(fo)
    out = {}
    for lang in ("en", "zh"):
        sus = referral_abuse.suspicious_inviters(fo, ds.persons, activity, lang=lang)
        kd = referral.k_decomposition(users, fo, dref.invites_sent(ds, w), w, as_of=as_of)
        fun = referral_outcomes.invite_funnel(dref.invite_funnel_counts(ds))
        rvo = referral_outcomes.referred_vs_organic(activity, as_of=as_of)
        pseudo = privacy.pseudonymise
        out[lang] = [
            rf.forest_section(fs, lang),
            rf.k_section(k_all, w, lang),
            rf.campaign_section(referral.k_by_campaign(users, fo, w, as_of, mg), k_all, w, lang),
            rf.share_channel_section(
                referral.k_by_share_channel(users, fo, w, as_of), k_all, mg, lang
            ),
            rf.week_section(referral.k_by_signup_week(users, fo, w, as_of, mg), lang),
            rf.decomposition_section(kd, lang),
            rf.generation_section(referral.generation_summary(fo, users, w, as_of, mg), mg, lang),
            rf.cascade_section(cas, 5, pseudo, lang),
            rf.cycle_time_section(referral.cycle_time(users, fo), lang),
            rf.spreader_section(referral.spreaders(fo), sus, fs, 5, pseudo, lang),
            rf.funnel_section(fun, fs, lang),
            rf.abuse_section(sus, fs, 5, pseudo, lang),
            rf.outcome_section(rvo, fs, mg, ds.currency, lang),
        ]
    return out


def test_recorded_numbers_are_catalogued_and_agree_between_languages(page):
    en, zh = rf.key_numbers(page["en"]), rf.key_numbers(page["zh"])
    assert en == zh
    for metric_id in en:
        metrics.get(metric_id)  # KeyError if not catalogued
    assert {"k_factor", "referred_users", "still_active_day30_referred"} <= set(en)


def test_sentences_fill_in_both_languages(page):
    for lang in ("en", "zh"):
        for sec in page[lang]:
            if sec.sentence is None:
                continue
            fields = sec.say
            for template in (fields["en"], fields["zh"]):
                names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
                assert names <= set(sec.text), (sec.sentence, names - set(sec.text))


def test_tables_have_readable_headers_and_cells(page):
    bad = re.compile(r"^(nan|NaN|NaT|None|True|False|<NA>|n/a)$")
    for lang in ("en", "zh"):
        for sec in page[lang]:
            for name, table in sec.tables.items():
                assert len(table), name
                for col in table.columns:
                    assert f"column.{col}" in i18n.TEXT, (name, col)
                cells = table.astype(str).to_numpy().ravel()
                assert not any(bad.match(c) for c in cells), (name, table)
                assert table.index.equals(pd.RangeIndex(len(table)))


def test_findings_are_in_the_referral_section_with_actions(page):
    found = rf.all_findings(page["en"])
    assert found and all(f.section == "referral" for f in found)
    assert all(f.action_en and f.action_zh for f in found)
    assert all(f.en != f.zh for f in found)


def test_skipped_notes_have_both_languages():
    for reason in ("no_referrals", "no_invites"):
        note = rf.skipped(reason)
        assert set(note) == {"en", "zh"} and note["en"] != note["zh"]
