"""Campaign-economics findings, tables and chart (growthlab.findings.campaigns,
growthlab.plots.campaigns): verdicts through stats.interval_verdict, no finding when the interval
includes the threshold, words from i18n, numbers from the metric catalogue."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from growthlab import campaigns, i18n, metrics, referral, referral_abuse, value  # noqa: E402
from growthlab.data import campaigns as dc  # noqa: E402
from growthlab.data import synth  # noqa: E402
from growthlab.findings import campaigns as cf  # noqa: E402
from growthlab.findings import referral as rfind  # noqa: E402
from growthlab.plots import campaigns as cplots  # noqa: E402


def _econ(rows: list[dict], target_roi: float = 0.0, abuse: dict | None = None):
    """A CampaignEconomics from hand-made rows (the columns the findings read)."""
    base = {
        "cascades": 40, "invitations": 100, "invitees": 100, "buyers": 50, "reward": 100.0,
        "other_spend": 0.0, "abuse_cost": 0.0, "revenue": 500.0, "value": 900.0,
        "cost_per_invitee": 1.0, "cost_per_invitee_low": 1.0, "cost_per_invitee_high": 1.0,
        "cost_per_buyer": 2.0, "cost_per_buyer_low": 1.8, "cost_per_buyer_high": 2.2,
        "roi_to_date": 4.0, "roi_to_date_low": 3.0, "roi_to_date_high": 5.0,
        "roi_predicted": 8.0, "roi_predicted_low": 6.0, "roi_predicted_high": 10.0,
        "ltv_cac": 9.0, "ltv_cac_low": 7.0, "ltv_cac_high": 11.0, "rankable": True,
        "payback_days": 5.0, "observed_days": 90, "revenue_per_invitee_30d": 3.0,
        "cohort_start": pd.Timestamp("2025-05-01"), "cohort_end": pd.Timestamp("2025-05-29"),
        "cohort_invitations": 30, "cohort_cascades": 20, "marginal_rankable": True,
    }  # fmt: skip
    table = pd.DataFrame([{**base, **r} for r in rows])
    table["rank"] = table["marginal_roi"].where(table["marginal_rankable"]).rank(ascending=False)
    abuse = abuse or {}
    costs = pd.DataFrame(
        {
            "campaign_id": table["campaign_id"],
            "invitations": table["invitations"],
            "reward": table["reward"],
            "spend": table["cost"],
            "cost": table["cost"],
            "other_spend": 0.0,
            "abuse_invitations": [abuse.get(c, (0, 0.0))[0] for c in table["campaign_id"]],
            "abuse_cost": [abuse.get(c, (0, 0.0))[1] for c in table["campaign_id"]],
        }
    )
    costs["abuse_share"] = costs["abuse_cost"] / costs["reward"]
    totals = {
        "reward": float(costs["reward"].sum()),
        "campaign_spend": float(costs["spend"].sum()),
        "cost": float(costs["cost"].sum()),
        "abuse_cost": float(costs["abuse_cost"].sum()),
        "unassigned_spend": 0.0,
        "revenue": float(table["revenue"].sum()),
        "value": float(table["value"].sum()),
        "invitees": int(table["invitees"].sum()),
        "abuse_share": float(costs["abuse_cost"].sum() / costs["reward"].sum()),
        "roi_to_date": 4.0,
        "ltv_cac": 9.0,
    }
    return campaigns.CampaignEconomics(
        table, costs, pd.DataFrame(), totals, {"target_roi": target_roi}
    )


ROWS = [
    # clearly above 0: scale
    {"campaign_id": "up", "cost": 300.0, "marginal_roi": 1.2, "marginal_roi_low": 0.5,
     "marginal_roi_high": 2.0, "verdict": "scale"},
    # clearly below 0: stop
    {"campaign_id": "down", "cost": 100.0, "marginal_roi": -0.5, "marginal_roi_low": -0.8,
     "marginal_roi_high": -0.2, "verdict": "stop"},
    # the interval includes 0: hold, no finding
    {"campaign_id": "flat", "cost": 100.0, "marginal_roi": 0.1, "marginal_roi_low": -0.1,
     "marginal_roi_high": 0.4, "verdict": "hold"},
    # too few cascades: not enough data, no finding even though the interval is above 0
    {"campaign_id": "tiny", "cost": 500.0, "marginal_roi": 3.0, "marginal_roi_low": 1.0,
     "marginal_roi_high": 9.0, "verdict": "not_enough_data", "marginal_rankable": False},
]  # fmt: skip


def test_scale_and_stop_follow_the_interval_verdict():
    found = {f.subject: f for f in cf.verdict_findings(_econ(ROWS))}
    assert set(found) == {"up", "down"}
    up, down = found["up"], found["down"]
    assert up.kind == "campaign_scale" and down.kind == "campaign_stop"
    assert up.confidence == 1.0 and down.confidence == 1.0
    assert up.effect == 1.0 and down.effect == pytest.approx(0.5)
    assert up.reach == pytest.approx(300 / 1000) and down.reach == pytest.approx(0.1)
    assert up.importance == pytest.approx(0.3)
    assert "ranks 1 of 3" in up.en and "第 1" in up.zh
    assert "2025-05-01 to 2025-05-29" in up.en
    ev = up.evidence[0]
    assert (ev.metric, ev.value, ev.low, ev.high) == ("campaign_marginal_roi", 1.2, 0.5, 2.0)
    for f in found.values():
        assert f.section == "referral" and f.action_en and f.action_zh


def test_cohort_dates_are_local_dates():
    """The cohort's instants are naive UTC: 2025-05-29 18:00 UTC is 05-30 in Shanghai."""
    rows = [{**ROWS[0], "cohort_start": pd.Timestamp("2025-05-01 18:00")}]
    rows[0]["cohort_end"] = pd.Timestamp("2025-05-29 18:00")
    econ = _econ(rows)
    (utc,) = cf.verdict_findings(econ)
    (local,) = cf.verdict_findings(econ, timezone="Asia/Shanghai")
    assert "2025-05-01 to 2025-05-29" in utc.en
    assert "2025-05-02 to 2025-05-30" in local.en and "2025-05-02" in local.zh
    table = cf.next_yuan_table(econ, 5, "en", timezone="Asia/Shanghai")
    assert table.iloc[0].tolist()[2] == "2025-05-02 – 2025-05-30"


def test_no_finding_when_the_interval_includes_the_threshold():
    # the same campaigns against a 100 % ROI target: "up" [50 %, 200 %] now includes it
    # (no finding), "flat" [-10 %, 40 %] lies below it
    found = cf.verdict_findings(_econ(ROWS, target_roi=1.0))
    assert [(f.subject, f.kind) for f in found] == [
        ("down", "campaign_stop"),
        ("flat", "campaign_stop"),
    ]
    assert cf.verdict_findings(_econ([ROWS[2]])) == []
    # a missing bound is no evidence either
    nan_row = {**ROWS[0], "marginal_roi_low": np.nan}
    assert cf.verdict_findings(_econ([nan_row])) == []


def test_abuse_cost_finding_per_campaign():
    econ = _econ(ROWS, abuse={"up": (12, 40.0)})
    found = cf.abuse_findings(econ, "CNY")
    assert len(found) == 1
    f = found[0]
    assert f.kind == "campaign_abuse_cost" and f.subject == "up"
    assert "40.00 CNY" in f.en and "40.0 %" in f.en and "12 invitations" in f.en
    assert "40.00 CNY" in f.zh
    assert f.confidence == 0.5 and f.effect == pytest.approx(0.4)
    assert f.reach == pytest.approx(40 / 1000)
    assert {e.metric for e in f.evidence} <= set(metrics.CATALOGUE)
    assert cf.abuse_findings(_econ(ROWS), "CNY") == []


def test_no_cost_means_no_numbers_tables_or_findings():
    econ = _econ(ROWS)
    econ = campaigns.CampaignEconomics(
        econ.table, econ.costs, econ.units, {**econ.totals, "cost": 0.0}, econ.params
    )
    sec = cf.economics_section(econ, 10, "CNY")
    assert sec.sentence == "no_cost" and not sec.numbers and not sec.findings
    assert set(sec.tables) == {"economics", "next_yuan"}
    assert all(t.empty for t in sec.tables.values())
    assert "skipped" in sec.say["en"] and "跳过" in sec.say["zh"]
    assert sec.chart.empty and cplots.return_per_yuan(sec.chart) is None


def test_no_orders_means_the_return_is_unknown_not_zero():
    econ = _econ(ROWS)
    econ = campaigns.CampaignEconomics(
        econ.table, econ.costs, econ.units, econ.totals, {**econ.params, "has_orders": False}
    )
    sec = cf.economics_section(econ, 10, "CNY")
    assert sec.sentence == "no_orders" and not sec.findings and sec.chart.empty
    assert "No orders" in sec.say["en"] and "没有订单" in sec.say["zh"]


# ------------------------------------------------------------------------------ on synthetic data


@pytest.fixture(scope="module")
def econ():
    ds = synth.generate(4000, seed=2)
    users = ds.frame("users")
    fo = referral.forest(ds.frame("referrals"), users)
    sus = referral_abuse.suspicious_inviters(fo, ds.persons, None)
    flagged = campaigns.flagged_inviters(sus)
    ltv = campaigns.fit_value(dc.local_orders(ds), value.last_full_day(ds.local(ds.as_of)))
    return campaigns.analyse(dc.inputs(ds, flagged), fo, flagged, ltv, as_of=ds.as_of)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_section_speaks_catalogue_numbers_and_i18n_words(econ, lang):
    sec = cf.economics_section(econ, 10, "CNY", lang)
    assert sec.sentence == "economics"
    assert set(sec.numbers) <= set(metrics.CATALOGUE)
    say = sec.say
    text = say[lang].format(**{k: v for k, v in say.items() if k not in ("en", "zh")})
    assert "{" not in text and "CNY" in text
    for table in sec.tables.values():
        assert len(table)
        for col in table.columns:
            assert f"column.{col}" in i18n.TEXT, col
        cells = table.astype(str).to_numpy().ravel()
        assert not any(c in ("nan", "NaT", "None") for c in cells)
    verdicts = set(sec.tables["next_yuan"]["campaign_verdict"])
    assert verdicts <= {i18n.t(f"verdict.campaign.{v}", lang) for v in campaigns.VERDICTS}
    kinds = {f.kind for f in sec.findings}
    assert "campaign_abuse_cost" in kinds  # the fraud ring's cashback rewards
    for f in sec.findings:
        assert {e.metric for e in f.evidence} <= set(metrics.CATALOGUE)
        assert 0 <= f.importance <= 1 and f.statement("zh") and f.action("zh")
    # the referral page records the section with its own sections
    assert rfind.key_numbers([sec]) == sec.numbers and rfind.all_findings([sec]) == sec.findings


def test_small_campaigns_are_pooled_in_the_tables(econ):
    sec = cf.economics_section(econ, 50, "CNY")
    shown = sec.tables["economics"]["campaign_id"].tolist()
    assert "cashback" not in shown  # 29 invitations < 50: pooled (and the pool is too small)
    assert len(sec.tables["economics"]) == len(sec.tables["next_yuan"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_words_come_from_i18n(econ, lang):
    fig = cplots.return_per_yuan(econ.table, lang=lang)
    ax = fig.axes[0]
    assert ax.get_title() == i18n.t("chart.campaigns.title", lang)
    assert ax.get_xlabel() == i18n.t("chart.campaigns.x", lang)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(i18n.t("verdict.campaign.scale", lang) in s for s in labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert i18n.t("chart.campaigns.break_even", lang) in legend
    if lang == "zh":  # Latin words only in data names (campaign ids) and symbols
        fig.canvas.draw()
        texts = [ax.get_title(), ax.get_xlabel(), *labels, *legend]
        words = {w for t in texts for w in re.findall(r"[A-Za-z][A-Za-z_]+", t)}
        assert words <= set(econ.table["campaign_id"]), words
    plt.close(fig)
    assert cplots.return_per_yuan(econ.table.iloc[:0], lang=lang) is None  # nothing to draw
